"""`make demo`: the main job on embedded data, end to end.

Builds the demo pool (shipped clips, edited copies, photos), embeds it with
the default model, searches, groups at the model's recommended threshold,
prints precision and recall of same-origin pairs, and writes the report.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def _fresh_store(store: Path, made_with: str) -> None:
    """The demo's store is rebuilt when another model, engine or local-features version made it (embed would
    refuse to resume it, rightly); `made_with` is kept beside it."""
    import shutil

    from myPython.common.fileio import atomic_write_text

    stamp = store.with_name(store.name + ".made-with")
    if store.exists() and (not stamp.exists() or stamp.read_text().strip() != made_with):
        shutil.rmtree(store)
    atomic_write_text(stamp, made_with + "\n")


def run_demo(out: Path, engine: str = "auto", top_k: int = 100) -> int:
    from myPython.apps.cli import main as cli
    from myPython.apps.threshold_study import best_f1, possible_matches, threshold_study
    from myPython.common.fileio import atomic_write_text
    from myPython.datasets.demo_data import build_demo_data
    from myPython.pool.search import read_mapped
    from myPython.pool.store import DescriptorStore
    from myPython.pool.verify import FEATURES_VERSION
    from myPython.retrieval.models import load_model

    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    pool, truth = build_demo_data(out / "data")
    truth_path = out / "truth.tsv"
    atomic_write_text(truth_path, "".join(f"{k}\t{v}\n" for k, v in sorted(truth.items())))
    spec = load_model()
    threshold = float(spec.info.get("recommended_threshold", 0.5))
    store, mapped, groups = out / "store", out / "neighbours.mapped", out / "groups.json"
    _fresh_store(store, f"{spec.fingerprint()} {engine} {FEATURES_VERSION}")
    video_csv = out / "video_matches.csv"
    steps = [
        ["embed", str(pool), "--out", str(store), "--engine", engine],
        ["search", "--db", str(store), "--top-k", str(top_k), "--out", str(mapped)],
        ["group", "--db", str(store), "--out", str(groups)],
        ["match-videos", "--db", str(store), "--out", str(video_csv), "--engine", engine],
        ["threshold-study", "--mapped", str(mapped), "--truth", str(truth_path), "--db", str(store),
         "--low", "0.1", "--high", "0.95", "--plot", str(out / "threshold_study.png"),
         "--csv", str(out / "threshold_study.csv")],
    ]
    for step in steps:
        print(f"\n$ deep-retrieval {' '.join(step)}", flush=True)
        if step[0] == "threshold-study":
            print("(table written to threshold_study.csv)")
            import contextlib
            import io

            with contextlib.redirect_stdout(io.StringIO()):
                code = cli(step)
        else:
            code = cli(step)
        if code:
            return code

    ids = [i for shard in DescriptorStore.open(store).shards() for i in shard.ids()]
    rows = threshold_study(read_mapped(mapped), truth, low=0.0, high=1.0,
                           possible=possible_matches(ids, truth))
    at = min(rows, key=lambda r: abs(r.threshold - threshold))
    best = best_f1(rows)
    lines = [
        f"Same-origin pairs across inputs ({len(ids)} rows from {len(truth)} videos and photos; "
        f"top-{top_k} neighbours):",
        f"{'threshold':>24}  {'precision':>9}  {'recall':>6}  {'F1':>5}  {'same-origin':>11}  {'unrelated':>9}",
        f"{'recommended ' + format(at.threshold, '.2f'):>24}  {at.precision:9.3f}  {at.recall:6.3f}  {at.f1:5.3f}  "
        f"{at.same_origin:11d}  {at.unrelated:9d}",
        f"{'best F1 here ' + format(best.threshold, '.2f'):>24}  {best.precision:9.3f}  {best.recall:6.3f}  "
        f"{best.f1:5.3f}  {best.same_origin:11d}  {best.unrelated:9d}",
        "(recommended = the model's calibrated threshold, chosen on other images; best F1 is chosen on this data)",
        "",
        video_summary(video_csv, truth, float(spec.info.get("recommended_video_threshold", 0.5))),
    ]
    lines.append(_group_purity(groups, truth))
    print("\n" + "\n".join(lines))
    report_step = ["report", "--db", str(store), "--mapped", str(mapped), "--groups", str(groups),
                   "--truth", str(truth_path), "--threshold", f"{threshold}", "--out", str(out / "report"),
                   "--matches", str(video_csv), "--title", "deep-retrieval demo: same-origin frames"]
    print(f"\n$ deep-retrieval {' '.join(report_step)}")
    code = cli(report_step)
    atomic_write_text(out / "summary.txt", "\n".join(lines) + "\n")
    print(f"\ndemo finished in {time.perf_counter() - start:.0f} s; open {out / 'report' / 'report.html'}")
    return code


def _group_purity(groups_json: Path, truth: dict[str, str]) -> str:
    """One line: how many groups `group` made and how many of them mix sources."""
    import json

    from myPython.apps.threshold_study import group_of

    groups = json.loads(groups_json.read_text())
    mixed = [g for g in groups["groups"] if len({group_of(m, truth) for m in g["members"]}) > 1]
    sizes = [g["size"] for g in groups["groups"]]
    return (f"Groups at the recommended threshold ({groups['score']} >= {groups['threshold']:.2f}): {len(sizes)} "
            f"groups of {sum(sizes)} rows (largest {max(sizes, default=0)}); {len(mixed)} mix sources")


def video_summary(video_csv: Path, truth: dict[str, str], threshold: float) -> str:
    """Precision and recall of the video pairs match-videos accepted (same source = same origin)."""
    from myPython.pool.video_match import read_matches_csv

    videos = sorted(k for k in truth if k.startswith("videos/"))
    true_pairs = {(a, b) for a in videos for b in videos if a < b and truth[a] == truth[b]}
    found = {tuple(sorted((r[0], r[1]))) for r in read_matches_csv(video_csv)}
    tp = len(found & true_pairs)
    precision = tp / len(found) if found else 1.0
    recall = tp / len(true_pairs) if true_pairs else 0.0
    return (f"Same-origin video pairs (match-videos, {len(videos)} videos, recommended video threshold "
            f"{threshold:.3f}): precision {precision:.3f}, recall {recall:.3f} ({tp} of {len(true_pairs)} true pairs "
            f"found, {len(found) - tp} wrong)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    p.add_argument("--engine", default="auto", help="auto | caffe | caffe-folded | onnxruntime")


def run(args: argparse.Namespace) -> int:
    return run_demo(Path(args.out), args.engine)
