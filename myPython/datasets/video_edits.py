"""Edited copies of videos with their ground truth, and synthetic clips made from photos.

Every video is described by its *pieces*: which span of which source each
part of it shows (`Piece`). Two videos share an origin where their pieces
show overlapping spans of one source, and `true_segments` maps that overlap
back onto both timelines, so the truth of any pair (original and copy, two
copies, a host with an inserted piece) follows from how the videos were made.

Per-frame image edits come from the image edit functions (crop, caption,
mirror); this module only adds what is specific to video: timing (speed
changes, cuts, insertions), letterboxing and re-encoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from myPython.datasets.edits import caption, center_crop, mirror, write_video

FPS = 10.0  # frame rate of every clip this module writes
MIN_OVERLAP = 1.0  # seconds of shared source that make a true pair


@dataclass(frozen=True)
class Piece:
    """Seconds [start, end) of a video show seconds [source_start, source_end) of `source`."""

    start: float
    end: float
    source: str
    source_start: float
    source_end: float

    def to_source(self, t: float) -> float:
        return self.source_start + (t - self.start) * (self.source_end - self.source_start) / (self.end - self.start)

    def from_source(self, s: float) -> float:
        return self.start + (s - self.source_start) * (self.end - self.start) / (self.source_end - self.source_start)


@dataclass
class Clip:
    frames: list[np.ndarray]
    pieces: list[Piece]

    @property
    def duration(self) -> float:
        return len(self.frames) / FPS


def true_segments(a: list[Piece], b: list[Piece], min_overlap: float = MIN_OVERLAP
                  ) -> list[tuple[float, float, float, float]]:
    """(a_start, a_end, b_start, b_end) of every stretch where a and b show the same source span."""
    out = []
    for pa in a:
        for pb in b:
            if pa.source != pb.source:
                continue
            lo, hi = max(pa.source_start, pb.source_start), min(pa.source_end, pb.source_end)
            if hi - lo >= min_overlap:
                out.append((pa.from_source(lo), pa.from_source(hi), pb.from_source(lo), pb.from_source(hi)))
    return out


def source_clip(frames: list[np.ndarray], name: str) -> Clip:
    """An original: all of it shows itself."""
    return Clip(frames, [Piece(0.0, len(frames) / FPS, name, 0.0, len(frames) / FPS)])


def _map_frames(clip: Clip, fn) -> Clip:
    return Clip([fn(f) for f in clip.frames], list(clip.pieces))


def letterbox(image: np.ndarray, aspect: float = 4 / 3) -> np.ndarray:
    """Black bars above and below (or left and right) so that the frame gets the given width/height."""
    h, w = image.shape[:2]
    if w / h > aspect:
        pad = int(round(w / aspect)) - h
        return cv2.copyMakeBorder(image, pad // 2, pad - pad // 2, 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    pad = int(round(h * aspect)) - w
    return cv2.copyMakeBorder(image, 0, 0, pad // 2, pad - pad // 2, cv2.BORDER_CONSTANT, value=(0, 0, 0))


def speed(clip: Clip, factor: float) -> Clip:
    """Played `factor` times faster (frames dropped or repeated); pieces rescaled."""
    n = max(1, int(len(clip.frames) / factor))
    frames = [clip.frames[min(len(clip.frames) - 1, int(k * factor))] for k in range(n)]
    pieces = [Piece(p.start / factor, p.end / factor, p.source, p.source_start, p.source_end) for p in clip.pieces]
    return Clip(frames, pieces)


def _shift(pieces: list[Piece], offset: float, lo: float, hi: float) -> list[Piece]:
    """The parts of `pieces` within [lo, hi), moved by `offset`."""
    out = []
    for p in pieces:
        s, e = max(p.start, lo), min(p.end, hi)
        if e - s > 1e-9:
            out.append(Piece(s + offset, e + offset, p.source, p.to_source(s), p.to_source(e)))
    return out


def excerpt(clip: Clip, start: float, end: float) -> Clip:
    a, b = int(round(start * FPS)), int(round(end * FPS))
    return Clip(clip.frames[a:b], _shift(clip.pieces, -a / FPS, a / FPS, b / FPS))


def insert(host: Clip, piece: Clip, at: float) -> Clip:
    """`piece` spliced into `host` at `at` seconds (the host's later part follows it)."""
    k = int(round(at * FPS))
    d = len(piece.frames) / FPS
    frames = host.frames[:k] + [cv2.resize(f, host.frames[0].shape[1::-1], interpolation=cv2.INTER_AREA)
                                for f in piece.frames] + host.frames[k:]
    pieces = (_shift(host.pieces, 0.0, 0.0, k / FPS) + _shift(piece.pieces, k / FPS, 0.0, d)
              + _shift(host.pieces, d, k / FPS, host.duration))
    return Clip(frames, pieces)


def concat(first: Clip, second: Clip) -> Clip:
    size = first.frames[0].shape[1::-1]
    frames = first.frames + [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in second.frames]
    return Clip(frames, first.pieces + _shift(second.pieces, first.duration, 0.0, second.duration))


def fade_in_from_black(clip: Clip, seconds: float) -> Clip:
    """`seconds` of black, then a fade into the clip (the black part shows no source)."""
    black = [np.zeros_like(clip.frames[0]) for _ in range(int(seconds * FPS))]
    ramp = [(f.astype(np.float32) * min(1.0, (k + 1) / FPS)).astype(np.uint8)
            for k, f in enumerate(clip.frames)]
    return Clip(black + ramp, _shift(clip.pieces, len(black) / FPS, 0.0, clip.duration))


# name -> edit of a clip; each keeps or rescales the pieces, so the truth follows.
EDITS = {
    "reencoded": lambda c: c,  # written at a low bit rate (see BITRATES)
    "cropped_captioned": lambda c: _map_frames(c, lambda f: caption(center_crop(f, 0.8), "BREAKING NEWS", 0.125)),
    "mirrored_letterboxed": lambda c: _map_frames(c, lambda f: letterbox(mirror(f))),
    "spedup": lambda c: speed(c, 1.5),
    "slowed": lambda c: speed(c, 0.75),
}
BITRATES = {"reencoded": 60_000}
DEFAULT_BITRATE = 500_000


def write_clip(path: Path, clip: Clip, bitrate: int = DEFAULT_BITRATE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_video(path, clip.frames, FPS, bitrate)


def read_clip(path: str | Path, name: str, max_seconds: float | None = None, max_side: int = 480) -> Clip:
    """A file decoded at FPS (long side reduced to max_side) as an original named `name`."""
    from myPython.pool.video import read_frames

    limit = int(max_seconds * FPS) if max_seconds else None
    frames, _ = read_frames(path, FPS, limit)
    images = []
    for f in frames:
        h, w = f.image.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        images.append(cv2.resize(f.image, (int(w * scale) // 2 * 2, int(h * scale) // 2 * 2),
                                 interpolation=cv2.INTER_AREA) if scale < 1 else f.image)
    return source_clip(images, name)


def pan_clip(photo: np.ndarray, name: str, seconds: float, seed: int, size: tuple[int, int] = (320, 180)) -> Clip:
    """A camera moving and zooming smoothly over a still photo."""
    rng = np.random.default_rng(seed)
    h, w = photo.shape[:2]
    n = int(seconds * FPS)
    keys = rng.uniform(0, 1, size=(8, 3))  # x, y, zoom at 8 key points: a brisk hand-held pan
    t = np.linspace(0, 7, n)
    frames = []
    for k in range(n):
        x, y, z = (np.interp(t[k], np.arange(8), keys[:, c]) for c in range(3))
        cw = w * (0.45 + 0.35 * z)
        ch = min(h, cw * size[1] / size[0])
        cw = ch * size[0] / size[1]
        x0, y0 = x * (w - cw), y * (h - ch)
        m = np.float32([[size[0] / cw, 0, -x0 * size[0] / cw], [0, size[1] / ch, -y0 * size[1] / ch]])
        frames.append(cv2.warpAffine(photo, m, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT))
    return source_clip(frames, name)


def scene_recording(room: np.ndarray, actor: np.ndarray, name: str, seconds: float, seed: int,
                    size: tuple[int, int] = (320, 180), camera: int | None = None, tilt: float = 0.0) -> Clip:
    """A fixed camera on a still background (the room) with an object (the actor) moving around in it.

    Two recordings with different seeds show the same scene from a slightly different camera position
    and zoom, under different light, with different motion and sensor noise: alike frame by frame, not
    copies of each other. With the same `camera` seed, both come from one camera position under one
    light (a webcam, a tank filmed twice) and only the motion and the noise differ. `tilt` (a share of the
    width) films the room from another angle: its top edge narrowed by that much on each side, so that the
    room no longer lines up with an untilted take by any similarity, while the actor still does.
    """
    rng = np.random.default_rng(seed)
    view_rng = rng if camera is None else np.random.default_rng(camera)
    h, w = room.shape[:2]
    zoom = view_rng.uniform(0.8, 0.95)
    x0, y0 = view_rng.uniform(0, 1 - zoom, 2)
    view = room[int(y0 * h) : int((y0 + zoom) * h), int(x0 * w) : int((x0 + zoom) * w)]
    gain = view_rng.uniform(0.8, 1.2) * view_rng.uniform(0.92, 1.08, 3)
    base = np.clip(cv2.resize(view, size, interpolation=cv2.INTER_AREA) * gain, 0, 255).astype(np.uint8)
    if tilt:
        w, h = size
        corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        tilted = np.float32([[tilt * w, 0], [(1 - tilt) * w, 0], [w, h], [0, h]])
        base = cv2.warpPerspective(base, cv2.getPerspectiveTransform(corners, tilted), size,
                                   borderMode=cv2.BORDER_REFLECT)
    side = size[1] // 2
    sprite = cv2.resize(actor, (side, side), interpolation=cv2.INTER_AREA)
    n = int(seconds * FPS)
    path = rng.uniform(0, 1, size=(5, 2))
    t = np.linspace(0, 4, n)
    frames = []
    for k in range(n):
        x = int(np.interp(t[k], np.arange(5), path[:, 0]) * (size[0] - side))
        y = int(np.interp(t[k], np.arange(5), path[:, 1]) * (size[1] - side))
        frame = base.copy()
        frame[y : y + side, x : x + side] = sprite
        noise = rng.normal(0, 4, frame.shape)
        frames.append(np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8))
    return source_clip(frames, name)


def still_clip(image: np.ndarray, name: str, seconds: float, seed: int, size: tuple[int, int] = (320, 240)) -> Clip:
    """A fixed camera on a still scene: the same picture with fresh sensor noise in every frame."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(image, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    frames = [np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8) for _ in range(int(seconds * FPS))]
    return source_clip(frames, name)


def edited_copies(name: str, clip: Clip) -> dict[str, tuple[Clip, int]]:
    """File name -> (edited copy, bit rate) for every edit of EDITS."""
    return {f"{name}_{edit}.mp4": (fn(clip), BITRATES.get(edit, DEFAULT_BITRATE)) for edit, fn in EDITS.items()}


def write_pool(root: Path, clips: dict[str, tuple[Clip, int]]) -> dict[str, list[Piece]]:
    """Write each clip once (files already there are kept: the content is deterministic); pieces by file name."""
    for name, (clip, bitrate) in clips.items():
        if not (root / name).exists():
            write_clip(root / name, clip, bitrate)
    return {name: clip.pieces for name, (clip, _) in clips.items()}


def pool_truth(pieces: dict[str, list[Piece]]) -> dict[tuple[str, str], list[tuple[float, float, float, float]]]:
    """True pairs (a < b) of a pool and their shared segments, from each video's pieces."""
    by_source: dict[str, set[str]] = {}
    for video, ps in pieces.items():
        for p in ps:
            by_source.setdefault(p.source, set()).add(video)
    truth = {}
    for videos in by_source.values():
        for a in sorted(videos):
            for b in sorted(videos):
                if a < b and (a, b) not in truth:
                    segments = true_segments(pieces[a], pieces[b])
                    if segments:
                        truth[(a, b)] = segments
    return truth


def ambiguous_pairs(pieces: dict[str, list[Piece]]) -> set[tuple[str, str]]:
    """Pairs (a < b) that show some of one source span, but less than MIN_OVERLAP of it in one piece.

    They are neither true pairs nor unrelated (a fraction of a second of shared frames, say a piece
    inserted next to a cut): calibration and evaluation ignore them.
    """
    by_source: dict[str, set[str]] = {}
    for video, ps in pieces.items():
        for p in ps:
            by_source.setdefault(p.source, set()).add(video)
    out = set()
    for videos in by_source.values():
        for a in sorted(videos):
            for b in sorted(videos):
                if a < b and not true_segments(pieces[a], pieces[b]) and true_segments(pieces[a], pieces[b], 1e-6):
                    out.add((a, b))
    return out
