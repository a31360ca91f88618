"""`match-videos` with panel rows (`embed --panels`) folded into their frames, on synthetic stores whose answer is
known by construction (pool/video_match.py, pool/segment_geometry.py).

Each video's content lives in a block of its own of the descriptor space, with non-negative entries: the cosine
of two rows of different blocks is 0, of one block > 0. A composite whose frames (one block) show a source (another)
as a panel then has, folded, exactly the similarity matrix of a plain copy of the source.
"""

from __future__ import annotations

import numpy as np
import pytest

from myPython.common.ids import frame_id, panel_id
from myPython.pool.panels import PANELS_VERSION
from myPython.pool.store import DescriptorStore
from myPython.pool.temporal import ALIGNERS, Segment, segment_features
from myPython.pool.video_match import (
    MatchOptions,
    Panels,
    VideoRows,
    align_candidates,
    candidate_pairs,
    centred_frames,
    folded_similarity,
    match_videos,
    score_segment,
)

BLOCK, BLOCKS, ACTIVE = 32, 4, 4
DIM = BLOCK * BLOCKS


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def content(rng, n: int, block: int) -> np.ndarray:
    """n frames in one block of the space: ACTIVE entries of the block > 0 each, the others 0 (two frames of one
    block are alike where their entries meet: mostly little, a copy's frames fully)."""
    x = np.zeros((n, DIM))
    for row in x:
        row[block * BLOCK + rng.choice(BLOCK, ACTIVE, replace=False)] = rng.uniform(0.5, 1.0, ACTIVE)
    return unit(x)


def options() -> MatchOptions:
    out = MatchOptions(frame_threshold=0.5, knn=5)
    out.align.match_threshold = 0.5
    return out


NO_NOISE = np.zeros((0, DIM), np.float32)


def write(root, videos: dict[str, np.ndarray], panels: dict[str, list[np.ndarray]] | None = None,
          meta_panels: bool = True) -> DescriptorStore:
    """A one-shard store of `videos` (frames at 0, 1, 2... s); `panels[name][t]`: that frame's panel rows (0..n
    descriptors), written right after the frame as `embed --panels` writes them."""
    ids, rows = [], []
    for name, frames in videos.items():
        for t, vector in enumerate(frames):
            ids.append(frame_id(name, t))
            rows.append(vector)
            for n, panel in enumerate((panels or {}).get(name, [[]] * len(frames))[t], start=1):
                ids.append(panel_id(frame_id(name, t), n))
                rows.append(panel)
    store = DescriptorStore.create(root, {"dim": DIM, "panels": PANELS_VERSION if panels and meta_panels else None})
    store.commit_shard("shard-000000", ids, np.stack(rows).astype(np.float32), [], [])
    return store


def segments_by_pair(matches) -> dict[tuple[str, str], list[Segment]]:
    return {(m.query_id, m.ref_id): m.segments for m in matches}


def times(seg: Segment) -> tuple[float, float, float, float]:
    return (seg.query_start, seg.query_end, seg.ref_start, seg.ref_end)


@pytest.fixture(scope="module")
def pool():
    """src.mp4 (12 s); copy.mp4: its seconds 2..9 as they are; comp.mp4: another clip (host) showing those
    seconds as a panel of each frame; other.mp4: unrelated. The host's frames are a little unlike the source's
    block (cosine < 0), so that in every cell the panel beats the frame (a tie would keep the frame)."""
    rng = np.random.default_rng(7)
    src, host, other = content(rng, 12, 0), content(rng, 8, 1), content(rng, 10, 2)
    host[:, :BLOCK] = -0.02
    host = unit(host)
    inset = src[2:10]
    videos = {"src.mp4": src, "copy.mp4": inset, "comp.mp4": host, "other.mp4": other}
    return videos, {"comp.mp4": [[p] for p in inset]}


