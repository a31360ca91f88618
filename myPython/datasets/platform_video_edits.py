"""Overlay templates (app chrome, watermarks, stickers, meme text, subtitles) and the video side of
`platform_edits`: edits of every frame, compositions of clips and time edits, with their ground truth.

A template is a frozen dataclass drawn once from a Generator (`AppChrome.random(rng)`) and applied to any
number of pictures or frames (`.apply(image, t)`; t in seconds moves watermarks and changes subtitles): one
template gives the same pixels around two different photos (hard negatives). Templates draw into a
premultiplied layer, so an opaque element has the same pixels whatever lies under it. A `Video` carries
`video_edits.Piece`s (seconds of it showing seconds of a source), so it goes into a pool with
`video_edits.pool_truth`; a composition shows several sources at once and has the pieces of all of them.
`VIDEO_FAMILIES` mirrors FAMILIES for videos (compositions with synthetic clips, plus compilation) and adds
low_frame_rate and low_bitrate (libx264) to quality and a time family: speed_0.5/1.5/2, excerpt, frame_rate_half.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from myPython.datasets import platform_edits as pe
from myPython.datasets.platform_edits import FAMILIES, FONTS, ICONS, Edited, text_size, user_name, words
from myPython.datasets.video_edits import DEFAULT_BITRATE, FPS, Clip, Piece, write_video
from myPython.datasets.video_edits import _shift as shift_pieces  # the ground truth of a cut: one rule

WHITE, BLACK = (255, 255, 255), (0, 0, 0)


class Layer:
    """Premultiplied colour and coverage: OpenCV's antialiased drawing over it is exact 'over' compositing."""

    def __init__(self, h: int, w: int) -> None:
        self.rgb, self.alpha = np.zeros((h, w, 3), np.uint8), np.zeros((h, w), np.uint8)

    def draw(self, fn: Callable, *args, colour: Sequence[float] = WHITE, alpha: float = 1.0, **kw) -> None:
        """fn (an OpenCV drawing function) with args, in colour at opacity alpha."""
        fn(self.rgb, *args, tuple(float(c) * alpha for c in colour), lineType=cv2.LINE_AA, **kw)
        fn(self.alpha, *args, 255.0 * alpha, lineType=cv2.LINE_AA, **kw)

    def box(self, x0: float, y0: float, x1: float, y1: float, colour: Sequence[float], alpha: float = 1.0) -> None:
        self.draw(cv2.rectangle, (round(x0), round(y0)), (round(x1), round(y1)), colour=colour, alpha=alpha,
                  thickness=-1)

    def text(self, text: str, x: float, y: float, height: float, colour: Sequence[float] = WHITE, font: int = FONTS[0],
             alpha: float = 1.0, outline: Sequence[float] | None = None, anchor: float = 0.0,
             max_width: float | None = None) -> None:
        """Text of cap height `height`, baseline at y, x at the `anchor` share of its width."""
        scale, thick, width = text_size(text, height, font, max_width)
        org = (round(x - anchor * width), round(y))
        for c, t in ((outline, thick + max(2, round(height / 6))), (colour, thick)):
            if c is not None:
                self.draw(cv2.putText, text, org, font, scale, colour=c, alpha=alpha, thickness=t)

    def shape(self, kind: str, cx: float, cy: float, r: float, colour: Sequence[float], alpha: float = 1.0) -> None:
        """A filled icon of ICONS with radius r."""
        for polygon in ICONS[kind]:
            self.draw(cv2.fillPoly, [np.round(polygon * r + [cx, cy]).astype(np.int32)], colour=colour, alpha=alpha)

    def over(self, image: np.ndarray, opacity: float = 1.0) -> np.ndarray:
        """The layer over image (same size) at `opacity`."""
        a = self.alpha[..., None].astype(np.float32) * np.float32(opacity / 255)
        return np.clip(image * (1 - a) + self.rgb * np.float32(opacity) + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class AppChrome:
    """A phone screenshot of a short-video or photo app around the picture (letterboxed into `content`).

    style "overlay": full-screen video between the status bar and the navigation bar, with tabs, a column of
    buttons with counts, the user name, caption lines and a music line drawn over it; "framed": a feed post
    (app header, post header with avatar, picture, buttons, likes, caption, comments line). The texts,
    colours and counts are drawn from `seed`.
    """

    width: int
    height: int
    style: str
    dark: bool
    aspect: float  # framed: width / height of the picture area
    seed: int

    @classmethod
    def random(cls, rng: np.random.Generator, width: int | None = None, style: str | None = None) -> AppChrome:
        w = int(rng.integers(180, 421)) // 2 * 2 if width is None else width
        return cls(w, round(w * 16 / 9 / 2) * 2, style or str(rng.choice(["overlay", "framed"])),
                   bool(rng.random() < 0.5), float(rng.uniform(0.8, 1.91)), int(rng.integers(1 << 31)))

    @property
    def background(self) -> tuple[int, int, int]:
        return BLACK if self.style == "overlay" else (18, 18, 18) if self.dark else WHITE

    @property
    def content(self) -> tuple[int, int, int, int]:
        """The picture's area (x0, y0, x1, y1); everything outside it is the same for every picture."""
        w, h = self.width, self.height
        top, nav = round(0.045 * h), round(0.08 * h)
        if self.style == "overlay":
            return 0, top, w, h - nav
        top += round(0.145 * h)
        return 0, top, w, top + min(round(w / self.aspect), h - nav - top - round(0.2 * h))

    def apply(self, image: np.ndarray, t: float | None = None) -> Edited:
        out = np.full((self.height, self.width, 3), self.background, np.uint8)
        box = self.content
        pasted = pe.paste(out, image, pe.inside(image.shape[1], image.shape[0], box), box)
        return Edited(_chrome_layer(self).over(out), pasted.matrix, pasted.source_size, pasted.visible)


@functools.lru_cache(maxsize=32)
def _chrome_layer(c: AppChrome) -> Layer:
    rng = np.random.default_rng(c.seed)
    accent, avatar, user = pe.random_colour(rng, 40), pe.random_colour(rng, 30), user_name(rng)
    caption = [words(rng, 3, 7, 0.3) for _ in range(int(rng.integers(1, 4)))]
    counts = [str(int(10**n)) if n < 3 else f"{10 ** (n - 3):.1f}K" for n in rng.uniform(0, 4.5, 2)]
    f, battery, clock = int(rng.choice(FONTS[:2])), rng.uniform(0.1, 1.0), f"{rng.integers(24)}:{rng.integers(60):02d}"
    w, h, fg = c.width, c.height, WHITE if c.dark or c.style == "overlay" else (20, 20, 20)
    layer, sb, nb, (_, y0, _, y1), line = Layer(h, w), 0.045 * h, 0.08 * h, c.content, 0.018 * h
    layer.box(0, 0, w, round(sb) - 1, c.background)  # status bar and navigation bar: opaque
    layer.box(0, h - round(nb), w, h, c.background)
    layer.text(clock, 0.06 * w, 0.68 * sb, 0.36 * sb, fg, f)
    for k in range(4):  # signal bars, battery
        layer.box(w * (0.7 + 0.022 * k), sb * (0.7 - 0.1 * k), w * (0.714 + 0.022 * k), 0.72 * sb, fg)
    layer.draw(cv2.rectangle, (round(0.82 * w), round(0.3 * sb)), (round(0.9 * w), round(0.72 * sb)), colour=fg)
    layer.box(0.82 * w + 2, 0.3 * sb + 2, 0.82 * w + 2 + (0.08 * w - 4) * battery, 0.72 * sb - 2,
              fg if battery > 0.2 else (0, 0, 230))
    for k, icon in enumerate(("house", "search", "plus", "bubble", "person")):
        x, y, r = (k + 0.5) * w / 5, h - nb / 2, 0.28 * nb
        if icon == "plus":
            layer.box(x - 1.3 * r, y - 0.8 * r, x + 1.3 * r, y + 0.8 * r, accent)
        layer.shape(icon, x, y, r * (0.6 if icon == "plus" else 1), fg)
    if c.style == "overlay":  # drawn over the picture
        shade = dict(outline=BLACK, alpha=0.95, font=f)
        layer.text("Following", 0.47 * w, y0 + 0.05 * h, line, anchor=1.0, **shade)
        layer.text("For You", 0.53 * w, y0 + 0.05 * h, line * 1.1, **shade)
        x, r, y = 0.9 * w, 0.05 * w, y1 - 0.47 * h
        layer.shape("circle", x, y, 1.15 * r, WHITE)
        layer.shape("circle", x, y, r, avatar)
        layer.shape("circle", x, y + r, 0.35 * r, accent)
        for k, icon in enumerate(("heart", "bubble", "bookmark", "arrow")):
            layer.shape(icon, x, y + (k + 1) * 0.075 * h, 0.8 * r, WHITE, 0.95)
            layer.text(counts[k % 2], x, y + (k + 1) * 0.075 * h + r + 0.9 * line, line * 0.7, anchor=0.5, **shade)
        layer.shape("circle", x, y1 - 0.05 * h, r, (40, 40, 40))
        layer.shape("circle", x, y1 - 0.05 * h, 0.45 * r, avatar)
        yt = y1 - 0.045 * h - 1.7 * line * len(caption)
        layer.text(user, 0.04 * w, yt - 1.8 * line, line, max_width=0.7 * w, **shade)
        for k, text in enumerate(caption):
            layer.text(text, 0.04 * w, yt + 1.7 * k * line, line * 0.85, max_width=0.75 * w, **shade)
        layer.shape("note", 0.06 * w, y1 - 0.025 * h - 0.4 * line, 0.9 * line, WHITE)
        layer.text(f"original sound - {user[1:]}", 0.1 * w, y1 - 0.025 * h, 0.8 * line, max_width=0.65 * w, **shade)
        return layer
    layer.text(words(rng, 1, 1).capitalize(), 0.04 * w, sb + 0.05 * h, 0.03 * h, fg, f | cv2.FONT_ITALIC)
    for k, icon in enumerate(("heart", "bubble")):
        layer.shape(icon, w * (0.8 + 0.1 * k), sb + 0.035 * h, 0.022 * h, fg)
    ya, yb = sb + 0.11 * h, y1 + 0.035 * h
    layer.shape("circle", 0.08 * w, ya, 0.025 * h, avatar)
    layer.text(user[1:], 0.16 * w, ya + 0.5 * line, line, fg, f, max_width=0.6 * w)
    for k in range(3):
        layer.shape("circle", w * (0.9 + 0.025 * k), ya, 0.004 * h + 1, fg)
    for k, icon in enumerate(("heart", "bubble", "arrow")):
        layer.shape(icon, w * (0.07 + 0.11 * k), yb, 0.02 * h, accent if k == 0 else fg)
    layer.shape("bookmark", 0.93 * w, yb, 0.02 * h, fg)
    lines = [f"{counts[0]} likes", f"{user[1:]} {caption[0]}", *caption[1:], f"View all {counts[1]} comments"]
    for k, text in enumerate(lines):
        layer.text(text, 0.04 * w, yb + 0.05 * h + 1.6 * k * line, line * (1 if k == 0 else 0.85),
                   (140, 140, 140) if k == len(lines) - 1 else fg, f, max_width=0.92 * w)
    return layer


@dataclass(frozen=True)
class Watermark:
    """A platform logo (icon with a two-colour glitch shadow, app name) and "@user" in a corner, semi-transparent;
    `moving`: it jumps to the opposite corner every `period` seconds (videos)."""

    logo: str
    colours: tuple[tuple[int, int, int], tuple[int, int, int]]
    app: str
    user: str
    corner: int  # 0 top left, 1 top right, 2 bottom right, 3 bottom left
    size: float  # icon height, share of the short side
    opacity: float
    moving: bool
    period: float
    font: int

    @classmethod
    def random(cls, rng: np.random.Generator, moving: bool | None = None) -> Watermark:
        logo = str(rng.choice(["note", "play", "circle", "star", "heart"]))
        return cls(logo, (pe.random_colour(rng), pe.random_colour(rng)), words(rng, 1, 1).capitalize(), user_name(rng),
                   int(rng.integers(0, 4)), float(rng.uniform(0.05, 0.13)), float(rng.uniform(0.4, 0.95)),
                   bool(rng.random() < 0.5) if moving is None else moving, float(rng.uniform(1.5, 5.0)),
                   int(rng.choice(FONTS)))

    def corner_at(self, t: float | None) -> int:
        return (self.corner + 2) % 4 if self.moving and t is not None and int(t / self.period) % 2 else self.corner

    def layer(self, h: int, w: int, t: float | None = None) -> Layer:
        s, c = max(6.0, self.size * min(h, w)), self.corner_at(t)
        bw = max(1.2 * s + text_size(self.app, 0.55 * s, self.font)[2], text_size(self.user, 0.4 * s, self.font)[2])
        m = 0.03 * min(h, w)
        x, y = (m if c in (0, 3) else w - m - bw), (m if c in (0, 1) else h - m - 1.7 * s)
        layer, d = Layer(h, w), max(1.0, 0.06 * s)
        for colour, dx in ((self.colours[0], -d), (self.colours[1], d), (WHITE, 0)):
            layer.shape(self.logo, x + s / 2 + dx, y + s / 2 + dx, s / 2, colour)
        layer.text(self.app, x + 1.2 * s, y + 0.78 * s, 0.55 * s, WHITE, self.font, outline=BLACK)
        layer.text(self.user, x, y + 1.6 * s, 0.4 * s, WHITE, self.font, outline=BLACK)
        return layer

    def apply(self, image: np.ndarray, t: float | None = None) -> Edited:
        return pe.full_frame(self.layer(*image.shape[:2], t).over(image, self.opacity), image)


@dataclass(frozen=True)
class Sticker:
    """Emoji-like stickers with a white outline: faces (smile, laugh, love, wink, cool), hearts, stars, badges."""

    items: tuple[tuple[str, float, float, float, tuple[int, int, int], str], ...]  # kind, x, y, radius, colour, text

    @classmethod
    def random(cls, rng: np.random.Generator, count: int | None = None) -> Sticker:
        kinds, texts = ("smile", "laugh", "love", "wink", "cool", "heart", "star", "badge"), ("LOL", "OMG", "WOW")
        return cls(tuple((str(rng.choice(kinds)), float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.9)),
                          float(rng.uniform(0.06, 0.25)), pe.random_colour(rng, 60), str(rng.choice(texts)))
                         for _ in range(int(rng.integers(1, 5)) if count is None else count)))

    def layer(self, h: int, w: int) -> Layer:
        layer = Layer(h, w)
        for kind, fx, fy, fr, colour, text in self.items:
            x, y, r = fx * w, fy * h, max(4.0, fr * min(h, w))
            if kind in ("heart", "star"):
                layer.shape(kind, x, y, 1.15 * r, WHITE)
                layer.shape(kind, x, y, r, colour)
            elif kind == "badge":
                layer.box(x - 1.3 * r, y - 0.6 * r, x + 1.3 * r, y + 0.6 * r, WHITE)
                layer.box(x - 1.3 * r + 3, y - 0.6 * r + 3, x + 1.3 * r - 3, y + 0.6 * r - 3, colour)
                layer.text(text, x, y + 0.3 * r, 0.6 * r, WHITE, FONTS[1], anchor=0.5, max_width=2.2 * r)
            else:
                _face(layer, kind, x, y, r)
        return layer

    def apply(self, image: np.ndarray, t: float | None = None) -> Edited:
        return pe.full_frame(self.layer(*image.shape[:2]).over(image), image)


