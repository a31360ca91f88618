"""The unseen held-out sets' edits and ground truth, on synthetic images and clips (fast: no package is read)."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation import families as fam
from myPython.datasets import heldout_unseen as hu
from myPython.datasets import heldout_unseen_edits as ed
from myPython.datasets import heldout_unseen_overlays as ov
from myPython.datasets import heldout_unseen_videos as hv


def photo(seed: int, h: int = 240, w: int = 320) -> np.ndarray:
    """A smooth random picture (gradients and blobs), different per seed."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    out = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        a, b, f = rng.uniform(-1, 1, 3)
        out[..., c] = 128 + 100 * np.sin(6 * (a * xx + b * yy) + 3 * f)
    return np.clip(out + rng.normal(0, 3, out.shape), 0, 255).astype(np.uint8)


# ---- geometry and photometric -------------------------------------------------------------------


def test_quarter_turns_are_exact():
    im = photo(1)
    r = ed.rotate(im, 1)
    assert r.shape == (320, 240, 3)
    assert np.array_equal(r[0, 0], im[0, -1]) and np.array_equal(r[-1, 0], im[0, 0])
    assert np.array_equal(ed.rotate(ed.rotate(im, 1), 3), im)
    assert np.array_equal(ed.rotate(im, 2), im[::-1, ::-1])


def test_portrait_puts_the_whole_photo_at_its_box():
    im = photo(2)
    for fill in ("blur", "colour"):
        out, (x, y, w, h) = ed.portrait(im, fill, (540, 960))
        assert out.shape == (960, 540, 3) and (x, w) == (0, 540) and h == 405
        assert np.array_equal(out[y : y + h, x : x + w], ed.resize_to(im, w, h))


def test_photometric_and_quality_edits_keep_or_shrink_the_frame():
    im = photo(3)
    grey = ed.greyscale(im)
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    for fn in (ed.sepia, ed.high_contrast, ed.colour_cast, ed.vignette, ed.jpeg):
        out = fn(im)
        assert out.shape == im.shape and out.dtype == np.uint8 and not np.array_equal(out, im)
    v = ed.vignette(np.full((100, 100, 3), 200, np.uint8))
    assert v[50, 50, 0] > 190 and v[0, 0, 0] < 60
    assert max(ed.thumbnail(im).shape[:2]) == 96
    assert ed.zoom_crop(im, 0.5).shape == im.shape and ed.screen_photo(im).shape == im.shape


# ---- shared overlays: one template, different photos ----------------------------------------------


@pytest.mark.parametrize("make", [ov.watermark_layer, ov.sticker_layer, ov.meme_layer, ov.subtitle_layer])
def test_overlay_template_puts_the_same_pixels_on_different_photos(make):
    a, b = photo(4), photo(5)
    layer = make(a.shape[1], a.shape[0])
    oa, ob = layer.over(a), layer.over(b)
    opaque, clear = layer.alpha >= 1.0, layer.alpha <= 0.0
    assert opaque.any() or (layer.alpha > 0.1).any()
    assert np.array_equal(oa[opaque], ob[opaque])  # the template's own pixels
    assert np.array_equal(oa[clear], a[clear]) and np.array_equal(ob[clear], b[clear])  # the photos elsewhere
    assert not np.array_equal(oa, ob)
    touched_a, touched_b = (oa != a).any(-1), (ob != b).any(-1)
    assert not (touched_a & clear).any() and not (touched_b & clear).any()
    again = make(a.shape[1], a.shape[0]).over(a)
    assert np.array_equal(again, oa)  # deterministic


def test_app_chrome_is_identical_outside_the_photo_and_the_photo_inside():
    a, b = photo(6), photo(7)
    (ca, box_a), (cb, box_b) = ov.app_chrome(a), ov.app_chrome(b)
    assert ca.shape == (1280, 720, 3) and box_a == box_b
    x, y, w, h = box_a
    outside = np.ones(ca.shape[:2], bool)
    outside[y : y + h, x : x + w] = False
    assert np.array_equal(ca[outside], cb[outside])
    assert np.array_equal(ca[y : y + h, x : x + w], ed.resize_to(a, w, h))
    assert (ca[:124] != 0).any()  # the chrome is drawn


def test_subtitle_lines_differ():
    assert not np.array_equal(ov.subtitle_layer(320, 240, 0).alpha, ov.subtitle_layer(320, 240, 1).alpha)


