"""The fresh2 held-out video set's edits, timelines and ground truth, on synthetic clips (fast: no package is read)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from myPython.datasets import heldout_fresh2_videos as f2
from myPython.datasets import heldout_fresh2_videos_edits as e2
from myPython.datasets.heldout_unseen_videos import encode

FPS = f2.SOURCE_FPS
KINDS = {"time": {"excerpt", "speed_0.75x", "speed_1.5to2x", "fps_24", "loop", "inserted"},
         "quality": {"tiny_bitrate", "blur_blocks", "noise", "thumbnail"},
         "geometry": {"rot90", "rot270", "rot180", "portrait_blur", "portrait_colour", "zoom_in", "filmed_screen"},
         "photometric": {"greyscale", "sepia_vignette", "hue_saturation", "invert_contrast"},
         "overlay": {"app_frame", "watermark_moving", "stickers", "meme", "subtitles"}}
OVERLAYS = sorted(KINDS["overlay"])


def counting_clip(name: str, n: int = 160, size: tuple[int, int] = (32, 24)) -> f2.Video:
    """Frame k is filled with the value k: what a frame shows is readable from its pixels."""
    frames = [np.full((size[1], size[0], 3), k, np.uint8) for k in range(n)]
    return f2.Video(frames, FPS, [f2.Span(0.0, n / FPS, name, 0.0, n / FPS)])


def textured_clip(name: str, seed: int, n: int = 40, w: int = 288, h: int = 162) -> f2.Video:
    """Smooth random pictures (different per seed), drifting a little frame to frame."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    a, b, c = rng.uniform(-1, 1, (3, 3))
    frames = []
    for k in range(n):
        chans = [128 + 100 * np.sin(5 * (a[i] * xx + b[i] * yy) + 3 * c[i] + 0.04 * k) for i in range(3)]
        frames.append(np.clip(np.dstack(chans), 0, 255).astype(np.uint8))
    return f2.Video(frames, FPS, [f2.Span(0.0, n / FPS, name, 0.0, n / FPS)])


