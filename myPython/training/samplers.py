"""Training data without Caffe: class folders, image lists, the samplers that draw batches from them
(deterministic per seed), path resolution against the data root and image resizing for fixed-size nets."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from myPython.common.fileio import walk_files
from myPython.common.images import IMAGE_EXTENSIONS

DATA_ROOT_ENV = "DEEP_RETRIEVAL_DATA"
RESIZE_MODES = ("stretch", "crop")


def resolve_path(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> Path:
    """Absolute path: as given if absolute, else under ``root``, $DEEP_RETRIEVAL_DATA or the current dir."""
    p = Path(os.path.expanduser(str(path)))
    if p.is_absolute():
        return p
    base = root if root is not None else os.environ.get(DATA_ROOT_ENV) or os.getcwd()
    return (Path(os.path.expanduser(str(base))) / p).absolute()


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS


@dataclass
class ClassFolders:
    """Sorted class folders that hold images, and their sorted image files."""

    root: Path
    names: list[str]
    files: list[list[Path]]

    @property
    def counts(self) -> list[int]:
        return [len(f) for f in self.files]


def scan_class_folders(cls_dir: str | os.PathLike[str]) -> ClassFolders:
    """Every sub-folder of ``cls_dir`` with at least one image file directly inside is a class.

    Folders are sorted by name (label = position); files other than images and nested folders are ignored.
    """
    root = Path(cls_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"class folder root not found: {root}")
    names, files = [], []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        images = walk_files(sub, IMAGE_EXTENSIONS, recursive=False)
        if images:
            names.append(sub.name)
            files.append(images)
    return ClassFolders(root=root, names=names, files=files)


def _check_classes(counts: Sequence[int], where: str, min_per_class: int = 2) -> None:
    usable = [c for c in counts if c > 0]
    if len(usable) < 2:
        raise ValueError(f"{where}: needs at least 2 classes with images, found {len(usable)}")
    if not any(c >= min_per_class for c in counts):
        raise ValueError(f"{where}: needs a class with at least {min_per_class} images (none has)")


class BinSampler:
    """Endless stream of bins: ``positives`` items of one class + ``negatives`` singles of other classes.

    Items are (class, index) pairs. Each epoch every class with at least two items is cut, after a
    shuffle, into chunks of ``positives`` (a short last chunk, or a small class, is padded with other
    items of the class, repeating when the class is too small); each chunk gets its negatives from
    distinct other classes (classes repeat only when there are fewer other classes than negatives);
    the bins of an epoch are shuffled.
    """

    def __init__(self, counts: Sequence[int], positives: int, negatives: int, seed: int = 0,
                 where: str = "BinSampler") -> None:
        if positives < 2 or negatives < 1:
            raise ValueError(f"{where}: a bin needs >= 2 positives and >= 1 negative, got {positives}+{negatives}")
        _check_classes(counts, where)
        self.counts = [int(c) for c in counts]
        self.positives, self.negatives = positives, negatives
        self.rng = np.random.default_rng(seed)
        self.epoch = 0
        self._queue: list[list[tuple[int, int]]] = []

    def _bin(self, cls: int, chunk: np.ndarray) -> list[tuple[int, int]]:
        n = self.counts[cls]
        if len(chunk) < self.positives:
            rest = np.setdiff1d(np.arange(n), chunk)
            need = self.positives - len(chunk)
            extra = self.rng.choice(rest, min(need, len(rest)), replace=False) if len(rest) else np.zeros(0, int)
            if len(extra) < need:
                extra = np.concatenate([extra, self.rng.choice(n, need - len(extra), replace=True)])
            chunk = np.concatenate([chunk, extra])
        items = [(cls, int(i)) for i in chunk]
        others = np.array([c for c, k in enumerate(self.counts) if k > 0 and c != cls])
        if len(others) >= self.negatives:
            picked = self.rng.choice(others, self.negatives, replace=False)
        else:
            extra = self.rng.choice(others, self.negatives - len(others), replace=True)
            picked = np.concatenate([self.rng.permutation(others), extra])
        items += [(int(c), int(self.rng.integers(self.counts[c]))) for c in picked]
        return items

    def _new_epoch(self) -> None:
        bins = []
        for cls, n in enumerate(self.counts):
            if n < 2:
                continue
            order = self.rng.permutation(n)
            for start in range(0, n, self.positives):
                bins.append(self._bin(cls, order[start : start + self.positives]))
        self._queue = [bins[i] for i in self.rng.permutation(len(bins))]
        self.epoch += 1

    def next(self) -> list[tuple[int, int]]:
        if not self._queue:
            self._new_epoch()
        return self._queue.pop(0)


class TripletSampler:
    """Endless stream of (anchor, positive, negative) items over shuffled epochs of anchors.

    Anchors: every item of a class with at least 2 items; positive: another item of that class;
    negative: an item of a random other class (independently for each triplet).
    """

    def __init__(self, counts: Sequence[int], seed: int = 0, where: str = "TripletSampler") -> None:
        _check_classes(counts, where)
        self.counts = [int(c) for c in counts]
        self.rng = np.random.default_rng(seed)
        self.anchors = [(c, i) for c, n in enumerate(self.counts) if n >= 2 for i in range(n)]
        self.epoch = 0
        self._queue: list[tuple[int, int]] = []

    def next(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        if not self._queue:
            self._queue = [self.anchors[i] for i in self.rng.permutation(len(self.anchors))]
            self.epoch += 1
        cls, i = self._queue.pop(0)
        j = int(self.rng.integers(self.counts[cls] - 1))
        j += j >= i
        others = [c for c, n in enumerate(self.counts) if n > 0 and c != cls]
        neg = int(others[int(self.rng.integers(len(others)))])
        return (cls, i), (cls, j), (neg, int(self.rng.integers(self.counts[neg])))

    def batch(self, size: int) -> list[tuple[tuple[int, int], tuple[int, int], tuple[int, int]]]:
        return [self.next() for _ in range(size)]


class ListSampler:
    """Endless stream of shuffled (or ordered) epochs over ``count`` rows."""

    def __init__(self, count: int, shuffle: bool = True, seed: int = 0) -> None:
        if count < 1:
            raise ValueError("ListSampler: the list is empty")
        self.count, self.shuffle = count, shuffle
        self.rng = np.random.default_rng(seed)
        self.epoch = 0
        self._queue: list[int] = []

    def next(self) -> int:
        if not self._queue:
            order = self.rng.permutation(self.count) if self.shuffle else np.arange(self.count)
            self._queue = [int(i) for i in order]
            self.epoch += 1
        return self._queue.pop(0)

    def batch(self, size: int) -> list[int]:
        return [self.next() for _ in range(size)]


def resize_image(image: np.ndarray, height: int, width: int, mode: str = "stretch") -> np.ndarray:
    """BGR uint8 image resized to exactly height x width (``crop``: keep aspect, cover, centre-crop)."""
    h, w = image.shape[:2]
    if mode == "crop":
        scale = max(height / h, width / w)
        nh, nw = max(height, int(round(h * scale))), max(width, int(round(w * scale)))
        if (nh, nw) != (h, w):
            image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
        y0, x0 = (nh - height) // 2, (nw - width) // 2
        return np.ascontiguousarray(image[y0 : y0 + height, x0 : x0 + width])
    if mode != "stretch":
        raise ValueError(f"resize must be one of {RESIZE_MODES}, got {mode!r}")
    if (h, w) == (height, width):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


def iter_class_images(cls_dir: str | os.PathLike[str]) -> Iterator[tuple[int, Path]]:
    """(label, path) of every image of a class-folder tree, in label then file order."""
    classes = scan_class_folders(cls_dir)
    for label, files in enumerate(classes.files):
        for path in files:
            yield label, path
