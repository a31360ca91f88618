"""The project's one generator of edited copies (same-origin positives), deterministic by seed.

Six kinds of copy, the ones that turn up in pools of re-posted photos and videos:

    crop                      a random window of 45-85 % of each side
    small_jpeg                rescaled to 1/4 .. 1/2 and re-compressed at JPEG quality 12-30
    rotate_colour             rotated 4-15 degrees (cropped to fill), brightness, contrast, hue, saturation
    mirror_letterbox_caption  mirrored, letterboxed or pillarboxed to another aspect ratio, a caption strip
    blur_logo                 Gaussian blur and a semi-transparent logo with text in a corner
    reencode                  a frame of a short clip made from the image, encoded with libx264 at a low bitrate

`apply_edit(image, kind, seed)` makes one; `random_copy(image, rng)` chains random operations
for training-time augmentation. Training, validation, calibration, the demo and the held-out
evaluation all use these functions (with different seeds and photos).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

EDIT_KINDS = ("crop", "small_jpeg", "rotate_colour", "mirror_letterbox_caption", "blur_logo", "reencode")
CAPTIONS = ("BREAKING NEWS", "LIVE", "WOW", "TOP 10", "EXCLUSIVE", "REPLAY", "HD 2018", "VIDEO", "FOLLOW ME")


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode with JPEG at the given quality."""
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(buffer, cv2.IMREAD_COLOR)


def crop(image: np.ndarray, rng: np.random.Generator, low: float = 0.45, high: float = 0.85) -> np.ndarray:
    h, w = image.shape[:2]
    ch, cw = max(8, int(h * rng.uniform(low, high))), max(8, int(w * rng.uniform(low, high)))
    y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return np.ascontiguousarray(image[y0 : y0 + ch, x0 : x0 + cw])


def center_crop(image: np.ndarray, keep: float) -> np.ndarray:
    h, w = image.shape[:2]
    dh, dw = int(h * (1 - keep) / 2), int(w * (1 - keep) / 2)
    return np.ascontiguousarray(image[dh : h - dh, dw : w - dw])


def rescale(image: np.ndarray, factor: float) -> np.ndarray:
    h, w = image.shape[:2]
    size = (max(8, int(round(w * factor))), max(8, int(round(h * factor))))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interpolation)


