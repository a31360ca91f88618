#!/usr/bin/env bash
# Builds BVLC Caffe (Debian's source package: the last BVLC master plus
# Debian's patches) with the project's patches and layers, and installs
# pycaffe into a Python environment.
#
#   caffe_ext/build.sh --python .venv/bin/python [--gpu] [--cuda-arch "90"] [--no-install]
#
# Every input (source, patches, layers, flags, Python and numpy versions) is
# hashed; a build with the same hash is taken from the cache
# (${DEEP_RETRIEVAL_CACHE:-$XDG_CACHE_HOME/deep-retrieval}/caffe/<hash>).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=""
gpu=0
cuda_arch="${CUDA_ARCH:-90}"
jobs="${JOBS:-$(nproc)}"
install=1
while [ $# -gt 0 ]; do
  case "$1" in
    --python) python="$2"; shift 2 ;;
    --gpu) gpu=1; shift ;;
    --cuda-arch) cuda_arch="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --no-install) install=0; shift ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$python" ] || { echo "build.sh: --python PATH is required" >&2; exit 2; }
case "$python" in /*) ;; *) python="$(cd "$(dirname "$python")" && pwd)/$(basename "$python")" ;; esac

CAFFE_VERSION="1.0.0+git20180821.99bd997-8"
ORIG_TARBALL="caffe_1.0.0+git20180821.99bd997.orig.tar.gz"
ORIG_SHA256="e0eb3f06794f7402c77b7dec8e8480273ee1a1bb192e9122b621a69d4147ad0c"
DEBIAN_SUITE="bullseye"
cache_root="${DEEP_RETRIEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/deep-retrieval}"
mkdir -p "$cache_root/caffe"

log() { echo "[caffe] $*"; }

# ---- 1. Debian build dependencies ---------------------------------------
deps=(cmake g++ make patch patchelf libboost-dev libboost-filesystem-dev
      libboost-system-dev libboost-thread-dev libboost-python-dev libgflags-dev
      libgoogle-glog-dev libhdf5-dev liblmdb-dev libopenblas-dev
      libprotobuf-dev protobuf-compiler libsnappy-dev)
missing=()
for p in "${deps[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing build dependencies: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- 2. Source package, from the mirror this machine's apt already uses ----
src_cache="$cache_root/caffe/source"
mkdir -p "$src_cache"
if [ ! -f "$src_cache/$ORIG_TARBALL" ] || [ ! -f "$src_cache/caffe_${CAFFE_VERSION}.debian.tar.xz" ]; then
  mirror=$(bash "$here/debian_mirror.sh")
  log "fetching the caffe source package $CAFFE_VERSION ($DEBIAN_SUITE) from the configured mirror"
  apt_dir=$(mktemp -d)
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  echo "deb-src [trusted=yes] $mirror $DEBIAN_SUITE main" > "$apt_dir/sources.list"
  apt_opts=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache"
            -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update -qq
  (cd "$apt_dir" && apt-get "${apt_opts[@]}" source --download-only -qq "caffe=$CAFFE_VERSION")
  cp "$apt_dir"/caffe_* "$src_cache/"
  rm -rf "$apt_dir"
fi
echo "$ORIG_SHA256  $src_cache/$ORIG_TARBALL" | sha256sum -c --quiet - \
  || { echo "build.sh: sha256 mismatch for $ORIG_TARBALL" >&2; exit 1; }

# ---- 3. Cache key -----------------------------------------------------------
py_id=$("$python" -c 'import sys, numpy; print(sys.version.split()[0], numpy.__version__.split(".")[0])')
key=$( {
  echo "$ORIG_SHA256 $CAFFE_VERSION gpu=$gpu arch=$cuda_arch py=$py_id"
  sha256sum "$src_cache/caffe_${CAFFE_VERSION}.debian.tar.xz" | cut -d' ' -f1
  # What goes into the binary: the build script, patches and layers (plus the CUDA setup for GPU builds).
  (cd "$here" && { find build.sh patches include src -type f; [ "$gpu" = 0 ] || echo cuda_env.sh; } \
     | LC_ALL=C sort | xargs sha256sum)
} | sha256sum | cut -c1-16)
out="$cache_root/caffe/build-$key"

if [ ! -f "$out/caffe/build_info.json" ]; then
  work="$cache_root/caffe/work-$key"
  rm -rf "$work"; mkdir -p "$work"
  log "building Caffe (key $key, gpu=$gpu) in $work"
  tar xzf "$src_cache/$ORIG_TARBALL" -C "$work"
  src="$work"
  # The tarball may or may not wrap its files in a top-level folder.
  [ -d "$src/src/caffe" ] || src=$(dirname "$(dirname "$(find "$work" -maxdepth 3 -path '*/src/caffe' -type d | head -1)")")
  tar xJf "$src_cache/caffe_${CAFFE_VERSION}.debian.tar.xz" -C "$src"
  while read -r p; do
    case "$p" in ''|\#*) continue ;; esac
    patch -d "$src" -p1 -s < "$src/debian/patches/$p"
  done < "$src/debian/patches/series"
  for p in "$here"/patches/*.patch; do
    patch -d "$src" -p1 -s < "$p"
  done
  cp -r "$here/include/." "$src/include/"
  cp -r "$here/src/." "$src/src/"

  py_inc=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  py_lib=$("$python" -c 'import sysconfig, os; d=sysconfig.get_config_var; print(os.path.join(d("LIBDIR"), d("LDLIBRARY")))')
  np_inc=$("$python" -c 'import numpy; print(numpy.get_include())')
  cmake_flags=(-DCMAKE_BUILD_TYPE=Release -DBLAS=Open -DBUILD_SHARED_LIBS=ON
    -DBUILD_python=ON -DBUILD_python_layer=ON -Dpython_version=3 -DBUILD_docs=OFF
    -DBUILD_matlab=OFF -DUSE_OPENCV=OFF -DUSE_LEVELDB=OFF -DUSE_LMDB=ON -DUSE_CUDNN=OFF
    -DPYTHON_EXECUTABLE="$python" -DPYTHON_INCLUDE_DIR="$py_inc" -DPYTHON_LIBRARY="$py_lib"
    -DNUMPY_INCLUDE_DIR="$np_inc" -DCMAKE_SKIP_RPATH=TRUE)
  rpath='$ORIGIN'
  if [ "$gpu" = 1 ]; then
    cuda_flags=$(bash "$here/cuda_env.sh" "$python")
    case "$cuda_flags" in *-DCUDA_EXTRA_RPATH=*) rpath="$rpath:${cuda_flags##*-DCUDA_EXTRA_RPATH=}" ;; esac
    cuda_flags="${cuda_flags%% -DCUDA_EXTRA_RPATH=*}"
    # shellcheck disable=SC2206
    cmake_flags+=(-DCPU_ONLY=OFF -DCUDA_ARCH_NAME=Manual -DCUDA_ARCH_BIN="$cuda_arch" -DCUDA_ARCH_PTX="" $cuda_flags)
  else
    cmake_flags+=(-DCPU_ONLY=ON)
  fi
  mkdir -p "$src/build"
  (cd "$src/build" && cmake .. "${cmake_flags[@]}" > cmake.log 2>&1) \
    || { tail -40 "$src/build/cmake.log" >&2; exit 1; }
  (cd "$src/build" && make -j"$jobs" pycaffe > make.log 2>&1) \
    || { grep -B2 -A8 -m5 'error' "$src/build/make.log" >&2 || tail -40 "$src/build/make.log" >&2; exit 1; }

  stage="$out.tmp"
  rm -rf "$stage"; mkdir -p "$stage"
  cp -rL "$src/python/caffe" "$stage/caffe"
  rm -rf "$stage/caffe/test"
  cp -L "$src/build/lib/libcaffe.so.1.0.0" "$stage/caffe/"
  patchelf --set-rpath "$rpath" "$stage/caffe/_caffe.so"
  patchelf --set-rpath "$rpath" "$stage/caffe/libcaffe.so.1.0.0"
  cat > "$stage/caffe/build_info.json" <<JSON
{"caffe_source": "$CAFFE_VERSION", "orig_sha256": "$ORIG_SHA256", "gpu": $gpu,
 "cuda_arch": "$cuda_arch", "python": "$py_id", "key": "$key",
 "layers": ["ROIPooling", "Normalize", "LiftedStructSimilaritySoftmaxLoss"]}
JSON
  rm -rf "$out"; mv "$stage" "$out"
  rm -rf "$work"
  log "built $out"
fi

# ---- 4. Install into the environment -------------------------------------
if [ "$install" = 0 ]; then
  log "built and cached in $out (not installed)"
  exit 0
fi
site=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if ! cmp -s "$out/caffe/build_info.json" "$site/caffe/build_info.json" 2>/dev/null; then
  rm -rf "$site/caffe.tmp"
  cp -r "$out/caffe" "$site/caffe.tmp"
  rm -rf "$site/caffe"; mv "$site/caffe.tmp" "$site/caffe"
  log "installed pycaffe (key $key) into $site"
else
  log "pycaffe (key $key) already installed"
fi
