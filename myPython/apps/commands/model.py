"""Show a model (JSON: files, mean, S, L, dimension, calibrated thresholds, held-out numbers of this build), build
the embedded default, or quantise a model and measure whether int8 pays on this CPU."""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["info", "build-default", "quantize"])
    p.add_argument("--model", default=None)
    p.add_argument("--proto")
    p.add_argument("--weights")
    p.add_argument("--rebuild", action="store_true", help="build-default: build again; quantize: measure again")


def run(args: argparse.Namespace) -> int:
    from myPython.retrieval.models import load_model

    if args.action == "build-default":
        from myPython.build.default_model import build_default_model

        spec = build_default_model(rebuild=args.rebuild, progress=sys.stderr.isatty())
    else:
        spec = load_model(args.proto, args.weights, args.model)
    if args.action == "quantize":
        from myPython.build.int8_choice import prepare_int8

        choice = prepare_int8(spec.proto, spec.weights, spec.output, remeasure=args.rebuild)
        print(json.dumps(choice, indent=2))
        return 0
    info = spec.describe()
    from myPython.retrieval.int8 import int8_refusal

    reason = int8_refusal(spec.proto, spec.weights, spec.output) if spec.weights else "no caffemodel"
    info["engine_auto"] = "onnxruntime-int8" if reason is None else f"onnxruntime fp32 ({reason})"
    print(json.dumps(info, indent=2))
    return 0
