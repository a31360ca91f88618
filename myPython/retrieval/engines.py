"""Engines that run a deploy net: data (B x 3 x H x W) + rois (R x 5) -> B x D.

* ``caffe``: pycaffe, the reference (unchanged);
* ``caffe-folded``: pycaffe on a deploy copy with BatchNorm/Scale folded into the convolutions
  (cached next to the caffemodel), BLAS threads set to the physical cores;
* ``onnxruntime``: ONNX Runtime on the net exported by `myPython.nets.onnx_export` (cached next to the
  caffemodel as ``<weights>.<key>.onnx``, checked against Caffe when it is built);
* ``onnxruntime-int8``: ONNX Runtime on the export with its trunk quantised to int8 (`myPython.retrieval.int8`);
* ``auto``: on CPU, onnxruntime-int8 when this CPU has VNNI/AMX and the model passes the int8 accuracy gate
  here, else onnxruntime when the export exists or can be built and passes the check, else caffe.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

from myPython.errors import ModelError

ENGINE_KINDS = ("auto", "caffe", "caffe-folded", "onnxruntime", "onnxruntime-int8")
# Max |ONNX - Caffe| allowed by the build-time check, relative to max(1, max |Caffe output|).
CHECK_TOLERANCE = 1e-4
CHECK_SHAPE = (2, 96, 128)  # batch, height, width of the random check input


class EquivalenceError(ModelError, RuntimeError):
    """An exported net whose outputs differ from Caffe's."""


# --------------------------------------------------------------------------------------------
# Machine
# --------------------------------------------------------------------------------------------


def physical_cores() -> int:
    """Physical cores this process may run on (hyper-threads of one core count once)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        topo = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add((topo.joinpath("physical_package_id").read_text().strip(),
                       topo.joinpath("core_id").read_text().strip()))
        except OSError:
            cores.add(("cpu", str(cpu)))
    return max(1, len(cores))


def set_blas_threads(threads: int) -> bool:
    """Set OpenBLAS's thread count in this process (the BLAS pycaffe uses); False when it is not OpenBLAS."""
    for lib in ("libopenblas.so.0", "libopenblas.so", "libopenblasp-r0.so"):
        try:
            handle = ctypes.CDLL(lib)
        except OSError:
            continue
        fn = getattr(handle, "openblas_set_num_threads", None)
        if fn is not None:
            fn(int(threads))
            return True
    return False


