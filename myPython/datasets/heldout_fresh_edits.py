"""Drawing and edits of the "fresh" held-out image set (heldout_fresh.py): EVALUATION ONLY.

Written apart from every other edit module of the project (own drawing code, layouts, parameters and
sizes). Images are BGR uint8. Three invented apps draw a phone screenshot around a photo: the chrome
(status bar, header and logo, action icons, navigation bar) is the app's own template and recurs on
every screenshot of that app; the clock, battery, user, caption and counts change per screenshot.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x, y, width, height
Colour = tuple[int, int, int]
AA = cv2.LINE_AA
SANS, BOLD, SCRIPT = cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX


# ---- geometry helpers ---------------------------------------------------------------------------------


def resize(image: np.ndarray, w: int, h: int) -> np.ndarray:
    shrink = w * h < image.shape[0] * image.shape[1]
    return cv2.resize(image, (max(1, w), max(1, h)), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def fit_long_side(image: np.ndarray, side: int) -> np.ndarray:
    """Downscale so the long side is at most `side` (never upscales)."""
    scale = side / max(image.shape[:2])
    if scale >= 1:
        return image
    return resize(image, round(image.shape[1] * scale), round(image.shape[0] * scale))


def paste_contain(canvas: np.ndarray, photo: np.ndarray, box: Box, fill: Colour) -> None:
    """The whole photo, as large as fits, centred in `box` (the rest of the box filled)."""
    x, y, w, h = box
    canvas[y : y + h, x : x + w] = fill
    scale = min(w / photo.shape[1], h / photo.shape[0])
    pw, ph = round(photo.shape[1] * scale), round(photo.shape[0] * scale)
    px, py = x + (w - pw) // 2, y + (h - ph) // 2
    canvas[py : py + ph, px : px + pw] = resize(photo, pw, ph)


def paste_cover(canvas: np.ndarray, photo: np.ndarray, box: Box) -> None:
    """The photo scaled to cover `box`, centre-cropped."""
    x, y, w, h = box
    scale = max(w / photo.shape[1], h / photo.shape[0])
    pw, ph = max(w, round(photo.shape[1] * scale)), max(h, round(photo.shape[0] * scale))
    big = resize(photo, pw, ph)
    ox, oy = (pw - w) // 2, (ph - h) // 2
    canvas[y : y + h, x : x + w] = big[oy : oy + h, ox : ox + w]


# ---- copy edits (no template) ----------------------------------------------------------------------------


def greyscale(image: np.ndarray) -> np.ndarray:
    luma = image.astype(np.float32) @ np.float32([0.0722, 0.7152, 0.2126])  # BGR weights of Rec. 709
    return np.repeat(np.clip(luma + 0.5, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise OSError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def down_up(image: np.ndarray, side: int) -> np.ndarray:
    """Shrink to `side` px on the long side, then back to the original size."""
    h, w = image.shape[:2]
    small = fit_long_side(image, side)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def crop(image: np.ndarray, fraction: float, left_share: float, top_share: float) -> np.ndarray:
    """Cut `fraction` of the width and of the height, split between the sides by the shares."""
    h, w = image.shape[:2]
    cw, ch = round(w * fraction), round(h * fraction)
    x0, y0 = round(cw * left_share), round(ch * top_share)
    return image[y0 : y0 + h - ch, x0 : x0 + w - cw].copy()


def brightness_contrast(image: np.ndarray, gain: float, bias: float) -> np.ndarray:
    out = (image.astype(np.float32) - 128.0) * gain + 128.0 + bias
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def rotate_crop(image: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate about the centre and keep the largest centred rectangle of the same aspect without borders."""
    h, w = image.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    rotated = cv2.warpAffine(image, turn, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    c, s = abs(np.cos(np.radians(degrees))), abs(np.sin(np.radians(degrees)))
    k = min(w / (w * c + h * s), h / (w * s + h * c))
    kw, kh = int(w * k) - 2, int(h * k) - 2  # a pixel of margin against interpolation at the border
    x0, y0 = (w - kw) // 2, (h - kh) // 2
    return rotated[y0 : y0 + kh, x0 : x0 + kw].copy()


# ---- compositions --------------------------------------------------------------------------------------


def picture_in_picture(host: np.ndarray, inset: np.ndarray, width_fraction: float, corner: int) -> np.ndarray:
    """`inset` at `width_fraction` of the host's width in a corner (0 top-left, clockwise), white-framed."""
    out = host.copy()
    hh, hw = host.shape[:2]
    w = round(hw * width_fraction)
    h = min(round(w * inset.shape[0] / inset.shape[1]), hh - 16)
    w = round(h * inset.shape[1] / inset.shape[0])
    margin, frame = max(6, round(0.04 * hw)), 4
    x = margin if corner in (0, 3) else hw - margin - w
    y = margin if corner in (0, 1) else hh - margin - h
    x, y = min(max(x, frame), hw - w - frame), min(max(y, frame), hh - h - frame)
    cv2.rectangle(out, (x - frame, y - frame), (x + w + frame - 1, y + h + frame - 1), (245, 245, 245), -1)
    out[y : y + h, x : x + w] = resize(inset, w, h)
    return out


def side_by_side(left: np.ndarray, right: np.ndarray, height: int = 480, gap: int = 8,
                 max_width: int = 1024) -> np.ndarray:
    """Both photos at one height next to each other, a white gap between (narrowed to `max_width`)."""
    widths = [round(height * p.shape[1] / p.shape[0]) for p in (left, right)]
    scale = min(1.0, (max_width - gap) / sum(widths))
    h = round(height * scale)
    parts = [resize(p, max(1, round(w * scale)), h) for p, w in zip((left, right), widths)]
    return np.hstack([parts[0], np.full((h, gap, 3), 250, np.uint8), parts[1]])


# ---- layers: stickers and watermarks --------------------------------------------------------------------


class Layer:
    """Colour and coverage drawn together; `over` blends the layer onto a photo of the same size."""

    def __init__(self, w: int, h: int) -> None:
        self.rgb = np.zeros((h, w, 3), np.uint8)
        self.cover = np.zeros((h, w), np.uint8)

    def draw(self, fn: Callable[..., object], *args: object, colour: Colour, **kw: object) -> None:
        fn(self.rgb, *args, colour, **kw)
        fn(self.cover, *args, 255, **kw)

    def rotate(self, degrees: float) -> None:
        h, w = self.cover.shape
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
        self.rgb = cv2.warpAffine(self.rgb, turn, (w, h), flags=cv2.INTER_LINEAR)
        self.cover = cv2.warpAffine(self.cover, turn, (w, h), flags=cv2.INTER_LINEAR)

    def over(self, image: np.ndarray, opacity: float = 1.0) -> np.ndarray:
        a = self.cover.astype(np.float32)[..., None] * (opacity / 255.0)
        out = self.rgb.astype(np.float32) * a + image.astype(np.float32) * (1.0 - a)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _pt(x: float, y: float) -> tuple[int, int]:
    return round(x), round(y)


def _star(x: float, y: float, r: float, points: int = 5) -> np.ndarray:
    angles = np.pi / 2 + np.arange(2 * points) * np.pi / points
    radii = np.where(np.arange(2 * points) % 2 == 0, r, 0.45 * r)
    return np.int32(np.stack([x + radii * np.cos(angles), y - radii * np.sin(angles)], 1))


def _heart(x: float, y: float, s: float) -> list[np.ndarray]:
    """A heart of width ~s centred at (x, y): two lobes and a point, as polygons (fillPoly input)."""
    t = np.linspace(0, 2 * np.pi, 48)
    hx = 16 * np.sin(t) ** 3
    hy = 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
    return [np.int32(np.stack([x + hx * s / 34, y - hy * s / 34], 1))]


def sticker_layer(w: int, h: int, design: int) -> Layer:
    """Sticker set `design` (0: smiley, heart, star; 1: sunglasses, speech bubble, bolt, badge), placed
    at fixed fractions of the frame and sized by its short side: the same place on every photo."""
    layer, u = Layer(w, h), min(w, h)
    white = (255, 255, 255)
    if design == 0:
        x, y, r = 0.15 * w, 0.2 * h, 0.1 * u
        layer.draw(cv2.circle, _pt(x, y), round(r * 1.12), colour=white, thickness=-1, lineType=AA)
        layer.draw(cv2.circle, _pt(x, y), round(r), colour=(40, 210, 255), thickness=-1, lineType=AA)
        for dx in (-0.35, 0.35):
            layer.draw(cv2.ellipse, _pt(x + dx * r, y - 0.25 * r), _pt(0.1 * r, 0.18 * r), 0, 0, 360,
                       colour=(30, 40, 60), thickness=-1, lineType=AA)
        layer.draw(cv2.ellipse, _pt(x, y + 0.1 * r), _pt(0.55 * r, 0.45 * r), 0, 20, 160, colour=(30, 40, 60),
                   thickness=max(2, round(0.08 * r)), lineType=AA)
        layer.draw(cv2.fillPoly, _heart(0.85 * w, 0.17 * h, 0.2 * u), colour=white, lineType=AA)
        layer.draw(cv2.fillPoly, _heart(0.85 * w, 0.17 * h, 0.17 * u), colour=(70, 50, 235), lineType=AA)
        layer.draw(cv2.fillPoly, [_star(0.8 * w, 0.8 * h, 0.13 * u)], colour=white, lineType=AA)
        layer.draw(cv2.fillPoly, [_star(0.8 * w, 0.8 * h, 0.11 * u)], colour=(190, 110, 255), lineType=AA)
        return layer
    gx, gy, gr = 0.5 * w, 0.12 * h, 0.07 * u  # sunglasses
    for dx in (-1.1, 1.1):
        layer.draw(cv2.ellipse, _pt(gx + dx * gr, gy), _pt(gr, 0.7 * gr), 0, 0, 360, colour=(20, 20, 20),
                   thickness=-1, lineType=AA)
    layer.draw(cv2.line, _pt(gx - 0.3 * gr, gy - 0.2 * gr), _pt(gx + 0.3 * gr, gy - 0.2 * gr), colour=(20, 20, 20),
               thickness=max(2, round(0.18 * gr)), lineType=AA)
    bx, by = 0.26 * w, 0.78 * h  # speech bubble
    layer.draw(cv2.fillPoly, [np.int32([_pt(bx - 0.05 * u, by + 0.06 * u), _pt(bx - 0.12 * u, by + 0.16 * u),
                                        _pt(bx + 0.03 * u, by + 0.07 * u)])], colour=white, lineType=AA)
    layer.draw(cv2.ellipse, _pt(bx, by), _pt(0.17 * u, 0.1 * u), 0, 0, 360, colour=white, thickness=-1, lineType=AA)
    scale = 0.0032 * u
    (tw, th), _ = cv2.getTextSize("OMG!", BOLD, scale, max(1, round(2.2 * scale)))
    layer.draw(cv2.putText, "OMG!", _pt(bx - tw / 2, by + th / 2), BOLD, scale, colour=(20, 20, 200),
               thickness=max(1, round(2.2 * scale)), lineType=AA)
    ox, oy, s = 0.9 * w, 0.52 * h, 0.12 * u  # lightning bolt
    bolt = np.int32([_pt(ox + fx * s, oy + fy * s) for fx, fy in
                     ((0.1, -1), (-0.45, 0.1), (-0.05, 0.1), (-0.2, 1), (0.45, -0.15), (0.05, -0.15), (0.3, -1))])
    layer.draw(cv2.fillPoly, [bolt], colour=(0, 230, 255), lineType=AA)
    layer.draw(cv2.polylines, [bolt], True, colour=(0, 120, 200), thickness=2, lineType=AA)
    cx, cy, cr = 0.1 * w, 0.48 * h, 0.07 * u  # "NEW" badge
    layer.draw(cv2.fillPoly, [_star(cx, cy, cr * 1.25, 12)], colour=(40, 40, 220), lineType=AA)
    scale = 0.0017 * u
    (tw, th), _ = cv2.getTextSize("NEW", BOLD, scale, 1)
    layer.draw(cv2.putText, "NEW", _pt(cx - tw / 2, cy + th / 2), BOLD, scale, colour=white,
               thickness=max(1, round(1.5 * scale)), lineType=AA)
    return layer


def watermark_layer(w: int, h: int, design: int) -> tuple[Layer, float]:
    """(layer, opacity): 0 a handle with a camera mark in the lower right; 1 a large diagonal stamp."""
    layer = Layer(w, h)
    if design == 0:
        text, scale = "@wander.frames", 0.0011 * w
        thick = max(1, round(2 * scale))
        (tw, th), _ = cv2.getTextSize(text, BOLD, scale, thick)
        x, y = w - tw - round(0.03 * w), h - round(0.04 * h)
        r = max(4, round(0.8 * th))
        for dx, colour in ((2, (0, 0, 0)), (0, (255, 255, 255))):  # a dark shadow under white
            layer.draw(cv2.rectangle, _pt(x - 3.2 * r + dx, y - 1.5 * r + dx), _pt(x - 0.8 * r + dx, y + 0.2 * r + dx),
                       colour=colour, thickness=max(1, thick), lineType=AA)
            layer.draw(cv2.circle, _pt(x - 2 * r + dx, y - 0.65 * r + dx), max(2, round(0.45 * r)), colour=colour,
                       thickness=max(1, thick), lineType=AA)
            layer.draw(cv2.putText, text, (x + dx, y + dx), BOLD, scale, colour=colour, thickness=thick, lineType=AA)
        return layer, 0.75
    scale = 0.0042 * min(w, h)
    thick = max(2, round(2.5 * scale))
    for text, dy, s in (("PIXELVAULT", -0.02, scale), ("stock preview  #48213", 0.09, 0.4 * scale)):
        t = max(1, round(thick * s / scale))
        (tw, th), _ = cv2.getTextSize(text, BOLD, s, t)
        layer.draw(cv2.putText, text, _pt((w - tw) / 2, h / 2 + dy * min(w, h) + th / 2), BOLD, s,
                   colour=(255, 255, 255), thickness=t, lineType=AA)
    layer.rotate(24.0)
    return layer, 0.4


# ---- app screenshots -------------------------------------------------------------------------------------

SYLLABLES = ("ka", "lo", "mi", "ra", "zen", "tu", "vi", "no", "sa", "el", "ju", "bo", "fi", "ne", "ro", "ta", "quin",
             "dax", "mo", "ly")
WORDS = ("sunny", "weekend", "vibes", "look", "at", "this", "view", "cannot", "believe", "it", "finally", "home",
         "best", "day", "ever", "with", "my", "crew", "so", "calm", "today", "new", "spot", "found", "morning",
         "walk", "golden", "hour", "again", "love", "the", "colours", "who", "else", "wants", "to", "go", "back",
         "there", "tbt")


def user_name(rng: np.random.Generator) -> str:
    name = "".join(rng.choice(SYLLABLES, int(rng.integers(2, 4))))
    return name + (f"_{int(rng.integers(1, 99))}" if rng.random() < 0.5 else "")


def caption_lines(rng: np.random.Generator, lines: int, hashtags: bool = True) -> list[str]:
    out = [" ".join(rng.choice(WORDS, int(rng.integers(4, 7)))) for _ in range(lines)]
    if hashtags:
        out[-1] += " " + " ".join(f"#{t}" for t in rng.choice(WORDS, 2, replace=False))
    return out


def count_text(n: int) -> str:
    return f"{n / 1000:.1f}K" if n >= 1000 else str(n)


def _text(c: np.ndarray, s: str, x: float, y: float, scale: float, colour: Colour, thick: int = 1,
          font: int = SANS) -> None:
    cv2.putText(c, s, _pt(x, y), font, scale, colour, thick, AA)


def _centred(c: np.ndarray, s: str, x: float, y: float, scale: float, colour: Colour, thick: int = 1) -> None:
    (tw, _), _ = cv2.getTextSize(s, SANS, scale, thick)
    _text(c, s, x - tw / 2, y, scale, colour, thick)


def status_bar(c: np.ndarray, y: int, fg: Colour, rng: np.random.Generator) -> None:
    """Clock at the left; signal bars, wifi arcs and a battery (level drawn per screenshot) at the right."""
    w = c.shape[1]
    _text(c, f"{int(rng.integers(6, 23))}:{int(rng.integers(0, 60)):02d}", 18, y + 21, 0.55, fg, 1, BOLD)
    for k in range(4):
        cv2.rectangle(c, (w - 128 + 7 * k, y + 20 - 4 * (k + 1)), (w - 124 + 7 * k, y + 20), fg, -1)
    for r in (4, 9, 14):
        cv2.ellipse(c, (w - 82, y + 21), (r, r), 0, 225, 315, fg, 2, AA)
    cv2.rectangle(c, (w - 58, y + 8), (w - 26, y + 22), fg, 1, AA)
    cv2.rectangle(c, (w - 25, y + 12), (w - 23, y + 18), fg, -1)
    level = float(rng.uniform(0.15, 1.0))
    cv2.rectangle(c, (w - 56, y + 10), (w - 56 + round(28 * level), y + 20), fg if level > 0.2 else (40, 40, 230), -1)


def heart(c: np.ndarray, x: float, y: float, s: float, colour: Colour, filled: bool = True) -> None:
    pts = _heart(x, y, s)
    cv2.fillPoly(c, pts, colour, AA) if filled else cv2.polylines(c, pts, True, colour, 2, AA)


def bubble(c: np.ndarray, x: float, y: float, s: float, colour: Colour, thick: int = 2) -> None:
    cv2.ellipse(c, _pt(x, y), _pt(s / 2, 0.42 * s), 0, 0, 360, colour, thick, AA)
    cv2.fillPoly(c, [np.int32([_pt(x - 0.35 * s, y + 0.2 * s), _pt(x - 0.45 * s, y + 0.5 * s),
                               _pt(x - 0.1 * s, y + 0.38 * s)])], colour, AA)


def arrow(c: np.ndarray, x: float, y: float, s: float, colour: Colour) -> None:
    pts = [(-0.5, 0.15), (0.05, 0.15), (0.05, 0.4), (0.5, 0), (0.05, -0.4), (0.05, -0.15), (-0.5, -0.15)]
    cv2.fillPoly(c, [np.int32([_pt(x + a * s, y + b * s) for a, b in pts])], colour, AA)


def bookmark(c: np.ndarray, x: float, y: float, s: float, colour: Colour, thick: int = -1) -> None:
    pts = np.int32([_pt(x + a * s, y + b * s) for a, b in ((-0.3, -0.5), (0.3, -0.5), (0.3, 0.5), (0, 0.25),
                                                           (-0.3, 0.5))])
    cv2.fillPoly(c, [pts], colour, AA) if thick < 0 else cv2.polylines(c, [pts], True, colour, thick, AA)


def nav_bar(c: np.ndarray, y: int, h: int, bg: Colour, fg: Colour, accent: Colour) -> None:
    """Home, search, create, inbox and profile icons evenly spread over a bar."""
    w = c.shape[1]
    c[y : y + h] = bg
    cy, s = y + h // 2, 26
    xs = [w * (k + 0.5) / 5 for k in range(5)]
    cv2.fillPoly(c, [np.int32([_pt(xs[0] + a * s, cy + b * s) for a, b in
                               ((-0.5, 0), (0, -0.5), (0.5, 0), (0.35, 0), (0.35, 0.45), (-0.35, 0.45), (-0.35, 0))])],
                 fg, AA)
    cv2.circle(c, _pt(xs[1] - 3, cy - 3), 9, fg, 2, AA)
    cv2.line(c, _pt(xs[1] + 4, cy + 4), _pt(xs[1] + 11, cy + 11), fg, 3, AA)
    cv2.rectangle(c, _pt(xs[2] - 22, cy - 14), _pt(xs[2] + 22, cy + 14), accent, -1, AA)
    cv2.line(c, _pt(xs[2] - 8, cy), _pt(xs[2] + 8, cy), bg, 3, AA)
    cv2.line(c, _pt(xs[2], cy - 8), _pt(xs[2], cy + 8), bg, 3, AA)
    bubble(c, xs[3], cy - 2, s * 0.9, fg)
    cv2.circle(c, _pt(xs[4], cy - 6), 7, fg, 2, AA)
    cv2.ellipse(c, _pt(xs[4], cy + 11), (12, 8), 0, 180, 360, fg, 2, AA)


def rounded_rect(c: np.ndarray, p0: tuple[int, int], p1: tuple[int, int], r: int, colour: Colour) -> None:
    (x0, y0), (x1, y1) = p0, p1
    cv2.rectangle(c, (x0 + r, y0), (x1 - r, y1), colour, -1)
    cv2.rectangle(c, (x0, y0 + r), (x1, y1 - r), colour, -1)
    for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
        cv2.circle(c, (cx, cy), r, colour, -1, AA)


def avatar(c: np.ndarray, x: float, y: float, r: int, ring: Colour, rng: np.random.Generator) -> None:
    cv2.circle(c, _pt(x, y), r + 3, ring, -1, AA)
    cv2.circle(c, _pt(x, y), r, tuple(int(v) for v in rng.integers(60, 220, 3)), -1, AA)


def app_reel(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """"Loopz", a dark short-video app (576 x 1024): the photo fills the middle, the icons stand over it."""
    c = np.full((1024, 576, 3), 14, np.uint8)
    paste_contain(c, photo, (0, 80, 576, 780), (14, 14, 14))
    white, pink, cyan = (255, 255, 255), (110, 40, 250), (235, 225, 40)
    status_bar(c, 0, white, rng)
    cv2.circle(c, (38, 56), 17, pink, -1, AA)
    cv2.fillPoly(c, [np.int32([(32, 46), (32, 66), (48, 56)])], white, AA)
    _text(c, "Loopz", 62, 66, 0.85, white, 2, BOLD)
    _text(c, "Following", 300, 64, 0.55, (170, 170, 170))
    _text(c, "For You", 428, 64, 0.6, white, 1, BOLD)
    cv2.line(c, (440, 72), (500, 72), white, 2)
    x = 530
    avatar(c, x, 500, 24, white, rng)
    cv2.circle(c, (x, 528), 9, pink, -1, AA)
    cv2.line(c, (x - 4, 528), (x + 4, 528), white, 2)
    cv2.line(c, (x, 524), (x, 532), white, 2)
    for k, (icon, label) in enumerate(((heart, count_text(int(rng.integers(200, 90000)))),
                                       (bubble, count_text(int(rng.integers(10, 3000)))), (arrow, "Share"))):
        y = 590 + 82 * k
        icon(c, x, y, 42, white)
        _centred(c, label, x, y + 40, 0.45, white, 1)
    cv2.circle(c, (x, 842), 22, (40, 40, 40), -1, AA)
    cv2.circle(c, (x, 842), 9, cyan, -1, AA)
    user = user_name(rng)
    _text(c, f"@{user}", 16, 892, 0.65, white, 1, BOLD)
    for k, line in enumerate(caption_lines(rng, 2)):
        _text(c, line, 16, 920 + 24 * k, 0.5, (235, 235, 235))
    cv2.circle(c, (22, 960), 6, white, -1, AA)
    _text(c, f"original sound - {user}", 36, 966, 0.45, white)
    nav_bar(c, 976, 48, (0, 0, 0), white, pink)
    return c


def app_feed(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """"Pictura", a light photo feed (600 x 1024): a square crop of the photo between a user row and a like bar."""
    c = np.full((1024, 600, 3), 250, np.uint8)
    ink, grey, magenta = (24, 24, 24), (140, 140, 140), (170, 50, 215)
    status_bar(c, 0, ink, rng)
    cv2.rectangle(c, (16, 40), (52, 76), magenta, 3, AA)
    cv2.circle(c, (34, 58), 8, magenta, 3, AA)
    cv2.circle(c, (45, 48), 2, magenta, -1, AA)
    _text(c, "Pictura", 64, 74, 1.25, ink, 2, SCRIPT)
    heart(c, 510, 60, 30, ink, filled=False)
    arrow(c, 565, 58, 28, ink)
    cv2.line(c, (0, 88), (600, 88), (220, 220, 220), 1)
    avatar(c, 34, 116, 18, magenta, rng)
    user = user_name(rng)
    _text(c, user, 64, 122, 0.55, ink, 1, BOLD)
    for dx in (-8, 0, 8):
        cv2.circle(c, (572 + dx, 116), 2, ink, -1)
    paste_cover(c, photo, (0, 144, 600, 600))
    heart(c, 32, 772, 32, (60, 50, 235))
    bubble(c, 84, 770, 30, ink)
    arrow(c, 134, 770, 30, ink)
    bookmark(c, 570, 770, 30, ink, 2)
    for k in range(4):
        cv2.circle(c, (282 + 12 * k, 770), 3, (230, 150, 40) if k == 0 else (200, 200, 200), -1, AA)
    _text(c, f"{int(rng.integers(30, 60000)):,} likes", 16, 824, 0.55, ink, 1, BOLD)
    lines = caption_lines(rng, 2)
    (uw, _), _ = cv2.getTextSize(user, BOLD, 0.5, 1)
    _text(c, user, 16, 852, 0.5, ink, 1, BOLD)
    _text(c, lines[0], 24 + uw, 852, 0.5, ink)
    _text(c, lines[1], 16, 876, 0.5, ink)
    _text(c, f"View all {int(rng.integers(3, 400))} comments", 16, 904, 0.5, grey)
    _text(c, f"{int(rng.integers(1, 23))} HOURS AGO", 16, 930, 0.4, grey)
    cv2.line(c, (0, 964), (600, 964), (220, 220, 220), 1)
    nav_bar(c, 965, 59, (250, 250, 250), ink, magenta)
    return c


def app_board(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """"Hexly", a purple board app (640 x 960): the photo in a rounded card, an icon column at its right."""
    bg, card, orange, light = (52, 22, 40), (78, 40, 62), (0, 150, 255), (230, 220, 235)
    c = np.full((960, 640, 3), bg, np.uint8)
    status_bar(c, 0, light, rng)
    hexagon = np.int32([_pt(44 + 22 * np.cos(a), 64 + 22 * np.sin(a)) for a in np.arange(6) * np.pi / 3])
    cv2.fillPoly(c, [hexagon], orange, AA)
    cv2.circle(c, (44, 64), 7, (255, 255, 255), -1, AA)
    _text(c, "Hexly", 78, 76, 1.0, (255, 255, 255), 2, BOLD)
    cv2.circle(c, (556, 60), 11, light, 2, AA)
    cv2.line(c, (564, 68), (574, 78), light, 3, AA)
    cv2.circle(c, (606, 64), 12, light, 2, AA)
    cv2.circle(c, (614, 54), 5, (60, 60, 235), -1, AA)
    x = 16
    for k, chip in enumerate(("Trending", "Nearby", "New", "Music")):
        (tw, _), _ = cv2.getTextSize(chip, SANS, 0.5, 1)
        cv2.rectangle(c, (x, 104), (x + tw + 24, 136), orange if k == 0 else light, -1 if k == 0 else 1, AA)
        _text(c, chip, x + 12, 126, 0.5, bg if k == 0 else light)
        x += tw + 36
    rounded_rect(c, (16, 150), (560, 690), 14, card)
    paste_contain(c, photo, (26, 160, 524, 520), card)
    icons = ((heart, int(rng.integers(50, 40000))), (bubble, int(rng.integers(5, 900))),
             (arrow, int(rng.integers(1, 500))), (bookmark, int(rng.integers(1, 3000))))
    for k, (icon, n) in enumerate(icons):
        y = 220 + 100 * k
        icon(c, 600, y, 34, light)
        _centred(c, count_text(n), 600, y + 38, 0.45, light)
    for dy in (-10, 0, 10):
        cv2.circle(c, (600, 640 + dy), 3, light, -1, AA)
    avatar(c, 44, 738, 22, orange, rng)
    _text(c, user_name(rng), 80, 736, 0.6, (255, 255, 255), 1, BOLD)
    _text(c, f"{int(rng.integers(1, 59))}m", 80, 760, 0.45, (170, 150, 170))
    rounded_rect(c, (500, 718), (620, 754), 18, orange)
    _text(c, "Follow", 528, 742, 0.55, bg, 1, BOLD)
    lines = caption_lines(rng, 3)
    for k, line in enumerate(lines):
        _text(c, line, 24, 800 + 28 * k, 0.55, light)
    nav_bar(c, 900, 60, (66, 32, 52), light, orange)
    return c


APPS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "reel": app_reel, "feed": app_feed, "board": app_board}
