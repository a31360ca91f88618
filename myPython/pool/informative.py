"""Uninformative frames: black, blank and flat frames, gradients and title cards.

Such frames look alike in every video, so they must never count as evidence
that two videos share an origin. They are recognised from the descriptors
the store already holds, whatever model made them: a fixed set of synthetic
content-free frames (the "noise set": flat colours, gradients, sensor noise,
text on a plain background) is described with the store's model, and a frame
whose descriptor is close to one of them is uninformative. The closeness
(`background`) also discounts near-blank frames (dark fades) that stay under
the cut-off: the matcher subtracts it from their similarities.

Recomputing from the descriptors (instead of a pixel statistic written at
embed time) keeps the store format unchanged and works on stores embedded
before this module existed; the noise set costs about a hundred forward
passes once per model and settings, cached under the cache folder.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from myPython.common.assets import cache_dir
from myPython.common.fileio import atomic_save_npy

NOISE_SET_VERSION = "4"
MODEL_NOISE_FILE = "noise_descriptors.npy"  # written beside a caffemodel by its build (build/default_model.py)
# (h, w) of the full set: 16:9, 4:3, 1:1 and 9:16 (phones).
SIZES = ((288, 512), (384, 512), (512, 512), (512, 288))
# Plain frames come in every shape from 1:3.2 to 3.2:1 as well: the descriptor of a flat frame depends
# on its exact shape once resized to the long side 512 (the conv borders repeat every 32 pixels, the
# R-MAC grid changes with the aspect), so black comes at every even short side, other levels every 8.
SHORT_SIDES = tuple(range(160, 513, 2))
PLAIN_LEVELS = (128, 255)
GREYS = (0, 12, 32, 64, 96, 128, 160, 192, 224, 255)
CARD_TEXTS = ("THE END", "Chapter 1", "Copyright 2024 All rights reserved", "Subscribe!", "PART II",
              "Directed by", "Episode 12: The return", "Coming soon")
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX)


def _hues(count: int, value: int) -> list[tuple[int, int, int]]:
    """`count` saturated BGR colours of brightness `value` around the hue circle."""
    hsv = np.array([[[int(180 * k / count), 220, value] for k in range(count)]], np.uint8)
    return [tuple(int(c) for c in bgr) for bgr in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0]]


def noise_frames() -> list[np.ndarray]:
    """The synthetic content-free frames (BGR uint8), deterministic."""
    rng = np.random.default_rng(7)
    frames: list[np.ndarray] = []
    for h, w in SIZES:
        colours = [(g, g, g) for g in GREYS] + _hues(6, 110) + _hues(6, 230)
        frames += [np.full((h, w, 3), c, np.uint8) for c in colours]
        ramp = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
        vramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        for lo, hi in ((0, 90), (20, 200), (120, 255)):
            frames.append(np.broadcast_to(lo + (hi - lo) * ramp, (h, w, 3)).astype(np.uint8))
            frames.append(np.broadcast_to(lo + (hi - lo) * vramp, (h, w, 3)).astype(np.uint8))
        for level in (0, 40, 128):
            frames.append(np.clip(level + rng.normal(0, 10, (h, w, 3)), 0, 255).astype(np.uint8))
        for n, text in enumerate(CARD_TEXTS):
            dark = n % 2 == 0
            card = np.full((h, w, 3), 10 if dark else 240, np.uint8)
            font = FONTS[n % len(FONTS)]
            scale = min(2.2, 0.9 * w / max(1, cv2.getTextSize(text, font, 1.0, 2)[0][0]))
            size = cv2.getTextSize(text, font, scale, 2)[0]
            origin = ((w - size[0]) // 2, h // 2 + (n % 3 - 1) * h // 5)
            cv2.putText(card, text, origin, font, scale, (235, 235, 235) if dark else (20, 20, 20), 2, cv2.LINE_AA)
            frames.append(card)
    for short in SHORT_SIDES:
        for h, w in ((short, 512), (512, short))[: 1 if short == 512 else 2]:
            frames.append(np.zeros((h, w, 3), np.uint8))
            if short % 8 == 0:
                frames += [np.full((h, w, 3), level, np.uint8) for level in PLAIN_LEVELS]
                frames.append(np.clip(rng.normal(8, 6, (h, w, 3)), 0, 255).astype(np.uint8))
    return frames


def noise_set_path(model_fingerprint: str, settings_key: str) -> Path:
    digest = hashlib.sha256(f"{NOISE_SET_VERSION}|{model_fingerprint}|{settings_key}".encode()).hexdigest()[:16]
    return cache_dir() / "noise_sets" / f"{digest}.npy"


def noise_descriptors(extractor, model_fingerprint: str) -> np.ndarray:
    """Descriptors of `noise_frames()` with this extractor (cached by model and settings)."""
    path = noise_set_path(model_fingerprint, extractor.key())
    if path.exists():
        return np.load(path)
    vectors = extractor.describe_batch(noise_frames()).astype(np.float32)
    atomic_save_npy(path, vectors)
    return vectors


def model_noise_descriptors(spec, settings_key: str | None) -> np.ndarray | None:
    """Without a network: the noise set's descriptors cached for the model and the settings a store was embedded
    with, else the ones the model's build wrote beside its caffemodel (fp32, its own settings; an int8 store's
    settings differ only by the `_int8` tag, and int8 keeps the descriptors within the gate's cosine), else None.
    """
    fingerprint = spec.fingerprint()
    if settings_key:
        cached = noise_set_path(fingerprint, settings_key)
        if cached.exists():
            return np.load(cached)
    own = spec.settings().key()
    beside = Path(str(spec.weights)).parent / MODEL_NOISE_FILE if spec.weights else None
    if beside is not None and beside.exists() and (settings_key or own).removesuffix("_int8") == own:
        return np.load(beside)
    return None


def background(vectors: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Each row's highest cosine to the noise set (1: a blank frame; low: real content)."""
    if len(vectors) == 0 or len(noise) == 0:
        return np.zeros(len(vectors), np.float32)
    return np.max(np.asarray(vectors, np.float32) @ np.asarray(noise, np.float32).T, axis=1)
