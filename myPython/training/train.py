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
import contextlib
import csv
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from myPython.errors import UsageError

os.environ.setdefault("GLOG_minloglevel", "2")

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # prototxts name their Python layers `custom_layers` (repo root)
    sys.path.insert(0, str(REPO))

from google.protobuf import text_format  # noqa: E402

from myPython.nets.data_layers import DATA_ROOT_ENV  # noqa: E402
from myPython.nets.runtime import caffe, caffe_pb2, read_prototxt, set_device  # noqa: E402

# --------------------------------------------------------------------------------------------
# Solver files
# --------------------------------------------------------------------------------------------


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
    path.write_text("# effective solver written by myPython.training.train (absolute paths)\n"
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


# --------------------------------------------------------------------------------------------
# Validation: retrieval mAP on a held-out set
# --------------------------------------------------------------------------------------------


class NetEngine:
    """`descriptor.Engine` over an in-memory caffe.Net (the deploy net the hook keeps updated)."""

    name = "caffe"

    def __init__(self, net: caffe.Net, output: str = "rmac/normalized") -> None:
        self.net, self.output = net, output
        self.batchable = True

    def forward(self, data: np.ndarray, rois: np.ndarray) -> np.ndarray:
        self.net.blobs["data"].reshape(*data.shape)
        self.net.blobs["rois"].reshape(*rois.shape)
        self.net.blobs["data"].data[...] = data
        self.net.blobs["rois"].data[...] = rois
        out = self.net.forward(end=self.output)[self.output]
        rows = np.array(out.reshape(out.shape[0], -1), dtype=np.float32)
        if len(rows) != len(data):  # a net that sums every region into one row
            raise ValueError("validation net must give one descriptor per image (AggregateLayer with rois)")
        return rows


@dataclass
class HeldOutSet:
    """Database images, query rows (into the database) and positive/junk masks."""

    images: list[Path]
    queries: np.ndarray
    positives: np.ndarray
    junk: np.ndarray

    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> HeldOutSet:
        root = Path(root).resolve()  # training runs inside the data root
        if (root / "jpg").is_dir() and (root / "lab").is_dir():
            from evaluation.datasets import load_oxford_paris

            ds = load_oxford_paris(root)
            return cls(list(ds.image_paths), ds.query_indices(), ds.positive_mask(), ds.junk_mask())
        from myPython.nets.data_layers import iter_class_images

        items = list(iter_class_images(root))
        if not items:
            raise ValueError(f"{root}: no class folders with images")
        labels = np.array([label for label, _ in items])
        same = labels[:, None] == labels[None, :]
        eye = np.eye(len(labels), dtype=bool)
        return cls([p for _, p in items], np.arange(len(items)), same & ~eye, eye)

    def mean_ap(self, descriptors: np.ndarray) -> float:
        from evaluation.ap import average_precision

        sim = descriptors[self.queries] @ descriptors.T
        return float(np.nanmean(average_precision(sim, self.positives, self.junk)))


class Validator:
    """Every ``every`` iterations: copy the training weights into a deploy net and compute held-out mAP."""

    def __init__(self, val_dir: str | os.PathLike[str], proto: str | os.PathLike[str],
                 weights: str | os.PathLike[str] | None, every: int, S: int | None = None, L: int | None = None,
                 mean: Sequence[float] | None = None, output: str | None = None) -> None:
        from myPython.nets.surgery import load_net
        from myPython.retrieval.extractor import DescriptorExtractor
        from myPython.retrieval.models import ModelSpec, load_model

        self.every = int(every)
        self.data = HeldOutSet.load(val_dir)
        spec = load_model(proto, weights) if weights else ModelSpec(name="val", proto=str(proto), weights=None)
        self.net = load_net(proto, weights)
        settings = spec.settings(S=S, L=L)
        if mean is not None:
            from dataclasses import replace

            settings = replace(settings, mean_bgr=tuple(float(m) for m in mean))
        self.extractor = DescriptorExtractor(NetEngine(self.net, output or spec.output), settings)

    def __call__(self, train_net: caffe.Net) -> float:
        for name, blobs in self.net.params.items():
            if name in train_net.params:
                src = train_net.params[name]
                if len(src) == len(blobs) and all(a.data.size == b.data.size for a, b in zip(src, blobs)):
                    for a, b in zip(src, blobs):
                        b.data[...] = a.data.reshape(b.data.shape)
        return self.data.mean_ap(self.extractor.describe_all(self.data.images))


# --------------------------------------------------------------------------------------------
# Logs and plot
# --------------------------------------------------------------------------------------------


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


class _Csv:
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
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


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


# --------------------------------------------------------------------------------------------
# train()
# --------------------------------------------------------------------------------------------


def load_initial_weights(net: caffe.Net, weights: str | Sequence[str]) -> list[str]:
    """Copy one or more caffemodels into the net (shape-checked); returns parameter layers left at fillers."""
    from myPython.nets.surgery import safe_copy_from

    files = [w for w in (weights.split(",") if isinstance(weights, str) else weights) if w]
    untouched = set(net.params)
    for path in files:
        untouched &= set(safe_copy_from(net, path))
    return [name for name in net.params if name in untouched]


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
    solver = Path(solver).resolve()
    data_root = Path(data_root).resolve() if data_root else solver.parent
    if not data_root.is_dir():
        raise FileNotFoundError(f"data root not found: {data_root}")
    snapshot = Path(snapshot).resolve() if snapshot else None
    if snapshot is not None and not snapshot.is_file():
        raise FileNotFoundError(f"solverstate not found: {snapshot}")
    weights_list = [str(Path(w).resolve()) for w in (weights.split(",") if isinstance(weights, str)
                                                      else weights or []) if w]
    for w in weights_list:
        if not Path(w).is_file():
            raise FileNotFoundError(f"weights not found: {w}")
    path, param = effective_solver(solver, output_dir, max_iter, seed)
    prefix = param.snapshot_prefix
    device = set_device(gpu)
    if seed is not None:
        caffe.set_random_seed(int(seed))
    every = val_every or getattr(validator, "every", 0) or 0
    display = display if display is not None else (param.display or 100)
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    test_iter = int(param.test_iter[0]) if len(param.test_iter) else 0
    test_interval = int(read_solver(solver).test_interval) if test_iter else 0
    result = TrainResult(iterations=0, weights=None, solverstate=None)
    with working_directory(data_root):
        kind = getattr(caffe, SOLVERS.get(param.type or "SGD", "SGDSolver"))
        s = kind(str(path))
        if snapshot is not None:
            s.restore(str(snapshot))
            say(f"train: resumed from {snapshot} at iteration {s.iter}")
        elif weights_list:
            left = load_initial_weights(s.net, weights_list)
            say(f"train: initialised from {', '.join(weights_list)}"
                + (f"; at fillers: {', '.join(left[:8])}{' ...' if len(left) > 8 else ''}" if left else ""))
        if s.test_nets:
            s.test_nets[0].share_with(s.net)
        append = snapshot is not None
        logs = {"train": Path(prefix + "_train_log.csv"), "test": Path(prefix + "_test_log.csv"),
                "val": Path(prefix + "_val_log.csv"), "plot": Path(prefix + "_loss.png")}
        train_log = _Csv(logs["train"], ("iter", "seconds", "loss", "lr"), append)
        test_log = _Csv(logs["test"], ("iter", "loss"), append) if test_iter else None
        val_log = _Csv(logs["val"], ("iter", "mAP"), append) if validator else None
        say(f"train: {solver.name} on {device}, data root {data_root}, iterations {s.iter} -> {param.max_iter}")
        start = time.time()

        def validate() -> None:
            value = validator(s.net)
            result.val.append((s.iter, value))
            val_log.row(s.iter, f"{value:.6f}")
            say(f"train: iter {s.iter} held-out mAP {value:.4f}")

        try:
            if validator is not None and (s.iter == 0 or not append):
                validate()
            window: list[float] = []
            while s.iter < param.max_iter:
                lr = float(s.lr) if hasattr(s, "lr") else float("nan")
                s.step(1)
                loss = _loss(s.net)
                window.append(loss)
                result.losses.append((s.iter, loss))
                train_log.row(s.iter, f"{time.time() - start:.3f}", f"{loss:.6g}", f"{lr:.6g}")
                if display and s.iter % display == 0:
                    say(f"train: iter {s.iter} loss {np.mean(window):.5g} lr {lr:.3g} ({time.time() - start:.1f} s)")
                    window = []
                if test_log is not None and test_interval and s.iter % test_interval == 0:
                    value = _test_loss(s, test_iter)
                    result.test_losses.append((s.iter, value))
                    test_log.row(s.iter, f"{value:.6g}")
                    say(f"train: iter {s.iter} test loss {value:.5g}")
                if validator is not None and every and s.iter % every == 0:
                    validate()
                    plot_logs(prefix, logs["plot"])
            if validator is not None and (not result.val or result.val[-1][0] != s.iter):
                validate()
            s.snapshot()
        finally:
            for log in (train_log, test_log, val_log):
                if log is not None:
                    log.close()
        result.iterations = s.iter
        result.seconds = time.time() - start
        result.weights = Path(f"{prefix}_iter_{s.iter}.caffemodel")
        result.solverstate = Path(f"{prefix}_iter_{s.iter}.solverstate")
        result.logs = logs
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
    from myPython.nets.data_layers import resize_image, save_region_cache
    from myPython.nets.surgery import load_net
    from myPython.pool.images import load_image
    from myPython.retrieval.grid import rmac_rois

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
        net.blobs["data"].reshape(*data.shape)
        net.blobs["rois"].reshape(*rois.shape)
        net.blobs["data"].data[...] = data
        net.blobs["rois"].data[...] = rois
        feats = net.forward(end=blob)[blob].reshape(len(rois), -1)
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
