"""Shared overlays and compositions of the "unseen" held-out sets (EVALUATION ONLY; see heldout_unseen_edits).

Overlays are fixed templates drawn with OpenCV into a colour + alpha layer (`layer`) and blended
over the photo, so the same template over two different photos puts the very same pixels on both
(where the layer is opaque) and changes them alike (where it is translucent). App chrome frames the
photo in a phone screen; compositions place several items on one canvas and return where each went.
"""

from __future__ import annotations

import cv2
import numpy as np

from myPython.datasets.heldout_unseen_edits import Box, cover, fit_box, paste, resize_to

ACCOUNT = "wanderlust.daily"
WATERMARK = "@pixel_hunter_22"
MEME = ("NOBODY:", "ME AT 3 AM")
SUBTITLES = ("I can't believe we actually made it", "all the way up here", "look at the light over there",
             "okay one more picture", "this is the best day ever")
FONT = cv2.FONT_HERSHEY_DUPLEX
PHONE = (720, 1280)  # app chrome canvas
PHOTO_AREA = (124, 884)  # rows of the app's photo area


class Layer:
    """A drawing surface with colour and coverage: every shape is drawn into both."""

    def __init__(self, width: int, height: int) -> None:
        self.colour = np.zeros((height, width, 3), np.uint8)
        self.alpha = np.zeros((height, width), np.float32)

    def draw(self, fn, *args, colour=(255, 255, 255), opacity: float = 1.0, **kwargs) -> None:
        """Call a cv2 drawing function `fn(img, *args, colour, **kwargs)` on colour and on coverage."""
        fn(self.colour, *args, colour, **kwargs)
        mask = np.zeros(self.alpha.shape, np.float32)
        fn(mask, *args, 1.0, **kwargs)
        hit = mask > 0
        self.alpha[hit] = np.maximum(self.alpha[hit], mask[hit] * opacity)

    def text(self, text: str, org: tuple[int, int], scale: float, colour=(255, 255, 255), thickness: int = 2,
             outline: tuple[int, int, int] | None = None, opacity: float = 1.0) -> None:
        if outline is not None:
            self.draw(cv2.putText, text, org, FONT, scale, colour=outline, thickness=thickness * 3,
                      lineType=cv2.LINE_AA, opacity=opacity)
        self.draw(cv2.putText, text, org, FONT, scale, colour=colour, thickness=thickness, lineType=cv2.LINE_AA,
                  opacity=opacity)

    def over(self, image: np.ndarray) -> np.ndarray:
        a = self.alpha[..., None]
        return np.clip(image.astype(np.float32) * (1 - a) + self.colour.astype(np.float32) * a + 0.5,
                       0, 255).astype(np.uint8)


def _text_scale(text: str, width: float, thickness: int = 2) -> float:
    (tw, _), _ = cv2.getTextSize(text, FONT, 1.0, thickness)
    return width / max(tw, 1)


# ---- overlay templates (a function of the canvas size only) ---------------------------------


