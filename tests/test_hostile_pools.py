"""Hostile pools: odd names, special files, same-named roots, roots added later, retried skips, bad arguments
(long videos, damaged stores and huge images: test_streaming_and_integrity.py)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_scale_robustness import ROOT, check_store, cli, markers, textured

from myPython.apps.cli import main
from myPython.common.ids import check_id, escape, frame_id, printable, split_row_id, unescape
from myPython.pool.inputs import expand_inputs, path_of
from myPython.pool.search import format_mapped_line, parse_mapped_line, read_mapped
from myPython.pool.store import DescriptorStore

FAST = ["--S", "64", "--L", "1", "--quiet", "--engine", "onnxruntime"]  # fp32 on every CPU (`auto`: int8 on some)
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
    # A writer waits on the FIFO: opening it to read would not block (the writer answers with a picture and
    # closes), but the writer would see it. Whether the runs opened the FIFO is told by that, not by a timing.
    opened, released = threading.Event(), threading.Event()

    def writer() -> None:
        with open(d1 / "fifo.jpg", "wb") as fifo:  # blocks until someone opens the FIFO to read
            if not released.is_set():
                opened.set()
                fifo.write(jpeg(52))

    watcher = threading.Thread(target=writer, daemon=True)
    watcher.start()
    (d1 / "zero.jpg").symlink_to("/dev/zero")
    (d1 / "dangling.jpg").symlink_to(d1 / "gone.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d1 / "sock.jpg"))
    (d1 / "linked").symlink_to(d2, target_is_directory=True)
    store = base / "store"
    first = cli("embed", str(d1), str(d2), "--out", str(store), *FAST, timeout=600)
    second = cli("embed", str(d1), str(d2), "--out", str(store), *FAST, timeout=600)
    sock.close()
    fifo_opened = opened.is_set()
    released.set()
    os.close(os.open(d1 / "fifo.jpg", os.O_RDONLY | os.O_NONBLOCK))  # lets the writer go
    watcher.join(timeout=10)
    return base, store, regular, first, second, fifo_opened


def test_hostile_pool_embeds_every_regular_file_under_its_own_id(hostile):
    base, store, regular, first, _, _ = hostile
    assert first.returncode == 0, first.stderr
    ids, _ = check_store(store)
    assert sorted(ids) == sorted(regular.values())
    labels = DescriptorStore.open(store).root_labels()
    for path, ident in regular.items():  # every id leads back to its file
        assert os.path.samefile(path_of(ident, labels), path)


def test_special_and_left_out_files_are_reported_with_reasons_without_blocking(hostile):
    base, store, _, first, _, fifo_opened = hostile
    report = json.loads((store / "report.json").read_text())
    reasons = {Path(s["input"]).name: s["reason"] for s in report["skipped"]}
    assert "named pipe" in reasons["fifo.jpg"] and "character device" in reasons["zero.jpg"]
    assert "socket" in reasons["sock.jpg"] and "broken symbolic link" in reasons["dangling.jpg"]
    assert "hidden file" in reasons[".hidden.jpg"] and "symbolic link to a folder" in reasons["linked"]
    assert all(r.isprintable() for r in reasons.values())
    assert not fifo_opened  # the FIFO was never opened: without a writer, that would block the run forever


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
    binary = (".npy", ".npz")  # arrays, and the graph's shared-content entries
    files = [p for p in store.rglob("*") if p.is_file() and p.suffix not in binary and p.name != ".writer.lock"]
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


def _as_plain_user(args: list[str]) -> list[str]:
    """`args` run so that file permissions apply: as root, without the capabilities that bypass them (root still
    reads its own cache, which its owner bits allow; a mode-0 file or folder is refused as for any user)."""
    if os.geteuid() != 0:
        return args
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to test unreadable files as root"
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *args]


def test_unreadable_files_and_folders_are_reported_then_embedded_once_readable(tmp_path):
    pool = tmp_path / "pool"
    (pool / "locked").mkdir(parents=True)
    (pool / "locked" / "inner.jpg").write_bytes(jpeg(1))
    (pool / "shut.jpg").write_bytes(jpeg(2))
    (pool / "locked").chmod(0)
    (pool / "shut.jpg").chmod(0)
    store = tmp_path / "store"
    try:
        first = subprocess.run(_as_plain_user([sys.executable, "-m", "myPython", "embed", str(pool), "--out",
                                               str(store), *FAST]), cwd=ROOT, capture_output=True, text=True)
        assert first.returncode == 0, first.stderr
        skipped = json.loads((store / "report.json").read_text())["skipped"]
        reasons = {Path(s["input"]).name: s["reason"] for s in skipped}
        assert "folder not readable" in reasons["locked"] and "permission denied" in reasons["shut.jpg"], first.stdout
    finally:
        (pool / "locked").chmod(0o755)
        (pool / "shut.jpg").chmod(0o644)
    again = cli("embed", str(pool), "--out", str(store), *FAST)
    assert "2 input(s) embedded" in again.stdout, again.stdout
    assert sorted(check_store(store)[0]) == ["locked/inner.jpg", "shut.jpg"]


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


def test_search_out_to_a_folder_leaves_nothing_behind(hostile, tmp_path):
    (tmp_path / "folder").mkdir()
    result = cli("search", "--db", str(hostile[1]), "--out", str(tmp_path / "folder"))
    assert result.returncode == 2 and "is a folder" in result.stderr
    assert list(tmp_path.rglob("*")) == [tmp_path / "folder"]
