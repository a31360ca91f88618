"""Drawn chrome of the "fresh4" held-out image set (datasets/heldout_fresh4.py): EVALUATION ONLY.

Two invented phone app frames, a diagonal user-name watermark, a sticker set, meme captions, a story frame and a
gallery screenshot (a grid of thumbnails), all drawn with cv2 (Hershey fonts); every account name, count, text,
colour and layout is this module's own, written apart from every training edit and the earlier held-out sets.
Chrome is never an origin: the same frame, mark or sticker set around two photos is a hard negative.
"""

from __future__ import annotations

import cv2
import numpy as np

from myPython.datasets.heldout_fresh4_edits import PORTRAIT, Colour, Panel, Rect, contain_size, fill_rects, resize

WHITE, BLACK = (255, 255, 255), (0, 0, 0)
AA = cv2.LINE_AA
SANS, BOLD, SERIF, SCRIPT = cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_TRIPLEX, \
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX


def text(img: np.ndarray, words: str, org: tuple[int, int], scale: float, colour: Colour, thick: int = 1,
         font: int = SANS) -> int:
    """Draw `words` with its baseline-left at `org`; the width drawn."""
    cv2.putText(img, words, org, font, scale, colour, thick, AA)
    return cv2.getTextSize(words, font, scale, thick)[0][0]


def text_fit(img: np.ndarray, words: str, centre: tuple[int, int], width: int, height: int, colour: Colour,
             font: int = BOLD, outline: Colour | None = None) -> None:
    """`words` centred at `centre`, as large as fits in width x height, with an optional outline."""
    (tw, th), _ = cv2.getTextSize(words, font, 1.0, 2)
    scale = min(width / tw, height / th)
    thick = max(1, round(2.2 * scale))
    (tw, th), _ = cv2.getTextSize(words, font, scale, thick)
    org = (round(centre[0] - tw / 2), round(centre[1] + th / 2))
    if outline is not None:
        cv2.putText(img, words, org, font, scale, outline, thick + max(2, round(1.6 * scale)), AA)
    cv2.putText(img, words, org, font, scale, colour, thick, AA)


