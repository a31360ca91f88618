"""Choose the copy head's settings: each candidate learned on the train split, measured on the validation split."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["select"])


def run(args: argparse.Namespace) -> int:
    from myPython.build.copy_head import select
    from myPython.build.engine import regional_engine
    from myPython.nets.default_net import NSFW_MEAN_BGR, PCA_DIM

    select(regional_engine(), NSFW_MEAN_BGR, PCA_DIM)
    return 0
