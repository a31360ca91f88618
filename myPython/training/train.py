"""Train a Caffe net from a solver: ``python train.py --solver S --weights W [--gpu G | --cpu]``.

* ``--weights`` initialises the train net by layer name (comma-separated list allowed; blobs are
  shape-checked first, since Caffe aborts the process on a mismatch); ``--snapshot X.solverstate``
  resumes instead (iteration, momentum history and weights).
* Paths: the solver's ``net`` is resolved against the solver's directory and its ``snapshot_prefix``
  against ``--output-dir`` (default: the current directory); the effective solver with absolute paths is
  written next to the snapshots (``<prefix>_solver.prototxt``). Caffe then runs with the *data root*
  (``--data-root``, default: the solver's directory) as its current directory, so the relative data paths
  inside the nets (image folders, lists, ``features.npy``) resolve there; $DEEP_RETRIEVAL_DATA is set to it
  too.
* Logs: ``<prefix>_train_log.csv`` (iter, seconds, loss, lr), ``<prefix>_test_log.csv`` (the solver's
  TEST net, every ``test_interval``), ``<prefix>_val_log.csv`` (retrieval mAP) and ``<prefix>_loss.png``.
* Validation hook: ``--val-dir DIR`` (class folders: every image queries the others, positives = same
  class; or an Oxford/Paris layout with ``jpg/`` and ``lab/``) evaluated every ``--val-every`` iterations
  with a deploy net (``--val-proto``, weights from ``--val-weights`` or ``--weights``, then every parameter
  layer that the training net also has is copied from it) through `DescriptorExtractor`.

The command line is myPython/apps/commands/train.py; ``--make-smoke-data DIR`` writes the small same-origin
set of the CPU smoke runs and the learning test (myPython/datasets/smoke.py).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # prototxts name their Python layers `custom_layers` (repo root)
    sys.path.insert(0, str(REPO))

from myPython.nets.runtime import caffe, set_device  # noqa: E402
from myPython.training.logs import CsvLog, TrainResult, plot_logs  # noqa: E402
from myPython.training.solver_setup import (  # noqa: E402
    SOLVERS,
    effective_solver,
    load_initial_weights,
    read_solver,
    working_directory,
)
from myPython.training.validation import Validator  # noqa: E402

# --------------------------------------------------------------------------------------------
# The training loop
# --------------------------------------------------------------------------------------------


def _loss(net: caffe.Net) -> float:
    weights = net.blob_loss_weights
    return float(sum(weights[name] * float(np.sum(net.blobs[name].data)) for name in net.outputs if weights[name]))


def _test_loss(solver, iters: int) -> float:
    net = solver.test_nets[0]
    total = 0.0
    for _ in range(iters):
        net.forward()
        total += _loss(net)
    return total / max(iters, 1)


@dataclass
class _Run:
    """What one training run needs besides the solver: logs, validation, printing."""

    prefix: str
    logs: dict[str, Path]
    train_log: CsvLog
    test_log: CsvLog | None
    val_log: CsvLog | None
    validator: Callable[[caffe.Net], float] | None
    every: int
    display: int
    test_iter: int
    test_interval: int
    say: Callable[..., None]
    result: TrainResult

    def close(self) -> None:
        for log in (self.train_log, self.test_log, self.val_log):
            if log is not None:
                log.close()

    def validate(self, s) -> None:
        value = self.validator(s.net)
        self.result.val.append((s.iter, value))
        self.val_log.row(s.iter, f"{value:.6f}")
        self.say(f"train: iter {s.iter} held-out mAP {value:.4f}")


def _resolve_inputs(solver: str | os.PathLike[str], weights: str | Sequence[str] | None,
                    snapshot: str | os.PathLike[str] | None, data_root: str | os.PathLike[str] | None
                    ) -> tuple[Path, Path, Path | None, list[str]]:
    """Absolute (solver, data root, solverstate, weight files), each checked to exist."""
    solver = Path(solver).resolve()
    root = Path(data_root).resolve() if data_root else solver.parent
    if not root.is_dir():
        raise FileNotFoundError(f"data root not found: {root}")
    state = Path(snapshot).resolve() if snapshot else None
    if state is not None and not state.is_file():
        raise FileNotFoundError(f"solverstate not found: {state}")
    files = [str(Path(w).resolve()) for w in (weights.split(",") if isinstance(weights, str) else weights or [])
             if w]
    for w in files:
        if not Path(w).is_file():
            raise FileNotFoundError(f"weights not found: {w}")
    return solver, root, state, files


def _open_solver(path: Path, solver_type: str, snapshot: Path | None, weights: list[str], say):
    s = getattr(caffe, SOLVERS.get(solver_type or "SGD", "SGDSolver"))(str(path))
    if snapshot is not None:
        s.restore(str(snapshot))
        say(f"train: resumed from {snapshot} at iteration {s.iter}")
    elif weights:
        left = load_initial_weights(s.net, weights)
        say(f"train: initialised from {', '.join(weights)}"
            + (f"; at fillers: {', '.join(left[:8])}{' ...' if len(left) > 8 else ''}" if left else ""))
    if s.test_nets:
        s.test_nets[0].share_with(s.net)
    return s


def _step(s, run: _Run, start: float, window: list[float]) -> None:
    """One iteration with its logging, test loss and validation."""
    lr = float(s.lr) if hasattr(s, "lr") else float("nan")
    s.step(1)
    loss = _loss(s.net)
    window.append(loss)
    run.result.losses.append((s.iter, loss))
    run.train_log.row(s.iter, f"{time.time() - start:.3f}", f"{loss:.6g}", f"{lr:.6g}")
    if run.display and s.iter % run.display == 0:
        run.say(f"train: iter {s.iter} loss {np.mean(window):.5g} lr {lr:.3g} ({time.time() - start:.1f} s)")
        window.clear()
    if run.test_log is not None and run.test_interval and s.iter % run.test_interval == 0:
        value = _test_loss(s, run.test_iter)
        run.result.test_losses.append((s.iter, value))
        run.test_log.row(s.iter, f"{value:.6g}")
        run.say(f"train: iter {s.iter} test loss {value:.5g}")
    if run.validator is not None and run.every and s.iter % run.every == 0:
        run.validate(s)
        plot_logs(run.prefix, run.logs["plot"])


def train(
    solver: str | os.PathLike[str],
    weights: str | Sequence[str] | None = None,
    snapshot: str | os.PathLike[str] | None = None,
    gpu: int | None = None,
    data_root: str | os.PathLike[str] | None = None,
    output_dir: str | os.PathLike[str] = ".",
    max_iter: int | None = None,
    seed: int | None = None,
    validator: Validator | Callable[[caffe.Net], float] | None = None,
    val_every: int | None = None,
    display: int | None = None,
    quiet: bool = False,
) -> TrainResult:
    """Run the solver to ``max_iter`` (from the solver unless given), logging and validating on the way."""
    solver, data_root, snapshot, weights_list = _resolve_inputs(solver, weights, snapshot, data_root)
    path, param = effective_solver(solver, output_dir, max_iter, seed)
    prefix = param.snapshot_prefix
    device = set_device(gpu)
    if seed is not None:
        caffe.set_random_seed(int(seed))
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    test_iter = int(param.test_iter[0]) if len(param.test_iter) else 0
    append = snapshot is not None
    logs = {"train": Path(prefix + "_train_log.csv"), "test": Path(prefix + "_test_log.csv"),
            "val": Path(prefix + "_val_log.csv"), "plot": Path(prefix + "_loss.png")}
    result = TrainResult(iterations=0, weights=None, solverstate=None, logs=logs)
    with working_directory(data_root):
        s = _open_solver(path, param.type, snapshot, weights_list, say)
        run = _Run(prefix, logs, CsvLog(logs["train"], ("iter", "seconds", "loss", "lr"), append),
                   CsvLog(logs["test"], ("iter", "loss"), append) if test_iter else None,
                   CsvLog(logs["val"], ("iter", "mAP"), append) if validator else None,
                   validator, val_every or getattr(validator, "every", 0) or 0,
                   display if display is not None else (param.display or 100), test_iter,
                   int(read_solver(solver).test_interval) if test_iter else 0, say, result)
        say(f"train: {solver.name} on {device}, data root {data_root}, iterations {s.iter} -> {param.max_iter}")
        start = time.time()
        try:
            if validator is not None and (s.iter == 0 or not append):
                run.validate(s)
            window: list[float] = []
            while s.iter < param.max_iter:
                _step(s, run, start, window)
            if validator is not None and (not result.val or result.val[-1][0] != s.iter):
                run.validate(s)
            s.snapshot()
        finally:
            run.close()
        result.iterations, result.seconds = s.iter, time.time() - start
        result.weights = Path(f"{prefix}_iter_{s.iter}.caffemodel")
        result.solverstate = Path(f"{prefix}_iter_{s.iter}.solverstate")
        plot_logs(prefix, logs["plot"])
    say(f"train: done, {result.iterations} iterations in {result.seconds:.1f} s; weights {result.weights}")
    return result