def test_a_video_shown_as_a_panel_is_matched_through_its_panels(pool, tmp_path):
    videos, panels = pool
    without = segments_by_pair(match_videos(write(tmp_path / "plain", videos), None, options(), NO_NOISE))
    assert ("src.mp4", "copy.mp4") in without and ("src.mp4", "comp.mp4") not in without
    folded = segments_by_pair(match_videos(write(tmp_path / "panels", videos, panels), None, options(), NO_NOISE))
    (seg,) = folded[("src.mp4", "comp.mp4")]
    assert times(seg) == (1.5, 9.5, 0.0, 7.5)  # seconds 2..9 of the source are seconds 0..7 of the composite
    # folded, the composite's similarity is the copy's: every feature, and so the score, is the copy's
    (copy,) = folded[("src.mp4", "copy.mp4")]
    assert times(copy) == times(seg)
    assert seg.features == pytest.approx(copy.features) and seg.score == pytest.approx(copy.score)
    # the composite shows the copy too: the whole copy, against the whole composite
    assert times(folded[("copy.mp4", "comp.mp4")][0]) == (0.0, 7.5, 0.0, 7.5)
    assert not any("other.mp4" in pair for pair in folded)


def test_two_videos_sharing_only_a_panel_are_not_matched(tmp_path):
    """A logo box on every frame of two unrelated videos: identical panels, which never vote nor make a cell."""
    rng = np.random.default_rng(3)
    logo = content(rng, 1, 3)[0]
    logo_b = unit(logo + 0.05 * content(rng, 1, 3)[0])
    a, b = content(rng, 10, 0), content(rng, 10, 1)
    assert logo @ logo_b > 0.9  # the logo box, as each video's panel
    store = write(tmp_path / "store", {"a.mp4": a, "b.mp4": b}, {"a.mp4": [[logo]] * 10, "b.mp4": [[logo_b]] * 10})
    rows = VideoRows(store)
    bg = np.zeros(len(rows.video_of_row), np.float32)
    assert candidate_pairs(rows, rows, True, bg, bg, options()) == []
    assert list(match_videos(store, None, options(), NO_NOISE)) == []
    # even aligned by force, no cell of a and b comes from their panels
    assert list(align_candidates(rows, rows, bg, bg, [(0, 1, 1.0)], options())) == []
    sim, cells, valid = folded_similarity(a, np.zeros(10, bool), b, np.zeros(10, bool),
                                          Panels(np.arange(10), np.stack([logo] * 10), np.zeros(10)),
                                          Panels(np.arange(10), np.stack([logo] * 10), np.zeros(10)))
    assert valid.all() and ((cells[0] < 10) | (cells[1] < 10)).all()  # never two panels
    assert np.abs(sim).max() < 1e-6  # their cosine of 1 is no cell's


def expected_matches(videos: dict[str, np.ndarray], opts: MatchOptions) -> dict[tuple[str, str], list[tuple]]:
    """What match-videos found before panels, from its definition: two videos are a candidate pair when a frame of
    one has a frame of the other among its knn nearest rows of other videos at >= the frame threshold (here
    every cosine across videos is either 0 or a copy's); a pair's segments are the aligner's on the plain
    frame-similarity matrix, scored on segment_features of it and of the frames centred on their video's mean."""
    names = list(videos)
    x = np.concatenate([videos[n] for n in names])
    owner = np.concatenate([[k] * len(videos[n]) for k, n in enumerate(names)])
    cos = x @ x.T
    candidates = set()
    for row in range(len(x)):
        others = np.flatnonzero(owner != owner[row])
        for r in others[np.argsort(-cos[row, others], kind="stable")][: opts.knn]:
            if cos[row, r] >= opts.frame_threshold:
                candidates.add((min(owner[row], owner[r]), max(owner[row], owner[r])))
    out = {}
    for a, b in sorted(candidates):
        q, r = videos[names[a]], videos[names[b]]
        sim = q @ r.T
        centred = centred_frames(q, np.zeros(len(q), bool)) @ centred_frames(r, np.zeros(len(r), bool)).T
        found = [(*times(seg), score_segment(segment_features(seg, sim, centred, (q, r)), opts.scorer))
                 for seg in ALIGNERS[opts.aligner](sim, np.arange(len(q), dtype=float),
                                                   np.arange(len(r), dtype=float), opts.align)]
        if found:
            out[(names[a], names[b])] = sorted(found, key=lambda s: -s[-1])
    return out


