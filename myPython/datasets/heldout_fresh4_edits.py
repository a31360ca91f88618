"""Edits of the "fresh4" held-out image set (datasets/heldout_fresh4.py): EVALUATION ONLY.

Written from plain descriptions of each edit, apart from every training edit and from the earlier held-out sets'
edit code: sizes, ranges, layouts and colours are this module's own. Geometry, photometric, quality and composition
edits; the drawn chrome (app frames, marks, story, gallery screenshot) is in heldout_fresh4_overlays.py.

Images are BGR uint8. A panel is (rect, window): where a photo is shown in the frame (x, y, w, h) and which
window of the photo (x, y, w, h, in the photo's own pixels) it shows there.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

Rect = tuple[int, int, int, int]
Colour = tuple[int, int, int]

LANDSCAPE = (960, 540)  # (width, height)
PORTRAIT = (540, 960)
SQUARE = (960, 960)
FOUR_THREE = (960, 720)


class Panel(NamedTuple):
    rect: Rect
    window: Rect


# ---- helpers ---------------------------------------------------------------------------------------------------


def fit_long_side(image: np.ndarray, side: int) -> np.ndarray:
    """`image` shrunk so that its long side is at most `side` (never enlarged)."""
    h, w = image.shape[:2]
    if max(h, w) <= side:
        return image
    scale = side / max(h, w)
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def resize(image: np.ndarray, w: int, h: int) -> np.ndarray:
    shrink = w * h < image.shape[0] * image.shape[1]
    return cv2.resize(image, (int(w), int(h)), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def cover_window(size: tuple[int, int], target: tuple[int, int], focus: tuple[float, float] = (0.5, 0.5)) -> Rect:
    """The largest window of a picture of `size` (w, h) with the aspect of `target` (w, h), placed at `focus`."""
    w, h = size
    tw, th = target
    if w * th > h * tw:  # wider than the target: cut the sides
        cw, ch = max(1, round(h * tw / th)), h
    else:
        cw, ch = w, max(1, round(w * th / tw))
    return round(focus[0] * (w - cw)), round(focus[1] * (h - ch)), cw, ch


def cover(image: np.ndarray, w: int, h: int, focus: tuple[float, float] = (0.5, 0.5)) -> tuple[np.ndarray, Rect]:
    """`image` cropped to the aspect of (w, h) around `focus` and resized to it; (picture, window)."""
    x, y, cw, ch = cover_window((image.shape[1], image.shape[0]), (w, h), focus)
    return resize(image[y : y + ch, x : x + cw], w, h), (x, y, cw, ch)


def contain_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The size (w, h) of a picture of `size` scaled to fit inside `box`, aspect kept."""
    scale = min(box[0] / size[0], box[1] / size[1])
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def whole(image: np.ndarray) -> Rect:
    return 0, 0, image.shape[1], image.shape[0]


def _clip(image: np.ndarray) -> np.ndarray:
    return np.clip(image, 0, 255).astype(np.uint8)


