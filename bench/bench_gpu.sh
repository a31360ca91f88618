#!/usr/bin/env bash
# `make bench-gpu`: build Caffe with CUDA (cached, not installed over the CPU build),
# then compare and time GPU against CPU extraction in one short run.
set -euo pipefail
cd "$(dirname "$0")/.."
arch="${CUDA_ARCH:-90}"
out=$(bash caffe_ext/build.sh --python .venv/bin/python --gpu --cuda-arch "$arch" --no-install | tee /dev/stderr \
      | sed -n 's/.*built and cached in \(.*\) (not installed)/\1/p' | tail -1)
[ -n "$out" ] || { echo "bench-gpu: the GPU build failed" >&2; exit 1; }
PYTHONPATH="$out" .venv/bin/python bench/bench_gpu.py