def _face(layer: Layer, kind: str, x: float, y: float, r: float) -> None:
    def arc(dx: float, dy: float, a: float, b: float, t0: float, t1: float, colour: Sequence[float], thick: int
            ) -> None:
        layer.draw(cv2.ellipse, (round(x + dx * r), round(y + dy * r)), (max(1, round(a * r)), max(1, round(b * r))),
                   0, t0, t1, colour=colour, thickness=thick)

    dark, line = (30, 30, 60), max(1, round(r / 10))
    layer.shape("circle", x, y, 1.12 * r, WHITE)
    layer.shape("circle", x, y, r, (40, 200, 255))
    for side in (-0.35, 0.35):
        if kind == "love":
            layer.shape("heart", x + side * r, y - 0.2 * r, 0.24 * r, (60, 40, 230))
        elif kind == "wink" and side > 0 or kind == "laugh":
            arc(side, -0.15, 0.15, 0.1, 180, 360, dark, line)
        elif kind != "cool":
            arc(side, -0.2, 0.1, 0.17, 0, 360, dark, -1)
    if kind == "cool":
        layer.box(x - 0.7 * r, y - 0.35 * r, x + 0.7 * r, y - 0.05 * r, (20, 20, 20))
    if kind == "laugh":
        arc(0, 0.15, 0.55, 0.45, 0, 180, (40, 30, 120), -1)
    else:
        arc(0, 0.1, 0.5, 0.4, 20, 160, dark, line)