def heavy_blur(image: np.ndarray, size: tuple[int, int], sigma: float) -> np.ndarray:
    """`image` covering `size`, shrunk to a few pixels and blurred until no detail is left."""
    w, h = size
    tiny = cv2.resize(cover(image, w, h)[0], (max(2, w // 40), max(2, h // 40)), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(cv2.resize(tiny, (w, h), interpolation=cv2.INTER_CUBIC), (0, 0), sigma)


# ---- geometry --------------------------------------------------------------------------------------------------

_TURNS = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}


def rotate(image: np.ndarray, quarter_turns: int) -> np.ndarray:
    """Turned clockwise by 90 degrees `quarter_turns` times (1, 2 or 3), no border."""
    return cv2.rotate(image, _TURNS[quarter_turns % 4])


def portrait_reframe(image: np.ndarray, fill: str | Colour, size: tuple[int, int] = PORTRAIT,
                     shift: float = 0.0) -> np.ndarray:
    """The whole photo in a portrait frame, at the middle moved by `shift` (-1..1 of the free room), over a
    blurred, darkened copy of itself (`fill` "blur") or over one flat colour."""
    w, h = size
    pw, ph = contain_size((image.shape[1], image.shape[0]), size)
    if isinstance(fill, str):
        frame = _clip(heavy_blur(image, size, 9.0).astype(np.float32) * 0.7)
    else:
        frame = np.empty((h, w, 3), np.uint8)
        frame[:] = fill
    x = (w - pw) // 2
    y = round((h - ph) / 2 * (1 + shift))
    frame[y : y + ph, x : x + pw] = resize(image, pw, ph)
    return frame


def zoom_crop(image: np.ndarray, factor: float, centre: tuple[float, float]) -> np.ndarray:
    """A window 1/`factor` of the photo's width and height around `centre` (relative; kept inside the photo),
    enlarged back to the photo's size."""
    h, w = image.shape[:2]
    cw, ch = max(1, round(w / factor)), max(1, round(h / factor))
    x = int(np.clip(round(centre[0] * w - cw / 2), 0, w - cw))
    y = int(np.clip(round(centre[1] * h - ch / 2), 0, h - ch))
    return cv2.resize(image[y : y + ch, x : x + cw], (w, h), interpolation=cv2.INTER_CUBIC)


def screen_photo(image: np.ndarray, corners: np.ndarray, surround: np.ndarray | None, rng: np.random.Generator,
                 glare: float = 0.35, moire: float = 0.07) -> np.ndarray:
    """The photo shown on a monitor and photographed: the screen at `corners` (4 x 2, relative, clockwise from top
    left) in a black bezel, over a room (`surround` blurred until no detail is left, darkened; a dark wash when
    None), with a fine two-grating interference (moire, amplitude `moire`), an elliptical glare of strength
    `glare`, a little defocus and sensor noise. Same size as the photo."""
    h, w = image.shape[:2]
    if surround is None:
        room = np.full((h, w, 3), 40, np.float32)
    else:
        room = heavy_blur(surround, (w, h), 12.0).astype(np.float32) * rng.uniform(0.35, 0.55)
    quad = (np.asarray(corners, np.float32) * np.float32([w, h])).astype(np.float32)
    centre = quad.mean(0)
    bezel = centre + (quad - centre) * 1.06
    cv2.fillConvexPoly(room, np.round(bezel).astype(np.int32), (18, 18, 20), lineType=cv2.LINE_AA)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    warp = cv2.getPerspectiveTransform(src, quad)
    shown = cv2.warpPerspective(image, warp, (w, h), flags=cv2.INTER_LINEAR).astype(np.float32)
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), warp, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a, b = rng.uniform(0, np.pi, 2)
    p1, p2 = rng.uniform(2.6, 3.4), rng.uniform(2.9, 3.8)
    pattern = 1 + moire * np.sin(2 * np.pi * (xx * np.cos(a) + yy * np.sin(a)) / p1) \
        * np.sin(2 * np.pi * (xx * np.cos(b) + yy * np.sin(b)) / p2)
    gx, gy = centre + rng.uniform(-0.3, 0.3, 2) * np.float32([w, h])
    sx, sy = w * rng.uniform(0.12, 0.25), h * rng.uniform(0.15, 0.35)
    light = glare * 255 * np.exp(-((xx - gx) ** 2 / (2 * sx * sx) + (yy - gy) ** 2 / (2 * sy * sy)))
    screen = shown * 0.92 * pattern[..., None] + light[..., None] + 8
    out = room * (1 - mask) + screen * mask
    out = cv2.GaussianBlur(out, (0, 0), 0.8) + rng.normal(0, 3.0, out.shape)
    return _clip(out)


# ---- photometric -----------------------------------------------------------------------------------------------


def greyscale(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


# rows: output B, G, R from input B, G, R (a warm brown tone)
_AGED = np.float32([[0.12, 0.50, 0.25], [0.16, 0.62, 0.33], [0.18, 0.70, 0.40]])


def vintage(image: np.ndarray, strength: float, fade: float, vignette: float, rng: np.random.Generator) -> np.ndarray:
    """A strong old-print look: a warm brown tone mixed in at `strength`, blacks lifted and whites lowered by
    `fade` (0..1 of 80 grey levels), dark corners (`vignette`: darkening at the corners) and grain."""
    im = image.astype(np.float32)
    toned = im @ _AGED.T
    out = im * (1 - strength) + toned * strength
    lift = 80 * fade
    out = lift + out * (255 - 1.4 * lift) / 255
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    out *= (1 - vignette * np.clip(r2 / 2, 0, 1) ** 0.8)[..., None]
    return _clip(out + rng.normal(0, 5.0, (h, w, 1)))


def hue_rotate(image: np.ndarray, degrees: float, saturation: float = 1.0) -> np.ndarray:
    """Every hue turned by `degrees` around the colour wheel, saturation scaled."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 0] = np.mod(hsv[..., 0] + degrees / 2, 180)
    hsv[..., 1] = np.clip(hsv[..., 1] * saturation, 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)


def heavy_contrast(image: np.ndarray, gain: float, saturation: float) -> np.ndarray:
    """Levels stretched by `gain` around the picture's mean (shadows and highlights clipped), colour boosted."""
    im = image.astype(np.float32)
    mean = im.mean()
    out = _clip((im - mean) * gain + mean)
    return hue_rotate(out, 0.0, saturation)


# ---- quality ---------------------------------------------------------------------------------------------------


def thumbnail(image: np.ndarray, long_side: int) -> np.ndarray:
    """Shrunk to `long_side` pixels on its long side and enlarged back to its size."""
    h, w = image.shape[:2]
    scale = long_side / max(h, w)
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def blur_noise(image: np.ndarray, sigma: float, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian defocus of `sigma` pixels, then Gaussian noise of `noise` grey levels (per channel)."""
    blurred = cv2.GaussianBlur(image, (0, 0), sigma).astype(np.float32)
    return _clip(blurred + rng.normal(0, noise, image.shape))


# ---- composition -----------------------------------------------------------------------------------------------


def picture_in_picture(host: np.ndarray, inset: np.ndarray, share: float, at: tuple[float, float], margin: int,
                       border: int, colour: Colour) -> tuple[np.ndarray, list[Panel]]:
    """`inset` (whole) at `share` of the host's width (at most 0.7 of its height), in a `border` px frame of
    `colour`, placed at `at` (relative) in the room left `margin` px from the host's edges; panels: host, inset."""
    hh, hw = host.shape[:2]
    iw = max(8, round(share * hw))
    ih = max(8, round(iw * inset.shape[0] / inset.shape[1]))
    if ih > 0.7 * hh:
        iw, ih = max(8, round(iw * 0.7 * hh / ih)), max(8, round(0.7 * hh))
    free_x, free_y = max(0, hw - iw - 2 * border - 2 * margin), max(0, hh - ih - 2 * border - 2 * margin)
    x0, y0 = margin + round(at[0] * free_x), margin + round(at[1] * free_y)
    frame = host.copy()
    frame[y0 : y0 + ih + 2 * border, x0 : x0 + iw + 2 * border] = colour
    x, y = x0 + border, y0 + border
    frame[y : y + ih, x : x + iw] = resize(inset, iw, ih)
    return frame, [Panel(whole(host), whole(host)), Panel((x, y, iw, ih), whole(inset))]


def _edges(length: int, count: int, gutter: int) -> list[tuple[int, int]]:
    """(start, end) of `count` equal cells along `length` with `gutter` px around and between them."""
    unit = (length - (count + 1) * gutter) / count
    return [(gutter + k * gutter + round(k * unit), gutter + k * gutter + round((k + 1) * unit)) for k in range(count)]


# layout -> (columns, rows, cells as (column, row, column span, row span))
LAYOUTS: dict[str, tuple[int, int, tuple[tuple[int, int, int, int], ...]]] = {
    "grid_2x2": (2, 2, ((0, 0, 1, 1), (1, 0, 1, 1), (0, 1, 1, 1), (1, 1, 1, 1))),
    "big_left": (2, 2, ((0, 0, 1, 2), (1, 0, 1, 1), (1, 1, 1, 1))),
    "big_bottom": (2, 2, ((0, 0, 1, 1), (1, 0, 1, 1), (0, 1, 2, 1))),
    "columns_3": (3, 1, ((0, 0, 1, 1), (1, 0, 1, 1), (2, 0, 1, 1))),
    "rows_3": (1, 3, ((0, 0, 1, 1), (0, 1, 1, 1), (0, 2, 1, 1))),
    "duet": (2, 1, ((0, 0, 1, 1), (1, 0, 1, 1))),
    "stack": (1, 2, ((0, 0, 1, 1), (0, 1, 1, 1))),
}


def grid_rects(layout: str, size: tuple[int, int], gutter: int) -> list[Rect]:
    cols, rows, cells = LAYOUTS[layout]
    xs, ys = _edges(size[0], cols, gutter), _edges(size[1], rows, gutter)
    return [(xs[c][0], ys[r][0], xs[c + sc - 1][1] - xs[c][0], ys[r + sr - 1][1] - ys[r][0]) for c, r, sc, sr in cells]


def fill_rects(frame: np.ndarray, photos: list[np.ndarray], rects: list[Rect],
               focus: list[tuple[float, float]]) -> list[Panel]:
    """Each photo cropped to cover its rect (at its focus) and drawn there; the panels."""
    if len(photos) != len(rects):
        raise ValueError(f"{len(photos)} photos for {len(rects)} cells")
    panels = []
    for photo, (x, y, w, h), f in zip(photos, rects, focus):
        frame[y : y + h, x : x + w], window = cover(photo, w, h, f)
        panels.append(Panel((x, y, w, h), window))
    return panels


def collage(photos: list[np.ndarray], layout: str, size: tuple[int, int], gutter: int, colour: Colour,
            focus: list[tuple[float, float]]) -> tuple[np.ndarray, list[Panel]]:
    """The photos in the cells of `layout` (in order) on a `size` frame of `colour` with `gutter` px gutters."""
    frame = np.empty((size[1], size[0], 3), np.uint8)
    frame[:] = colour
    return frame, fill_rects(frame, photos, grid_rects(layout, size, gutter), focus)


def duet(left: np.ndarray, right: np.ndarray, size: tuple[int, int], band: float, gutter: int, colour: Colour,
         focus: list[tuple[float, float]]) -> tuple[np.ndarray, list[Panel]]:
    """Two photos side by side in a band of `band` of the frame's height (centred; 1.0: full height) with a
    `gutter` px line between them (none around), on `colour`."""
    w, h = size
    bh = round(band * h)
    y = (h - bh) // 2
    half = (w - gutter) // 2
    frame = np.empty((h, w, 3), np.uint8)
    frame[:] = colour
    rects = [(0, y, half, bh), (w - half, y, half, bh)]
    return frame, fill_rects(frame, [left, right], rects, focus)


def split_screen(top: np.ndarray, bottom: np.ndarray, size: tuple[int, int], ratio: float, line: int,
                 colour: Colour, focus: list[tuple[float, float]]) -> tuple[np.ndarray, list[Panel]]:
    """Two photos one above the other, the top one `ratio` of the height, a `line` px divider of `colour`."""
    w, h = size
    top_h = round(ratio * (h - line))
    frame = np.empty((h, w, 3), np.uint8)
    frame[:] = colour
    rects = [(0, 0, w, top_h), (0, top_h + line, w, h - top_h - line)]
    return frame, fill_rects(frame, [top, bottom], rects, focus)