@pytest.mark.parametrize("aligner", sorted(ALIGNERS))
def test_a_store_without_panels_matches_as_before(tmp_path, aligner):
    """Copies of a source (as it is, twice as fast, a piece inserted into another clip) and unrelated clips."""
    rng = np.random.default_rng(11)
    src, host = content(rng, 16, 0), content(rng, 12, 1)
    videos = {"src.mp4": src, "copy.mp4": src[3:13], "fast.mp4": src[::2],
              "host.mp4": np.concatenate([host[:4], src[6:11], host[4:]]), "other.mp4": content(rng, 9, 2),
              "other_b.mp4": content(rng, 9, 3)}
    opts = options()
    opts.aligner = aligner
    found = {pair: [(*times(s), s.score) for s in segs]
             for pair, segs in segments_by_pair(match_videos(write(tmp_path / "plain", videos), None, opts,
                                                             NO_NOISE)).items()}
    expected = expected_matches(videos, opts)
    assert set(found) == set(expected) and len(expected) >= 4
    for pair, segs in expected.items():
        assert np.allclose(found[pair], segs, atol=1e-6), pair


def test_video_rows_list_frames_and_give_each_frame_its_panels(pool, tmp_path):
    videos, panels = pool
    plain, folded = VideoRows(write(tmp_path / "plain", videos)), VideoRows(write(tmp_path / "panels", videos, panels))
    assert not plain.has_panels and folded.has_panels and folded.ids == plain.ids
    comp = folded.ids.index("comp.mp4")
    rows = folded.rows(comp)
    assert len(rows) == 8 and np.array_equal(folded.times(comp), np.arange(8.0))
    at, panel_rows = folded.panels(rows[[1, 3]])
    assert np.array_equal(at, [0, 1]) and np.array_equal(panel_rows, rows[[1, 3]] + 1)
    assert folded.is_panel[panel_rows].all() and (folded.folded_video[panel_rows] == comp).all()
    assert (folded.video_of_row[panel_rows] == -1).all()  # not frames: rows(video) lists frames only
    assert [len(a) for a in plain.panels(plain.rows(0))] == [0, 0]


# ---- the rows that made a cell, and their verification ------------------------------------------------------------
def test_each_cell_remembers_the_rows_that_made_it():
    rng = np.random.default_rng(1)
    q, r = content(rng, 6, 0), content(rng, 5, 1)
    shown = content(rng, 2, 0)
    panels_r = Panels(np.array([1, 1, 3]), np.stack([q[0], q[4], shown[0]]), np.zeros(3))
    panels_q = Panels(np.array([2]), r[4:5], np.array([0.95]))  # uninformative: never counts
    bad_q = np.zeros(6, bool)
    bad_q[5] = True
    sim, cells, valid = folded_similarity(q, bad_q, r, np.zeros(5, bool), panels_q, panels_r, uninformative=0.8)
    assert cells[1][0, 1] == 5 and cells[0][0, 1] == 0 and sim[0, 1] == pytest.approx(1.0)  # r's 1st panel
    assert cells[1][4, 1] == 6 and sim[4, 1] == pytest.approx(1.0)  # its second panel, the same frame
    assert cells[0][2, 4] == 2 and cells[1][2, 4] == 4 and sim[2, 4] == pytest.approx(0.0)  # its panel is no evidence
    assert not valid[5].any() and (sim[5] == -1.0).all()  # an uninformative frame of q, and it has no panel
    plain = q @ r.T
    plain[5] = -1.0
    others = np.ones(sim.shape, bool)
    others[:, [1, 3]] = False
    assert np.array_equal(sim[others], plain[others]) and (cells[0][others] == np.arange(6)[:, None].repeat(5, 1)[
        others]).all()