@dataclass(frozen=True)
class MemeText:
    """Bold upper-case meme text: white with a black outline at the top and bottom of the picture, or (`band`)
    black on a white band added above it."""

    top: str
    bottom: str
    font: int
    size: float  # cap height, share of the picture's height
    band: bool

    @classmethod
    def random(cls, rng: np.random.Generator, band: bool | None = None) -> MemeText:
        return cls(words(rng, 1, 5).upper(), words(rng, 1, 5).upper(), int(rng.choice(FONTS[1:])),
                   float(rng.uniform(0.06, 0.12)), bool(rng.random() < 0.3) if band is None else band)

    def apply(self, image: np.ndarray, t: float | None = None) -> Edited:
        h, w = image.shape[:2]
        th = max(6.0, self.size * h)
        top = round(2.6 * th) if self.band else 0
        out = np.full((h + top, w, 3), 255, np.uint8)
        out[top:] = image
        layer = Layer(h + top, w)
        if self.band:
            layer.text(f"{self.top} {self.bottom}".lower(), w / 2, 1.8 * th, th, BLACK, anchor=0.5, max_width=0.94 * w)
        else:
            for text, y in ((self.top, 0.04 * h + th), (self.bottom, 0.96 * h)):
                layer.text(text, w / 2, y, th, WHITE, self.font, outline=BLACK, anchor=0.5, max_width=0.94 * w)
        return Edited(layer.over(out), pe.affine(1, 1, 0, top), (w, h))


