"""The Python layers of `custom_layers`, driven through real caffe.Net instances."""

from __future__ import annotations

import math
from pathlib import Path

import caffe
import numpy as np
import pytest
from caffe_helpers import (
    analytic_gradient,
    data_input,
    feed,
    gradient_error,
    layer,
    make_net,
    parameter,
    python_layer,
    weight_outputs,
)

import custom_layers
from myPython.nets import layers as layers_module
from myPython.rmac.grid import rmac_rois


def test_every_layer_class_is_exported_by_the_prototxt_module():
    from myPython.training import data_layers

    names = set(layers_module.__all__) | set(data_layers.__all__)
    assert len(names) == 13
    assert {"BinDataLayer", "BinDataWithoutLabelLayer", "TripletDataLayer"} <= names
    for name in names:
        cls = getattr(custom_layers, name)
        assert issubclass(cls, caffe.Layer)


# ----------------------------------------------------------------------------------------------- Normalize


@pytest.mark.parametrize("shape", [(6, 16), (2, 5, 3, 4)])
@pytest.mark.parametrize(("param_str", "eps"), [("{}", 1e-8), ("{'eps': 0.5}", 0.5)])
def test_normalize_forward_and_backward(tmp_path: Path, shape: tuple[int, ...], param_str: str, eps: float):
    rng = np.random.default_rng(1)
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
    proto = parameter("x", shape) + python_layer("norm", "NormalizeLayer", ["x"], ["y"], param_str, loss_weight=1)
    net = make_net(tmp_path, proto)
    feed(net, x=x)
    weight_outputs(net, rng)
    expected = x / (eps + np.sqrt(np.sum(x**2, axis=1, keepdims=True)))
    np.testing.assert_allclose(net.blobs["y"].data, expected, rtol=1e-5, atol=1e-7)
    assert gradient_error(net, "x") < 1e-2


# ----------------------------------------------------------------------------------------------- Aggregate


@pytest.mark.parametrize("param_str", ["", "{}", "{'num_rois': 8}"])
@pytest.mark.parametrize("shape", [(11, 6), (11, 6, 1, 1)])
def test_aggregate_one_bottom_sums_every_region(tmp_path: Path, param_str: str, shape: tuple[int, ...]):
    rng = np.random.default_rng(2)
    x = rng.normal(size=shape)
    proto = parameter("x", shape) + python_layer("agg", "AggregateLayer", ["x"], ["y"], param_str, loss_weight=1)
    net = make_net(tmp_path, proto)
    feed(net, x=x)
    weight_outputs(net, rng)
    assert net.blobs["y"].data.shape == (1, 6, 1, 1)
    np.testing.assert_allclose(net.blobs["y"].data.reshape(-1), x.reshape(11, 6).sum(axis=0), rtol=1e-5)
    grad = analytic_gradient(net, "x").reshape(11, 6)
    np.testing.assert_array_equal(grad, np.tile(net.blobs["y"].diff.reshape(1, 6), (11, 1)))
    assert gradient_error(net, "x") < 1e-2


def aggregate_net(tmp_path: Path, regions: int, channels: int, param_str: str = ""):
    proto = (
        parameter("x", (regions, channels, 1, 1))
        + data_input("rois", (regions, 5))
        + python_layer("agg", "AggregateLayer", ["x", "rois"], ["y"], param_str, loss_weight=1)
    )
    return make_net(tmp_path, proto)


