"""Panel rows (`embed --panels`): a picture inside a composition is a row of its own, right after its owner, and
every reader folds it into its owner (common/ids.py, pool/embed.py, pool/panel_rows.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from myPython.common.ids import check_id, input_of, is_frame, is_panel, owner_id, panel_id, split_row_id
from myPython.pool.embed import Embedded, EmbedOptions, EmbedReport, ShardWriter
from myPython.pool.inputs import InputItem
from myPython.pool.panel_rows import fold_answers, fold_links, fold_matrix, owner_rows
from myPython.pool.store import DescriptorStore


def test_panel_ids_name_their_owner_and_are_no_frames():
    frame = "clip.mp4#t=2.000"
    assert panel_id(frame, 2) == "clip.mp4#t=2.000#panel=2" == check_id("clip.mp4#t=2.000#panel=2")
    assert owner_id(panel_id(frame, 2)) == frame and owner_id(frame) == frame and owner_id("a.jpg") == "a.jpg"
    assert is_panel("a.jpg#panel=1") and not is_panel("a.jpg") and not is_panel(frame)
    assert split_row_id(panel_id(frame, 1)) == ("clip.mp4", None) and not is_frame(panel_id(frame, 1))
    assert input_of("a.jpg#panel=3") == "a.jpg" and split_row_id(frame) == ("clip.mp4", 2.0)
    for bad in ("a.jpg#panel=0", "a.jpg#panel=x", "a.jpg#panel=1#panel=2", "#panel=1"):
        with pytest.raises(ValueError):
            check_id(bad)


def test_answers_links_and_pair_scores_fold_into_owners():
    ids = ["a", "a#panel=1", "a#panel=2", "b", "c", "c#panel=1"]
    owners = owner_rows(ids)
    assert owners.tolist() == [0, 0, 0, 3, 4, 4] and owner_rows(["a", "b"]) is None
    with pytest.raises(ValueError, match="x#panel=1"):
        owner_rows(["a", "x#panel=1"])
    answers = [("a", [("b", 0.4), ("c#panel=1", 0.3)]), ("a#panel=1", [("a", 0.9), ("c", 0.8), ("b", 0.2)]),
               ("a#panel=2", []), ("b", [("a#panel=1", 0.2), ("a", 0.4)]), ("c", [("c#panel=1", 0.7)]),
               ("c#panel=1", [("a#panel=1", 0.8)])]
    # a panel's neighbour that is another panel (c#panel=1 of a#panel=1, a#panel=1 of c#panel=1) is no link
    assert list(fold_answers(iter(answers), 5)) == [("a", [("c", 0.8), ("b", 0.4)]), ("b", [("a", 0.4)]),
                                                    ("c", [])]
    assert list(fold_answers(iter(answers), 1))[0] == ("a", [("c", 0.8)])
    a, b, s, from_panel = fold_links(owners, np.array([0, 1, 1, 5, 3, 2]), np.array([3, 0, 4, 1, 2, 5]),
                                     np.array([.5, .9, .8, .7, .6, .4]))
    # a panel's link is its owner's, the owner first (3 -> a#panel=2 becomes a -> 3)
    assert a.tolist() == [0, 0, 0] and b.tolist() == [3, 4, 3] and s.tolist() == [.5, .8, .6]
    assert from_panel.tolist() == [False, True, True]
    scores = np.arange(36, dtype=np.float64).reshape(6, 6)
    folded = fold_matrix(scores, owners)
    assert folded.shape == (3, 3) and folded[0, 1] == scores[:3, 3].max() and np.diag(folded).tolist() == [0, 21, 28]
    # rows 1, 2 and 5 are panels: the pairs (1, 5) and (2, 5) do not count
    assert folded[2, 0] == max(scores[4, :3].max(), scores[5, 0]) and folded[0, 2] == max(scores[0, 4:].max(),
                                                                                           scores[1:3, 4].max())
    assert folded[2, 0] < scores[5, 1:3].max() and folded[0, 2] < scores[1:3, 5].max()
    with pytest.raises(ValueError, match="follow"):
        fold_matrix(scores, np.array([0, 0, 2, 3, 0, 5]))


def test_whole_rows_and_panels_get_their_own_verification_budget_and_two_panels_none():
    from myPython.pool.scoring import Fusion, candidate_pairs

    fusion = Fusion(w_cosine=1.0, w_inliers=1.0, bias=0.0, min_cosine=0.3, candidates=2)
    panel = np.array([False, True, True, True, False, False, True, False])
    # row 0's list: three panels before the whole rows 4, 5 and 7; row 1 (a panel) lists panels and whole rows
    rows = np.array([[0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 0, 3, 4, 6, 5, 7]])
    cosine = np.array([[1.0, 0.9, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1.0, 0.9, 0.8, 0.8, 0.7, 0.6, 0.5, 0.2]])
    assert candidate_pairs(cosine, rows, fusion) == [(0, 1), (0, 2), (1, 2)]  # the first two rows of each
    got = candidate_pairs(cosine, rows, fusion, panels=(panel, panel))
    assert got == [(0, 1), (0, 2), (0, 4), (0, 5), (1, 4)]  # 2 panels and 2 whole rows each; no panel pair


def test_a_row_never_leaves_its_panels_for_the_next_shard(tmp_path):
    store = DescriptorStore.create(tmp_path / "store", {"dim": 4})
    options = EmbedOptions(shard_size=3, panels=True)
    writer = ShardWriter(store, options, EmbedReport())
    item = InputItem("clip.mp4", "clip.mp4", "video")
    frames = [f"clip.mp4#t={t}.000" for t in range(4)]
    ids = [frames[0], frames[1], panel_id(frames[1], 1), panel_id(frames[1], 2), frames[2], frames[3],
           panel_id(frames[3], 1)]
    rows = np.eye(4, dtype=np.float32)[np.arange(len(ids)) % 4]
    for start, stop in ((0, 2), (2, 5), (5, 7)):  # the panels of frame 1 arrive after a full shard would be cut
        writer.add(Embedded(item, ids[start:stop], rows[start:stop]))
    # killed here: the committed shard holds frame 1 with its panels, and counts 2 frames, not 4 rows
    shards = store.shards()
    assert [s.ids() for s in shards] == [ids[:4]] and store.partial_inputs() == {"clip.mp4": 2}
    writer.add(Embedded(item, [], np.zeros((0, 4), np.float32), finished=True))
    writer.commit()
    assert [s.ids() for s in store.shards()] == [ids[:4], ids[4:]] and store.done_inputs() == {"clip.mp4"}


@pytest.fixture(scope="module")
def composition_store(tmp_path_factory) -> Path:
    """A picture-in-picture of coffee.png over astronaut.png, the two photos themselves and rocket.jpg, embedded
    with panels by the command (the default model, fp32 ONNX Runtime)."""
    from myPython.apps.cli import main
    from myPython.common.assets import skimage_photos

    astronaut, coffee, rocket = (cv2.imread(str(p)) for p in skimage_photos(["astronaut.png", "coffee.png",
                                                                           "rocket.jpg"]))
    folder = tmp_path_factory.mktemp("panels")
    host = cv2.resize(astronaut, (960, 540))
    host[230:510, 520:940] = cv2.copyMakeBorder(cv2.resize(coffee, (412, 272)), 4, 4, 4, 4, cv2.BORDER_CONSTANT,
                                                value=(255, 255, 255))
    for name, image in (("composite.jpg", host), ("astronaut.jpg", astronaut), ("coffee.jpg", coffee),
                        ("rocket.jpg", rocket)):
        cv2.imwrite(str(folder / name), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    out = folder.parent / "store"
    assert main(["embed", str(folder), "--out", str(out), "--panels", "--engine", "onnxruntime", "--quiet"]) == 0
    return out


def test_embed_writes_each_panel_as_a_row_after_its_owner(composition_store):
    db = DescriptorStore.open(composition_store)
    ids, x = db.load()
    assert db.meta["panels"] and ids[:2] == ["astronaut.jpg", "coffee.jpg"] and ids[2] == "composite.jpg"
    panels = [n for n, i in enumerate(ids) if is_panel(i)]
    assert panels and all(owner_id(ids[n]) == "composite.jpg" for n in panels) and ids[-1] == "rocket.jpg"
    assert panels == list(range(3, 3 + len(panels)))  # right after the owner
    local = np.concatenate([np.asarray(s.local_features()) for s in db.shards()])
    assert len(local) == len(ids)  # every panel row has local features of its own
    coffee, composite = ids.index("coffee.jpg"), ids.index("composite.jpg")
    inset = max(float(x[n] @ x[coffee]) for n in panels)
    assert inset > float(x[composite] @ x[coffee]) + 0.2  # the inset's row finds its source; the frame's does not
    assert inset > max(float(x[n] @ x[ids.index("rocket.jpg")]) for n in panels) + 0.2


def test_verify_checks_that_panel_rows_follow_their_owners(composition_store, tmp_path):
    from myPython.pool.integrity import verify_store

    assert not verify_store(DescriptorStore.open(composition_store)).damaged
    db = DescriptorStore.create(tmp_path / "store", {"dim": 4})
    db.commit_shard("shard-000000", ["a.jpg", "b.jpg", "a.jpg#panel=1"], np.eye(4, dtype=np.float32)[:3], [], [])
    problems = verify_store(db)
    assert problems.damaged == {"shard-000000": ["panel row a.jpg#panel=1 does not follow its owner a.jpg"]}


def test_search_and_group_answer_with_owners(composition_store):
    from myPython.pool import jobs

    db = DescriptorStore.open(composition_store)
    answers = dict(jobs.search(db, top_k=3))
    assert sorted(answers) == ["astronaut.jpg", "coffee.jpg", "composite.jpg", "rocket.jpg"]
    assert not any(is_panel(i) for found in answers.values() for i, _ in found)
    assert all(i != query for query, found in answers.items() for i, _ in found)
    assert answers["coffee.jpg"][0][0] == "composite.jpg" and answers["composite.jpg"][0][0] == "coffee.jpg"
    score = dict(answers["coffee.jpg"])["composite.jpg"]
    assert score == pytest.approx(dict(answers["composite.jpg"])["coffee.jpg"])  # the best of both directions
    assert score > dict(answers["coffee.jpg"]).get("rocket.jpg", 0.0)
    threshold, groups = jobs.group(db)
    assert score >= threshold  # the inset is a copy of coffee at the model's operating point
    grouped = {m: n for n, g in enumerate(groups) for m in g.members}  # (the composite shows the astronaut too)
    assert grouped.get("coffee.jpg") == grouped["composite.jpg"] is not None and "rocket.jpg" not in grouped
    _, everything = jobs.group(db, threshold=-1.0, min_size=1, graph=False)
    assert sorted(m for g in everything for m in g.members) == sorted(answers)  # owners only, each once