@dataclass(frozen=True)
class Subtitles:
    """Burned-in subtitles, a new line every `seconds`: on a dark box or outlined, near the bottom."""

    lines: tuple[str, ...]
    seconds: float
    font: int
    size: float  # cap height, share of the height
    colour: tuple[int, int, int]
    box_alpha: float  # 0: outlined text without a box
    y: float  # baseline, share of the height

    @classmethod
    def random(cls, rng: np.random.Generator) -> Subtitles:
        return cls(tuple(words(rng, 2, 7) for _ in range(int(rng.integers(3, 8)))), float(rng.uniform(1.0, 3.0)),
                   int(rng.choice(FONTS)), float(rng.uniform(0.035, 0.07)),
                   WHITE if rng.random() < 0.7 else (0, 230, 255), float(rng.choice([0.0, rng.uniform(0.4, 0.9)])),
                   float(rng.uniform(0.8, 0.94)))

    def layer(self, h: int, w: int, t: float | None = None) -> Layer:
        text = self.lines[int((t or 0.0) / self.seconds) % len(self.lines)]
        th, layer = max(5.0, self.size * h), Layer(h, w)
        half, pad, y = text_size(text, th, self.font, 0.9 * w)[2] / 2, 0.4 * th, self.y * h
        if self.box_alpha:
            layer.box(w / 2 - half - pad, y - th - pad, w / 2 + half + pad, y + pad, BLACK, self.box_alpha)
        layer.text(text, w / 2, self.y * h, th, self.colour, self.font, anchor=0.5, max_width=0.9 * w,
                   outline=None if self.box_alpha else BLACK)
        return layer

    def apply(self, image: np.ndarray, t: float | None = None) -> Edited:
        return pe.full_frame(self.layer(*image.shape[:2], t).over(image), image)


