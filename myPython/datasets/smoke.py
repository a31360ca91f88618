"""The small same-origin set of the CPU smoke runs and the learning test: class folders of edited views
of the shipped photos (scikit-image and perception test images), written by
``deep-retrieval train --make-smoke-data DIR``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def center_fit(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """The centred crop of `image` with the aspect of height x width, resized to it."""
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
    ok, buffer = cv2.imencode(".jpg", center_fit(random_copy(image, rng), h, w), [cv2.IMWRITE_JPEG_QUALITY, 90])
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
    from myPython.common.images import load_image

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
            base = center_fit(image[:, x0:x0 + span], height, width)
            folder = dirs[split] / f"{path.stem}_{v}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                (folder / f"{i:02d}.jpg").write_bytes(edit_image(base, rng))
    return dirs
