"""Self-contained HTML report of a search: neighbours, groups, similarity histogram, threshold study."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from myPython.apps.options import check_range
from myPython.errors import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", required=True)
    p.add_argument("--mapped", default=None, help="mapped file from `search`")
    p.add_argument("--matches", default=None, help="CSV from `match-videos`: adds the video view")
    p.add_argument("--groups", help="JSON from `group`")
    p.add_argument("--truth", help="ground truth, for colours and plots")
    p.add_argument("--threshold", type=float, default=None)
    p.add_argument("--low", type=float, default=0.0)
    p.add_argument("--max-queries", type=int, default=24)
    p.add_argument("--title", default="deep-retrieval: same-origin frames")
    p.add_argument("--out", required=True, help="output folder")


def check_arguments(args: argparse.Namespace) -> None:
    check_range("--threshold", args.threshold, -1.0, 1.0)
    check_range("--low", args.low, -1.0, 1.0)
    check_range("--max-queries", args.max_queries, 0)
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out} is a file; give a folder")


def run(args: argparse.Namespace) -> int:
    check_arguments(args)
    from myPython.apps.report import ReportData, write_report
    from myPython.apps.threshold_study import possible_from_store, read_ground_truth, threshold_study
    from myPython.errors import UsageError
    from myPython.pool.search import read_mapped
    from myPython.pool.store import DescriptorStore
    from myPython.pool.video_match import read_matches_csv

    if args.mapped is None and args.matches is None:
        raise UsageError("give --mapped (frame matches) and/or --matches (video matches)")
    store = DescriptorStore.open(args.db)
    mapped = read_mapped(args.mapped) if args.mapped else {}
    groups = json.loads(Path(args.groups).read_text())["groups"] if args.groups else []
    truth = read_ground_truth(args.truth) if args.truth else None
    rows = None
    if truth is not None:
        rows = threshold_study(mapped, truth, low=args.low, high=1.0, possible=possible_from_store(args.db, truth))
    # video groups (`group --videos`) list members as {"video": id, "segments": [...]}
    members = [[m["video"] if isinstance(m, dict) else m for m in g["members"]] for g in groups]
    data = ReportData(title=args.title, store=store, mapped=mapped, groups=members,
                      truth=truth, threshold=args.threshold, study=rows, max_queries=args.max_queries,
                      video_matches=read_matches_csv(args.matches) if args.matches else [])
    path = write_report(data, args.out)
    print(f"report: {path}")
    return 0
