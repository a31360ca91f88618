"""A synthetic store with planted copies, look-alikes and copied video segments, to time the commands at any size.

Written through embed's writer (sharded, checksummed, resumable: rerun the same command after a kill), with the
installed default model's metadata so that `search`, `group` and `match-videos` take it; the planted truth goes to
STORE/truth.json and STORE/truth_segments.csv (VSC22 columns). The generation model: myPython/pool/synth.py.
"""

from __future__ import annotations

import argparse

from myPython.apps.options import check_range
from myPython.errors import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rows", type=int, required=True, help="rows in all (video frames included)")
    p.add_argument("--videos", type=int, default=0, help="videos among them (default 0)")
    p.add_argument("--frames-per-video", type=int, default=30, help="frames of each video, at 1 fps (default 30)")
    p.add_argument("--copies-fraction", type=float, default=0.05,
                   help="fraction of the still images that are planted copies of another (default 0.05)")
    p.add_argument("--video-copies-fraction", type=float, default=0.25,
                   help="fraction of the videos holding a copied segment of another video (default 0.25)")
    p.add_argument("--clusters", type=int, default=300, help="look-alike cluster centres (default 300)")
    p.add_argument("--dim", type=int, default=None,
                   help="descriptor dimension (default: the installed default model's, else 512)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shard-size", type=int, default=4096, help="rows per shard (default 4096, as embed)")
    p.add_argument("--no-local-features", action="store_true", help="no RootSIFT features (no verification)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--out", required=True, help="store folder to create or finish")


def check_arguments(args: argparse.Namespace) -> None:
    check_range("--rows", args.rows, 1, 1e10)
    check_range("--videos", args.videos, 0)
    check_range("--frames-per-video", args.frames_per_video, 1, 100_000)
    check_range("--copies-fraction", args.copies_fraction, 0.0, 0.5)
    check_range("--video-copies-fraction", args.video_copies_fraction, 0.0, 0.5)
    check_range("--clusters", args.clusters, 1, 1_000_000)
    check_range("--dim", args.dim, 16, 65536)
    check_range("--seed", args.seed, 0, 2**63 - 1)
    check_range("--shard-size", args.shard_size, 1, 10_000_000)
    if args.videos and args.frames_per_video > args.shard_size:
        check_range("--frames-per-video", args.frames_per_video, 1, args.shard_size)  # a video stays in one shard
    if args.videos * args.frames_per_video > args.rows:
        raise UsageError(f"--videos {args.videos} x --frames-per-video {args.frames_per_video} frames exceed "
                         f"--rows {args.rows} (video frames are rows)")


def run(args: argparse.Namespace) -> int:
    from myPython.pool.synth import SynthParams, default_spec, synth_pool

    check_arguments(args)
    spec = default_spec()
    dim = args.dim or (spec.dim if spec is not None and spec.dim else 512)
    params = SynthParams(rows=args.rows, videos=args.videos, frames_per_video=args.frames_per_video,
                         copies_fraction=args.copies_fraction, video_copies_fraction=args.video_copies_fraction,
                         clusters=args.clusters, dim=dim, seed=args.seed, shard_size=args.shard_size,
                         local_features=not args.no_local_features)
    report = synth_pool(args.out, params, spec, progress=not args.quiet)
    print(f"synth-pool: {report.summary()}; truth in {args.out}/truth.json")
    return 0
