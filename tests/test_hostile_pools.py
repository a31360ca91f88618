"""Hostile pools: odd names, special files, same-named roots, roots added later, long videos streamed across
shards (kill, Ctrl-C, resume), damaged stores (verify, quarantine), huge images, bad arguments."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_scale_robustness import ROOT, check_store, cli, cli_popen, textured, write_clip

from myPython.apps.cli import main
from myPython.common.ids import check_id, escape, frame_id, printable, split_row_id, unescape
from myPython.errors import InputError
from myPython.pool import images
from myPython.pool.inputs import expand_inputs, path_of
from myPython.pool.search import format_mapped_line, parse_mapped_line, read_mapped
from myPython.pool.store import DescriptorStore

FAST = ["--S", "64", "--L", "1", "--quiet"]
HOSTILE_NAMES = [b"b\nx.jpg", b"c\rd.jpg", b"\xff\xfe.jpg", b"sp ace.jpg", b"tab\there.jpg", b"100%.png",
                 b"v#t=1.000.png", "\u202eevil.jpg".encode(), "caf\u00e9 \u00a0nbsp.jpg".encode(), b"\x1b[31m.jpg"]


def jpeg(seed: int) -> bytes:
    return cv2.imencode(".jpg", textured(seed, 96, 128))[1].tobytes()


# ---- ids: one escaping scheme ----------------------------------------------------------------------
def test_ids_escape_every_hostile_name_reversibly():
    for raw in HOSTILE_NAMES + [b"plain/name.jpg", "\u00e9t\u00e9/\u6771\u4eac.png".encode()]:
        name = os.fsdecode(raw)
        ident = escape(name)
        assert unescape(ident) == name and os.fsencode(unescape(ident)) == raw
        assert check_id(ident) == ident and ident.isprintable() and not {" ", "\t", "#"} & set(ident)
        ident.encode("utf-8")  # no surrogates left
        assert split_row_id(frame_id(ident, 12.5)) == (ident, 12.5)
        assert "\n" not in printable(name) and "\r" not in printable(name)
    assert escape("plain/name.jpg") == "plain/name.jpg"  # ordinary names are their own ids
    assert escape("a b\n%\xe9#") == "a%20b%0A%25\xe9%23"
    assert escape(os.fsdecode(b"\xff")) == "%FF"
    for bad in ("a b", "a\tb", "x#y", "a%2", "v.mp4#t=1", "", "\x00"):
        with pytest.raises(ValueError):
            check_id(bad)


def test_mapped_lines_carry_escaped_ids_and_refuse_raw_ones():
    odd = [escape(os.fsdecode(n)) for n in HOSTILE_NAMES]
    neighbours = [(i, 0.5 - n / 100) for n, i in enumerate(odd[1:])] + [(frame_id(odd[0], 3.0), -0.25)]
    line = format_mapped_line(odd[0], neighbours)
    assert line.count("\t") == 1 and line.isprintable() is False  # the tab only
    assert parse_mapped_line(line) == (odd[0], [(i, pytest.approx(s, abs=1e-4)) for i, s in neighbours])
    with pytest.raises(ValueError):
        format_mapped_line("q", [("a b", 0.9)])
    with pytest.raises(ValueError):
        format_mapped_line("line\nbreak", [])


# ---- a hostile pool, end to end ------------------------------------------------------------------
@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Two folders called photos (odd names, special files, a hidden file, a linked folder) and a store."""
    base = tmp_path_factory.mktemp("hostile")
    d1, d2 = base / "d1" / "photos", base / "d2" / "photos"
    d1.mkdir(parents=True)
    d2.mkdir(parents=True)
    regular = {}
    for n, raw in enumerate(HOSTILE_NAMES + [b"a.jpg"]):
        path = os.path.join(os.fsencode(d1), raw)
        with open(path, "wb") as handle:
            handle.write(jpeg(n))
        regular[os.fsdecode(path)] = "photos/" + escape(os.fsdecode(raw))
    (d2 / "a.jpg").write_bytes(jpeg(50))  # the same name as d1's a.jpg
    regular[str(d2 / "a.jpg")] = "photos~2/a.jpg"
    (d1 / ".hidden.jpg").write_bytes(jpeg(51))
    os.mkfifo(d1 / "fifo.jpg")
    (d1 / "zero.jpg").symlink_to("/dev/zero")
    (d1 / "dangling.jpg").symlink_to(d1 / "gone.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d1 / "sock.jpg"))
    (d1 / "linked").symlink_to(d2, target_is_directory=True)
    store = base / "store"
    started = time.monotonic()
    first = cli("embed", str(d1), str(d2), "--out", str(store), *FAST, timeout=600)
    seconds = time.monotonic() - started
    second = cli("embed", str(d1), str(d2), "--out", str(store), *FAST, timeout=600)
    sock.close()
    return base, store, regular, first, second, seconds


def test_hostile_pool_embeds_every_regular_file_under_its_own_id(hostile):
    base, store, regular, first, _, _ = hostile
    assert first.returncode == 0, first.stderr
    ids, _ = check_store(store)
    assert sorted(ids) == sorted(regular.values())
    labels = DescriptorStore.open(store).root_labels()
    for path, ident in regular.items():  # every id leads back to its file
        assert os.path.samefile(path_of(ident, labels), path)


def test_special_and_left_out_files_are_reported_with_reasons_without_blocking(hostile):
    base, store, _, first, _, seconds = hostile
    report = json.loads((store / "report.json").read_text())
    reasons = {Path(s["input"]).name: s["reason"] for s in report["skipped"]}
    assert "named pipe" in reasons["fifo.jpg"] and "character device" in reasons["zero.jpg"]
    assert "socket" in reasons["sock.jpg"] and "broken symbolic link" in reasons["dangling.jpg"]
    assert "hidden file" in reasons[".hidden.jpg"] and "symbolic link to a folder" in reasons["linked"]
    assert all(r.isprintable() for r in reasons.values())
    assert seconds < 500  # the FIFO did not block (the fixture would time out)


def test_a_second_identical_run_adds_nothing(hostile):
    _, store, regular, first, second, _ = hostile
    assert second.returncode == 0, second.stderr
    assert "0 input(s) embedded into 0 row(s) in 0 shard(s)" in second.stdout
    # fifo, zero, sock stay skipped; the broken link is retried (transient) and fails the same way again
    assert f"{len(regular) + 3} already done; 6 skipped" in second.stdout  # + 2 walk problems
    assert len(list((store / "shards").glob("*.json"))) == 1


def test_no_control_characters_or_undecodable_bytes_anywhere_in_the_store(hostile, tmp_path):
    _, store, _, _, _, _ = hostile
    mapped = tmp_path / "m.mapped"
    assert main(["search", "--db", str(store), "--top-k", "3", "--out", str(mapped)]) == 0
    groups = tmp_path / "g.json"
    assert main(["group", "--db", str(store), "--threshold", "0.0", "--out", str(groups)]) == 0
    files = [p for p in store.rglob("*") if p.is_file() and p.suffix != ".npy" and p.name != ".writer.lock"]
    for path in files + [mapped, groups]:
        text = path.read_bytes().decode("utf-8")
        assert all(c.isprintable() or c in "\n\t" for c in text), path
    ids = DescriptorStore.open(store).load()[0]
    lines = mapped.read_text().split("\n")[:-1]
    assert [line.split("\t")[0] for line in lines] == ids  # one line per row, none split or lost
    assert all(len(found) == 3 and {i for i, _ in found} <= set(ids) for found in read_mapped(mapped).values())


def test_adding_a_root_later_embeds_only_its_inputs_and_keeps_every_id(tmp_path):
    first, second = tmp_path / "pool" / "photos", tmp_path / "other" / "photos"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    for n in range(3):
        (first / f"{n}.jpg").write_bytes(jpeg(n))
    (first / "sub").mkdir()
    (first / "sub" / "s.jpg").write_bytes(jpeg(9))
    (second / "1.jpg").write_bytes(jpeg(20))
    store = tmp_path / "store"
    assert cli("embed", str(first), "--out", str(store), *FAST).returncode == 0
    before, rows = check_store(store)
    assert sorted(before) == ["0.jpg", "1.jpg", "2.jpg", "sub/s.jpg"]  # the only root: plain relative paths
    added = cli("embed", str(second), str(first), "--out", str(store), *FAST)
    assert "1 input(s) embedded" in added.stdout and "4 already done" in added.stdout, added.stdout
    after, more = check_store(store)
    assert after[:4] == before and after[4:] == ["photos/1.jpg"]
    np.testing.assert_array_equal(more[:4], rows)
    (first / "photos").mkdir()  # now the first root holds what looks like the second root's ids
    (first / "photos" / "1.jpg").write_bytes(jpeg(21))
    clash = cli("embed", str(first), str(second), "--out", str(store), *FAST)
    skipped = json.loads((store / "report.json").read_text())["skipped"]
    assert "0 input(s) embedded" in clash.stdout
    assert [s["input"] for s in skipped] == ["photos/1.jpg"] and "already taken" in skipped[0]["reason"]


def test_same_named_roots_get_distinct_stable_labels(tmp_path):
    roots = [tmp_path / f"d{n}" / "photos" for n in range(3)]
    for root in roots:
        root.mkdir(parents=True)
        (root / "1.jpg").write_bytes(b"x")
    items, problems = expand_inputs(roots)
    assert [i.key for i in items] == ["photos/1.jpg", "photos~2/1.jpg", "photos~3/1.jpg"] and not problems
    labels = {os.path.realpath(r): label for r, label in zip(roots, ["photos", "photos~2", "photos~3"])}
    swapped, _ = expand_inputs(roots[::-1], labels)
    assert [i.key for i in swapped] == ["photos~3/1.jpg", "photos~2/1.jpg", "photos/1.jpg"]


# ---- long videos: streamed, split across shards, resumed -----------------------------------------
@pytest.fixture(scope="module")
def long_pool(tmp_path_factory) -> Path:
    """A picture, a 12 s clip (24 rows at --fps 2), another picture: the clip spans several 5-row shards."""
    folder = tmp_path_factory.mktemp("long")
    (folder / "a.jpg").write_bytes(jpeg(1))
    write_clip(folder / "b.mp4", frames=120, fps=10, seed=3)
    (folder / "c.jpg").write_bytes(jpeg(2))
    return folder


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


def markers(store: Path) -> int:
    return len(list((store / "shards").glob("shard-*.json"))) if (store / "shards").is_dir() else 0


def interrupt_after(store: Path, pool: Path, shards: int, sig: int) -> subprocess.Popen:
    proc = cli_popen("embed", str(pool), "--out", str(store), *LONG_ARGS)
    deadline = time.monotonic() + 120
    while markers(store) < shards and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(sig)
    return proc


@pytest.mark.slow
def test_a_video_killed_between_its_shards_resumes_to_exactly_the_clean_result(long_pool, long_clean, tmp_path):
    _, clean_ids, clean_rows = long_clean
    store = tmp_path / "killed"
    kills = 0
    for shards in (2, 4):  # inside the video both times
        proc = interrupt_after(store, long_pool, shards, signal.SIGKILL)
        kills += proc.wait() == -signal.SIGKILL
        ids, _ = check_store(store)
        assert ids == clean_ids[: len(ids)]
    assert kills >= 1, "the runs finished before they could be killed"
    done = cli("embed", str(long_pool), "--out", str(store), *LONG_ARGS)
    assert done.returncode == 0, done.stderr
    ids, rows = check_store(store)
    assert ids == clean_ids
    np.testing.assert_allclose(rows, clean_rows, atol=1e-5)


@pytest.mark.slow
def test_ctrl_c_prints_one_line_and_leaves_the_store_resumable(long_pool, long_clean, tmp_path):
    _, clean_ids, clean_rows = long_clean
    store = tmp_path / "interrupted"
    proc = subprocess.Popen([sys.executable, "-m", "myPython", "embed", str(long_pool), "--out", str(store),
                             *LONG_ARGS], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "GLOG_minloglevel": "2"})
    deadline = time.monotonic() + 120
    while markers(store) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the run finished before the interrupt")
    assert proc.returncode == 130
    assert err.strip().splitlines() == ["deep-retrieval embed: interrupted; committed work is kept, rerun to resume"]
    check_store(store)
    assert cli("embed", str(long_pool), "--out", str(store), *LONG_ARGS).returncode == 0
    ids, rows = check_store(store)
    assert ids == clean_ids
    np.testing.assert_allclose(rows, clean_rows, atol=1e-5)


