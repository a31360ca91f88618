"""Embedding at scale: kill-and-resume, bad inputs, search/group from shards, concurrent readers, Ray."""

from __future__ import annotations

import io
import json
import logging
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from myPython.common.assets import PERCEPTION_EDGE_VIDEOS, perception_videos
from myPython.pool import search as search_mod
from myPython.pool.groups import find_groups, group_links
from myPython.pool.search import SearchOptions, build_index, index_path, search
from myPython.pool.store import MARKER_SUFFIX, DescriptorStore

ROOT = Path(__file__).resolve().parents[1]
# The network of every embed here: fp32 ONNX Runtime on every CPU (`auto` runs int8 on some, another descriptor).
ENGINE = ["--engine", "onnxruntime"]
FAST = ["--S", "128", "--L", "1", "--quiet", *ENGINE]  # the default model, small inputs


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "myPython", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "GLOG_minloglevel": "2"})


# `deep-retrieval ARGV` whose network waits, at its first forward pass once the store at STORE exists and holds
# HOLD committed shards, for a signal (it touches READY first; it never goes on by itself): a run interrupted
# there is interrupted at a known point, whatever the speed of the machine.
HELD_RUN = """
import signal, sys, time
from pathlib import Path
# Ctrl-C as in a terminal, even when pytest was started in the background (whose children ignore SIGINT)
signal.signal(signal.SIGINT, signal.default_int_handler)
from myPython.apps.cli import main
from myPython.retrieval.extractor import DescriptorExtractor
store, hold, ready, argv = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:]
forward = DescriptorExtractor.describe_prepared
def held(self, prepared):
    shards = sum(1 for _ in (store / "shards").glob("shard-*.json"))
    if (store / "meta.json").exists() and shards >= hold:
        ready.touch()
        while True:
            time.sleep(1)
    return forward(self, prepared)
DescriptorExtractor.describe_prepared = held
sys.exit(main(argv))
"""


def held_embed(pool: Path, store: Path, args: list[str], hold: int, capture: bool = False
               ) -> tuple[subprocess.Popen, Path]:
    """An embed of `pool` into `store` that stops at its first forward pass once the store exists with `hold`
    committed shards (see HELD_RUN); (the process, the file it touches when it stops there)."""
    ready = store.parent / f".{store.name}.held"
    ready.unlink(missing_ok=True)
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-c", HELD_RUN, str(store), str(hold), str(ready), "embed", str(pool),
                             "--out", str(store), *args], cwd=ROOT, stdout=out, stderr=out, text=capture,
                            env={**os.environ, "GLOG_minloglevel": "2"})
    return proc, ready


