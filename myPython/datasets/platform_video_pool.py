"""A pool of platform-edited training videos, to measure video matching by edit kind (training sources only).

The moving originals of the video calibration's training pool (datasets/video_training.py), each with
PLATFORM_EDITS_PER_SOURCE edits of `platform_video_edits` (every edit of every family in turn over the
sources, families alternating, so that all 35 are used), and SHARED_TEMPLATES: pairs of different sources
under one overlay template (the same pixels around both: different origins, the hard negatives of shared
overlays). The files are deterministic and cached under a key of the code that makes them.

This pool is for studies (bench/platform_video_study.py); the calibration does not fit on it: on it, a
scorer fitted with these videos too found no more copies at its precision target than the one fitted on
the training pool alone.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from myPython.common import assets
from myPython.datasets.video_edits import DEFAULT_BITRATE, FPS, Clip, Piece, write_pool

POOL_VERSION = "1"
PLATFORM_EDITS_PER_SOURCE = 4
PLATFORM_SEED = 20261207
# Pairs of different sources under one overlay template (platform_video_edits class, source, source).
SHARED_TEMPLATES = (("AppChrome", "bikes", "pan_astronaut"), ("AppChrome", "pan_coffee", "room_take1"),
                    ("Watermark", "v2", "pan_rocket"), ("Sticker", "scene_take1", "pan_chelsea"),
                    ("MemeText", "carphone_pristine", "pan_camera"))
# Second takes of a recorded scene are the first take's hard negatives in the training pool: not edited there.
UNEDITED = ("scene_take2", "visit_take2")


def interleaved_edits() -> list[tuple[str, str]]:
    """(family, edit) of every platform video edit, families taking turns (consecutive ones differ)."""
    from myPython.datasets.platform_video_edits import VIDEO_FAMILIES

    columns = [[(family, name) for name in names] for family, names in VIDEO_FAMILIES.items()]
    return [col[k] for k in range(max(map(len, columns))) for col in columns if k < len(col)]


def _as_video(clip: Clip):
    from myPython.datasets.platform_video_edits import Video

    return Video(list(clip.frames), FPS, list(clip.pieces), np.eye(3))


def platform_copies(sources: dict[str, Clip], names: list[str], per_source: int = PLATFORM_EDITS_PER_SOURCE
                    ) -> dict[str, tuple[Clip, int]]:
    """File name -> (clip, bit rate): `per_source` platform edits of each of `names` (at most one of each kind)
    and the shared-template negatives."""
    from myPython.datasets import platform_video_edits as pv

    edits = interleaved_edits()
    out: dict[str, tuple[Clip, int]] = {}
    for k, name in enumerate(names):
        for j in range(min(per_source, len(edits))):
            family, edit = edits[(k * per_source + j) % len(edits)]
            rng = np.random.default_rng([PLATFORM_SEED, k, j])
            out[f"{name}_pf_{edit}.mp4"] = (pv.apply_video(_as_video(sources[name]), family, edit, rng).clip(),
                                           DEFAULT_BITRATE)
    for n, (template, *pair) in enumerate(SHARED_TEMPLATES):
        shared = getattr(pv, template).random(np.random.default_rng([PLATFORM_SEED, 1000 + n]))
        for name in pair:
            out[f"{name}_shared{n}.mp4"] = (pv.overlay(_as_video(sources[name]), shared).clip(), DEFAULT_BITRATE)
    return out


def kind_of(video: str) -> str:
    """The platform edit a file name of this pool carries ('original', or 'shared_template')."""
    match = re.search(r"_pf_(.+)\.mp4$", video)
    if match:
        return match.group(1)
    return "shared_template" if re.search(r"_shared\d+\.mp4$", video) else "original"


def pool_key() -> str:
    here = Path(__file__).parent
    digest = hashlib.sha256(POOL_VERSION.encode())
    for name in ("platform_video_pool.py", "video_training.py", "video_edits.py", "edits.py", "platform_edits.py",
                 "platform_video_edits.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:12]


def platform_pool(per_source: int = PLATFORM_EDITS_PER_SOURCE) -> tuple[Path, dict[str, list[Piece]]]:
    """The pool's folder (written on first use, cached by `pool_key` and `per_source`, the edits of each source)
    and the pieces of its videos."""
    from myPython.datasets.video_training import training_sources

    suffix = "" if per_source == PLATFORM_EDITS_PER_SOURCE else f"-{per_source}"
    root = assets.cache_dir() / "platform_video_pool" / f"pool-{pool_key()}{suffix}"
    sources = {name: clip for name, clip in training_sources().items() if not name.startswith("still_")}
    clips = {f"{name}.mp4": (clip, DEFAULT_BITRATE) for name, clip in sources.items()}
    clips.update(platform_copies(sources, [n for n in sorted(sources) if n not in UNEDITED], per_source))
    root.mkdir(parents=True, exist_ok=True)
    return root, write_pool(root, clips)
