"""`make bench-gpu`: Caffe's CUDA path against its CPU path, on a machine with an NVIDIA GPU.

Run by bench/bench_gpu.sh with PYTHONPATH pointing at a GPU build of Caffe.
Checks that GPU descriptors equal CPU descriptors (max |d| < 1e-4) and times
extraction for the ResNet-101 R-MAC (random weights: the published ones are
not downloadable here) at 384x512 and S=800, and the default model at S=512.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from myPython.common import assets  # noqa: E402
from myPython.common.images import load_image  # noqa: E402
from myPython.retrieval.extractor import DescriptorExtractor, ExtractionSettings  # noqa: E402
from myPython.retrieval.models import load_model  # noqa: E402


def timed(extractor: DescriptorExtractor, images: list[np.ndarray], reps: int) -> tuple[np.ndarray, float]:
    out = extractor.describe_batch(images[:1])  # warm-up (allocations, cuBLAS handles)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        out = extractor.describe_batch(images)
        times.append((time.perf_counter() - start) / len(images))
    return out, statistics.median(times)


def main() -> int:
    import caffe

    from myPython.nets.random_weights import random_weights_file
    from myPython.nets.runtime import build_info, gpu_count

    if not build_info().get("gpu"):
        print("bench-gpu: PYTHONPATH does not point at a GPU build of Caffe", file=sys.stderr)
        return 2
    if gpu_count() == 0:
        print("bench-gpu: no CUDA device on this machine", file=sys.stderr)
        return 2
    images = [load_image(p) for p in assets.perception_images()[:6]]
    cache = assets.cache_dir() / "bench"
    cache.mkdir(parents=True, exist_ok=True)
    r101_proto = Path(__file__).resolve().parents[1] / "proto" / "deploy_resnet101.prototxt"
    r101_weights = cache / "resnet101_random.caffemodel"
    if not r101_weights.exists():
        random_weights_file(r101_proto, r101_weights)
    default = load_model()
    cases = [
        ("r101-384x512", r101_proto, r101_weights, ExtractionSettings(scales=(512,))),
        ("r101-S800", r101_proto, r101_weights, ExtractionSettings(S=800)),
        ("default-S512", default.proto, default.weights, default.settings(S=512)),
    ]
    print(f"device: {caffe.__file__} (build {build_info().get('key')}), {gpu_count()} GPU(s)")
    print(f"{'case':14} {'cpu s/img':>9} {'gpu s/img':>9} {'speed-up':>8} {'max|d|':>8}")
    worst = 0.0
    for name, proto, weights, settings in cases:
        cpu = DescriptorExtractor.from_files(proto, weights, settings, engine="caffe", gpu=None)
        cpu_out, cpu_t = timed(cpu, images, 1)
        del cpu
        gpu = DescriptorExtractor.from_files(proto, weights, settings, engine="caffe", gpu=0)
        gpu_out, gpu_t = timed(gpu, images, 5)
        diff = float(np.abs(cpu_out - gpu_out).max())
        worst = max(worst, diff)
        print(f"{name:14} {cpu_t:9.3f} {gpu_t:9.4f} {cpu_t / gpu_t:8.1f} {diff:8.1e}")
    print("descriptors equal" if worst < 1e-4 else "DESCRIPTORS DIFFER")
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
