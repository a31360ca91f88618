"""The C++ extension layers (ROIPooling, Normalize, LiftedStructSimilaritySoftmaxLoss) through pycaffe.

Bad rois (batch index out of range) make Caffe abort the process on a CHECK, so they are not tested here.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from caffe_helpers import (
    analytic_gradient,
    data_input,
    feed,
    gradient_error,
    layer,
    make_net,
    numeric_gradient,
    parameter,
    python_layer,
    relative_error,
    weight_outputs,
)

from myPython.rmac.grid import get_rmac_region_coordinates, pack_regions_for_network

# ---------------------------------------------------------------------------------------------- ROIPooling

MAP = (3, 4, 9, 11)  # N, C, H, W of the feature map


def _round_half_away(value: np.float32) -> int:
    v = float(value)
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def roi_pool_reference(
    data: np.ndarray, rois: np.ndarray, pooled_h: int, pooled_w: int, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fast R-CNN max pooling (float32 arithmetic as in the layer); returns outputs and flat argmax (-1: empty)."""
    _, channels, height, width = data.shape
    out = np.zeros((len(rois), channels, pooled_h, pooled_w), dtype=np.float32)
    arg = np.full(out.shape, -1, dtype=np.int64)
    s = np.float32(scale)
    for n, roi in enumerate(rois.astype(np.float32)):
        b = int(roi[0])
        x0, y0, x1, y1 = (_round_half_away(roi[k] * s) for k in (1, 2, 3, 4))
        bin_h = np.float32(max(y1 - y0 + 1, 1)) / np.float32(pooled_h)
        bin_w = np.float32(max(x1 - x0 + 1, 1)) / np.float32(pooled_w)
        for i in range(pooled_h):
            h0 = min(max(int(np.floor(np.float32(i) * bin_h)) + y0, 0), height)
            h1 = min(max(int(np.ceil(np.float32(i + 1) * bin_h)) + y0, 0), height)
            for j in range(pooled_w):
                w0 = min(max(int(np.floor(np.float32(j) * bin_w)) + x0, 0), width)
                w1 = min(max(int(np.ceil(np.float32(j + 1) * bin_w)) + x0, 0), width)
                if h1 <= h0 or w1 <= w0:
                    continue
                window = data[b, :, h0:h1, w0:w1].reshape(channels, -1)
                k = window.argmax(axis=1)
                out[n, :, i, j] = window.max(axis=1)
                arg[n, :, i, j] = (h0 + k // (w1 - w0)) * width + w0 + k % (w1 - w0)
    return out, arg


def roi_pool_reference_backward(
    shape: tuple[int, ...], rois: np.ndarray, arg: np.ndarray, top_diff: np.ndarray
) -> np.ndarray:
    """Route each output's diff to its argmax (accumulating over overlapping regions)."""
    grad = np.zeros(shape, dtype=np.float64)
    for n, c, i, j in zip(*np.nonzero(arg >= 0)):
        grad[int(rois[n, 0]), c].reshape(-1)[arg[n, c, i, j]] += top_diff[n, c, i, j]
    return grad


def distinct_map(rng: np.random.Generator, shape: tuple[int, ...] = MAP, gap: float = 0.05) -> np.ndarray:
    """Distinct values at least `gap` apart (stable argmax under finite differences), negatives included."""
    count = int(np.prod(shape))
    return ((rng.permutation(count) - count / 2) * gap).reshape(shape).astype(np.float32)


def random_rois(rng: np.random.Generator, scale: float, batch: int = MAP[0]) -> np.ndarray:
    """Regions in input pixels: random ones, partly and fully outside the map, degenerate, half-way roundings."""
    img_h, img_w = MAP[2] / scale, MAP[3] / scale
    count = 14
    x1 = rng.uniform(-0.3, 1.0, count) * img_w
    y1 = rng.uniform(-0.3, 1.0, count) * img_h
    x2 = x1 + rng.uniform(-0.1, 0.9, count) * img_w
    y2 = y1 + rng.uniform(-0.1, 0.9, count) * img_h
    rows = [np.stack([rng.integers(0, batch, count), x1, y1, x2, y2], axis=1)]
    half = 0.5 / scale  # coordinates landing exactly on .5 after scaling
    rows.append(
        np.array(
            [
                [0, 0, 0, img_w - 1, img_h - 1],  # whole image
                [batch - 1, -3 * img_w, -img_h, -2 * img_w, -1],  # fully outside (top-left)
                [1 % batch, 2 * img_w, 2 * img_h, 3 * img_w, 3 * img_h],  # fully outside (bottom-right)
                [1 % batch, -half, -half, half, 3 * half],  # rounds to -1 .. 1 and -1 .. 2
                [batch - 1, 3 * half, half, img_w + 5 * half, img_h - half],  # partly outside on the right
            ]
        )
    )
    return np.concatenate(rows).astype(np.float32)


def roi_net(tmp_path: Path, rois: np.ndarray, pooled: tuple[int, int], scale: float):
    proto = (
        parameter("data", MAP)
        + data_input("rois", rois.shape)
        + layer(
            "pool",
            "ROIPooling",
            ["data", "rois"],
            ["pool"],
            f"roi_pooling_param {{ pooled_h: {pooled[0]} pooled_w: {pooled[1]} spatial_scale: {scale!r} }}",
            loss_weight=1,
        )
    )
    return make_net(tmp_path, proto)


SCALES = [1.0, 0.5, 1 / 16, 1 / 32]
POOLED = [(1, 1), (2, 3), (7, 7)]


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("pooled", POOLED)
def test_roi_pooling_forward_and_routing_match_reference(tmp_path: Path, scale: float, pooled: tuple[int, int]):
    rng = np.random.default_rng(7)
    data = distinct_map(rng)
    rois = random_rois(rng, scale)
    net = roi_net(tmp_path, rois, pooled, scale)
    feed(net, data=data, rois=rois)
    weight_outputs(net, rng)
    expected, arg = roi_pool_reference(data, rois, *pooled, scale)
    grad = analytic_gradient(net, "data")
    np.testing.assert_array_equal(net.blobs["pool"].data, expected)
    assert np.any(arg < 0) and np.any(arg >= 0)  # empty bins and pooled ones
    assert len(np.unique(rois[:, 0])) > 1
    np.testing.assert_allclose(
        grad, roi_pool_reference_backward(data.shape, rois, arg, net.blobs["pool"].diff), rtol=1e-6, atol=1e-6
    )


def test_roi_pooling_rounds_half_away_from_zero(tmp_path: Path):
    # 1 x 1 map cells 0..4: x = 8 * (1/16) = 0.5 -> 1 (not 0), x = 40/16 = 2.5 -> 3 (not 2).
    data = np.arange(5, dtype=np.float32).reshape(1, 1, 1, 5)
    rois = np.array([[0, 8, 0, 8, 0], [0, 40, 0, 40, 0], [0, -8, 0, -8, 0]], dtype=np.float32)
    proto = (
        data_input("data", data.shape)
        + data_input("rois", rois.shape)
        + layer("pool", "ROIPooling", ["data", "rois"], ["pool"],
                "roi_pooling_param { pooled_h: 1 pooled_w: 1 spatial_scale: 0.0625 }")
    )  # fmt: skip
    net = make_net(tmp_path, proto)
    feed(net, data=data, rois=rois)
    net.forward()
    # -0.5 -> -1: the region [-1, -1] lies outside the map (empty bin -> 0).
    np.testing.assert_array_equal(net.blobs["pool"].data.reshape(-1), [1, 3, 0])


@pytest.mark.parametrize(("scale", "pooled"), [(1 / 16, (2, 3)), (0.5, (7, 7)), (1.0, (1, 1))])
def test_roi_pooling_backward_finite_differences(tmp_path: Path, scale: float, pooled: tuple[int, int]):
    rng = np.random.default_rng(3)
    rois = random_rois(rng, scale)
    net = roi_net(tmp_path, rois, pooled, scale)
    feed(net, data=distinct_map(rng), rois=rois)
    weight_outputs(net, rng)
    assert gradient_error(net, "data", step=1e-2, max_checks=None) < 1e-3


# ----------------------------------------------------------------------------------------------- Normalize


def normalize_reference(x: np.ndarray, across_spatial: bool, eps: float = 1e-8) -> np.ndarray:
    x = x.astype(np.float64)
    axes = tuple(range(1, x.ndim)) if across_spatial else (1,)
    return x / (np.sqrt(np.sum(x**2, axis=axes, keepdims=True)) + eps)


def normalize_net(tmp_path: Path, shape: tuple[int, ...], across_spatial: bool):
    body = f"normalize_param {{ across_spatial: {str(across_spatial).lower()} }}"
    proto = parameter("x", shape) + layer("norm", "Normalize", ["x"], ["y"], body, loss_weight=1)
    return make_net(tmp_path, proto)


@pytest.mark.parametrize("across_spatial", [True, False])
@pytest.mark.parametrize("shape", [(3, 5, 2, 4), (6, 16, 1, 1)])
def test_normalize_forward_and_backward(tmp_path: Path, across_spatial: bool, shape: tuple[int, ...]):
    rng = np.random.default_rng(11)
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
    net = normalize_net(tmp_path, shape, across_spatial)
    feed(net, x=x)
    weight_outputs(net, rng)
    np.testing.assert_allclose(net.blobs["y"].data, normalize_reference(x, across_spatial), rtol=1e-5, atol=1e-7)
    assert gradient_error(net, "x") < 1e-2


def test_normalize_modes_differ_on_spatial_maps(tmp_path: Path):
    x = np.random.default_rng(0).normal(size=(2, 3, 2, 2))
    outputs = []
    for across in (True, False):
        net = normalize_net(tmp_path, x.shape, across)
        feed(net, x=x)
        net.forward()
        outputs.append(net.blobs["y"].data.copy())
    assert not np.allclose(*outputs)
    np.testing.assert_allclose(np.linalg.norm(outputs[1], axis=1), 1, rtol=1e-5)


# ------------------------------------------------------------------------- LiftedStructSimilaritySoftmaxLoss


def lifted_reference(features: np.ndarray, labels: np.ndarray, margin: float) -> float:
    """Direct loop over positive pairs (Song et al.); pairs without negatives add 0."""
    f = features.reshape(len(features), -1).astype(np.float64)
    dist = np.linalg.norm(f[:, None] - f[None, :], axis=2)
    loss, positives = 0.0, 0
    for i in range(len(f)):
        for j in range(i + 1, len(f)):
            if labels[i] != labels[j]:
                continue
            positives += 1
            negatives = [k for k in range(len(f)) if labels[k] != labels[i]]
            if not negatives:
                continue
            total = sum(math.exp(margin - dist[i, k]) + math.exp(margin - dist[j, k]) for k in negatives)
            loss += max(0.0, math.log(total) + dist[i, j]) ** 2
    return loss / (2 * positives) if positives else 0.0


def lifted_net(tmp_path: Path, batch: int, dim: int, margin: float = 1.0, loss_weight: float = 1.0):
    proto = (
        parameter("f", (batch, dim))
        + data_input("label", (batch,))
        + layer(
            "loss",
            "LiftedStructSimilaritySoftmaxLoss",
            ["f", "label"],
            ["loss"],
            f"lifted_struct_sim_softmax_loss_param {{ margin: {margin} }}",
            loss_weight=loss_weight,
        )
    )
    return make_net(tmp_path, proto, name=f"lifted_{loss_weight}")


LABELS = np.array([0, 0, 0, 1, 1, 2, 2, 3], dtype=np.float32)


def lifted_batch(rng: np.random.Generator, labels: np.ndarray = LABELS, dim: int = 5) -> np.ndarray:
    """Features with a mix of active and inactive hinges, none near the kink J = 0."""
    while True:
        f = rng.normal(scale=0.6, size=(len(labels), dim)).astype(np.float32)
        d = np.linalg.norm(f[:, None] - f[None, :], axis=2)
        j_values = [
            math.log(sum(math.exp(1 - d[i, k]) + math.exp(1 - d[j, k]) for k in np.nonzero(labels != labels[i])[0]))
            + d[i, j]
            for i in range(len(f))
            for j in range(i + 1, len(f))
            if labels[i] == labels[j]
        ]
        if min(abs(v) for v in j_values) > 0.1:
            return f


@pytest.mark.parametrize("margin", [1.0, 0.3])
def test_lifted_loss_forward_matches_loop_reference(tmp_path: Path, margin: float):
    rng = np.random.default_rng(5)
    f = rng.normal(scale=0.6, size=(len(LABELS), 5))
    net = lifted_net(tmp_path, len(LABELS), 5, margin)
    feed(net, f=f, label=LABELS)
    net.forward()
    np.testing.assert_allclose(net.blobs["loss"].data, lifted_reference(f, LABELS, margin), rtol=1e-5)


def test_lifted_loss_without_positive_or_negative_pairs_is_zero(tmp_path: Path):
    rng = np.random.default_rng(2)
    for labels in (np.arange(6, dtype=np.float32), np.zeros(6, dtype=np.float32)):
        net = lifted_net(tmp_path, 6, 3)
        feed(net, f=rng.normal(size=(6, 3)), label=labels)
        grad = analytic_gradient(net, "f")
        assert float(net.blobs["loss"].data) == 0.0 == lifted_reference(net.blobs["f"].data, labels, 1.0)
        assert not grad.any()


@pytest.mark.parametrize("loss_weight", [1.0, 2.0])
def test_lifted_loss_backward_finite_differences(tmp_path: Path, loss_weight: float):
    rng = np.random.default_rng(9)
    f = lifted_batch(rng)
    net = lifted_net(tmp_path, len(LABELS), 5, loss_weight=loss_weight)
    feed(net, f=f, label=LABELS)
    assert gradient_error(net, "f") < 1e-2
    if loss_weight != 1.0:
        unit = lifted_net(tmp_path, len(LABELS), 5)
        feed(unit, f=f, label=LABELS)
        np.testing.assert_allclose(
            analytic_gradient(net, "f"), loss_weight * analytic_gradient(unit, "f"), rtol=1e-6, atol=1e-9
        )


# ------------------------------------------------------------------------------- ResNet block save / reload

IMAGE = (2, 3, 16, 20)


def _conv(name: str, bottom: str, outputs: int, stride: int = 1) -> str:
    body = (
        f"convolution_param {{ num_output: {outputs} kernel_size: 3 pad: 1 stride: {stride} bias_term: false "
        'weight_filler { type: "gaussian" std: 0.2 } }'
    )
    text = layer(name, "Convolution", [bottom], [name], body)
    text += layer(f"bn_{name}", "BatchNorm", [name], [name], "batch_norm_param { use_global_stats: true }")
    return text + layer(f"scale_{name}", "Scale", [name], [name], "scale_param { bias_term: true }")


def resnet_proto(num_rois: int) -> str:
    return (
        data_input("data", IMAGE)
        + data_input("rois", (num_rois, 5))
        + _conv("conv1", "data", 8, stride=2)
        + layer("conv1_relu", "ReLU", ["conv1"], ["conv1"])
        + _conv("res2a_branch2a", "conv1", 8)
        + layer("res2a_branch2a_relu", "ReLU", ["res2a_branch2a"], ["res2a_branch2a"])
        + _conv("res2a_branch2b", "res2a_branch2a", 8)
        + layer("res2a", "Eltwise", ["conv1", "res2a_branch2b"], ["res2a"])
        + layer("res2a_relu", "ReLU", ["res2a"], ["res2a"])
        + layer("pool", "ROIPooling", ["res2a", "rois"], ["pool"],
                "roi_pooling_param { pooled_h: 1 pooled_w: 1 spatial_scale: 0.5 }")
        + layer("pool_norm", "Normalize", ["pool"], ["pool_norm"])
        + python_layer("rmac", "AggregateLayer", ["pool_norm", "rois"], ["rmac"])
        + layer("rmac_norm", "Normalize", ["rmac"], ["rmac/normalized"])
    )  # fmt: skip


def test_resnet_block_with_rmac_head_saves_and_reloads(tmp_path: Path):
    rng = np.random.default_rng(4)
    rois = pack_regions_for_network(
        [get_rmac_region_coordinates(16, 20, 2), get_rmac_region_coordinates(16, 16, 1)]
    )  # unequal region counts per image
    proto = resnet_proto(len(rois))
    net = make_net(tmp_path, proto)
    for name, blobs in net.params.items():
        if name.startswith("bn_"):
            blobs[0].data[...] = rng.normal(scale=0.1, size=blobs[0].data.shape)
            blobs[1].data[...] = rng.uniform(0.5, 1.5, blobs[1].data.shape)
            blobs[2].data[...] = 1
        else:
            for blob in blobs:
                blob.data[...] = rng.normal(scale=0.3, size=blob.data.shape)
    image = rng.uniform(-1, 1, IMAGE)
    feed(net, data=image, rois=rois)
    expected = net.forward()["rmac/normalized"].copy()
    assert expected.shape == (2, 8, 1, 1)
    np.testing.assert_allclose(np.linalg.norm(expected.reshape(2, -1), axis=1), 1, rtol=1e-5)

    weights = tmp_path / "model.caffemodel"
    net.save(str(weights))
    reloaded = make_net(tmp_path, proto, weights)
    feed(reloaded, data=image, rois=rois)
    np.testing.assert_array_equal(reloaded.forward()["rmac/normalized"], expected)
    for name, blobs in net.params.items():
        for blob, other in zip(blobs, reloaded.params[name]):
            np.testing.assert_array_equal(blob.data, other.data)

    fresh = make_net(tmp_path, proto)  # random fillers: a different model
    feed(fresh, data=image, rois=rois)
    assert not np.allclose(fresh.forward()["rmac/normalized"], expected)


def test_relative_error_flags_a_sign_error():
    numeric = np.array([1.0, -2.0, 0.5])
    assert relative_error(numeric, numeric) == 0.0
    assert relative_error(numeric, numeric * [1, 1, -1]) > 1.0


def test_numeric_gradient_of_a_linear_output(tmp_path: Path):
    """The checker itself: d sum(w * 3x) / dx = 3w for a Power layer."""
    rng = np.random.default_rng(1)
    proto = parameter("x", (2, 3)) + layer("p", "Power", ["x"], ["y"], "power_param { scale: 3 }", loss_weight=1)
    net = make_net(tmp_path, proto)
    feed(net, x=rng.normal(size=(2, 3)))
    weight_outputs(net, rng)
    _, numeric = numeric_gradient(net, "x")
    np.testing.assert_allclose(numeric, 3 * net.blobs["y"].diff.reshape(-1), rtol=1e-4)
