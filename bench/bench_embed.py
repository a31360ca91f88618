"""`make bench`: `embed` rows per second before and after the cheaper embedding, side by side in one run.

The same inputs are embedded twice per repetition, alternating (so that load on the machine hits both alike):

* before: fp32 ONNX Runtime; every video frame decoded; RootSIFT of the 256 strongest keypoints, detected and
  described together (pool/verify.py before the keypoints were spread);
* after: `--engine auto` (int8 where the install measured that it pays on this CPU); video frames sampled from
  reference frames (pool/video.py); 128 keypoints spread over a 4 x 4 grid, chosen from one SIFT pass that
  detects and describes the candidates, stored as sign bits (pool/rootsift_bits.py); one single-threaded
  forward a core at once (pool/embed.py ParallelForward).

Inputs: a 60 s 1280x720 30 fps H.264 clip (libx264 defaults: B frames) panning over a training photo, sampled at
1 fps, and 40 training photos. Prints rows per second of each, the ratio, and each stage alone (decode per kept
frame, local features per row, forward per row).

    .venv/bin/python bench/bench_embed.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from myPython.pool import verify  # noqa: E402

CLIP_SECONDS, CLIP_RATE, WIDTH, HEIGHT = 60, 30, 1280, 720
PHOTOS = 40
BEFORE_SIDE = 512  # the first features' long side (verify.FEATURE_SIDE is 384 now)


def strongest_features(image: np.ndarray) -> np.ndarray:
    """The first local features: the 256 strongest keypoints by response, detected and described together, stored
    as 128 RootSIFT bytes and float16 positions (132 bytes a keypoint)."""
    keep, width = 256, 132
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    scale = BEFORE_SIDE / max(grey.shape[:2])
    if scale != 1:
        grey = cv2.resize(grey, (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    sift = cv2.SIFT_create(nfeatures=keep, contrastThreshold=verify.CONTRAST_THRESHOLD)
    keypoints, desc = sift.detectAndCompute(grey, None)
    packed = np.zeros((keep, width), np.uint8)
    geometry = np.full((keep, 2), np.nan, np.float16)
    if desc is not None and len(keypoints):
        order = np.argsort([-k.response for k in keypoints], kind="stable")[: keep]
        d = desc[order].astype(np.float32)
        root = np.sqrt(d / np.maximum(d.sum(axis=1, keepdims=True), 1e-7))
        packed[: len(order), :128] = np.clip(np.round(root * 512), 0, 255).astype(np.uint8)
        geometry[: len(order)] = np.array([keypoints[i].pt for i in order], np.float32) / BEFORE_SIDE
    packed[:, 128:] = geometry.view(np.uint8).reshape(keep, 4)
    return packed


def make_clip(path: Path, photo: np.ndarray) -> Path:
    import av

    canvas = cv2.resize(photo, (2 * WIDTH, 2 * HEIGHT))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=CLIP_RATE)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for n in range(CLIP_SECONDS * CLIP_RATE):
            x = int((WIDTH - 1) * n / (CLIP_SECONDS * CLIP_RATE))
            y = int(HEIGHT / 2 * (1 + np.sin(n / 90)))
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(canvas[y : y + HEIGHT, x : x + WIDTH]),
                                               format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def run_embed(inputs: list[Path], out: Path, spec, extractor, after: bool) -> tuple[int, float]:
    """(rows, seconds) of one embed run with the before or after path."""
    from myPython.pool.embed import EmbedOptions
    from myPython.pool.jobs import embed

    saved = verify.local_features
    if not after:
        verify.local_features = strongest_features  # embed looks it up at each row
    try:
        start = time.perf_counter()
        # the first release ran one forward at a time on every core
        options = EmbedOptions(local_features=True, reference_frames=after, **({} if after else {"forward_workers": 1}))
        report = embed(inputs, out, spec, extractor, options)
        return report.rows, time.perf_counter() - start
    finally:
        verify.local_features = saved


def _median_ms(run, count: int, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(1000 * (time.perf_counter() - start) / count)
    return statistics.median(times)


def stage_times(clip: Path, photos: list[np.ndarray], extractors: dict) -> dict[str, tuple[float, float]]:
    """(before, after) ms of each stage, the median of 3 runs: decode per kept frame, local features per row,
    descriptor per row."""
    from myPython.pool.video import FrameReader

    frames = [f.image for f in FrameReader(clip, 1.0)]
    images = photos[:10] + frames[:10]
    for extractor in extractors.values():
        extractor.describe_batch(images[:2])  # warm up
    stages = {"decode (ms per kept 720p frame)": [lambda ref=ref: list(FrameReader(clip, 1.0, reference_only=ref))
                                                  for ref in (False, True)],
              "local features (ms per row)": [lambda f=f: [f(image) for image in images]
                                              for f in (strongest_features, verify.local_features)],
              "descriptor (ms per row)": [lambda e=extractors[name]: e.describe_batch(images)
                                          for name in ("before", "after")]}
    counts = {"decode (ms per kept 720p frame)": len(frames)}
    return {stage: tuple(_median_ms(run, counts.get(stage, len(images))) for run in runs)
            for stage, runs in stages.items()}


def main(argv: list[str] | None = None) -> int:
    from myPython.common.images import load_image
    from myPython.datasets import sources
    from myPython.retrieval.extractor import DescriptorExtractor
    from myPython.retrieval.models import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    spec = load_model()
    extractors = {"before": DescriptorExtractor.from_files(spec.proto, spec.weights, spec.settings(),
                                                           engine="onnxruntime"),
                  "after": DescriptorExtractor.from_files(spec.proto, spec.weights, spec.settings(), engine="auto")}
    print(f"bench-embed: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s); load average "
          f"{os.getloadavg()[0]:.2f}; engines: before {extractors['before'].engine.name}, after "
          f"{extractors['after'].engine.name}")
    train = sources.photos("train")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clip = make_clip(root / "pan720.mp4", load_image(train[0].path))
        photo_dir = root / "photos"
        photo_dir.mkdir()
        photos = []
        for n, photo in enumerate(train[1 : PHOTOS + 1]):
            image = load_image(photo.path)
            photos.append(image)
            cv2.imwrite(str(photo_dir / f"p{n:03d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        results: dict[tuple[str, str], list[float]] = {}
        for rep in range(args.repeat):
            for kind, inputs in (("720p video at 1 fps", [clip]), ("photos", [photo_dir])):
                for name in ("before", "after") if rep % 2 == 0 else ("after", "before"):
                    rows, seconds = run_embed(inputs, root / f"store-{rep}-{kind[:5]}-{name}", spec,
                                              extractors[name], name == "after")
                    results.setdefault((kind, name), []).append(rows / seconds)
        print(f"{'input':<22}{'before rows/s':>15}{'after rows/s':>15}{'ratio':>8}")
        for kind in ("720p video at 1 fps", "photos"):
            before = statistics.median(results[(kind, "before")])
            after = statistics.median(results[(kind, "after")])
            print(f"{kind:<22}{before:>15.2f}{after:>15.2f}{after / before:>8.2f}")
        print(f"{'stage':<34}{'before':>10}{'after':>10}")
        for stage, (before, after) in stage_times(clip, photos, extractors).items():
            print(f"{stage:<34}{before:>10.1f}{after:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
