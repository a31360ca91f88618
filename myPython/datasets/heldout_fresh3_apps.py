"""Shared overlays of the fresh3 held-out set (heldout_fresh3.py): two invented app frames, a large watermark text
and a sticker set, each drawn identically around or over whatever photo it gets.

Written from plain descriptions, apart from every training edit and the earlier held-out sets' overlay code. The
chrome of an app holds no randomness at all (one account, fixed counts and caption), so two screenshots of
different photos differ only where the photo shows: the hardest kind of shared template.
"""

from __future__ import annotations

import cv2
import numpy as np

from myPython.datasets.heldout_fresh3_panels import Colour, Rect, filled, show, text, text_width

LOOP_SIZE = (576, 1024)  # the dark short-video app: full-screen player
GRID_SIZE = (600, 1024)  # the light photo feed: one square post
LOOP_USER, GRID_USER = "mossy.pixels", "harbor.and.hue"
WATERMARK = "@clipnest.daily"


# ---- icons (outlines or solid shapes, `s` is the icon's size in pixels) -------------------------------------------


def heart(frame: np.ndarray, centre: tuple[int, int], s: int, colour: Colour, solid: bool) -> None:
    t = np.linspace(0, 2 * np.pi, 60)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    pts = np.round(np.stack([centre[0] + x * s / 34, centre[1] + y * s / 34], 1)).astype(np.int32)
    if solid:
        cv2.fillPoly(frame, [pts], colour, cv2.LINE_AA)
    else:
        cv2.polylines(frame, [pts], True, colour, 2, cv2.LINE_AA)


