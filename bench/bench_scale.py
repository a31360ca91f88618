"""`make bench-scale`: the real commands on synthetic pools of growing size, timed step by step.

For each size N (rows; a tenth of them frames of 30-frame videos), `deep-retrieval synth-pool` writes a store with
planted copies and copied video segments, then `search` (top 20, the fused score: it builds the store's neighbour
graph, pool/knn_graph.py, verifying on every core), `search` again (answered from the graph), `group` (links from
the same graph) and `match-videos` run on it as a user would run them. `--baseline` adds `search --no-graph` and
`group --no-graph` (each searching and verifying again, on one core, as before the graph) and says whether their
files equal the graph path's byte for byte (the graph takes out the inliers on content the pool shares,
pool/shared_content.py, which --no-graph does not: scores of pairs sharing such content may differ). Each step
runs in its own process: wall time, peak memory (the process's maximum resident set) and the store's size on disk are
printed, then group's time over search's, each step's growth exponent between the two largest sizes and its
extrapolation to 10M rows.

    .venv/bin/python bench/bench_scale.py --rows 10000 100000 [--out out/bench_scale] [--keep] [--baseline]

The sizes the scale issue names (100k and 1M) take hours on 2 cores: the graph's build is dominated by geometric
verification (linear in N) and, up to 200k rows, an exact N-squared search; run them on purpose
(`make bench-scale SCALE_ROWS="100000 1000000"`).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STEPS = ("synth-pool", "search", "search-again", "group", "match-videos")
BASELINE = ("search --no-graph", "group --no-graph")
TARGET_ROWS = 10_000_000


def run_step(argv: list[str]) -> tuple[float, float]:
    """(seconds, peak resident MB) of `deep-retrieval ARGV` in a process of its own."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "myPython", *argv], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode:
        raise SystemExit(f"bench-scale: `deep-retrieval {' '.join(argv)}` failed: {err.strip()[-500:]}")
    return seconds, usage.ru_maxrss / 1024


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--out", default=str(REPO / "out" / "bench_scale"))
    parser.add_argument("--keep", action="store_true", help="keep the stores")
    parser.add_argument("--baseline", action="store_true", help="also time search and group without the graph")
    args = parser.parse_args()
    steps = STEPS + (BASELINE if args.baseline else ())
    out = Path(args.out)
    results: dict[int, dict[str, tuple[float, float]]] = {}
    print(f"bench-scale: {os.cpu_count()} CPU(s); sizes {args.rows}; steps {', '.join(steps)}")
    print(f"{'rows':>9}  {'step':>17}  {'seconds':>9}  {'peak MB':>8}  {'disk MB':>8}  {'bytes/row':>9}")
    for rows in sorted(args.rows):
        store = out / f"pool-{rows}"
        shutil.rmtree(store, ignore_errors=True)
        videos = max(1, rows // 300)  # a tenth of the rows are frames of 30-frame videos
        commands = {
            "synth-pool": ["synth-pool", "--rows", str(rows), "--videos", str(videos), "--quiet", "--out", str(store)],
            "search": ["search", "--db", str(store), "--top-k", "20", "--out", str(out / f"n-{rows}.mapped")],
            "search-again": ["search", "--db", str(store), "--top-k", "20", "--out", str(out / f"n2-{rows}.mapped")],
            "group": ["group", "--db", str(store), "--out", str(out / f"groups-{rows}.json")],
            "match-videos": ["match-videos", "--db", str(store), "--quiet", "--out", str(out / f"m-{rows}.csv")],
            "search --no-graph": ["search", "--db", str(store), "--top-k", "20", "--no-graph",
                                  "--out", str(out / f"n0-{rows}.mapped")],
            "group --no-graph": ["group", "--db", str(store), "--no-graph", "--out", str(out / f"g0-{rows}.json")],
        }
        results[rows] = {}
        for step in steps:
            seconds, peak = run_step(commands[step])
            results[rows][step] = (seconds, peak)
            size = disk_mb(store)
            print(f"{rows:>9}  {step:>17}  {seconds:9.1f}  {peak:8.0f}  {size:8.1f}  {size * 1e6 / rows:9.0f}",
                  flush=True)
        if args.baseline:  # the graph answers as searching again does, but for the shared content it takes out
            for label, a, b, ext in (("neighbours", "n", "n0", ".mapped"), ("groups", "g", "g0", ".json")):
                first = out / (f"groups-{rows}{ext}" if a == "g" else f"{a}-{rows}{ext}")
                same = first.read_bytes() == (out / f"{b}-{rows}{ext}").read_bytes()
                print(f"{rows:>9}  {'same ' + label:>17}  {same}")
        timing = results[rows]
        print(f"{rows:>9}  {'group / search':>17}  {timing['group'][0] / timing['search'][0]:9.3f}")
        if not args.keep:
            shutil.rmtree(store, ignore_errors=True)
    sizes = sorted(results)
    if len(sizes) >= 2:
        small, large = sizes[-2], sizes[-1]
        print(f"\ngrowth between {small} and {large} rows, and the extrapolation to {TARGET_ROWS:,} rows:")
        for step in steps:
            t_small, t_large = results[small][step][0], results[large][step][0]
            exponent = math.log(max(t_large, 1e-3) / max(t_small, 1e-3)) / math.log(large / small)
            at_target = t_large * (TARGET_ROWS / large) ** exponent
            print(f"  {step:>17}: time grows as N^{exponent:.2f}; {at_target / 3600:.1f} h at {TARGET_ROWS:,} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