Template = AppChrome | Watermark | Sticker | MemeText | Subtitles


@dataclass
class Video:
    """Frames at `fps`, the pieces they show (as in video_edits: seconds of this video -> seconds of a source)
    and, when it is the same in every frame, where the (first) source lies (`Edited.matrix`)."""

    frames: list[np.ndarray]
    fps: float
    pieces: list[Piece]
    matrix: np.ndarray | None = None

    @property
    def duration(self) -> float:
        return len(self.frames) / self.fps

    @classmethod
    def source(cls, frames: list[np.ndarray], name: str, fps: float = FPS) -> Video:
        """An original: all of it shows itself."""
        return cls(list(frames), fps, [Piece(0.0, len(frames) / fps, name, 0.0, len(frames) / fps)], np.eye(3))

    def clip(self) -> Clip:
        """At video_edits.FPS (frames picked by time), for pools made with video_edits."""
        at = retime(self, FPS)
        return Clip(at.frames, at.pieces)

    def write(self, path: str | Path, bitrate: int = DEFAULT_BITRATE) -> None:
        write_video(path, self.frames, self.fps, bitrate)


def _frames(video: Video, n: int, step: float) -> list[np.ndarray]:
    return [video.frames[min(len(video.frames) - 1, int(k * step + 1e-9))] for k in range(n)]