def shuffled_rois(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    """Rows of images with unequal region counts, images interleaved (not grouped)."""
    index = np.repeat(np.arange(len(counts)), counts)
    rois = np.zeros((len(index), 5), dtype=np.float32)
    rois[:, 0] = rng.permutation(index)
    rois[:, 1:] = rng.integers(0, 100, (len(index), 4))
    return rois


@pytest.mark.parametrize(("param_str", "batch"), [("", 4), ("{'batch_size': 6}", 6)])
def test_aggregate_two_bottoms_sums_per_image(tmp_path: Path, param_str: str, batch: int):
    rng = np.random.default_rng(3)
    rois = shuffled_rois(rng, [5, 8, 3, 1])
    x = rng.normal(size=(len(rois), 7, 1, 1))
    net = aggregate_net(tmp_path, len(rois), 7, param_str)
    feed(net, x=x, rois=rois)
    weight_outputs(net, rng)
    expected = np.zeros((batch, 7))
    for row, roi in zip(x.reshape(len(rois), 7), rois):
        expected[int(roi[0])] += row
    assert net.blobs["y"].data.shape == (batch, 7, 1, 1)
    np.testing.assert_allclose(net.blobs["y"].data.reshape(batch, 7), expected, rtol=1e-5, atol=1e-6)
    grad = analytic_gradient(net, "x").reshape(len(rois), 7)
    np.testing.assert_array_equal(grad, net.blobs["y"].diff.reshape(batch, 7)[rois[:, 0].astype(int)])
    assert gradient_error(net, "x") < 1e-2


def test_aggregate_follows_a_new_batch_and_rejects_bad_indices(tmp_path: Path):
    rng = np.random.default_rng(4)
    net = aggregate_net(tmp_path, 6, 3)
    x = rng.normal(size=(6, 3, 1, 1))
    for counts in ([6], [2, 4], [1, 1, 4]):
        feed(net, x=x, rois=shuffled_rois(rng, counts))
        assert net.forward()["y"].shape == (len(counts), 3, 1, 1)
    bad = shuffled_rois(rng, [6])
    bad[2, 0] = -1
    feed(net, rois=bad)
    with pytest.raises(ValueError, match="batch ind"):
        net.forward()


# ------------------------------------------------------------------------------------------ Pair losses


def pair_reference(x: np.ndarray, y: np.ndarray, lifted: bool) -> float:
    """Loop over i < j of delta = ||x_i - x_j||^2 - ||y_i - y_j||^2."""
    x = x.reshape(len(x), -1).astype(np.float64)
    y = y.reshape(len(y), -1).astype(np.float64)
    deltas = [
        np.sum((x[i] - x[j]) ** 2) - np.sum((y[i] - y[j]) ** 2) for i in range(len(x)) for j in range(i + 1, len(x))
    ]
    squares = [d * d for d in deltas]
    if not lifted:
        return sum(squares) / len(deltas)
    peak = max(squares)
    return (peak + math.log(sum(math.exp(s - peak) for s in squares))) / len(deltas)


PAIR_LAYERS = {"PairL2LossLayer": False, "PairLiftedStructuredLossLayer": True}


def pair_net(tmp_path: Path, class_name: str, batch: int, loss_weight: float = 1.0, y_needs_grad: bool = False):
    y_layer = parameter if y_needs_grad else data_input
    proto = (
        parameter("x", (batch, 4, 1, 1))
        + y_layer("y", (batch, 6))
        + python_layer("loss", class_name, ["x", "y"], ["loss"], loss_weight=loss_weight)
    )
    return make_net(tmp_path, proto, name=f"{class_name}_{loss_weight}_{y_needs_grad}")


@pytest.mark.parametrize("class_name", PAIR_LAYERS)
def test_pair_loss_forward_and_backward(tmp_path: Path, class_name: str):
    rng = np.random.default_rng(5)
    x = rng.normal(scale=0.3, size=(6, 4, 1, 1))
    y = rng.normal(scale=0.25, size=(6, 6))
    net = pair_net(tmp_path, class_name, 6, y_needs_grad=True)
    feed(net, x=x, y=y)
    net.forward()
    np.testing.assert_allclose(net.blobs["loss"].data, pair_reference(x, y, PAIR_LAYERS[class_name]), rtol=1e-5)
    assert gradient_error(net, "x", step=3e-3) < 1e-2  # exp(delta^2) is strongly curved
    net.blobs["y"].diff[...] = 1
    net.backward()
    assert not net.blobs["y"].diff.any()  # the reference gets no gradient


def test_pair_lifted_loss_is_stable_for_large_deltas(tmp_path: Path):
    rng = np.random.default_rng(6)
    x = rng.normal(scale=10.0, size=(5, 4, 1, 1))  # delta^2 ~ 1e5: exp() would overflow
    y = rng.normal(size=(5, 6))
    net = pair_net(tmp_path, "PairLiftedStructuredLossLayer", 5)
    feed(net, x=x, y=y)
    grad = analytic_gradient(net, "x")
    assert np.isfinite(grad).all() and np.abs(grad).max() > 0
    np.testing.assert_allclose(net.blobs["loss"].data, pair_reference(x, y, lifted=True), rtol=1e-5)


# ------------------------------------------------------------------------------------ Lifted (Python vs C++)


def lifted_net(tmp_path: Path, batch: int, margin: float, python: bool, loss_weight: float = 1.0):
    bottoms = ["f", "label"]
    if python:
        head = python_layer(
            "loss", "LiftedStructSimilaritySoftmaxLossLayer", bottoms, ["loss"], f"{{'margin': {margin}}}", loss_weight
        )
    else:
        body = f"lifted_struct_sim_softmax_loss_param {{ margin: {margin} }}"
        head = layer("loss", "LiftedStructSimilaritySoftmaxLoss", bottoms, ["loss"], body, loss_weight)
    proto = parameter("f", (batch, 6, 1, 1)) + data_input("label", (batch, 1, 1, 1)) + head
    return make_net(tmp_path, proto, name=f"lifted_{python}_{loss_weight}")


def lifted_batches() -> list[tuple[np.ndarray, np.ndarray, float]]:
    rng = np.random.default_rng(7)
    labels = np.array([3, 3, 3, 1, 1, 2, 2, 5, 5, 5], dtype=np.float32)
    batches = [(rng.normal(scale=s, size=(10, 6)), rng.permutation(labels), m) for s, m in [(0.5, 1.0), (2.0, 0.5)]]
    f = rng.normal(size=(10, 6))
    f[1] = f[0]  # a positive pair at distance 0 (the 1e-12 floor)
    batches.append((f, labels, 1.0))
    batches.append((rng.normal(size=(10, 6)), np.zeros(10, dtype=np.float32), 1.0))  # no negatives
    batches.append((rng.normal(size=(10, 6)), np.arange(10, dtype=np.float32), 1.0))  # no positives
    return batches


@pytest.mark.parametrize("case", range(5))
def test_python_lifted_loss_equals_cpp_layer(tmp_path: Path, case: int):
    f, labels, margin = lifted_batches()[case]
    results = []
    for python in (True, False):
        net = lifted_net(tmp_path, len(f), margin, python)
        feed(net, f=f.reshape(len(f), 6, 1, 1), label=labels.reshape(-1, 1, 1, 1))
        grad = analytic_gradient(net, "f")
        results.append((float(net.blobs["loss"].data), grad))
    (loss_py, grad_py), (loss_cpp, grad_cpp) = results
    assert loss_py == pytest.approx(loss_cpp, rel=1e-5, abs=1e-7)
    np.testing.assert_allclose(grad_py, grad_cpp, rtol=1e-5, atol=1e-5 * max(np.abs(grad_cpp).max(), 1e-3))
    if case < 3:
        assert loss_py > 0 and np.abs(grad_py).max() > 0


def test_python_lifted_loss_backward_finite_differences(tmp_path: Path):
    rng = np.random.default_rng(8)
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 3], dtype=np.float32)
    net = lifted_net(tmp_path, 8, 1.0, python=True)
    feed(net, f=rng.normal(scale=0.6, size=(8, 6, 1, 1)), label=labels.reshape(-1, 1, 1, 1))
    assert float(net.forward()["loss"]) > 0
    assert gradient_error(net, "f") < 1e-2


