"""Command-line options shared by several commands (model selection) and the extractor they open."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from myPython.errors import UsageError

# Network inputs: the long side of every scale lies in [MIN_SCALE, MAX_SCALE]. One prepared row takes
# 3 x S x S*3/4 float32 (MAX_SCALE: 38 MB), and images are never decoded smaller than
# pool.images.REDUCED_LONG_SIDE (>= MAX_SCALE).
MIN_SCALE, MAX_SCALE = 32, 2048
MAX_LEVELS = 8  # R-MAC grid levels


def check_range(name: str, value: float | None, low: float | None = None, high: float | None = None, *,
                above: bool = False) -> None:
    """UsageError unless `value` (when given) is finite and within [low, high] (`above`: strictly over low)."""
    if value is None:
        return
    low_text = "" if low is None else f"{'>' if above else '>='} {low:g}"
    high_text = "" if high is None else f"<= {high:g}"
    wanted = " and ".join(t for t in (low_text, high_text) if t) or "finite"
    if not math.isfinite(value) or (low is not None and (value < low or (above and value == low))) \
            or (high is not None and value > high):
        raise UsageError(f"{name} must be {wanted}, got {value:g}")


def check_output_file(name: str, path: str | None) -> None:
    """UsageError when an output file would replace a folder (or its parent is a file)."""
    if path is None:
        return
    if os.path.isdir(path):
        raise UsageError(f"{name} {path} is a folder; give a file name")
    parent = Path(path).parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{name} {path}: {parent} is not a folder")


def check_model_args(args: argparse.Namespace) -> None:
    """Range checks of the model options, before any model is loaded."""
    check_range("--S", args.S, MIN_SCALE, MAX_SCALE)
    check_range("--L", args.L, 1, MAX_LEVELS)
    if args.gpu is not None:
        check_range("--gpu", args.gpu, 0)
    scales = list(args.scales or [])
    if args.multires and args.S is not None and not args.scales:
        scales = [args.S - 250, args.S + 250]
    for scale in scales:
        if not MIN_SCALE <= scale <= MAX_SCALE:
            raise UsageError(f"every scale must lie in [{MIN_SCALE}, {MAX_SCALE}], got {scale}"
                             + (" (--multires uses S-250 and S+250)" if not args.scales else ""))


def int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def add_model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", default=None, help="named model (default: the embedded 'default')")
    g.add_argument("--proto", help="deploy prototxt (with --weights)")
    g.add_argument("--weights", help="caffemodel (with --proto)")
    g.add_argument("--output", default=None, help="output blob (default rmac/normalized or the sidecar's)")
    g.add_argument("--engine", default="auto",
                   help="auto (on CPU: onnxruntime-int8 when it passes its accuracy gate on this CPU, else "
                        "onnxruntime when its export matches Caffe, else caffe) | caffe | caffe-folded | "
                        "onnxruntime | onnxruntime-int8")
    g.add_argument("--gpu", type=int, default=None, help="GPU id (default: CPU)")
    g.add_argument("--S", type=int, default=None, help="resize the long side to S (default: the model's)")
    g.add_argument("--L", type=int, default=None, help="R-MAC grid levels (default: the model's)")
    g.add_argument("--multires", action="store_true", help="sum descriptors at S-250, S, S+250")
    g.add_argument("--scales", type=int_list, default=None, help="comma-separated scale list, overrides --S/--multires")


def open_extractor(args: argparse.Namespace, batch: int = 8):
    """(ModelSpec, DescriptorExtractor) for the model options of `args`."""
    from myPython.retrieval.extractor import DescriptorExtractor
    from myPython.retrieval.models import load_model

    if (args.proto is None) != (args.weights is None):
        raise UsageError("--proto and --weights go together")
    check_model_args(args)
    spec = load_model(args.proto, args.weights, args.model)
    if args.output:
        spec.output = args.output
    settings = spec.settings(args.S, args.L, args.multires, args.scales)
    prepare_engine(args.engine, spec, settings, args.gpu)
    extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, settings, output=spec.output,
                                               gpu=args.gpu, batch_size=batch, engine=args.engine)
    return spec, extractor


def prepare_engine(engine: str, spec, settings, gpu: int | None = None) -> None:
    """What the runtime only reads, built now when missing: the int8 model (`--engine onnxruntime-int8`) or the
    measured int8 choice for these settings on this CPU (`auto`; the default model's own settings were measured
    at install). Both cached."""
    if spec.weights is None or (gpu is not None and gpu >= 0):
        return
    if engine == "onnxruntime-int8":
        from myPython.build.int8_choice import ensure_int8

        ensure_int8(spec.proto, spec.weights, spec.output)
    elif engine == "auto":
        from myPython.retrieval.int8 import override

        if override() != "off":
            from myPython.build.int8_choice import prepare_int8

            prepare_int8(spec.proto, spec.weights, spec.output, settings)


def add_score_args(p: argparse.ArgumentParser) -> None:
    """The model whose calibrated score and thresholds `search` and `group` use, and `--raw`."""
    g = p.add_argument_group("score")
    g.add_argument("--model", default=None, help="named model the store was embedded with (default: 'default')")
    g.add_argument("--proto", help="deploy prototxt of the store's model (with --weights)")
    g.add_argument("--weights", help="caffemodel of the store's model (with --proto)")
    g.add_argument("--raw", action="store_true",
                   help="plain cosine instead of the fused, geometrically verified same-origin probability")


def open_score_options(args: argparse.Namespace, store):
    """pool.scoring.ScoreOptions for the store: the model's fused score (or cosine with --raw)."""
    import sys

    from myPython.pool.scoring import score_options
    from myPython.retrieval.models import load_model

    if (args.proto is None) != (args.weights is None):
        raise UsageError("--proto and --weights go together")
    spec = load_model(args.proto, args.weights, args.model)
    stored = store.meta.get("model")
    if stored and stored != spec.fingerprint():
        print(f"warning: {store.root} was embedded with another model ({stored}) than {spec.name} "
              f"({spec.fingerprint()}); its calibrated thresholds may not apply", file=sys.stderr)
    options = score_options(spec, raw=args.raw, store=store)
    if options.fusion is None and not args.raw and "fusion" in spec.info:
        print(f"note: {store.root} has no local features (embedded without them): scoring plain cosine",
              file=sys.stderr)
    return options
