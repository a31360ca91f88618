"""Shared helpers of the layer tests: nets from prototxt strings, inputs, finite-difference gradient checks.

Inputs that need a gradient are `Parameter` layers (their blob needs backward without `force_backward`,
which would also push gradients into rois and labels); the others are `Input` layers. The objective
of a net is sum over its outputs of data * diff: Caffe fills the diff of a loss output with its
loss_weight, and `weight_outputs` replaces it by random weights to test non-scalar outputs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import caffe  # noqa: E402
import numpy as np  # noqa: E402

Shape = Sequence[int]


def _shape(shape: Shape) -> str:
    return "shape { " + " ".join(f"dim: {int(d)}" for d in shape) + " }"


def parameter(name: str, shape: Shape) -> str:
    """Prototxt of a learnable input blob (its gradient is computed)."""
    return f'layer {{ name: "{name}" type: "Parameter" top: "{name}" parameter_param {{ {_shape(shape)} }} }}\n'


def data_input(name: str, shape: Shape) -> str:
    """Prototxt of a plain input blob (no gradient)."""
    return f'layer {{ name: "{name}" type: "Input" top: "{name}" input_param {{ {_shape(shape)} }} }}\n'


def layer(
    name: str,
    kind: str,
    bottoms: Sequence[str],
    tops: Sequence[str],
    body: str = "",
    loss_weight: float | None = None,
    propagate_down: Sequence[bool] | None = None,
) -> str:
    """Prototxt of one layer; `body` holds its parameter messages."""
    parts = [f'name: "{name}"', f'type: "{kind}"']
    parts += [f'bottom: "{b}"' for b in bottoms] + [f'top: "{t}"' for t in tops]
    if loss_weight is not None:
        parts.append(f"loss_weight: {loss_weight}")
    parts += [f"propagate_down: {str(p).lower()}" for p in propagate_down or ()]
    return "layer { " + " ".join(parts) + (" " + body if body else "") + " }\n"


def python_layer(
    name: str,
    class_name: str,
    bottoms: Sequence[str],
    tops: Sequence[str],
    param_str: str = "",
    loss_weight: float | None = None,
    propagate_down: Sequence[bool] | None = None,
) -> str:
    """Prototxt of a `custom_layers` Python layer (param_str must not contain double quotes)."""
    body = f"python_param {{ module: 'custom_layers' layer: '{class_name}' param_str: \"{param_str}\" }}"
    return layer(name, "Python", bottoms, tops, body, loss_weight, propagate_down)


def make_net(tmp_path: Path, prototxt: str, weights: str | Path | None = None, name: str = "net") -> caffe.Net:
    """A TEST-phase CPU net from a prototxt string written to tmp_path/<name>.prototxt."""
    path = tmp_path / f"{name}.prototxt"
    path.write_text(prototxt)
    caffe.set_mode_cpu()
    if weights is None:
        return caffe.Net(str(path), caffe.TEST)
    return caffe.Net(str(path), str(weights), caffe.TEST)


def _is_parameter(net: caffe.Net, name: str) -> bool:
    return name in net.layer_dict and net.layer_dict[name].type == "Parameter"


def _storage(net: caffe.Net, name: str) -> np.ndarray:
    """Writable data of an input: a Parameter layer's own blob (its top only shares it from the first forward)."""
    return net.params[name][0].data if _is_parameter(net, name) else net.blobs[name].data


def feed(net: caffe.Net, **arrays: np.ndarray) -> None:
    """Copy arrays into the net's input blobs (reshaping plain inputs when needed)."""
    for name, value in arrays.items():
        value = np.asarray(value, dtype=np.float32)
        target = _storage(net, name)
        if target.shape != value.shape:
            if _is_parameter(net, name):
                raise ValueError(f"Parameter input {name!r} has shape {target.shape}, got {value.shape}")
            net.blobs[name].reshape(*value.shape)
            target = net.blobs[name].data
        target[...] = value


def weight_outputs(net: caffe.Net, rng: np.random.Generator, names: Sequence[str] | None = None) -> None:
    """Random objective weights (top diffs) for outputs that carry a loss_weight.

    Runs a forward first: a top that grows on reshape gets a fresh, zeroed diff.
    """
    net.forward()
    for name in names if names is not None else net.outputs:
        blob = net.blobs[name]
        blob.diff[...] = rng.uniform(-1.0, 1.0, blob.diff.shape)


def objective(net: caffe.Net) -> float:
    """Forward, then sum over outputs of data * diff in float64 (the weighted loss Caffe backpropagates)."""
    net.forward()
    return float(sum(np.sum(net.blobs[o].data.astype(np.float64) * net.blobs[o].diff) for o in net.outputs))


def analytic_gradient(net: caffe.Net, wrt: str) -> np.ndarray:
    """d objective / d input by net.backward(), as float64."""
    objective(net)
    net.backward()
    return net.blobs[wrt].diff.astype(np.float64).copy()


def numeric_gradient(
    net: caffe.Net, wrt: str, step: float = 1e-2, indices: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Central differences of the objective at the flat indices of input `wrt` (all by default)."""
    values = _storage(net, wrt).reshape(-1)
    indices = np.arange(values.size) if indices is None else indices
    grads = np.empty(len(indices))
    for n, i in enumerate(indices):
        original = values[i]
        values[i] = original + step
        plus, up = objective(net), float(values[i])
        values[i] = original - step
        minus, down = objective(net), float(values[i])
        values[i] = original
        grads[n] = (plus - minus) / (up - down)
    objective(net)
    return indices, grads


def relative_error(numeric: np.ndarray, analytic: np.ndarray, floor: float = 1e-2) -> float:
    """max |n - a| / max(|n|, |a|, floor * largest magnitude): relative, but tiny entries count absolutely."""
    scale = max(np.abs(numeric).max(initial=0.0), np.abs(analytic).max(initial=0.0), 1e-12)
    denom = np.maximum(np.maximum(np.abs(numeric), np.abs(analytic)), floor * scale)
    return float(np.max(np.abs(numeric - analytic) / denom, initial=0.0))


def gradient_error(
    net: caffe.Net,
    wrt: str,
    step: float = 1e-2,
    max_checks: int | None = 300,
    rng: np.random.Generator | None = None,
) -> float:
    """Max relative error between backward and central differences for input `wrt` (inputs already fed).

    At most `max_checks` randomly chosen entries are checked (None: all of them).
    """
    analytic = analytic_gradient(net, wrt).reshape(-1)
    indices = None
    if max_checks is not None and analytic.size > max_checks:
        rng = rng if rng is not None else np.random.default_rng(0)
        indices = rng.choice(analytic.size, max_checks, replace=False)
    indices, numeric = numeric_gradient(net, wrt, step, indices)
    return relative_error(numeric, analytic[indices])
