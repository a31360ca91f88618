"""Edits of the "unseen" held-out sets (EVALUATION ONLY): written independently of every training edit.

Families (the issue's list): compositions, shared overlays, geometry, photometric, quality. Every
function takes and returns BGR uint8 images and is deterministic given its arguments; the
overlay templates are fixed (same chrome, same watermark, same stickers, same meme text for every
photo), so two different photos under one template are the hard negatives of the set. Functions
that place the photo inside a larger canvas also return the box (x, y, w, h) where it went.
"""

from __future__ import annotations

import cv2
import numpy as np

Box = tuple[int, int, int, int]

# ---- helpers ----------------------------------------------------------------------------------


def resize_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resized to exactly width x height (area filter when shrinking, cubic when growing)."""
    h, w = image.shape[:2]
    shrink = width * height < w * h
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scaled to cover width x height, centre-cropped to it (no bars)."""
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    sw, sh = max(width, int(np.ceil(w * scale))), max(height, int(np.ceil(h * scale)))
    big = resize_to(image, sw, sh)
    x, y = (sw - width) // 2, (sh - height) // 2
    return big[y : y + height, x : x + width]


def fit_box(image: np.ndarray, width: int, height: int) -> tuple[np.ndarray, Box]:
    """Scaled to fit inside width x height; (scaled image, its centred box in that area)."""
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    sw, sh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    return resize_to(image, sw, sh), ((width - sw) // 2, (height - sh) // 2, sw, sh)


def paste(canvas: np.ndarray, image: np.ndarray, x: int, y: int) -> None:
    h, w = image.shape[:2]
    canvas[y : y + h, x : x + w] = image


def outlined_text(canvas: np.ndarray, text: str, org: tuple[int, int], scale: float, colour=(255, 255, 255),
                  outline=(0, 0, 0), thickness: int = 2, font: int = cv2.FONT_HERSHEY_DUPLEX) -> None:
    """Text with a thick outline (drawn twice: outline first)."""
    cv2.putText(canvas, text, org, font, scale, outline, thickness + max(2, int(thickness * 1.6)), cv2.LINE_AA)
    cv2.putText(canvas, text, org, font, scale, colour, thickness, cv2.LINE_AA)


def centred_text(canvas: np.ndarray, text: str, y: int, width_share: float, colour=(255, 255, 255),
                 outline=(0, 0, 0), font: int = cv2.FONT_HERSHEY_DUPLEX) -> None:
    """Text scaled to span `width_share` of the canvas width, centred, baseline at y."""
    w = canvas.shape[1]
    (tw, _), _ = cv2.getTextSize(text, font, 1.0, 2)
    scale = width_share * w / max(tw, 1)
    thickness = max(1, int(round(scale * 2)))
    (tw, _), _ = cv2.getTextSize(text, font, scale, thickness)
    outlined_text(canvas, text, ((w - tw) // 2, y), scale, colour, outline, thickness, font)


# ---- geometry ---------------------------------------------------------------------------------


def rotate(image: np.ndarray, quarter_turns: int) -> np.ndarray:
    """Rotated by 90 degrees counter-clockwise `quarter_turns` times (exact, no resampling)."""
    return np.ascontiguousarray(np.rot90(image, quarter_turns))


def portrait(image: np.ndarray, fill: str = "blur", size: tuple[int, int] = (540, 960),
             colour: tuple[int, int, int] = (92, 38, 158)) -> tuple[np.ndarray, Box]:
    """9:16 reframing: the photo fitted to the width, above and below a blurred copy or a colour gradient."""
    width, height = size
    if fill == "blur":
        canvas = cv2.GaussianBlur(cover(image, width, height), (0, 0), 21)
        canvas = (canvas.astype(np.float32) * 0.7).astype(np.uint8)
    else:  # vertical gradient from `colour` to a darker shade of it
        ramp = np.linspace(1.0, 0.45, height, dtype=np.float32)[:, None, None]
        canvas = np.broadcast_to(np.array(colour, np.float32) * ramp, (height, width, 3)).astype(np.uint8).copy()
    photo, (x, y, w, h) = fit_box(image, width, height)
    paste(canvas, photo, x, y)
    return canvas, (x, y, w, h)


def zoom_crop(image: np.ndarray, share: float = 0.5, centre: tuple[float, float] = (0.5, 0.5)) -> np.ndarray:
    """A window of `share` of each side around `centre` (relative), scaled back up to the full size."""
    h, w = image.shape[:2]
    cw, ch = max(2, int(w * share)), max(2, int(h * share))
    x = int(np.clip(centre[0] * w - cw / 2, 0, w - cw))
    y = int(np.clip(centre[1] * h - ch / 2, 0, h - ch))
    return resize_to(image[y : y + ch, x : x + cw], w, h)


def screen_photo(image: np.ndarray, corners: np.ndarray | None = None, glare: float = 0.35) -> np.ndarray:
    """A photo of the image shown on a screen: a bezel, perspective, a bright glare band, soft focus."""
    h, w = image.shape[:2]
    if corners is None:
        corners = np.float32([[0.14, 0.10], [0.90, 0.04], [0.95, 0.93], [0.08, 0.84]])
    canvas = np.zeros((h, w, 3), np.float32)
    canvas[:] = np.linspace(70, 120, w, dtype=np.float32)[None, :, None]  # a grey desk behind
    bezel = cv2.copyMakeBorder(image, h // 25, h // 25, w // 25, w // 25, cv2.BORDER_CONSTANT, value=(18, 18, 18))
    bh, bw = bezel.shape[:2]
    src = np.float32([[0, 0], [bw, 0], [bw, bh], [0, bh]])
    m = cv2.getPerspectiveTransform(src, np.float32(corners) * np.float32([w, h]))
    warped = cv2.warpPerspective(bezel, m, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((bh, bw), np.float32), m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    canvas = canvas * (1 - mask) + warped.astype(np.float32) * mask
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    band = np.exp(-(((xx / w) - 0.8 * (yy / h) - 0.1) ** 2) / 0.01)  # a diagonal reflection
    canvas = canvas * 0.9 + glare * 255 * band[..., None] * mask
    return cv2.GaussianBlur(np.clip(canvas, 0, 255).astype(np.uint8), (0, 0), 1.2)


# ---- photometric ------------------------------------------------------------------------------


def greyscale(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def sepia(image: np.ndarray) -> np.ndarray:
    """The classic sepia matrix (written for BGR: rows give B, G, R)."""
    m = np.float32([[0.131, 0.534, 0.272], [0.168, 0.686, 0.349], [0.189, 0.769, 0.393]])
    return np.clip(image.astype(np.float32) @ m.T, 0, 255).astype(np.uint8)


def high_contrast(image: np.ndarray, gain: float = 2.2, saturation: float = 1.6) -> np.ndarray:
    """A strong contrast stretch around mid-grey and boosted saturation."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 1] = np.clip(hsv[..., 1] * saturation, 0, 255)
    out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    return np.clip((out - 128) * gain + 128, 0, 255).astype(np.uint8)


def colour_cast(image: np.ndarray, gains: tuple[float, float, float] = (0.65, 0.95, 1.3),
                offset: tuple[float, float, float] = (0, 10, 25)) -> np.ndarray:
    """Per-channel gains and offsets (BGR): by default a strong warm orange cast."""
    return np.clip(image.astype(np.float32) * np.float32(gains) + np.float32(offset), 0, 255).astype(np.uint8)


def vignette(image: np.ndarray, strength: float = 0.8) -> np.ndarray:
    """Darkened towards the corners (radial falloff; corners keep 1 - strength of their light)."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2) / np.sqrt(2)
    gain = 1 - strength * np.clip(r, 0, 1) ** 2
    return np.clip(image.astype(np.float32) * gain[..., None], 0, 255).astype(np.uint8)


# ---- quality ----------------------------------------------------------------------------------


def thumbnail(image: np.ndarray, long_side: int = 96) -> np.ndarray:
    h, w = image.shape[:2]
    scale = long_side / max(h, w)
    return resize_to(image, max(1, int(round(w * scale))), max(1, int(round(h * scale))))


def jpeg(image: np.ndarray, quality: int = 4) -> np.ndarray:
    """Through JPEG at a very low quality (decoded back to pixels)."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_COLOR)
