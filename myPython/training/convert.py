"""Teacher export: descriptors of an image folder -> ``features.npy`` plus the original's index lists.

  deep-retrieval convert --proto TEACHER.prototxt --weights TEACHER.caffemodel --img-dir DIR \\
      --features-npy features.npy --features-txt list.txt [--index-txt index.txt] [--cpu | --gpu G]

* With a teacher net (no ``rois`` input; e.g. from ``model_tools teacher``) every image is fed as raw BGR
  0-255 pixels at its own size (the teacher's ResizeLayers resize and subtract the mean) and the output is
  ``rmac/eltwise/normalized`` (the sum of the three resolutions, renormalised).
* With a single-resolution deploy net (it has ``rois``) the descriptor is the multi-resolution one of
  `DescriptorExtractor` over ``--scales`` (default 256,512,768: long sides), summed and renormalised.

Outputs: ``features.npy`` (float32, N x D, row i = i-th image in sorted file-name order),
``--features-txt``: ``"<file name> <row>"`` lines in a seeded shuffled order (the training list of
`ImageListDataLayer`, whose label is the row of ``features.npy`` read by `FeatureLayer`), and
``--index-txt``: ``"<row>\\t<stem>"`` lines in row order.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from myPython.common.fileio import atomic_save_npy, atomic_write_text, walk_files  # noqa: E402
from myPython.common.images import IMAGE_EXTENSIONS, load_image  # noqa: E402
from myPython.nets.runtime import feed_net  # noqa: E402

TEACHER_OUTPUT = "rmac/eltwise/normalized"


def list_images(img_dir: str | os.PathLike[str], recursive: bool = False) -> list[Path]:
    """Image files of a folder, sorted by their path relative to it."""
    root = Path(img_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    files = sorted(walk_files(root, IMAGE_EXTENSIONS, recursive=recursive),
                   key=lambda p: p.relative_to(root).as_posix())
    if not files:
        raise ValueError(f"no images in {root}")
    return files


def teacher_descriptors(net, images: Sequence[Path], output: str = TEACHER_OUTPUT, batch: int = 8) -> np.ndarray:
    """Raw BGR images (each at its own size; equal sizes share a forward) through a teacher net."""
    if output not in net.blobs:
        raise ValueError(f"the teacher net has no blob {output!r}")
    rows: list[np.ndarray | None] = [None] * len(images)
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    arrays = {}
    for i, path in enumerate(images):
        arrays[i] = load_image(path)
        groups[arrays[i].shape].append(i)
    for members in groups.values():
        for start in range(0, len(members), batch):
            idx = members[start:start + batch]
            data = np.stack([arrays[i].astype(np.float32).transpose(2, 0, 1) for i in idx])
            out = feed_net(net, data, end=output).reshape(len(idx), -1)
            for k, i in enumerate(idx):
                rows[i] = out[k].copy()
            for i in idx:
                arrays.pop(i)
    return np.stack(rows).astype(np.float32)


def write_outputs(features: np.ndarray, names: Sequence[str], features_npy: str | os.PathLike[str],
                  features_txt: str | os.PathLike[str] | None = None, index_txt: str | os.PathLike[str] | None = None,
                  seed: int = 0) -> None:
    """features.npy, the shuffled ``"<name> <row>"`` list and the ordered ``"<row>\\t<stem>"`` index."""
    for path in (features_npy, features_txt, index_txt):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_save_npy(features_npy, np.ascontiguousarray(features, dtype=np.float32))
    if features_txt:
        order = np.random.default_rng(seed).permutation(len(names))
        atomic_write_text(features_txt, "".join(f"{names[i]} {i}\n" for i in order))
    if index_txt:
        atomic_write_text(index_txt, "".join(f"{i}\t{Path(name).stem}\n" for i, name in enumerate(names)))


def convert(proto: str | os.PathLike[str], weights: str | os.PathLike[str], img_dir: str | os.PathLike[str],
            features_npy: str | os.PathLike[str], features_txt: str | os.PathLike[str] | None = None,
            index_txt: str | os.PathLike[str] | None = None, output: str | None = None,
            scales: Sequence[int] = (256, 512, 768), levels: int | None = None,
            mean: Sequence[float] | None = None, gpu: int | None = None, seed: int = 0, batch: int = 8,
            recursive: bool = False) -> np.ndarray:
    """Export the descriptors of every image of ``img_dir``; returns the N x D array."""
    from myPython.nets.runtime import set_device
    from myPython.nets.surgery import load_net

    images = list_images(img_dir, recursive)
    names = [p.relative_to(Path(img_dir)).as_posix() for p in images]
    set_device(gpu)
    net = load_net(proto, weights)
    if "rois" not in net.blobs or "rois" not in net.inputs:
        features = teacher_descriptors(net, images, output or TEACHER_OUTPUT, batch)
    else:
        from dataclasses import replace

        from myPython.retrieval.engines import CaffeEngine
        from myPython.retrieval.extractor import DescriptorExtractor
        from myPython.retrieval.models import load_model

        spec = load_model(proto, weights)
        settings = spec.settings(L=levels, scales=tuple(int(s) for s in scales))
        if mean is not None:
            settings = replace(settings, mean_bgr=tuple(float(m) for m in mean))
        extractor = DescriptorExtractor(CaffeEngine.from_net(net, output or spec.output), settings, batch)
        features = extractor.describe_all(images)
    write_outputs(features, names, features_npy, features_txt, index_txt, seed)
    return features
