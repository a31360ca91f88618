"""EVALUATION ONLY: the frame edits, overlay templates and layouts of the "fresh2" held-out video set.

Written from plain descriptions, apart from every training edit and from the earlier held-out sets' edit code;
every parameter was fixed before the set was ever scored. Frames are BGR uint8; every output has even sides.

Frame edits (parameters: the builder draws them per source, heldout_fresh2_videos.draw_params):
    shrink_long_side(frame, side)          the long side scaled to `side` (tiny_bitrate: 176, thumbnail: 96-128)
    blur_blocks(frame, sigma, quality)     Gaussian blur (sigma 2.2-3.5), then JPEG at quality 6-12
    add_noise(frame, sigma, seed)          Gaussian noise (sigma 22-32), a little of it per channel, per frame
    rotate(frame, quarter_turns)           1: 90 degrees clockwise, 2: 180, 3: 270 clockwise
    portrait(frame, fill, colour)          PORTRAIT_SIZE (252 x 448): the frame across the width, centred; the rest
                                           the frame blurred (sigma 14) at 70 % ("blur") or a flat colour ("colour")
    zoom_in(frame, factor, centre)         a crop 1 / factor (1.3-1.5) of each side round `centre`, scaled back
    filmed_screen(frame, tilt, glare)      the frame on a screen filmed at an angle: a dark surround, the screen at
                                           78 % of each side, one horizontal edge shorter by `tilt` (4-8 %, top or
                                           bottom), dimmed to 88 %, a soft glare blob at `glare` (x, y shares)
    greyscale, sepia_vignette (sepia matrix, lifted blacks, vignette to 45 % in the corners), hue_saturation
    (hue turned by 40-140 degrees of 360, saturation x1.7), invert_contrast (a steep S-curve, inverted: slope 7-10)
Overlays (templates shared by every source: hard negatives across sources):
    app_frame(frame)        APP_SIZE (288 x 576) "reelzy" app screen: status bar, header tabs, the video fitted
                            across the width, side buttons with counts, handle, caption, music line and a nav bar
    watermark(frame, t)     "@mira.clips" and a logo square at 60 %, drifting on a Lissajous path (periods 7 s, 4.6 s)
    stickers(frame)         a star, a heart, a smiley and an "OMG" bubble at fixed spots, about 22 % of the short side
    meme(frame)             MEME_LINES in bold white capitals with a black outline, top and bottom
    subtitles(frame, t)     SUBTITLE_LINES, a new one every SUBTITLE_SECONDS = 1.8 s, white on a 55 % black box
Layouts: pip (the inset 30 % of the host's width in a corner, white border), duet (DUET_SIZE 480 x 270, two
halves), split_tb (SPLIT_SIZE 252 x 448, top and bottom), grid_2x2 (GRID_SIZE 384 x 288), letterbox (compilations).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import cv2
import numpy as np

PORTRAIT_SIZE = (252, 448)
APP_SIZE = (288, 576)
DUET_SIZE = (480, 270)
SPLIT_SIZE = (252, 448)
GRID_SIZE = (384, 288)
SUBTITLE_SECONDS = 1.8
MEME_LINES = ("ME EXPLAINING THE PLAN", "THE PLAN:")
SUBTITLE_LINES = ("I told you it would work", "okay, one more time", "nobody saw that coming",
                  "wait for it...", "that's what I said!", "see you tomorrow")
FONT = cv2.FONT_HERSHEY_DUPLEX


def even(n: float) -> int:
    """The nearest even integer, at least 2."""
    return max(2, int(round(n / 2.0)) * 2)


def resize(frame: np.ndarray, w: int, h: int) -> np.ndarray:
    shrink = w * h < frame.shape[0] * frame.shape[1]
    return cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def shrink_long_side(frame: np.ndarray, side: int) -> np.ndarray:
    """The long side scaled to `side` (both sides even)."""
    h, w = frame.shape[:2]
    s = side / max(h, w)
    return resize(frame, even(w * s), even(h * s))


def cover(frame: np.ndarray, w: int, h: int) -> np.ndarray:
    """Scaled to fill w x h, the overflow cut off evenly."""
    fh, fw = frame.shape[:2]
    s = max(w / fw, h / fh)
    big = resize(frame, max(w, int(np.ceil(fw * s))), max(h, int(np.ceil(fh * s))))
    y, x = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return big[y : y + h, x : x + w]


def fit_box(frame: np.ndarray, w: int, h: int) -> tuple[int, int]:
    """The even size of the frame scaled to fit inside w x h."""
    fh, fw = frame.shape[:2]
    s = min(w / fw, h / fh)
    return min(w, even(fw * s)), min(h, even(fh * s))


def letterbox(frame: np.ndarray, w: int, h: int, colour: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """Scaled to fit w x h, centred on a flat colour."""
    out = np.empty((h, w, 3), np.uint8)
    out[:] = colour
    bw, bh = fit_box(frame, w, h)
    x, y = (w - bw) // 2, (h - bh) // 2
    out[y : y + bh, x : x + bw] = resize(frame, bw, bh)
    return out


# ---- quality -----------------------------------------------------------------------------------------------


def blur_blocks(frame: np.ndarray, sigma: float, quality: int) -> np.ndarray:
    blurred = cv2.GaussianBlur(frame, (0, 0), sigma)
    ok, data = cv2.imencode(".jpg", blurred, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else blurred


def add_noise(frame: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shared = rng.normal(0.0, sigma, frame.shape[:2] + (1,))
    own = rng.normal(0.0, 0.35 * sigma, frame.shape)
    return np.clip(frame.astype(np.float32) + shared + own, 0, 255).astype(np.uint8)


# ---- geometry ----------------------------------------------------------------------------------------------


def rotate(frame: np.ndarray, quarter_turns: int) -> np.ndarray:
    codes = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return cv2.rotate(frame, codes[quarter_turns % 4]) if quarter_turns % 4 else frame.copy()


def portrait(frame: np.ndarray, fill: str, colour: tuple[int, int, int]) -> np.ndarray:
    w, h = PORTRAIT_SIZE
    if fill == "blur":
        small = cv2.GaussianBlur(cover(frame, w // 4, h // 4), (0, 0), 3.5)  # sigma 14 at full size
        out = (resize(small, w, h) * 0.7).astype(np.uint8)
    else:
        out = np.empty((h, w, 3), np.uint8)
        out[:] = colour
    bw, bh = fit_box(frame, w, h)
    y = (h - bh) // 2
    out[y : y + bh, (w - bw) // 2 : (w - bw) // 2 + bw] = resize(frame, bw, bh)
    return out


def zoom_in(frame: np.ndarray, factor: float, centre: tuple[float, float]) -> np.ndarray:
    h, w = frame.shape[:2]
    cw, ch = int(round(w / factor)), int(round(h / factor))
    x = int(np.clip(centre[0] * w - cw / 2, 0, w - cw))
    y = int(np.clip(centre[1] * h - ch / 2, 0, h - ch))
    return resize(frame[y : y + ch, x : x + cw], w, h)


@lru_cache(maxsize=32)
def _screen_parts(w: int, h: int, tilt: float, glare: tuple[float, float]) -> tuple[np.ndarray, np.ndarray,
                                                                                     np.ndarray, np.ndarray]:
    """(perspective matrix, surround, screen mask, glare) of one screen shape."""
    mx, my = 0.11 * w, 0.11 * h
    short = abs(tilt) * w
    top, bottom = (short, 0.0) if tilt > 0 else (0.0, short)
    quad = np.float32([[mx + top, my], [w - mx - top, my], [w - mx - bottom, h - my], [mx + bottom, h - my]])
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    matrix = cv2.getPerspectiveTransform(corners, quad)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    surround = np.dstack([18 + 22 * (yy / h)] * 3) + np.float32([6, 3, 0])  # a dark wall, a touch warmer low
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, (w, h))[..., None]
    d = ((xx / w - glare[0]) / 0.28) ** 2 + ((yy / h - glare[1]) / 0.18) ** 2
    light = (70.0 * np.exp(-d))[..., None] * mask
    return matrix, surround.astype(np.float32), mask, light.astype(np.float32)


def filmed_screen(frame: np.ndarray, tilt: float, glare: tuple[float, float]) -> np.ndarray:
    h, w = frame.shape[:2]
    matrix, surround, mask, light = _screen_parts(w, h, float(tilt), (float(glare[0]), float(glare[1])))
    screen = cv2.warpPerspective(frame, matrix, (w, h)).astype(np.float32) * 0.88
    out = surround * (1.0 - mask) + screen * mask + light
    return np.clip(out, 0, 255).astype(np.uint8)


# ---- photometric -------------------------------------------------------------------------------------------


def greyscale(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


@lru_cache(maxsize=16)
def _vignette(w: int, h: int, floor: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    return (1.0 - (1.0 - floor) * np.clip(r2 / 2.0, 0, 1) ** 0.8)[..., None]


SEPIA = np.float32([[0.131, 0.534, 0.272], [0.168, 0.686, 0.349], [0.189, 0.769, 0.393]])  # BGR rows


def sepia_vignette(frame: np.ndarray) -> np.ndarray:
    toned = frame.astype(np.float32) @ SEPIA.T
    toned = 24.0 + toned * (215.0 / 255.0)  # lifted blacks, softened whites: an old print
    return np.clip(toned * _vignette(frame.shape[1], frame.shape[0], 0.45), 0, 255).astype(np.uint8)


def hue_saturation(frame: np.ndarray, hue_turn: float, saturation: float) -> np.ndarray:
    hsv = cv2.cvtColor(frame, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + hue_turn / 2.0) % 180.0  # OpenCV hue: 0-180
    hsv[..., 1] = np.clip(hsv[..., 1] * saturation + 20.0, 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)


@lru_cache(maxsize=16)
def _inverted_curve(slope: float) -> np.ndarray:
    x = np.arange(256, dtype=np.float64) / 255.0
    s = 1.0 / (1.0 + np.exp(-slope * (x - 0.5)))
    s = (s - s[0]) / (s[-1] - s[0])
    return np.clip(255.0 * (1.0 - s), 0, 255).astype(np.uint8)


def invert_contrast(frame: np.ndarray, slope: float) -> np.ndarray:
    return cv2.LUT(frame, _inverted_curve(float(slope)))


# ---- overlay templates -------------------------------------------------------------------------------------


class Layer:
    """A colour image and its opacity (0-1): drawn over frames of its size."""

    def __init__(self, colour: np.ndarray, alpha: np.ndarray) -> None:
        self.colour, self.alpha = colour.astype(np.float32), alpha.astype(np.float32)[..., None]

    def over(self, frame: np.ndarray) -> np.ndarray:
        out = frame.astype(np.float32) * (1.0 - self.alpha) + self.colour * self.alpha
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _text(canvas: np.ndarray, alpha: np.ndarray | None, text: str, org: tuple[int, int], scale: float,
          colour: tuple[int, int, int], thick: int = 1, outline: int = 0, opacity: float = 1.0) -> None:
    if outline:
        cv2.putText(canvas, text, org, FONT, scale, (0, 0, 0), thick + 2 * outline, cv2.LINE_AA)
        if alpha is not None:
            cv2.putText(alpha, text, org, FONT, scale, opacity, thick + 2 * outline, cv2.LINE_AA)
    cv2.putText(canvas, text, org, FONT, scale, colour, thick, cv2.LINE_AA)
    if alpha is not None:
        cv2.putText(alpha, text, org, FONT, scale, opacity, thick, cv2.LINE_AA)


def _scale_to(text: str, width: float, thick: int, most: float) -> float:
    (tw, _), _ = cv2.getTextSize(text, FONT, 1.0, thick)
    return min(most, width / max(1, tw))


@lru_cache(maxsize=8)
def _app_template(bw: int, bh: int) -> tuple[np.ndarray, Layer, tuple[int, int]]:
    """(the screen without the video, the layer drawn over it, where the video goes) for a video of bw x bh."""
    w, h = APP_SIZE
    screen = np.empty((h, w, 3), np.uint8)
    screen[:] = (22, 16, 16)
    screen[:22] = (0, 0, 0)
    _text(screen, None, "9:41", (10, 16), 0.45, (255, 255, 255))
    cv2.rectangle(screen, (w - 34, 6), (w - 12, 15), (255, 255, 255), 1)
    cv2.rectangle(screen, (w - 32, 8), (w - 18, 13), (255, 255, 255), -1)
    for k in range(4):
        cv2.rectangle(screen, (w - 62 + 5 * k, 15 - 3 * k), (w - 59 + 5 * k, 15), (255, 255, 255), -1)
    _text(screen, None, "Following", (58, 46), 0.45, (170, 170, 170))
    _text(screen, None, "For You", (150, 46), 0.5, (255, 255, 255))
    cv2.line(screen, (160, 53), (200, 53), (255, 255, 255), 2)
    cv2.rectangle(screen, (0, h - 40), (w, h), (10, 10, 10), -1)
    for k, label in enumerate(("Home", "Shop", "", "Inbox", "Me")):
        x = 12 + k * 58
        if label:
            _text(screen, None, label, (x, h - 14), 0.38, (235, 235, 235) if k == 0 else (150, 150, 150))
    cv2.rectangle(screen, (128, h - 32), (162, h - 10), (255, 255, 255), -1)
    cv2.line(screen, (145, h - 28), (145, h - 14), (0, 0, 0), 2)
    cv2.line(screen, (138, h - 21), (152, h - 21), (0, 0, 0), 2)
    x, y = (w - bw) // 2, 60 + (h - 100 - 60 - bh) // 2
    colour, alpha = np.zeros((h, w, 3), np.uint8), np.zeros((h, w), np.float32)
    for k, (count, shape) in enumerate((("", "avatar"), ("48.2K", "heart"), ("1,203", "comment"),
                                        ("Share", "share"))):
        cx, cy = w - 26, 250 + 58 * k
        tone = {"avatar": (200, 160, 90), "heart": (80, 60, 245), "comment": (240, 240, 240),
                "share": (240, 240, 240)}[shape]
        for canvas, value in ((colour, tone), (alpha, 0.92)):
            cv2.circle(canvas, (cx, cy), 15, value, -1, cv2.LINE_AA)
        if shape == "avatar":
            cv2.circle(colour, (cx, cy + 15), 6, (80, 60, 245), -1)
            cv2.circle(alpha, (cx, cy + 15), 6, 1.0, -1)
        if count:
            _text(colour, alpha, count, (cx - 8 - 4 * len(count), cy + 30), 0.36, (255, 255, 255), 1, 1)
    for line, (text, scale) in enumerate((("@sunny.daze  - Follow", 0.45), ("no way this happened #fyp", 0.4),
                                          ("#viral #foryou #wow", 0.4), ("~ original sound - sunny.daze", 0.36))):
        _text(colour, alpha, text, (10, h - 112 + 18 * line), scale, (255, 255, 255), 1, 1)
    return screen, Layer(colour, alpha), (x, y)


def app_frame(frame: np.ndarray) -> np.ndarray:
    """The frame inside the invented app's screen (APP_SIZE), under its buttons and caption."""
    w, h = APP_SIZE
    bw, bh = fit_box(frame, w, h - 160)
    screen, layer, (x, y) = _app_template(bw, bh)
    out = screen.copy()
    out[y : y + bh, x : x + bw] = resize(frame, bw, bh)
    return layer.over(out)


