"""`deep-retrieval` (also `python -m myPython`): embed, search, group, threshold-study, report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DESCRIPTION = "Find same-origin frames in a pool of short videos and images with R-MAC descriptors."


def _add_model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", default=None, help="named model (default: the embedded 'default')")
    g.add_argument("--proto", help="deploy prototxt (with --weights)")
    g.add_argument("--weights", help="caffemodel (with --proto)")
    g.add_argument("--output", default=None, help="output blob (default rmac/normalized or the sidecar's)")
    g.add_argument("--engine", default="auto",
                   help="auto (ONNX Runtime on CPU when its export matches Caffe, else Caffe) | caffe | "
                        "caffe-folded | onnxruntime")
    g.add_argument("--gpu", type=int, default=None, help="GPU id (default: CPU)")
    g.add_argument("--S", type=int, default=None, help="resize the long side to S (default: the model's)")
    g.add_argument("--L", type=int, default=None, help="R-MAC grid levels (default: the model's)")
    g.add_argument("--multires", action="store_true", help="sum descriptors at S-250, S, S+250")
    g.add_argument("--scales", type=lambda s: tuple(int(x) for x in s.split(",")), default=None,
                   help="comma-separated scale list, overrides --S/--multires")


def _extractor(args: argparse.Namespace, batch: int = 8):
    from myPython.retrieval.extractor import DescriptorExtractor
    from myPython.retrieval.models import load_model

    spec = load_model(args.proto, args.weights, args.model)
    if args.output:
        spec.output = args.output
    settings = spec.settings(args.S, args.L, args.multires, args.scales)
    extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, settings, output=spec.output,
                                               gpu=args.gpu, batch_size=batch, engine=args.engine)
    return spec, extractor


def cmd_embed(args: argparse.Namespace) -> int:
    from myPython.pool.embed import EmbedOptions, embed_items
    from myPython.pool.inputs import expand_inputs
    from myPython.pool.store import DescriptorStore, atomic_write_text

    items, problems = expand_inputs(args.inputs)
    if not items:
        print("embed: no images or videos found in the inputs", file=sys.stderr)
        for p in problems:
            print(f"  {p['reason']}", file=sys.stderr)
        return 2
    spec, extractor = _extractor(args, args.batch)
    import numpy as np

    dim = len(extractor.describe(np.zeros((64, 64, 3), np.uint8)))  # the net's output size
    meta = {
        "model": spec.fingerprint(), "model_name": spec.name, "settings": extractor.settings.key(),
        "dim": dim, "fps": args.fps, "output": spec.output,
        "inputs": [str(Path(i).resolve()) for i in args.inputs],
    }
    store = DescriptorStore.create(args.out, meta)
    options = EmbedOptions(fps=args.fps, batch=args.batch, shard_size=args.shard_size,
                           workers=args.workers if args.workers is not None else EmbedOptions().workers,
                           max_frames=args.max_frames)
    if args.ray is not None:
        from myPython.pool.distributed import embed_on_ray

        report = embed_on_ray(items, spec, extractor.settings, store, options, address=args.ray or None,
                              engine=args.engine, num_actors=args.ray_actors, progress=not args.quiet)
    else:
        report = embed_items(items, extractor, store, options, progress=not args.quiet)
    report.skipped.extend(problems)
    run = {"summary": report.summary(), **{k: v for k, v in vars(report).items()}}
    atomic_write_text(Path(args.out) / "report.json", json.dumps(run, indent=2) + "\n")
    print(report.summary())
    for s in report.skipped[:20]:
        print(f"  skipped {s['input']}: {s['reason']}")
    if len(report.skipped) > 20:
        print(f"  ... {len(report.skipped) - 20} more in {Path(args.out) / 'report.json'}")
    for w in report.warnings[:20]:
        print(f"  warning {w['input']}: {w['warning']}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from myPython.pool.search import SearchOptions, search, write_mapped
    from myPython.pool.store import DescriptorStore

    db = DescriptorStore.open(args.db)
    queries = DescriptorStore.open(args.queries) if args.queries else None
    options = SearchOptions(top_k=args.top_k, threshold=args.threshold, factory=args.index,
                            nprobe=args.nprobe, ef_search=args.ef_search)
    count = write_mapped(args.out, search(db, queries, options))
    print(f"search: {count} queries written to {args.out}")
    return 0


def cmd_group(args: argparse.Namespace) -> int:
    from myPython.pool.search import find_groups
    from myPython.pool.store import DescriptorStore, atomic_write_text

    db = DescriptorStore.open(args.db)
    groups = find_groups(db, args.threshold, neighbours=args.neighbours, factory=args.index,
                         min_size=args.min_size)
    payload = {"threshold": args.threshold, "groups": [{"size": len(g), "members": g} for g in groups]}
    atomic_write_text(Path(args.out), json.dumps(payload, indent=1) + "\n")
    sizes = [len(g) for g in groups]
    print(f"group: {len(groups)} groups of >= {args.min_size} items "
          f"(largest {max(sizes, default=0)}, {sum(sizes)} items grouped) written to {args.out}")
    return 0


def _possible_from_db(db_path: str, truth: dict[str, str], cross_input: bool = True) -> dict[str, int]:
    from myPython.apps.threshold_study import possible_matches
    from myPython.pool.store import DescriptorStore

    ids = [i for shard in DescriptorStore.open(db_path).shards() for i in shard.ids()]
    return possible_matches(ids, truth, cross_input)


def cmd_threshold_study(args: argparse.Namespace) -> int:
    from myPython.apps.threshold_study import (
        best_f1,
        format_table,
        plot_study,
        read_ground_truth,
        threshold_for_precision,
    )
    from myPython.apps.threshold_study import threshold_study as study
    from myPython.pool.search import read_mapped

    truth = read_ground_truth(args.truth)
    mapped = read_mapped(args.mapped)
    cross = not args.within_input
    possible = _possible_from_db(args.db, truth, cross) if args.db else None
    rows = study(mapped, truth, low=args.low, high=args.high, step=args.step, possible=possible, cross_input=cross)
    print(format_table(rows))
    best = best_f1(rows)
    print(f"best F1 {best.f1:.3f} at threshold {best.threshold:.2f} "
          f"(precision {best.precision:.3f}, recall {best.recall:.3f})")
    target = threshold_for_precision(rows, args.target_precision)
    if target:
        print(f"threshold for precision >= {args.target_precision:.2f}: {target.threshold:.2f} "
              f"(recall {target.recall:.3f})")
    else:
        print(f"no threshold in range reaches precision {args.target_precision:.2f}")
    if args.plot:
        plot_study(rows, args.plot)
        print(f"plot written to {args.plot}")
    if args.csv:
        from myPython.pool.store import atomic_write_text

        lines = ["threshold,same_origin,unrelated,precision,recall,f1"]
        lines += [f"{r.threshold:.2f},{r.same_origin},{r.unrelated},{r.precision:.6f},{r.recall:.6f},{r.f1:.6f}"
                  for r in rows]
        atomic_write_text(Path(args.csv), "\n".join(lines) + "\n")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from myPython.apps.report import ReportData, write_report
    from myPython.apps.threshold_study import read_ground_truth
    from myPython.apps.threshold_study import threshold_study as study
    from myPython.pool.search import read_mapped
    from myPython.pool.store import DescriptorStore

    store = DescriptorStore.open(args.db)
    mapped = read_mapped(args.mapped)
    groups = json.loads(Path(args.groups).read_text())["groups"] if args.groups else []
    truth = read_ground_truth(args.truth) if args.truth else None
    rows = None
    if truth is not None:
        rows = study(mapped, truth, low=args.low, high=1.0, possible=_possible_from_db(args.db, truth))
    data = ReportData(title=args.title, store=store, mapped=mapped, groups=[g["members"] for g in groups],
                      truth=truth, threshold=args.threshold, study=rows, max_queries=args.max_queries)
    path = write_report(data, args.out)
    print(f"report: {path}")
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    from myPython.retrieval.models import load_model

    if args.action == "build-default":
        from myPython.nets.default_model import default_model

        spec = default_model(rebuild=args.rebuild)
    else:
        spec = load_model(args.proto, args.weights, args.model)
    print(json.dumps({"name": spec.name, "proto": spec.proto, "weights": spec.weights, "output": spec.output,
                      "mean_bgr": spec.mean_bgr, "S": spec.S, "L": spec.L, "dim": spec.dim, "info": spec.info},
                     indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deep-retrieval", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("embed", help="images and video frames -> descriptor store")
    p.add_argument("inputs", nargs="+", help="image/video files, folders, or text files listing them")
    p.add_argument("--out", required=True, help="descriptor store folder (resumes if it exists)")
    _add_model_args(p)
    p.add_argument("--fps", type=float, default=1.0, help="frames sampled per second of video")
    p.add_argument("--max-frames", type=int, default=None, help="at most this many frames per video")
    p.add_argument("--batch", type=int, default=8, help="images per forward pass")
    p.add_argument("--workers", type=int, default=None, help="decoding threads (default: cores, 2..8)")
    p.add_argument("--shard-size", type=int, default=4096, help="rows per shard")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run on a Ray cluster (local Ray when no address)")
    p.add_argument("--ray-actors", type=int, default=None, help="Caffe actors on Ray (default: cluster CPUs)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_embed)

    p = sub.add_parser("search", help="nearest neighbours -> mapped file")
    p.add_argument("--db", required=True)
    p.add_argument("--queries", help="query store (default: the db itself, without self-matches)")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--threshold", type=float, default=None, help="drop neighbours below this cosine")
    p.add_argument("--index", default="Flat", help="FAISS factory string; Flat = exact (default)")
    p.add_argument("--nprobe", type=int, default=None)
    p.add_argument("--ef-search", type=int, default=None)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("group", help="same-origin groups (connected components above a threshold)")
    p.add_argument("--db", required=True)
    p.add_argument("--threshold", type=float, required=True)
    p.add_argument("--neighbours", type=int, default=50, help="neighbours examined per row")
    p.add_argument("--index", default="Flat")
    p.add_argument("--min-size", type=int, default=2)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_group)

    p = sub.add_parser("threshold-study", help="same-origin vs unrelated counts per threshold")
    p.add_argument("--mapped", required=True)
    p.add_argument("--truth", required=True, help="TSV `<id>\\t<group>` or a folder of group folders")
    p.add_argument("--db", help="store, to count the same-origin rows each query could find")
    p.add_argument("--low", type=float, default=0.5)
    p.add_argument("--high", type=float, default=1.0)
    p.add_argument("--step", type=float, default=0.01)
    p.add_argument("--target-precision", type=float, default=0.95)
    p.add_argument("--within-input", action="store_true",
                   help="also count pairs of frames of the same video (left out by default)")
    p.add_argument("--plot", help="PNG output")
    p.add_argument("--csv", help="CSV output")
    p.set_defaults(func=cmd_threshold_study)

    p = sub.add_parser("report", help="self-contained HTML report")
    p.add_argument("--db", required=True)
    p.add_argument("--mapped", required=True)
    p.add_argument("--groups", help="JSON from `group`")
    p.add_argument("--truth", help="ground truth, for colours and plots")
    p.add_argument("--threshold", type=float, default=None)
    p.add_argument("--low", type=float, default=0.0)
    p.add_argument("--max-queries", type=int, default=24)
    p.add_argument("--title", default="deep-retrieval: same-origin frames")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("model", help="show a model, or build the embedded default")
    p.add_argument("action", choices=["info", "build-default"])
    p.add_argument("--model", default=None)
    p.add_argument("--proto")
    p.add_argument("--weights")
    p.add_argument("--rebuild", action="store_true")
    p.set_defaults(func=cmd_model)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, RuntimeError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"deep-retrieval {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
