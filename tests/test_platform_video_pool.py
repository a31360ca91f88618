"""The platform video pool's plan (datasets/platform_video_pool.py): every edit used, families alternating, names."""

from __future__ import annotations

import numpy as np

from myPython.datasets import platform_video_pool as pool
from myPython.datasets.platform_video_edits import VIDEO_FAMILIES
from myPython.datasets.video_edits import FPS, Clip, Piece


def test_every_platform_edit_is_planned_once_and_families_take_turns():
    edits = pool.interleaved_edits()
    assert sorted(edits) == sorted((f, n) for f, names in VIDEO_FAMILIES.items() for n in names)
    families = [f for f, _ in edits]
    # consecutive edits differ in family while more than one family has edits left
    assert all(a != b for a, b in zip(families[:20], families[1:21]))


def test_kind_of_reads_the_file_names_it_writes():
    assert pool.kind_of("bikes_pf_picture_in_picture.mp4") == "picture_in_picture"
    assert pool.kind_of("pan_coffee_shared1.mp4") == "shared_template"
    assert pool.kind_of("bikes.mp4") == "original"


def test_copies_carry_their_source_and_shared_templates_pair_two_sources():
    rng = np.random.default_rng(0)
    sources = {}
    for name in ("bikes", "pan_astronaut"):
        frames = [rng.integers(0, 255, (72, 128, 3), dtype=np.uint8) for _ in range(int(2 * FPS))]
        sources[name] = Clip(frames, [Piece(0.0, 2.0, name, 0.0, 2.0)])
    old = pool.SHARED_TEMPLATES
    try:
        pool.SHARED_TEMPLATES = (("Watermark", "bikes", "pan_astronaut"),)
        out = pool.platform_copies(sources, ["bikes", "pan_astronaut"], per_source=1)
    finally:
        pool.SHARED_TEMPLATES = old
    edited = {name: clip for name, (clip, _) in out.items() if "_pf_" in name}
    assert len(edited) == 2
    for name, clip in edited.items():
        assert clip.pieces[0].source == name.split("_pf_")[0] and clip.frames
    shared = [name for name in out if "_shared0" in name]
    assert sorted(n.split("_shared")[0] for n in shared) == ["bikes", "pan_astronaut"]
