"""Show a model (JSON: files, mean, S, L, dimension, calibrated thresholds), or build the embedded default."""

from __future__ import annotations

import argparse
import json
import sys


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
        _prepare_int8(spec)
    else:
        spec = load_model(args.proto, args.weights, args.model)
    print(json.dumps(spec.describe(), indent=2))
    return 0


def _prepare_int8(spec) -> None:
    """Quantise the model and run its int8 gate now (both cached), so that the first `embed` with
    `--engine auto` does not pay for them (a minute, and the calibration's memory) in the middle of a job."""
    from myPython.retrieval.int8 import int8_refusal

    reason = int8_refusal(spec.proto, spec.weights, spec.output)  # a CPU without VNNI/AMX: says so, does nothing
    print(f"int8: {'not used: ' + reason if reason else 'gate passed; engine auto runs int8 on this CPU'}",
          file=sys.stderr)
