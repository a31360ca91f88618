"""Importing pycaffe, choosing the device and loading nets, with one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

# Caffe logs every layer it builds; keep warnings and errors only unless asked.
os.environ.setdefault("GLOG_minloglevel", "2")

try:
    import caffe  # noqa: E402
    from caffe.proto import caffe_pb2  # noqa: E402
except ImportError as exc:  # pragma: no cover - only without the built Caffe
    raise ImportError(
        "pycaffe is not importable: run `make install` (it builds Caffe into .venv)"
    ) from exc

from google.protobuf import text_format  # noqa: E402


class ModelError(ValueError):
    """A prototxt or caffemodel that cannot be used, with the file named."""


def build_info() -> dict[str, Any]:
    """Flags of the installed Caffe build (written by caffe_ext/build.sh)."""
    path = Path(caffe.__file__).with_name("build_info.json")
    return json.loads(path.read_text()) if path.exists() else {}


def gpu_count() -> int:
    """Number of CUDA devices visible to this process (0 without a driver)."""
    if shutil.which("nvidia-smi") is None:
        return 0
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


def set_device(gpu: int | None) -> str:
    """Select CPU (gpu None or < 0) or a GPU; never let Caffe abort the process."""
    if gpu is None or gpu < 0:
        caffe.set_mode_cpu()
        return "cpu"
    if not build_info().get("gpu"):
        raise RuntimeError(
            f"--gpu {gpu}: this Caffe was built for CPU only; rebuild with `make install GPU=1` or use --cpu"
        )
    count = gpu_count()
    if gpu >= count:
        raise RuntimeError(f"--gpu {gpu}: no such CUDA device (found {count}); use --cpu")
    caffe.set_device(gpu)
    caffe.set_mode_gpu()
    return f"gpu:{gpu}"


def read_prototxt(path: str | Path, message, kind: str = "prototxt"):
    """Parse a text protobuf (net or solver) into `message`, naming the file in any error."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: {kind} not found")
    try:
        text_format.Merge(path.read_text(), message)
    except (text_format.ParseError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: not a valid {kind} ({exc})") from None
    return message


def read_net_param(proto: str | Path) -> caffe_pb2.NetParameter:
    """Parse a net prototxt, naming the file in any error."""
    return read_prototxt(proto, caffe_pb2.NetParameter())


def read_weights(weights: str | Path) -> caffe_pb2.NetParameter:
    """Parse a binary caffemodel, naming the file in any error."""
    path = Path(weights)
    if not path.is_file():
        raise ModelError(f"{path}: caffemodel not found")
    net = caffe_pb2.NetParameter()
    try:
        net.ParseFromString(path.read_bytes())
    except Exception as exc:  # protobuf raises DecodeError or RuntimeWarning-like errors
        raise ModelError(f"{path}: not a caffemodel ({type(exc).__name__})") from None
    if not net.layer and not net.layers:
        raise ModelError(f"{path}: not a caffemodel (no layers)")
    return net


def _param_shapes(net: caffe_pb2.NetParameter) -> dict[str, list[tuple[int, ...]]]:
    shapes = {}
    for layer in net.layer:
        if layer.blobs:
            shapes[layer.name] = [tuple(b.shape.dim) if b.HasField("shape") else
                                  tuple(d for d in (b.num, b.channels, b.height, b.width)) for b in layer.blobs]
    return shapes


def check_compatible(proto: str | Path, weights: str | Path, net: caffe.Net) -> None:
    """Fail with one line when the caffemodel does not fit the prototxt.

    Caffe silently leaves layers at their fillers when names differ, and aborts
    the process when shapes differ; both are checked here first.
    """
    stored = _param_shapes(read_weights(weights))
    missing = [name for name, blobs in net.params.items() if name not in stored]
    if missing:
        raise ModelError(
            f"{weights}: does not match {proto}: no weights for layer(s) {', '.join(missing[:5])}"
            + (" ..." if len(missing) > 5 else "")
        )
    for name, blobs in net.params.items():
        want = [tuple(b.data.shape) for b in blobs]
        have = stored[name]
        if len(want) != len(have) or any(int(np.prod(w)) != int(np.prod(h)) for w, h in zip(want, have)):
            raise ModelError(
                f"{weights}: does not match {proto}: layer {name} has blobs {have}, the prototxt expects {want}"
            )


def load_net(proto: str | Path, weights: str | Path | None = None, phase: int | None = None) -> caffe.Net:
    """caffe.Net from a prototxt (and caffemodel) with one-line errors for bad files."""
    param = read_net_param(proto)  # clear parse errors before Caffe's fatal ones
    known = set(caffe.layer_type_list())
    for layer in param.layer:
        if layer.type not in known:
            raise ModelError(f"{proto}: layer {layer.name} has type {layer.type}, which this Caffe does not have")
    phase = caffe.TEST if phase is None else phase
    if weights is None:
        return caffe.Net(str(proto), phase)
    read_weights(weights)
    net = caffe.Net(str(proto), phase)
    check_compatible(proto, weights, net)
    net.copy_from(str(weights))
    return net


def forward_regions(net: caffe.Net, data: np.ndarray, levels: int, end: str | None = None) -> np.ndarray:
    """Forward one prepared image (3 x H x W) with its R-MAC grid as `rois`; returns the rois used.

    For tools that read blobs other than the descriptor (regional features, branch taps).
    """
    from myPython.retrieval.grid import rmac_rois

    batch = data[None] if data.ndim == 3 else data
    rois = rmac_rois(batch.shape[2], batch.shape[3], levels, len(batch))
    net.blobs["data"].reshape(*batch.shape)
    net.blobs["rois"].reshape(*rois.shape)
    net.blobs["data"].data[...] = batch
    net.blobs["rois"].data[...] = rois
    net.forward(end=end)
    return rois
