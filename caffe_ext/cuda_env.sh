#!/usr/bin/env bash
# Prints the CMake flags that point Caffe's CUDA build at nvcc, cuBLAS and cuRAND.
# The system's cuBLAS/cuRAND are used when the toolkit has them; otherwise the
# headers and libraries of the PyPI wheels nvidia-cublas and nvidia-curand are
# installed into the cache (no registry host is named here: pip uses the
# machine's own index configuration).
#   caffe_ext/cuda_env.sh PYTHON
set -euo pipefail
python="$1"
nvcc=$(command -v nvcc || true)
[ -n "$nvcc" ] || { echo "cuda_env.sh: nvcc not found: install the CUDA toolkit for GPU=1" >&2; exit 1; }
cuda_root=$(cd "$(dirname "$(readlink -f "$nvcc")")/.." && pwd)
[ -f "$cuda_root/include/cuda_runtime.h" ] || cuda_root=/usr/local/cuda
flags="-DCUDA_TOOLKIT_ROOT_DIR=$cuda_root"
if [ -f "$cuda_root/include/cublas_v2.h" ] && ls "$cuda_root"/lib64/libcublas.so >/dev/null 2>&1 \
   && ls "$cuda_root"/lib64/libcurand.so >/dev/null 2>&1; then
  echo "$flags"
  exit 0
fi
cache_root="${DEEP_RETRIEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/deep-retrieval}"
extra="$cache_root/cuda-wheels"
if [ ! -f "$extra/.complete" ]; then
  echo "[caffe] installing cuBLAS/cuRAND from the nvidia-cublas and nvidia-curand wheels into $extra" >&2
  rm -rf "$extra"
  "$python" -m pip install -q --no-deps --target "$extra/site" "nvidia-cublas==13.10.*" "nvidia-curand==10.4.*" >&2
  mkdir -p "$extra/lib"
  for lib in "$extra"/site/nvidia/cu13/lib/*.so.*; do
    base=$(basename "$lib")
    ln -sf "$lib" "$extra/lib/$base"
    ln -sf "$lib" "$extra/lib/${base%%.so.*}.so"
  done
  ln -sfn "$extra/site/nvidia/cu13/include" "$extra/include"
  touch "$extra/.complete"
fi
echo "$flags -DCMAKE_LIBRARY_PATH=$extra/lib" \
     "-DCMAKE_CXX_FLAGS=-I$extra/include -DCUDA_NVCC_FLAGS=-I$extra/include -DCUDA_EXTRA_RPATH=$extra/lib"
