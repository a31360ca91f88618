"""Show a model (JSON: files, mean, S, L, dimension, calibrated thresholds), or build the embedded default."""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["info", "build-default"])
    p.add_argument("--model", default=None)
    p.add_argument("--proto")
    p.add_argument("--weights")
    p.add_argument("--rebuild", action="store_true")


def run(args: argparse.Namespace) -> int:
    from myPython.retrieval.models import load_model

    if args.action == "build-default":
        from myPython.nets.default_model import default_model

        spec = default_model(rebuild=args.rebuild)
    else:
        spec = load_model(args.proto, args.weights, args.model)
    print(json.dumps(spec.describe(), indent=2))
    return 0