def retime(video: Video, fps: float) -> Video:
    """The same seconds at another frame rate (frames dropped or repeated): retime(v, v.fps / 2) halves it."""
    n = max(1, int(round(video.duration * fps)))
    return Video(_frames(video, n, video.fps / fps), fps, shift_pieces(video.pieces, 0.0, 0, n / fps), video.matrix)


def speed(video: Video, factor: float) -> Video:
    """Played `factor` times faster by frame resampling (same frame rate); pieces rescaled."""
    n = max(1, int(len(video.frames) / factor))
    pieces = [Piece(p.start / factor, p.end / factor, p.source, p.source_start, p.source_end) for p in video.pieces]
    return Video(_frames(video, n, factor), video.fps, shift_pieces(pieces, 0.0, 0, n / video.fps), video.matrix)


def excerpt(video: Video, rng: np.random.Generator, seconds: tuple[float, float] = (3.0, 5.0)) -> Video:
    """A window of 3-5 s (the whole video when shorter) starting anywhere."""
    n = min(len(video.frames), max(1, round(rng.uniform(*seconds) * video.fps)))
    a = int(rng.integers(0, len(video.frames) - n + 1))
    lo = a / video.fps
    pieces = shift_pieces(video.pieces, -lo, lo, lo + n / video.fps)
    return Video(video.frames[a : a + n], video.fps, pieces, video.matrix)


def low_frame_rate(video: Video, rng: np.random.Generator, hold: tuple[int, int] = (2, 5)) -> Video:
    """Choppy: every frame held for 2-5 frames (the file keeps its frame rate)."""
    m = int(rng.integers(hold[0], hold[1] + 1))
    return Video([video.frames[k - k % m] for k in range(len(video.frames))], video.fps, list(video.pieces),
                 video.matrix)


def low_bitrate(video: Video, rng: np.random.Generator, kbps: tuple[int, int] = (15, 120)) -> Video:
    """Through libx264 at 15-120 kbit/s (in memory)."""
    frames = pe.h264_roundtrip(video.frames, video.fps, bitrate=int(rng.integers(kbps[0], kbps[1] + 1)) * 1000)
    return Video(frames, video.fps, list(video.pieces), video.matrix)


def per_frame(video: Video, family: str, name: str, rng: np.random.Generator, **params) -> Video:
    """An image edit of FAMILIES on every frame with the same parameters."""
    seed = int(rng.integers(1 << 63))
    edits = [FAMILIES[family][name](f, np.random.default_rng(seed), **params) for f in video.frames]
    return Video([e.image for e in edits], video.fps, list(video.pieces), _then(video, edits[0]))


def _then(video: Video, edit: Edited) -> np.ndarray | None:
    return None if video.matrix is None or edit.matrix is None else edit.matrix @ video.matrix


def overlay(video: Video, template: Template) -> Video:
    """A template over every frame, at the frame's time (moving watermarks, changing subtitles)."""
    edits = [template.apply(f, k / video.fps) for k, f in enumerate(video.frames)]
    return Video([e.image for e in edits], video.fps, list(video.pieces), _then(video, edits[0]))


