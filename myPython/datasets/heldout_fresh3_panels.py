"""Drawing for the fresh3 held-out set (heldout_fresh3.py): composition layouts and single-photo edits.

Written from plain descriptions of each edit, apart from every training edit and from the earlier held-out sets'
edit code. Every composition returns its frame and, for each photo in the order given, a Panel: where its pixels
went in the frame and which window of the photo they show (so a test can check a frame shows what it claims).
Sizes are (width, height); rectangles are (x, y, width, height).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np

Rect = tuple[int, int, int, int]
Colour = tuple[int, int, int]
Focus = tuple[float, float]
LANDSCAPE = (1024, 576)
PORTRAIT = (576, 1024)
SQUARE = (1024, 1024)
FOUR_FIVE = (820, 1024)
CENTRE: Focus = (0.5, 0.5)


class Panel(NamedTuple):
    """Where a photo is shown: `rect` in the frame shows the photo's `window`, resized to fit it."""

    rect: Rect
    window: Rect


# ---- basics ----------------------------------------------------------------------------------------------------


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area averaging when shrinking (no aliasing), bilinear when enlarging."""
    shrink = width * height < image.shape[0] * image.shape[1]
    return cv2.resize(image, (int(width), int(height)), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def fit_long_side(image: np.ndarray, side: int) -> np.ndarray:
    """The image with its long side at most `side` (never enlarged)."""
    h, w = image.shape[:2]
    if max(h, w) <= side:
        return image
    scale = side / max(h, w)
    return resize(image, max(1, round(w * scale)), max(1, round(h * scale)))


def cover_window(photo_size: tuple[int, int], size: tuple[int, int], focus: Focus = CENTRE) -> Rect:
    """The largest window of a photo of `photo_size` with the aspect of `size`; `focus` places it (0: left/top,
    1: right/bottom) along the axis that is cropped."""
    pw, ph = photo_size
    aspect = size[0] / size[1]
    if pw / ph > aspect:
        cw = max(1, min(pw, round(ph * aspect)))
        return round(focus[0] * (pw - cw)), 0, cw, ph
    ch = max(1, min(ph, round(pw / aspect)))
    return 0, round(focus[1] * (ph - ch)), pw, ch


def show(frame: np.ndarray, photo: np.ndarray, rect: Rect, focus: Focus = CENTRE, whole: bool = False) -> Panel:
    """Fill `rect` of `frame` with the photo cropped to its aspect (or, `whole`, the entire photo stretched: the
    caller has given `rect` the photo's aspect)."""
    x, y, w, h = rect
    ph, pw = photo.shape[:2]
    window = (0, 0, pw, ph) if whole else cover_window((pw, ph), (w, h), focus)
    wx, wy, ww, wh = window
    frame[y : y + h, x : x + w] = resize(photo[wy : wy + wh, wx : wx + ww], w, h)
    return Panel(rect, window)


def filled(size: tuple[int, int], colour: Colour) -> np.ndarray:
    frame = np.empty((size[1], size[0], 3), np.uint8)
    frame[:] = colour
    return frame


def rounded_mask(width: int, height: int, radius: int) -> np.ndarray:
    """True inside a rectangle with rounded corners."""
    mask = np.zeros((height, width), np.uint8)
    r = max(0, min(radius, width // 2, height // 2))
    cv2.rectangle(mask, (r, 0), (width - 1 - r, height - 1), 1, -1)
    cv2.rectangle(mask, (0, r), (width - 1, height - 1 - r), 1, -1)
    for cx, cy in ((r, r), (width - 1 - r, r), (r, height - 1 - r), (width - 1 - r, height - 1 - r)):
        cv2.circle(mask, (cx, cy), r, 1, -1)
    return mask.astype(bool)


def fill_rounded(frame: np.ndarray, rect: Rect, radius: int, colour: Colour) -> None:
    x, y, w, h = rect
    frame[y : y + h, x : x + w][rounded_mask(w, h, radius)] = colour


def show_rounded(frame: np.ndarray, photo: np.ndarray, rect: Rect, radius: int, focus: Focus = CENTRE,
                 whole: bool = False) -> Panel:
    """`show`, with the corners outside a radius left as they were."""
    x, y, w, h = rect
    before = frame[y : y + h, x : x + w].copy()
    panel = show(frame, photo, rect, focus, whole)
    outside = ~rounded_mask(w, h, radius)
    frame[y : y + h, x : x + w][outside] = before[outside]
    return panel


def blurred_backdrop(photo: np.ndarray, size: tuple[int, int], tint: Colour, tint_share: float,
                     darken: float) -> np.ndarray:
    """The photo cropped to fill `size`, blurred until no detail is left, pulled towards `tint` and darkened.
    Blurred at an eighth of the size: as smooth as a wide Gaussian, far cheaper."""
    w, h = size
    cx, cy, cw, ch = cover_window((photo.shape[1], photo.shape[0]), size)
    small = resize(photo[cy : cy + ch, cx : cx + cw], max(2, w // 8), max(2, h // 8))
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=max(1.0, w / 8 * 0.05))
    out = resize(small, w, h).astype(np.float32)
    out = (1 - tint_share) * out + tint_share * np.float32(tint)
    return np.clip(out * darken, 0, 255).astype(np.uint8)


def text(frame: np.ndarray, words: str, origin: tuple[int, int], scale: float, colour: Colour, thickness: int = 1,
         font: int = cv2.FONT_HERSHEY_SIMPLEX) -> None:
    cv2.putText(frame, words, origin, font, scale, colour, thickness, cv2.LINE_AA)


def text_width(words: str, scale: float, thickness: int = 1, font: int = cv2.FONT_HERSHEY_SIMPLEX) -> int:
    return cv2.getTextSize(words, font, scale, thickness)[0][0]


# ---- compositions ----------------------------------------------------------------------------------------------


def picture_in_picture(host: np.ndarray, inset: np.ndarray, width_share: float, at: Focus, border: int,
                       border_colour: Colour) -> tuple[np.ndarray, list[Panel]]:
    """The whole inset, `width_share` of the host's width wide (at most 80 % of its height), over the host; `at`
    places the bordered inset in the free room (0: flush left/top, 1: flush right/bottom)."""
    frame = host.copy()
    H, W = frame.shape[:2]
    ih0, iw0 = inset.shape[:2]
    w = max(8, round(width_share * W))
    h = max(8, round(w * ih0 / iw0))
    if h > 0.8 * H:
        h = round(0.8 * H)
        w = max(8, round(h * iw0 / ih0))
    bw, bh = w + 2 * border, h + 2 * border
    x0, y0 = round(at[0] * (W - bw)), round(at[1] * (H - bh))
    if border:
        frame[y0 : y0 + bh, x0 : x0 + bw] = border_colour
    panel = show(frame, inset, (x0 + border, y0 + border, w, h), whole=True)
    return frame, [Panel((0, 0, W, H), (0, 0, W, H)), panel]


def side_by_side(left: np.ndarray, right: np.ndarray, size: tuple[int, int], gutter: int, gutter_colour: Colour,
                 band_share: float, focus: Sequence[Focus] = (CENTRE, CENTRE)) -> tuple[np.ndarray, list[Panel]]:
    """A duet: two panels side by side, each photo cropped to fill its half, in a band `band_share` of the frame's
    height (centred; the rest, like the gutter, in `gutter_colour`)."""
    W, H = size
    frame = filled(size, gutter_colour)
    bh = round(band_share * H)
    top = (H - bh) // 2
    half = (W - gutter) // 2
    panels = [show(frame, left, (0, top, half, bh), focus[0]),
              show(frame, right, (half + gutter, top, W - half - gutter, bh), focus[1])]
    return frame, panels


def split_screen(top: np.ndarray, bottom: np.ndarray, top_share: float, line: int, line_colour: Colour,
                 focus: Sequence[Focus] = (CENTRE, CENTRE)) -> tuple[np.ndarray, list[Panel]]:
    """A 9:16 frame split in two, one photo above the other, a line of `line` pixels between."""
    W, H = PORTRAIT
    frame = filled(PORTRAIT, line_colour)
    th = round(top_share * (H - line))
    panels = [show(frame, top, (0, 0, W, th), focus[0]), show(frame, bottom, (0, th + line, W, H - th - line),
                                                              focus[1])]
    return frame, panels


# unit cells (x, y, w, h) of the collage layouts, tiling the unit square
COLLAGE_LAYOUTS: dict[str, tuple[tuple[float, float, float, float], ...]] = {
    "three_columns": ((0, 0, 1 / 3, 1), (1 / 3, 0, 1 / 3, 1), (2 / 3, 0, 1 / 3, 1)),
    "three_rows": ((0, 0, 1, 1 / 3), (0, 1 / 3, 1, 1 / 3), (0, 2 / 3, 1, 1 / 3)),
    "big_left": ((0, 0, 0.6, 1), (0.6, 0, 0.4, 0.5), (0.6, 0.5, 0.4, 0.5)),
    "big_top": ((0, 0, 1, 0.58), (0, 0.58, 0.5, 0.42), (0.5, 0.58, 0.5, 0.42)),
    "grid_2x2": tuple((c / 2, r / 2, 0.5, 0.5) for r in range(2) for c in range(2)),
    "grid_3x3": tuple((c / 3, r / 3, 1 / 3, 1 / 3) for r in range(3) for c in range(3)),
}


def collage(photos: Sequence[np.ndarray], layout: str, size: tuple[int, int], gutter: int, gutter_colour: Colour,
            focus: Sequence[Focus] | None = None) -> tuple[np.ndarray, list[Panel]]:
    """Photos in the cells of a layout, each cropped to fill its cell, `gutter` pixels around and between cells."""
    cells = COLLAGE_LAYOUTS[layout]
    if len(photos) != len(cells):
        raise ValueError(f"{layout} holds {len(cells)} photos, not {len(photos)}")
    W, H = size
    frame = filled(size, gutter_colour)

    def edge(t: float, span: int) -> int:  # left/top edge of a cell starting at t: gutters of equal width
        return round(gutter + t * (span - gutter))

    panels = []
    for k, ((cx, cy, cw, ch), photo) in enumerate(zip(cells, photos)):
        x0, y0 = edge(cx, W), edge(cy, H)
        x1, y1 = edge(cx + cw, W) - gutter, edge(cy + ch, H) - gutter
        panels.append(show(frame, photo, (x0, y0, x1 - x0, y1 - y0), focus[k] if focus else CENTRE))
    return frame, panels


def reaction(main: np.ndarray, cam: np.ndarray, size: tuple[int, int], cam_share: float, cam_aspect: float,
             corner: int, ring: int, ring_colour: Colour, focus: Sequence[Focus] = (CENTRE, CENTRE)
             ) -> tuple[np.ndarray, list[Panel]]:
    """A reaction: `main` fills the frame; `cam`, cropped to `cam_aspect` (width / height) and `cam_share` of the
    frame's width, sits in a corner (0 top left, clockwise) in a rounded ring, like a face camera."""
    W, H = size
    frame = filled(size, (0, 0, 0))
    panels = [show(frame, main, (0, 0, W, H), focus[0])]
    w = round(cam_share * W)
    h = round(w / cam_aspect)
    margin = round(0.035 * W)
    x = margin + ring if corner in (0, 3) else W - margin - ring - w
    # the top corners sit lower: room for the app's status bar
    y = margin + ring + round(0.06 * H) if corner in (0, 1) else H - margin - ring - h
    radius = round(0.14 * w)
    fill_rounded(frame, (x - ring, y - ring, w + 2 * ring, h + 2 * ring), radius + ring, ring_colour)
    panels.append(show_rounded(frame, cam, (x, y, w, h), radius, focus[1]))
    return frame, panels


def compilation(photos: Sequence[np.ndarray], column: bool, title: str, bar_colour: Colour, title_colour: Colour,
                gutter: int, numbered: bool, focus: Sequence[Focus] | None = None) -> tuple[np.ndarray, list[Panel]]:
    """A compilation: a title bar on top, then the photos in a row (16:9 frame) or a column (9:16), each cropped to
    fill its slot, numbered in a corner badge."""
    size = PORTRAIT if column else LANDSCAPE
    W, H = size
    frame = filled(size, bar_colour)
    bar = round(0.13 * H) if column else round(0.16 * H)
    scale = 1.0
    while text_width(title, scale, 2, cv2.FONT_HERSHEY_DUPLEX) > 0.9 * W and scale > 0.3:
        scale -= 0.05
    tw = text_width(title, scale, 2, cv2.FONT_HERSHEY_DUPLEX)
    text(frame, title, ((W - tw) // 2, bar // 2 + round(12 * scale)), scale, title_colour, 2, cv2.FONT_HERSHEY_DUPLEX)
    n = len(photos)
    span = (H - bar if column else W) - (n - 1) * gutter
    panels, start = [], bar if column else 0
    for k, photo in enumerate(photos):
        length = span // n + (1 if k < span % n else 0)
        rect = (0, start, W, length) if column else (start, bar, length, H - bar)
        panels.append(show(frame, photo, rect, focus[k] if focus else CENTRE))
        start += length + gutter
        if numbered:
            x, y = rect[0] + 28, rect[1] + 28
            cv2.circle(frame, (x, y), 18, title_colour, -1, cv2.LINE_AA)
            text(frame, str(k + 1), (x - 8, y + 8), 0.7, bar_colour, 2, cv2.FONT_HERSHEY_DUPLEX)
    return frame, panels


def card(photo: np.ndarray, size: tuple[int, int], background: Colour, card_colour: Colour, width_share: float,
         handle: str, caption: str) -> tuple[np.ndarray, list[Panel]]:
    """The whole photo in a rounded card on a plain background: a handle with an avatar dot above it, a caption
    below, a soft shadow under the card."""
    W, H = size
    frame = filled(size, background)
    ph0, pw0 = photo.shape[:2]
    pad, head, foot = 22, 64, 70
    w = round(width_share * W)
    h = round(w * ph0 / pw0)
    limit = round(0.9 * H) - head - foot - 2 * pad
    if h > limit:
        h, w = limit, round(limit * pw0 / ph0)
    cw, ch = w + 2 * pad, h + head + foot + pad
    cx, cy = (W - cw) // 2, (H - ch) // 2
    shadow = np.zeros((H, W), np.float32)
    shadow[cy + 10 : cy + ch + 10, cx + 6 : cx + cw + 6][rounded_mask(cw, ch, 30)] = 1
    shadow = cv2.GaussianBlur(shadow, (0, 0), 9)[..., None] * 0.35
    frame[:] = np.clip(frame * (1 - shadow), 0, 255).astype(np.uint8)
    fill_rounded(frame, (cx, cy, cw, ch), 30, card_colour)
    ink = (40, 40, 40) if sum(card_colour) > 380 else (235, 235, 235)
    cv2.circle(frame, (cx + pad + 16, cy + head // 2), 16, (120, 160, 230), -1, cv2.LINE_AA)
    text(frame, handle, (cx + pad + 42, cy + head // 2 + 7), 0.62, ink, 2)
    panel = show_rounded(frame, photo, (cx + pad, cy + head, w, h), 12, whole=True)
    words, line, lines = caption.split(), "", []
    for word in words:  # wrap the caption to the card's width, two lines at most
        if line and text_width(f"{line} {word}", 0.6) > w:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    for k, row in enumerate(lines[:2]):
        text(frame, row, (cx + pad, cy + head + h + 30 + 26 * k), 0.6, ink, 1, cv2.FONT_HERSHEY_DUPLEX)
    return frame, [panel]


# ---- single-photo edits ----------------------------------------------------------------------------------------


def portrait_blur_fill(photo: np.ndarray) -> np.ndarray:
    """A 9:16 reframe: the whole photo across the width (or height), a blurred, darker copy filling the rest."""
    W, H = PORTRAIT
    frame = blurred_backdrop(photo, PORTRAIT, (0, 0, 0), 0.0, 0.7)
    ph, pw = photo.shape[:2]
    w, h = (W, round(W * ph / pw)) if pw / ph >= W / H else (round(H * pw / ph), H)
    show(frame, photo, ((W - w) // 2, (H - h) // 2, w, h), whole=True)
    return frame


def rotate_with_border(photo: np.ndarray, clockwise: bool, border_share: float, colour: Colour) -> np.ndarray:
    """Turned a quarter, then framed by a plain border `border_share` of the long side wide."""
    turned = cv2.rotate(photo, cv2.ROTATE_90_CLOCKWISE if clockwise else cv2.ROTATE_90_COUNTERCLOCKWISE)
    b = max(2, round(border_share * max(turned.shape[:2])))
    return cv2.copyMakeBorder(turned, b, b, b, b, cv2.BORDER_CONSTANT, value=colour)


def screen_photo(photo: np.ndarray, corners: np.ndarray, wall: Colour, glare: float,
                 rng: np.random.Generator) -> np.ndarray:
    """A phone's photo of a monitor showing the picture: the picture warped onto `corners` (4 x 2, unit frame
    coordinates, clockwise from top left) inside a black bezel, over a wall, with a soft glare and sensor noise."""
    H, W = photo.shape[:2]
    frame = np.empty_like(photo)
    shade = np.linspace(1.08, 0.85, H, dtype=np.float32)[:, None, None]
    frame[:] = np.clip(np.float32(wall) * shade, 0, 255).astype(np.uint8)
    quad = (corners * np.float32([W, H])).astype(np.float32)
    centre = quad.mean(0)
    bezel = centre + (quad - centre) * 1.06
    cv2.fillConvexPoly(frame, np.round(bezel).astype(np.int32), (22, 22, 24), cv2.LINE_AA)
    src = np.float32([[0, 0], [W, 0], [W, H], [0, H]])
    warped = cv2.warpPerspective(photo, cv2.getPerspectiveTransform(src, quad), (W, H), flags=cv2.INTER_LINEAR)
    inside = np.zeros((H, W), np.uint8)
    cv2.fillConvexPoly(inside, np.round(quad).astype(np.int32), 1)
    frame[inside.astype(bool)] = warped[inside.astype(bool)]
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    light = glare * np.exp(-(((xx - 0.7 * W) / (0.35 * W)) ** 2 + ((yy - 0.3 * H) / (0.35 * H)) ** 2))
    out = frame.astype(np.float32) * 0.92 + 255 * light[..., None] + rng.normal(0, 3.0, frame.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def downscale_upscale(photo: np.ndarray, long_side: int) -> np.ndarray:
    """Shrunk to `long_side` pixels and enlarged back to its size: the detail is gone, the layout kept."""
    h, w = photo.shape[:2]
    return resize(fit_long_side(photo, long_side), w, h)


def jpeg_colour_shift(photo: np.ndarray, quality: int, gains: Sequence[float], offset: float) -> np.ndarray:
    """Per-channel gains and a brightness offset, then a JPEG re-encode at a very low quality."""
    shifted = np.clip(photo.astype(np.float32) * np.float32(gains) + offset, 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", shifted, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise OSError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_COLOR)