# ---- compositions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("corner", range(4))
def test_picture_in_picture_holds_the_inset_at_its_box(corner):
    host, inset = photo(8, 360, 640), photo(9)
    out, (x, y, w, h) = ov.picture_in_picture(host, inset, corner)
    assert np.array_equal(out[y : y + h, x : x + w], ed.resize_to(inset, w, h))
    frame = np.zeros(host.shape[:2], bool)
    frame[y - 4 : y + h + 4, x - 4 : x + w + 4] = True
    assert np.array_equal(out[~frame], host[~frame])
    assert (x + w / 2 < 320) == (corner in (0, 3)) and (y + h / 2 < 180) == (corner in (0, 1))


def test_duet_split_and_collage_hold_every_part_at_its_box():
    parts = [photo(s) for s in range(10, 14)]
    for out, boxes, used in (ov.side_by_side(parts[0], parts[1]) + (parts[:2],),
                             ov.split_screen(parts[0], parts[1]) + (parts[:2],),
                             ov.collage(parts) + (parts,), ov.collage(parts[:3]) + (parts[:3],)):
        assert len(boxes) == len(used)
        for item, (x, y, w, h) in zip(used, boxes):
            assert np.array_equal(out[y : y + h, x : x + w], ed.cover(item, w, h))
    with pytest.raises(ValueError):
        ov.collage(parts[:2])


def test_composition_plan_and_origins():
    sources = [f"src/{k}" for k in range(24)]
    hosts = [f"host/{k}" for k in range(33)]
    plan = hu.composition_plan(sources, hosts)
    assert plan == hu.composition_plan(sources, hosts)  # deterministic
    pips = [p for p in plan if p.kind == "pip"]
    assert sorted(p.parts[1] for p in pips) == sorted(sources)  # every source once as an inset
    assert len({p.parts[0] for p in pips}) == len(pips) and all(p.parts[0] in hosts for p in pips)  # own hosts
    for kind, count in (("duet", 12), ("split_screen", 12), ("collage", 12)):
        chosen = [p for p in plan if p.kind == kind]
        assert len(chosen) == count and all(len(set(p.parts)) == len(p.parts) for p in chosen)
    assert all(len(p.parts) in (3, 4) for p in plan if p.kind == "collage")
    items = [hu.UnseenItem(f"c{n}", "composition", p.kind, p.parts) for n, p in enumerate(plan)]
    items += [hu.UnseenItem(s, "original", "original", (s,)) for s in sources]
    same = fam.same_origin_matrix([i.origins for i in items])
    for a, ia in enumerate(items):
        for b, ib in enumerate(items):
            assert same[a, b] == hu.same_origin(ia, ib)
    pip0 = items[0]
    assert hu.same_origin(pip0, hu.UnseenItem("h", "distractor", "photo", (pip0.origins[0],)))
    assert hu.same_origin(pip0, hu.UnseenItem("i", "original", "original", (pip0.origins[1],)))
    other = next(i for i in items[: len(pips)] if not set(i.origins) & set(pip0.origins))
    assert not hu.same_origin(pip0, other)  # the same layout, other origins: different


def test_source_split_is_seeded_and_disjoint():
    names = [f"p{k}" for k in range(44)]
    used, rest = hu.split_sources(names, 7, 24)
    assert (used, rest) == hu.split_sources(names, 7, 24) and len(used) == 24
    assert sorted(used + rest) == sorted(names) and hu.split_sources(names, 8, 24)[0] != used
    assert hu.item_seed(1, "a", "b") == hu.item_seed(1, "a", "b") != hu.item_seed(2, "a", "b")


def test_single_edits_are_deterministic_per_seed():
    im = photo(20)
    for kind, (_, edit) in hu.SINGLE_EDITS.items():
        one = edit(im, np.random.default_rng(hu.item_seed(hu.UNSEEN_SEED, "x", kind)))
        two = edit(im, np.random.default_rng(hu.item_seed(hu.UNSEEN_SEED, "x", kind)))
        assert np.array_equal(one, two), kind


# ---- video timelines and truth --------------------------------------------------------------------