def test_streaming_holds_a_few_frames_whatever_the_video_length(tmp_path):
    """Traced (NumPy) memory of embedding a 300-frame video stays far below what its frames would take."""
    import tracemalloc

    from myPython.pool.embed import EmbedOptions, embed_items
    from myPython.retrieval.extractor import DescriptorExtractor
    from myPython.retrieval.models import load_model

    write_clip(tmp_path / "v.mp4", frames=300, fps=10, seed=8)
    spec = load_model()
    settings = spec.settings(S=256, L=1)
    extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, settings, output=spec.output)
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


# ---- skips: transient ones are retried, others when the file changes --------------------------------
def test_transient_and_changed_skips_are_retried_by_the_next_run(tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    (pool / "good.jpg").write_bytes(jpeg(1))
    (pool / "link.jpg").symlink_to(pool / "later.jpg")  # broken for now: transient
    (pool / "broken.jpg").write_bytes(b"not a picture")  # permanent until the file changes
    store = tmp_path / "store"
    first = cli("embed", str(pool), "--out", str(store), *FAST)
    assert "1 input(s) embedded" in first.stdout and "2 skipped" in first.stdout
    same = cli("embed", str(pool), "--out", str(store), *FAST)
    assert "0 input(s) embedded" in same.stdout and markers(store) == 1  # nothing new to record
    (pool / "later.jpg").write_bytes(jpeg(2))
    (pool / "broken.jpg").write_bytes(jpeg(3))
    fixed = cli("embed", str(pool), "--out", str(store), *FAST)
    assert "3 input(s) embedded" in fixed.stdout and "0 skipped" in fixed.stdout, fixed.stdout
    assert sorted(check_store(store)[0]) == ["broken.jpg", "good.jpg", "later.jpg", "link.jpg"]
    assert DescriptorStore.open(store).skipped() == []


# ---- huge images: decoded reduced, or refused with a reason -----------------------------------------
def png16_rgba(width: int, height: int, band: int = 64) -> bytes:
    """A 16-bit RGBA PNG of smooth stripes: bands of `band` equal rows (PNG's "Up" filter makes the
    repeated rows zeros), compressed as it goes; never held decoded."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

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
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


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
    script = ("import resource, sys\nfrom myPython.apps.cli import main\ncode = main(sys.argv[1:])\n"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\nsys.exit(code)")
    run = subprocess.run([sys.executable, "-c", script, "embed", str(tmp_path / "pool"), "--out",
                          str(tmp_path / "s"), *FAST], cwd=ROOT, capture_output=True, text=True, timeout=900,
                         env={**os.environ, "GLOG_minloglevel": "2"})
    assert run.returncode == 0, run.stderr
    assert "1 input(s) embedded into 1 row(s)" in run.stdout
    peak_mb = int(run.stdout.split()[-1]) / 1024
    assert peak_mb < 1500, f"peak RSS {peak_mb:.0f} MB"  # a full 16-bit RGBA decode alone is 1290 MB


# ---- arguments: one line, before any work ---------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["embed", "P", "--out", "S", "--fps", "0"], "--fps must be > 0"),
    (["embed", "P", "--out", "S", "--fps", "nan"], "--fps must be > 0"),
    (["embed", "P", "--out", "S", "--batch", "0"], "--batch must be >= 1"),
    (["embed", "P", "--out", "S", "--S", "0"], "--S must be >= 32"),
    (["embed", "P", "--out", "S", "--S", "100000"], "--S must be >= 32 and <= 2048"),
    (["embed", "P", "--out", "S", "--S", "1900", "--multires"], "every scale must lie in [32, 2048]"),
    (["embed", "P", "--out", "S", "--shard-size", "0"], "--shard-size must be >= 1"),
    (["embed", "P", "--out", "S", "--max-frames", "0"], "--max-frames must be >= 1"),
    (["search", "--db", "D", "--out", "M", "--top-k", "0"], "--top-k must be >= 1"),
    (["search", "--db", "D", "--out", "M", "--threshold", "nan"], "--threshold must be >= -1 and <= 1, got nan"),
    (["search", "--db", "D", "--out", "M", "--threshold", "1.5"], "--threshold must be >= -1 and <= 1"),
    (["search", "--db", "D", "--out", ".", "--top-k", "3"], "--out . is a folder"),
    (["group", "--db", "D", "--out", "G", "--threshold", "inf"], "--threshold must be"),
    (["threshold-study", "--mapped", "M", "--truth", "T", "--step", "0"], "--step must be > 0"),
    (["threshold-study", "--mapped", "M", "--truth", "T", "--step", "1e-9"], "more than 100000 thresholds"),
    (["threshold-study", "--mapped", "M", "--truth", "T", "--low", "0.9", "--high", "0.2"], "is above --high"),
])
def test_bad_arguments_get_one_line_before_any_work(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert message in line and line.startswith(f"deep-retrieval {args[0]}: error: ")
    assert list(tmp_path.iterdir()) == []  # nothing made


def test_search_out_to_a_folder_leaves_nothing_behind(long_clean, tmp_path):
    (tmp_path / "folder").mkdir()
    result = cli("search", "--db", str(long_clean[0]), "--out", str(tmp_path / "folder"))
    assert result.returncode == 2 and "is a folder" in result.stderr
    assert list(tmp_path.rglob("*")) == [tmp_path / "folder"]
