"""Caffemodel / prototxt surgery, as sub-commands (list, compare, copy, toggle, fold-bn, truncate-pca, teacher)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def _pairs(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise SystemExit(f"model_tools: --rename expects OLD=NEW, got {item!r}")
        out[old] = new
    return out


def _sizes(text: str | None) -> list[tuple[int, int]] | None:
    if not text:
        return None
    out = []
    for part in text.split(","):
        h, _, w = part.lower().partition("x")
        out.append((int(h), int(w)))
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gpu", type=int, default=None, help="GPU id (default: CPU)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("list", help="parameter layers and blob shapes")
    p.add_argument("--weights")
    p.add_argument("--proto")
    p = sub.add_parser("compare", help="compare the parameters of two caffemodels")
    p.add_argument("a")
    p.add_argument("b")
    p = sub.add_parser("copy", help="copy weights by name into another net (rename, prefixes)")
    p.add_argument("--weights", required=True, help="source caffemodel")
    p.add_argument("--proto", required=True, help="destination prototxt")
    p.add_argument("--out", required=True)
    p.add_argument("--init", help="caffemodel initialising the destination first")
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW")
    p.add_argument("--prefix", action="append", default=[], help="tower prefix to strip (repeatable)")
    p.add_argument("--strict", action="store_true", help="fail when a destination layer gets no weights")
    p = sub.add_parser("toggle", help="deploy <-> train parameter settings")
    p.add_argument("--proto", required=True)
    p.add_argument("--to", required=True, choices=("train", "deploy"))
    p.add_argument("--out", required=True)
    p.add_argument("--trainable", action="append", default=[])
    p = sub.add_parser("fold-bn", help="fold BatchNorm + Scale into the preceding convolutions")
    for name in ("--proto", "--weights", "--out-proto", "--out-weights"):
        p.add_argument(name, required=True)
    p = sub.add_parser("truncate-pca", help="keep the first k PCA components of an InnerProduct")
    for name in ("--proto", "--weights", "--out-weights"):
        p.add_argument(name, required=True)
    p.add_argument("--layer", default="pooled_rois/pca")
    p.add_argument("--dim", type=int, required=True)
    p.add_argument("--out-proto")
    p.add_argument("--new-layer")
    p.add_argument("--target-proto", help="existing reduced prototxt (e.g. proto/deploy_resnet101_pca512.prototxt)")
    p = sub.add_parser("teacher", help="3-resolution teacher (shared towers) from a deploy net")
    for name in ("--proto", "--weights", "--out-proto", "--out-weights"):
        p.add_argument(name, required=True)
    p.add_argument("--sizes", help="HxW,HxW,HxW (default 192x256,384x512,576x768)")
    p.add_argument("--mean", help="B,G,R mean (default: the model mean)")


def run(args: argparse.Namespace) -> int:
    from myPython.nets.runtime import set_device
    from myPython.nets.surgery import (
        compare_models,
        copy_weights,
        fold_batchnorm,
        list_params,
        make_teacher,
        toggle,
        truncate_pca,
    )

    set_device(args.gpu)
    if args.cmd == "list":
        for name, kind, shapes in list_params(args.weights, args.proto):
            print(f"{name}\t{kind}\t{' '.join('x'.join(map(str, s)) for s in shapes)}")
    elif args.cmd == "compare":
        result = compare_models(args.a, args.b)
        print(result.report())
        return 0 if result.identical else 1
    elif args.cmd == "copy":
        report = copy_weights(args.weights, args.proto, args.out, args.init, _pairs(args.rename),
                              args.prefix, args.strict)
        print(f"copied {len(report.copied)} layer(s); no source for {len(report.missing)}"
              + (f" ({', '.join(report.missing[:10])})" if report.missing else "")
              + (f"; mismatched: {'; '.join(report.mismatched)}" if report.mismatched else ""))
    elif args.cmd == "toggle":
        toggle(args.proto, args.to, args.out, args.trainable)
        print(f"wrote {args.out}")
    elif args.cmd == "fold-bn":
        folded = fold_batchnorm(args.proto, args.weights, args.out_proto, args.out_weights)
        print(f"folded {len(folded)} layer(s); wrote {args.out_proto} and {args.out_weights}")
    elif args.cmd == "truncate-pca":
        proto = truncate_pca(args.proto, args.weights, args.layer, args.dim, args.out_weights, args.out_proto,
                             args.new_layer, args.target_proto)
        print(f"wrote {args.out_weights} (net {proto})")
    elif args.cmd == "teacher":
        mean = [float(x) for x in args.mean.split(",")] if args.mean else None
        report = make_teacher(args.proto, args.weights, args.out_proto, args.out_weights, _sizes(args.sizes), mean)
        print(f"wrote {args.out_proto} and {args.out_weights} ({len(report.copied)} layers filled)")
    return 0