def counting_clip(name: str, n: int = 60, fps: float = 12.0) -> hv.Video:
    """Frame k is filled with the value k: what a frame shows is readable from its pixels."""
    frames = [np.full((24, 32, 3), k, np.uint8) for k in range(n)]
    return hv.Video(frames, fps, [hv.Span(0.0, n / fps, name, 0.0, n / fps)])


def _consistent(video: hv.Video, fps: float = 12.0) -> None:
    """Each frame's pixel value (its source frame) agrees with the spans' mapping of its time."""
    for k, frame in enumerate(video.frames):
        t = (k + 0.5) / video.fps
        span = next(s for s in video.spans if s.start <= t < s.end)
        src = span.src_start + (t - span.start) * (span.src_end - span.src_start) / (span.end - span.start)
        assert abs(int(frame[0, 0, 0]) / fps - src) <= 0.5 / video.fps + 1.0 / fps + 1e-9, (k, frame[0, 0, 0], src)


@pytest.mark.parametrize("edit", [lambda v: hv.change_speed(v, 1.5), lambda v: hv.change_speed(v, 0.75),
                                  lambda v: hv.retime(v, 25.0), lambda v: hv.retime(v, 5.0),
                                  lambda v: hv.cut(v, 1.0, 4.0)])
def test_timing_edits_keep_frames_and_spans_consistent(edit):
    _consistent(edit(counting_clip("a")))


def test_speed_change_truth_segments():
    original = counting_clip("a")  # 5 s
    fast = hv.change_speed(original, 1.5)
    assert hv.shared_segments(original.spans, fast.spans) == [(0.0, 5.0, 0.0, pytest.approx(5.0 / 1.5))]
    piece = hv.cut(original, 1.0, 4.0)
    (seg,) = hv.shared_segments(original.spans, piece.spans)
    assert seg == pytest.approx((1.0, 4.0, 0.0, 3.0))
    (seg,) = hv.shared_segments(fast.spans, piece.spans)
    assert seg == pytest.approx((1.0 / 1.5, 4.0 / 1.5, 0.0, 3.0))


def test_compilation_and_composites_share_with_each_source():
    a, b, c = counting_clip("a"), counting_clip("b", 48), counting_clip("c")
    comp = hv.concatenate([hv.cut(a, 0.5, 3.5), hv.cut(c, 1.0, 4.0)], (40, 30))
    assert len(comp.frames) == 72 and comp.frames[0].shape == (30, 40, 3)
    _consistent(comp)
    pip = hv.side_by_side_video(b, a, lambda h, i: ov.picture_in_picture(h, i)[0])
    assert len(pip.frames) == 48 and {s.source for s in pip.spans} == {"a", "b"}
    items = [hv.VideoItem(n, "x", "x", tuple(sorted({s.source for s in v.spans})), tuple(v.spans))
             for n, v in (("a.mp4", a), ("b.mp4", b), ("c.mp4", c), ("comp.mp4", comp), ("pip.mp4", pip),
                          ("a_tail.mp4", hv.cut(a, 4.2, 5.0)))]
    truth, ignored = hv.video_truth(items)
    assert set(truth) == {("a.mp4", "comp.mp4"), ("c.mp4", "comp.mp4"), ("a.mp4", "pip.mp4"),
                          ("b.mp4", "pip.mp4"), ("comp.mp4", "pip.mp4")}
    assert truth[("a.mp4", "comp.mp4")] == [pytest.approx((0.5, 3.5, 0.0, 3.0))]
    assert truth[("c.mp4", "comp.mp4")] == [pytest.approx((1.0, 4.0, 3.0, 6.0))]
    assert truth[("b.mp4", "pip.mp4")] == [pytest.approx((0.0, 4.0, 0.0, 4.0))]
    assert ignored == {("a.mp4", "a_tail.mp4")}  # 0.8 s of one source: neither true nor unrelated
    assert ("a.mp4", "b.mp4") not in truth and ("a.mp4", "b.mp4") not in ignored