def wait_for(condition, proc: subprocess.Popen, seconds: float = 300) -> None:
    """Until `condition()`; fails if the process ends first or after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before the point it was to stop at"
        assert time.monotonic() < deadline, "the run did not reach the point it was to stop at"
        time.sleep(0.001)


def signal_embed_after(pool: Path, store: Path, args: list[str], shards: int, sig: int, jitter: float = 0.0,
                       capture: bool = False) -> subprocess.Popen:
    """Start an embed of `pool` into `store` and send it `sig` once `shards` shards are committed, plus `jitter`
    seconds to land somewhere inside the next one. The run cannot finish first, however fast the machine: it
    stops (HELD_RUN) before its first forward pass after the next shard."""
    proc, _ = held_embed(pool, store, args, shards + 1, capture)
    wait_for(lambda: markers(store) >= shards, proc)
    time.sleep(jitter)
    proc.send_signal(sig)
    return proc


def assert_resumes_to(pool: Path, store: Path, args: list[str], clean_ids: list[str], clean_rows: np.ndarray) -> None:
    """A rerun of the embed completes the interrupted store to exactly the clean one."""
    done = cli("embed", str(pool), "--out", str(store), *args)
    assert done.returncode == 0, done.stderr
    ids, rows = check_store(store)
    assert ids == clean_ids
    np.testing.assert_allclose(rows, clean_rows, atol=1e-5)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def textured(seed: int, h: int, w: int) -> np.ndarray:
    """A smooth random BGR picture."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(2, h // 16), max(2, w // 16), 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def write_clip(path: Path, frames: int = 30, fps: int = 10, seed: int = 0, faststart: bool = False) -> None:
    """An mpeg4 clip of moving texture (index at the start of the file with faststart)."""
    import av

    base = textured(seed, 96, 160)
    with av.open(str(path), "w", options={"movflags": "faststart"} if faststart else {}) as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        for i in range(frames):
            image = np.ascontiguousarray(base[:, i % 32 : i % 32 + 128])
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def check_store(root: Path, after_kill: bool = False) -> tuple[list[str], np.ndarray]:
    """Every committed shard is whole and nothing else is left; (ids, rows).

    `after_kill`: right after a kill, files of the shard being written may be left without their commit
    marker (readers ignore them; the next run removes them), so only the committed shards are checked.
    """
    store = DescriptorStore.open(root)
    committed = {s.name for s in store.shards()}
    for path in [] if after_kill else store.shard_dir.iterdir():
        assert not path.name.startswith("."), f"temporary file left: {path.name}"
        assert path.name.split(".")[0] in committed, f"uncommitted file left: {path.name}"
    for shard in store.shards():
        assert len(shard.ids()) == shard.rows == len(shard.vectors())
    assert after_kill or not (list(root.glob("*.tmp")) or list(root.glob(".*.tmp")))
    ids, vectors = store.load()
    assert len(ids) == len(set(ids)), "duplicated rows"
    return ids, vectors


# ---- (a) kill -9 and resume -------------------------------------------------------------------
@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> Path:
    """48 small pictures of varied sizes and 2 clips of 3 s."""
    folder = tmp_path_factory.mktemp("pool")
    for i in range(48):
        h, w = (120, 160) if i % 3 else (160, 96)
        ext = ".jpg" if i % 2 else ".png"
        cv2.imwrite(str(folder / f"img{i:02d}{ext}"), textured(i, h, w))
    write_clip(folder / "clip_a.mp4", 30, seed=1)
    write_clip(folder / "clip_b.mp4", 30, seed=2)
    return folder


def markers(store: Path) -> int:
    try:
        return sum(1 for p in (store / "shards").glob("shard-*.json"))
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_killed_runs_resume_to_exactly_the_clean_result(pool, tmp_path):
    args = ["--batch", "2", "--shard-size", "5", "--fps", "4", "--S", "192", "--L", "1", "--quiet", *ENGINE]
    clean = tmp_path / "clean"
    assert cli("embed", str(pool), "--out", str(clean), *args).returncode == 0
    clean_ids, clean_rows = check_store(clean)
    assert len(clean_ids) == 48 + 2 * 12  # 15 shards of 5 rows

    killed = tmp_path / "killed"
    rng = random.Random(5)
    for extra in (1, 2, 3):
        # somewhere inside the next shard (the run cannot finish before the kill: see signal_embed_after)
        before = markers(killed)
        proc = signal_embed_after(pool, killed, args, before + extra, signal.SIGKILL, rng.uniform(0.0, 0.05))
        assert proc.wait() == -signal.SIGKILL
        ids, _ = check_store(killed, after_kill=True)  # what a reader sees after the kill is whole
        assert ids == clean_ids[: len(ids)] and before + extra <= markers(killed) <= before + extra + 1
    assert_resumes_to(pool, killed, args, clean_ids, clean_rows)
    again = cli("embed", str(pool), "--out", str(killed), *args)
    assert "0 input(s) embedded" in again.stdout and check_store(killed)[0] == clean_ids


