"""Teacher export: descriptors of an image folder -> ``features.npy`` plus the original's index lists."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--proto", required=True, help="teacher (or single-resolution deploy) prototxt")
    parser.add_argument("--weights", required=True)
    parser.add_argument("--img-dir", required=True)
    parser.add_argument("--features-npy", required=True)
    parser.add_argument("--features-txt", help='shuffled "<file> <row>" list (training list)')
    parser.add_argument("--index-txt", help='ordered "<row>\\t<stem>" index')
    # the default is myPython.training.convert.TEACHER_OUTPUT, spelled out so that --help does not load Caffe
    parser.add_argument("--end", help="output blob (default: rmac/eltwise/normalized for a teacher, else the model's)")
    parser.add_argument("--scales", default="256,512,768", help="long sides for a single-resolution net")
    parser.add_argument("--L", type=int, help="grid levels for a single-resolution net")
    parser.add_argument("--mean", help="B,G,R mean for a single-resolution net (default: model's)")
    parser.add_argument("--seed", type=int, default=0, help="shuffle seed of the list")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--recursive", action="store_true", help="include sub-folders (names keep the sub-path)")
    device = parser.add_mutually_exclusive_group()
    device.add_argument("--gpu", type=int)
    device.add_argument("--cpu", action="store_true")


def run(args: argparse.Namespace) -> int:
    from myPython.training.convert import convert

    features = convert(args.proto, args.weights, args.img_dir, args.features_npy, args.features_txt,
                       args.index_txt, args.end, [int(s) for s in args.scales.split(",")], args.L,
                       [float(m) for m in args.mean.split(",")] if args.mean else None,
                       None if args.cpu else args.gpu, args.seed, args.batch, args.recursive)
    print(f"convert: {features.shape[0]} x {features.shape[1]} descriptors -> {args.features_npy}")
    return 0
