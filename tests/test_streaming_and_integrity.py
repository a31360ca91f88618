"""Hostile pools, part 2: long videos streamed across shards (kill, Ctrl-C, resume, bounded memory), damaged
stores (count checks, verify, quarantine), huge images (reduced decodes, bounded memory)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_hostile_pools import FAST, jpeg
from test_scale_robustness import (
    ROOT,
    assert_resumes_to,
    check_store,
    cli,
    held_embed,
    png_chunk,
    signal_embed_after,
    wait_for,
    write_clip,
)

from myPython.apps.cli import main
from myPython.common import images
from myPython.common.ids import frame_id
from myPython.errors import InputError
from myPython.pool.inputs import expand_inputs
from myPython.pool.store import DescriptorStore


# ---- long videos: streamed, split across shards, resumed -----------------------------------------
@pytest.fixture(scope="module")
def long_pool(tmp_path_factory) -> Path:
    """A picture, a 12 s clip (24 rows at --fps 2), another picture: the clip spans several 5-row shards."""
    folder = tmp_path_factory.mktemp("long")
    (folder / "a.jpg").write_bytes(jpeg(1))
    write_clip(folder / "b.mp4", frames=120, fps=10, seed=3)
    (folder / "c.jpg").write_bytes(jpeg(2))
    return folder


# FAST names fp32 ONNX Runtime: `auto` would say on stderr whether it runs int8 at these settings, and these
# runs compare their stderr and rows with each other.
LONG_ARGS = ["--fps", "2", "--batch", "2", "--shard-size", "5", *FAST]


@pytest.fixture(scope="module")
def long_clean(long_pool, tmp_path_factory):
    store = tmp_path_factory.mktemp("long_clean") / "store"
    done = cli("embed", str(long_pool), "--out", str(store), *LONG_ARGS)
    assert done.returncode == 0, done.stderr
    return store, *check_store(store)


def test_a_long_video_fills_several_shards_with_its_progress_in_the_markers(long_clean):
    store, ids, _ = long_clean
    assert ids == ["a.jpg"] + [frame_id("b.mp4", t / 2) for t in range(24)] + ["c.jpg"]
    shards = DescriptorStore.open(store).shards()
    assert [s.rows for s in shards] == [5, 5, 5, 5, 5, 1]
    assert [s.partial for s in shards] == [{"b.mp4": 4}, {"b.mp4": 9}, {"b.mp4": 14}, {"b.mp4": 19}, {}, {}]
    assert [s.continues for s in shards] == [[], ["b.mp4"], ["b.mp4"], ["b.mp4"], ["b.mp4"], []]
    assert [s.inputs() for s in shards] == [["a.jpg"], [], [], [], ["b.mp4"], ["c.jpg"]]


@pytest.mark.slow
def test_a_video_killed_between_its_shards_resumes_to_exactly_the_clean_result(long_pool, long_clean, tmp_path):
    _, clean_ids, clean_rows = long_clean
    store = tmp_path / "killed"
    for shards in (2, 4):  # inside the video both times (the run cannot finish first: see signal_embed_after)
        proc = signal_embed_after(long_pool, store, LONG_ARGS, shards, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
        ids, _ = check_store(store, after_kill=True)  # the killed shard's files may be left until the next run
        assert ids == clean_ids[: len(ids)] and len(ids) >= 5 * shards
    assert_resumes_to(long_pool, store, LONG_ARGS, clean_ids, clean_rows)


@pytest.mark.slow
@pytest.mark.parametrize("shards", [0, 2])  # before anything is committed; inside the video, rows 11-15 on the way
def test_ctrl_c_prints_one_line_and_leaves_the_store_resumable(long_pool, long_clean, tmp_path, shards):
    """Ctrl-C while the network runs, at a known point on any machine: the run waits there (HELD_RUN) until it
    gets the signal. It says so in one line, exits 130, keeps exactly the shards it had committed, leaves no
    partial files, and the same command then finishes the work."""
    _, clean_ids, clean_rows = long_clean
    store = tmp_path / "interrupted"
    proc, ready = held_embed(long_pool, store, LONG_ARGS, shards, capture=True)
    wait_for(ready.exists, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert err.strip().splitlines() == ["deep-retrieval embed: interrupted; committed work is kept, rerun to resume"]
    ids, _ = check_store(store)  # whole, with nothing uncommitted left behind
    assert ids == clean_ids[: 5 * shards]
    assert_resumes_to(long_pool, store, LONG_ARGS, clean_ids, clean_rows)


def test_streaming_holds_a_few_frames_whatever_the_video_length(tmp_path):
    """Traced (NumPy) memory of embedding a 300-frame video stays far below what its frames would take."""
    import tracemalloc

    from myPython.pool.embed import EmbedOptions, embed_items
    from myPython.retrieval.extractor import DescriptorExtractor
    from myPython.retrieval.models import load_model

    write_clip(tmp_path / "v.mp4", frames=300, fps=10, seed=8)
    spec = load_model()
    settings = spec.settings(S=256, L=1)
    extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, settings, output=spec.output,
                                               engine="onnxruntime")
    store = DescriptorStore.create(tmp_path / "s", {"dim": 512, "model": "m", "settings": settings.key()})
    items, _ = expand_inputs([tmp_path / "v.mp4"])
    row_bytes = 3 * 256 * 192 * 4  # one prepared frame
    tracemalloc.start()
    try:
        report = embed_items(items, extractor, store, EmbedOptions(fps=10, batch=4, shard_size=64, workers=2),
                             progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.rows == 300 and report.shards == 5
    assert peak < 40 * row_bytes, f"peak {peak / 2**20:.1f} MB"  # all frames: 300 rows


# ---- damaged stores ------------------------------------------------------------------------------
def damage(store: Path, kind: str) -> None:
    shard = store / "shards" / "shard-000001"
    if kind == "npy_short":  # an array with one row fewer, written by hand
        rows = np.load(f"{shard}.npy")
        np.save(f"{shard}.npy", rows[:-1])
    elif kind == "ids_line":
        lines = Path(f"{shard}.ids.txt").read_text().split("\n")
        Path(f"{shard}.ids.txt").write_text("\n".join(lines[:2] + lines[3:]))
    elif kind == "bit_flip":  # same size: only the checksum sees it
        data = bytearray(Path(f"{shard}.npy").read_bytes())
        data[-7] ^= 0x10
        Path(f"{shard}.npy").write_bytes(bytes(data))


@pytest.mark.parametrize("kind", ["npy_short", "ids_line"])
def test_readers_refuse_a_shard_whose_counts_do_not_match(long_clean, tmp_path, kind):
    store = tmp_path / "store"
    shutil.copytree(long_clean[0], store)
    damage(store, kind)
    result = cli("search", "--db", str(store), "--top-k", "2", "--out", str(tmp_path / "m"))
    assert result.returncode == 1 and not (tmp_path / "m").exists()
    (line,) = result.stderr.strip().splitlines()
    assert "shard-000001" in line and "verify" in line


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["bit_flip", "ids_line"])
def test_verify_quarantines_a_damaged_shard_and_embed_recreates_it(long_pool, long_clean, tmp_path, kind):
    clean_store, clean_ids, clean_rows = long_clean
    store = tmp_path / "store"
    shutil.copytree(clean_store, store)
    assert cli("verify", "--db", str(store)).returncode == 0
    damage(store, kind)
    found = cli("verify", "--db", str(store))
    assert found.returncode == 1 and "damaged shard-000001" in found.stdout
    moved = cli("verify", "--db", str(store), "--quarantine")
    assert moved.returncode == 0, moved.stderr
    # shard 1 holds rows of b.mp4, which spans shards 0 to 4: all five go, with a.jpg's row
    assert sorted(p.name for p in store.glob("quarantine/*/*.json")) == [f"shard-00000{n}.json" for n in range(5)]
    assert cli("verify", "--db", str(store)).returncode == 0
    again = cli("embed", str(long_pool), "--out", str(store), *LONG_ARGS)
    assert again.returncode == 0 and "2 input(s) embedded into 25 row(s)" in again.stdout, again.stdout
    ids, rows = check_store(store)
    assert sorted(ids) == sorted(clean_ids)
    order = [ids.index(i) for i in clean_ids]
    np.testing.assert_allclose(rows[order], clean_rows, atol=1e-5)


def test_every_file_of_a_shard_is_checksummed_even_ones_added_by_other_code(tmp_path):
    from myPython.pool.integrity import verify_store

    store = DescriptorStore.create(tmp_path / "s", {"dim": 4})
    (store.shard_dir / "shard-000000.local.bin").write_bytes(b"local features")
    x = np.eye(4, dtype=np.float32)[:2]
    shard = store.commit_shard("shard-000000", ["a.jpg", "b.jpg"], x, ["a.jpg", "b.jpg"], [])
    assert sorted(shard.marker["files"]) == [f"shard-000000{s}" for s in
                                             (".ids.txt", ".inputs.txt", ".local.bin", ".npy", ".skipped.jsonl")]
    assert not verify_store(store).damaged
    (store.shard_dir / "shard-000000.local.bin").write_bytes(b"local featureZ")
    assert verify_store(store).damaged == {"shard-000000": ["shard-000000.local.bin does not match its checksum"]}
    with pytest.raises(ValueError, match="well-formed"):
        store.commit_shard("shard-000001", ["raw name.jpg"], x[:1], [], [])


def test_a_store_of_the_older_format_gets_a_one_line_upgrade_message(tmp_path, capsys):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "meta.json").write_text(json.dumps({"version": 1, "dim": 4}))
    assert main(["search", "--db", str(tmp_path / "old"), "--out", str(tmp_path / "m")]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "format 1" in line and "embed the pool again" in line


# ---- huge images: decoded reduced, or refused with a reason -----------------------------------------
def png16_rgba(width: int, height: int, band: int = 64) -> bytes:
    """A 16-bit RGBA PNG of smooth stripes: bands of `band` equal rows (PNG's "Up" filter makes the
    repeated rows zeros), compressed as it goes; never held decoded."""
    ramp = (np.arange(width, dtype=np.uint32) * 65535 // max(1, width - 1)).astype(">u2")
    pixel = np.empty((width, 4), ">u2")
    pixel[:, 0], pixel[:, 1], pixel[:, 3] = ramp, ramp[::-1], 65535
    repeat = b"\x02" + bytes(width * 8)
    compress, parts = zlib.compressobj(6), []
    for y in range(height):
        if y % band:
            parts.append(compress.compress(repeat))
        else:
            pixel[:, 2] = (y * 65535) // max(1, height - 1)
            parts.append(compress.compress(b"\x00" + pixel.tobytes()))
    parts.append(compress.flush())
    header = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", b"".join(parts))
            + png_chunk(b"IEND", b""))


def test_large_decodes_are_reduced_and_oversized_ones_refused(monkeypatch):
    data = png16_rgba(1000, 600)  # 4.8 MB decoded at 16-bit RGBA
    full = images.decode_image(data, "big.png")
    assert full.shape == (600, 1000, 3)
    monkeypatch.setattr(images, "LARGE_DECODE_BYTES", 1 << 20)
    monkeypatch.setattr(images, "REDUCED_LONG_SIDE", 250)
    reduced = images.decode_image(data, "big.png")
    assert reduced.shape == (150, 250, 3)  # reduced by 4: still >= 250 px on the long side
    expected = cv2.resize(full, (250, 150), interpolation=cv2.INTER_AREA).astype(int)
    assert np.abs(reduced.astype(int) - expected).mean() < 2
    monkeypatch.setattr(images, "MAX_DECODED_BYTES", 1 << 20)
    with pytest.raises(InputError, match=r"big.png: 1000x600 pixels would need 2 MB to decode, over the limit"):
        images.decode_image(data, "big.png")


@pytest.mark.slow
def test_a_13000_pixel_16_bit_rgba_png_embeds_in_bounded_memory(tmp_path):
    (tmp_path / "pool").mkdir()
    (tmp_path / "pool" / "huge.png").write_bytes(png16_rgba(13000, 13000))
    # VmHWM, the peak of this process's own memory: ru_maxrss would include the parent's (this test
    # process's) resident memory, inherited across fork and exec.
    script = ("import re, sys\nfrom myPython.apps.cli import main\ncode = main(sys.argv[1:])\n"
              "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\nsys.exit(code)")
    run = subprocess.run([sys.executable, "-c", script, "embed", str(tmp_path / "pool"), "--out",
                          str(tmp_path / "s"), *FAST], cwd=ROOT, capture_output=True,
                         text=True, timeout=900,
                         env={**os.environ, "GLOG_minloglevel": "2"})
    assert run.returncode == 0, run.stderr
    assert "1 input(s) embedded into 1 row(s)" in run.stdout
    peak_mb = int(run.stdout.split()[-1]) / 1024
    assert peak_mb < 1500, f"peak RSS {peak_mb:.0f} MB"  # a full 16-bit RGBA decode alone is 1290 MB


def test_a_store_is_resumed_only_with_the_same_local_features(tmp_path):
    """Every row of a store has local features of one kind or none: verification and the graph read them all."""
    from myPython.errors import StoreError
    from myPython.pool.store import DescriptorStore

    meta = {"model": "m", "settings": "s", "dim": 4, "sampling": None, "local_features": "rootsift-a"}
    DescriptorStore.create(tmp_path / "store", meta)
    assert DescriptorStore.create(tmp_path / "store", meta).meta["local_features"] == "rootsift-a"
    for other in (None, "rootsift-b"):
        with pytest.raises(StoreError, match="other local_features"):
            DescriptorStore.create(tmp_path / "store", {**meta, "local_features": other})


def test_forwards_side_by_side_write_the_store_one_forward_at_a_time_writes(tmp_path):
    """embed with two single-threaded forwards at once (EmbedOptions.forward_workers, ONNX Runtime) writes the same
    rows, in the same order, with bit-identical descriptors, as one forward on every core; a batch smaller than
    the workers, photos of several sizes and a video's frames included."""
    from myPython.pool.embed import EmbedOptions, ParallelForward, embed_items
    from myPython.retrieval.extractor import DescriptorExtractor
    from myPython.retrieval.models import load_model

    rng = np.random.default_rng(5)
    folder = tmp_path / "in"
    folder.mkdir()
    for n, (h, w) in enumerate([(120, 160), (160, 120), (90, 200), (120, 160), (200, 200)]):
        cv2.imwrite(str(folder / f"p{n}.png"), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    write_clip(folder / "v.mp4", frames=12, fps=4, seed=3)
    spec = load_model()
    settings = spec.settings(S=128, L=1)
    extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, settings, output=spec.output,
                                               engine="onnxruntime")
    assert ParallelForward.usable(extractor, 2) and not ParallelForward.usable(extractor, 1)
    items, _ = expand_inputs([folder])
    loaded = []
    for workers in (1, 2):
        store = DescriptorStore.create(tmp_path / f"s{workers}", {"dim": 512, "model": "m", "settings": settings.key()})
        report = embed_items(items, extractor, store, EmbedOptions(fps=4, batch=3, forward_workers=workers),
                             progress=False)
        assert report.rows == 5 + 12
        loaded.append(store.load())
    assert loaded[0][0] == loaded[1][0]
    assert np.array_equal(loaded[0][1], loaded[1][1])
