"""Python data layers for training (`python_param { module: 'custom_layers' layer: '...' }`).

Image layers read class folders (one sub-folder per class, any folder names; labels are the index of the
class in the sorted list of folders that hold images) or image lists, decode any image size and resize it
to the net input (``height`` x ``width``), subtract a BGR mean and serve B x 3 x H x W batches:

* `BinDataLayer` -- batches for the lifted-structure loss: B//2 images of one class plus B - B//2
  single images of other classes; tops ``data`` and ``label`` (B integer class labels).
* `BinDataWithoutLabelLayer` -- the same with B//2 + 1 images of one class and no label top (pair losses).
* `TripletDataLayer` -- tops anchor, positive, negative (each B x 3 x H x W): every image of a class with
  at least two images is an anchor once per epoch; positive = another image of its class; negative = an
  image of a random other class (drawn per triplet).
* `ImageListDataLayer` -- a list file of ``"<file> <label>"`` lines (the teacher export list of
  `myPython.training.convert`, whose label is the row of ``features.npy``); tops ``data`` and ``label``.
* `RegionFeatureDataLayer` -- cached regional features (see `save_region_cache`) for fast head-only
  training: tops ``pooled_rois/normalized`` (sum of R x C x 1 x 1), ``rois`` (column 0 = batch index) and
  ``label``; batches drawn like `BinDataLayer` (``sampler: bin``) or shuffled rows (``sampler: list``).

Common param_str keys (YAML mapping): ``batch_size``, ``cls_dir`` (or ``source`` + ``root`` for lists),
``height``, ``width``, ``mean`` (3 BGR floats; ``raw: true`` serves 0-255 pixels without mean, as the
teacher's ResizeLayer expects), ``seed`` (default 0), ``resize`` (``stretch`` = exact resize, default;
``crop`` = keep the aspect ratio, cover and centre-crop), ``mirror`` (random horizontal flips),
``cache`` (keep decoded, resized images in memory), ``root``. Relative paths resolve against ``root``,
else the ``DEEP_RETRIEVAL_DATA`` environment variable, else the current directory (`myPython.training.train`
runs Caffe inside the data root). Sampling is deterministic for a given seed (a private generator; the
global ``random`` state is never touched). Batches are drawn from an endless stream of shuffled epochs,
so classes with fewer images than B//2 are padded with repeats instead of being skipped, and nothing
loops forever; fewer than two usable classes is an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import caffe
import numpy as np

from myPython.common.images import load_image
from myPython.nets.param_str import parse_param_str
from myPython.rmac.preparation import MODEL_MEAN_BGR
from myPython.training.samplers import (
    RESIZE_MODES,
    BinSampler,
    ListSampler,
    TripletSampler,
    resize_image,
    resolve_path,
    scan_class_folders,
)

__all__ = [
    "BinDataLayer",
    "BinDataWithoutLabelLayer",
    "ImageListDataLayer",
    "RegionFeatureDataLayer",
    "TripletDataLayer",
]


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------


def _params(layer: caffe.Layer, allowed: Iterable[str], required: Iterable[str] = ()) -> dict[str, Any]:
    return parse_param_str(layer.param_str, type(layer).__name__, allowed, required)


IMAGE_KEYS = ("batch_size", "height", "width", "mean", "raw", "seed", "resize", "mirror", "cache", "root")


class _ImageDataLayer(caffe.Layer):
    """Shared image handling: decode, resize, flip, mean; an optional in-memory cache."""

    tops: int = 2
    min_batch: int = 1
    extra_keys: tuple[str, ...] = ()
    required_keys: tuple[str, ...] = ("batch_size", "height", "width")

    def setup(self, bottom: Sequence, top: Sequence) -> None:
        name = type(self).__name__
        if len(bottom) != 0 or len(top) != self.tops:
            raise ValueError(f"{name}: expected 0 bottoms and {self.tops} tops, got {len(bottom)} and {len(top)}")
        p = _params(self, IMAGE_KEYS + self.extra_keys, self.required_keys)
        self.params = p
        self.batch_size = int(p["batch_size"])
        if self.batch_size < self.min_batch:
            raise ValueError(f"{name}: batch_size must be >= {self.min_batch}, got {self.batch_size}")
        self.height, self.width = int(p["height"]), int(p["width"])
        if self.height < 1 or self.width < 1:
            raise ValueError(f"{name}: height and width must be positive, got {self.height}x{self.width}")
        self.raw = bool(p.get("raw", False))
        mean = np.asarray(p.get("mean", MODEL_MEAN_BGR), dtype=np.float32).reshape(-1)
        if mean.size != 3:
            raise ValueError(f"{name}: mean must hold 3 BGR values, got {p.get('mean')!r}")
        self.mean = np.zeros(3, np.float32) if self.raw else mean
        self.resize_mode = str(p.get("resize", "stretch"))
        if self.resize_mode not in RESIZE_MODES:
            raise ValueError(f"{name}: resize must be one of {RESIZE_MODES}, got {self.resize_mode!r}")
        self.mirror = bool(p.get("mirror", False))
        self.seed = int(p.get("seed", 0))
        self.flip_rng = np.random.default_rng([self.seed, 1])
        self.cache: dict[Path, np.ndarray] | None = {} if p.get("cache", False) else None
        self.root = p.get("root")
        self.setup_source(p)

    def setup_source(self, p: dict[str, Any]) -> None:
        raise NotImplementedError

    def image(self, path: Path) -> np.ndarray:
        """Resized BGR uint8 image (cached when asked)."""
        if self.cache is not None and path in self.cache:
            return self.cache[path]
        image = resize_image(load_image(path), self.height, self.width, self.resize_mode)
        if self.cache is not None:
            self.cache[path] = image
        return image

    def fill(self, blob: np.ndarray, paths: Sequence[Path]) -> None:
        for k, path in enumerate(paths):
            image = self.image(path)
            if self.mirror and self.flip_rng.random() < 0.5:
                image = image[:, ::-1]
            blob[k] = (image.astype(np.float32) - self.mean).transpose(2, 0, 1)

    def reshape(self, bottom: Sequence, top: Sequence) -> None:
        pass  # fixed shapes, set in setup

    def backward(self, top: Sequence, propagate_down: Sequence[bool], bottom: Sequence) -> None:
        pass  # no bottoms

    def image_shape(self) -> tuple[int, int, int, int]:
        return (self.batch_size, 3, self.height, self.width)


class _ClassFolderLayer(_ImageDataLayer):
    extra_keys = ("cls_dir",)
    required_keys = ("batch_size", "height", "width", "cls_dir")

    def setup_source(self, p: dict[str, Any]) -> None:
        self.cls_dir = resolve_path(p["cls_dir"], self.root)
        self.classes = scan_class_folders(self.cls_dir)
        self.where = f"{type(self).__name__} ({self.cls_dir})"


class BinDataLayer(_ClassFolderLayer):
    """Lifted-structure batches: tops data (B x 3 x H x W) and label (B class indices), B >= 4."""

    min_batch = 4
    label_top = True

    def bin_sizes(self) -> tuple[int, int]:
        pos = self.batch_size // 2
        return pos, self.batch_size - pos

    def setup(self, bottom: Sequence, top: Sequence) -> None:
        self.tops = 2 if self.label_top else 1
        super().setup(bottom, top)
        pos, neg = self.bin_sizes()
        self.sampler = BinSampler(self.classes.counts, pos, neg, self.seed, self.where)
        top[0].reshape(*self.image_shape())
        if self.label_top:
            top[1].reshape(self.batch_size)

    def forward(self, bottom: Sequence, top: Sequence) -> None:
        items = self.sampler.next()
        self.fill(top[0].data, [self.classes.files[c][i] for c, i in items])
        if self.label_top:
            top[1].data[...] = [c for c, _ in items]


class BinDataWithoutLabelLayer(BinDataLayer):
    """Pair-loss batches: B//2 + 1 images of one class + singles of other classes; one top (data), B >= 3."""

    min_batch = 3
    label_top = False

    def bin_sizes(self) -> tuple[int, int]:
        pos = self.batch_size // 2 + 1
        return pos, self.batch_size - pos