def heart(img: np.ndarray, centre: tuple[int, int], size: int, colour: Colour, filled: bool = True) -> None:
    """A heart `size` px wide: two lobes and a point."""
    cx, cy = centre
    r = size / 4
    t = np.linspace(0, 2 * np.pi, 48)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    pts = np.stack([cx + x * r / 8, cy + y * r / 8], 1).round().astype(np.int32)
    if filled:
        cv2.fillPoly(img, [pts], colour, AA)
    else:
        cv2.polylines(img, [pts], True, colour, max(1, size // 12), AA)


def bubble(img: np.ndarray, centre: tuple[int, int], size: int, colour: Colour) -> None:
    """A comment bubble: a ring with a tail."""
    cx, cy = centre
    cv2.circle(img, centre, size // 2, colour, max(1, size // 12), AA)
    tail = np.int32([[cx - size // 3, cy + size // 4], [cx - size // 2, cy + size // 2],
                     [cx - size // 6, cy + size // 3]])
    cv2.fillPoly(img, [tail], colour, AA)


def plane(img: np.ndarray, centre: tuple[int, int], size: int, colour: Colour) -> None:
    """A paper plane outline (send / share)."""
    cx, cy = centre
    s = size / 2
    pts = np.int32([[cx - s, cy - s * 0.2], [cx + s, cy - s * 0.8], [cx + s * 0.1, cy + s],
                    [cx - s * 0.1, cy + s * 0.1]])
    cv2.polylines(img, [pts], True, colour, max(1, size // 12), AA)


def bookmark(img: np.ndarray, centre: tuple[int, int], size: int, colour: Colour) -> None:
    cx, cy = centre
    s = size // 2
    pts = np.int32([[cx - s * 0.7, cy - s], [cx + s * 0.7, cy - s], [cx + s * 0.7, cy + s], [cx, cy + s * 0.4],
                    [cx - s * 0.7, cy + s]])
    cv2.polylines(img, [pts], True, colour, max(1, size // 12), AA)


def status_bar(img: np.ndarray, clock: str, colour: Colour, battery: float) -> None:
    """A phone status bar across the top 34 px: clock left, signal bars, wifi and a battery right."""
    w = img.shape[1]
    text(img, clock, (22, 25), 0.6, colour, 2, SANS)
    for k in range(4):  # signal
        cv2.rectangle(img, (w - 150 + 7 * k, 24 - 4 * k), (w - 146 + 7 * k, 25), colour, -1)
    for k, radius in enumerate((5, 10, 15)):  # wifi
        cv2.ellipse(img, (w - 100, 26), (radius, radius), 0, 225, 315, colour, 2 if k else -1, AA)
    cv2.rectangle(img, (w - 66, 12), (w - 30, 27), colour, 1, AA)
    cv2.rectangle(img, (w - 29, 16), (w - 26, 23), colour, -1)
    cv2.rectangle(img, (w - 64, 14), (w - 64 + round(32 * battery), 25), colour, -1)


def contain_in(frame: np.ndarray, photo: np.ndarray, rect: Rect, fill: Colour) -> Panel:
    """The whole photo fitted in `rect` of the frame (centred, `fill` around it); its panel."""
    x, y, w, h = rect
    frame[y : y + h, x : x + w] = fill
    pw, ph = contain_size((photo.shape[1], photo.shape[0]), (w, h))
    px, py = x + (w - pw) // 2, y + (h - ph) // 2
    frame[py : py + ph, px : px + pw] = resize(photo, pw, ph)
    return Panel((px, py, pw, ph), (0, 0, photo.shape[1], photo.shape[0]))


# ---- app frames ------------------------------------------------------------------------------------------------

FEED_SIZE = PORTRAIT
FEED_PHOTO: Rect = (0, 150, 540, 540)
REEL_SIZE = PORTRAIT
REEL_PHOTO: Rect = (0, 96, 540, 716)


def app_feed(photo: np.ndarray) -> tuple[np.ndarray, Rect]:
    """"pixelnest", a light photo feed: status bar, header, author row, the photo, buttons with counts, caption
    lines and a tab bar. (frame, the photo's rect)."""
    ink, grey, bg = (38, 38, 38), (142, 142, 142), (250, 250, 250)
    frame = np.empty((FEED_SIZE[1], FEED_SIZE[0], 3), np.uint8)
    frame[:] = bg
    status_bar(frame, "10:27", ink, 0.64)
    text(frame, "pixelnest", (18, 80), 1.25, ink, 2, SCRIPT)
    heart(frame, (446, 66), 28, ink, filled=False)
    plane(frame, (500, 66), 26, ink)
    cv2.line(frame, (0, 98), (540, 98), (219, 219, 219), 1)
    cv2.circle(frame, (40, 124), 19, (64, 86, 236), 3, AA)
    cv2.circle(frame, (40, 124), 14, (176, 150, 120), -1, AA)
    text(frame, "juno.wanders", (72, 120), 0.55, ink, 2)
    text(frame, "Porto, Portugal", (72, 141), 0.42, ink, 1)
    for k in range(3):
        cv2.circle(frame, (500 + 9 * k, 124), 3, ink, -1, AA)
    contain_in(frame, photo, FEED_PHOTO, (239, 239, 239))
    y = FEED_PHOTO[1] + FEED_PHOTO[3] + 36
    heart(frame, (30, y), 30, (73, 48, 237))
    text(frame, "12.4k", (52, y + 8), 0.55, ink, 2)
    bubble(frame, (138, y - 2), 26, ink)
    text(frame, "318", (160, y + 8), 0.55, ink, 2)
    plane(frame, (228, y - 2), 26, ink)
    text(frame, "1,092", (250, y + 8), 0.55, ink, 2)
    bookmark(frame, (510, y), 28, ink)
    lines = (("Liked by m.aurel and 12,388 others", ink, 0.48, 2), ("juno.wanders the light here at six", ink, 0.48, 1),
             ("View all 318 comments", grey, 0.46, 1), ("3 HOURS AGO", grey, 0.36, 1))
    for k, (words, colour, scale, thick) in enumerate(lines):
        text(frame, words, (16, y + 50 + 30 * k), scale, colour, thick)
    cv2.line(frame, (0, 904), (540, 904), (219, 219, 219), 1)
    for k in range(5):
        cx = 54 + 108 * k
        if k == 0:
            cv2.fillPoly(frame, [np.int32([[cx - 14, 934], [cx, 918], [cx + 14, 934]])], ink, AA)
            cv2.rectangle(frame, (cx - 10, 934), (cx + 10, 948), ink, -1)
        elif k == 1:
            cv2.circle(frame, (cx - 3, 930), 10, ink, 2, AA)
            cv2.line(frame, (cx + 4, 937), (cx + 12, 946), ink, 3, AA)
        elif k == 2:
            cv2.rectangle(frame, (cx - 13, 919), (cx + 13, 945), ink, 2, AA)
            cv2.line(frame, (cx, 924), (cx, 940), ink, 2)
            cv2.line(frame, (cx - 8, 932), (cx + 8, 932), ink, 2)
        elif k == 3:
            cv2.rectangle(frame, (cx - 13, 919), (cx + 13, 945), ink, 2, AA)
            cv2.fillPoly(frame, [np.int32([[cx - 4, 925], [cx + 7, 932], [cx - 4, 939]])], ink, AA)
        else:
            cv2.circle(frame, (cx, 932), 14, (120, 140, 200), -1, AA)
    return frame, FEED_PHOTO


def app_reel(photo: np.ndarray) -> tuple[np.ndarray, Rect]:
    """"loopy", a dark short-video viewer: status bar, tabs, the photo with a column of buttons and counts over
    its right edge, the author line, caption, audio line and a tab bar. (frame, the photo's rect)."""
    light, dim = (245, 245, 245), (160, 160, 160)
    frame = np.zeros((REEL_SIZE[1], REEL_SIZE[0], 3), np.uint8)
    frame[:] = (14, 12, 16)
    status_bar(frame, "21:08", light, 0.31)
    text(frame, "Following", (120, 76), 0.62, dim, 1)
    text(frame, "For You", (290, 76), 0.62, light, 2)
    cv2.line(frame, (300, 88), (366, 88), light, 3)
    cv2.circle(frame, (504, 66), 11, light, 2, AA)
    cv2.line(frame, (512, 74), (522, 84), light, 3, AA)
    contain_in(frame, photo, REEL_PHOTO, (0, 0, 0))
    x = 492
    for k, (label, draw) in enumerate((("48.2K", "heart"), ("1,337", "bubble"), ("902", "bookmark"),
                                       ("Share", "plane"))):
        y = 440 + 86 * k
        cv2.circle(frame, (x, y), 25, (40, 40, 40), -1, AA)
        if draw == "heart":
            heart(frame, (x, y + 2), 30, (90, 60, 250))
        elif draw == "bubble":
            bubble(frame, (x, y), 26, light)
        elif draw == "bookmark":
            bookmark(frame, (x, y), 24, light)
        else:
            plane(frame, (x, y), 26, light)
        (tw, _), _ = cv2.getTextSize(label, SANS, 0.45, 1)
        cv2.putText(frame, label, (x - tw // 2, y + 44), SANS, 0.45, BLACK, 3, AA)
        cv2.putText(frame, label, (x - tw // 2, y + 44), SANS, 0.45, light, 1, AA)
    cv2.circle(frame, (34, 838), 16, (90, 170, 90), -1, AA)
    end = 60 + text(frame, "@tide.and.stone", (60, 845), 0.55, light, 2)
    cv2.rectangle(frame, (end + 12, 826), (end + 84, 852), light, 1, AA)
    text(frame, "Follow", (end + 20, 845), 0.46, light, 1)
    text(frame, "salt air and slow mornings #coast #nofilter", (18, 874), 0.46, light, 1)
    text(frame, "~ original audio - tide.and.stone", (18, 896), 0.42, dim, 1)
    cv2.rectangle(frame, (0, 908), (540, 960), (6, 6, 6), -1)
    for k, label in enumerate(("Home", "Shop", "+", "Inbox", "Me")):
        cx = 54 + 108 * k
        if label == "+":
            cv2.rectangle(frame, (cx - 22, 918), (cx + 22, 948), light, -1, AA)
            cv2.line(frame, (cx - 8, 933), (cx + 8, 933), BLACK, 3)
            cv2.line(frame, (cx, 925), (cx, 941), BLACK, 3)
        else:
            (tw, _), _ = cv2.getTextSize(label, SANS, 0.42, 1)
            cv2.putText(frame, label, (cx - tw // 2, 945), SANS, 0.42, light if k == 0 else dim, 1, AA)
    return frame, REEL_PHOTO


# ---- marks on the photo ----------------------------------------------------------------------------------------

WATERMARK = "@rowan.kestrel"


def watermark(photo: np.ndarray, angle: float = 31.0, alpha: float = 0.45) -> np.ndarray:
    """One large user name across the picture's diagonal (0.85 of it), white at `alpha` with a dark edge."""
    h, w = photo.shape[:2]
    diag = int(np.hypot(w, h))
    layer = np.zeros((diag, diag), np.float32)
    edge = np.zeros((diag, diag), np.float32)
    (tw, th), _ = cv2.getTextSize(WATERMARK, SERIF, 1.0, 2)
    scale = 0.85 * diag / tw
    thick = max(2, round(2.5 * scale))
    (tw, th), _ = cv2.getTextSize(WATERMARK, SERIF, scale, thick)
    org = ((diag - tw) // 2, (diag + th) // 2)
    cv2.putText(edge, WATERMARK, org, SERIF, scale, 1.0, thick + max(2, round(1.5 * scale)), AA)
    cv2.putText(layer, WATERMARK, org, SERIF, scale, 1.0, thick, AA)
    turn = cv2.getRotationMatrix2D((diag / 2, diag / 2), angle, 1.0)
    turn[:, 2] += (w - diag) / 2, (h - diag) / 2
    layer = cv2.warpAffine(layer, turn, (w, h))[..., None]
    edge = cv2.warpAffine(edge, turn, (w, h))[..., None]
    out = photo.astype(np.float32)
    out = out * (1 - 0.35 * edge) + 20 * 0.35 * edge
    out = out * (1 - alpha * layer) + 255 * alpha * layer
    return np.clip(out, 0, 255).astype(np.uint8)


def _face(img: np.ndarray, c: tuple[int, int], r: int, mood: str) -> None:
    yellow, ink = (40, 205, 255), (30, 40, 70)
    cv2.circle(img, c, r + max(2, r // 7), WHITE, -1, AA)
    cv2.circle(img, c, r, yellow, -1, AA)
    cx, cy = c
    eye = max(2, r // 7)
    if mood == "love":
        heart(img, (cx - r // 3, cy - r // 5), r // 2, (60, 40, 230))
        heart(img, (cx + r // 3, cy - r // 5), r // 2, (60, 40, 230))
    elif mood == "wink":
        cv2.circle(img, (cx - r // 3, cy - r // 4), eye, ink, -1, AA)
        cv2.line(img, (cx + r // 5, cy - r // 4), (cx + r // 2, cy - r // 4), ink, max(2, r // 10), AA)
    else:
        cv2.circle(img, (cx - r // 3, cy - r // 4), eye, ink, -1, AA)
        cv2.circle(img, (cx + r // 3, cy - r // 4), eye, ink, -1, AA)
    if mood == "wow":
        cv2.ellipse(img, (cx, cy + r // 3), (r // 5, r // 4), 0, 0, 360, ink, -1, AA)
    elif mood == "lol":
        cv2.ellipse(img, (cx, cy + r // 8), (r // 2, r // 2), 0, 0, 180, ink, -1, AA)
        for side in (-1, 1):
            cv2.ellipse(img, (cx + side * int(0.7 * r), cy + r // 8), (r // 8, r // 4), 0, 0, 360, (240, 180, 90),
                        -1, AA)
    else:
        cv2.ellipse(img, (cx, cy + r // 8), (r // 2, r // 3), 0, 20, 160, ink, max(2, r // 9), AA)


def _star(img: np.ndarray, c: tuple[int, int], r: int, colour: Colour) -> None:
    t = np.arange(10) * np.pi / 5 - np.pi / 2
    radius = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
    pts = np.stack([c[0] + radius * np.cos(t), c[1] + radius * np.sin(t)], 1).round().astype(np.int32)
    cv2.fillPoly(img, [cv2.convexHull(pts)], WHITE, AA)
    cv2.polylines(img, [cv2.convexHull(pts)], True, WHITE, max(3, r // 5), AA)
    cv2.fillPoly(img, [pts], colour, AA)


# (kind, x, y, radius) relative to the picture: x, y of its width and height, radius of its short side
STICKERS = (("smile", 0.13, 0.16, 0.10), ("heart", 0.86, 0.14, 0.08), ("lol", 0.17, 0.80, 0.09),
            ("love", 0.82, 0.76, 0.11), ("star", 0.52, 0.10, 0.06), ("wink", 0.91, 0.47, 0.065))


def stickers(photo: np.ndarray) -> np.ndarray:
    """The fixed set of six stickers (faces, a heart, a star), opaque with a white die-cut rim."""
    out = photo.copy()
    h, w = out.shape[:2]
    short = min(h, w)
    for kind, x, y, r in STICKERS:
        c, radius = (round(x * w), round(y * h)), max(4, round(r * short))
        if kind == "heart":
            heart(out, (c[0], c[1] + radius // 8), round(2.3 * radius), WHITE)
            heart(out, c, 2 * radius, (70, 40, 225))
        elif kind == "star":
            _star(out, c, radius, (0, 190, 250))
        else:
            _face(out, c, radius, kind)
    return out


MEMES = (("WHEN THE WEEKEND", "FINALLY ARRIVES"), ("NOBODY:", "ME AT 3 AM"), ("I SAID ONE PHOTO", "TOOK 400"),
         ("MONDAY MOOD", "ACCURATE"))


def meme(photo: np.ndarray, top: str, bottom: str) -> np.ndarray:
    """Meme captions: `top` and `bottom` in large white capitals with a black outline."""
    out = photo.copy()
    h, w = out.shape[:2]
    band = round(0.13 * h)
    text_fit(out, top, (w // 2, round(0.04 * h) + band // 2), round(0.92 * w), band, WHITE, BOLD, BLACK)
    text_fit(out, bottom, (w // 2, h - round(0.04 * h) - band // 2), round(0.92 * w), band, WHITE, BOLD, BLACK)
    return out


# ---- story frame -----------------------------------------------------------------------------------------------

STORY_GRADIENTS: tuple[tuple[Colour, Colour], ...] = (((160, 60, 250), (60, 170, 255)), ((120, 70, 20), (200, 190, 60)),
                                                      ((70, 30, 40), (180, 110, 230)), ((40, 120, 40), (210, 220, 140)))
STORY_CAPTIONS = ("golden hour again", "day 3 of the trip", "saving this one", "had to stop the car for this")


def rounded_mask(w: int, h: int, radius: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    cv2.rectangle(mask, (radius, 0), (w - radius - 1, h - 1), 255, -1)
    cv2.rectangle(mask, (0, radius), (w - 1, h - radius - 1), 255, -1)
    far_x, far_y = w - radius - 1, h - radius - 1
    for cx, cy in ((radius, radius), (far_x, radius), (radius, far_y), (far_x, far_y)):
        cv2.circle(mask, (cx, cy), radius, 255, -1, AA)
    return mask


def story(photo: np.ndarray, gradient: tuple[Colour, Colour], caption: str) -> tuple[np.ndarray, Panel]:
    """A 9:16 story: vertical gradient, progress segments, the account line, the whole photo as a rounded card
    with a soft shadow, a caption under it and a message field; (frame, the card's panel)."""
    w, h = PORTRAIT
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    frame = (np.float32(gradient[0]) * (1 - t) + np.float32(gradient[1]) * t).repeat(w, 1)
    pw, ph = contain_size((photo.shape[1], photo.shape[0]), (460, 620))
    x, y = (w - pw) // 2, 130 + (620 - ph) // 2
    shadow = np.zeros((h, w), np.float32)
    shadow[y + 12 : y + ph + 12, x + 6 : x + pw + 6] = 1
    shadow = cv2.GaussianBlur(shadow, (0, 0), 10)[..., None]
    frame = frame * (1 - 0.45 * shadow)
    mask = (rounded_mask(pw, ph, 24).astype(np.float32) / 255)[..., None]
    card = resize(photo, pw, ph).astype(np.float32)
    frame[y : y + ph, x : x + pw] = frame[y : y + ph, x : x + pw] * (1 - mask) + card * mask
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    for k in range(4):
        x0 = 12 + k * 130
        cv2.line(frame, (x0, 14), (x0 + 122, 14), WHITE if k < 2 else (200, 200, 200), 3 if k < 2 else 2)
    cv2.circle(frame, (38, 56), 20, WHITE, 2, AA)
    cv2.circle(frame, (38, 56), 16, (90, 120, 170), -1, AA)
    end = 68 + text(frame, "mila.outdoors", (68, 63), 0.6, WHITE, 2)
    text(frame, "5h", (end + 12, 63), 0.5, (235, 235, 235), 1)
    cv2.line(frame, (500, 46), (518, 64), WHITE, 2, AA)
    cv2.line(frame, (518, 46), (500, 64), WHITE, 2, AA)
    text_fit(frame, caption, (w // 2, 800), 440, 34, WHITE, BOLD, (40, 40, 40))
    cv2.rectangle(frame, (16, 880), (430, 930), WHITE, 2, AA)
    text(frame, "Send message", (36, 912), 0.55, WHITE, 1)
    heart(frame, (466, 904), 30, WHITE, filled=False)
    plane(frame, (514, 904), 26, WHITE)
    return frame, Panel((x, y, pw, ph), (0, 0, photo.shape[1], photo.shape[0]))


# ---- gallery screenshot ----------------------------------------------------------------------------------------

GALLERY_COLUMNS = 3
GALLERY_TOP = 150


def gallery_rects(count: int) -> list[Rect]:
    """The cells of a gallery grid of `count` thumbnails: 3 columns of squares, 3 px apart, row by row."""
    cell = (PORTRAIT[0] - (GALLERY_COLUMNS - 1) * 3) // GALLERY_COLUMNS
    return [((k % GALLERY_COLUMNS) * (cell + 3), GALLERY_TOP + (k // GALLERY_COLUMNS) * (cell + 3), cell, cell)
            for k in range(count)]


def gallery(photos: list[np.ndarray], focus: list[tuple[float, float]]) -> tuple[np.ndarray, list[Panel]]:
    """A screenshot of a phone gallery: status bar, "Recents" header, the photos as square thumbnails (6-9),
    a photo count and a tab bar."""
    if not 6 <= len(photos) <= 9:
        raise ValueError(f"a gallery shows 6 to 9 photos, not {len(photos)}")
    ink, blue = (20, 20, 20), (245, 122, 10)
    frame = np.full((PORTRAIT[1], PORTRAIT[0], 3), 255, np.uint8)
    status_bar(frame, "14:52", ink, 0.86)
    text(frame, "Recents", (18, 100), 1.15, ink, 2, BOLD)
    text(frame, "Select", (446, 96), 0.6, blue, 2)
    text(frame, "1,204 Photos, 87 Videos", (18, 132), 0.48, (120, 120, 120), 1)
    panels = fill_rects(frame, photos, gallery_rects(len(photos)), focus)
    cv2.rectangle(frame, (0, 890), (540, 960), (246, 246, 246), -1)
    cv2.line(frame, (0, 890), (540, 890), (210, 210, 210), 1)
    for k, label in enumerate(("Library", "For You", "Albums", "Search")):
        cx = 68 + 135 * k
        colour = blue if k == 0 else (140, 140, 140)
        cv2.rectangle(frame, (cx - 12, 902), (cx + 12, 922), colour, 2 if k else -1, AA)
        (tw, _), _ = cv2.getTextSize(label, SANS, 0.42, 1)
        cv2.putText(frame, label, (cx - tw // 2, 946), SANS, 0.42, colour, 1, AA)
    return frame, panels
