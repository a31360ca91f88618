"""Same-origin vs unrelated neighbours at each similarity threshold (precision, recall, F1)."""

from __future__ import annotations

import argparse
from pathlib import Path

from myPython.apps.options import check_output_file, check_range
from myPython.errors import UsageError

MAX_STEPS = 100_000  # thresholds in one study


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mapped", required=True)
    p.add_argument("--truth", required=True, help="TSV `<id>\\t<group>` or a folder of group folders")
    p.add_argument("--db", help="store, to count the same-origin rows each query could find")
    p.add_argument("--low", type=float, default=0.5)
    p.add_argument("--high", type=float, default=1.0)
    p.add_argument("--step", type=float, default=0.01)
    p.add_argument("--target-precision", type=float, default=0.95)
    p.add_argument("--within-input", action="store_true",
                   help="also count pairs of frames of the same video (left out by default)")
    p.add_argument("--plot", help="PNG output")
    p.add_argument("--csv", help="CSV output")


def check_arguments(args: argparse.Namespace) -> None:
    check_range("--low", args.low, -1.0, 1.0)
    check_range("--high", args.high, -1.0, 1.0)
    check_range("--step", args.step, 0.0, 2.0, above=True)
    check_range("--target-precision", args.target_precision, 0.0, 1.0)
    if args.low > args.high:
        raise UsageError(f"--low {args.low:g} is above --high {args.high:g}")
    if (args.high - args.low) / args.step > MAX_STEPS:
        raise UsageError(f"--step {args.step:g} gives more than {MAX_STEPS} thresholds from --low to --high")
    check_output_file("--plot", args.plot)
    check_output_file("--csv", args.csv)


def run(args: argparse.Namespace) -> int:
    check_arguments(args)
    from myPython.apps.threshold_study import (
        best_f1,
        format_table,
        plot_study,
        possible_from_store,
        read_ground_truth,
        threshold_for_precision,
        threshold_study,
        write_csv,
    )
    from myPython.pool.search import read_mapped

    truth = read_ground_truth(args.truth)
    mapped = read_mapped(args.mapped)
    cross = not args.within_input
    possible = possible_from_store(args.db, truth, cross) if args.db else None
    rows = threshold_study(mapped, truth, low=args.low, high=args.high, step=args.step, possible=possible,
                           cross_input=cross)
    print(format_table(rows))
    best = best_f1(rows)
    print(f"best F1 {best.f1:.3f} at threshold {best.threshold:.2f} "
          f"(precision {best.precision:.3f}, recall {best.recall:.3f})")
    target = threshold_for_precision(rows, args.target_precision)
    if target:
        print(f"threshold for precision >= {args.target_precision:.2f}: {target.threshold:.2f} "
              f"(recall {target.recall:.3f})")
    else:
        print(f"no threshold in range reaches precision {args.target_precision:.2f}")
    if args.plot:
        plot_study(rows, args.plot)
        print(f"plot written to {args.plot}")
    if args.csv:
        write_csv(rows, Path(args.csv))
    return 0
