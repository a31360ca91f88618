"""Overlays and layouts of the "fresh" held-out video set (EVALUATION ONLY), drawn with OpenCV primitives for this
set alone (apart from every training edit and from the earlier held-out sets' drawing code).

Overlays are templates: one app frame, one watermark handle, one sticker set and one list of subtitle lines for
every source, so that two different sources under the same template are different origins (hard negatives).
Layouts put two frames together (picture-in-picture, a side-by-side reaction, a top/bottom split). Every frame
returned has even sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from myPython.datasets.heldout_fresh_videos_edits import Box, Colour, cover, even, fit_box, resize

HANDLE = "@marlo.onthego"
CAPTION = ("caught this on the way home", "would you watch the rest?")
LIKES, COMMENTS, SHARES = "48.2k", "1,093", "512"
SUBTITLES = ("- Are you filming this?", "- Only the good part.", "- Wait, look over there!", "- I can't see anything.",
             "- Keep going, keep going.", "- That's it, that's the one.", "- Okay. One more time.",
             "- We should head back soon.")
FONT = cv2.FONT_HERSHEY_DUPLEX
YELLOW: Colour = (40, 200, 255)
INK: Colour = (25, 25, 40)


@dataclass(frozen=True)
class Layer:
    """A picture and its opacity (0..1) per pixel, laid over frames of one size."""

    image: np.ndarray  # H x W x 3 float32
    alpha: np.ndarray  # H x W x 1 float32

    def over(self, frame: np.ndarray) -> np.ndarray:
        out = frame.astype(np.float32) * (1.0 - self.alpha) + self.image * self.alpha
        return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _layer(image: np.ndarray, mask: np.ndarray, opacity: float = 1.0) -> Layer:
    return Layer(image.astype(np.float32), (mask.astype(np.float32) / 255.0 * opacity)[..., None])


def _text_width(text: str, scale: float, thickness: int) -> int:
    return cv2.getTextSize(text, FONT, scale, thickness)[0][0]


# ---- app frame ----------------------------------------------------------------------------------------------

APP_SIZE = (360, 640)  # w, h
APP_VIDEO_AREA = (0, 86, 360, 400)  # x, y, w, h: the video is fitted in here
BACKGROUND: Colour = (38, 22, 16)  # deep navy (BGR)
ACCENT: Colour = (90, 110, 250)  # coral


def _heart(img: np.ndarray, cx: int, cy: int, s: int, colour: Colour) -> None:
    r = s // 2
    cv2.circle(img, (cx - r, cy - r // 2), r, colour, -1, cv2.LINE_AA)
    cv2.circle(img, (cx + r, cy - r // 2), r, colour, -1, cv2.LINE_AA)
    pts = np.array([[cx - 2 * r, cy - r // 4], [cx + 2 * r, cy - r // 4], [cx, cy + 2 * r]], np.int32)
    cv2.fillPoly(img, [pts], colour, cv2.LINE_AA)


def _bubble(img: np.ndarray, cx: int, cy: int, s: int, colour: Colour) -> None:
    cv2.ellipse(img, (cx, cy), (s, int(s * 0.75)), 0, 0, 360, colour, 2, cv2.LINE_AA)
    cv2.line(img, (cx - s // 2, cy + int(s * 0.6)), (cx - s, cy + s + 2), colour, 2, cv2.LINE_AA)


def _arrow(img: np.ndarray, cx: int, cy: int, s: int, colour: Colour) -> None:
    pts = np.array([[cx - s, cy + s // 2], [cx + s, cy - s // 2], [cx - s // 3, cy - s], [cx - s // 3, cy]], np.int32)
    cv2.polylines(img, [pts], True, colour, 2, cv2.LINE_AA)


def _status_bar(img: np.ndarray, w: int, colour: Colour) -> None:
    cv2.putText(img, "18:07", (14, 18), FONT, 0.45, colour, 1, cv2.LINE_AA)
    for k in range(4):  # signal bars
        x = w - 96 + k * 6
        cv2.rectangle(img, (x, 17 - 3 * k), (x + 3, 18), colour, -1)
    cv2.putText(img, "5G", (w - 68, 18), FONT, 0.38, colour, 1, cv2.LINE_AA)
    cv2.rectangle(img, (w - 40, 7), (w - 14, 18), colour, 1)  # battery
    cv2.rectangle(img, (w - 13, 10), (w - 11, 15), colour, -1)
    cv2.rectangle(img, (w - 38, 9), (w - 24, 16), colour, -1)


@lru_cache(maxsize=1)
def _app_chrome() -> np.ndarray:
    w, h = APP_SIZE
    img = np.empty((h, w, 3), np.uint8)
    img[:] = BACKGROUND
    white = (245, 245, 245)
    _status_bar(img, w, white)
    # header: avatar, handle, follow button
    cv2.circle(img, (34, 54), 20, ACCENT, -1, cv2.LINE_AA)
    cv2.putText(img, "M", (25, 62), FONT, 0.7, white, 2, cv2.LINE_AA)
    cv2.putText(img, HANDLE, (64, 50), FONT, 0.55, white, 1, cv2.LINE_AA)
    cv2.putText(img, "Lisbon, PT", (64, 70), FONT, 0.4, (170, 170, 170), 1, cv2.LINE_AA)
    cv2.rectangle(img, (270, 40), (344, 66), ACCENT, -1)
    cv2.putText(img, "Follow", (282, 59), FONT, 0.5, white, 1, cv2.LINE_AA)
    # action row under the video
    y = APP_VIDEO_AREA[1] + APP_VIDEO_AREA[3] + 30
    _heart(img, 30, y, 14, ACCENT)
    cv2.putText(img, LIKES, (52, y + 6), FONT, 0.45, white, 1, cv2.LINE_AA)
    _bubble(img, 130, y, 12, white)
    cv2.putText(img, COMMENTS, (150, y + 6), FONT, 0.45, white, 1, cv2.LINE_AA)
    _arrow(img, 232, y, 11, white)
    cv2.putText(img, SHARES, (250, y + 6), FONT, 0.45, white, 1, cv2.LINE_AA)
    cv2.rectangle(img, (318, y - 11), (334, y + 11), white, 2)  # bookmark
    # caption
    for k, line in enumerate(CAPTION):
        cv2.putText(img, line, (16, y + 42 + 22 * k), FONT, 0.5, white, 1, cv2.LINE_AA)
    # navigation bar
    cv2.line(img, (0, h - 44), (w, h - 44), (80, 64, 58), 1)
    for k in range(5):
        cx = 36 + k * 72
        if k == 2:
            cv2.rectangle(img, (cx - 18, h - 32), (cx + 18, h - 12), ACCENT, -1)
            cv2.line(img, (cx - 7, h - 22), (cx + 7, h - 22), white, 2)
            cv2.line(img, (cx, h - 29), (cx, h - 15), white, 2)
        else:
            cv2.circle(img, (cx, h - 22), 9, white if k == 0 else (150, 150, 150), 2, cv2.LINE_AA)
    return img


def app_frame(frame: np.ndarray) -> tuple[np.ndarray, Box]:
    """The frame inside an invented app's screen (360 x 640: status bar, handle, like / comment / share counts,
    caption, navigation bar; the same chrome for every frame); (screen, the frame's box on it)."""
    screen = _app_chrome().copy()
    ax, ay, aw, ah = APP_VIDEO_AREA
    x, y, w, h = fit_box(frame.shape[1], frame.shape[0], aw, ah)
    screen[ay + y : ay + y + h, ax + x : ax + x + w] = resize(frame, w, h)
    return screen, (ax + x, ay + y, w, h)


# ---- watermark, stickers, subtitles --------------------------------------------------------------------------


@lru_cache(maxsize=64)
def watermark_layer(w: int, h: int, corner: int) -> Layer:
    """The handle HANDLE beside a small play-button logo in one corner (0 top left, then clockwise), white at 70 %
    over a soft dark outline."""
    scale = max(0.35, 0.0016 * w)
    thick = 1
    tw = _text_width(HANDLE, scale, thick)
    logo = int(14 * scale / 0.5)
    bw, bh = tw + logo + 8, max(logo, int(22 * scale / 0.5))
    margin = max(6, w // 40)
    x = margin if corner in (0, 3) else w - margin - bw
    y = margin if corner in (0, 1) else h - margin - bh
    image = np.zeros((h, w, 3), np.uint8)
    mask = np.zeros((h, w), np.uint8)
    for target, value in ((image, (255, 255, 255)), (mask, 255)):
        cv2.rectangle(target, (x, y), (x + logo, y + logo), value, -1)
        tri = np.array([[x + logo // 3, y + logo // 4], [x + logo // 3, y + 3 * logo // 4],
                        [x + 3 * logo // 4, y + logo // 2]], np.int32)
        cv2.fillPoly(target, [tri], 0)  # a cut-out play sign
        cv2.putText(target, HANDLE, (x + logo + 6, y + logo - 2), FONT, scale, value, thick, cv2.LINE_AA)
    shadow = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    full = np.maximum(mask, (shadow > 0).astype(np.uint8) * 120)
    return _layer(image, full, 0.7)


def moving_watermark(frame: np.ndarray, t: float, period: float = 3.0) -> np.ndarray:
    """The watermark jumps clockwise to the next corner every `period` seconds."""
    h, w = frame.shape[:2]
    return watermark_layer(w, h, int(t // period) % 4).over(frame)


STICKER_SPOTS = ((0.14, 0.2, "smile"), (0.86, 0.18, "wink"), (0.2, 0.8, "surprised"), (0.82, 0.78, "shades"))


def _face(image: np.ndarray, mask: np.ndarray, cx: int, cy: int, r: int, mood: str) -> None:
    cv2.circle(image, (cx, cy), r, YELLOW, -1, cv2.LINE_AA)
    cv2.circle(image, (cx, cy), r, INK, max(1, r // 10), cv2.LINE_AA)
    cv2.circle(mask, (cx, cy), r + 1, 255, -1, cv2.LINE_AA)
    e, er = r // 3, max(1, r // 7)
    if mood == "shades":
        cv2.rectangle(image, (cx - int(r * 0.7), cy - r // 3), (cx + int(r * 0.7), cy), INK, -1)
    elif mood == "wink":
        cv2.circle(image, (cx - e, cy - e), er, INK, -1, cv2.LINE_AA)
        cv2.line(image, (cx + e - er, cy - e), (cx + e + er, cy - e), INK, max(1, r // 10), cv2.LINE_AA)
    else:
        cv2.circle(image, (cx - e, cy - e), er, INK, -1, cv2.LINE_AA)
        cv2.circle(image, (cx + e, cy - e), er, INK, -1, cv2.LINE_AA)
    if mood == "surprised":
        cv2.circle(image, (cx, cy + r // 3), max(2, r // 5), INK, -1, cv2.LINE_AA)
    else:
        cv2.ellipse(image, (cx, cy + r // 8), (r // 2, r // 3), 0, 20, 160, INK, max(1, r // 10), cv2.LINE_AA)


@lru_cache(maxsize=16)
def sticker_layer(w: int, h: int) -> Layer:
    """Four round emoji-like faces (smile, wink, surprised, sunglasses) at fixed spots (STICKER_SPOTS), each with
    a radius of 11 % of the shorter side, fully opaque."""
    image = np.zeros((h, w, 3), np.uint8)
    mask = np.zeros((h, w), np.uint8)
    r = max(6, int(0.11 * min(w, h)))
    for fx, fy, mood in STICKER_SPOTS:
        _face(image, mask, int(fx * w), int(fy * h), r, mood)
    return _layer(image, mask)


def subtitle_band(frame: np.ndarray, line: int) -> np.ndarray:
    """The frame between black bands (8 % of its height above, 24 % below), SUBTITLES[line] (cycled) written in
    the lower band in white."""
    h, w = frame.shape[:2]
    top, bottom = even(0.08 * h), even(0.24 * h)
    out = np.zeros((h + top + bottom, w, 3), np.uint8)
    out[top : top + h] = frame
    text = SUBTITLES[line % len(SUBTITLES)]
    scale = 0.5
    while scale > 0.2 and _text_width(text, scale, 1) > w - 12:
        scale -= 0.05
    x = (w - _text_width(text, scale, 1)) // 2
    cv2.putText(out, text, (x, top + h + bottom // 2 + 5), FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


# ---- layouts of two frames ------------------------------------------------------------------------------------


def pip_box(host_w: int, host_h: int, inset_w: int, inset_h: int, corner: int, share: float = 0.34) -> Box:
    """Where picture_in_picture puts the inset: `share` of the host's width (at most half its height), 8 px (3 %
    of a small host's shorter side, at least 3) from the corner's edges."""
    w = even(share * host_w)
    h = even(w * inset_h / inset_w)
    if h > host_h // 2:
        h = even(host_h // 2 - 1)
        w = even(h * inset_w / inset_h)
    m = max(3, min(8, int(0.03 * min(host_w, host_h))))
    x = m if corner in (0, 3) else host_w - m - w
    y = m if corner in (0, 1) else host_h - m - h
    return x, y, w, h


def picture_in_picture(host: np.ndarray, inset: np.ndarray, corner: int) -> tuple[np.ndarray, Box]:
    """The inset small in a corner of the host (0 top left, then clockwise) inside a 3 px white frame."""
    out = host.copy()
    x, y, w, h = pip_box(host.shape[1], host.shape[0], inset.shape[1], inset.shape[0], corner)
    cv2.rectangle(out, (x - 3, y - 3), (x + w + 2, y + h + 2), (255, 255, 255), -1)
    out[y : y + h, x : x + w] = resize(inset, w, h)
    return out, (x, y, w, h)


REACTION_SIZE = (640, 360)
REACTION_BOXES = ((8, 8, 412, 344), (428, 96, 204, 168))  # the big box, the small one


def reaction(big: np.ndarray, small: np.ndarray) -> tuple[np.ndarray, list[Box]]:
    """A 640 x 360 "reaction" screen: `big` fitted in the left box, `small` in a smaller right box, on dark grey
    with the small one under a thin accent line; (screen, [big's box, small's box])."""
    w, h = REACTION_SIZE
    out = np.empty((h, w, 3), np.uint8)
    out[:] = (46, 40, 40)
    boxes = []
    for image, (bx, by, bw, bh) in zip((big, small), REACTION_BOXES):
        x, y, fw, fh = fit_box(image.shape[1], image.shape[0], bw, bh)
        out[by + y : by + y + fh, bx + x : bx + x + fw] = resize(image, fw, fh)
        boxes.append((bx + x, by + y, fw, fh))
    sx, sy, sw, _ = boxes[1]
    cv2.line(out, (sx, sy - 6), (sx + sw, sy - 6), ACCENT, 2)
    return out, boxes


SPLIT_SIZE = (288, 512)
SPLIT_GAP = 4


def split_vertical(top: np.ndarray, bottom: np.ndarray) -> tuple[np.ndarray, list[Box]]:
    """A 288 x 512 screen: `top` over `bottom`, each cropped to fill its half, a 4 px white gap between."""
    w, h = SPLIT_SIZE
    half = (h - SPLIT_GAP) // 2
    out = np.full((h, w, 3), 255, np.uint8)
    out[:half] = cover(top, w, half)
    out[h - half :] = cover(bottom, w, half)
    return out, [(0, 0, w, half), (0, h - half, w, half)]
