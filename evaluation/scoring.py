"""Score a query x database similarity matrix on Oxford/Paris: ``.rnk`` files, AP per query, report text."""

import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from evaluation.ap import average_precision, rank_database
from evaluation.datasets import RetrievalDataset
from myPython.common.fileio import atomic_open


def write_rnk(path: str | Path, names: Iterable[str]) -> None:
    """Atomically write a ranking file: one name per line, best first, trailing newline."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.writelines(f"{name}\n" for name in names)


def read_rnk(path: str | Path) -> list[str]:
    """Names of a ranking file, best first."""
    return Path(path).read_text().split()


def _run_binary(eval_binary: Path, gt_prefix: Path, rnk: Path) -> float:
    """AP printed (first stdout line) by ``eval_binary <gt_prefix> <rnk>``."""
    proc = subprocess.run([str(eval_binary), str(gt_prefix), str(rnk)], capture_output=True, text=True)
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{eval_binary} failed on {rnk} (exit {proc.returncode}): {proc.stderr.strip()}")
    return float(lines[0])


def score_queries(
    sim: np.ndarray,
    dataset: RetrievalDataset,
    *,
    eval_binary: str | Path | None = None,
    temp_dir: str | Path | None = None,
) -> list[float]:
    """AP of every query of ``sim`` (``Nq x Ndb``, rows/columns in ``dataset`` order).

    With ``eval_binary`` (the ``compute_ap`` tool), write ``<temp_dir>/<query>.rnk`` and run the tool per query
    (``temp_dir`` defaults to a temporary folder); otherwise compute the same AP in numpy.
    """
    sim = np.asarray(sim)
    expected = (len(dataset.query_names), len(dataset.images))
    if sim.shape != expected:
        raise ValueError(f"similarity matrix has shape {sim.shape}, dataset needs {expected}")
    if eval_binary is None:
        return average_precision(sim, dataset.positive_mask(), dataset.junk_mask(),
                                 dataset.unranked_positives).tolist()
    eval_binary = Path(eval_binary)
    if not eval_binary.is_file():
        raise FileNotFoundError(f"evaluation binary not found: {eval_binary}")
    images = np.asarray(dataset.images)
    with ExitStack() as stack:
        out_dir = Path(temp_dir if temp_dir is not None else stack.enter_context(tempfile.TemporaryDirectory()))
        out_dir.mkdir(parents=True, exist_ok=True)
        aps = []
        for q, order in enumerate(rank_database(sim)):
            rnk = out_dir / f"{dataset.query_names[q]}.rnk"
            write_rnk(rnk, images[order])
            aps.append(_run_binary(eval_binary, dataset.gt_prefix(q), rnk))
    return aps


def format_report(query_names: Sequence[str], aps: Sequence[float]) -> str:
    """Upstream report: ``<query>: <100*AP .2f>`` per query, 20 dashes, ``Mean: <.2f>`` (no trailing newline)."""
    if len(query_names) != len(aps):
        raise ValueError(f"{len(query_names)} query names but {len(aps)} APs")
    lines = [f"{name}: {100 * ap:.2f}" for name, ap in zip(query_names, aps)]
    lines += ["-" * 20, f"Mean: {100 * float(np.mean(aps)):.2f}"]
    return "\n".join(lines)
