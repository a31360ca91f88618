"""Edits and drawings of the "fresh2" held-out image set (datasets/heldout_fresh2.py): EVALUATION ONLY.

Written from plain descriptions of how short-video and social apps edit and frame photos, apart from every
training edit and from the earlier held-out sets' edit code; numpy and OpenCV only. Every function is a pure
function of its arguments: randomness comes in through an explicit numpy Generator or explicit parameters.
Images are BGR uint8 (H x W x 3); sizes are given as (width, height) like OpenCV.
"""

from __future__ import annotations

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
BOLD = cv2.FONT_HERSHEY_DUPLEX
AA = cv2.LINE_AA
WHITE, BLACK = (255, 255, 255), (0, 0, 0)
PORTRAIT = (576, 1024)  # 9:16 canvases (width, height)
DARK_APP = (576, 1024)
LIGHT_APP = (640, 1024)


# ---- sizes ------------------------------------------------------------------------------------------------------


def resize(image: np.ndarray, width: int, height: int, interpolation: int | None = None) -> np.ndarray:
    """Resized to exactly width x height (area averaging when shrinking, cubic when enlarging)."""
    width, height = max(1, int(width)), max(1, int(height))
    if (width, height) == (image.shape[1], image.shape[0]) and interpolation is None:
        return image.copy()
    if interpolation is None:
        interpolation = cv2.INTER_AREA if width * height < image.shape[0] * image.shape[1] else cv2.INTER_CUBIC
    return cv2.resize(image, (width, height), interpolation=interpolation)


def fit_long_side(image: np.ndarray, side: int) -> np.ndarray:
    """Shrunk so that its long side is at most `side` (never enlarged)."""
    h, w = image.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return image
    return resize(image, round(w * scale), round(h * scale))