def compose(video: Video, others: Sequence[Video], layout: str, rng: np.random.Generator) -> Video:
    """A composition of FAMILIES["composition"] frame by frame (picture_in_picture: others[0] is the host), as long
    as the shortest; it shows every source, so its pieces are those of all of them."""
    others = [retime(o, video.fps) for o in others]
    n, seed = min(len(v.frames) for v in (video, *others)), int(rng.integers(1 << 63))
    key = {"picture_in_picture": "host", "side_by_side": "other", "duet": "other"}.get(layout, "others")
    edits = [FAMILIES["composition"][layout](video.frames[k], np.random.default_rng(seed), **{
        key: [o.frames[k] for o in others] if key == "others" else others[0].frames[k]}) for k in range(n)]
    pieces = [p for v in (video, *others) for p in shift_pieces(v.pieces, 0.0, 0, n / video.fps)]
    return Video([e.image for e in edits], video.fps, pieces, _then(video, edits[0]))


def compilation(videos: Sequence[Video], rng: np.random.Generator, seconds: tuple[float, float] = (3.0, 5.0),
                size: tuple[int, int] | None = None) -> Video:
    """Excerpts of 3-5 s of each video one after the other, letterboxed to `size` (w, h; default the first's)."""
    fps = videos[0].fps
    w, h = size or videos[0].frames[0].shape[1::-1]
    frames: list[np.ndarray] = []
    pieces: list[Piece] = []
    for v in videos:
        part = excerpt(retime(v, fps), rng, seconds)
        for f in part.frames:
            frames.append(pe.paste(np.zeros((h, w, 3), np.uint8), f, pe.inside(*f.shape[1::-1], (0, 0, w, h))).image)
        pieces += shift_pieces(part.pieces, len(frames) / fps - part.duration, 0, part.duration)
    return Video(frames, fps, pieces)


def filler_video(rng: np.random.Generator, seconds: float, size: tuple[int, int], fps: float = FPS,
                 name: str | None = None) -> Video:
    """A synthetic source (a random picture under a panning camera) to compose with."""
    w, h = size
    big = pe.filler(rng, round(h * 1.3), round(w * 1.3))
    n, (dx, dy) = max(1, round(seconds * fps)), rng.uniform(-0.3, 0.3, 2) * (w, h)
    frames = [cv2.warpAffine(big, np.float32([[1, 0, -0.15 * w - dx * k / n], [0, 1, -0.15 * h - dy * k / n]]), (w, h),
                             borderMode=cv2.BORDER_REFLECT) for k in range(n)]
    return Video.source(frames, name or f"filler_{int(rng.integers(1 << 32)):08x}", fps)


def _with_fillers(layout: str) -> Callable[[Video, np.random.Generator], Video]:
    def edit(video: Video, rng: np.random.Generator) -> Video:
        count = {"split_screen": 2, "collage": 8}.get(layout, 1)
        size = video.frames[0].shape[1::-1]
        others = [filler_video(rng, video.duration, size, video.fps) for _ in range(count)]
        if layout == "compilation":
            return compilation([video, *others], rng)
        return compose(video, others, layout, rng)

    return edit


VideoEdit = Callable[[Video, np.random.Generator], Video]
VIDEO_FAMILIES: dict[str, dict[str, VideoEdit]] = {
    "composition": {name: _with_fillers(name) for name in (*FAMILIES["composition"], "compilation")},
    "overlay": {name: lambda v, rng, c=cls: overlay(v, globals()[c].random(rng)) for name, cls in pe.OVERLAYS.items()},
    **{family: {name: lambda v, rng, f=family, n=name: per_frame(v, f, n, rng) for name in FAMILIES[family]}
       for family in ("geometry", "photometric", "quality")},
    "time": {"speed_0.5": lambda v, rng: speed(v, 0.5), "speed_1.5": lambda v, rng: speed(v, 1.5),
             "speed_2": lambda v, rng: speed(v, 2.0), "excerpt": excerpt,
             "frame_rate_half": lambda v, rng: retime(v, v.fps / 2)},
}
VIDEO_FAMILIES["quality"].update({"low_frame_rate": low_frame_rate, "low_bitrate": low_bitrate})


def apply_video(video: Video, family: str, name: str, rng: np.random.Generator) -> Video:
    """One edit of VIDEO_FAMILIES."""
    if name not in VIDEO_FAMILIES.get(family, {}):
        raise ValueError(f"unknown video edit {family}/{name}")
    return VIDEO_FAMILIES[family][name](video, rng)