def _consistent(video: f2.Video) -> None:
    """Each frame's centre value (its frame number in its source) agrees with the spans' mapping of its time (to
    half an output frame and one source frame)."""
    for k, frame in enumerate(video.frames):
        value = int(frame[frame.shape[0] // 2, frame.shape[1] // 2, 0])
        t = (k + 0.5) / video.fps
        span = next(s for s in video.spans if s.start <= t < s.end)
        rate = (span.src_end - span.src_start) / (span.end - span.start)
        src = span.src_start + (t - span.start) * rate
        assert abs(value / FPS - src) <= 0.5 * rate / video.fps + 1.0 / FPS + 1e-9, (k, value, src)


def _item(name: str, video: f2.Video, family: str = "x", kind: str = "x") -> f2.VideoItem:
    return f2.VideoItem(name, family, kind, tuple(sorted({s.source for s in video.spans})), tuple(video.spans))


def _edits(video: f2.Video, name: str, filler: f2.Video | None = None) -> dict:
    return f2.source_edits(video, np.random.default_rng(f2.item_seed(name)), filler)


# ---- timelines ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS["time"]))
def test_time_edits_keep_frames_and_spans_consistent(kind):
    clip, filler = counting_clip("a"), counting_clip("filler", 60, (40, 20))
    video = _edits(clip, "a", filler)[kind][1]()
    _consistent(video)
    assert abs(video.spans[-1].end - video.seconds) < 1e-9 and video.seconds <= 12.0 + 1e-9


def test_time_edits_have_the_stated_rates_and_lengths():
    clip = counting_clip("a")  # 8 s at 20 fps
    p = f2.draw_params(clip.seconds, np.random.default_rng(f2.item_seed("a")))
    made = {k: m() for k, (_, m, _) in _edits(clip, "a", counting_clip("filler", 60)).items()}
    assert 2.5 <= made["excerpt"].seconds <= 4.0 and made["excerpt"].seconds == pytest.approx(p.excerpt_seconds)
    assert len(made["speed_0.75x"].frames) == 213 and made["speed_0.75x"].fps == FPS
    assert 1.5 <= p.fast <= 2.0 and len(made["speed_1.5to2x"].frames) == int(160 / p.fast + 1e-9)
    assert made["fps_24"].fps == 24.0 and len(made["fps_24"].frames) == 192
    assert 8.0 <= made["loop"].seconds <= 10.0 and len(made["loop"].spans) == 2
    assert made["loop"].spans[0].src_start == made["loop"].spans[1].src_start
    assert made["inserted"].seconds == pytest.approx(3.0 + p.insert_seconds)
    assert 2.0 <= p.insert_seconds <= 3.0 and [s.source for s in made["inserted"].spans] == ["filler", "a", "filler"]
    assert "inserted" not in _edits(clip, "a")  # no filler, no insertion


def test_time_edits_map_to_the_right_source_seconds():
    a = counting_clip("a")
    piece = f2.excerpt(a, 1.2, 3.0)
    assert int(piece.frames[0][0, 0, 0]) == 24 and len(piece.frames) == 60
    (seg,) = f2.shared_segments(a.spans, piece.spans)
    assert seg == pytest.approx((1.2, 4.2, 0.0, 3.0))
    (seg,) = f2.shared_segments(f2.change_speed(a, 0.75).spans, piece.spans)
    assert seg == pytest.approx((1.6, 5.6, 0.0, 3.0))  # slowed: those seconds last 4/3 as long
    (seg,) = f2.shared_segments(f2.change_speed(a, 1.6).spans, piece.spans)
    assert seg == pytest.approx((0.75, 2.625, 0.0, 3.0))
    (seg,) = f2.shared_segments(f2.retime(a, 24.0).spans, piece.spans)
    assert seg == pytest.approx((1.2, 4.2, 0.0, 3.0))
    looped = f2.loop(a, 2.0, 4.0)
    assert f2.shared_segments(a.spans, looped.spans) == [pytest.approx((2.0, 6.0, 0.0, 4.0)),
                                                         pytest.approx((2.0, 6.0, 4.0, 8.0))]
    filler = counting_clip("f", 60, (48, 16))
    ins = f2.inserted(filler, f2.excerpt(a, 5.0, 2.5), 1.0)
    assert ins.frames[0].shape == a.frames[0].shape and len(ins.frames) == 110
    assert f2.shared_segments(a.spans, ins.spans) == [pytest.approx((5.0, 7.5, 1.0, 3.5))]
    assert f2.shared_segments(filler.spans, ins.spans) == [pytest.approx((0.0, 1.0, 0.0, 1.0)),
                                                           pytest.approx((1.0, 3.0, 3.5, 5.5))]


# ---- ground truth ------------------------------------------------------------------------------------------------


def test_compositions_pair_with_each_part_and_short_shares_are_ignored():
    a, b, c, d = (counting_clip(n, 120) for n in "abcd")
    sources = {"a": a, "b": b, "c": c, "d": d}
    pip = f2.make_mix(f2.Mix("pip", ("a", "b"), (0.0, 1.0), (), 2), sources)
    assert len(pip.frames) == 100 and {s.source for s in pip.spans} == {"a", "b"}
    comp = f2.make_mix(f2.Mix("compilation", ("c", "a", "d"), (0.5, 2.0, 0.0), (3.0, 2.5, 0.6)), sources)
    assert comp.frames[0].shape == (198, 352, 3) and len(comp.frames) == 122
    _consistent(comp)
    grid = f2.make_mix(f2.Mix("grid_2x2", ("a", "b", "c", "d"), (0.0, 0.5, 4.0, 0.0)), sources)
    assert grid.seconds == pytest.approx(2.0) and len(grid.spans) == 4
    videos = {"a.mp4": a, "b.mp4": b, "pip.mp4": pip, "comp.mp4": comp, "grid.mp4": grid,
              "b__grey.mp4": f2.per_frame(b, lambda f, t: e2.greyscale(f))}
    truth, ignored = f2.video_truth([_item(n, v) for n, v in videos.items()])
    assert truth[("b.mp4", "pip.mp4")] == [pytest.approx((1.0, 6.0, 0.0, 5.0))]
    assert truth[("a.mp4", "comp.mp4")] == [pytest.approx((2.0, 4.5, 3.0, 5.5))]
    assert truth[("comp.mp4", "pip.mp4")] == [pytest.approx((3.0, 5.5, 2.0, 4.5))]  # a's seconds 2-4.5 in both
    assert truth[("a.mp4", "grid.mp4")] == [pytest.approx((0.0, 2.0, 0.0, 2.0))]
    assert ("b.mp4", "b__grey.mp4") in truth and ("a.mp4", "b.mp4") not in truth
    assert ("comp.mp4", "grid.mp4") in ignored  # d's 0.6 s: under MIN_OVERLAP
    assert ("b.mp4", "comp.mp4") not in truth and ("b.mp4", "comp.mp4") not in ignored


def test_different_sources_under_one_template_are_different_origins():
    a, b = textured_clip("a", 1), textured_clip("b", 2)
    made = {}
    for name, video in (("a", a), ("b", b), ("c", textured_clip("c", 3))):
        edits = _edits(video, name)
        for kind in OVERLAYS:
            made[f"{name}__{kind}.mp4"] = edits[kind][1]()
    truth, ignored = f2.video_truth([_item(n, v) for n, v in made.items()])
    assert not ignored and len(truth) == 3 * 10  # each source's five overlays pair among themselves only
    assert all(p[:2] == q[:2] for p, q in truth)
    for kind in ("stickers", "meme", "subtitles"):  # one template: the same pixels wherever it is opaque
        layer = {"stickers": e2.sticker_layer, "meme": e2.meme_layer}.get(kind, lambda w, h: e2.subtitle_layer(
            w, h, 0))(288, 162)
        opaque = layer.alpha[..., 0] >= 1.0
        assert 0.003 < opaque.mean() < 0.3, kind
        assert np.array_equal(made[f"a__{kind}.mp4"].frames[0][opaque], made[f"b__{kind}.mp4"].frames[0][opaque])
    sa, sb = made["a__app_frame.mp4"].frames[0], made["b__app_frame.mp4"].frames[0]
    same = np.all(sa == sb, axis=2)
    assert sa.shape == (576, 288, 3) and 0.4 < same.mean() < 0.95  # the chrome is shared, the video is not
    assert same[:60].all() and same[-40:].all()  # status bar, header, nav bar


def test_overlays_move_and_change_with_time():
    frame = textured_clip("a", 4).frames[0]
    marks = [e2.watermark(frame, t) for t in (0.0, 1.0, 2.0, 3.0)]
    assert all(not np.array_equal(marks[k], marks[k + 1]) for k in range(3))
    assert np.array_equal(e2.subtitles(frame, 0.0), e2.subtitles(frame, 1.7))
    assert not np.array_equal(e2.subtitles(frame, 1.7), e2.subtitles(frame, 1.9))


# ---- edits: sizes, determinism -----------------------------------------------------------------------------------


def test_frame_edits_keep_or_set_the_stated_sizes():
    clip = textured_clip("s", 5, n=20)
    made = {k: m() for k, (_, m, _) in _edits(clip, "s").items()}
    p = f2.draw_params(clip.seconds, np.random.default_rng(f2.item_seed("s")))
    shapes = {k: v.frames[0].shape[:2] for k, v in made.items()}
    assert shapes["tiny_bitrate"] == (100, 176) and max(shapes["thumbnail"]) == p.thumb_side
    assert 96 <= p.thumb_side <= 128
    assert shapes["rot90"] == shapes["rot270"] == (288, 162) and shapes["rot180"] == (162, 288)
    assert shapes["portrait_blur"] == shapes["portrait_colour"] == (448, 252) and shapes["app_frame"] == (576, 288)
    for kind in (KINDS["quality"] | KINDS["geometry"] | KINDS["photometric"] | KINDS["overlay"]) - {
            "tiny_bitrate", "thumbnail", "rot90", "rot270", "portrait_blur", "portrait_colour", "app_frame"}:
        assert shapes[kind] == (162, 288), kind
    for kind in KINDS["quality"] | KINDS["geometry"] | KINDS["photometric"] | KINDS["overlay"]:
        assert len(made[kind].frames) == 20 and made[kind].spans == clip.spans, kind  # the timeline unchanged
    assert 1.3 <= p.zoom <= 1.5 and 0.04 <= abs(p.tilt) <= 0.08 and 40 <= abs(p.hue_turn) <= 140


def test_frame_edits_do_what_they_say():
    frame = textured_clip("a", 6).frames[0]
    assert np.array_equal(e2.rotate(frame, 1)[0, -1], frame[0, 0])  # clockwise: top left to top right
    assert np.array_equal(e2.rotate(frame, 3)[-1, 0], frame[0, 0])
    assert np.array_equal(e2.rotate(frame, 2), frame[::-1, ::-1])
    grey = e2.greyscale(frame)
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    colour = e2.portrait(frame, "colour", (1, 2, 3))
    assert tuple(colour[0, 0]) == (1, 2, 3) and tuple(colour[-1, -1]) == (1, 2, 3)
    sepia = e2.sepia_vignette(frame).astype(int)
    assert (sepia[..., 2] >= sepia[..., 0]).mean() > 0.95  # warm: red over blue
    assert sepia[80, 144].sum() > sepia[2, 2].sum() - 60
    inverted = e2.invert_contrast(np.full((4, 4, 3), 20, np.uint8), 8.0)
    assert inverted.min() > 220
    screen = e2.filmed_screen(frame, 0.06, (0.5, 0.3))
    assert screen[0, 0].max() < 60 and screen.shape == frame.shape
    noisy = [e2.add_noise(frame, 25.0, s) for s in (1, 1, 2)]
    assert np.array_equal(noisy[0], noisy[1]) and not np.array_equal(noisy[0], noisy[2])
    assert 12 < np.abs(noisy[0].astype(int) - frame).mean() < 40
    for out in (e2.blur_blocks(frame, 3.0, 8), e2.hue_saturation(frame, 90, 1.7), e2.zoom_in(frame, 1.4, (.5, .5))):
        assert out.shape == frame.shape and np.abs(out.astype(int) - frame).mean() > 2


def test_every_edit_is_deterministic_given_the_seed():
    clip, filler = textured_clip("s", 7, n=80), textured_clip("f", 8, n=60, w=160, h=90)
    one, two = _edits(clip, "s", filler), _edits(clip, "s", filler)
    assert list(one) == list(two) and set(one) == set().union(*KINDS.values())
    for kind in one:
        va, vb = one[kind][1](), two[kind][1]()
        assert len(va.frames) == len(vb.frames) and va.spans == vb.spans, kind
        assert all(np.array_equal(x, y) for x, y in zip(va.frames, vb.frames)), kind
    assert f2.draw_params(4.0, np.random.default_rng(f2.item_seed("s"))) != f2.draw_params(
        4.0, np.random.default_rng(f2.item_seed("t")))


@pytest.mark.parametrize("size", [(288, 162), (288, 216), (288, 230), (232, 288), (64, 36)])
def test_every_frame_has_even_sides(size):
    clip = textured_clip("s", 9, n=60, w=size[0], h=size[1])
    videos = [make() for _, make, _ in _edits(clip, "s", textured_clip("f", 10, n=30, w=160, h=90)).values()]
    sources = {"s": clip, "o": textured_clip("o", 11, n=60, w=232, h=288), "t": textured_clip("t", 12, n=60),
               "u": textured_clip("u", 13, n=60, w=288, h=216)}
    videos += [f2.make_mix(f2.Mix(kind, ("s", "o"), (0.0, 0.4), (), 1), sources) for kind in ("pip", "duet",
                                                                                               "split_tb")]
    videos.append(f2.make_mix(f2.Mix("grid_2x2", ("s", "o", "t", "u"), (0.0, 0.1, 0.2, 0.3)), sources))
    videos.append(f2.make_mix(f2.Mix("compilation", ("s", "o", "t"), (0.0, 0.2, 0.4), (1.0, 1.0, 1.0)), sources))
    for video in videos:
        shapes = {f.shape for f in video.frames}
        assert len(shapes) == 1, shapes
        (h, w, _), = shapes
        assert h % 2 == 0 and w % 2 == 0 and video.frames[0].dtype == np.uint8


def test_tiny_bitrate_copy_encodes_and_decodes(tmp_path):
    import av

    clip = textured_clip("s", 14, n=40)
    family, make, settings = _edits(clip, "s")["tiny_bitrate"]
    encode(tmp_path / "x.mp4", make(), **settings)
    encode(tmp_path / "y.mp4", f2.retime(clip, 24.0))
    with av.open(str(tmp_path / "x.mp4")) as container:
        assert container.streams.video[0].codec_context.name == "mpeg4"
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert family == "quality" and len(frames) == 40 and frames[0].shape == (100, 176, 3)
    assert (tmp_path / "x.mp4").stat().st_size < 40_000
    with av.open(str(tmp_path / "y.mp4")) as container:
        assert float(container.streams.video[0].average_rate) == 24.0
        assert sum(1 for _ in container.decode(video=0)) == 48


# ---- plan ---------------------------------------------------------------------------------------------------


def test_composition_plan():
    names = list(f2.SOURCES)
    seconds = {n: f2.SOURCES[n].seconds for n in names}
    plan = f2.composition_plan(names, seconds)
    assert plan == f2.composition_plan(names, seconds) and plan != f2.composition_plan(names, seconds, seed=1)
    counts = {k: sum(m.kind == k for m in plan) for k in ("pip", "duet", "split_tb", "grid_2x2", "compilation")}
    assert counts == {"pip": len(names), "duet": f2.PER_KIND, "split_tb": f2.PER_KIND, "grid_2x2": f2.GRIDS,
                      "compilation": f2.PER_KIND}
    pips = [m.parts for m in plan if m.kind == "pip"]
    assert sorted(h for h, _ in pips) == sorted(names) == sorted(i for _, i in pips)  # each once host, once inset
    for m in plan:
        assert len(set(m.parts)) == len(m.parts)
        if m.kind == "compilation":
            assert 3 <= len(m.parts) <= 4 and sum(m.lengths) <= 12.0 + 1e-9
            assert all(2.5 - 1e-9 <= d <= 4.0 + 1e-9 and 0 <= s <= seconds[n] - d + 1e-9
                       for n, s, d in zip(m.parts, m.starts, m.lengths))
        else:
            assert all(0 <= s <= max(0.0, seconds[n] - 4.0) + 1e-9 for n, s in zip(m.parts, m.starts))


def test_sources_and_fillers_are_evaluation_only_clips():
    from myPython.datasets.heldout_sources import HELDOUT_VIDEOS

    shipped = {f"{p}/{Path(m).name}" for p, members in HELDOUT_VIDEOS.items() for m in members}
    used = [w.file for w in (*f2.SOURCES.values(), *f2.FILLERS.values())] + [f for _, f in f2.NATURAL_COPIES.values()]
    assert set(used) <= shipped and len(f2.FILLERS) >= len(f2.SOURCES)
    assert not set(f2.FILLERS) & set(f2.SOURCES) and all(w.seconds <= 12.0 for w in f2.SOURCES.values())


# ---- independence from the training edits and the earlier sets' edits --------------------------------------------

FRESH2_MODULES = ("heldout_fresh2_videos", "heldout_fresh2_videos_edits")
FORBIDDEN = {"edits", "video_edits", "platform_edits", "platform_video_edits", "platform_video_pool",
             "video_training", "copies", "build", "heldout_unseen_edits", "heldout_unseen_overlays",
             "heldout_fresh_videos", "heldout_fresh_videos_edits", "heldout_fresh_videos_overlays",
             "heldout_fresh_edits", "heldout_fresh2_edits", "heldout_fresh2_apps", "heldout_fresh3_apps",
             "heldout_fresh3_panels"}


def _imports(module: str) -> set[str]:
    path = Path(f2.__file__).with_name(f"{module}.py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return found


@pytest.mark.parametrize("module", FRESH2_MODULES)
def test_no_fresh2_module_imports_a_training_or_earlier_edit_module(module):
    for name in _imports(module):
        assert not set(name.split(".")) & FORBIDDEN, (module, name)
    ours = {n for n in _imports(module) if n.startswith("myPython.") and "." in n}
    allowed = ("myPython.datasets.heldout_sources", "myPython.datasets.heldout_unseen_videos",
               "myPython.datasets.heldout_fresh2_videos")
    assert all(n.startswith(allowed) or n == "myPython.datasets" for n in ours), ours
    text = Path(f2.__file__).with_name(f"{module}.py").read_text(encoding="utf-8")
    assert "EVALUATION ONLY" in ast.get_docstring(ast.parse(text)) and len(text.splitlines()) < 500


def test_the_docstring_names_every_kind():
    doc = f2.__doc__ + e2.__doc__
    for kind in set().union(*KINDS.values()) | {"pip", "duet", "split_tb", "grid_2x2", "compilation",
                                                 "natural_webm"}:
        assert kind in doc, kind


# ---- the command's option and report -----------------------------------------------------------------------------


def test_eval_videos_takes_fresh2_and_all_runs_it(tmp_path):
    from myPython.apps.cli import build_parser
    from myPython.apps.commands.eval_unseen import VIDEO_SETS
    from myPython.apps.commands.eval_videos import SET_MEMBERS
    from myPython.errors import UsageError

    parser = build_parser(load="eval-videos")
    assert parser.parse_args(["eval-videos", "--out", str(tmp_path), "--set", "fresh2"]).set == "fresh2"
    args = parser.parse_args(["eval-videos", "--out", str(tmp_path), "--set", "fresh2", "--record"])
    with pytest.raises(UsageError):
        args.run(args)
    assert SET_MEMBERS["fresh2"] == ("fresh2",) and SET_MEMBERS["all"] == ("previous", "unseen", "fresh", "fresh2")
    assert "fresh2" in VIDEO_SETS


def test_fresh2_video_report_from_a_planted_matches_csv(tmp_path, monkeypatch):
    """run_videos(which="fresh2") builds the fresh2 pool and labels its report, with the CLI replaced by a stand-in."""
    from test_heldout_unseen import planted_matches_cli

    from myPython.apps import cli
    from myPython.apps.commands import eval_unseen

    a, b = counting_clip("a"), counting_clip("b")
    videos = {"a.mp4": ("original", "original", a), "b.mp4": ("original", "original", b),
              "a__loop.mp4": ("time", "loop", f2.loop(a, 1.0, 4.0)),
              "a__meme.mp4": ("overlay", "meme", a), "b__meme.mp4": ("overlay", "meme", b)}
    items = [_item(n, v, f, k) for n, (f, k, v) in videos.items()]
    monkeypatch.setattr(f2, "build_fresh2_video_pool", lambda root: (tmp_path / "pool", items))
    truth, _ = f2.video_truth(items)
    monkeypatch.setattr(cli, "main", planted_matches_cli(truth, ("a__meme.mp4", "b__meme.mp4")))
    report = eval_unseen.run_videos(tmp_path, [], 0.6, which="fresh2")
    assert report["set"] == "fresh2" and report["true_pairs"] == len(truth) == 4
    rows = {r["group"]: r for r in report["per_family"]}
    assert set(rows) == {"time", "overlay"} and rows["overlay"]["hardest_negatives"][0]["score"] == 0.95
    assert eval_unseen.format_videos(report).startswith("fresh2 held-out videos: 5 videos")