@lru_cache(maxsize=8)
def _watermark_patch(short: int) -> tuple[np.ndarray, np.ndarray]:
    scale = max(0.35, short / 360.0)
    (tw, th), base = cv2.getTextSize("@mira.clips", FONT, scale, 1)
    side = th + base + 4
    pw, ph = side + 6 + tw + 4, side + 2
    colour, alpha = np.zeros((ph, pw, 3), np.uint8), np.zeros((ph, pw), np.float32)
    cv2.rectangle(colour, (0, 1), (side, side), (60, 200, 250), -1)
    cv2.rectangle(alpha, (0, 1), (side, side), 0.6, -1)
    _text(colour, alpha, "m", (side // 4, side - 4), scale, (30, 30, 30), 1, 0, 0.6)
    _text(colour, alpha, "@mira.clips", (side + 6, side - base), scale, (255, 255, 255), 1, 1, 0.6)
    return colour.astype(np.float32), alpha[..., None]


def watermark(frame: np.ndarray, t: float) -> np.ndarray:
    """The handle drifting over the frame: position a smooth function of the time t (seconds)."""
    h, w = frame.shape[:2]
    colour, alpha = _watermark_patch(min(h, w))
    ph, pw = min(h, alpha.shape[0]), min(w, alpha.shape[1])  # a frame smaller than the mark shows part of it
    colour, alpha = colour[:ph, :pw], alpha[:ph, :pw]
    x = int(max(0, w - pw - 8) * (0.5 + 0.5 * np.sin(2 * np.pi * t / 7.0))) + min(4, w - pw)
    y = int(max(0, h - ph - 8) * (0.5 + 0.5 * np.sin(2 * np.pi * t / 4.6 + 1.1))) + min(4, h - ph)
    out = frame.copy()
    box = out[y : y + ph, x : x + pw].astype(np.float32)
    out[y : y + ph, x : x + pw] = np.clip(box * (1 - alpha) + colour * alpha, 0, 255).astype(np.uint8)
    return out


def _star(c: tuple[int, int], r: int) -> np.ndarray:
    angles = np.pi / 2 + np.arange(10) * np.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
    return np.int32(np.stack([c[0] + radii * np.cos(angles), c[1] - radii * np.sin(angles)], 1))


@lru_cache(maxsize=16)
def sticker_layer(w: int, h: int) -> Layer:
    """The sticker set for frames of w x h (the same for every source)."""
    colour, alpha = np.zeros((h, w, 3), np.uint8), np.zeros((h, w), np.float32)
    r = max(6, int(0.11 * min(w, h)))

    def both(draw: Callable[..., object], tone: tuple[int, int, int], grow: int = 0) -> None:
        draw(colour, tone, grow)
        draw(alpha, 1.0, grow)

    star = (int(0.16 * w), int(0.2 * h))
    both(lambda c, v, g: cv2.fillPoly(c, [_star(star, r + 3)], v), (255, 255, 255))
    both(lambda c, v, g: cv2.fillPoly(c, [_star(star, r)], v), (40, 210, 255))
    hx, hy = int(0.84 * w), int(0.2 * h)
    for grow, tone in ((3, (255, 255, 255)), (0, (90, 40, 230))):
        both(lambda c, v, g: cv2.circle(c, (hx - r // 2, hy), r // 2 + g, v, -1), tone, grow)
        both(lambda c, v, g: cv2.circle(c, (hx + r // 2, hy), r // 2 + g, v, -1), tone, grow)
        tri = np.int32([[hx - r - grow, hy + 2], [hx + r + grow, hy + 2], [hx, hy + r + 2 * grow]])
        both(lambda c, v, g, tri=tri: cv2.fillPoly(c, [tri], v), tone, grow)
    sx, sy = int(0.17 * w), int(0.8 * h)
    both(lambda c, v, g: cv2.circle(c, (sx, sy), r + 3, v, -1), (255, 255, 255))
    both(lambda c, v, g: cv2.circle(c, (sx, sy), r, v, -1), (60, 220, 250))
    for ex in (sx - r // 3, sx + r // 3):
        cv2.circle(colour, (ex, sy - r // 4), max(1, r // 8), (20, 20, 20), -1)
    cv2.ellipse(colour, (sx, sy + r // 8), (r // 2, r // 3), 0, 10, 170, (20, 20, 20), max(1, r // 10))
    bx, by = int(0.8 * w), int(0.8 * h)
    both(lambda c, v, g: cv2.ellipse(c, (bx, by), (int(1.3 * r), int(0.8 * r)), 0, 0, 360, v, -1), (250, 250, 250))
    tail = np.int32([[bx - r // 2, by + r // 2], [bx - r, by + int(1.3 * r)], [bx, by + r // 2]])
    both(lambda c, v, g: cv2.fillPoly(c, [tail], v), (250, 250, 250))
    scale = _scale_to("OMG", 1.8 * r, 2, 2.0)
    (tw, th), _ = cv2.getTextSize("OMG", FONT, scale, 2)
    cv2.putText(colour, "OMG", (bx - tw // 2, by + th // 2), FONT, scale, (40, 20, 200), 2, cv2.LINE_AA)
    return Layer(colour, alpha)


def stickers(frame: np.ndarray) -> np.ndarray:
    return sticker_layer(frame.shape[1], frame.shape[0]).over(frame)


@lru_cache(maxsize=16)
def meme_layer(w: int, h: int) -> Layer:
    colour, alpha = np.zeros((h, w, 3), np.uint8), np.zeros((h, w), np.float32)
    thick = max(2, int(min(w, h) / 90))
    for text, top in zip(MEME_LINES, (True, False)):
        scale = _scale_to(text, 0.92 * w, thick, min(w, h) / 160.0)
        (tw, th), base = cv2.getTextSize(text, FONT, scale, thick)
        y = int(0.05 * h) + th if top else h - int(0.05 * h) - base
        _text(colour, alpha, text, ((w - tw) // 2, y), scale, (255, 255, 255), thick, max(2, thick))
    return Layer(colour, alpha)


def meme(frame: np.ndarray) -> np.ndarray:
    return meme_layer(frame.shape[1], frame.shape[0]).over(frame)


@lru_cache(maxsize=64)
def subtitle_layer(w: int, h: int, line: int) -> Layer:
    text = SUBTITLE_LINES[line % len(SUBTITLE_LINES)]
    colour, alpha = np.zeros((h, w, 3), np.uint8), np.zeros((h, w), np.float32)
    scale = _scale_to(text, 0.8 * w, 1, max(0.4, min(w, h) / 330.0))
    (tw, th), base = cv2.getTextSize(text, FONT, scale, 1)
    x, y = (w - tw) // 2, int(0.9 * h)
    cv2.rectangle(alpha, (x - 6, y - th - 5), (x + tw + 6, y + base + 3), 0.55, -1)
    _text(colour, alpha, text, (x, y), scale, (255, 255, 255), 1, 0, 1.0)
    return Layer(colour, alpha)


def subtitles(frame: np.ndarray, t: float) -> np.ndarray:
    return subtitle_layer(frame.shape[1], frame.shape[0], int(t // SUBTITLE_SECONDS)).over(frame)


# ---- layouts -----------------------------------------------------------------------------------------------


def pip(host: np.ndarray, inset: np.ndarray, corner: int) -> np.ndarray:
    """The inset, 30 % of the host's width, in a corner (0 top left, then clockwise) with a white border."""
    h, w = host.shape[:2]
    iw = even(0.3 * w)
    ih = min(even(iw * inset.shape[0] / inset.shape[1]), even(0.6 * h))
    m = max(4, int(0.05 * w))
    x = m if corner in (0, 3) else w - m - iw
    y = m if corner in (0, 1) else h - m - ih
    out = host.copy()
    cv2.rectangle(out, (x - 2, y - 2), (x + iw + 1, y + ih + 1), (255, 255, 255), -1)
    out[y : y + ih, x : x + iw] = cover(inset, iw, ih)
    return out


def duet(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w, h = DUET_SIZE
    return np.hstack([cover(a, w // 2, h), cover(b, w // 2, h)])


def split_tb(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w, h = SPLIT_SIZE
    return np.vstack([cover(a, w, h // 2), cover(b, w, h // 2)])


def grid_2x2(frames: list[np.ndarray]) -> np.ndarray:
    w, h = GRID_SIZE
    cells = [cover(f, w // 2, h // 2) for f in frames]
    return np.vstack([np.hstack(cells[:2]), np.hstack(cells[2:4])])