class TripletDataLayer(_ClassFolderLayer):
    """Triplet batches: tops anchor, positive, negative (each B x 3 x H x W); optional 4th top label (B)."""

    def setup(self, bottom: Sequence, top: Sequence) -> None:
        self.tops = len(top) if len(top) in (3, 4) else 3
        super().setup(bottom, top)
        self.sampler = TripletSampler(self.classes.counts, self.seed, self.where)
        for k in range(3):
            top[k].reshape(*self.image_shape())
        if len(top) == 4:
            top[3].reshape(self.batch_size)

    def forward(self, bottom: Sequence, top: Sequence) -> None:
        triplets = self.sampler.batch(self.batch_size)
        for slot in range(3):
            self.fill(top[slot].data, [self.classes.files[t[slot][0]][t[slot][1]] for t in triplets])
        if len(top) == 4:
            top[3].data[...] = [t[0][0] for t in triplets]


def read_image_list(path: Path) -> list[tuple[str, float]]:
    """Lines ``"<file> <label>"`` (the file name may contain spaces; the label is the last token)."""
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        name, _, label = line.rpartition(" ")
        try:
            rows.append((name.strip(), float(label)))
        except ValueError:
            raise ValueError(f"{path}:{number}: expected '<file> <label>', got {line!r}") from None
        if not name.strip():
            raise ValueError(f"{path}:{number}: expected '<file> <label>', got {line!r}")
    return rows