def watermark_layer(width: int, height: int) -> Layer:
    """A user name in the bottom-right corner (translucent white, dark outline) and a faint copy mid-frame."""
    layer = Layer(width, height)
    scale = _text_scale(WATERMARK, 0.34 * width)
    t = max(1, int(round(scale * 1.6)))
    (tw, th), _ = cv2.getTextSize(WATERMARK, FONT, scale, t)
    x, y = width - tw - int(0.03 * width), height - int(0.04 * height)
    layer.text(WATERMARK, (x, y), scale, thickness=t, outline=(30, 30, 30), opacity=0.7)
    # the logo: a ring left of the name
    layer.draw(cv2.circle, (x - th, y - th // 2), max(2, th // 2 + 2), thickness=max(1, t), lineType=cv2.LINE_AA,
               opacity=0.7)
    big = _text_scale(WATERMARK, 0.7 * width)
    (bw, bh), _ = cv2.getTextSize(WATERMARK, FONT, big, 2)
    layer.text(WATERMARK, ((width - bw) // 2, (height + bh) // 2), big, thickness=max(1, int(big * 1.5)),
               opacity=0.22)
    return layer


def _star(cx: float, cy: float, r: float) -> np.ndarray:
    angles = np.pi / 2 + np.arange(10) * np.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, r, 0.42 * r)
    return np.int32(np.stack([cx + radii * np.cos(angles), cy - radii * np.sin(angles)], 1))


def _heart(layer: Layer, cx: int, cy: int, r: int, colour) -> None:
    layer.draw(cv2.circle, (cx - r // 2, cy - r // 3), r // 2 + 1, colour=colour, thickness=-1, lineType=cv2.LINE_AA)
    layer.draw(cv2.circle, (cx + r // 2, cy - r // 3), r // 2 + 1, colour=colour, thickness=-1, lineType=cv2.LINE_AA)
    tri = np.int32([[cx - r, cy - r // 6], [cx + r, cy - r // 6], [cx, cy + r]])
    layer.draw(cv2.fillPoly, [tri], colour=colour, lineType=cv2.LINE_AA)


def sticker_layer(width: int, height: int) -> Layer:
    """An emoji-like sticker set: a smiley, a heart, a star and an 'OMG' speech bubble (opaque)."""
    layer = Layer(width, height)
    m = min(width, height)
    r = int(0.1 * m)
    sx, sy = int(0.14 * width), int(0.17 * height)  # smiley
    layer.draw(cv2.circle, (sx, sy), r, colour=(40, 210, 250), thickness=-1, lineType=cv2.LINE_AA)
    layer.draw(cv2.circle, (sx, sy), r, colour=(20, 120, 170), thickness=max(1, r // 12), lineType=cv2.LINE_AA)
    for dx in (-r // 3, r // 3):
        layer.draw(cv2.circle, (sx + dx, sy - r // 4), max(1, r // 8), colour=(30, 30, 30), thickness=-1)
    layer.draw(cv2.ellipse, (sx, sy + r // 8), (r // 2, r // 3), 0, 15, 165, colour=(30, 30, 30),
               thickness=max(1, r // 10), lineType=cv2.LINE_AA)
    _heart(layer, int(0.84 * width), int(0.2 * height), r, (60, 40, 235))
    layer.draw(cv2.fillPoly, [_star(0.82 * width, 0.8 * height, 1.1 * r)], colour=(0, 200, 255), lineType=cv2.LINE_AA)
    bx, by = int(0.1 * width), int(0.72 * height)  # speech bubble
    layer.draw(cv2.ellipse, (bx + int(1.3 * r), by + r // 2), (int(1.4 * r), int(0.8 * r)), 0, 0, 360,
               colour=(255, 255, 255), thickness=-1, lineType=cv2.LINE_AA)
    tail = np.int32([[bx + r // 2, by + r], [bx + r, by + int(1.1 * r)], [bx + r // 4, by + int(1.6 * r)]])
    layer.draw(cv2.fillPoly, [tail], colour=(255, 255, 255))
    scale = _text_scale("OMG", 1.6 * r, 2)
    layer.text("OMG", (bx + int(0.5 * r), by + int(0.8 * r)), scale, colour=(200, 40, 160),
               thickness=max(1, int(scale * 2)))
    return layer


def meme_layer(width: int, height: int) -> Layer:
    """Top and bottom captions in big white capitals with a black outline."""
    layer = Layer(width, height)
    for text, share, y in ((MEME[0], 0.45, 0.13), (MEME[1], 0.8, 0.94)):
        scale = _text_scale(text, share * width, 2)
        t = max(2, int(round(scale * 2.2)))
        (tw, _), _ = cv2.getTextSize(text, FONT, scale, t)
        layer.text(text, ((width - tw) // 2, int(y * height)), scale, thickness=t, outline=(0, 0, 0))
    return layer


def subtitle_layer(width: int, height: int, line: int = 0) -> Layer:
    """A burned-in subtitle: a translucent dark box near the bottom with one line of white text."""
    layer = Layer(width, height)
    text = SUBTITLES[line % len(SUBTITLES)]
    scale = _text_scale(text, 0.8 * width, 2)
    t = max(1, int(round(scale * 1.8)))
    (tw, th), base = cv2.getTextSize(text, FONT, scale, t)
    x, y = (width - tw) // 2, int(0.88 * height)
    pad = max(4, th // 3)
    layer.draw(cv2.rectangle, (x - pad, y - th - pad), (x + tw + pad, y + base + pad), colour=(0, 0, 0),
               thickness=-1, opacity=0.6)
    layer.text(text, (x, y), scale, thickness=t)
    return layer


def with_layer(image: np.ndarray, make, *args) -> np.ndarray:
    """`image` under the layer `make(width, height, *args)`."""
    h, w = image.shape[:2]
    return make(w, h, *args).over(image)


# ---- app chrome ---------------------------------------------------------------------------------


def _chrome() -> Layer:
    """The phone screen around the photo: status bar, account header, action icons, caption, tab bar."""
    w, h = PHONE
    layer = Layer(w, h)
    white, ink, grey = (250, 250, 250), (20, 20, 20), (140, 140, 140)
    rect = cv2.rectangle
    layer.draw(rect, (0, 0), (w, PHOTO_AREA[0]), colour=white, thickness=-1)
    layer.draw(rect, (0, PHOTO_AREA[1]), (w, h), colour=white, thickness=-1)
    layer.text("9:41", (24, 32), 0.8, colour=ink, thickness=2)  # status bar
    for k in range(4):
        layer.draw(rect, (560 + 10 * k, 30 - 5 * k), (566 + 10 * k, 32), colour=ink, thickness=-1)
    layer.draw(rect, (630, 14), (684, 34), colour=ink, thickness=2)
    layer.draw(rect, (634, 18), (668, 30), colour=ink, thickness=-1)
    layer.draw(rect, (686, 20), (690, 28), colour=ink, thickness=-1)
    layer.draw(cv2.circle, (52, 86), 28, colour=(60, 80, 230), thickness=-1, lineType=cv2.LINE_AA)  # header
    layer.draw(cv2.circle, (52, 86), 22, colour=(200, 150, 90), thickness=-1, lineType=cv2.LINE_AA)
    layer.text(ACCOUNT, (96, 96), 0.85, colour=ink, thickness=2)
    layer.draw(rect, (520, 66), (640, 106), colour=(240, 150, 0), thickness=-1)
    layer.text("Follow", (538, 96), 0.8, colour=white, thickness=2)
    for k in range(3):
        layer.draw(cv2.circle, (684, 76 + 10 * k), 3, colour=ink, thickness=-1)
    y = PHOTO_AREA[1] + 50  # actions: heart, comment, share, bookmark
    _heart(layer, 44, y, 22, (60, 40, 235))
    layer.draw(cv2.circle, (110, y), 20, colour=ink, thickness=3, lineType=cv2.LINE_AA)
    layer.draw(cv2.fillPoly, [np.int32([[92, y + 10], [86, y + 26], [104, y + 18]])], colour=ink)
    layer.draw(cv2.polylines, [np.int32([[156, y - 16], [200, y - 20], [176, y + 22], [170, y - 2]])], True,
               colour=ink, thickness=3, lineType=cv2.LINE_AA)
    layer.draw(cv2.polylines, [np.int32([[660, y - 20], [690, y - 20], [690, y + 22], [675, y + 8], [660, y + 22]])],
               True, colour=ink, thickness=3, lineType=cv2.LINE_AA)
    layer.text("1,204 likes", (24, y + 68), 0.8, colour=ink, thickness=2)
    layer.text(f"{ACCOUNT}  golden hour never misses #travel", (24, y + 108), 0.68, colour=ink, thickness=1)
    layer.text("View all 38 comments", (24, y + 146), 0.66, colour=grey, thickness=1)
    layer.text("2 HOURS AGO", (24, y + 180), 0.5, colour=grey, thickness=1)
    layer.draw(cv2.line, (0, h - 86), (w, h - 86), colour=(215, 215, 215), thickness=2)  # tab bar
    for k, cx in enumerate(range(72, w, 144)):
        cy = h - 43
        if k == 0:
            layer.draw(cv2.fillPoly, [np.int32([[cx - 20, cy], [cx, cy - 20], [cx + 20, cy], [cx + 14, cy],
                                                [cx + 14, cy + 18], [cx - 14, cy + 18], [cx - 14, cy]])], colour=ink)
        elif k == 1:
            layer.draw(cv2.circle, (cx - 4, cy - 4), 14, colour=ink, thickness=3, lineType=cv2.LINE_AA)
            layer.draw(cv2.line, (cx + 6, cy + 6), (cx + 18, cy + 18), colour=ink, thickness=4)
        elif k == 2:
            layer.draw(rect, (cx - 18, cy - 18), (cx + 18, cy + 18), colour=ink, thickness=3)
            layer.draw(cv2.line, (cx, cy - 10), (cx, cy + 10), colour=ink, thickness=3)
            layer.draw(cv2.line, (cx - 10, cy), (cx + 10, cy), colour=ink, thickness=3)
        elif k == 3:
            layer.draw(cv2.fillPoly, [np.int32([[cx - 10, cy - 16], [cx + 14, cy], [cx - 10, cy + 16]])],
                       colour=ink)
        else:
            layer.draw(cv2.circle, (cx, cy), 18, colour=(60, 80, 230), thickness=-1, lineType=cv2.LINE_AA)
    return layer


_CHROME: list[Layer] = []


def app_chrome(image: np.ndarray) -> tuple[np.ndarray, Box]:
    """The photo as a post in a phone app (720 x 1280): fitted to the photo area on black, chrome around it."""
    if not _CHROME:
        _CHROME.append(_chrome())
    w, h = PHONE
    canvas = np.zeros((h, w, 3), np.uint8)
    photo, (x, y, pw, ph) = fit_box(image, w, PHOTO_AREA[1] - PHOTO_AREA[0])
    paste(canvas, photo, x, PHOTO_AREA[0] + y)
    return _CHROME[0].over(canvas), (x, PHOTO_AREA[0] + y, pw, ph)


# ---- compositions -------------------------------------------------------------------------------


def picture_in_picture(host: np.ndarray, inset: np.ndarray, corner: int = 1, share: float = 0.34,
                       border: int = 4) -> tuple[np.ndarray, Box]:
    """`inset` (share of the host's width, its own aspect) in a corner of `host` (0 tl, 1 tr, 2 br, 3 bl),
    with a white frame; returns the composite and the inset's box (inside the frame)."""
    out = host.copy()
    hh, hw = host.shape[:2]
    ih, iw = inset.shape[:2]
    w = max(8, int(share * hw))
    h = min(max(8, int(round(w * ih / iw))), int(0.8 * hh))
    small = resize_to(inset, w, h)
    margin = int(0.04 * min(hw, hh)) + border
    x = margin if corner in (0, 3) else hw - margin - w
    y = margin if corner in (0, 1) else hh - margin - h
    cv2.rectangle(out, (x - border, y - border), (x + w + border - 1, y + h + border - 1), (255, 255, 255), -1)
    paste(out, small, x, y)
    return out, (x, y, w, h)


def side_by_side(left: np.ndarray, right: np.ndarray, size: tuple[int, int] = (720, 640)) -> tuple[np.ndarray,
                                                                                                    list[Box]]:
    """A duet: two portrait halves, each centre-cropped to fill its half."""
    w, h = size
    half = w // 2
    canvas = np.zeros((h, w, 3), np.uint8)
    paste(canvas, cover(left, half, h), 0, 0)
    paste(canvas, cover(right, w - half, h), half, 0)
    return canvas, [(0, 0, half, h), (half, 0, w - half, h)]


def split_screen(top: np.ndarray, bottom: np.ndarray, size: tuple[int, int] = (720, 1280),
                 divider: int = 8) -> tuple[np.ndarray, list[Box]]:
    """Two items stacked (9:16 canvas), each cropped to fill its half, a black divider between."""
    w, h = size
    half = (h - divider) // 2
    canvas = np.zeros((h, w, 3), np.uint8)
    paste(canvas, cover(top, w, half), 0, 0)
    paste(canvas, cover(bottom, w, h - divider - half), 0, half + divider)
    return canvas, [(0, 0, w, half), (0, half + divider, w, h - divider - half)]


def collage(items: list[np.ndarray], size: int = 960, gutter: int = 12) -> tuple[np.ndarray, list[Box]]:
    """3 items (one tall cell left, two right) or 4 (2 x 2) on white, each cropped to fill its cell."""
    if len(items) not in (3, 4):
        raise ValueError("a collage takes 3 or 4 items")
    canvas = np.full((size, size, 3), 255, np.uint8)
    cell = (size - 3 * gutter) // 2
    a, b = gutter, 2 * gutter + cell
    if len(items) == 4:
        boxes = [(a, a, cell, cell), (b, a, cell, cell), (a, b, cell, cell), (b, b, cell, cell)]
    else:
        boxes = [(a, a, cell, size - 2 * gutter), (b, a, cell, cell), (b, b, cell, cell)]
    for item, (x, y, w, h) in zip(items, boxes):
        paste(canvas, cover(item, w, h), x, y)
    return canvas, boxes


def letterbox_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Fitted into width x height on black (for a compilation of differently shaped clips)."""
    photo, (x, y, _, _) = fit_box(image, width, height)
    canvas = np.zeros((height, width, 3), np.uint8)
    paste(canvas, photo, x, y)
    return canvas
