"""Write or check the generated prototxts: deploy nets (`netgen`) and training nets and solvers (`netgen_train`)."""

from __future__ import annotations

import argparse
import sys

from myPython.errors import EXIT_FAILURE


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="proto", help="proto directory (default: proto)")
    p.add_argument("--check", action="store_true", help="exit 1 listing files that differ from the generators")
    p.add_argument("--small", metavar="DIR", help="write the default-model smoke training nets into DIR instead")
    p.add_argument("--height", type=int, default=96)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--iters", type=int, default=300, help="max_iter of the small solvers")


def run(args: argparse.Namespace) -> int:
    from myPython.nets.protofiles import checked_in_files, small_files, stale_files, write_files

    if args.small:
        files = small_files(args.height, args.width, args.batch, lifted_iters=args.iters, distill_iters=args.iters)
        for path in write_files(files, args.small):
            print(f"proto: wrote {path}")
        return 0
    if args.check:
        stale = stale_files(checked_in_files(), args.out)
        for path in stale:
            print(f"proto: out of date (run `make proto`): {path}", file=sys.stderr)
        return EXIT_FAILURE if stale else 0
    for path in write_files(checked_in_files(), args.out):
        print(f"proto: wrote {path}")
    return 0
