"""Train a Caffe net from a solver: ``python train.py --solver S --weights W [--gpu G | --cpu]``
(the loop and its conventions: myPython/training/train.py)."""

from __future__ import annotations

import argparse

from myPython.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--solver", help="solver prototxt")
    parser.add_argument("--weights", help="caffemodel(s) to initialise from (comma-separated)")
    parser.add_argument("--snapshot", help="resume from this .solverstate")
    device = parser.add_mutually_exclusive_group()
    device.add_argument("--gpu", type=int, help="GPU id (default: 0 when this Caffe has CUDA, else CPU)")
    device.add_argument("--cpu", action="store_true", help="train on the CPU")
    parser.add_argument("--data-root", help="directory the nets' data paths are relative to (default: solver dir)")
    parser.add_argument("--output-dir", default=".", help="base of a relative snapshot_prefix (default: .)")
    parser.add_argument("--max-iter", type=int, help="override the solver's max_iter")
    parser.add_argument("--seed", type=int, help="Caffe random seed")
    parser.add_argument("--display", type=int, help="print the mean loss every N iterations")
    parser.add_argument("--val-dir", help="held-out set: class folders or an Oxford layout (jpg/, lab/)")
    parser.add_argument("--val-every", type=int, default=1000, help="validate every N iterations")
    parser.add_argument("--val-proto", help="deploy prototxt for validation")
    parser.add_argument("--val-weights", help="weights of the deploy net (default: --weights)")
    parser.add_argument("--val-S", type=int, help="long side for validation (default: model's)")
    parser.add_argument("--val-L", type=int, help="grid levels for validation (default: model's)")
    parser.add_argument("--val-mean", help="B,G,R mean for validation (default: model's)")
    parser.add_argument("--val-output", help="descriptor blob (default: rmac/normalized)")
    parser.add_argument("--make-smoke-data", metavar="DIR", help="write the same-origin smoke set into DIR and exit")


def run(args: argparse.Namespace) -> int:
    if args.make_smoke_data:
        from myPython.datasets.smoke import make_smoke_dataset

        dirs = make_smoke_dataset(args.make_smoke_data, seed=args.seed or 0)
        print(f"train: wrote {dirs['train']} and {dirs['val']}")
        return 0
    if not args.solver:
        raise UsageError("--solver is required")
    if not args.weights and not args.snapshot:
        raise UsageError("give --weights (initial caffemodel) or --snapshot (solverstate to resume)")
    if args.weights and args.snapshot:
        raise UsageError("give either --weights or --snapshot, not both")
    from myPython.nets.runtime import set_device
    from myPython.training.train import train
    from myPython.training.validation import Validator

    gpu = None if args.cpu else args.gpu
    if not args.cpu and gpu is None:
        from myPython.nets.runtime import build_info, gpu_count

        gpu = 0 if build_info().get("gpu") and gpu_count() > 0 else None
    validator = None
    if args.val_dir:
        if not args.val_proto:
            raise UsageError("--val-dir needs --val-proto (a deploy net)")
        set_device(gpu)
        mean = [float(x) for x in args.val_mean.split(",")] if args.val_mean else None
        validator = Validator(args.val_dir, args.val_proto, args.val_weights or (args.weights or "").split(",")[0]
                              or None, args.val_every, args.val_S, args.val_L, mean, args.val_output)
    train(args.solver, args.weights, args.snapshot, gpu, args.data_root, args.output_dir, args.max_iter,
          args.seed, validator, args.val_every if validator else None, args.display)
    return 0
