"""Offline PCA / PCA-whitening for R-MAC heads, written into caffemodels, and the offline fusion experiments."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from myPython.errors import UsageError


def _images(folder: str | os.PathLike[str]) -> list[Path]:
    from myPython.training.convert import list_images

    return list_images(folder, recursive=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gpu", type=int, help="GPU id (default: CPU)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("learn", help="learn a PCA from descriptors or regional features")
    p.add_argument("--vectors", help="N x D .npy of vectors (instead of a net + images)")
    p.add_argument("--proto")
    p.add_argument("--weights")
    p.add_argument("--images", help="folder of images (searched recursively)")
    p.add_argument("--layer", action="append", help="blob(s) whose regional features are stacked "
                                                     "(default: pooled_rois/normalized); several are concatenated")
    p.add_argument("--S", type=int, default=512)
    p.add_argument("--L", type=int, default=2)
    p.add_argument("--mean", help="B,G,R (default: the model's)")
    p.add_argument("--dim", type=int, default=0, help="components to keep (0: all)")
    p.add_argument("--no-whiten", action="store_true")
    p.add_argument("--standardize", action="store_true", help="divide every dimension by its std first")
    p.add_argument("--floor", type=float, default=0.0, help="variance floor (fraction of the largest)")
    p.add_argument("--out", required=True, help="pca .npz")
    p = sub.add_parser("write", help="write a PCA into the shift + projection layers of a caffemodel")
    for name in ("--proto", "--weights", "--pca", "--out-weights"):
        p.add_argument(name, required=True)
    p.add_argument("--out-proto", help="resized prototxt when the projection changes size")
    p.add_argument("--dim", type=int, help="keep only the first DIM components")
    p.add_argument("--shift-layer", default="pooled_rois/centered")
    p.add_argument("--proj-layer", default="pooled_rois/pca")
    p = sub.add_parser("truncate", help="keep the first DIM components of a projection (512/256-D heads)")
    for name in ("--proto", "--weights", "--out-weights", "--out-proto"):
        p.add_argument(name, required=True)
    p.add_argument("--dim", type=int, required=True)
    p.add_argument("--layer", default="pooled_rois/pca")
    p.add_argument("--new-layer")
    p = sub.add_parser("experiments", help="mAP of the offline fusion configurations on an Oxford-layout set")
    for name in ("--proto", "--weights", "--dataset"):
        p.add_argument(name, required=True)
    p.add_argument("--layers", required=True, help="comma-separated blobs (e.g. res4b22,res3b3,res2c)")
    p.add_argument("--S", type=int, default=512)
    p.add_argument("--L", type=int, default=2)
    p.add_argument("--mean", help="B,G,R (default: the model's)")
    p.add_argument("--output", default="rmac/normalized")
    p.add_argument("--pca-dim", type=int, default=0, help="PCA dimension per layer (0: full)")
    p.add_argument("--no-standardize", action="store_true")


def run(args: argparse.Namespace) -> int:
    from myPython.training.offline_pca import PCA, extract, learn_pca, run_experiments, write_pca

    mean = [float(x) for x in args.mean.split(",")] if getattr(args, "mean", None) else None
    if args.cmd == "learn":
        if args.vectors:
            vectors = np.load(args.vectors)
        else:
            if not (args.proto and args.weights and args.images):
                raise UsageError("learn needs --vectors, or --proto, --weights and --images")
            from myPython.nets.runtime import set_device
            from myPython.nets.surgery import load_net
            from myPython.retrieval.models import load_model

            set_device(args.gpu)
            spec = load_model(args.proto, args.weights)
            layers = args.layer or ["pooled_rois/normalized"]
            _, regional = extract(load_net(args.proto, args.weights), _images(args.images), layers,
                                  args.S, args.L, mean or spec.mean_bgr, None)
            vectors = np.concatenate([np.concatenate(regional[name]) for name in layers], axis=1)
        pca = learn_pca(vectors, args.dim, not args.no_whiten, args.standardize, args.floor)
        print(f"offline_pca: {len(vectors)} vectors of {vectors.shape[1]} -> {pca.dim}; wrote {pca.save(args.out)}")
    elif args.cmd == "write":
        from myPython.nets.runtime import set_device

        set_device(args.gpu)
        pca = PCA.load(args.pca)
        if args.dim:
            pca = pca.truncate(args.dim)
        target = write_pca(args.proto, args.weights, pca, args.out_weights, args.shift_layer, args.proj_layer,
                           args.out_proto)
        print(f"offline_pca: wrote {args.out_weights} (net {target})")
    elif args.cmd == "truncate":
        from myPython.nets.surgery import truncate_pca

        truncate_pca(args.proto, args.weights, args.layer, args.dim, args.out_weights, args.out_proto,
                     args.new_layer)
        print(f"offline_pca: wrote {args.out_proto} and {args.out_weights}")
    elif args.cmd == "experiments":
        run_experiments(args.proto, args.weights, args.dataset, [x for x in args.layers.split(",") if x],
                        args.S, args.L, mean, args.output, args.pca_dim, args.gpu, not args.no_standardize)
    return 0
