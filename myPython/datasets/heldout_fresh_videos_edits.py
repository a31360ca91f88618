"""Frame edits of the "fresh" held-out video set (EVALUATION ONLY): quality, geometry and photometric changes of
one BGR frame, written for this set from plain descriptions, apart from every training edit and from the earlier
held-out sets' edit code. Every function is deterministic in its arguments; every frame it returns has even
sides (the encoders need them).
"""

from __future__ import annotations

import cv2
import numpy as np

Colour = tuple[int, int, int]
Box = tuple[int, int, int, int]  # x, y, width, height


def even(n: float) -> int:
    """The even integer nearest n, at least 2."""
    return max(2, int(round(n / 2.0)) * 2)


def resize(image: np.ndarray, w: int, h: int) -> np.ndarray:
    """To exactly w x h (area averaging when shrinking, bicubic when enlarging)."""
    if image.shape[1] == w and image.shape[0] == h:
        return image.copy()
    shrink = w * h < image.shape[0] * image.shape[1]
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def long_side(image: np.ndarray, side: int) -> np.ndarray:
    """Scaled so that its longer side is `side` (both sides even)."""
    h, w = image.shape[:2]
    s = side / max(h, w)
    return resize(image, even(w * s), even(h * s))


def fit_box(w: int, h: int, box_w: int, box_h: int) -> Box:
    """The largest w:h rectangle (even sides) centred in a box_w x box_h box."""
    s = min(box_w / w, box_h / h)
    fw, fh = min(box_w, even(w * s)), min(box_h, even(h * s))
    return (box_w - fw) // 2, (box_h - fh) // 2, fw, fh


def letterbox(image: np.ndarray, w: int, h: int, colour: Colour = (0, 0, 0)) -> np.ndarray:
    """The whole image, as large as fits, centred on a w x h canvas of `colour`."""
    out = np.empty((h, w, 3), np.uint8)
    out[:] = colour
    x, y, fw, fh = fit_box(image.shape[1], image.shape[0], w, h)
    out[y : y + fh, x : x + fw] = resize(image, fw, fh)
    return out


def cover(image: np.ndarray, w: int, h: int) -> np.ndarray:
    """The centre of the image cropped to the w:h shape, then resized to w x h (fills the box, cuts the rest)."""
    ih, iw = image.shape[:2]
    s = max(w / iw, h / ih)
    cw, ch = min(iw, int(round(w / s))), min(ih, int(round(h / s)))
    x, y = (iw - cw) // 2, (ih - ch) // 2
    return resize(image[y : y + ch, x : x + cw], w, h)


# ---- quality --------------------------------------------------------------------------------------------


def third_size(frame: np.ndarray) -> np.ndarray:
    """A third of the width and height (even sides)."""
    h, w = frame.shape[:2]
    return resize(frame, even(w / 3), even(h / 3))


def blur_and_blocks(frame: np.ndarray, sigma: float, quality: int) -> np.ndarray:
    """A strong Gaussian blur, then a JPEG round trip at a very low quality (8x8 blocking, colour bleeding)."""
    blurred = cv2.GaussianBlur(frame, (0, 0), sigma)
    ok, data = cv2.imencode(".jpg", blurred, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


# ---- geometry ----------------------------------------------------------------------------------------------


def rotate_270(frame: np.ndarray) -> np.ndarray:
    """A quarter turn counter-clockwise (270 degrees clockwise)."""
    return np.ascontiguousarray(np.rot90(frame, 1))


def portrait(frame: np.ndarray, fill: str, colour: Colour, size: tuple[int, int] = (288, 512)) -> np.ndarray:
    """The whole frame across a 9:16 canvas (w, h), the rest filled with a flat `colour` ("colour") or with the
    frame itself stretched over the canvas, blurred and darkened to 40 % ("dark_blur")."""
    w, h = size
    if fill == "colour":
        canvas = np.empty((h, w, 3), np.uint8)
        canvas[:] = colour
    elif fill == "dark_blur":
        back = cv2.GaussianBlur(cover(frame, w // 4, h // 4), (0, 0), 3.0)
        canvas = (resize(back, w, h).astype(np.float32) * 0.4).astype(np.uint8)
    else:
        raise ValueError(f"unknown fill {fill!r}")
    x, y, fw, fh = fit_box(frame.shape[1], frame.shape[0], w, h)
    canvas[y : y + fh, x : x + fw] = resize(frame, fw, fh)
    return canvas


def mirror_zoom(frame: np.ndarray, zoom: float, shift: tuple[float, float]) -> np.ndarray:
    """Flipped left to right, then a 1/zoom crop (moved from the centre by `shift`, a share of the free room in
    -1..1 per axis) enlarged back to the frame's size."""
    h, w = frame.shape[:2]
    flipped = frame[:, ::-1]
    cw, ch = int(round(w / zoom)), int(round(h / zoom))
    x = int(round((w - cw) / 2 * (1 + shift[0])))
    y = int(round((h - ch) / 2 * (1 + shift[1])))
    return resize(np.ascontiguousarray(flipped[y : y + ch, x : x + cw]), w, h)


def keystone(frame: np.ndarray, amount: float, side: int, border: Colour = (24, 24, 24)) -> np.ndarray:
    """A slight perspective tilt: one edge (0 top, 1 right, 2 bottom, 3 left) drawn `amount` of the frame
    shorter at each end, as if the screen were filmed from a little off-axis; the uncovered corners `border`."""
    h, w = frame.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src.copy()
    dx, dy = amount * w, amount * h
    if side == 0:
        dst[0, 0] += dx
        dst[1, 0] -= dx
    elif side == 1:
        dst[1, 1] += dy
        dst[2, 1] -= dy
    elif side == 2:
        dst[2, 0] -= dx
        dst[3, 0] += dx
    else:
        dst[3, 1] -= dy
        dst[0, 1] += dy
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(frame, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                               borderValue=border)


# ---- photometric ----------------------------------------------------------------------------------------------


def greyscale(frame: np.ndarray) -> np.ndarray:
    """Luma (Rec. 601 weights) in all three channels."""
    grey = np.round(frame[..., 0] * 0.114 + frame[..., 1] * 0.587 + frame[..., 2] * 0.299)
    return np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def _curve(gamma: float, lift: float, gain: float) -> np.ndarray:
    x = np.arange(256, dtype=np.float32) / 255.0
    return np.clip(255.0 * (lift + (gain - lift) * x**gamma), 0, 255).astype(np.uint8)


# a warm "filter": reds lifted, blues pulled down, blacks raised a little (a faded look)
WARM_CURVES = (_curve(1.18, 0.05, 0.88), _curve(1.0, 0.04, 0.98), _curve(0.82, 0.06, 1.0))  # B, G, R


def warm_filter(frame: np.ndarray, saturation: float = 1.3) -> np.ndarray:
    """Per-channel curves (WARM_CURVES), then the saturation multiplied by `saturation`."""
    toned = np.dstack([cv2.LUT(frame[..., c], WARM_CURVES[c]) for c in range(3)])
    hsv = cv2.cvtColor(toned, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 1] = np.clip(hsv[..., 1] * saturation, 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)


def brightness_contrast(frame: np.ndarray, contrast: float, brightness: float) -> np.ndarray:
    """Contrast scaled about mid-grey, then `brightness` added (clipped to 0..255)."""
    out = (frame.astype(np.float32) - 128.0) * contrast + 128.0 + brightness
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