def bubble(frame: np.ndarray, centre: tuple[int, int], s: int, colour: Colour, solid: bool) -> None:
    cx, cy = centre
    thick = -1 if solid else 2
    cv2.ellipse(frame, (cx, cy - s // 10), (s // 2, s * 2 // 5), 0, 0, 360, colour, thick, cv2.LINE_AA)
    tail = np.int32([[cx - s // 4, cy + s // 5], [cx - s // 2, cy + s // 2], [cx - s // 12, cy + s // 4]])
    cv2.fillConvexPoly(frame, tail, colour, cv2.LINE_AA)


def plane(frame: np.ndarray, centre: tuple[int, int], s: int, colour: Colour) -> None:
    cx, cy = centre
    pts = np.int32([[cx - s // 2, cy - s // 8], [cx + s // 2, cy - s // 2], [cx + s // 8, cy + s // 2],
                    [cx - s // 12, cy + s // 12]])
    cv2.polylines(frame, [pts], True, colour, 2, cv2.LINE_AA)
    cv2.line(frame, (cx - s // 12, cy + s // 12), (cx + s // 2, cy - s // 2), colour, 2, cv2.LINE_AA)


def bookmark(frame: np.ndarray, centre: tuple[int, int], s: int, colour: Colour, solid: bool) -> None:
    cx, cy = centre
    pts = np.int32([[cx - s // 3, cy - s // 2], [cx + s // 3, cy - s // 2], [cx + s // 3, cy + s // 2],
                    [cx, cy + s // 5], [cx - s // 3, cy + s // 2]])
    if solid:
        cv2.fillPoly(frame, [pts], colour, cv2.LINE_AA)
    else:
        cv2.polylines(frame, [pts], True, colour, 2, cv2.LINE_AA)


def share_arrow(frame: np.ndarray, centre: tuple[int, int], s: int, colour: Colour) -> None:
    cx, cy = centre
    pts = np.int32([[cx + s // 2, cy - s // 12], [cx + s // 12, cy - s // 2], [cx + s // 12, cy - s // 4],
                    [cx - s // 2, cy - s // 6], [cx - s // 2, cy + s // 2], [cx - s // 6, cy + s // 8],
                    [cx + s // 12, cy + s // 8], [cx + s // 12, cy + s // 3]])
    cv2.fillPoly(frame, [pts], colour, cv2.LINE_AA)


def magnifier(frame: np.ndarray, centre: tuple[int, int], s: int, colour: Colour) -> None:
    cx, cy = centre
    cv2.circle(frame, (cx - s // 8, cy - s // 8), s // 3, colour, 3, cv2.LINE_AA)
    cv2.line(frame, (cx + s // 7, cy + s // 7), (cx + s // 2, cy + s // 2), colour, 3, cv2.LINE_AA)


def house(frame: np.ndarray, centre: tuple[int, int], s: int, colour: Colour) -> None:
    cx, cy = centre
    pts = np.int32([[cx - s // 2, cy], [cx, cy - s // 2], [cx + s // 2, cy], [cx + s // 3, cy],
                    [cx + s // 3, cy + s // 2], [cx - s // 3, cy + s // 2], [cx - s // 3, cy]])
    cv2.fillPoly(frame, [pts], colour, cv2.LINE_AA)


def person(frame: np.ndarray, centre: tuple[int, int], s: int, colour: Colour) -> None:
    cx, cy = centre
    cv2.circle(frame, (cx, cy - s // 5), s // 5, colour, 2, cv2.LINE_AA)
    cv2.ellipse(frame, (cx, cy + s // 2), (s // 3, s // 3), 0, 180, 360, colour, 2, cv2.LINE_AA)


def status_bar(frame: np.ndarray, width: int, colour: Colour) -> None:
    """Clock on the left; signal bars, wifi arcs and a battery on the right."""
    text(frame, "9:41", (22, 28), 0.62, colour, 2)
    for k in range(4):
        x = width - 132 + 8 * k
        cv2.rectangle(frame, (x, 26 - 4 * (k + 1)), (x + 4, 26), colour, -1)
    for k, r in enumerate((5, 10, 15)):
        cv2.ellipse(frame, (width - 86, 28), (r, r), 0, 225, 315, colour, 2 if k else -1, cv2.LINE_AA)
    cv2.rectangle(frame, (width - 58, 12), (width - 24, 28), colour, 2)
    cv2.rectangle(frame, (width - 55, 15), (width - 34, 25), colour, -1)
    cv2.rectangle(frame, (width - 23, 17), (width - 20, 23), colour, -1)


# ---- the apps ----------------------------------------------------------------------------------------------------


def app_loop(photo: np.ndarray) -> tuple[np.ndarray, Rect]:
    """The dark short-video app: the photo across the player's width (centred, black around it), the chrome drawn
    over it: status bar, Following / For You tabs, a LIVE badge and search, the account's avatar and the like,
    comment, save and share buttons with counts down the right, handle, caption and sound at the bottom, a tab bar.
    (frame, where the photo is)."""
    W, H = LOOP_SIZE
    frame = filled(LOOP_SIZE, (6, 6, 6))
    ph, pw = photo.shape[:2]
    w, h = (W, min(H, round(W * ph / pw)))
    rect = show(frame, photo, (0, (H - h) // 2, w, h)).rect
    white, grey = (250, 250, 250), (175, 175, 175)
    status_bar(frame, W, white)
    cv2.rectangle(frame, (18, 56), (74, 84), (250, 250, 250), 2)
    text(frame, "LIVE", (24, 77), 0.5, white, 2)
    text(frame, "Following", (150, 80), 0.7, grey, 2)
    text(frame, "For You", (300, 80), 0.75, white, 2)
    cv2.line(frame, (318, 92), (378, 92), white, 3)
    magnifier(frame, (534, 70), 30, white)
    x = W - 48
    cv2.circle(frame, (x, 560), 27, white, -1, cv2.LINE_AA)
    cv2.circle(frame, (x, 560), 24, (90, 140, 60), -1, cv2.LINE_AA)
    cv2.circle(frame, (x, 590), 11, (80, 45, 240), -1, cv2.LINE_AA)
    cv2.line(frame, (x - 5, 590), (x + 5, 590), white, 2)
    cv2.line(frame, (x, 585), (x, 595), white, 2)
    for y, draw, count in ((650, lambda c: heart(frame, c, 40, white, True), "48.2K"),
                           (735, lambda c: bubble(frame, c, 40, white, True), "1,093"),
                           (815, lambda c: bookmark(frame, c, 34, white, True), "5,120"),
                           (895, lambda c: share_arrow(frame, c, 40, white), "Share")):
        draw((x, y))
        text(frame, count, (x - text_width(count, 0.5, 2) // 2, y + 40), 0.5, white, 2)
    text(frame, f"@{LOOP_USER}", (18, 880), 0.72, white, 2)
    text(frame, "sunday light, no edits #calm #slowliving", (18, 912), 0.55, white, 1)
    cv2.circle(frame, (26, 944), 6, white, -1, cv2.LINE_AA)
    cv2.line(frame, (31, 944), (31, 928), white, 2)
    text(frame, f"original sound - {LOOP_USER}", (44, 950), 0.52, white, 1)
    cv2.rectangle(frame, (0, 970), (W, H), (0, 0, 0), -1)
    house(frame, (56, 996), 28, white)
    person(frame, (170, 996), 30, grey)
    cv2.rectangle(frame, (262, 980), (314, 1012), (230, 220, 40), -1)
    cv2.rectangle(frame, (268, 980), (320, 1012), (80, 45, 240), -1)
    cv2.rectangle(frame, (265, 980), (317, 1012), white, -1)
    cv2.line(frame, (281, 996), (301, 996), (0, 0, 0), 3)
    cv2.line(frame, (291, 986), (291, 1006), (0, 0, 0), 3)
    bubble(frame, (406, 998), 28, grey, False)
    person(frame, (520, 996), 30, grey)
    return frame, rect


STORY_NAMES = ("you", "lina.m", "dockside", "k.ortiz", "meadowcat")


def app_grid(photo: np.ndarray) -> tuple[np.ndarray, Rect]:
    """The light photo feed: status bar, the app's name and icons, a row of story rings, the post's header, the
    photo cropped to a square, the action row, likes, caption, comment count and a tab bar. (frame, where the
    photo is)."""
    W, H = GRID_SIZE
    frame = filled(GRID_SIZE, (252, 252, 252))
    black, grey = (20, 20, 20), (140, 140, 140)
    status_bar(frame, W, black)
    text(frame, "Pictura", (18, 84), 1.5, black, 2, cv2.FONT_HERSHEY_SCRIPT_COMPLEX)
    heart(frame, (488, 70), 30, black, False)
    plane(frame, (550, 70), 30, black)
    for k, name in enumerate(STORY_NAMES):
        cx = 58 + 120 * k
        cv2.circle(frame, (cx, 138), 33, (60, 80, 235) if k % 2 else (200, 60, 200), 3, cv2.LINE_AA)
        cv2.circle(frame, (cx, 138), 27, (205 - 18 * k, 190, 170 + 15 * k), -1, cv2.LINE_AA)
        text(frame, name, (cx - text_width(name, 0.42) // 2, 190), 0.42, black, 1)
    cv2.line(frame, (0, 200), (W, 200), (225, 225, 225), 1)
    cv2.circle(frame, (34, 226), 17, (110, 170, 200), -1, cv2.LINE_AA)
    text(frame, GRID_USER, (62, 233), 0.6, black, 2)
    for k in range(3):
        cv2.circle(frame, (548 + 12 * k, 226), 3, black, -1, cv2.LINE_AA)
    rect = show(frame, photo, (0, 250, W, W)).rect
    y = 250 + W + 30
    heart(frame, (32, y), 34, black, False)
    bubble(frame, (90, y), 32, black, False)
    plane(frame, (148, y), 32, black)
    bookmark(frame, (566, y), 30, black, False)
    text(frame, "2,417 likes", (18, y + 36), 0.6, black, 2)
    text(frame, GRID_USER, (18, y + 62), 0.55, black, 2)
    text(frame, "chasing the same light again", (18 + text_width(GRID_USER, 0.55, 2) + 10, y + 62), 0.55, black, 1)
    text(frame, "View all 58 comments", (18, y + 86), 0.5, grey, 1)
    cv2.line(frame, (0, H - 46), (W, H - 46), (225, 225, 225), 1)
    house(frame, (60, H - 22), 26, black)
    magnifier(frame, (180, H - 22), 26, black)
    cv2.rectangle(frame, (286, H - 35), (314, H - 9), black, 2)
    heart(frame, (420, H - 22), 26, black, False)
    cv2.circle(frame, (540, H - 22), 13, (110, 170, 200), -1, cv2.LINE_AA)
    return frame, rect


# ---- marks over a photo --------------------------------------------------------------------------------------------


def watermark(photo: np.ndarray) -> np.ndarray:
    """One large handle across the picture, turned 20 degrees, white at 45 % over a dark 30 % outline; its size and
    place follow the photo's width and height, so every photo of one size gets the same pixels marked."""
    H, W = photo.shape[:2]
    scale = 1.0
    thickness = max(2, round(W / 160))
    width = text_width(WATERMARK, scale, thickness, cv2.FONT_HERSHEY_TRIPLEX)
    scale *= 0.8 * W / width
    thickness = max(2, round(thickness * scale / 2))
    (tw, th), _ = cv2.getTextSize(WATERMARK, cv2.FONT_HERSHEY_TRIPLEX, scale, thickness)
    outline = np.zeros((H, W), np.uint8)
    fill = np.zeros((H, W), np.uint8)
    org = ((W - tw) // 2, (H + th) // 2)
    cv2.putText(outline, WATERMARK, org, cv2.FONT_HERSHEY_TRIPLEX, scale, 255, thickness * 3, cv2.LINE_AA)
    cv2.putText(fill, WATERMARK, org, cv2.FONT_HERSHEY_TRIPLEX, scale, 255, thickness, cv2.LINE_AA)
    turn = cv2.getRotationMatrix2D((W / 2, H / 2), 20, 1.0)
    out = photo.astype(np.float32)
    for layer, colour, opacity in ((outline, 10.0, 0.30), (fill, 255.0, 0.45)):
        alpha = cv2.warpAffine(layer, turn, (W, H)).astype(np.float32)[..., None] / 255 * opacity
        out = out * (1 - alpha) + colour * alpha
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


# (shape, centre x, centre y as shares of the width and height, size as a share of the short side, colour BGR)
STICKERS = (("smiley", 0.17, 0.2, 0.2, (40, 215, 250)), ("heart", 0.84, 0.17, 0.16, (150, 70, 245)),
            ("star", 0.8, 0.8, 0.22, (30, 170, 255)), ("wow", 0.24, 0.8, 0.24, (250, 250, 250)),
            ("bolt", 0.56, 0.38, 0.14, (0, 220, 255)))


def _sticker_shape(shape: str, cx: int, cy: int, s: int) -> list[np.ndarray]:
    """The sticker's outline polygons (its die-cut)."""
    if shape in ("smiley", "wow"):
        t = np.linspace(0, 2 * np.pi, 48)
        ry = s // 2 if shape == "smiley" else s * 3 // 8
        return [np.round(np.stack([cx + s / 2 * np.cos(t), cy + ry * np.sin(t)], 1)).astype(np.int32)]
    if shape == "heart":
        t = np.linspace(0, 2 * np.pi, 60)
        x, y = 16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        return [np.round(np.stack([cx + x * s / 34, cy + y * s / 34], 1)).astype(np.int32)]
    if shape == "star":
        angles = -np.pi / 2 + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, s / 2, s / 5)
        return [np.round(np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1)).astype(np.int32)]
    unit = np.float32([[0.1, -0.5], [-0.3, 0.05], [0.0, 0.05], [-0.15, 0.5], [0.3, -0.1], [0.0, -0.1], [0.2, -0.5]])
    return [np.round(np.float32([cx, cy]) + unit * s).astype(np.int32)]


def stickers(photo: np.ndarray) -> np.ndarray:
    """The fixed sticker set: a smiley, a heart, a star, a WOW bubble and a bolt, opaque, each with a white
    die-cut edge, at the same shares of the frame on every photo."""
    frame = photo.copy()
    H, W = frame.shape[:2]
    short = min(H, W)
    for shape, fx, fy, share, colour in STICKERS:
        cx, cy, s = round(fx * W), round(fy * H), max(12, round(share * short))
        polys = _sticker_shape(shape, cx, cy, s)
        edge = max(2, s // 14)
        cv2.polylines(frame, polys, True, (255, 255, 255), 2 * edge, cv2.LINE_AA)
        cv2.fillPoly(frame, polys, colour, cv2.LINE_AA)
        if shape == "smiley":
            for dx in (-s // 6, s // 6):
                cv2.circle(frame, (cx + dx, cy - s // 8), max(2, s // 14), (30, 30, 30), -1, cv2.LINE_AA)
            cv2.ellipse(frame, (cx, cy + s // 20), (s // 4, s // 5), 0, 20, 160, (30, 30, 30), max(2, s // 24),
                        cv2.LINE_AA)
        elif shape == "wow":
            tail = np.int32([[cx - s // 6, cy + s // 4], [cx - s // 3, cy + s // 2], [cx + s // 20, cy + s // 3]])
            cv2.fillConvexPoly(frame, tail, colour, cv2.LINE_AA)
            scale = s / 110
            tw = text_width("WOW", scale, max(1, s // 30), cv2.FONT_HERSHEY_DUPLEX)
            text(frame, "WOW", (cx - tw // 2, cy + round(12 * scale)), scale, (200, 40, 90), max(1, s // 30),
                 cv2.FONT_HERSHEY_DUPLEX)
    return frame

