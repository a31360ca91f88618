"""Nearest neighbours of every row (or of a query store) -> mapped file, scored by same-origin probability."""

from __future__ import annotations

import argparse

from myPython.apps.options import add_score_args, check_output_file, check_range
from myPython.errors import UsageError

MAX_TOP_K = 100_000


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", required=True)
    p.add_argument("--queries", help="query store (default: the db itself, without self-matches)")
    p.add_argument("--top-k", type=int, default=10, help=f"neighbours per query (1..{MAX_TOP_K})")
    p.add_argument("--threshold", type=float, default=None,
                   help="drop neighbours scoring below this (a probability; cosine with --raw)")
    p.add_argument("--index", default="Flat", help="FAISS factory string; Flat = exact (default)")
    p.add_argument("--nprobe", type=int, default=None)
    p.add_argument("--ef-search", type=int, default=None)
    add_score_args(p)
    p.add_argument("--graph-k", type=int, default=None,
                   help="neighbours per row kept in the store's neighbour graph (STORE/graph/, default 50); "
                        "answers come from it when --top-k is at most this")
    p.add_argument("--no-graph", action="store_true",
                   help="search and verify again instead of answering from the store's neighbour graph")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="build the neighbour graph (when it must be built) on a Ray cluster: its kNN on actors "
                        "holding index shards, its pairs verified as tasks (local Ray when no address; every node "
                        "reads the store at its path); the same graph")
    p.add_argument("--out", required=True)


def check_arguments(args: argparse.Namespace) -> None:
    check_range("--top-k", args.top_k, 1, MAX_TOP_K)
    check_range("--threshold", args.threshold, -1.0, 1.0)
    check_range("--nprobe", args.nprobe, 1)
    check_range("--ef-search", args.ef_search, 1)
    check_range("--graph-k", args.graph_k, 1, 100_000)
    if args.ray is not None and args.no_graph:
        raise UsageError("--ray builds the neighbour graph: it does nothing with --no-graph")
    check_output_file("--out", args.out)


def run(args: argparse.Namespace) -> int:
    from myPython.apps.options import open_score_options
    from myPython.pool import jobs
    from myPython.pool.search import write_mapped
    from myPython.pool.store import DescriptorStore

    check_arguments(args)
    db = DescriptorStore.open(args.db)
    queries = DescriptorStore.open(args.queries) if args.queries else None
    score = open_score_options(args, db if queries is None else queries)
    results = jobs.search(db, queries, top_k=args.top_k, threshold=args.threshold, factory=args.index,
                          nprobe=args.nprobe, ef_search=args.ef_search, score=score, graph=not args.no_graph,
                          graph_k=args.graph_k, ray=args.ray, progress=True)
    count = write_mapped(args.out, results)
    print(f"search: {count} queries written to {args.out} (score: {score.name})")
    return 0