def test_geometry_verifies_the_panel_that_made_the_cell():
    """The reference's frames show another scene; their panels, the query's (hand-made local features of
    tests/test_video_features.py). Folded, the cells are the panels' and verification finds the copy's inliers,
    with the panels' own staying keypoints (the room) and moving ones (the actor); the frames find none."""
    from test_video_features import ACTOR_N, FRAMES, ROOM_N, pack, recording, resized, scene

    from myPython.pool.segment_geometry import VERIFIED_CELLS, SegmentVerifier

    rng = np.random.default_rng(4)
    query = recording()
    unrelated = [pack(rng.integers(0, 256, (ROOM_N + ACTOR_N, 128)), scene(k)[1]) for k in range(FRAMES)]
    shown = recording(resized)

    class Videos:  # query frames 0..9; reference frame k at 10 + 2k, its panel right after it
        def __init__(self) -> None:
            self.local_rows: list[list[int]] = []
            self.features = np.stack(query + [f for pair in zip(unrelated, shown) for f in pair])

        def rows(self, video: int) -> np.ndarray:
            return np.arange(FRAMES) if video == 0 else 10 + 2 * np.arange(FRAMES)

        def panels(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            at = np.flatnonzero(rows >= 10)
            return at, rows[at] + 1

        def local(self, rows: np.ndarray) -> np.ndarray:
            self.local_rows.append([int(r) for r in rows])
            return self.features[rows]

    videos = Videos()
    rng = np.random.default_rng(0)
    q, r = content(rng, FRAMES, 0), content(rng, FRAMES, 1)
    sim, cells, _ = folded_similarity(q, np.zeros(FRAMES, bool), r, np.zeros(FRAMES, bool),
                                      None, Panels(np.arange(FRAMES), q.copy(), np.zeros(FRAMES)))
    seg = Segment(0.0, 10.0, 0.0, 10.0, np.stack([np.arange(FRAMES)] * 2, axis=1))
    ref_rows = np.concatenate([videos.rows(1), videos.panels(videos.rows(1))[1]])
    cell_rows = (videos.rows(0)[cells[0]], ref_rows[cells[1]])
    found = SegmentVerifier(videos, videos).evidence(seg, sim, 0, 1, cell_rows)
    verified = videos.local_rows[1][:VERIFIED_CELLS]  # the reference rows of the best cells: panels
    assert all(row >= 10 and (row - 10) % 2 == 1 for row in verified)
    assert found["inliers"] == ROOM_N + ACTOR_N
    assert found["moving_share"] == pytest.approx(ACTOR_N / (ROOM_N + ACTOR_N))
    frames_only = SegmentVerifier(videos, videos).evidence(seg, sim, 0, 1)  # cell (i, j): frame i, frame j
    assert frames_only["inliers"] < 10


# ---- the other paths: the neighbour graph, the Ray tasks' function ------------------------------------------------
def test_a_kept_neighbour_graph_and_the_ray_tasks_fold_panels_alike(pool, tmp_path, monkeypatch):
    """The graph of a store with panel rows holds them (twice the lists): match-videos reads its votes from it and
    finds what searching finds; a Ray task's batch (video_ray._align_batch, run here without Ray) aligns as here."""
    from myPython.pool import jobs, video_match
    from myPython.pool.informative import background
    from myPython.pool.scoring import ScoreOptions
    from myPython.pool.video_ray import _align_batch

    videos, panels = pool
    db = write(tmp_path / "panels", videos, panels)
    cosine = ScoreOptions("cosine", 0.8, None, 1.0)  # a graph without verification: built in a moment
    searched: list[int] = []
    exact_blocks = video_match._knn_blocks
    monkeypatch.setattr(video_match, "_knn_blocks", lambda db, q, k, o: searched.append(k) or exact_blocks(db, q, k, o))

    def matches(**kw) -> dict:
        searched.clear()
        found = jobs.match_videos(db, noise=NO_NOISE, options=options(), score=cosine, **kw)
        return {pair: [(*times(s), s.score) for s in segs] for pair, segs in segments_by_pair(found).items()}

    by_search = matches(graph=False)
    assert searched == [2 * options().knn + 1] and ("src.mp4", "comp.mp4") in by_search
    list(jobs.search(db, top_k=5, score=cosine, graph_k=10))  # a graph of 10 neighbours per row (22 with panels)
    assert matches() == by_search and searched == []  # read from the graph
    rows = VideoRows(db)
    bg = background(db.load()[1], NO_NOISE)
    pairs = candidate_pairs(rows, rows, True, bg, bg, options())
    local = [(m.query_id, m.ref_id, [(*times(s), s.score) for s in m.segments])
             for m in align_candidates(rows, rows, bg, bg, pairs, options())]
    batch = _align_batch((db.portable(), None), (bg, bg), pairs, options())
    assert [(m.query_id, m.ref_id, [(*times(s), s.score) for s in m.segments]) for m in batch] == local
