"""`deep-retrieval` (also `python -m myPython`): one command line for every tool of the project.

Each sub-command lives in its own module with ``add_arguments(parser)`` and
``run(args) -> int``; a module is imported only when its command runs, so
``deep-retrieval --help`` and the light commands never load Caffe. Errors
follow `myPython.errors`: one line on stderr and exit code 1 (work failed),
2 (bad arguments) or 130 (interrupted).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from myPython.errors import EXIT_FAILURE, EXIT_INTERRUPTED, DeepRetrievalError, exit_code_of, one_line

DESCRIPTION = "Find same-origin frames in a pool of short videos and images with R-MAC descriptors."

# command -> (module with add_arguments/run, one-line help), in the order `--help` lists them.
COMMANDS: dict[str, tuple[str, str]] = {
    "embed": ("myPython.apps.commands.embed", "images and video frames -> descriptor store"),
    "search": ("myPython.apps.commands.search", "nearest neighbours -> mapped file"),
    "group": ("myPython.apps.commands.group", "same-origin groups"),
    "match-videos": ("myPython.apps.commands.match_videos", "same-origin video pairs with matched segments -> CSV"),
    "threshold-study": ("myPython.apps.commands.study", "same-origin vs unrelated counts per threshold"),
    "report": ("myPython.apps.commands.report", "self-contained HTML report"),
    "synth-pool": ("myPython.apps.commands.synth_pool", "synthetic store with planted truth, to time commands"),
    "verify": ("myPython.apps.commands.verify", "check a store's checksums; --quarantine moves damaged shards"),
    "eval-images": ("myPython.apps.commands.eval_images", "held-out same-origin evaluation on images (`make eval`)"),
    "copy-head": ("myPython.apps.commands.copy_head", "choose the copy head's settings on the validation split"),
    "model": ("myPython.apps.commands.model", "show a model, or build the embedded default"),
    "eval-videos": ("myPython.apps.commands.eval_videos", "held-out evaluation of match-videos (`make eval`)"),
    "demo": ("myPython.apps.demo", "the main job on the embedded data, end to end (`make demo`)"),
    "oxford": ("myPython.apps.oxford_eval", "Oxford5k / Paris6k mAP (the same as `python test.py`)"),
    "train": ("myPython.apps.commands.train", "train a Caffe net from a solver (also `python train.py`)"),
    "convert": ("myPython.apps.commands.convert", "teacher descriptors of an image folder -> features.npy"),
    "pca": ("myPython.apps.commands.pca", "offline PCA-whitening of R-MAC heads, and fusion experiments"),
    "surgery": ("myPython.apps.commands.surgery", "caffemodel / prototxt surgery (list, copy, fold-bn, teacher, ...)"),
    "proto": ("myPython.apps.commands.proto", "regenerate or check the checked-in prototxts (`make proto`)"),
    "weights": ("myPython.apps.commands.weights", "fetch and check the published caffemodel (`make weights`)"),
}


def build_parser(load: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the command named `load` gets its arguments (and its module imported)."""
    parser = argparse.ArgumentParser(prog="deep-retrieval", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == load:
            module = importlib.import_module(module_name)
            if module.__doc__:
                p.description = module.__doc__.strip().splitlines()[0]
            module.add_arguments(p)
            p.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run one command; `prog` names the script in error lines (``test.py``, ``train.py``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    who = prog or f"deep-retrieval {chosen if chosen in COMMANDS else ''}".rstrip()
    try:
        args = build_parser(chosen if chosen in COMMANDS else None).parse_args(argv)
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print(f"{who}: interrupted; committed work is kept, rerun to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (DeepRetrievalError, OSError, ValueError, RuntimeError) as exc:
        print(f"{who}: error: {one_line(exc)}", file=sys.stderr)
        return exit_code_of(exc) if isinstance(exc, DeepRetrievalError) else EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
