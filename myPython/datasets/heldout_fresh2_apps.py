"""Template overlays and two invented apps of the "fresh2" held-out image set (datasets/heldout_fresh2.py):
EVALUATION ONLY. Written with heldout_fresh2_edits.py, apart from every training edit and earlier held-out code.
"""

from __future__ import annotations

import cv2
import numpy as np

from myPython.datasets.heldout_fresh2_edits import (
    AA,
    BLACK,
    BOLD,
    DARK_APP,
    FONT,
    LIGHT_APP,
    WHITE,
    blend,
    compact,
    contain,
    cover,
    draw_avatar,
    draw_bookmark,
    draw_bubble,
    draw_heart,
    draw_plane,
    fit_scale,
    heart_points,
    paste,
    put_centred,
    put_text,
    rounded_box,
    rounded_mask,
    star_points,
    text_size,
    wrap,
)

# ---- template overlays ------------------------------------------------------------------------------------------


def watermark(image: np.ndarray, text: str, corner: int, opacity: float) -> np.ndarray:
    """Semi-transparent white text with a soft dark shadow in one corner (0-3 clockwise from top left); its size
    and place are fractions of the image, so one template lands at the same place on every photo."""
    h, w = image.shape[:2]
    scale = fit_scale(text, round(0.34 * w), 2)
    thickness = max(1, round(scale * 1.6))
    tw, th = text_size(text, scale, thickness)
    margin = round(0.035 * w)
    x = margin if corner in (0, 3) else w - margin - tw
    y = margin + th if corner in (0, 1) else h - margin
    top = image.copy()
    put_text(top, text, x + max(1, thickness // 2), y + max(1, thickness // 2), scale, (20, 20, 20), thickness)
    put_text(top, text, x, y, scale, (250, 250, 250), thickness)
    return blend(image, top, opacity)


def stickers(image: np.ndarray, design: list[dict]) -> np.ndarray:
    """Filled, outlined sticker shapes (emoji face, star, heart, blob, triangle), each dict giving its shape,
    centre and size as fractions of the image, fill colour and outline."""
    out = image.copy()
    h, w = image.shape[:2]
    base = min(h, w)
    for s in design:
        cx, cy, r = s["x"] * w, s["y"] * h, s["size"] * base / 2
        fill, line = tuple(int(c) for c in s["fill"]), tuple(int(c) for c in s["outline"])
        t = max(2, round(r * 0.12))
        if s["shape"] == "face":
            cv2.circle(out, (round(cx), round(cy)), round(r), line, -1, AA)
            cv2.circle(out, (round(cx), round(cy)), max(1, round(r - t)), fill, -1, AA)
            for ex in (-0.35, 0.35):
                eye = (max(1, round(0.1 * r)), max(1, round(0.18 * r)))
                cv2.ellipse(out, (round(cx + ex * r), round(cy - 0.2 * r)), eye, 0, 0, 360, (40, 40, 40), -1, AA)
            cv2.ellipse(out, (round(cx), round(cy + 0.1 * r)), (max(1, round(0.5 * r)), max(1, round(0.38 * r))), 0, 15,
                        165, (40, 40, 40), max(2, t), AA)
        else:
            if s["shape"] == "star":
                pts = star_points(cx, cy, r, 5, 0.45, s.get("turn", 0.0))
            elif s["shape"] == "heart":
                pts = heart_points(cx, cy, 2 * r)
            elif s["shape"] == "triangle":
                pts = np.ascontiguousarray(star_points(cx, cy, r, 3, 0.5, s.get("turn", 0.0))[::2])
            else:  # blob: a wobbly round badge
                a = np.linspace(0, 2 * np.pi, 48, endpoint=False)
                rr = r * (1 + 0.12 * np.sin(6 * a + s.get("turn", 0.0)))
                pts = np.stack([cx + rr * np.cos(a), cy + rr * np.sin(a)], -1).round().astype(np.int32)
            cv2.fillPoly(out, [pts], fill, AA)
            cv2.polylines(out, [pts], True, line, t, AA)
    return out


def meme(image: np.ndarray, top: str, bottom: str) -> np.ndarray:
    """Bold white capitals with a black outline across the top and the bottom of the photo."""
    out = image.copy()
    h, w = image.shape[:2]
    for text, at_top in ((top, True), (bottom, False)):
        text = text.upper()
        thickness = max(2, round(w / 220))
        scale = min(fit_scale(text, round(0.92 * w), thickness, BOLD), h / 260)
        thickness = max(2, round(scale * 2.2))
        scale = min(fit_scale(text, round(0.92 * w), thickness, BOLD), h / 260)
        _, th = text_size(text, scale, thickness, BOLD)
        y = round(0.04 * h) + th if at_top else h - round(0.05 * h)
        put_centred(out, text, w // 2, y, scale, WHITE, thickness, BOLD, BLACK, max(2, thickness // 2 + 1))
    return out


def subtitles(image: np.ndarray, text: str) -> np.ndarray:
    """Burned-in subtitles: a dark translucent band near the bottom with one or two lines of white text."""
    h, w = image.shape[:2]
    scale = max(0.4, w / 900)
    thickness = max(1, round(scale * 1.8))
    lines = wrap(text, round(0.86 * w), scale, thickness)[:2]
    _, th = text_size("Ag", scale, thickness)
    gap = round(th * 0.7)
    band_h = len(lines) * th + (len(lines) + 1) * gap
    y0 = h - round(0.07 * h) - band_h
    widest = max(text_size(line, scale, thickness)[0] for line in lines)
    x0, x1 = max(0, (w - widest) // 2 - gap), min(w, (w + widest) // 2 + gap)
    dark = image.copy()
    dark[y0 : y0 + band_h, x0:x1] = 0
    out = blend(image, dark, 0.68)
    for k, line in enumerate(lines):
        put_centred(out, line, w // 2, y0 + gap + th + k * (th + gap), scale, WHITE, thickness)
    return out


# ---- two invented apps ------------------------------------------------------------------------------------------


def dark_app(photo: np.ndarray, user: str, caption: str, counts: tuple[int, int, int], progress: float,
             sound: str) -> np.ndarray:
    """A dark full-screen short-video app (576 x 1024): status bar, header with avatar and user name, the photo
    fitted to the width, an icon column on the right, caption and sound lines at the bottom, a progress bar."""
    width, height = DARK_APP
    canvas = np.full((height, width, 3), 10, np.uint8)
    fg = contain(photo, width, height)
    paste(canvas, fg, (width - fg.shape[1]) // 2, (height - fg.shape[0]) // 2)
    shade = np.ones(height, np.float32)
    shade[:150] = np.linspace(0.5, 1.0, 150)
    shade[-300:] = np.linspace(1.0, 0.42, 300)
    canvas = np.clip(np.rint(canvas.astype(np.float32) * shade[:, None, None]), 0, 255).astype(np.uint8)
    # status bar
    put_text(canvas, "9:41", 20, 24, 0.55, WHITE, 1, BOLD)
    for k in range(4):
        cv2.rectangle(canvas, (462 + 7 * k, 22 - 4 * k - 4), (466 + 7 * k, 22), WHITE, -1)
    cv2.rectangle(canvas, (510, 10), (546, 24), WHITE, 1, AA)
    cv2.rectangle(canvas, (513, 13), (536, 21), WHITE, -1)
    cv2.rectangle(canvas, (547, 14), (550, 20), WHITE, -1)
    # header: tabs, avatar, user name, follow button
    put_centred(canvas, "Following", 220, 62, 0.6, (185, 185, 185), 1, BOLD)
    put_centred(canvas, "For You", 350, 62, 0.66, WHITE, 2, BOLD)
    cv2.line(canvas, (322, 72), (378, 72), WHITE, 3, AA)
    draw_avatar(canvas, 46, 118, 22, (60, 110, 235), WHITE, user.lstrip("@")[:1] or "u")
    put_text(canvas, user, 80, 112, 0.62, WHITE, 2, BOLD, (0, 0, 0), 1)
    put_text(canvas, "Sponsored  .  2h", 80, 136, 0.45, (210, 210, 210), 1)
    rounded_box(canvas, 444, 100, 552, 136, 10, (85, 45, 238))
    put_centred(canvas, "Follow", 498, 125, 0.6, WHITE, 1, BOLD)
    # right icon column with counts
    likes, comments, shares = counts
    cx = 526
    draw_heart(canvas, cx, 560, 46, (245, 245, 245))
    put_centred(canvas, compact(likes), cx, 606, 0.5, WHITE, 1, BOLD, BLACK, 1)
    draw_bubble(canvas, cx, 650, 44, (245, 245, 245))
    for dx in (-11, 0, 11):
        cv2.circle(canvas, (cx + dx, 650), 3, (40, 40, 40), -1, AA)
    put_centred(canvas, compact(comments), cx, 696, 0.5, WHITE, 1, BOLD, BLACK, 1)
    draw_bookmark(canvas, cx, 738, 38, (245, 245, 245))
    put_centred(canvas, compact(shares // 3 + 7), cx, 782, 0.5, WHITE, 1, BOLD, BLACK, 1)
    draw_plane(canvas, cx, 826, 42, (245, 245, 245))
    put_centred(canvas, compact(shares), cx, 870, 0.5, WHITE, 1, BOLD, BLACK, 1)
    cv2.circle(canvas, (cx, 930), 26, (30, 30, 30), -1, AA)
    cv2.circle(canvas, (cx, 930), 26, (120, 120, 120), 2, AA)
    cv2.circle(canvas, (cx, 930), 12, (60, 110, 235), -1, AA)
    cv2.circle(canvas, (cx, 930), 3, WHITE, -1, AA)
    # caption and sound
    put_text(canvas, user, 22, 880, 0.66, WHITE, 2, BOLD, BLACK, 1)
    for k, line in enumerate(wrap(caption, 440, 0.55, 1)[:2]):
        put_text(canvas, line, 22, 912 + 26 * k, 0.55, WHITE, 1, FONT, BLACK, 1)
    cv2.circle(canvas, (28, 972), 5, WHITE, -1, AA)
    cv2.line(canvas, (33, 972), (33, 954), WHITE, 2, AA)
    cv2.line(canvas, (33, 954), (41, 958), WHITE, 2, AA)
    put_text(canvas, sound, 48, 977, 0.5, WHITE, 1)
    # progress bar
    cv2.line(canvas, (0, 1012), (width - 1, 1012), (95, 95, 95), 3)
    end = int(round(progress * (width - 1)))
    cv2.line(canvas, (0, 1012), (end, 1012), WHITE, 3)
    cv2.circle(canvas, (end, 1012), 6, WHITE, -1, AA)
    return canvas


def light_app(photo: np.ndarray, user: str, likes: int, liked: bool, comments: list[tuple[str, str]],
              total_comments: int, age: str) -> np.ndarray:
    """A light photo-feed app (640 x 1024): white frame, top bar with the app name, post header with avatar, the
    photo on a rounded card, a like / comment / share row, likes, a list of comments, a bottom navigation bar."""
    width, height = LIGHT_APP
    canvas = np.full((height, width, 3), 255, np.uint8)
    ink, grey, rule = (28, 28, 28), (140, 140, 140), (222, 222, 222)
    # top bar
    put_text(canvas, "picnook", 20, 42, 1.05, ink, 2, cv2.FONT_HERSHEY_SCRIPT_COMPLEX)
    draw_heart(canvas, 552, 30, 28, ink, 2)
    draw_plane(canvas, 602, 30, 28, ink, 2)
    cv2.line(canvas, (0, 58), (width - 1, 58), rule, 1)
    # post header
    cv2.circle(canvas, (40, 92), 22, (120, 60, 230), 2, AA)
    draw_avatar(canvas, 40, 92, 17, (70, 150, 90), WHITE, user[:1] or "u")
    put_text(canvas, user, 70, 90, 0.55, ink, 1, BOLD)
    put_text(canvas, "Original photo", 70, 110, 0.42, grey, 1)
    for dx in (-9, 0, 9):
        cv2.circle(canvas, (604 + dx, 92), 3, ink, -1, AA)
    # the photo on a rounded card
    cw = width - 32
    ch = int(np.clip(round(cw * photo.shape[0] / photo.shape[1]), 340, 600))
    card = cover(photo, cw, ch)
    mask = rounded_mask(cw, ch, 22).astype(np.float32) / 255
    y0 = 126
    canvas[y0 : y0 + ch, 16 : 16 + cw] = blend(canvas[y0 : y0 + ch, 16 : 16 + cw], card, mask)
    rounded_box(canvas, 15, y0 - 1, 17 + cw, y0 + ch + 1, 23, (210, 210, 210), 1)
    # like / comment / share / save row
    y = y0 + ch + 34
    if liked:
        draw_heart(canvas, 36, y, 30, (70, 60, 235))
    else:
        draw_heart(canvas, 36, y, 30, ink, 2)
    draw_bubble(canvas, 84, y, 28, ink, 2)
    draw_plane(canvas, 130, y, 28, ink, 2)
    draw_bookmark(canvas, 604, y, 28, ink, 2)
    put_text(canvas, f"{likes:,} likes", 20, y + 42, 0.55, ink, 1, BOLD)
    # comments
    y += 72
    for name, text in comments[:3]:
        put_text(canvas, name, 20, y, 0.5, ink, 1, BOLD)
        nw, _ = text_size(name, 0.5, 1, BOLD)
        rest = wrap(text, width - 50 - nw, 0.5, 1)[:1]
        if rest:
            put_text(canvas, rest[0], 30 + nw, y, 0.5, ink, 1)
        y += 28
    put_text(canvas, f"View all {total_comments} comments", 20, y, 0.5, grey, 1)
    put_text(canvas, age, 20, y + 26, 0.4, grey, 1)
    # bottom navigation
    nav = height - 58
    canvas[nav:] = 250
    cv2.line(canvas, (0, nav), (width - 1, nav), rule, 1)
    cy = nav + 29
    xs = [64, 192, 320, 448, 576]
    house = np.array([[xs[0] - 13, cy - 1], [xs[0], cy - 14], [xs[0] + 13, cy - 1], [xs[0] + 10, cy - 1],
                      [xs[0] + 10, cy + 12], [xs[0] - 10, cy + 12], [xs[0] - 10, cy - 1]], np.int32)
    cv2.fillPoly(canvas, [house], ink, AA)
    cv2.circle(canvas, (xs[1] - 3, cy - 3), 10, ink, 2, AA)
    cv2.line(canvas, (xs[1] + 4, cy + 4), (xs[1] + 12, cy + 12), ink, 3, AA)
    rounded_box(canvas, xs[2] - 13, cy - 13, xs[2] + 13, cy + 13, 6, ink, 2)
    cv2.line(canvas, (xs[2] - 6, cy), (xs[2] + 6, cy), ink, 2, AA)
    cv2.line(canvas, (xs[2], cy - 6), (xs[2], cy + 6), ink, 2, AA)
    draw_heart(canvas, xs[3], cy, 28, ink, 2)
    cv2.circle(canvas, (xs[4], cy), 13, (70, 150, 90), -1, AA)
    cv2.circle(canvas, (xs[4], cy), 15, ink, 1, AA)
    return canvas
