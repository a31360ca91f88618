"""Images and video frames -> descriptor store (resumable; bad inputs are skipped and reported)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from myPython.apps.options import add_model_args, check_model_args, check_range, open_extractor
from myPython.errors import EXIT_USAGE, UsageError

MAX_FPS = 1000.0
MAX_BATCH = 1024
MAX_WORKERS = 256
MAX_SHARD_SIZE = 1 << 22


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", help="image/video files, folders, or text files listing them")
    p.add_argument("--out", required=True, help="descriptor store folder (resumes if it exists)")
    add_model_args(p)
    p.add_argument("--fps", type=float, default=1.0, help="frames sampled per second of video")
    p.add_argument("--max-frames", type=int, default=None, help="at most this many frames per video")
    p.add_argument("--batch", type=int, default=8, help="images per forward pass")
    p.add_argument("--workers", type=int, default=None,
                   help="decoding threads (default: cores, 2..8; 0 decodes in the main thread)")
    p.add_argument("--shard-size", type=int, default=4096,
                   help="rows per shard; memory holds one shard of descriptors (default 4096)")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run on a Ray cluster (local Ray when no address)")
    p.add_argument("--ray-actors", type=int, default=None, help="Caffe actors on Ray (default: cluster CPUs)")
    p.add_argument("--no-local-features", action="store_true",
                   help="skip the RootSIFT features that verification uses (about 33 KB a row): search and "
                        "group then score plain cosine (see README, verification)")
    p.add_argument("--panels", action="store_true",
                   help="also a row for each picture found inside a composition (an inset, half of a duet, a "
                        "collage cell: pool/panels.py), id '<row id>#panel=<n>', searched and verified like any "
                        "row and folded into its owner by search and group (docs/same-origin.md)")
    p.add_argument("--turns", action="store_true",
                   help="also a row for each picture turned a quarter clockwise, id '<row id>#turn=90', folded into "
                        "its owner like a panel: finds copies turned 90 degrees either way (docs/same-origin.md)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def check_arguments(args: argparse.Namespace) -> None:
    """One-line UsageError for arguments that cannot work, before any work."""
    check_range("--fps", args.fps, 0, MAX_FPS, above=True)
    check_range("--max-frames", args.max_frames, 1)
    check_range("--batch", args.batch, 1, MAX_BATCH)
    check_range("--workers", args.workers, 0, MAX_WORKERS)
    check_range("--shard-size", args.shard_size, 1, MAX_SHARD_SIZE)
    check_range("--ray-actors", args.ray_actors, 1)
    check_model_args(args)
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out} is a file; give a store folder")


def run(args: argparse.Namespace) -> int:
    from myPython.pool.embed import EmbedOptions
    from myPython.pool.inputs import collect_inputs, kind_of
    from myPython.pool.jobs import embed

    check_arguments(args)
    roots, problems = collect_inputs(args.inputs)
    if not any(kind_of(file) for root in roots for file in root.files):
        print("embed: no images or videos found in the inputs", file=sys.stderr)
        for p in problems:
            print(f"  {p['reason']}", file=sys.stderr)
        return EXIT_USAGE
    spec, extractor = open_extractor(args, args.batch)
    options = EmbedOptions(fps=args.fps, batch=args.batch, shard_size=args.shard_size,
                           workers=args.workers if args.workers is not None else EmbedOptions().workers,
                           max_frames=args.max_frames, local_features=not args.no_local_features,
                           panels=args.panels, turns=args.turns)
    report = embed(args.inputs, args.out, spec, extractor, options, ray=args.ray, ray_actors=args.ray_actors,
                   progress=not args.quiet)
    print(report.summary())
    for s in report.skipped[:20]:
        print(f"  skipped {s['input']}: {s['reason']}")
    if len(report.skipped) > 20:
        print(f"  ... {len(report.skipped) - 20} more in {Path(args.out) / 'report.json'}")
    for w in report.warnings[:20]:
        print(f"  warning {w['input']}: {w['warning']}")
    return 0
