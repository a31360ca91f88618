"""The threshold study: same-origin vs unrelated items retrieved at each similarity threshold."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from myPython.common.fileio import atomic_write_text, atomic_write_with, walk_files
from myPython.common.ids import escape, input_of, is_frame
from myPython.pool.search import Neighbours


@dataclass
class ThresholdRow:
    threshold: float
    same_origin: int
    unrelated: int
    precision: float
    recall: float
    f1: float


def read_ground_truth(path: str | os.PathLike) -> dict[str, str]:
    """id -> group, from a TSV (`<id>\\t<group>`, ids as the store writes them) or a folder with one
    sub-folder per group (ids: the escaped paths relative to the folder, see common.ids)."""
    path = Path(path)
    if path.is_dir():
        truth = {}
        for group in sorted(p for p in path.iterdir() if p.is_dir()):
            for file in walk_files(group):
                truth[escape(file.relative_to(path).as_posix())] = escape(group.name)
        return truth
    if not path.is_file():
        raise FileNotFoundError(f"{path}: ground truth not found")
    truth = {}
    with open(path, encoding="utf-8") as handle:
        for n, row in enumerate(csv.reader(handle, delimiter="\t"), 1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) < 2:
                raise ValueError(f"{path}:{n}: expected `<id>\\t<group>`")
            truth[row[0]] = row[1]
    return truth


def group_of(ident: str, truth: dict[str, str]) -> str | None:
    """Group of a row id; frame ids (`video#t=...`) take their video's group."""
    if ident in truth:
        return truth[ident]
    return truth.get(input_of(ident))


def source_of(ident: str) -> str:
    """The input a row came from (a frame's video, or the image itself)."""
    return input_of(ident)


def possible_matches(ids: list[str], truth: dict[str, str], cross_input: bool = True) -> dict[str, int]:
    """Per row id: how many other rows share its group (rows of its own input excluded if cross_input)."""
    per_group: dict[str, int] = {}
    per_input: dict[tuple[str, str], int] = {}
    groups = [group_of(i, truth) for i in ids]
    for ident, g in zip(ids, groups):
        if g is not None:
            per_group[g] = per_group.get(g, 0) + 1
            key = (g, source_of(ident))
            per_input[key] = per_input.get(key, 0) + 1
    out = {}
    for ident, g in zip(ids, groups):
        if g is not None:
            own = per_input[(g, source_of(ident))] if cross_input else 1
            out[ident] = per_group[g] - own
    return out


def threshold_grid(low: float, high: float, step: float = 0.01) -> np.ndarray:
    """Thresholds low..high inclusive, computed from integer steps (no float drift)."""
    n = int(round((high - low) / step))
    return np.round(low + step * np.arange(n + 1), 10)


def pair_scores(mapped: dict[str, Neighbours], truth: dict[str, str], cross_input: bool = True
                ) -> tuple[np.ndarray, np.ndarray]:
    """Scores of the retrieved pairs, split into (same origin, other), for queries with a known group.

    With cross_input, pairs of rows from one input (frames of one video) are left out.
    """
    same, other = [], []
    for query, found in mapped.items():
        g = group_of(query, truth)
        if g is None:
            continue
        for item, score in found:
            if item == query or (cross_input and source_of(item) == source_of(query)):
                continue
            (same if group_of(item, truth) == g else other).append(score)
    return np.asarray(same, dtype=np.float64), np.asarray(other, dtype=np.float64)


def threshold_study(mapped: dict[str, Neighbours], truth: dict[str, str], *, low: float = 0.5,
                    high: float = 1.0, step: float = 0.01, possible: dict[str, int] | None = None,
                    cross_input: bool = True) -> list[ThresholdRow]:
    """Counts of same-origin and unrelated items retrieved at or above each threshold.

    With cross_input, pairs of frames of one video are left out: the job is
    to find copies across inputs. Recall is relative to `possible[query]`
    (the same-origin rows the query could retrieve, see possible_matches);
    without it, to the other members of the query's group in the ground truth.
    """
    same, other = (np.sort(s) for s in pair_scores(mapped, truth, cross_input))
    members: dict[str, int] = {}
    for ident, g in truth.items():
        if not is_frame(ident):
            members[g] = members.get(g, 0) + 1
    total_possible = 0
    for query in mapped:
        g = group_of(query, truth)
        if g is None:
            continue
        total_possible += possible.get(query, 0) if possible is not None else max(members.get(g, 1) - 1, 0)
    rows = []
    for t in threshold_grid(low, high, step):
        # Scores are printed with 4 decimals; compare at that precision.
        s = len(same) - np.searchsorted(same, t - 5e-5, side="left")
        o = len(other) - np.searchsorted(other, t - 5e-5, side="left")
        precision = s / (s + o) if s + o else 1.0
        recall = s / total_possible if total_possible else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(ThresholdRow(float(t), int(s), int(o), precision, recall, f1))
    return rows


def threshold_for_precision(rows: list[ThresholdRow], target: float) -> ThresholdRow | None:
    """The lowest threshold whose precision reaches the target (best recall there)."""
    for row in rows:
        if row.precision >= target and row.same_origin > 0:
            return row
    return None


def best_f1(rows: list[ThresholdRow]) -> ThresholdRow:
    return max(rows, key=lambda r: (r.f1, -r.threshold))


def format_table(rows: list[ThresholdRow]) -> str:
    lines = [f"{'threshold':>9}  {'same-origin':>11}  {'unrelated':>9}  {'precision':>9}  {'recall':>6}  {'F1':>5}"]
    for r in rows:
        lines.append(f"{r.threshold:9.2f}  {r.same_origin:11d}  {r.unrelated:9d}  {r.precision:9.3f}  "
                     f"{r.recall:6.3f}  {r.f1:5.3f}")
    return "\n".join(lines)


def plot_study(rows: list[ThresholdRow], path: str | os.PathLike, title: str = "threshold study") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r.threshold for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    ax[0].plot(t, [r.precision for r in rows], label="precision")
    ax[0].plot(t, [r.recall for r in rows], label="recall")
    ax[0].plot(t, [r.f1 for r in rows], label="F1")
    ax[0].set_xlabel("cosine threshold")
    ax[0].legend()
    ax[0].grid(alpha=0.3)
    ax[1].plot(t, [r.same_origin for r in rows], label="same-origin retrieved")
    ax[1].plot(t, [r.unrelated for r in rows], label="unrelated retrieved")
    ax[1].set_xlabel("cosine threshold")
    ax[1].set_yscale("symlog")
    ax[1].legend()
    ax[1].grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"), suffix=".png")
    plt.close(fig)


def write_csv(rows: list[ThresholdRow], path: str | os.PathLike) -> None:
    lines = ["threshold,same_origin,unrelated,precision,recall,f1"]
    lines += [f"{r.threshold:.2f},{r.same_origin},{r.unrelated},{r.precision:.6f},{r.recall:.6f},{r.f1:.6f}"
              for r in rows]
    atomic_write_text(path, "\n".join(lines) + "\n")


def possible_from_store(db_path: str | os.PathLike, truth: dict[str, str], cross_input: bool = True) -> dict[str, int]:
    """`possible_matches` over the row ids of a store (panel rows are their owners', not rows to find)."""
    from myPython.common.ids import is_panel
    from myPython.pool.store import DescriptorStore

    ids = [i for shard in DescriptorStore.open(db_path).shards() for i in shard.ids() if not is_panel(i)]
    return possible_matches(ids, truth, cross_input)