# ---- (b) a folder of bad inputs ---------------------------------------------------------------
def png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels and holds none."""
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + png_chunk(b"IEND", b""))


def audio_only(path: Path) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=8000)
        stream.layout = "mono"
        for i in range(8):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 8000, i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def pil_bytes(image, fmt: str, **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kw)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bad_pool(tmp_path_factory) -> tuple[Path, dict[str, str], dict[str, int]]:
    """(folder with a list file `all.txt`, {bad input: reason part}, {usable input: rows})."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("bad")
    rgb = textured(7, 120, 160)[:, :, ::-1]
    jpeg = pil_bytes(Image.fromarray(rgb), "JPEG")
    png = pil_bytes(Image.fromarray(rgb), "PNG")
    files = {
        "good.jpg": jpeg,
        "good.png": png,
        "progressive.jpg": pil_bytes(Image.fromarray(rgb), "JPEG", progressive=True),
        "motion_photo.jpg": jpeg + b"\x00\x00\x00\x18ftypmp42" + bytes(8000),  # data after end-of-image
        "cmyk.jpg": pil_bytes(Image.fromarray(rgb).convert("CMYK"), "JPEG"),
        "gray.jpg": pil_bytes(Image.fromarray(rgb).convert("L"), "JPEG"),
        "gray_alpha.png": pil_bytes(Image.fromarray(rgb).convert("LA"), "PNG"),
        "rgba.png": pil_bytes(Image.fromarray(rgb).convert("RGBA"), "PNG"),
        "palette.png": pil_bytes(Image.fromarray(rgb).convert("P"), "PNG"),
        "gray16.png": cv2.imencode(".png", (textured(8, 90, 70)[:, :, 0].astype(np.uint16) * 257))[1].tobytes(),
        "rgb16.png": cv2.imencode(".png", textured(9, 90, 70).astype(np.uint16) * 200)[1].tobytes(),
        "one_pixel.png": pil_bytes(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG"),
        "corrupt.jpg": jpeg[:2] + bytes(np.random.default_rng(0).integers(0, 256, len(jpeg) - 2, np.uint8)),
        "corrupt.png": png[:40] + bytes(len(png) - 52) + png[-12:],  # header and IEND kept
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "truncated.png": png[: len(png) // 2],
        "empty.jpg": b"",
        "text.jpg": b"this is not an image\n",
        "bomb.png": png_header(100_000, 100_000),
        "bomb.bmp": b"BM" + struct.pack("<IHHI", 54, 0, 0, 54)
                    + struct.pack("<IiiHHIIiiII", 40, 30_000, 30_000, 1, 24, 0, 0, 0, 0, 0, 0),
        "sliver.png": cv2.imencode(".png", textured(3, 1, 4000))[1].tobytes(),
        "empty.mp4": b"",
        "text.mp4": b"not a video",
        "notes.rtf": b"{\\rtf1 not an input}",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    write_clip(folder / "clip.mp4", 30, seed=4)
    write_clip(folder / "moov_last.mp4", 40, seed=5)
    data = (folder / "moov_last.mp4").read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])  # the index is lost
    (folder / "moov_last.mp4").unlink()
    write_clip(folder / "moov_first.mp4", 40, seed=6, faststart=True)
    data = (folder / "moov_first.mp4").read_bytes()
    (folder / "cut.mp4").write_bytes(data[: len(data) * 6 // 10])  # index kept, frames lost
    (folder / "moov_first.mp4").unlink()
    audio_only(folder / "audio_only.mp4")
    for clip in perception_videos(PERCEPTION_EDGE_VIDEOS):
        shutil.copyfile(clip, folder / clip.name)
    (folder / "folder.jpg").mkdir()
    (folder / "dangling.png").symlink_to(folder / "gone.png")
    reasons = {
        "corrupt.jpg": "not a decodable image", "corrupt.png": "not a decodable image",
        "truncated.jpg": "truncated JPEG", "truncated.png": "truncated PNG", "empty.jpg": "empty file",
        "text.jpg": "not a decodable image", "bomb.png": "exceeds the limit", "bomb.bmp": "exceeds limit",
        "sliver.png": "too elongated", "empty.mp4": "empty file", "text.mp4": "not a readable video",
        "truncated.mp4": "not a readable video", "audio_only.mp4": "no video stream",
        "folder.jpg": "is a directory", "dangling.png": "broken symbolic link",
        "notes.rtf": "not an image or video extension", "missing.jpg": "not found",
    }
    if os.geteuid() != 0:  # root reads anything
        (folder / "locked.jpg").write_bytes(jpeg)
        (folder / "locked.jpg").chmod(0)
        reasons["locked.jpg"] = "permission denied"
    usable = {name: 1 for name in ("good.jpg", "good.png", "progressive.jpg", "motion_photo.jpg", "cmyk.jpg",
                                   "gray.jpg", "gray_alpha.png", "rgba.png", "palette.png", "gray16.png",
                                   "rgb16.png", "one_pixel.png")}
    usable.update({"clip.mp4": 3, "cut.mp4": 3, **{name: 10 for name in PERCEPTION_EDGE_VIDEOS}})
    names = sorted(p.name for p in folder.iterdir()) + ["missing.jpg"]
    (folder / "all.txt").write_text("".join(f"{n}\n" for n in names))
    return folder, reasons, usable


# The usable inputs of bad_pool that are one picture in other encodings.
SAME_PICTURE = {"good.jpg", "good.png", "progressive.jpg", "motion_photo.jpg", "cmyk.jpg", "gray.jpg", "gray_alpha.png",
                "rgba.png", "palette.png"}


@pytest.mark.slow
def test_bad_inputs_are_reported_and_skipped_and_the_rest_embedded(bad_pool, tmp_path):
    folder, reasons, usable = bad_pool
    out = tmp_path / "store"
    result = cli("embed", str(folder / "all.txt"), "--out", str(out), "--workers", "3", *FAST)
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    skipped = {Path(s["input"]).name: s["reason"] for s in report["skipped"]}
    assert set(skipped) == set(reasons), skipped
    for name, part in reasons.items():
        assert part in skipped[name], (name, skipped[name])
        assert "\n" not in skipped[name]
    warned = {w["input"]: w["warning"] for w in report["warnings"]}
    assert list(warned) == ["cut.mp4"] and "truncated" in warned["cut.mp4"]

    ids, rows = check_store(out)
    per_input: dict[str, int] = {}
    for ident in ids:
        per_input[ident.split("#t=")[0]] = per_input.get(ident.split("#t=")[0], 0) + 1
    assert set(per_input) == set(usable)
    assert all(per_input[name] >= 1 for name in usable)
    assert {name: per_input[name] for name in usable if name != "cut.mp4"} == \
           {name: n for name, n in usable.items() if name != "cut.mp4"}
    assert np.isfinite(rows).all()
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-3)  # unit rows, stored in float16
    # The picture re-encoded (progressive, CMYK, with data after its end) is far nearer to it than anything
    # unrelated in the folder (the other pictures, the clips' frames): under half the cosine distance
    # (on an AMD EPYC: 0.006 for CMYK, 0 for the others, 0.205 to the nearest unrelated)
    good = rows[ids.index("good.jpg")]
    unrelated = [n for n, ident in enumerate(ids) if ident.split("#t=")[0] not in SAME_PICTURE]
    nearest_unrelated = float(np.max(rows[unrelated] @ good))
    for name in ("progressive.jpg", "motion_photo.jpg", "cmyk.jpg"):
        distance = 1 - float(good @ rows[ids.index(name)])
        assert distance < (1 - nearest_unrelated) / 2, (name, distance, 1 - nearest_unrelated)
    assert good @ rows[ids.index("motion_photo.jpg")] > 0.999  # the same pixels: data after the image is ignored
    # colours survive the CMYK conversion: decoded, it is the picture, not its negative
    from myPython.common.images import load_image

    picture, cmyk = load_image(folder / "good.png").astype(int), load_image(folder / "cmyk.jpg").astype(int)
    assert np.abs(cmyk - picture).mean() < np.abs(cmyk - (255 - picture)).mean() / 4


# ---- (c) search and group from shards ---------------------------------------------------------
def synthetic_store(root: Path, n: int = 3000, dim: int = 48, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Clusters of 1-12 unit vectors, written as shards of uneven size (one empty)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // 5, dim)).astype(np.float32)
    members = rng.integers(0, len(centres), n)
    x = centres[members] + 0.35 * rng.standard_normal((n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = [f"v{i:05d}" for i in range(n)]
    store = DescriptorStore.create(root, {"dim": dim, "model": "synthetic", "settings": "none"})
    bounds = [0, 1, 400, 400, 1250, 2222, n]
    for k, (a, b) in enumerate(zip(bounds, bounds[1:])):
        store.commit_shard(f"shard-{k:06d}", ids[a:b], x[a:b], ids[a:b], [])
    return ids, store.load()[1]  # the rows as stored (float16)


def brute_force(queries: np.ndarray, x: np.ndarray, k: int, exclude_self: bool) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ x.T
    if exclude_self:
        np.fill_diagonal(scores, -np.inf)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(scores, order, 1)


def recall_at_10(db: DescriptorStore, ids: list[str], truth: np.ndarray, factory: str) -> float:
    found = dict(search(db, None, SearchOptions(top_k=10, factory=factory)))
    hits = sum(len({ids[j] for j in truth[i]} & {o for o, _ in found[ids[i]]}) for i in range(len(ids)))
    return hits / truth.size


def test_exact_search_from_shards_equals_brute_force(tmp_path, monkeypatch):
    monkeypatch.setattr(search_mod, "QUERY_BLOCK", 700)  # several blocks of queries and of rows
    monkeypatch.setattr(search_mod, "DB_BLOCK", 500)
    ids, x = synthetic_store(tmp_path / "db")
    db = DescriptorStore.open(tmp_path / "db")
    position = {ident: n for n, ident in enumerate(ids)}
    _, scores = brute_force(x, x, 10, exclude_self=True)
    results = list(search(db, None, SearchOptions(top_k=10)))
    assert [q for q, _ in results] == ids
    for i, (_, found) in enumerate(results):  # the true 10 best (up to float ties), with their scores
        rows = [position[o] for o, _ in found]
        assert i not in rows and len(set(rows)) == 10
        np.testing.assert_allclose([s for _, s in found], scores[i], atol=1e-5)
        np.testing.assert_allclose(x[rows] @ x[i], scores[i], atol=1e-5)

    queries = DescriptorStore.create(tmp_path / "q", {"dim": x.shape[1]})
    q = x[:50] + 0.01
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    queries.commit_shard("shard-000000", [f"q{i}" for i in range(50)], q, [], [])
    _, scores = brute_force(q, x, 5, exclude_self=False)
    for i, (_, found) in enumerate(search(db, queries, SearchOptions(top_k=5))):
        np.testing.assert_allclose(x[[position[o] for o, _ in found]] @ q[i], scores[i], atol=1e-5)


@pytest.mark.parametrize("factory, minimum", [("IVF64,Flat", 0.95), ("IVF64,PQ16", 0.7), ("HNSW16", 0.95)])
def test_index_types_build_save_reload_and_recall(tmp_path, monkeypatch, factory, minimum):
    import faiss

    ids, x = synthetic_store(tmp_path / "db")
    db = DescriptorStore.open(tmp_path / "db")
    truth, _ = brute_force(x, x, 10, exclude_self=True)
    assert recall_at_10(db, ids, truth, factory) >= minimum
    saved = index_path(db, factory)
    assert saved.is_file()

    def no_build(*args, **kwargs):
        raise AssertionError("the saved index was rebuilt")

    with monkeypatch.context() as patch:
        patch.setattr(faiss, "index_factory", no_build)
        assert build_index(db, factory).ntotal == len(ids)
    db.commit_shard("shard-000099", ["extra"], x[:1], ["extra"], [])
    assert build_index(db, factory).ntotal == len(ids) + 1  # new shards: a new index replaces the old
    assert not saved.exists() and index_path(db, factory).is_file()


def dense_reference_groups(ids: list[str], x: np.ndarray, threshold: float) -> list[list[str]]:
    """group_links over every pair above the threshold, from the dense similarity matrix."""
    a, b = np.nonzero(np.triu(x @ x.T >= threshold, 1))
    scores = (x[a] * x[b]).sum(axis=1)
    return [[ids[m] for m in g.members] for g in group_links(len(ids), a, b, scores, threshold)]


def test_groups_from_shards_match_the_dense_reference_and_never_chain(tmp_path):
    ids, x = synthetic_store(tmp_path / "db", n=2000)
    db = DescriptorStore.open(tmp_path / "db")
    sims = x @ x.T
    row = {ident: n for n, ident in enumerate(ids)}
    for threshold in (0.75, 0.6):
        expected = dense_reference_groups(ids, x, threshold)
        assert len(expected) > 50
        groups = find_groups(db, threshold, neighbours=60)
        assert [g.members for g in groups] == expected
        for g in groups:  # complete linkage: every pair inside a group is a link
            members = [row[m] for m in g.members]
            inside = sims[np.ix_(members, members)][np.triu_indices(len(members), 1)]
            assert inside.min() >= threshold - 1e-6 and g.min_score == pytest.approx(inside.min(), abs=1e-5)


# ---- (d) readers while a writer commits ------------------------------------------------------
WRITER = """
import os, sys, time, numpy as np
from myPython.pool.store import DescriptorStore
store = DescriptorStore.create(sys.argv[1], {"dim": 16, "model": "synthetic", "settings": "none"})
deadline = time.monotonic() + 120
while not all(os.path.exists(ready) for ready in sys.argv[3:]):  # every reader has opened the store
    if time.monotonic() > deadline:
        sys.exit("the readers did not start")
    time.sleep(0.01)
rng = np.random.default_rng(0)
with store.writer_lock():
    for k in range(int(sys.argv[2])):
        n = int(rng.integers(1, 30))
        x = rng.standard_normal((n, 16)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        ids = [f"s{k}-{i}" for i in range(n)]
        store.commit_shard(store.next_shard_name(), ids, x, ids, [{"input": f"bad{k}", "reason": "r"}])
        time.sleep(0.01)
"""

READER = """
import json, os, sys
from myPython.pool.search import SearchOptions, search
from myPython.pool.store import DescriptorStore
root, stop, ready = sys.argv[1], sys.argv[2], sys.argv[3]
checks = searches = 0
states = set()
while True:
    finished = os.path.exists(stop)  # then one more full pass
    try:
        store = DescriptorStore.open(root)
    except FileNotFoundError:
        continue
    open(ready, "a").close()  # the writer starts once every reader is here
    shards = store.shards()
    for shard in shards:
        ids, rows, inputs = shard.ids(), shard.vectors(), shard.inputs()
        assert len(ids) == shard.rows == len(rows) == len(inputs), shard.name
        assert [s["input"] for s in shard.skipped()] == [f"bad{int(shard.name.split('-')[1])}"]
        checks += 1
    states.add(len(shards))
    if sum(s.rows for s in shards) >= 64:
        snapshot = store.snapshot()
        known = {i for s in snapshot.shards() for i in s.ids()}
        factory = "IVF4,Flat" if searches % 2 else "Flat"
        results = list(search(store, None, SearchOptions(top_k=3, factory=factory)))
        queries = {q for q, _ in results}
        assert queries >= known and all(o in queries for _, found in results for o, _ in found)
        searches += 1
    if finished and searches:
        break
print(json.dumps({"checks": checks, "searches": searches, "states": len(states)}))
"""


@pytest.mark.slow
def test_readers_never_see_a_half_written_shard(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    store, stop = tmp_path / "store", tmp_path / "stop"
    ready = [tmp_path / f"reader{n}" for n in range(2)]  # the writer waits for both readers: they overlap it
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(store), str(stop), str(r)], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in ready]
    writer = subprocess.run([sys.executable, "-c", WRITER, str(store), "200", *map(str, ready)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert writer.returncode == 0, writer.stderr
    stop.touch()
    states = 0
    for reader in readers:
        out, err = reader.communicate(timeout=300)
        assert reader.returncode == 0, err
        summary = json.loads(out)
        assert summary["checks"] >= 200 and summary["searches"] >= 1
        states = max(states, summary["states"])
    assert states >= 5, "the readers did not overlap the writer"
    assert len(DescriptorStore.open(store).shards()) == 200


def test_one_writer_at_a_time(tmp_path):
    store = DescriptorStore.create(tmp_path / "s", {"dim": 4})
    with store.writer_lock():
        held = subprocess.run([sys.executable, "-c", "import sys; from myPython.pool.store import DescriptorStore;"
                               "s = DescriptorStore.open(sys.argv[1]); s.writer_lock().__enter__()",
                               str(tmp_path / "s")], cwd=ROOT, capture_output=True, text=True)
        assert held.returncode != 0 and "another embed run" in held.stderr
    with store.writer_lock():
        pass


# ---- (e) Ray ---------------------------------------------------------------------------------
def test_ray_actors_reserve_the_most_whole_cpus_that_fit():
    from myPython.pool.distributed import actor_cpus

    assert actor_cpus([2], 2) == 1 and actor_cpus([2], 1) == 2 and actor_cpus([16], 3) == 5
    assert actor_cpus([8, 8], 3) == 4  # 5 each would leave the third actor waiting for a node
    assert actor_cpus([3, 3], 7) == 0.5 and actor_cpus([4], 12) == 0.3333  # shares that Ray fits exactly


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray of 2 CPUs for the module's Ray tests: embed --ray uses it and leaves it up."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install ray)")
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    try:
        yield ray
    finally:
        ray.shutdown()


RAY_ARGS = ["--batch", "2", "--shard-size", "3", *FAST]


def ray_inputs(pool: Path, folder: Path) -> Path:
    """`folder` with 7 pictures, a file that is no picture and a clip of 3 frames, listed in all.txt, the first 4
    pictures in half.txt."""
    chosen = sorted(p.name for p in pool.glob("img*"))[:7]
    folder.mkdir()
    for name in [*chosen, "clip_a.mp4"]:
        shutil.copyfile(pool / name, folder / name)
    (folder / "broken.jpg").write_bytes(b"no picture")
    (folder / "half.txt").write_text("".join(f"{n}\n" for n in chosen[:4]))
    (folder / "all.txt").write_text("".join(f"{n}\n" for n in [*chosen, "broken.jpg", "clip_a.mp4"]))
    return folder


def embed_ray(inputs: Path, out: Path, capsys, *flags: str) -> str:
    """`embed INPUTS --out OUT --ray [FLAGS]` in this process, on the module's Ray; its output."""
    from myPython.apps.cli import main

    assert main(["embed", str(inputs), "--out", str(out), *RAY_ARGS, *flags, "--ray", "--ray-actors", "2"]) == 0
    return capsys.readouterr().out


def store_content(root: Path) -> dict:
    """What a store holds, shard boundaries aside: ids, rows, local features, done inputs, skip records, in order."""
    ids, rows = check_store(root)
    store = DescriptorStore.open(root)
    shards = store.shards()
    local = [np.array(f) for s in shards if s.rows and (f := s.local_features()) is not None]
    return {"ids": ids, "rows": rows, "local": np.concatenate(local) if local else None,
            "done": [key for s in shards for key in s.inputs()], "skipped": [e for s in shards for e in s.skipped()],
            "latest skips": store.skipped(), "partial": store.partial_inputs(),
            "features": store.meta["local_features"]}


def assert_same_content(got: dict, expected: dict) -> None:
    assert got["ids"] == expected["ids"] and len(got["ids"]) == len(set(got["ids"]))
    np.testing.assert_allclose(got["rows"], expected["rows"], atol=1e-6)
    assert expected["local"] is not None and expected["local"].dtype == got["local"].dtype == np.uint8
    assert len(got["local"]) == len(got["ids"]) and got["local"].tobytes() == expected["local"].tobytes()
    for key in ("done", "skipped", "latest skips", "partial", "features"):
        assert got[key] == expected[key], key
    assert expected["features"] is not None


@pytest.mark.slow
def test_ray_embedding_writes_the_single_process_store(pool, tmp_path, capsys, local_ray):
    folder = ray_inputs(pool, tmp_path / "inputs")
    contents, reports = {}, {}
    for name in ("single", "ray"):
        out = tmp_path / name
        for inputs in ("half.txt", "all.txt"):
            if name == "single":
                run = cli("embed", str(folder / inputs), "--out", str(out), *RAY_ARGS)
                assert run.returncode == 0, run.stderr
                stdout = run.stdout
            else:
                stdout = embed_ray(folder / inputs, out, capsys)
            contents[name, inputs] = store_content(out)
            reports[name, inputs] = json.loads((out / "report.json").read_text())
            assert inputs == "half.txt" or "4 already done; 1 skipped" in stdout
    for inputs in ("half.txt", "all.txt"):  # the same store, but for the shard boundaries; the same report
        assert_same_content(contents["ray", inputs], contents["single", inputs])
        single, remote = reports["single", inputs], reports["ray", inputs]
        for key in ("inputs", "already_done", "embedded_inputs", "rows", "skipped", "warnings"):
            assert remote[key] == single[key], key
    assert len(contents["ray", "all.txt"]["ids"]) == 7 + 3 and len(contents["ray", "all.txt"]["skipped"]) == 1
    for shard in DescriptorStore.open(tmp_path / "ray").shards():  # a chunk is one shard: no partial input
        assert not shard.partial and not shard.continues


@pytest.mark.slow
def test_ray_embedding_writes_the_sub_rows_of_the_single_process(pool, tmp_path, capsys, local_ray):
    """`embed --turns --panels` through Ray actors: the same rows, sub-rows included, as in one process."""
    from myPython.common.ids import is_turned

    folder = ray_inputs(pool, tmp_path / "inputs")
    single, remote = tmp_path / "single", tmp_path / "ray"
    run = cli("embed", str(folder / "half.txt"), "--out", str(single), *RAY_ARGS, "--turns", "--panels")
    assert run.returncode == 0, run.stderr
    embed_ray(folder / "half.txt", remote, capsys, "--turns", "--panels")
    expected = store_content(single)
    assert_same_content(store_content(remote), expected)
    assert sum(map(is_turned, expected["ids"])) == 4  # one turned row for each of the 4 pictures


@pytest.mark.slow
def test_ray_embedding_resumes_a_killed_run_to_the_clean_store(pool, tmp_path, capsys, local_ray):
    folder = ray_inputs(pool, tmp_path / "inputs")
    clean, out = tmp_path / "clean", tmp_path / "resumed"
    for inputs, store in (("all.txt", clean), ("half.txt", out)):
        run = cli("embed", str(folder / inputs), "--out", str(store), *RAY_ARGS)
        assert run.returncode == 0, run.stderr
    embed_ray(folder / "all.txt", out, capsys)  # Ray goes on with a store begun by a single process
    # A killed Ray run: the chunks in flight, anywhere in input order, left their files without a marker. Here
    # the 5th picture's chunk (before the 6th's), the 7th's (before the broken file's skip record) and the clip's.
    shards = DescriptorStore.open(out).shards()
    assert [s.rows for s in shards] == [3, 1, 1, 1, 1, 0, 3] and shards[5].skipped()  # one chunk an input
    lost = [shards[2], shards[4], shards[6]]
    for shard in lost:
        shard.path(MARKER_SUFFIX).unlink()
    (out / "shards" / f".{lost[0].name}.npy.abc123.tmp").write_bytes(b"half written")
    stdout = embed_ray(folder / "all.txt", out, capsys)
    assert "3 input(s) embedded into 5 row(s)" in stdout and "6 already done; 1 skipped" in stdout, stdout
    assert_same_content(store_content(out), store_content(clean))
    names = [s.name for s in DescriptorStore.open(out).shards()]
    assert {f"{lost[0].name}_000000", f"{lost[1].name}_000000"} <= set(names)  # put back in their places