def test_video_edits_are_deterministic_and_encode(tmp_path):
    import av

    clip = hv.Video([ed.resize_to(photo(30 + k % 3), 64, 48) for k in range(24)], 12.0,
                    [hv.Span(0.0, 2.0, "s", 0.0, 2.0)])
    one = hv.video_edits(clip, np.random.default_rng(3))
    two = hv.video_edits(clip, np.random.default_rng(3))
    assert set(one) == set(two) and "excerpt_4s" not in one  # a 2 s clip has no 4 s excerpt
    for kind in ("zoom_crop", "rot90", "subtitles", "lowres_lowbitrate"):
        va, vb = one[kind][1](), two[kind][1]()
        assert all(np.array_equal(x, y) for x, y in zip(va.frames, vb.frames)), kind
    hv.encode(tmp_path / "x.mp4", one["lowres_lowbitrate"][1](), **one["lowres_lowbitrate"][2])
    hv.encode(tmp_path / "y.mp4", one["fps_5"][1]())
    with av.open(str(tmp_path / "y.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 10
    assert (tmp_path / "x.mp4").stat().st_size > 0 and not list(tmp_path.glob(".*"))


def test_video_composition_plan():
    names = [f"v{k}" for k in range(8)]
    seconds = {n: 12.0 for n in names} | {"v7": 4.0}
    plan = hv.composition_plan(names, seconds)
    assert plan == hv.composition_plan(names, seconds)
    assert [p.kind for p in plan].count("compilation") == 4
    for p in plan:
        assert len(set(p.parts)) == len(p.parts)
        if p.kind == "compilation":
            assert 3 <= len(p.parts) <= 4 and "v7" not in p.parts
            assert all(3.0 <= d <= 5.0 and 0 <= s <= seconds[n] - d for n, s, d in zip(p.parts, p.starts, p.lengths))


# ---- per-family metrics ---------------------------------------------------------------------------------


def test_family_rows_and_hardest_negatives():
    origins = [("a",), ("a",), ("b",), ("b",), ("a", "b"), ("c",)]
    groups = ["original", "overlay", "original", "overlay", "composition", "original"]
    same = fam.same_origin_matrix(origins)
    scores = np.array([[0, .9, .2, .8, .7, .1], [.9, 0, .85, .3, .6, .4], [.2, .85, 0, .9, .5, .2],
                       [.8, .3, .9, 0, .4, .75], [.7, .6, .5, .4, 0, .3], [.1, .4, .2, .75, .3, 0]])
    i, j, score, y = fam.all_pairs(scores, same)
    names = [f"i{k}" for k in range(6)]
    rows = {r["group"]: r for r in fam.by_group(i, j, score, y, groups, names, groups, 0.65, skip=("original",))}
    assert set(rows) == {"overlay", "composition"}
    over = rows["overlay"]  # pairs with item 1 or 3: (0,1)+ (1,2)- (1,3)- (1,4)+ (1,5)- (0,3)- (2,3)+ (3,4)+ (3,5)-
    assert over["positive_pairs"] == 4 and over["recall"] == pytest.approx(2 / 4)
    assert over["precision"] == pytest.approx(2 / 5) and over["accepted"] == 5
    assert [(n["a"], n["b"]) for n in over["hardest_negatives"]] == [("i1", "i2"), ("i0", "i3"), ("i3", "i5")]
    assert rows["composition"]["positive_pairs"] == 4 and rows["composition"]["hardest_negatives"][0]["b"] == "i5"
    assert fam.mean_average_precision(scores, same) > 0


def test_group_pairs_count_a_composite_with_each_origin_it_shows():
    same = fam.same_origin_matrix([("a",), ("a",), ("b",), ("b",), ("a", "b"), ("c",)])  # 4 shows a and b
    # 6 possible pairs: (0,1) (2,3) and the composite with each of 0..3
    grouped = fam.group_pairs([[0, 1, 4], [2, 3]], same)
    assert grouped["pair_precision"] == 1.0 and grouped["pair_recall"] == pytest.approx(4 / 6)
    assert (grouped["groups"], grouped["largest"]) == (2, 3)
    merged = fam.group_pairs([[0, 1, 2, 3, 4]], same)  # the composite chained both origins: 4 wrong pairs of 10
    assert merged["pair_precision"] == pytest.approx(0.6) and merged["pair_recall"] == 1.0
    assert fam.group_pairs([], same)["pair_precision"] == 1.0


# ---- the eval commands' option ------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["eval-images", "eval-videos"])
def test_eval_commands_take_a_set_option_and_record_only_the_previous_set(command, tmp_path):
    from myPython.apps.cli import build_parser
    from myPython.errors import UsageError

    parser = build_parser(load=command)
    assert parser.parse_args([command, "--out", str(tmp_path)]).set == "both"
    args = parser.parse_args([command, "--out", str(tmp_path), "--set", "unseen", "--record"])
    with pytest.raises(UsageError):
        args.run(args)
    with pytest.raises(SystemExit):
        parser.parse_args([command, "--out", str(tmp_path), "--set", "other"])
    if command == "eval-images":
        args = parser.parse_args([command, "--out", str(tmp_path), "--set", "fresh", "--record"])
        with pytest.raises(UsageError):
            args.run(args)


def test_side_by_side_table():
    from myPython.apps.commands.eval_unseen import side_by_side

    text = side_by_side("t", {"previous": {"n": 3, "a": {"b": 0.5}}, "fresh": {"n": 4, "a": {"b": 0.25}}},
                        [("count", "n"), ("ab", "a/b")])
    assert text.splitlines()[0].split() == ["t", "previous", "fresh"]
    assert text.splitlines()[1].split() == ["count", "3", "4"]
    assert text.splitlines()[2].split() == ["ab", "0.5000", "0.2500"]


def test_side_by_side_reads_every_row_of_both_result_kinds():
    """Every row of the image and video tables is found in results shaped as the evaluations write them (key
    names with dots, as at_precision_0.95, included)."""
    from myPython.apps.commands.eval_unseen import IMAGE_ROWS, VIDEO_ROWS, side_by_side

    for rows in (IMAGE_ROWS, VIDEO_ROWS):
        results: dict = {}
        for n, (_, path) in enumerate(rows):
            *parents, leaf = path.split("/")
            node = results
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = 0.5 + n
        lines = side_by_side("t", {"previous": results, "unseen": results}, rows).splitlines()
        assert len(lines) == len(rows) + 1
        assert [float(line.split()[-1]) for line in lines[1:]] == [0.5 + n for n in range(len(rows))]


def planted_matches_cli(truth: dict, false_pair: tuple[str, str]):
    """A stand-in for the CLI: its `match-videos` writes each true pair's first shared segment at 0.9 and
    `false_pair` (a shared-template false match) at 0.95; every other step succeeds and does nothing."""
    import csv

    from myPython.pool.video_match import CSV_HEADER

    def fake_cli(argv: list[str]) -> int:
        if argv[0] == "match-videos":
            with open(argv[argv.index("--out") + 1], "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(CSV_HEADER)
                for (p, q), segs in truth.items():
                    w.writerow([p, q, *segs[0], 0.9])
                w.writerow([*false_pair, 0, 5, 0, 5, 0.95])
        return 0

    return fake_cli


def test_unseen_video_report_from_a_planted_matches_csv(tmp_path, monkeypatch):
    """run_videos wiring (truth, CSV, per-family rows, VSC22 AP), with the pool and the CLI replaced by stand-ins."""

    from myPython.apps import cli
    from myPython.apps.commands import eval_unseen

    a, b = counting_clip("a"), counting_clip("b")
    videos = {"a.mp4": ("original", a), "b.mp4": ("original", b), "a__fast.mp4": ("time", hv.change_speed(a, 1.5)),
              "b__meme.mp4": ("overlay", b), "a__meme.mp4": ("overlay", a)}
    items = [hv.VideoItem(n, f, n.split("__")[-1].removesuffix(".mp4"), (v.spans[0].source,), tuple(v.spans))
             for n, (f, v) in videos.items()]
    monkeypatch.setattr(hv, "build_unseen_video_pool", lambda root: (tmp_path / "pool", items))
    truth, _ = hv.video_truth(items)

    monkeypatch.setattr(cli, "main", planted_matches_cli(truth, ("a__meme.mp4", "b__meme.mp4")))
    report = eval_unseen.run_videos(tmp_path, [], 0.6)
    m = report["match_videos"]
    assert report["true_pairs"] == len(truth) == 4 and m["recall"] == 1.0 and m["precision"] == pytest.approx(4 / 5)
    rows = {r["group"]: r for r in report["per_family"]}
    assert rows["overlay"]["hardest_negatives"][0]["score"] == 0.95 and rows["overlay"]["precision"] < 1
    assert rows["time"]["precision"] == 1.0 and rows["time"]["positive_pairs"] == 2
    assert 0 < m["vsc22_segment_ap"] < 1 and (tmp_path / "video_eval.json").exists()
    assert "hardest negatives, overlay" in eval_unseen.format_videos(report)