class ImageListDataLayer(_ImageDataLayer):
    """Images of a ``"<file> <label>"`` list: tops data (B x 3 x H x W) and label (B).

    Extra keys: ``source`` (the list), ``images`` (folder of the files; default: the list's folder),
    ``shuffle`` (default true; each epoch reshuffled with the seed).
    """

    extra_keys = ("source", "images", "shuffle")
    required_keys = ("batch_size", "height", "width", "source")

    def setup_source(self, p: dict[str, Any]) -> None:
        self.source = resolve_path(p["source"], self.root)
        if not self.source.is_file():
            raise FileNotFoundError(f"ImageListDataLayer: list not found: {self.source}")
        folder = resolve_path(p["images"], self.root) if "images" in p else self.source.parent
        self.rows = [(folder / name, label) for name, label in read_image_list(self.source)]
        if not self.rows:
            raise ValueError(f"ImageListDataLayer: {self.source} lists no images")
        self.sampler = ListSampler(len(self.rows), bool(p.get("shuffle", True)), self.seed)

    def setup(self, bottom: Sequence, top: Sequence) -> None:
        super().setup(bottom, top)
        top[0].reshape(*self.image_shape())
        top[1].reshape(self.batch_size)

    def forward(self, bottom: Sequence, top: Sequence) -> None:
        rows = [self.rows[i] for i in self.sampler.batch(self.batch_size)]
        self.fill(top[0].data, [path for path, _ in rows])
        top[1].data[...] = [label for _, label in rows]


# --------------------------------------------------------------------------------------------
# Cached regional features
# --------------------------------------------------------------------------------------------


def save_region_cache(path: str | os.PathLike[str], regions: Sequence[np.ndarray], labels: Sequence[int]) -> Path:
    """Write per-image regional features (each R_i x C) and labels to an .npz for RegionFeatureDataLayer."""
    if len(regions) != len(labels) or not regions:
        raise ValueError("save_region_cache: one label per image and at least one image are needed")
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in regions])]).astype(np.int64)
    stacked = np.concatenate([np.asarray(r, np.float32).reshape(len(r), -1) for r in regions])
    path = Path(path)
    np.savez(path, regions=stacked, offsets=offsets, labels=np.asarray(labels, dtype=np.int64))
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


