"""Sampling frames of short videos at a fixed rate (PyAV, FFmpeg bundled in its wheel)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from myPython.pool.images import InputError

VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts"}


@dataclass
class Frame:
    time: float  # seconds from the start of the stream
    image: np.ndarray  # BGR uint8


def read_frames(path: str | os.PathLike, fps: float = 1.0, max_frames: int | None = None
                ) -> tuple[list[Frame], str | None]:
    """All sampled frames plus a one-line problem description (None when clean).

    A file that breaks off part-way (truncated) keeps the frames before the
    break and reports the problem; one with no usable frame raises InputError.
    """
    import av

    if fps <= 0:
        raise ValueError("fps must be > 0")
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InputError(f"{name}: {'broken symbolic link' if path.is_symlink() else 'file not found'}")
    if not path.is_file():
        raise InputError(f"{name}: not a regular file")
    if path.stat().st_size == 0:
        raise InputError(f"{name}: empty file")
    try:
        container = av.open(str(path))
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise InputError(f"{name}: not a readable video ({type(exc).__name__})") from None
    frames: list[Frame] = []
    problem = None
    with container:
        streams = [s for s in container.streams.video
                   if not (s.disposition & av.stream.Disposition.attached_pic)]
        if not streams:
            raise InputError(f"{name}: no video stream")
        stream = streams[0]
        stream.thread_type = "AUTO"
        start = float((stream.start_time or 0) * stream.time_base)
        step = 1.0 / fps
        next_time = 0.0
        limit = max_frames if max_frames is not None else float("inf")
        packets = corrupt = 0
        finished = False
        try:
            for packet in container.demux(stream):
                if packet.size:
                    packets += 1
                    corrupt += packet.is_corrupt
                for frame in packet.decode():
                    if frame.pts is None:
                        continue
                    t = float(frame.pts * stream.time_base) - start
                    if t + 1e-6 < next_time:
                        continue
                    frames.append(Frame(round(max(t, 0.0), 3), frame.to_ndarray(format="bgr24")))
                    next_time = (int(t / step + 1e-6) + 1) * step
                    if len(frames) >= limit:
                        break
                if len(frames) >= limit:
                    break
            else:
                finished = True
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            problem = f"{name}: decoding stopped after {len(frames)} frame(s) ({type(exc).__name__})"
        # The index lists every frame: fewer packets, or a cut one, mean the file was truncated.
        if finished and (corrupt or packets < (stream.frames or 0)):
            problem = f"{name}: truncated ({packets} of {stream.frames} frames present)"
    if not frames:
        raise InputError(problem or f"{name}: no decodable frames")
    return frames, problem
