"""`make weights`: fetch the published caffemodel from an address the user gives, check it, install it."""

from __future__ import annotations

import argparse
from pathlib import Path

from myPython.errors import DeepRetrievalError, ModelError, one_line
from myPython.nets.weights import DEFAULT_OUT, DEFAULT_PROTO, install_weights


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True)
    parser.add_argument("--proto", type=Path, default=DEFAULT_PROTO)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)


def run(args: argparse.Namespace) -> int:
    try:
        path = install_weights(args.url, args.proto, args.out)
    except DeepRetrievalError:
        raise
    except Exception as exc:  # archives and downloads fail in many ways; the user gets one line
        raise ModelError(one_line(exc)) from exc
    print(f"weights: installed {path} (checked against {args.proto})")
    return 0
