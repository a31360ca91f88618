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

from myPython.errors import ModelError  # noqa: E402,F401  (re-exported: tools catch it from here)


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


def blob_shape(blob: caffe_pb2.BlobProto) -> tuple[int, ...]:
    """Declared shape of a BlobProto (new `shape` field or the legacy num/channels/height/width)."""
    if blob.HasField("shape"):
        return tuple(int(d) for d in blob.shape.dim)
    return tuple(int(d) for d in (blob.num, blob.channels, blob.height, blob.width))


def caffemodel_shapes(weights: str | Path) -> dict[str, list[tuple[int, ...]]]:
    """Layer name -> blob shapes of a caffemodel (layers without blobs are left out)."""
    model = read_weights(weights)
    return {layer.name: [blob_shape(b) for b in layer.blobs]
            for layer in list(model.layer) or list(model.layers) if len(layer.blobs)}


def net_shapes(net: caffe.Net) -> dict[str, list[tuple[int, ...]]]:
    """Layer name -> parameter blob shapes of a loaded net."""
    return {name: [tuple(b.data.shape) for b in blobs] for name, blobs in net.params.items()}


def copy_weights_checked(net: caffe.Net, weights: str | Path, *, require_all: bool = True,
                         proto: str | Path | None = None) -> list[str]:
    """`net.copy_from(weights)` after checking, with one-line errors, what Caffe would abort on or ignore.

    Caffe aborts the process when blob sizes differ and silently keeps fillers for
    layers the caffemodel lacks. Returns the net's parameter layers without weights
    (an error instead when `require_all`).
    """
    stored = caffemodel_shapes(weights)
    against = f" {proto}" if proto is not None else " the net"
    missing = [name for name in net.params if name not in stored]
    if missing and require_all:
        raise ModelError(f"{weights}: does not match{against}: no weights for layer(s) {', '.join(missing[:5])}"
                         + (" ..." if len(missing) > 5 else ""))
    for name, want in net_shapes(net).items():
        have = stored.get(name)
        if have is not None and (len(have) != len(want)
                                 or any(int(np.prod(a)) != int(np.prod(b)) for a, b in zip(have, want))):
            raise ModelError(f"{weights}: does not match{against}: layer {name} has blobs {have}, "
                             f"the prototxt expects {want}")
    net.copy_from(str(weights))
    return missing


def load_net(proto: str | Path, weights: str | Path | None = None, phase: int | None = None, *,
             require_all: bool = True) -> caffe.Net:
    """caffe.Net from a prototxt (and caffemodel) with one-line errors for bad or mismatched files.

    `require_all=False` accepts a caffemodel that fills only some layers (initialising a training net).
    """
    param = read_net_param(proto)  # clear parse errors before Caffe's fatal ones
    known = set(caffe.layer_type_list())
    for layer in param.layer:
        if layer.type not in known:
            raise ModelError(f"{proto}: layer {layer.name} has type {layer.type}, which this Caffe does not have")
    net = caffe.Net(str(proto), caffe.TEST if phase is None else phase)
    if weights is not None:
        copy_weights_checked(net, weights, require_all=require_all, proto=proto)
    return net


def save_net(net: caffe.Net, weights: str | Path) -> Path:
    """Save a net's parameters as a caffemodel, atomically."""
    from myPython.common.fileio import atomic_write_with

    atomic_write_with(weights, lambda tmp: net.save(str(tmp)))
    return Path(weights)


def feed_net(net: caffe.Net, data: np.ndarray, rois: np.ndarray | None = None, end: str | None = None
             ) -> np.ndarray:
    """Reshape the `data` (and `rois`) inputs to the arrays, copy them in, run forward (up to `end`).

    Returns the blob `end` (the net's last output when None); the one place nets are fed.
    """
    inputs = {"data": data} if rois is None else {"data": data, "rois": rois}
    for name, array in inputs.items():
        net.blobs[name].reshape(*array.shape)
        net.blobs[name].data[...] = array
    outputs = net.forward(end=end)
    return outputs[end] if end in outputs else net.blobs[end or net.outputs[0]].data


def forward_regions(net: caffe.Net, data: np.ndarray, levels: int, end: str | None = None) -> np.ndarray:
    """Forward one prepared image (3 x H x W) with its R-MAC grid as `rois`; returns the rois used.

    For tools that read blobs other than the descriptor (regional features, branch taps).
    """
    from myPython.rmac.grid import rmac_rois

    batch = data[None] if data.ndim == 3 else data
    rois = rmac_rois(batch.shape[2], batch.shape[3], levels, len(batch))
    feed_net(net, batch, rois, end)
    return rois
