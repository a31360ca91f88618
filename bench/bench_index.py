"""`make bench`: nearest-neighbour search over a descriptor store, per FAISS index type.

N synthetic unit descriptors (seeded clusters plus noise, like frames of the same
origin) are written as a descriptor store in shards of 4096 rows. Each index type
runs in a fresh process (so its peak RSS is its own) through the project's own
path: `myPython.pool.search.build_index` (trained on a 100k-row sample, saved under
<store>/index/, then reloaded from disk) and `set_search_params`. Reported per
type: build time (train + add + save), reload time, index file size, queries/s for
a batch of Q queries (k = 10), recall@10 against exact search, and peak RSS.

"Flat (streamed)" is the exact search of `deep-retrieval search --index Flat`:
the store is streamed shard block by shard block, never loaded whole; it is the
ground truth. HNSW graphs are slow to build on few cores: by default they index
the first --hnsw-n rows only (recall is then measured against exact search on
those rows).

Usage: python bench/bench_index.py [--n 1000000] [--dim 512] [--queries 1000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from myPython.pool.search import build_index, exact_knn, index_path, set_search_params  # noqa: E402
from myPython.pool.store import DescriptorStore  # noqa: E402

SHARD_ROWS = 4096
K = 10
FACTORIES = ["Flat", "IVF1024,Flat", "IVF4096,Flat", "IVF4096,PQ64", "HNSW32"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic(rng: np.random.Generator, centres: np.ndarray, rows: int, noise: float) -> np.ndarray:
    """Rows near random centres: unit vectors, cosine ~0.67 between members of a cluster."""
    x = centres[rng.integers(0, len(centres), rows)]
    x = x + rng.standard_normal(x.shape, dtype=np.float32) * np.float32(noise / np.sqrt(x.shape[1]))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_store(root: Path, n: int, dim: int, queries: int, seed: int) -> DescriptorStore:
    """The synthetic store and `queries.npy` (fresh rows of the same clusters); reused when present."""
    meta = {"dim": dim, "model": f"synthetic-n{n}-seed{seed}", "settings": "clusters", "rows": n}
    store = DescriptorStore.create(root, meta)
    saved = root / "queries.npy"
    if len(store) == n and saved.exists() and len(np.load(saved, mmap_mode="r")) == queries:
        return store
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, min(20_000, n // 50)), dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    start = len(store)  # resume a store left half-written
    for first in range(start, n, SHARD_ROWS):
        rows = min(SHARD_ROWS, n - first)
        x = synthetic(np.random.default_rng([seed, 0, first]), centres, rows, 0.7)
        ids = [f"r{i}" for i in range(first, first + rows)]
        store.commit_shard(f"shard-{first // SHARD_ROWS:06d}", ids, x, ids, [])
    np.save(saved, synthetic(np.random.default_rng([seed, 1]), centres, queries, 0.7))
    return store


def subset(store: DescriptorStore, rows: int) -> DescriptorStore:
    """A view of the store's first shards holding about `rows` rows."""
    shards, count = [], 0
    for shard in store.shards():
        if count >= rows:
            break
        shards.append(shard)
        count += shard.rows
    return DescriptorStore(store.root, store.meta, shards)


def run_case(root: Path, factory: str, nprobe: int, ef_search: int, hnsw_n: int) -> dict:
    """One index type, in this process: timings, recall@10, size, peak RSS."""
    import faiss

    store = DescriptorStore.open(root)
    queries = np.load(root / "queries.npy")
    if factory.startswith("HNSW") and hnsw_n < len(store):
        store = subset(store, hnsw_n)
    rows = len(store)
    truth_path = root / f"truth-{rows}.npy"
    if factory == "exact" or not truth_path.exists():
        start = time.perf_counter()
        _, truth = exact_knn(queries, store, K)
        seconds = time.perf_counter() - start
        np.save(truth_path, truth)
        if factory == "exact":
            return {"index": "Flat (streamed)", "rows": rows, "build_s": 0.0, "load_s": 0.0, "size_mb": 0.0,
                    "qps": len(queries) / seconds, "recall": 1.0, "peak_mb": peak_rss_mb()}
    truth = np.load(truth_path)
    index_path(store, factory).unlink(missing_ok=True)  # time a fresh build
    start = time.perf_counter()
    build_index(store, factory)
    build = time.perf_counter() - start
    start = time.perf_counter()
    index = build_index(store, factory)  # reloaded from disk
    load = time.perf_counter() - start
    set_search_params(index, nprobe, ef_search)
    start = time.perf_counter()
    _, found = index.search(queries, K)
    seconds = time.perf_counter() - start
    recall = np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)])
    name = "IndexFlatIP (in memory)" if factory == "Flat" else factory
    if "IVF" in factory:
        name += f" nprobe={nprobe}"
    if "HNSW" in factory:
        name += f" efSearch={ef_search}"
    return {"index": name, "rows": rows, "build_s": build, "load_s": load,
            "size_mb": index_path(store, factory).stat().st_size / 2**20, "qps": len(queries) / seconds,
            "recall": float(recall), "peak_mb": peak_rss_mb(), "threads": faiss.omp_get_max_threads()}


def table(results: list[dict]) -> str:
    head = f"{'index':<30} {'rows':>9} {'build s':>8} {'load s':>7} {'size MB':>8} {'queries/s':>10} " \
           f"{'recall@10':>9} {'peak RSS MB':>11}"
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(f"{r['index']:<30} {r['rows']:>9} {r['build_s']:>8.1f} {r['load_s']:>7.1f} "
                     f"{r['size_mb']:>8.0f} {r['qps']:>10.0f} {r['recall']:>9.3f} {r['peak_mb']:>11.0f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="rows in the store")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--factories", default=";".join(FACTORIES),
                        help="';'-separated FAISS factory strings (Flat = in-memory exact)")
    parser.add_argument("--nprobe", type=int, default=32)
    parser.add_argument("--ef-search", type=int, default=64)
    parser.add_argument("--hnsw-n", type=int, default=250_000, help="rows indexed by HNSW graphs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", help="keep the store here (reused by later runs) instead of a temp folder")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one index type in this process
    args = parser.parse_args()

    if args.case:
        result = run_case(Path(args.workdir), args.case, args.nprobe, args.ef_search, args.hnsw_n)
        print(json.dumps(result))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        root = Path(args.workdir or tmp)
        start = time.perf_counter()
        store = make_store(root, args.n, args.dim, args.queries, args.seed)
        print(f"store: {len(store)} x {store.dim} float32 rows in {len(store.shards())} shards "
              f"({time.perf_counter() - start:.0f} s); {args.queries} queries, k={K}; "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs", flush=True)
        results = []
        for factory in ["exact", *args.factories.split(";")]:
            command = [sys.executable, __file__, "--case", factory, "--workdir", str(root),
                       "--nprobe", str(args.nprobe), "--ef-search", str(args.ef_search),
                       "--hnsw-n", str(args.hnsw_n)]
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{factory}: failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}", flush=True)
                continue
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"  {results[-1]['index']}: done in {time.perf_counter() - start:.0f} s", flush=True)
        print()
        print(table(results))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