class RegionFeatureDataLayer(caffe.Layer):
    """Batches of cached regional features (the input of the R-MAC head after ROI pooling + L2).

    param_str: ``features`` (.npz from `save_region_cache`: regions, offsets, labels), ``batch_size``,
    ``sampler`` (``bin``: B//2 of one class + singles, like BinDataLayer; ``bin_without_label``;
    ``list``: shuffled rows), ``seed``, ``root``. Tops: regions (sum R x C x 1 x 1), rois (sum R x 5,
    column 0 = batch index, for AggregateLayer) and label (B; class labels, or the row for ``list``
    samplers when the cache's labels are row numbers).
    """

    SAMPLERS = ("bin", "bin_without_label", "list")

    def setup(self, bottom: Sequence, top: Sequence) -> None:
        if len(bottom) != 0 or len(top) not in (2, 3):
            raise ValueError("RegionFeatureDataLayer: expected 0 bottoms and 2 or 3 tops (regions, rois[, label])")
        p = _params(self, ("features", "batch_size", "sampler", "seed", "root"), ("features", "batch_size"))
        self.path = resolve_path(p["features"], p.get("root"))
        if not self.path.is_file():
            raise FileNotFoundError(f"RegionFeatureDataLayer: features not found: {self.path}")
        with np.load(self.path) as cache:
            self.regions = np.ascontiguousarray(cache["regions"], dtype=np.float32)
            self.offsets = cache["offsets"].astype(np.int64)
            self.labels = cache["labels"].astype(np.int64)
        self.batch_size = int(p["batch_size"])
        kind = str(p.get("sampler", "bin"))
        seed = int(p.get("seed", 0))
        where = f"RegionFeatureDataLayer ({self.path})"
        if kind == "list":
            self.sampler: Any = ListSampler(len(self.labels), True, seed)
            self.draw = lambda: self.sampler.batch(self.batch_size)
        elif kind in ("bin", "bin_without_label"):
            classes = np.unique(self.labels)
            self.members = [np.nonzero(self.labels == c)[0] for c in classes]
            pos = self.batch_size // 2 + (kind == "bin_without_label")
            self.sampler = BinSampler([len(m) for m in self.members], pos, self.batch_size - pos, seed, where)
            self.draw = lambda: [int(self.members[c][i]) for c, i in self.sampler.next()]
        else:
            raise ValueError(f"RegionFeatureDataLayer: sampler must be one of {self.SAMPLERS}, got {kind!r}")
        self.batch: list[int] | None = None

    def reshape(self, bottom: Sequence, top: Sequence) -> None:
        # Caffe reshapes before every forward: draw the next batch only once the previous one was served.
        if self.batch is None:
            self.batch = self.draw()
        sizes = [int(self.offsets[i + 1] - self.offsets[i]) for i in self.batch]
        top[0].reshape(sum(sizes), self.regions.shape[1], 1, 1)
        top[1].reshape(sum(sizes), 5)
        # The rois are known now: fill them so that later layers size themselves right at set-up too.
        top[1].data[...] = 0
        top[1].data[:, 0] = np.repeat(np.arange(len(sizes)), sizes)
        if len(top) == 3:
            top[2].reshape(self.batch_size)

    def forward(self, bottom: Sequence, top: Sequence) -> None:
        if self.batch is None:
            self.reshape(bottom, top)
        index = np.concatenate([np.arange(self.offsets[i], self.offsets[i + 1]) for i in self.batch])
        top[0].data[...] = self.regions[index].reshape(top[0].data.shape)
        if len(top) == 3:
            top[2].data[...] = self.labels[self.batch]
        self.batch = None

    def backward(self, top: Sequence, propagate_down: Sequence[bool], bottom: Sequence) -> None:
        pass
