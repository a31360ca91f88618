"""Sampling frames of videos at a fixed rate (PyAV, FFmpeg bundled in its wheel), one frame at a time.

`FrameReader` yields sampled frames as they are decoded, so a video of any
length is held one frame at a time; `read_frames` collects them for short clips.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from myPython.common.inputfiles import display_name, fd_path, open_regular
from myPython.errors import InputError

VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts"}
MAX_FRAME_PIXELS = 8192 * 8192  # larger frames are refused (one frame of this size is 200 MB)


@dataclass
class Frame:
    time: float  # seconds from the start of the stream
    image: np.ndarray  # BGR uint8


class FrameReader:
    """Iterate the frames sampled at `fps`; afterwards `problem` holds a one-line warning or None.

    A file that breaks off part-way (truncated) keeps the frames before the
    break and reports the problem; one with no usable frame raises InputError
    (from the iteration). `skip` sampled frames are passed over without being
    converted (to resume a video whose first rows are already stored);
    `sampled` counts all sampled frames, skipped ones included.

    `reference_only`: when sampling at most half the stream's frame rate, the decoder skips the frames no
    other frame is predicted from (an H.264 stream's non-reference B frames: about half of x264's output, so
    decoding costs about half), and each sample is the first reference frame at or after its time, at most a
    frame or two late. A stream whose reference frames come further apart than half a sampling step is
    decoded in full from there on, so no sample is lost.
    """

    def __init__(self, path: str | os.PathLike, fps: float = 1.0, max_frames: int | None = None,
                 skip: int = 0, reference_only: bool = False) -> None:
        if not fps > 0:
            raise ValueError("fps must be > 0")
        self.path, self.fps, self.max_frames, self.skip = path, fps, max_frames, skip
        self.reference_only = reference_only
        self.problem: str | None = None
        self.sampled = 0

    def __iter__(self) -> Iterator[Frame]:
        import av

        name = display_name(self.path)
        with open_regular(self.path) as (fd, _):
            try:
                container = av.open(fd_path(fd, self.path))
            except PermissionError:
                raise InputError(f"{name}: permission denied") from None
            except (av.error.FFmpegError, OSError, ValueError) as exc:
                raise InputError(f"{name}: not a readable video ({type(exc).__name__})") from None
            with container:
                yield from self._sample(container, name)
        if not self.sampled:
            raise InputError(self.problem or f"{name}: no decodable frames")

    def _sample(self, container, name: str) -> Iterator[Frame]:
        import av

        streams = [s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
        if not streams:
            raise InputError(f"{name}: no video stream")
        stream = streams[0]
        width, height = stream.codec_context.width or 0, stream.codec_context.height or 0
        if width * height > MAX_FRAME_PIXELS:
            raise InputError(f"{name}: {width}x{height} frames exceed the limit of {MAX_FRAME_PIXELS} pixels")
        stream.thread_type = "AUTO"
        start = float((stream.start_time or 0) * stream.time_base)
        step = 1.0 / self.fps
        rate = float(stream.average_rate or stream.guessed_rate or 0)
        skipping = self.reference_only and rate >= 2 * self.fps
        if skipping:
            stream.codec_context.skip_frame = "NONREF"
        last = None
        next_time = 0.0
        limit = self.max_frames if self.max_frames is not None else float("inf")
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
                    if skipping and last is not None and t - last > step / 2:
                        stream.codec_context.skip_frame = "DEFAULT"  # reference frames too far apart
                        skipping = False
                    last = t
                    if t + 1e-6 < next_time:
                        continue
                    next_time = (int(t / step + 1e-6) + 1) * step
                    self.sampled += 1
                    if self.sampled > self.skip:
                        if frame.width * frame.height > MAX_FRAME_PIXELS:
                            raise InputError(f"{name}: a {frame.width}x{frame.height} frame exceeds the limit of "
                                             f"{MAX_FRAME_PIXELS} pixels")
                        yield Frame(round(max(t, 0.0), 3), frame.to_ndarray(format="bgr24"))
                    if self.sampled >= limit:
                        break
                if self.sampled >= limit:
                    break
            else:
                finished = True
        except InputError:
            raise
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            self.problem = f"{name}: decoding stopped after {self.sampled} frame(s) ({type(exc).__name__})"
        # The index lists every frame: fewer packets, or a cut one, mean the file was truncated.
        if finished and (corrupt or packets < (stream.frames or 0)):
            self.problem = f"{name}: truncated ({packets} of {stream.frames} frames present)"


def read_frames(path: str | os.PathLike, fps: float = 1.0, max_frames: int | None = None
                ) -> tuple[list[Frame], str | None]:
    """All sampled frames of a (short) video plus a one-line problem description (None when clean)."""
    reader = FrameReader(path, fps, max_frames)
    frames = list(reader)
    return frames, reader.problem
