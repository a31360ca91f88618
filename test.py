"""Oxford5k / Paris6k (and revisited ROxford5k / RParis6k) mAP of an R-MAC model, with upstream's flags.

    python test.py --S 800 --L 2 --dataset datasets/Oxford --dataset_name Oxford [--multires] [--aqe 1 --dbe 20]

Prints ``<query>: <AP>`` per query, 20 dashes and ``Mean: xx.xx`` (revisited: mAP and mP@1,5,10 per protocol).
Runs on the CPU unless --gpu is given. See docs/reproduce.md for the published numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

REPO = Path(__file__).resolve().parent
DEFAULT_PROTO = REPO / "proto" / "deploy_resnet101.prototxt"
DEFAULT_WEIGHTS = REPO / "caffemodel" / "deep_image_retrieval_model.caffemodel"
MISSING_WEIGHTS = (
    "{weights}: caffemodel not found. The published ResNet-101 R-MAC model (Gordo et al.) is not shipped: "
    "download it from the Deep Image Retrieval release and save it as {default} or pass --weights "
    "(see docs/reproduce.md)."
)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from myPython.retrieval.engines import ENGINE_KINDS

    engine_default = "auto" if "auto" in ENGINE_KINDS else "caffe"
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gpu", type=int, default=None, help="GPU id (default, or < 0: CPU)")
    p.add_argument("--cpu", action="store_true", help="run on the CPU even if --gpu is given")
    p.add_argument("--S", type=positive_int, default=800, help="resize the longest side to S (default 800)")
    p.add_argument("--L", type=int, default=2, help="levels of the R-MAC rigid grid (default 2)")
    p.add_argument("--proto", default=str(DEFAULT_PROTO), help="deploy prototxt (default: %(default)s)")
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="caffemodel (default: %(default)s)")
    p.add_argument("--dataset", required=True,
                   help="folder with jpg/ and lab/ (Oxford/Paris) or jpg/ and gnd_<name>.pkl (revisited)")
    p.add_argument("--dataset_name", required=True,
                   help="Oxford | Paris (any name for the Oxford layout) | roxford5k | rparis6k")
    p.add_argument("--eval_binary", default=None,
                   help="compute_ap tool (default: the built-in evaluator, same numbers)")
    p.add_argument("--temp_dir", default=None,
                   help="feature caches and .rnk files (default: <cache>/eval, see DEEP_RETRIEVAL_CACHE)")
    p.add_argument("--multires", action="store_true", help="sum descriptors at S-250, S and S+250")
    p.add_argument("--aqe", type=positive_int, default=None, help="average query expansion with k neighbours")
    p.add_argument("--dbe", type=positive_int, default=None, help="database-side augmentation with k neighbours")
    p.add_argument("--no-crop", dest="crop", action="store_false",
                   help="do not crop the queries to their box (upstream crops; the published numbers need it)")
    p.add_argument("--engine", choices=ENGINE_KINDS, default=engine_default,
                   help="network engine (default: %(default)s; caffe is the reference)")
    p.add_argument("--batch", type=positive_int, default=8, help="images per forward pass (default 8)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not Path(args.weights).is_file():
        print(f"test.py: error: {MISSING_WEIGHTS.format(weights=args.weights, default=DEFAULT_WEIGHTS)}",
              file=sys.stderr)
        return 2
    from myPython.apps.oxford_eval import EvalOptions, evaluate
    from myPython.common.assets import cache_dir
    from myPython.retrieval.models import load_model

    options = EvalOptions(S=args.S, L=args.L, multires=args.multires, crop=args.crop, aqe=args.aqe, dbe=args.dbe)
    try:
        spec = load_model(args.proto, args.weights)
        result = evaluate(spec, args.dataset, args.dataset_name, options, args.temp_dir or cache_dir() / "eval",
                          eval_binary=args.eval_binary, gpu=None if args.cpu else args.gpu, engine=args.engine,
                          batch_size=args.batch)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"test.py: error: {exc}", file=sys.stderr)
        return 1
    print(result.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
