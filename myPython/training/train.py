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

``deep-retrieval train --make-smoke-data DIR`` writes the small same-origin set used by the CPU smoke
runs and the learning test (``DIR/train`` and ``DIR/val`` class folders made from shipped photos).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from myPython.errors import UsageError

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


# --------------------------------------------------------------------------------------------
# Smoke data: same-origin classes from shipped photos
# --------------------------------------------------------------------------------------------

def _fit(image: np.ndarray, height: int, width: int) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    target = width / height
    if w / h > target:
        nw = int(round(h * target))
        image = image[:, (w - nw) // 2:(w - nw) // 2 + nw]
    else:
        nh = int(round(w / target))
        image = image[(h - nh) // 2:(h - nh) // 2 + nh]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def edit_image(image: np.ndarray, rng: np.random.Generator) -> bytes:
    """A same-origin copy as JPEG bytes, the size of the input: the project's edit generator
    (datasets/edits.py `random_copy`), fitted back to the input's height x width."""
    import cv2

    from myPython.datasets.edits import random_copy

    h, w = image.shape[:2]
    ok, buffer = cv2.imencode(".jpg", _fit(random_copy(image, rng), h, w), [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buffer.tobytes()


def make_smoke_dataset(out: str | os.PathLike[str], seed: int = 0, per_class: int = 20, views: int = 2,
                       height: int = 240, width: int = 320, val_every: int = 3,
                       val_per_class: int | None = 6) -> dict[str, Path]:
    """Same-origin classes from the shipped photos (scikit-image + perception test images).

    Each photo gives ``views`` overlapping windows (left ... right); each window is a class whose images
    are random edits (`edit_image`) of it at height x width. Photos whose index is a multiple of
    ``val_every`` go to ``val/`` (held out, ``val_per_class`` images per class), the others to ``train/``.
    Deterministic for a seed. Returns {'train': dir, 'val': dir}.
    """
    from myPython.common import assets
    from myPython.pool.images import load_image

    rng = np.random.default_rng(seed)
    root = Path(out)
    photos = assets.skimage_photos() + assets.perception_images()
    dirs = {"train": root / "train", "val": root / "val"}
    for index, path in enumerate(photos):
        split = "val" if index % val_every == 0 else "train"
        count = per_class if split == "train" or val_per_class is None else val_per_class
        image = load_image(path)
        w = image.shape[1]
        span = w if views == 1 else int(w * 0.55)
        for v in range(views):
            x0 = 0 if views == 1 else int(v * (w - span) / (views - 1))
            base = _fit(image[:, x0:x0 + span], height, width)
            folder = dirs[split] / f"{path.stem}_{v}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                (folder / f"{i:02d}.jpg").write_bytes(edit_image(base, rng))
    return dirs


def cache_regions(proto: str | os.PathLike[str], weights: str | os.PathLike[str],
                  items: Sequence[tuple[int, str | os.PathLike[str]]], out: str | os.PathLike[str],
                  height: int, width: int, mean: Sequence[float], levels: int = 2,
                  blob: str = "pooled_rois/normalized", batch: int = 16, flips: bool = False) -> Path:
    """Regional features (``blob``) of (label, image) items at height x width, saved for RegionFeatureDataLayer.

    ``flips`` adds the mirrored image of every item after it (same label): twice the samples.
    """
    from myPython.nets.runtime import feed_net
    from myPython.nets.surgery import load_net
    from myPython.pool.images import load_image
    from myPython.retrieval.grid import rmac_rois
    from myPython.training.data_layers import save_region_cache
    from myPython.training.samplers import resize_image

    net = load_net(proto, weights)
    regions: list[np.ndarray] = []
    mean_arr = np.asarray(mean, np.float32)
    labels = []
    for start in range(0, len(items), batch):
        chunk = items[start:start + batch]
        images = []
        for label, path in chunk:
            image = resize_image(load_image(path), height, width).astype(np.float32) - mean_arr
            images += [image, image[:, ::-1]] if flips else [image]
            labels += [label, label] if flips else [label]
        data = np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2))
        rois = rmac_rois(height, width, levels, len(images))
        feats = feed_net(net, data, rois, blob).reshape(len(rois), -1)
        regions += [feats[rois[:, 0] == k].copy() for k in range(len(images))]
    return save_region_cache(out, regions, labels)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--solver", help="solver prototxt")
    parser.add_argument("--weights", help="caffemodel(s) to initialise from (comma-separated)")
    parser.add_argument("--snapshot", help="resume from this .solverstate")
    device = parser.add_mutually_exclusive_group()
    device.add_argument("--gpu", type=int, help="GPU id (default: 0 when this Caffe has CUDA, else CPU)")
    device.add_argument("--cpu", action="store_true", help="train on the CPU")
    parser.add_argument("--data-root", help="directory the nets' data paths are relative to (default: solver dir)")
    parser.add_argument("--output-dir", default=".", help="base of a relative snapshot_prefix (default: .)")
    parser.add_argument("--max-iter", type=int, help="override the solver's max_iter")
    parser.add_argument("--seed", type=int, help="Caffe random seed")
    parser.add_argument("--display", type=int, help="print the mean loss every N iterations")
    parser.add_argument("--val-dir", help="held-out set: class folders or an Oxford layout (jpg/, lab/)")
    parser.add_argument("--val-every", type=int, default=1000, help="validate every N iterations")
    parser.add_argument("--val-proto", help="deploy prototxt for validation")
    parser.add_argument("--val-weights", help="weights of the deploy net (default: --weights)")
    parser.add_argument("--val-S", type=int, help="long side for validation (default: model's)")
    parser.add_argument("--val-L", type=int, help="grid levels for validation (default: model's)")
    parser.add_argument("--val-mean", help="B,G,R mean for validation (default: model's)")
    parser.add_argument("--val-output", help="descriptor blob (default: rmac/normalized)")
    parser.add_argument("--make-smoke-data", metavar="DIR", help="write the same-origin smoke set into DIR and exit")


def run(args: argparse.Namespace) -> int:
    if args.make_smoke_data:
        dirs = make_smoke_dataset(args.make_smoke_data, seed=args.seed or 0)
        print(f"train: wrote {dirs['train']} and {dirs['val']}")
        return 0
    if not args.solver:
        raise UsageError("--solver is required")
    if not args.weights and not args.snapshot:
        raise UsageError("give --weights (initial caffemodel) or --snapshot (solverstate to resume)")
    if args.weights and args.snapshot:
        raise UsageError("give either --weights or --snapshot, not both")
    gpu = None if args.cpu else args.gpu
    if not args.cpu and gpu is None:
        from myPython.nets.runtime import build_info, gpu_count

        gpu = 0 if build_info().get("gpu") and gpu_count() > 0 else None
    validator = None
    if args.val_dir:
        if not args.val_proto:
            raise UsageError("--val-dir needs --val-proto (a deploy net)")
        set_device(gpu)
        mean = [float(x) for x in args.val_mean.split(",")] if args.val_mean else None
        validator = Validator(args.val_dir, args.val_proto, args.val_weights or (args.weights or "").split(",")[0]
                              or None, args.val_every, args.val_S, args.val_L, mean, args.val_output)
    train(args.solver, args.weights, args.snapshot, gpu, args.data_root, args.output_dir, args.max_iter,
          args.seed, validator, args.val_every if validator else None, args.display)
    return 0
