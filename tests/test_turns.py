"""Quarter-turned rows (`embed --turns`): each picture also has a row for itself turned a quarter clockwise, folded
into it like a panel, so that copies turned 90 degrees either way are found (common/ids.py, pool/embed.py,
pool/panel_rows.py, pool/video_panels.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from myPython.common.ids import check_id, frame_id, input_of, is_frame, is_panel, is_turned, owner_id, turned_id
from myPython.pool.panel_agreement import PanelRuns
from myPython.pool.panel_rows import fold_answers, fold_links, fold_matrix, owner_rows, panel_runs, turned_rows
from myPython.pool.store import DescriptorStore


def test_turned_ids_are_sub_rows_of_their_owner_and_no_panels_inside_it():
    frame = "clip.mp4#t=2.000"
    assert turned_id(frame) == "clip.mp4#t=2.000#turn=90" == check_id(turned_id(frame))
    assert owner_id(turned_id(frame)) == frame and owner_id(turned_id("a.jpg")) == "a.jpg"
    assert is_panel(turned_id("a.jpg")) and is_turned(turned_id("a.jpg"))
    assert not is_turned("a.jpg#panel=1") and not is_turned("a.jpg") and not is_frame(turned_id(frame))
    assert input_of(turned_id(frame)) == "clip.mp4"
    for bad in ("a.jpg#turn=180", "a.jpg#turn=90#turn=90", "#turn=90"):
        with pytest.raises(ValueError):
            check_id(bad)


def unit(*rows: list[float]) -> np.ndarray:
    x = np.array(rows, np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# 0 shot A, 1 A turned, 2 A's panel (photo a); 3 shot B, 4 B turned, 5 B's panel (photo b); 6 photo C, 7 C turned
IDS = ["A.jpg", "A.jpg#turn=90", "A.jpg#panel=1", "B.jpg", "B.jpg#turn=90", "B.jpg#panel=1", "C.jpg",
       "C.jpg#turn=90"]
VECTORS = unit([1, 0, 0, 0], [0.9, 0.1, 0, 0], [0, 0, 1, 0], [1, 0.1, 0, 0], [0.9, 0.2, 0, 0], [0, 0, 0, 1],
               [0, 1, 0, 0], [0.1, 1, 0, 0])


def runs(tmp_path: Path) -> PanelRuns:
    """The agreement runs of a store holding IDS and VECTORS, as search and group read them."""
    store = DescriptorStore.create(tmp_path / "store", {"dim": 4, "panels": "steps-1+turn-1"})
    store.commit_shard("shard-000000", IDS, VECTORS, [], [])
    return panel_runs(store, IDS)


def test_turned_rows_take_no_part_in_the_panels_agreement(tmp_path):
    r = runs(tmp_path)
    assert r.count.tolist() == [1, 0, 0, 1, 0, 0, 0, 0]  # one panel each for A and B; the turns are no panels
    assert r.of(0).tolist() == [2] and r.of(3).tolist() == [5]
    only_turns = ["x.jpg", "x.jpg#turn=90", "y.jpg", "y.jpg#turn=90"]
    assert panel_runs(None, only_turns) is None  # nothing to agree on: no store is read


def test_a_turned_rows_link_is_a_whole_picture_link_and_needs_the_panels_agreement_like_one(tmp_path):
    owners, turned = owner_rows(IDS), turned_rows(IDS)
    # C's turn - A (whole), A's panel - C, B's turn - A (two shots whose panels disagree), A's turn - B's turn
    a, b, s = np.array([7, 2, 4, 1]), np.array([0, 6, 0, 4]), np.array([0.9, 0.8, 0.99, 0.99])
    plain = fold_links(owners, a, b, s, None, turned)
    assert list(zip(plain[0].tolist(), plain[1].tolist())) == [(6, 0), (0, 6), (3, 0)]
    assert plain[3].tolist() == [False, True, False]  # only the panel's link attaches its owner
    kept = fold_links(owners, a, b, s, runs(tmp_path), turned)
    assert list(zip(kept[0].tolist(), kept[1].tolist())) == [(6, 0), (0, 6)]  # B's turn - A: the chrome alone


def test_folded_scores_and_answers_drop_turn_links_of_owners_whose_panels_disagree(tmp_path):
    owners, turned = owner_rows(IDS), turned_rows(IDS)
    scores = np.full((8, 8), 0.1)
    scores[4, 0] = scores[0, 4] = 0.99  # B turned against A whole: the app's chrome, turned
    scores[7, 0] = scores[0, 7] = 0.9  # C turned against A whole
    assert fold_matrix(scores, owners)[0, 1] == pytest.approx(0.99)
    confirmed = fold_matrix(scores, owners, runs(tmp_path), turned)
    assert confirmed[0, 1] == pytest.approx(0.1) and confirmed[0, 2] == pytest.approx(0.9)
    answers = [("A.jpg", [("B.jpg#turn=90", 0.99), ("C.jpg#turn=90", 0.9)]), ("A.jpg#turn=90", [("B.jpg", 0.98)]),
               ("A.jpg#panel=1", []), ("C.jpg", []), ("C.jpg#turn=90", [("A.jpg", 0.9), ("A.jpg#turn=90", 0.95)])]

    def frame_only(x: str, y: str) -> bool:
        return {x, y} == {"A.jpg", "B.jpg"}

    folded = dict(fold_answers(iter(answers), 5, frame_only))
    assert folded == {"A.jpg": [("C.jpg", 0.9)], "C.jpg": [("A.jpg", 0.9)]}  # never turn/turn
    assert dict(fold_answers(iter(answers), 5))["A.jpg"] == [("B.jpg", 0.99), ("C.jpg", 0.9)]


@pytest.fixture(scope="module")
def turned_pool(tmp_path_factory) -> tuple[Path, Path]:
    """astronaut.png and coffee.png, each with a copy turned a quarter (clockwise, anticlockwise), and rocket.jpg;
    embedded by the command with --turns and without (the default model, fp32 ONNX Runtime)."""
    from myPython.apps.cli import main
    from myPython.common.assets import skimage_photos

    astronaut, coffee, rocket = (cv2.imread(str(p)) for p in skimage_photos(["astronaut.png", "coffee.png",
                                                                           "rocket.jpg"]))
    folder = tmp_path_factory.mktemp("turns")
    for name, image in (("astronaut.jpg", astronaut), ("astronaut_cw.jpg", np.rot90(astronaut, -1)),
                        ("coffee.jpg", coffee), ("coffee_ccw.jpg", np.rot90(coffee, 1)), ("rocket.jpg", rocket)):
        cv2.imwrite(str(folder / name), np.ascontiguousarray(image), [cv2.IMWRITE_JPEG_QUALITY, 90])
    stores = folder.parent / "with_turns", folder.parent / "without"
    for out, flags in zip(stores, (["--turns"], [])):
        assert main(["embed", str(folder), "--out", str(out), *flags, "--engine", "onnxruntime", "--quiet"]) == 0
    return stores


def test_embed_writes_the_turned_row_after_its_owner(turned_pool):
    from myPython.retrieval.extractor import DescriptorExtractor
    from myPython.retrieval.models import load_model

    db = DescriptorStore.open(turned_pool[0])
    ids, x = db.load()
    owners = [i for i in ids if not is_panel(i)]
    assert ids == [j for i in owners for j in (i, turned_id(i))] and "turn" in db.meta["panels"]
    assert not DescriptorStore.open(turned_pool[1]).meta["panels"]
    local = np.concatenate([np.asarray(s.local_features()) for s in db.shards()])
    assert len(local) == len(ids)
    spec = load_model()
    extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, spec.settings(), engine="onnxruntime")
    photo = cv2.imread(str(Path(db.meta["inputs"][0]) / "coffee.jpg"))
    expected = extractor.describe(np.ascontiguousarray(np.rot90(photo, -1)))
    assert float(x[ids.index(turned_id("coffee.jpg"))] @ expected) > 0.999  # the picture turned clockwise


def test_search_and_group_find_copies_turned_either_way(turned_pool):
    from myPython.pool import jobs

    with_turns = dict(jobs.search(DescriptorStore.open(turned_pool[0]), top_k=4))
    assert not any(is_panel(i) for found in with_turns.values() for i, _ in found)
    (ids, x), (plain_ids, plain) = (DescriptorStore.open(s).load() for s in turned_pool)
    for photo, copy in (("astronaut.jpg", "astronaut_cw.jpg"), ("coffee.jpg", "coffee_ccw.jpg")):
        found = dict(with_turns[photo])
        assert with_turns[photo][0][0] == copy and with_turns[copy][0][0] == photo
        assert found[copy] > max(s for i, s in with_turns[photo] if i != copy) + 0.1
        # what the kNN search that proposes candidates sees: the turn makes the copy a near neighbour
        rows = [ids.index(i) for i in (photo, turned_id(photo))], [ids.index(i) for i in (copy, turned_id(copy))]
        turned_cosine = max(float(x[a] @ x[b]) for a in rows[0] for b in rows[1] if not (a > rows[0][0] and
                                                                                          b > rows[1][0]))
        plain_cosine = float(plain[plain_ids.index(photo)] @ plain[plain_ids.index(copy)])
        assert turned_cosine > 0.9 and turned_cosine > plain_cosine + 0.2  # here 0.99-1.00 against 0.51-0.68
    threshold, groups = jobs.group(DescriptorStore.open(turned_pool[0]))
    members = sorted(sorted(g.members) for g in groups)
    assert members == [["astronaut.jpg", "astronaut_cw.jpg"], ["coffee.jpg", "coffee_ccw.jpg"]]


def test_match_videos_folds_turned_rows_into_their_frames(tmp_path):
    """A video turned a quarter: its frames are the source's turned rows, and match-videos pairs the two."""
    from myPython.pool.video_match import MatchOptions, match_videos

    rng = np.random.default_rng(5)
    source, turned, other = (unit(*rng.normal(size=(8, 16))) for _ in range(3))  # unrelated rows: cosine ~ 0
    ids, rows = [], []
    for name, frames, turns in (("src.mp4", source, turned), ("rot.mp4", turned, source),
                                ("other.mp4", other, unit(*rng.normal(size=(8, 16))))):
        for t in range(8):
            ids += [frame_id(name, t), turned_id(frame_id(name, t))]
            rows += [frames[t], turns[t]]
    store = DescriptorStore.create(tmp_path / "store", {"dim": 16, "panels": "turn-1"})
    store.commit_shard("shard-000000", ids, np.stack(rows), [], [])
    options = MatchOptions(frame_threshold=0.9, knn=5)
    options.align.match_threshold = 0.9
    found = {(m.query_id, m.ref_id): m for m in match_videos(store, None, options, np.zeros((0, 16), np.float32))}
    assert ("rot.mp4", "src.mp4") in found or ("src.mp4", "rot.mp4") in found
    assert not any("other.mp4" in pair for pair in found)
