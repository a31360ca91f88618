"""Solver files and the solver's environment: absolute paths, the data root as working directory,
initial weights by layer name."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from google.protobuf import text_format

from myPython.common.fileio import atomic_write_text
from myPython.nets.runtime import caffe, caffe_pb2, read_prototxt
from myPython.training.samplers import DATA_ROOT_ENV


def read_solver(path: str | os.PathLike[str]) -> caffe_pb2.SolverParameter:
    return read_prototxt(path, caffe_pb2.SolverParameter(), "solver prototxt")


def _absolute(path: str, base: Path) -> str:
    p = Path(os.path.expanduser(path))
    return str(p if p.is_absolute() else (base / p).resolve())


def effective_solver(solver: str | os.PathLike[str], output_dir: str | os.PathLike[str] = ".",
                     max_iter: int | None = None, seed: int | None = None) -> tuple[Path, caffe_pb2.SolverParameter]:
    """Write the solver with absolute ``net`` and ``snapshot_prefix`` paths; return (path, parameters).

    Nets resolve against the solver's directory, the snapshot prefix against ``output_dir``. The solver's
    own testing is switched off (``train`` runs the TEST net itself to log its loss).
    """
    solver = Path(solver).resolve()
    param = read_solver(solver)
    base = solver.parent
    for name in ("net", "train_net"):
        if param.HasField(name):
            setattr(param, name, _absolute(getattr(param, name), base))
    for i, net in enumerate(param.test_net):
        param.test_net[i] = _absolute(net, base)
    if not (param.HasField("net") or param.HasField("train_net") or param.HasField("net_param")
            or param.HasField("train_net_param")):
        raise ValueError(f"{solver}: names no net")
    for name in ("net", "train_net"):
        if param.HasField(name) and not Path(getattr(param, name)).is_file():
            raise FileNotFoundError(f"{solver}: net not found: {getattr(param, name)}")
    prefix = param.snapshot_prefix or f"snapshots/{solver.stem}"
    param.snapshot_prefix = _absolute(prefix, Path(output_dir).resolve())
    Path(param.snapshot_prefix).parent.mkdir(parents=True, exist_ok=True)
    if max_iter is not None:
        param.max_iter = int(max_iter)
    if seed is not None:
        param.random_seed = int(seed)
    if len(param.test_iter):  # tested by `train` itself (loss logged); the TEST net is still built
        param.test_interval = 2**31 - 1
    param.test_initialization = False
    param.snapshot_after_train = False
    path = Path(param.snapshot_prefix + "_solver.prototxt")
    atomic_write_text(path, "# effective solver written by `deep-retrieval train` (absolute paths)\n"
                      + text_format.MessageToString(param))
    return path, param


SOLVERS = {"SGD": "SGDSolver", "Nesterov": "NesterovSolver", "AdaGrad": "AdaGradSolver",
           "RMSProp": "RMSPropSolver", "AdaDelta": "AdaDeltaSolver", "Adam": "AdamSolver"}


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    old, old_env = os.getcwd(), os.environ.get(DATA_ROOT_ENV)
    os.chdir(path)
    os.environ[DATA_ROOT_ENV] = str(path)
    try:
        yield
    finally:
        os.chdir(old)
        if old_env is None:
            os.environ.pop(DATA_ROOT_ENV, None)
        else:
            os.environ[DATA_ROOT_ENV] = old_env


def load_initial_weights(net: caffe.Net, weights: str | Sequence[str]) -> list[str]:
    """Copy one or more caffemodels into the net (shape-checked); returns parameter layers left at fillers."""
    from myPython.nets.runtime import copy_weights_checked

    files = [w for w in (weights.split(",") if isinstance(weights, str) else weights) if w]
    untouched = set(net.params)
    for path in files:
        untouched &= set(copy_weights_checked(net, path, require_all=False))
    return [name for name in net.params if name in untouched]
