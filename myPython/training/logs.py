"""Training logs: CSV files (train loss, test loss, validation mAP) and their plot."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from myPython.common.fileio import atomic_write_with


@dataclass
class TrainResult:
    iterations: int
    weights: Path | None
    solverstate: Path | None
    losses: list[tuple[int, float]] = field(default_factory=list)
    test_losses: list[tuple[int, float]] = field(default_factory=list)
    val: list[tuple[int, float]] = field(default_factory=list)
    logs: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0


class CsvLog:
    """An append-only CSV log, flushed row by row (a crash keeps every row written)."""

    def __init__(self, path: Path, header: Sequence[str], append: bool) -> None:
        self.path = path
        fresh = not (append and path.exists())
        self.handle = open(path, "w" if fresh else "a", newline="")
        self.writer = csv.writer(self.handle)
        if fresh:
            self.writer.writerow(header)

    def row(self, *values: object) -> None:
        self.writer.writerow(values)
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


def _read_csv(path: Path) -> list[list[float]]:
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    return [[float(v) for v in row] for row in rows if row]


def plot_logs(prefix: str, out: Path) -> Path:
    """PNG of the training loss (raw and moving average), test loss and validation mAP."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = _read_csv(Path(prefix + "_train_log.csv"))
    test = _read_csv(Path(prefix + "_test_log.csv"))
    val = _read_csv(Path(prefix + "_val_log.csv"))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if train:
        it = np.array([r[0] for r in train])
        loss = np.array([r[2] for r in train])
        ax.plot(it, loss, color="tab:blue", alpha=0.25, lw=0.8, label="train loss")
        k = max(1, min(50, len(loss) // 10))
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        ax.plot(it[k - 1:], smooth, color="tab:blue", lw=1.6, label=f"train loss ({k}-iter mean)")
    if test:
        ax.plot([r[0] for r in test], [r[1] for r in test], "o-", color="tab:orange", label="test loss")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    handles, labels = ax.get_legend_handles_labels()
    if val:
        ax2 = ax.twinx()
        ax2.plot([r[0] for r in val], [r[1] for r in val], "s-", color="tab:green", label="held-out mAP")
        ax2.set_ylabel("mAP")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    if handles:
        ax.legend(handles, labels, loc="best", fontsize=8)
    ax.set_title(Path(prefix).name)
    fig.tight_layout()
    atomic_write_with(out, lambda tmp: fig.savefig(tmp, dpi=100, format="png"), suffix=".png")
    plt.close(fig)
    return out
