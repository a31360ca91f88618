"""A hostile pool with a long video: peak memory of `deep-retrieval embed`, and a second run that adds nothing.

Builds, in a temporary folder: two folders both called ``photos`` holding
pictures with odd names (newline, carriage return, tab, space, ``%``, ``#t=``,
non-UTF-8 bytes, a bidi override, an escape sequence), special files with
image names (a named pipe, a link to /dev/zero, a socket, a broken link), a
hidden file, and a synthetic low-resolution video of --minutes minutes
(moving texture, made with PyAV). Runs ``deep-retrieval embed`` on it with
``--shard-size 256`` in a child process and reports the child's peak RSS
(getrusage of the child), rows, shards and time, then runs the same command
again and reports what it added.

Usage: python bench/bench_hostile_pool.py [--minutes 40] [--workdir DIR] [-- extra embed arguments]
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ODD_NAMES = [b"b\nx.jpg", b"c\rd.jpg", b"t\tab.jpg", b"sp ace.jpg", b"100%.png", b"v#t=1.000.png",
             b"\xff\xfe.jpg", "\u202eevil.jpg".encode(), b"\x1b[31m.jpg", b"a.jpg"]


def picture(seed: int, h: int = 240, w: int = 320) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8), (w, h),
                      interpolation=cv2.INTER_CUBIC)


def write_long_video(path: Path, minutes: float, fps: int = 2, size: tuple[int, int] = (160, 120)) -> None:
    """A low-resolution clip whose content drifts (a new texture every 10 s)."""
    import av

    w, h = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        texture = None
        for i in range(int(minutes * 60 * fps)):
            if i % (10 * fps) == 0:
                texture = picture(i, h, w + 64)
            shift = i % 64
            image = np.ascontiguousarray(texture[:, shift : shift + w])
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def build_pool(base: Path, minutes: float) -> tuple[list[Path], socket.socket]:
    d1, d2 = base / "d1" / "photos", base / "d2" / "photos"
    d1.mkdir(parents=True)
    d2.mkdir(parents=True)
    for n, raw in enumerate(ODD_NAMES):
        with open(os.path.join(os.fsencode(d1), raw), "wb") as handle:
            handle.write(cv2.imencode(Path(os.fsdecode(raw)).suffix, picture(n))[1].tobytes())
    cv2.imwrite(str(d2 / "a.jpg"), picture(99))
    cv2.imwrite(str(d1 / ".hidden.jpg"), picture(98))
    os.mkfifo(d1 / "pipe.jpg")
    (d1 / "zero.jpg").symlink_to("/dev/zero")
    (d1 / "dangling.jpg").symlink_to(d1 / "gone.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d1 / "sock.jpg"))
    write_long_video(d2 / "long.mp4", minutes)
    return [d1, d2], sock


def embed(roots: list[Path], store: Path, extra: list[str]) -> tuple[str, float, float]:
    """(stdout, seconds, peak RSS in MB of the largest child so far)."""
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "myPython", "embed", *map(str, roots), "--out", str(store),
                          "--shard-size", "256", "--quiet", *extra], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "GLOG_minloglevel": "2"})
    if run.returncode:
        sys.exit(f"embed failed: {run.stderr.strip()}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far: first run
    return run.stdout, time.perf_counter() - start, peak / 1024


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=40.0)
    p.add_argument("--workdir", default=None)
    p.add_argument("extra", nargs="*", help="extra embed arguments (after --)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        base = Path(tmp)
        t0 = time.perf_counter()
        roots, sock = build_pool(base / "pool", args.minutes)
        print(f"pool built in {time.perf_counter() - t0:.0f} s: video of {args.minutes:g} min "
              f"({(roots[1] / 'long.mp4').stat().st_size / 2**20:.1f} MB)")
        out, seconds, peak = embed(roots, base / "store", args.extra)
        print(f"first run: {seconds:.0f} s, peak RSS {peak:.0f} MB\n{out.strip()}")
        out, seconds, _ = embed(roots, base / "store", args.extra)
        shards = len(list((base / "store" / "shards").glob("*.json")))
        print(f"second run: {seconds:.0f} s; the store holds {shards} shards\n{out.strip()}")
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