@pytest.mark.parametrize("class_name", [*PAIR_LAYERS, "LiftedStructSimilaritySoftmaxLossLayer"])
def test_loss_weight_scales_the_gradient(tmp_path: Path, class_name: str):
    rng = np.random.default_rng(9)
    x, y = rng.normal(scale=0.4, size=(6, 4, 1, 1)), rng.normal(scale=0.3, size=(6, 6))
    f, labels = rng.normal(scale=0.6, size=(6, 6, 1, 1)), np.array([0, 0, 0, 1, 1, 2]).reshape(-1, 1, 1, 1)
    grads = []
    for weight in (1.0, 2.0):
        if class_name in PAIR_LAYERS:
            net = pair_net(tmp_path, class_name, 6, loss_weight=weight)
            feed(net, x=x, y=y)
            grads.append(analytic_gradient(net, "x"))
        else:
            net = lifted_net(tmp_path, 6, 1.0, python=True, loss_weight=weight)
            feed(net, f=f, label=labels)
            grads.append(analytic_gradient(net, "f"))
    assert np.abs(grads[0]).max() > 0
    np.testing.assert_allclose(grads[1], 2 * grads[0], rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------------------------------------ Forward-only


def grid_net(tmp_path: Path, shape: tuple[int, ...], param_str: str = "{'L': 2}"):
    proto = data_input("data", shape) + python_layer("grid", "RigidGridLayer", ["data"], ["rois"], param_str)
    return make_net(tmp_path, proto)


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_rigid_grid_follows_the_input_size(tmp_path: Path, levels: int):
    net = grid_net(tmp_path, (1, 3, 8, 8), f"{{'L': {levels}}}")
    for batch, height, width in [(1, 280, 496), (2, 384, 512), (3, 512, 384), (2, 300, 300), (1, 160, 512)]:
        feed(net, data=np.zeros((batch, 3, height, width)))
        rois = net.forward()["rois"]
        np.testing.assert_array_equal(rois, rmac_rois(height, width, levels, batch_size=batch))


@pytest.mark.parametrize(
    ("dataset", "size", "first_rows"),
    [
        ("cover", (280, 496), [[0, 0, 0, 279, 279], [0, 216, 0, 495, 279]]),
        ("paris", (384, 512), [[0, 0, 0, 383, 383], [0, 128, 0, 511, 383]]),
        ("landmark", (288, 384), [[0, 0, 0, 287, 287], [0, 96, 0, 383, 287]]),
    ],
)
def test_rigid_grid_legacy_dataset_key_gives_the_old_grids(tmp_path: Path, dataset: str, size, first_rows):
    net = grid_net(tmp_path, (2, 3, *size), f"{{'dataset': '{dataset}'}}")
    rois = net.forward()["rois"]
    assert rois.shape == (16, 5)
    np.testing.assert_array_equal(rois[:2], first_rows)
    np.testing.assert_array_equal(rois[8:, 0], 1)
    np.testing.assert_array_equal(rois[8:, 1:], rois[:8, 1:])


def test_forward_only_layer_refuses_a_gradient_only_when_asked(tmp_path: Path):
    for propagate in (False, True):
        grid = python_layer("grid", "RigidGridLayer", ["data"], ["rois"], loss_weight=1, propagate_down=[propagate])
        net = make_net(tmp_path, parameter("data", (1, 3, 30, 40)) + grid)
        net.forward()
        if propagate:
            with pytest.raises(NotImplementedError, match="RigidGridLayer has no backward"):
                net.backward()
        else:
            net.backward()  # called with propagate_down [False]: a no-op


def bilinear_reference(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Half-pixel-centre bilinear resize of C x H x W with clamped borders (OpenCV INTER_LINEAR)."""

    def taps(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        src = (np.arange(size_out) + 0.5) * size_in / size_out - 0.5
        low = np.floor(src)
        frac = src - low
        low = low.astype(int)
        return np.clip(low, 0, size_in - 1), np.clip(low + 1, 0, size_in - 1), frac

    y0, y1, fy = taps(image.shape[1], height)
    x0, x1, fx = taps(image.shape[2], width)
    rows = image[:, y0] * (1 - fy)[:, None] + image[:, y1] * fy[:, None]
    return rows[:, :, x0] * (1 - fx) + rows[:, :, x1] * fx


@pytest.mark.parametrize(("height", "width"), [(12, 20), (5, 7), (16, 12)])
def test_resize_layer(tmp_path: Path, height: int, width: int):
    rng = np.random.default_rng(10)
    images = rng.uniform(0, 255, (2, 3, 8, 10)).astype(np.float32)
    mean = [103.9, 116.8, 123.7]
    param_str = f"{{'h': {height}, 'w': {width}, 'mean': {mean}}}"
    proto = data_input("data", images.shape) + python_layer("resize", "ResizeLayer", ["data"], ["out"], param_str)
    net = make_net(tmp_path, proto)
    feed(net, data=images)
    out = net.forward()["out"]
    assert out.shape == (2, 3, height, width)
    for image, result in zip(images, out):
        expected = bilinear_reference(image.astype(np.float64), height, width) - np.reshape(mean, (3, 1, 1))
        np.testing.assert_allclose(result, expected, atol=2e-3)


def feature_net(tmp_path: Path, path: str, label_shape: tuple[int, ...]):
    proto = data_input("label", label_shape) + python_layer(
        "teacher", "FeatureLayer", ["label"], ["features"], f"{{'features': '{path}'}}"
    )
    return make_net(tmp_path, proto)


@pytest.mark.parametrize("label_shape", [(4,), (4, 1, 1, 1)])
def test_feature_layer_looks_up_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, label_shape):
    table = np.random.default_rng(11).normal(size=(9, 5)).astype(np.float32)
    np.save(tmp_path / "teacher.npy", table)
    monkeypatch.chdir(tmp_path)  # a relative path resolves against the current directory
    for path in ("teacher.npy", str(tmp_path / "teacher.npy")):
        net = feature_net(tmp_path, path, label_shape)
        labels = np.array([3, 0, 8, 3], dtype=np.float32)
        feed(net, label=labels.reshape(label_shape))
        out = net.forward()["features"]
        assert out.shape == (4, 5, 1, 1)
        np.testing.assert_array_equal(out.reshape(4, 5), table[[3, 0, 8, 3]])


def test_feature_layer_errors_name_the_file(tmp_path: Path):
    missing = tmp_path / "absent.npy"
    with pytest.raises(FileNotFoundError, match="absent.npy"):
        feature_net(tmp_path, str(missing), (2,))
    np.save(tmp_path / "small.npy", np.zeros((3, 2), dtype=np.float32))
    net = feature_net(tmp_path, str(tmp_path / "small.npy"), (2,))
    feed(net, label=[1, 3])
    with pytest.raises(IndexError, match="small.npy"):
        net.forward()
