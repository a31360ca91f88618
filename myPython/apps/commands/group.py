"""Same-origin groups of the rows of a store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from myPython.apps.options import check_output_file, check_range


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", required=True)
    p.add_argument("--threshold", type=float, default=None,
                   help="link score (required for rows; --videos: default the model's recommended_video_threshold)")
    p.add_argument("--neighbours", type=int, default=50, help="neighbours examined per row")
    p.add_argument("--index", default="Flat")
    p.add_argument("--min-size", type=int, default=2)
    p.add_argument("--out", required=True)
    p.add_argument("--videos", action="store_true",
                   help="group videos linked by match-videos matches (each member with its matched segments)")
    p.add_argument("--matches", help="with --videos: a match-videos CSV to group (default: match the store now)")


def check_arguments(args: argparse.Namespace) -> None:
    check_range("--threshold", args.threshold, -1.0, 1.0)  # cosine similarity (--videos: a score in [0, 1])
    check_range("--neighbours", args.neighbours, 1, 100_000)
    check_range("--min-size", args.min_size, 1)
    check_output_file("--out", args.out)


def run(args: argparse.Namespace) -> int:
    from myPython.common.fileio import atomic_write_text
    from myPython.pool.search import find_groups
    from myPython.pool.store import DescriptorStore

    check_arguments(args)
    if args.videos:
        from myPython.apps.commands.match_videos import group_videos

        return group_videos(args)
    if args.threshold is None:
        from myPython.errors import UsageError

        raise UsageError("--threshold is required (except with --videos)")
    db = DescriptorStore.open(args.db)
    groups = find_groups(db, args.threshold, neighbours=args.neighbours, factory=args.index,
                         min_size=args.min_size)
    payload = {"threshold": args.threshold, "groups": [{"size": len(g), "members": g} for g in groups]}
    atomic_write_text(Path(args.out), json.dumps(payload, indent=1) + "\n")
    sizes = [len(g) for g in groups]
    print(f"group: {len(groups)} groups of >= {args.min_size} items "
          f"(largest {max(sizes, default=0)}, {sum(sizes)} items grouped) written to {args.out}")
    return 0