def small_jpeg(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return jpeg(rescale(image, rng.uniform(0.25, 0.5)), int(rng.integers(12, 31)))


def colour(image: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Hue shift, saturation, contrast and brightness changes."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + strength * rng.uniform(-15, 15)) % 180
    hsv[..., 1] *= 1 + strength * rng.uniform(-0.5, 0.5)
    out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    contrast, brightness = 1 + strength * rng.uniform(-0.3, 0.3), strength * rng.uniform(-35, 35)
    out = (out - 128) * contrast + 128 + brightness
    return np.clip(out, 0, 255).astype(np.uint8)


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate about the centre and zoom just enough that no border shows."""
    h, w = image.shape[:2]
    a = np.deg2rad(abs(degrees))
    zoom = max((w * np.cos(a) + h * np.sin(a)) / w, (w * np.sin(a) + h * np.cos(a)) / h)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, zoom)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def rotate_colour(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    degrees = rng.uniform(4, 15) * rng.choice([-1, 1])
    return colour(rotate(image, degrees), rng)


def mirror(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image[:, ::-1])


def letterbox(image: np.ndarray, aspect: float, value: int = 0) -> np.ndarray:
    """Pad with bars of `value` to the aspect ratio width / height."""
    h, w = image.shape[:2]
    if w / h < aspect:
        pad = int(round(h * aspect)) - w
        widths = ((0, 0), (pad // 2, pad - pad // 2), (0, 0))
    else:
        pad = int(round(w / aspect)) - h
        widths = ((pad // 2, pad - pad // 2), (0, 0), (0, 0))
    return np.pad(image, widths, constant_values=value)


def caption(image: np.ndarray, text: str, band_fraction: float = 0.12, darken: float = 0.3) -> np.ndarray:
    """A darkened strip at the bottom with white text."""
    out = image.copy()
    h, w = out.shape[:2]
    band = max(12, int(h * band_fraction))
    out[h - band :] = (out[h - band :] * darken).astype(np.uint8)
    scale = band / 32.0
    (tw, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, int(scale * 2)))
    if tw > w * 0.9:
        scale *= w * 0.9 / tw
    cv2.putText(out, text, (band // 3, h - band // 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                max(1, int(scale * 2)), cv2.LINE_AA)
    return out


def mirror_letterbox_caption(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape[:2]
    aspect = float(rng.choice([16 / 9, 4 / 3, 1.0, 9 / 16]))
    if abs(aspect - w / h) < 0.15:
        aspect = aspect * 1.4 if w / h >= 1 else aspect / 1.4
    boxed = letterbox(mirror(image), aspect, int(rng.integers(0, 40)))
    return caption(boxed, str(rng.choice(CAPTIONS)), rng.uniform(0.08, 0.14))


def overlay_logo(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A semi-transparent rounded box with a short word, 12-22 % of the width, in a random corner."""
    out = image.copy()
    h, w = out.shape[:2]
    lw = max(16, int(w * rng.uniform(0.12, 0.22)))
    lh = max(10, lw // 2)
    x0 = int(rng.choice([0.03 * w, w - lw - 0.03 * w]))
    y0 = int(rng.choice([0.03 * h, h - lh - 0.03 * h]))
    logo = out.copy()
    colour_ = tuple(int(c) for c in rng.integers(0, 256, 3))
    cv2.rectangle(logo, (x0, y0), (x0 + lw, y0 + lh), colour_, -1)
    cv2.circle(logo, (x0 + lh // 2, y0 + lh // 2), max(2, lh // 3), (255, 255, 255), -1)
    scale = lh / 40.0
    cv2.putText(logo, str(rng.choice(["TV", "HD", "NEWS", "GIF"])), (x0 + lh, y0 + int(lh * 0.7)),
                cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), max(1, int(scale * 2)), cv2.LINE_AA)
    alpha = rng.uniform(0.55, 0.85)
    return cv2.addWeighted(logo, alpha, out, 1 - alpha, 0)


def blur_logo(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma = rng.uniform(1.2, 3.0) * max(image.shape[:2]) / 640
    return overlay_logo(cv2.GaussianBlur(image, (0, 0), sigma), rng)


def write_video(path: str | os.PathLike, frames: Sequence[np.ndarray], fps: float, bitrate: int,
                preset: str = "veryfast") -> None:
    """Encode BGR frames with libx264 (PyAV), atomically; odd sizes lose their last row / column."""
    import av

    path = Path(path)
    h, w = frames[0].shape[:2]
    h, w = h - h % 2, w - w % 2
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.bit_rate = bitrate
        stream.options = {"preset": preset, "threads": "1"}
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:h, :w]), format="bgr24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    os.replace(tmp, path)


def reencode(image: np.ndarray, rng: np.random.Generator, frames: int = 6) -> np.ndarray:
    """The last frame of a short clip slowly zooming into the image, through libx264 at 60-200 kbit/s."""
    import tempfile

    side = int(rng.choice([320, 426, 640]))
    base = rescale(image, side / max(image.shape[:2]))
    zoom_end = rng.uniform(1.0, 1.15)
    clip = [rescale(center_crop(base, 1 / z), 1.0)[: base.shape[0], : base.shape[1]] for z in
            np.linspace(1.0, zoom_end, frames)]
    clip = [cv2.resize(f, (base.shape[1], base.shape[0]), interpolation=cv2.INTER_LINEAR) for f in clip]
    bitrate = int(rng.integers(60, 201)) * 1000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        write_video(path, clip, 8.0, bitrate)
        from myPython.pool.video import read_frames

        decoded, _ = read_frames(path, 1000.0)
    return decoded[-1].image


EDITS = {
    "crop": crop,
    "small_jpeg": small_jpeg,
    "rotate_colour": rotate_colour,
    "mirror_letterbox_caption": mirror_letterbox_caption,
    "blur_logo": blur_logo,
    "reencode": reencode,
}


def apply_edit(image: np.ndarray, kind: str, seed: int | np.random.Generator) -> np.ndarray:
    """One edited copy of a BGR image; the same (image, kind, seed) always gives the same pixels."""
    if kind not in EDITS:
        raise ValueError(f"unknown edit {kind!r}: one of {', '.join(EDIT_KINDS)}")
    return EDITS[kind](image, _rng(seed))


def edit_seed(seed: int, name: str, kind: str) -> int:
    """A seed for (photo name, edit kind) that does not depend on the order photos are processed in."""
    import hashlib

    return int.from_bytes(hashlib.sha256(f"{seed}/{name}/{kind}".encode()).digest()[:8], "little")


def random_copy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A training-time copy: one edit kind (no video round trip), then light random extras."""
    kind = str(rng.choice(EDIT_KINDS[:-1]))
    out = apply_edit(image, kind, rng)
    if rng.random() < 0.3:
        out = colour(out, rng, 0.5)
    if rng.random() < 0.3:
        out = caption(out, str(rng.choice(CAPTIONS)), rng.uniform(0.06, 0.12), darken=rng.uniform(0.2, 0.7))
    if rng.random() < 0.5:
        out = mirror(out)
    return jpeg(out, int(rng.integers(20, 80)))
