"""Frame sampling (pool/video.py): decoding only the reference frames gives the same samples, each at most a
frame late, and a stream whose reference frames lie far apart is decoded in full so that no sample is lost."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from myPython.pool.video import FrameReader

RATE = 30


def _clip(path: Path, options: dict[str, str], seconds: int = 6) -> Path:
    """A moving gradient encoded by libx264 with `options` (B-frame layout)."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (240, 480, 3), np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=RATE, options=options)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for n in range(seconds * RATE):
            image = np.ascontiguousarray(np.roll(texture, 2 * n, axis=1)[:, :320])
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _times(path: Path, reference_only: bool) -> list[float]:
    return [frame.time for frame in FrameReader(path, 1.0, reference_only=reference_only)]


def test_reference_frames_give_every_sample_at_most_one_frame_late(tmp_path):
    path = _clip(tmp_path / "b_frames.mp4", {"bframes": "3", "b-pyramid": "none"})
    full, fast = _times(path, False), _times(path, True)
    assert len(fast) == len(full) == 6
    assert all(0 <= b - a <= 1.0 / RATE + 1e-6 for a, b in zip(full, fast))
    assert any(b > a for a, b in zip(full, fast))  # frames were skipped: some samples moved


@pytest.mark.parametrize("fps", [20.0, 1000.0])
def test_dense_sampling_decodes_every_frame(tmp_path, fps):
    path = _clip(tmp_path / "dense.mp4", {"bframes": "3", "b-pyramid": "none"}, seconds=2)
    fast = [f.time for f in FrameReader(path, fps, reference_only=True)]
    assert fast == [f.time for f in FrameReader(path, fps)]


def test_far_apart_reference_frames_fall_back_to_full_decoding(tmp_path):
    # 16 B frames in a row: 0.57 s without a reference frame, over half a sampling step at 1 fps
    path = _clip(tmp_path / "long_b_runs.mp4", {"bframes": "16", "b-adapt": "0", "b-pyramid": "none"})
    full, fast = _times(path, False), _times(path, True)
    assert len(fast) == len(full) == 6
    assert all(0 <= b - a <= 16.0 / RATE for a, b in zip(full, fast))
    # decoded in full once the long gap was seen (after the frames the decoder's threads already hold)
    assert fast[-1] == full[-1]


def test_resume_skips_the_same_samples(tmp_path):
    path = _clip(tmp_path / "resume.mp4", {"bframes": "3", "b-pyramid": "none"})
    whole = [(f.time, f.image) for f in FrameReader(path, 1.0, reference_only=True)]
    rest = [(f.time, f.image) for f in FrameReader(path, 1.0, skip=2, reference_only=True)]
    assert [t for t, _ in rest] == [t for t, _ in whole[2:]]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(rest, whole[2:]))
