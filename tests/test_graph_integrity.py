"""`verify` checks the neighbour graphs (pool/graph_integrity.py): damage of a current graph is an error naming the
file, stale graphs and unfinished builds are notes.

One small synthetic store with a fused-score graph (so with its shared-content overlay) is built once; every test
works on its own copy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from myPython.apps.cli import main
from myPython.pool.graph_integrity import verify_graphs
from myPython.pool.graph_shared import SHARED_FILE
from myPython.pool.knn_graph import GRAPH_DIR, GraphSettings, ensure_graph
from myPython.pool.scoring import Fusion, ScoreOptions
from myPython.pool.store import DescriptorStore
from myPython.pool.synth import SHARD_PREFIX, SynthParams, synth_pool

FUSED = ScoreOptions("fused", 0.73, Fusion(7.79, 2.12, -8.57, min_cosine=0.6, candidates=5), 0.6)
SMALL = GraphSettings(k=10, part_rows=60, workers=1)  # 3 parts


@pytest.fixture(scope="module")
def master(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("graph") / "store"
    synth_pool(out, SynthParams(rows=180, videos=1, shard_size=60, dim=64, seed=5))
    ensure_graph(DescriptorStore.open(out), FUSED, SMALL)
    return out


@pytest.fixture
def store(master: Path, tmp_path: Path) -> Path:
    out = tmp_path / "store"
    shutil.copytree(master, out)
    return out


def pointer(store: Path) -> tuple[Path, Path]:
    """The graph's pointer file and its folder."""
    (path,) = (store / GRAPH_DIR).glob("*.json")
    return path, store / GRAPH_DIR / json.loads(path.read_text())["dir"]


def verify(store: Path, capsys) -> tuple[int, str]:
    code = main(["verify", "--db", str(store)])
    return code, capsys.readouterr().out


def test_a_good_graph_verifies_clean(store, capsys):
    path, folder = pointer(store)
    assert json.loads(path.read_text())["shared_content"] is not None and (folder / SHARED_FILE).is_file()
    result = verify_graphs(DescriptorStore.open(store))
    assert (result.current, result.stale, result.damaged, result.notes) == (1, 0, [], [])
    code, out = verify(store, capsys)
    assert code == 0 and "neighbour graphs: 1 current, 0 stale\n" in out and "damaged" not in out


@pytest.mark.parametrize("damaged", ["part-000000000060.cosine.npy", SHARED_FILE])
def test_a_damaged_current_graph_is_an_error_naming_the_file(store, capsys, damaged):
    path, folder = pointer(store)
    target = folder / damaged
    size = target.stat().st_size
    with open(target, "r+b") as handle:
        handle.truncate(size // 2)
    code, out = verify(store, capsys)
    assert code == 1
    (line,) = [line for line in out.splitlines() if line.startswith("damaged")]
    assert line.startswith(f"damaged {GRAPH_DIR}/{path.name}: {GRAPH_DIR}/{folder.name}/{damaged} has {size // 2} ")
    assert f"delete {store / GRAPH_DIR}/" in out and "search again" in out
    ensure_graph(DescriptorStore.open(store), FUSED, SMALL)  # searching again repairs it, as the message says
    assert verify(store, capsys)[0] == 0


def test_a_stale_graph_is_a_note_not_an_error(store, capsys):
    db = DescriptorStore.open(store)
    rows = np.random.default_rng(0).normal(size=(2, db.dim)).astype(np.float32)
    db.commit_shard(f"{SHARD_PREFIX}-999999", ["extra/a.jpg", "extra/b.jpg"], rows, [], [])
    result = verify_graphs(db)
    assert (result.current, result.stale, result.damaged) == (0, 1, [])
    assert "stale (built before 1 shard(s) were added); the next search extends it" in result.notes[0]
    code, out = verify(store, capsys)
    assert code == 0 and "neighbour graphs: 0 current, 1 stale\n" in out
    _, folder = pointer(store)
    (folder / "part-000000000000.rows.npy").unlink()  # damage in a stale graph: it is rebuilt anyway
    (note,) = verify_graphs(db).notes
    assert "and damaged" in note and "part-000000000000.rows.npy is missing" in note and "rebuilds it" in note
    assert verify(store, capsys)[0] == 0
    for file in db.shard_dir.glob(f"{SHARD_PREFIX}-000000.*"):
        file.unlink()
    (note,) = verify_graphs(DescriptorStore.open(store)).notes
    assert "stale (built for other shards)" in note


def test_an_unfinished_build_is_reported_resumable(store, capsys):
    path, folder = pointer(store)
    path.unlink()  # the build committed its parts but not yet its pointer
    (folder / "part-000000000120.json").unlink()
    result = verify_graphs(DescriptorStore.open(store))
    assert (result.current, result.stale, result.damaged) == (0, 0, [])
    assert result.notes == [f"{GRAPH_DIR}/{folder.name}/: a build in progress / resumable (2 of 3 part(s) "
                            "committed); the next search resumes it"]
    code, out = verify(store, capsys)
    assert code == 0 and "in progress / resumable" in out