# --------------------------------------------------------------------------------------------
# Caches next to the caffemodel
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    from myPython.common.assets import sha256_file

    return sha256_file(path)


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, remembered per (path, size, mtime) within the process."""
    st = os.stat(path)
    return _file_sha256(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def model_key(proto: str | os.PathLike, weights: str | os.PathLike, *extra: str) -> str:
    """16 hex digits of sha256 over prototxt bytes, caffemodel hash and `extra` (exporter version, output...)."""
    digest = hashlib.sha256(Path(proto).read_bytes())
    digest.update(file_sha256(weights).encode())
    for item in extra:
        digest.update(b"\0" + item.encode())
    return digest.hexdigest()[:16]


def _cache_candidates(weights: str | os.PathLike, filename: str) -> list[Path]:
    """Where a derived file lives: next to the caffemodel, else under the project cache."""
    from myPython.common.assets import cache_dir

    return [Path(weights).parent / filename, cache_dir() / "derived" / filename]


def _cache_path(weights: str | os.PathLike, filename: str) -> Path:
    """An existing cached file, else the place to write it (the caffemodel's folder when writable)."""
    candidates = _cache_candidates(weights, filename)
    for path in candidates:
        if path.exists():
            return path
    return candidates[0] if os.access(candidates[0].parent, os.W_OK) else candidates[1]


def onnx_path_for(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized") -> Path:
    """The cached export of (proto, weights, output): ``<weights>.<sha16>.onnx`` (may not exist yet)."""
    from myPython.nets.onnx_export import EXPORTER_VERSION

    key = model_key(proto, weights, f"onnx-exporter-{EXPORTER_VERSION}", output)
    return _cache_path(weights, f"{Path(weights).name}.{key}.onnx")


def folded_paths_for(proto: str | os.PathLike, weights: str | os.PathLike) -> tuple[Path, Path]:
    """(prototxt, caffemodel) of the cached BatchNorm-folded deploy copy."""
    from myPython.nets.onnx_export import EXPORTER_VERSION

    key = model_key(proto, weights, f"fold-{EXPORTER_VERSION}")
    weights_path = _cache_path(weights, f"{Path(weights).name}.{key}.folded.caffemodel")
    return weights_path.with_name(weights_path.name[: -len(".caffemodel")] + ".prototxt"), weights_path


def ensure_folded(proto: str | os.PathLike, weights: str | os.PathLike) -> tuple[Path, Path]:
    """The BatchNorm-folded deploy copy, built on first use (and whenever prototxt or caffemodel change)."""
    from myPython.nets.folding import fold_batchnorm

    out_proto, out_weights = folded_paths_for(proto, weights)
    if not (out_proto.exists() and out_weights.exists()):
        fold_batchnorm(proto, weights, out_proto, out_weights)
    return out_proto, out_weights


# --------------------------------------------------------------------------------------------
# Caffe
# --------------------------------------------------------------------------------------------


class CaffeEngine:
    """pycaffe forward of a prototxt + caffemodel up to an output blob.

    ``fold_bn=True`` runs a cached deploy copy with BatchNorm/Scale folded into the convolutions
    (name ``caffe-folded``); ``blas_threads`` sets OpenBLAS's thread count for this process.
    """

    name = "caffe"

    def __init__(self, proto: str | os.PathLike, weights: str | os.PathLike | None,
                 output: str = "rmac/normalized", gpu: int | None = None, *, fold_bn: bool = False,
                 blas_threads: int | None = None) -> None:
        from myPython.nets.runtime import ModelError, load_net, set_device

        self.device = set_device(gpu)
        if blas_threads:
            set_blas_threads(blas_threads)
        self.source = (str(proto), weights and str(weights))
        if fold_bn:
            if weights is None:
                raise ModelError(f"{proto}: folding BatchNorm needs a caffemodel")
            proto, weights = ensure_folded(proto, weights)
            self.name = "caffe-folded"
        self.net = load_net(proto, weights)
        self.proto, self.weights, self.output = str(proto), weights and str(weights), output
        for blob in ("data", "rois"):
            if blob not in self.net.blobs:
                raise ModelError(f"{proto}: the net has no input blob '{blob}'")
        if output not in self.net.blobs:
            raise ModelError(f"{proto}: the net has no blob '{output}' (use --end/--output to pick one)")
        self.batchable = _probe_batchable(self)

    @classmethod
    def from_net(cls, net, output: str = "rmac/normalized") -> CaffeEngine:
        """An engine over a net already in memory (training-time validation keeps it updated)."""
        engine = cls.__new__(cls)
        engine.net, engine.output, engine.device = net, output, "current"
        engine.proto = engine.weights = None
        engine.source = (None, None)
        engine.batchable = _probe_batchable(engine)
        return engine

    def forward(self, data: np.ndarray, rois: np.ndarray) -> np.ndarray:
        from myPython.nets.runtime import feed_net

        out = feed_net(self.net, data, rois, self.output)
        return np.array(out.reshape(out.shape[0], -1), dtype=np.float32)


def _probe_batchable(engine) -> bool:
    from myPython.rmac.grid import rmac_rois

    data = np.zeros((2, 3, 64, 64), dtype=np.float32)
    return len(engine.forward(data, rmac_rois(64, 64, 1, 2))) == 2


# --------------------------------------------------------------------------------------------
# ONNX Runtime
# --------------------------------------------------------------------------------------------


def ort_session(model: str | os.PathLike | bytes, threads: int | None = None, spin: bool = False):
    """An ONNX Runtime CPU session tuned for this machine (intra-op threads = physical cores, all optimisations).

    Idle intra-op threads do not spin by default: on a few cores they would take CPU time from the
    decoding threads of the embed pipeline (and from other processes) for a gain of about 1%.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads or physical_cores())
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])


def _run_session(session, output: str, data: np.ndarray, rois: np.ndarray) -> np.ndarray:
    names = {i.name for i in session.get_inputs()}
    feeds = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in (("data", data), ("rois", rois)) if k in names}
    return session.run([output], feeds)[0]


def check_against_caffe(session, net, output: str, seed: int = 0) -> float:
    """Max |ONNX - Caffe| / max(1, max |Caffe|) on a small random batch (with its R-MAC rois)."""
    from myPython.rmac.grid import rmac_rois

    batch, h, w = CHECK_SHAPE
    channels = net.blobs["data"].data.shape[1] if net.blobs["data"].data.ndim > 1 else 3
    rng = np.random.default_rng(seed)
    data = rng.uniform(-120, 120, (batch, channels, h, w)).astype(np.float32)
    rois = rmac_rois(h, w, 2, batch)
    from myPython.nets.runtime import feed_net

    end = output if output in list(net._layer_names) else None
    feed_net(net, data, rois, end)
    ref = np.array(net.blobs[output].data, dtype=np.float64)
    got = _run_session(session, output, data, rois).astype(np.float64)
    if got.shape != ref.shape:
        return float("inf")
    return float(np.abs(got - ref).max(initial=0.0) / max(1.0, np.abs(ref).max(initial=0.0)))


def ensure_onnx(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized",
                threads: int | None = None) -> Path:
    """The cached ONNX export of the net, built and checked against Caffe on first use.

    Only an export that passes the check is written (atomically), so a cached file is a checked one.
    A failed check leaves ``<onnx>.failed`` with the reason and raises `EquivalenceError`.
    """
    from myPython.common.fileio import atomic_write_bytes
    from myPython.nets.onnx_export import build_onnx
    from myPython.nets.runtime import load_net, set_device

    path = onnx_path_for(proto, weights, output)
    if path.exists():
        return path
    set_device(None)
    net = load_net(proto, weights)
    model = build_onnx(proto, weights, output, net=net)
    data = model.SerializeToString()
    diff = check_against_caffe(ort_session(data, threads), net, output)
    failed = path.with_name(path.name + ".failed")
    if not diff <= CHECK_TOLERANCE:
        reason = f"{proto}: the ONNX export differs from Caffe by {diff:.3g} (> {CHECK_TOLERANCE:g}) at {output}"
        atomic_write_bytes(failed, json.dumps({"reason": reason, "diff": diff}).encode())
        raise EquivalenceError(reason)
    atomic_write_bytes(path, data)
    failed.unlink(missing_ok=True)
    return path


class OnnxRuntimeEngine:
    """ONNX Runtime (CPU) forward of the exported deploy net; batches of images are one call."""

    name = "onnxruntime"

    def __init__(self, proto: str | os.PathLike, weights: str | os.PathLike | None,
                 output: str = "rmac/normalized", *, onnx_path: str | os.PathLike | None = None,
                 threads: int | None = None) -> None:
        from myPython.nets.runtime import ModelError

        if onnx_path is None:
            if weights is None:
                raise ModelError(f"{proto}: the onnxruntime engine needs a caffemodel")
            onnx_path = ensure_onnx(proto, weights, output, threads)
        self.proto, self.weights, self.output = str(proto), weights and str(weights), output
        self.onnx_path = Path(onnx_path)
        self.threads = int(threads or physical_cores())
        self.session = ort_session(self.onnx_path, self.threads)
        names = [o.name for o in self.session.get_outputs()]
        if output not in names:
            raise ModelError(f"{self.onnx_path}: the ONNX graph has no output {output!r} (has {names})")
        self.batchable = _probe_batchable(self)

    def forward(self, data: np.ndarray, rois: np.ndarray) -> np.ndarray:
        out = _run_session(self.session, self.output, data, rois)
        return np.asarray(out.reshape(out.shape[0], -1), dtype=np.float32)

    def with_threads(self, threads: int):
        """The same engine (same ONNX file) with `threads` intra-op threads. Its descriptors are bit-identical
        whatever the threads (MLAS splits a product over its rows and columns, never over the sum)."""
        return type(self)(self.proto, self.weights, self.output, onnx_path=self.onnx_path, threads=threads)


# --------------------------------------------------------------------------------------------
# Choosing
# --------------------------------------------------------------------------------------------


def _auto_onnx(proto, weights, output):
    """OnnxRuntimeEngine when usable on this machine, else None (with the reason on stderr)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    try:
        path = onnx_path_for(proto, weights, output)
        if not path.exists() and path.with_name(path.name + ".failed").exists():
            return None
        return OnnxRuntimeEngine(proto, weights, output=output)
    except Exception as exc:  # any export or check failure: the reference engine still works
        print(f"engine auto: using caffe ({type(exc).__name__}: {exc})", file=sys.stderr)
        return None


def open_engine(kind: str, proto: str | os.PathLike, weights: str | os.PathLike | None, *,
                output: str = "rmac/normalized", gpu: int | None = None, settings=None, threads: int | None = None):
    """Engine by name: 'caffe' (the reference), 'caffe-folded', 'onnxruntime', 'onnxruntime-int8' (CPU) or 'auto'.

    `threads`: CPU threads of a named CPU engine (None: the engine's default, every core); a Ray actor passes the
    CPUs it reserved.

    'auto' picks, on CPU, onnxruntime-int8 when the CPU has VNNI/AMX and the model passes the int8
    accuracy gate on it with `settings` (an `ExtractionSettings`; None: the model's own), with one line
    on stderr saying why not otherwise (`int8.auto_int8`); else onnxruntime when the net's ONNX export
    exists or can be built and matches Caffe on a small random input, and caffe otherwise (GPU, no
    caffemodel, unsupported layers).
    """
    on_gpu = gpu is not None and gpu >= 0
    if kind == "caffe":
        return CaffeEngine(proto, weights, output=output, gpu=gpu, blas_threads=None if on_gpu else threads)
    if kind == "caffe-folded":
        return CaffeEngine(proto, weights, output=output, gpu=gpu, fold_bn=True,
                           blas_threads=None if on_gpu else threads or physical_cores())
    if kind == "onnxruntime":
        if on_gpu:
            raise ValueError("engine onnxruntime runs on the CPU; use --engine caffe with --gpu")
        return OnnxRuntimeEngine(proto, weights, output=output, threads=threads)
    if kind == "onnxruntime-int8":
        if on_gpu:
            raise ValueError("engine onnxruntime-int8 runs on the CPU; use --engine caffe with --gpu")
        from myPython.retrieval.int8 import Int8Engine

        return Int8Engine(proto, weights, output=output, threads=threads)
    if kind == "auto":
        engine = None if on_gpu or weights is None else _auto_onnx(proto, weights, output)
        if engine is not None:
            from myPython.retrieval.int8 import auto_int8

            engine = auto_int8(proto, weights, output, settings) or engine
        return engine or CaffeEngine(proto, weights, output=output, gpu=gpu)
    raise ValueError(f"unknown engine {kind!r} (available: {', '.join(ENGINE_KINDS)})")
