"""Where the embedded default model is installed, and which held-out numbers belong to it. Reads files only.

The model is built at install (`deep-retrieval model build-default`, `myPython.build.default_model`) into a cache
folder named after everything that shapes it: the pinned trunk and the source files of the head, the image
calibration and the video calibration. A change to any of them names a new folder, which the next install fills.

Held-out numbers (`eval-images --record`, `eval-videos --record`) are attached to the model only when they were
measured on this exact build: the same source key, the same weights (sha256) and the same calibration (sha256 of
the sidecar's calibrated entries). Two machines may learn bit-different weights from the same sources, so a
record made on one is never shown as the other's.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from myPython.common import assets
from myPython.errors import ModelError

BUILDER_VERSION = "3"
PACKAGE = Path(__file__).resolve().parents[1]
# What the learned head depends on; what the image side (head + image calibration) depends on; what the video
# calibration depends on. Paths are relative to the package.
HEAD_SOURCES = ["nets/netgen.py", "nets/default_net.py", "retrieval/whitening.py", "build/copy_head.py",
                "build/head_choice.py", "build/engine.py", "datasets/edits.py", "datasets/sources.py",
                "datasets/copies.py", "datasets/rcc.py"]
IMAGE_SOURCES = HEAD_SOURCES + ["build/default_model.py", "build/calibration.py", "pool/verify.py",
                                "pool/rootsift_bits.py", "pool/rootsift_bits.npz", "pool/scoring.py", "pool/groups.py",
                                "pool/shared_content.py", "pool/panel_rows.py", "pool/panel_agreement.py"]
VIDEO_SOURCES = ["build/video_calibration.py", "datasets/video_training.py", "datasets/video_edits.py",
                 "datasets/edits.py", "pool/temporal.py", "pool/informative.py", "pool/video_match.py",
                 "pool/segment_geometry.py", "pool/video.py", "pool/video_panels.py", "pool/video_csv.py"]
# Held-out records, by kind: the file (beside the builder) and the sidecar entries whose values they depend on.
HELDOUT_FILES = {"heldout": PACKAGE / "build" / "default_model_heldout.json",
                 "heldout_videos": PACKAGE / "build" / "default_model_heldout_videos.json"}
NOT_MEASURED = "not measured for this build; run `make eval`"


def _digest(files: list[str]) -> str:
    digest = hashlib.sha256(f"{BUILDER_VERSION}{assets.PACKAGES['nsfw'].sha256}".encode())
    for name in files:
        digest.update((PACKAGE / name).read_bytes())
    return digest.hexdigest()[:12]


def head_key() -> str:
    return f"head-{_digest(HEAD_SOURCES)}"


def image_key() -> str:
    return f"default-{_digest(IMAGE_SOURCES)}"


def build_key() -> str:
    """The folder name of the default model that these sources build."""
    return f"{image_key()}-{_digest(VIDEO_SOURCES)}"


def model_dir() -> Path:
    return assets.cache_dir() / "models" / build_key()


def default_files() -> tuple[Path, Path]:
    """(prototxt, caffemodel) of the installed default model; ModelError when it is not built."""
    out = model_dir()
    proto, weights = out / "deploy.prototxt", out / "default.caffemodel"
    if not (proto.is_file() and weights.is_file() and Path(str(weights) + ".json").is_file()):
        raise ModelError(f"the default model is not built for these sources ({out.name}): run `make install` "
                         "or `deep-retrieval model build-default` (about 15 minutes on 2 cores)")
    return proto, weights


def calibration_digest(entries: dict) -> str:
    """sha256 of calibrated sidecar entries, key order ignored (the identity of a calibration)."""
    return hashlib.sha256(json.dumps(entries, sort_keys=True, default=str).encode()).hexdigest()[:16]


def build_identity(info: dict, kind: str) -> str | None:
    """What a held-out record of `kind` must have been measured on: source key, weights and calibration."""
    parts = [info.get("build"), info.get("weights_sha256"), info.get("image_calibration_sha256")]
    if kind == "heldout_videos":
        parts.append(info.get("video_calibration_sha256"))
    if not all(parts):
        return None
    build = str(parts[0]) if kind == "heldout_videos" else str(parts[0]).rsplit("-", 1)[0]
    return "|".join([build, *map(str, parts[1:])])


def heldout_records(info: dict) -> dict:
    """For each kind, the held-out record measured on this exact build, or NOT_MEASURED."""
    out = {}
    for kind, path in HELDOUT_FILES.items():
        identity = build_identity(info, kind)
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            record = {}
        out[kind] = record if identity is not None and record.get("identity") == identity else NOT_MEASURED
    return out