def contain(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scaled (up or down) to the largest size that fits in width x height, aspect kept."""
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    return resize(image, min(width, round(w * scale)), min(height, round(h * scale)))


def cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scaled to cover width x height, aspect kept, then cropped to it around the centre."""
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    sw, sh = max(width, round(w * scale)), max(height, round(h * scale))
    big = resize(image, sw, sh)
    x, y = (sw - width) // 2, (sh - height) // 2
    return big[y : y + height, x : x + width].copy()


def paste(canvas: np.ndarray, image: np.ndarray, x: int, y: int) -> np.ndarray:
    """`image` copied into `canvas` (in place) with its top-left corner at (x, y), clipped to the canvas."""
    h, w = image.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(canvas.shape[1], x + w), min(canvas.shape[0], y + h)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = image[y0 - y : y1 - y, x0 - x : x1 - x]
    return canvas


def blend(base: np.ndarray, top: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """base * (1 - alpha) + top * alpha, alpha a scalar or an H x W map in [0, 1]."""
    a = np.asarray(alpha, np.float32)
    if a.ndim == 2:
        a = a[..., None]
    out = base.astype(np.float32) * (1 - a) + top.astype(np.float32) * a
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# ---- drawing helpers --------------------------------------------------------------------------------------------


def text_size(text: str, scale: float, thickness: int, font: int = FONT) -> tuple[int, int]:
    (w, h), _ = cv2.getTextSize(text, font, scale, thickness)
    return w, h


def fit_scale(text: str, width: int, thickness: int, font: int = FONT, largest: float = 3.0) -> float:
    """The largest font scale (at most `largest`) at which `text` is at most `width` pixels wide."""
    w, _ = text_size(text, 1.0, thickness, font)
    return float(min(largest, width / max(w, 1)))


def put_text(canvas: np.ndarray, text: str, x: int, y: int, scale: float, colour, thickness: int = 1,
             font: int = FONT, outline=None, outline_px: int = 0) -> np.ndarray:
    """Text with its baseline at (x, y), optionally drawn first in `outline` colour `outline_px` thicker each side."""
    if outline is not None and outline_px > 0:
        cv2.putText(canvas, text, (int(x), int(y)), font, scale, outline, thickness + 2 * outline_px, AA)
    cv2.putText(canvas, text, (int(x), int(y)), font, scale, colour, thickness, AA)
    return canvas


def put_centred(canvas: np.ndarray, text: str, cx: int, y: int, scale: float, colour, thickness: int = 1,
                font: int = FONT, outline=None, outline_px: int = 0) -> np.ndarray:
    w, _ = text_size(text, scale, thickness, font)
    return put_text(canvas, text, cx - w // 2, y, scale, colour, thickness, font, outline, outline_px)


def wrap(text: str, width: int, scale: float, thickness: int, font: int = FONT) -> list[str]:
    """Words of `text` in lines at most `width` pixels wide (a single over-long word keeps its own line)."""
    lines: list[str] = []
    for word in text.split():
        if lines and text_size(f"{lines[-1]} {word}", scale, thickness, font)[0] <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def rounded_mask(width: int, height: int, radius: int) -> np.ndarray:
    """A uint8 mask (255 inside) of a width x height rectangle with rounded corners."""
    mask = np.zeros((height, width), np.uint8)
    r = max(0, min(radius, width // 2, height // 2))
    cv2.rectangle(mask, (r, 0), (width - 1 - r, height - 1), 255, -1)
    cv2.rectangle(mask, (0, r), (width - 1, height - 1 - r), 255, -1)
    for cx, cy in ((r, r), (width - 1 - r, r), (r, height - 1 - r), (width - 1 - r, height - 1 - r)):
        cv2.circle(mask, (cx, cy), r, 255, -1, AA)
    return mask


def rounded_box(canvas: np.ndarray, x0: int, y0: int, x1: int, y1: int, radius: int, colour,
                thickness: int = -1) -> np.ndarray:
    """A rounded rectangle drawn into `canvas` (filled when thickness < 0, else its outline)."""
    w, h = x1 - x0, y1 - y0
    mask = rounded_mask(w, h, radius)
    if thickness >= 0:
        inner = np.zeros_like(mask)
        t = max(1, thickness)
        inner[t : h - t, t : w - t] = rounded_mask(w - 2 * t, h - 2 * t, max(0, radius - t))
        mask = cv2.subtract(mask, inner)
    region = canvas[y0:y1, x0:x1]
    fill = np.empty_like(region)
    fill[:] = colour
    canvas[y0:y1, x0:x1] = blend(region, fill, mask.astype(np.float32) / 255)
    return canvas


def heart_points(cx: float, cy: float, size: float) -> np.ndarray:
    """The outline of a heart about `size` pixels wide centred on (cx, cy), as int32 points."""
    t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    k = size / 32
    return np.stack([cx + k * x, cy + k * (y + 2)], -1).round().astype(np.int32)


def star_points(cx: float, cy: float, radius: float, spikes: int = 5, inner: float = 0.45,
                turn: float = 0.0) -> np.ndarray:
    a = np.arange(2 * spikes) * np.pi / spikes - np.pi / 2 + turn
    r = np.where(np.arange(2 * spikes) % 2 == 0, radius, radius * inner)
    return np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], -1).round().astype(np.int32)


def draw_heart(canvas: np.ndarray, cx: float, cy: float, size: float, colour, thickness: int = -1) -> None:
    pts = heart_points(cx, cy, size)
    if thickness < 0:
        cv2.fillPoly(canvas, [pts], colour, AA)
    else:
        cv2.polylines(canvas, [pts], True, colour, thickness, AA)


def draw_bubble(canvas: np.ndarray, cx: int, cy: int, size: int, colour, thickness: int = -1) -> None:
    """A speech bubble (comments icon)."""
    rx, ry = size // 2, int(size * 0.42)
    tail = np.array([[cx - rx // 2, cy + ry - 4], [cx - rx, cy + ry + size // 5], [cx - rx // 6, cy + ry - 2]],
                    np.int32)
    if thickness < 0:
        cv2.ellipse(canvas, (cx, cy), (rx, ry), 0, 0, 360, colour, -1, AA)
        cv2.fillPoly(canvas, [tail], colour, AA)
    else:
        cv2.ellipse(canvas, (cx, cy), (rx, ry), 0, 0, 360, colour, thickness, AA)
        cv2.polylines(canvas, [tail], False, colour, thickness, AA)


def draw_plane(canvas: np.ndarray, cx: int, cy: int, size: int, colour, thickness: int = -1) -> None:
    """A paper plane / share arrow."""
    s = size / 2
    pts = np.array([[cx - s, cy - s * 0.2], [cx + s, cy - s * 0.8], [cx + s * 0.2, cy + s],
                    [cx - s * 0.05, cy + s * 0.1]], np.float64).round().astype(np.int32)
    if thickness < 0:
        cv2.fillPoly(canvas, [pts], colour, AA)
    else:
        cv2.polylines(canvas, [pts], True, colour, thickness, AA)


def draw_bookmark(canvas: np.ndarray, cx: int, cy: int, size: int, colour, thickness: int = -1) -> None:
    w, h = size * 0.36, size / 2
    pts = np.array([[cx - w, cy - h], [cx + w, cy - h], [cx + w, cy + h], [cx, cy + h * 0.45], [cx - w, cy + h]],
                   np.float64).round().astype(np.int32)
    if thickness < 0:
        cv2.fillPoly(canvas, [pts], colour, AA)
    else:
        cv2.polylines(canvas, [pts], True, colour, thickness, AA)


def draw_avatar(canvas: np.ndarray, cx: int, cy: int, r: int, colour, ring, letter: str) -> None:
    cv2.circle(canvas, (cx, cy), r + 3, ring, -1, AA)
    cv2.circle(canvas, (cx, cy), r, colour, -1, AA)
    scale = r / 18
    put_centred(canvas, letter.upper(), cx, cy + int(9 * scale), 0.8 * scale, WHITE, 2, BOLD)


def compact(n: int) -> str:
    """A count the way apps print it: 987, 12.3K, 1.2M."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}K"
    if n >= 1000:
        return f"{n / 1000:.1f}K"
    return str(n)


# ---- geometry ---------------------------------------------------------------------------------------------------


def rotate(image: np.ndarray, quarter_turns: int) -> np.ndarray:
    """Exact rotation by 90 degrees clockwise times `quarter_turns` (1, 2 or 3)."""
    code = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}[quarter_turns % 4]
    return cv2.rotate(image, code)


def portrait_fill(image: np.ndarray, colour=None, size: tuple[int, int] = PORTRAIT) -> np.ndarray:
    """The photo whole and centred in a 9:16 canvas; the rest a blurred, darkened, enlarged copy of the photo
    (colour None) or a flat colour."""
    width, height = size
    if colour is None:
        small = cover(image, width // 8, height // 8)
        small = cv2.GaussianBlur(small, (0, 0), 3.0)
        canvas = cv2.GaussianBlur(resize(small, width, height, cv2.INTER_LINEAR), (0, 0), 6.0)
        canvas = np.clip(canvas.astype(np.float32) * 0.8, 0, 255).astype(np.uint8)
    else:
        canvas = np.empty((height, width, 3), np.uint8)
        canvas[:] = colour
    fg = contain(image, width, height)
    return paste(canvas, fg, (width - fg.shape[1]) // 2, (height - fg.shape[0]) // 2)


def zoom(image: np.ndarray, keep: float) -> np.ndarray:
    """The centre `keep` of each side, enlarged back to the photo's size."""
    h, w = image.shape[:2]
    cw, ch = max(1, round(w * keep)), max(1, round(h * keep))
    x, y = (w - cw) // 2, (h - ch) // 2
    return resize(image[y : y + ch, x : x + cw], w, h, cv2.INTER_CUBIC)


def perspective_screen(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The photo on a monitor filmed by a phone: shown inside a dark bezel, warped by a mild random homography
    onto a grey room background, then slightly blurred and noisy (the output has the photo's size)."""
    h, w = image.shape[:2]
    grey = float(rng.uniform(105, 165))
    ramp = np.linspace(grey * 1.12, grey * 0.85, h, dtype=np.float32)[:, None, None]
    tint = np.array([1.0, 0.98, 0.95], np.float32) * float(rng.uniform(0.95, 1.05))
    room = np.clip(ramp * tint, 0, 255) * np.ones((1, w, 1), np.float32)
    # the frontal monitor: the photo at 72 % inside a dark bezel
    bezel = max(3, round(0.035 * w))
    inner = resize(image, round(0.72 * w), round(0.72 * h))
    screen = np.clip(inner.astype(np.float32) * np.array([1.04, 1.0, 0.94], np.float32) * float(rng.uniform(0.85, 0.97))
                     + 6, 0, 255)
    mh, mw = inner.shape[0] + 2 * bezel, inner.shape[1] + 2 * bezel
    monitor = np.full((mh, mw, 3), 22, np.float32)
    monitor[bezel : bezel + inner.shape[0], bezel : bezel + inner.shape[1]] = screen
    # where it lands: the frontal rectangle moved by up to 2 % and each corner by up to 4.5 % of the size
    x0, y0 = (w - mw) / 2, (h - mh) / 2
    dst = np.float32([[x0, y0], [x0 + mw, y0], [x0 + mw, y0 + mh], [x0, y0 + mh]])
    dst += (rng.uniform(-0.045, 0.045, (4, 2)) * [w, h]).astype(np.float32)
    dst += (rng.uniform(-0.02, 0.02, 2) * [w, h]).astype(np.float32)
    src = np.float32([[0, 0], [mw, 0], [mw, mh], [0, mh]])
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(monitor, matrix, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((mh, mw), np.float32), matrix, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    out = room * (1 - mask) + warped * mask
    out = cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.8, 1.4)))
    out += rng.normal(0.0, float(rng.uniform(3.0, 6.0)), out.shape).astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# ---- photometric ------------------------------------------------------------------------------------------------


def greyscale(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def colour_filter(image: np.ndarray, warm: bool, strength: float) -> np.ndarray:
    """A warm (orange) or cool (blue) filter: channel gains plus a light tint wash."""
    s = float(strength)
    gains = np.array([1 - s, 1 + s / 4, 1 + s] if warm else [1 + s, 1 + s / 6, 1 - s * 0.8], np.float32)  # B, G, R
    tint = np.array([40, 150, 255] if warm else [255, 170, 60], np.float32)
    out = image.astype(np.float32) * gains
    out = out * (1 - 0.5 * s) + tint * (0.5 * s)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def vignette(image: np.ndarray, strength: float) -> np.ndarray:
    """Strong darkening towards the corners: 1 - strength at the corners, untouched in the inner third."""
    h, w = image.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((x - (w - 1) / 2) / (w / 2)) ** 2 + ((y - (h - 1) / 2) / (h / 2)) ** 2) / np.sqrt(2)
    fall = np.clip((r - 0.33) / 0.67, 0, 1) ** 1.6
    gain = 1 - float(strength) * fall
    return np.clip(np.rint(image.astype(np.float32) * gain[..., None]), 0, 255).astype(np.uint8)


def film(image: np.ndarray, contrast: float, grain: float, rng: np.random.Generator) -> np.ndarray:
    """A high-contrast "film" look: an S-curve, a little desaturation and faded blacks, monochrome grain."""
    x = np.arange(256, dtype=np.float32) / 255
    curve = 1 / (1 + np.exp(-float(contrast) * 4 * (x - 0.5)))
    lo, hi = 1 / (1 + np.exp(float(contrast) * 2)), 1 / (1 + np.exp(-float(contrast) * 2))
    curve = (curve - lo) / (hi - lo)
    lut = np.clip(np.rint((0.06 + 0.9 * curve) * 255), 0, 255).astype(np.uint8)
    out = cv2.LUT(image, lut).astype(np.float32)
    grey = out.mean(-1, keepdims=True)
    out = out * 0.8 + grey * 0.2
    h, w = image.shape[:2]
    noise = cv2.GaussianBlur(rng.normal(0.0, 1.0, (h, w)).astype(np.float32), (0, 0), 0.7)
    noise *= float(grain) / max(float(noise.std()), 1e-6)
    return np.clip(np.rint(out + noise[..., None]), 0, 255).astype(np.uint8)


# ---- quality ----------------------------------------------------------------------------------------------------


def down_up(image: np.ndarray, long_side: int) -> np.ndarray:
    """Shrunk to `long_side` pixels on its long side, then enlarged back to its own size."""
    h, w = image.shape[:2]
    small = fit_long_side(image, long_side)
    return resize(small, w, h, cv2.INTER_LINEAR)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def blocky(image: np.ndarray, factor: int) -> np.ndarray:
    """Shrunk `factor` times with nearest neighbour, then enlarged back the same way (square blocks)."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, round(w / factor)), max(1, round(h / factor))), interpolation=cv2.INTER_NEAREST)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


# ---- compositions -----------------------------------------------------------------------------------------------


def picture_in_picture(host: np.ndarray, inset: np.ndarray, fraction: float, place: int, offset: tuple[float, float],
                       border: int, border_colour) -> np.ndarray:
    """`inset` at `fraction` of the host's width over `host`, with a thin border; place 0-3: the corners
    (clockwise from top left), 4: near the centre, moved by `offset` (fractions of the free room)."""
    out = host.copy()
    h, w = host.shape[:2]
    iw = max(8, round(fraction * w))
    ih = max(8, round(iw * inset.shape[0] / inset.shape[1]))
    if ih > 0.8 * h:  # a tall inset over a wide host: bounded by the host's height
        ih = round(0.8 * h)
        iw = max(8, round(ih * inset.shape[1] / inset.shape[0]))
    small = resize(inset, iw, ih)
    bw, bh = iw + 2 * border, ih + 2 * border
    margin = round(0.04 * min(w, h))
    if place == 4:
        x = round((w - bw) / 2 + offset[0] * (w - bw) / 2 * 0.6)
        y = round((h - bh) / 2 + offset[1] * (h - bh) / 2 * 0.6)
    else:
        x = margin if place in (0, 3) else w - margin - bw
        y = margin if place in (0, 1) else h - margin - bh
    x, y = int(np.clip(x, 0, w - bw)), int(np.clip(y, 0, h - bh))
    framed = np.empty((bh, bw, 3), np.uint8)
    framed[:] = border_colour
    framed[border : border + ih, border : border + iw] = small
    return paste(out, framed, x, y)


def side_by_side(left: np.ndarray, right: np.ndarray, size: tuple[int, int] = (1024, 576),
                 gutter: int = 0) -> np.ndarray:
    """Two photos next to each other in a width x height canvas, each cropped to fill its half (a duet / reaction
    layout), a black gutter between them."""
    width, height = size
    cw = (width - gutter) // 2
    canvas = np.zeros((height, width, 3), np.uint8)
    paste(canvas, cover(left, cw, height), 0, 0)
    return paste(canvas, cover(right, width - gutter - cw, height), cw + gutter, 0)


def split_vertical(top: np.ndarray, bottom: np.ndarray, size: tuple[int, int] = PORTRAIT, line: int = 4,
                   line_colour=WHITE) -> np.ndarray:
    """A 9:16 canvas, one photo filling the top half and the other the bottom half, a thin line between."""
    width, height = size
    half = (height - line) // 2
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = line_colour
    paste(canvas, cover(top, width, half), 0, 0)
    return paste(canvas, cover(bottom, width, height - line - half), 0, half + line)


def collage_2x2(photos: list[np.ndarray], side: int, gutter: int, background) -> np.ndarray:
    """Four photos in a 2 x 2 grid of square cells (row by row) inside a `side` x `side` canvas with gutters."""
    cell = (side - 3 * gutter) // 2
    canvas = np.empty((side, side, 3), np.uint8)
    canvas[:] = background
    for k, photo in enumerate(photos[:4]):
        x = gutter + (k % 2) * (cell + gutter)
        y = gutter + (k // 2) * (cell + gutter)
        paste(canvas, cover(photo, cell, cell), x, y)
    return canvas


def compilation_strip(photos: list[np.ndarray], title: str, stacked: bool, bar_colour, text_colour,
                      gutter: int = 6) -> np.ndarray:
    """Three photos stacked (a 9:16 canvas) or in a row (a wide canvas) under a title bar."""
    n = len(photos)
    if stacked:
        width, height, bar = 576, 1024, 96
        cell_h = (height - bar - (n + 1) * gutter) // n
        canvas = np.empty((height, width, 3), np.uint8)
        canvas[:] = bar_colour
        for k, photo in enumerate(photos):
            paste(canvas, cover(photo, width - 2 * gutter, cell_h), gutter, bar + gutter + k * (cell_h + gutter))
    else:
        width, height, bar = 1024, 480, 84
        cell_w = (width - (n + 1) * gutter) // n
        canvas = np.empty((height, width, 3), np.uint8)
        canvas[:] = bar_colour
        for k, photo in enumerate(photos):
            paste(canvas, cover(photo, cell_w, height - bar - 2 * gutter), gutter + k * (cell_w + gutter), bar + gutter)
    scale = min(fit_scale(title, width - 40, 3, BOLD), 1.6)
    _, th = text_size(title, scale, 3, BOLD)
    return put_centred(canvas, title, width // 2, (bar + th) // 2, scale, text_colour, 3, BOLD)
