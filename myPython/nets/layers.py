"""Caffe Python layers of the R-MAC networks (`python_param { module: 'custom_layers' layer: '...' }`).

Every layer reads its `param_str` as a YAML mapping. Layers with a backward scale their gradient by
`top[0].diff`, so `loss_weight` is honoured; Python loss layers need an explicit `loss_weight` in the
prototxt (Caffe only defaults it to 1 for C++ loss layers).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import caffe
import cv2
import numpy as np
from scipy.spatial.distance import cdist

from myPython.nets.param_str import parse_param_str
from myPython.rmac.grid import rmac_rois

__all__ = [
    "AggregateLayer",
    "FeatureLayer",
    "LiftedStructSimilaritySoftmaxLossLayer",
    "NormalizeLayer",
    "PairL2LossLayer",
    "PairLiftedStructuredLossLayer",
    "ResizeLayer",
    "RigidGridLayer",
]


def _parse_params(layer: caffe.Layer, allowed: Iterable[str]) -> dict[str, Any]:
    """The layer's param_str as a dict ("" and "{}" give {}); unknown keys are an error."""
    return parse_param_str(layer.param_str, type(layer).__name__, allowed)


def _check_counts(layer: caffe.Layer, bottom: Sequence, top: Sequence, bottoms: Iterable[int], tops: int = 1) -> None:
    bottoms = tuple(bottoms)
    if len(bottom) not in bottoms or len(top) != tops:
        raise ValueError(
            f"{type(layer).__name__}: expected {' or '.join(map(str, bottoms))} bottom(s) and {tops} top(s), "
            f"got {len(bottom)} and {len(top)}"
        )


def _loss_backward_features(propagate_down: Sequence[bool], bottom: Sequence) -> np.ndarray | None:
    """Zero the gradient of the second bottom (labels, targets); the first bottom as float64 N x D when its
    gradient is wanted, else None."""
    if propagate_down[1]:
        bottom[1].diff[...] = 0
    if not propagate_down[0]:
        return None
    return bottom[0].data.reshape(bottom[0].data.shape[0], -1).astype(np.float64)


def _pair_grad(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Rows sum_j coef[i, j] (x_i - x_j) for a B x B coefficient matrix."""
    return coef.sum(axis=1)[:, None] * x - coef @ x


class _ForwardOnlyLayer(caffe.Layer):
    """A layer without gradient: backward only accepts propagate_down all false."""

    def backward(self, top: Sequence, propagate_down: Sequence[bool], bottom: Sequence) -> None:
        if any(propagate_down):
            raise NotImplementedError(
                f"{type(self).__name__} has no backward; set propagate_down: false for its bottoms"
            )


class NormalizeLayer(caffe.Layer):
    """L2 normalisation over channels: y = x / (eps + ||x||) per sample and spatial position.

    param_str: {'eps': 1e-8} (optional). Bottom N x C or N x C x H x W; top has the same shape.
    """

    def setup(self, bottom: Sequence, top: Sequence) -> None:
        _check_counts(self, bottom, top, (1,))
        self.eps = float(_parse_params(self, ("eps",)).get("eps", 1e-8))
        if self.eps < 0:
            raise ValueError(f"NormalizeLayer: eps must be >= 0, got {self.eps}")

    def reshape(self, bottom: Sequence, top: Sequence) -> None:
        if bottom[0].data.ndim < 2:
            raise ValueError(f"NormalizeLayer: bottom needs N x C[...] axes, got shape {bottom[0].data.shape}")
        top[0].reshape(*bottom[0].data.shape)

    def forward(self, bottom: Sequence, top: Sequence) -> None:
        x = bottom[0].data
        top[0].data[...] = x / (self.eps + np.sqrt(np.sum(x * x, axis=1, keepdims=True)))

    def backward(self, top: Sequence, propagate_down: Sequence[bool], bottom: Sequence) -> None:
        if not propagate_down[0]:
            return
        x = bottom[0].data
        dy = top[0].diff
        norm = np.sqrt(np.sum(x * x, axis=1, keepdims=True))
        d = norm + self.eps
        dot = np.sum(x * dy, axis=1, keepdims=True)
        safe = np.where(norm > 0, norm, 1.0)
        k = np.where(norm > 0, dot / (d * d * safe), 0.0)
        bottom[0].diff[...] = dy / d - x * k


class AggregateLayer(caffe.Layer):
    """R-MAC region sum.

    One bottom (R x C[x1x1] region vectors): top 1 x C x 1 x 1 is the sum of all rows. Two bottoms
    (regions, rois R x 5 whose column 0 is the batch index): top B x C x 1 x 1 sums the rows of each
    image, any number of regions per image, B = max index + 1 or param 'batch_size'.
    The legacy key 'num_rois' is accepted and ignored (no region is ever dropped).
    """

    def setup(self, bottom: Sequence, top: Sequence) -> None:
        _check_counts(self, bottom, top, (1, 2))
        params = _parse_params(self, ("num_rois", "batch_size"))
        self.batch_size = params.get("batch_size")
        if self.batch_size is not None:
            if len(bottom) != 2:
                raise ValueError("AggregateLayer: 'batch_size' needs the rois bottom")
            self.batch_size = int(self.batch_size)
            if self.batch_size < 1:
                raise ValueError(f"AggregateLayer: batch_size must be >= 1, got {self.batch_size}")
        self.index = np.zeros(0, dtype=np.int64)

    def reshape(self, bottom: Sequence, top: Sequence) -> None:
        shape = bottom[0].data.shape
        if len(shape) < 2 or any(s != 1 for s in shape[2:]):
            raise ValueError(f"AggregateLayer: regions must be R x C[x1x1], got shape {shape}")
        regions, channels = shape[0], shape[1]
        if len(bottom) == 1:
            top[0].reshape(1, channels, 1, 1)
            return
        rois = bottom[1].data
        if rois.size != 5 * regions:
            raise ValueError(f"AggregateLayer: rois must be {regions} x 5 (one row per region), got {rois.shape}")
        first = rois.reshape(regions, 5)[:, 0]
        index = first.astype(np.int64)
        if np.any(index != first) or np.any(index < 0):
            raise ValueError("AggregateLayer: rois column 0 must hold non-negative integer batch indices")
        batch = self.batch_size if self.batch_size is not None else (int(index.max()) + 1 if regions else 0)
        if regions and index.max() >= batch:
            raise ValueError(f"AggregateLayer: batch index {int(index.max())} >= batch_size {batch}")
        self.index = index
        top[0].reshape(batch, channels, 1, 1)

    def forward(self, bottom: Sequence, top: Sequence) -> None:
        x = bottom[0].data.reshape(bottom[0].data.shape[0], -1)
        out = top[0].data.reshape(top[0].data.shape[0], -1)
        if len(bottom) == 1:
            out[0] = x.sum(axis=0)
            return
        out[...] = 0
        np.add.at(out, self.index, x)

    def backward(self, top: Sequence, propagate_down: Sequence[bool], bottom: Sequence) -> None:
        if len(bottom) == 2 and propagate_down[1]:
            bottom[1].diff[...] = 0
        if not propagate_down[0]:
            return
        dy = top[0].diff.reshape(top[0].diff.shape[0], -1)
        dx = bottom[0].diff.reshape(bottom[0].diff.shape[0], -1)
        dx[...] = dy[0] if len(bottom) == 1 else dy[self.index]


class RigidGridLayer(_ForwardOnlyLayer):
    """R-MAC rigid-grid rois for the actual input size.

    param_str: {'L': 2} (legacy key 'dataset' accepted and ignored). Bottom B x 3 x H x W images;
    top (B*R) x 5 rows (batch_index, x1, y1, x2, y2), R regions per image.
    """

    def setup(self, bottom: Sequence, top: Sequence) -> None:
        _check_counts(self, bottom, top, (1,))
        self.levels = int(_parse_params(self, ("L", "dataset")).get("L", 2))
        self.key: tuple[int, ...] | None = None
        self.rois = np.zeros((0, 5), dtype=np.float32)

    def reshape(self, bottom: Sequence, top: Sequence) -> None:
        shape = bottom[0].data.shape
        if len(shape) != 4 or shape[1] != 3:
            raise ValueError(f"RigidGridLayer: bottom must be B x 3 x H x W images, got shape {shape}")
        key = (shape[0], shape[2], shape[3])
        if key != self.key:
            self.rois = rmac_rois(shape[2], shape[3], self.levels, batch_size=shape[0])
            self.key = key
        top[0].reshape(*self.rois.shape)

    def forward(self, bottom: Sequence, top: Sequence) -> None:
        top[0].data[...] = self.rois


class ResizeLayer(_ForwardOnlyLayer):
    """Teacher input: bilinear resize of raw BGR 0-255 images to exactly (h, w), then mean subtraction.

    param_str: {'h': int, 'w': int, 'mean': [B, G, R]}. Bottom B x 3 x H x W; top B x 3 x h x w.
    """

    def setup(self, bottom: Sequence, top: Sequence) -> None:
        _check_counts(self, bottom, top, (1,))
        params = _parse_params(self, ("h", "w", "mean"))
        missing = {"h", "w", "mean"} - set(params)
        if missing:
            raise ValueError(f"ResizeLayer: param_str needs {sorted(missing)}")
        self.height, self.width = int(params["h"]), int(params["w"])
        if self.height < 1 or self.width < 1:
            raise ValueError(f"ResizeLayer: h and w must be positive, got {self.height}x{self.width}")
        self.mean = np.asarray(params["mean"], dtype=np.float32).reshape(-1)
        if self.mean.size != 3:
            raise ValueError(f"ResizeLayer: mean must hold 3 BGR values, got {params['mean']!r}")

    def reshape(self, bottom: Sequence, top: Sequence) -> None:
        shape = bottom[0].data.shape
        if len(shape) != 4 or shape[1] != 3:
            raise ValueError(f"ResizeLayer: bottom must be B x 3 x H x W images, got shape {shape}")
        top[0].reshape(shape[0], 3, self.height, self.width)

    def forward(self, bottom: Sequence, top: Sequence) -> None:
        for k, image in enumerate(bottom[0].data):
            hwc = np.ascontiguousarray(image.transpose(1, 2, 0))
            resized = cv2.resize(hwc, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
            top[0].data[k] = (resized - self.mean).transpose(2, 0, 1)


class FeatureLayer(_ForwardOnlyLayer):
    """Teacher-descriptor lookup: top[k] = features[int(label[k])].

    param_str: {'features': path of an N x D float32 .npy (absolute or relative to the current
    directory)}. Bottom labels B or B x 1 x 1 x 1; top B x D x 1 x 1.
    """

    def setup(self, bottom: Sequence, top: Sequence) -> None:
        _check_counts(self, bottom, top, (1,))
        params = _parse_params(self, ("features",))
        if "features" not in params:
            raise ValueError("FeatureLayer: param_str needs 'features' (path of an N x D .npy)")
        self.path = Path(str(params["features"])).expanduser().absolute()
        if not self.path.is_file():
            raise FileNotFoundError(f"FeatureLayer: features file not found: {self.path}")
        features = np.load(self.path, allow_pickle=False)
        if features.ndim != 2:
            raise ValueError(f"FeatureLayer: {self.path} must hold an N x D array, got shape {features.shape}")
        self.features = np.ascontiguousarray(features, dtype=np.float32)

    def reshape(self, bottom: Sequence, top: Sequence) -> None:
        labels = bottom[0].data
        if labels.ndim == 0 or labels.size != labels.shape[0]:
            raise ValueError(f"FeatureLayer: labels must be B or B x 1 x 1 x 1, got shape {labels.shape}")
        top[0].reshape(labels.shape[0], self.features.shape[1], 1, 1)

    def forward(self, bottom: Sequence, top: Sequence) -> None:
        labels = bottom[0].data.reshape(-1)
        index = labels.astype(np.int64)
        bad = (labels < 0) | (index >= len(self.features))
        if np.any(bad):
            raise IndexError(
                f"FeatureLayer: label {labels[bad][0]:g} out of range for the {len(self.features)} rows of {self.path}"
            )
        top[0].data[...] = self.features[index].reshape(top[0].data.shape)


class _PairLossLayer(caffe.Layer):
    """Losses over all unordered pairs (i < j) comparing squared distances of x (B x d) and y (B x D).

    Subclasses return the loss and the symmetric B x B matrix G with dLoss/dx_i = sum_j G_ij (x_i - x_j).
    The gradient flows to x only (y gets a zero diff).
    """

    def setup(self, bottom: Sequence, top: Sequence) -> None:
        _check_counts(self, bottom, top, (2,))
        _parse_params(self, ())
        self.coef = np.zeros((0, 0))

    def reshape(self, bottom: Sequence, top: Sequence) -> None:
        batch, other = bottom[0].data.shape[0], bottom[1].data.shape[0]
        if other != batch:
            raise ValueError(f"{type(self).__name__}: x and y batch sizes differ ({batch} vs {other})")
        if batch < 2:
            raise ValueError(f"{type(self).__name__}: needs a batch of at least 2, got {batch}")
        top[0].reshape()

    def _loss(self, delta: np.ndarray, pairs: int) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def forward(self, bottom: Sequence, top: Sequence) -> None:
        batch = bottom[0].data.shape[0]
        x = bottom[0].data.reshape(batch, -1).astype(np.float64)
        y = bottom[1].data.reshape(batch, -1).astype(np.float64)
        delta = cdist(x, x, "sqeuclidean") - cdist(y, y, "sqeuclidean")
        loss, self.coef = self._loss(delta, batch * (batch - 1) // 2)
        top[0].data[...] = loss

    def backward(self, top: Sequence, propagate_down: Sequence[bool], bottom: Sequence) -> None:
        x = _loss_backward_features(propagate_down, bottom)
        if x is None:
            return
        grad = float(top[0].diff.reshape(-1)[0]) * _pair_grad(self.coef, x)
        bottom[0].diff[...] = grad.reshape(bottom[0].diff.shape)


class PairL2LossLayer(_PairLossLayer):
    """loss = sum_{i<j} (||x_i - x_j||^2 - ||y_i - y_j||^2)^2 / P, P = B (B - 1) / 2."""

    def _loss(self, delta: np.ndarray, pairs: int) -> tuple[float, np.ndarray]:
        # The full symmetric matrix counts every pair twice.
        return float(np.sum(delta * delta)) / (2 * pairs), 4.0 * delta / pairs


class PairLiftedStructuredLossLayer(_PairLossLayer):
    """loss = log(sum_{i<j} exp(delta_ij^2)) / P with delta_ij = ||x_i - x_j||^2 - ||y_i - y_j||^2."""

    def _loss(self, delta: np.ndarray, pairs: int) -> tuple[float, np.ndarray]:
        upper = np.triu(np.ones(delta.shape, dtype=bool), k=1)
        z = np.where(upper, delta * delta, -np.inf)
        top = z.max()
        weights = np.exp(z - top)
        total = weights.sum()
        softmax = weights / total
        coef = 4.0 * delta * (softmax + softmax.T) / pairs
        return float(top + np.log(total)) / pairs, coef


class LiftedStructSimilaritySoftmaxLossLayer(caffe.Layer):
    """Python twin of the C++ LiftedStructSimilaritySoftmaxLoss (Song et al., CVPR 2016).

    param_str: {'margin': 1.0}. Bottoms: features B x D[x1x1], labels (B values). For each positive pair
    i < j: J_ij = log(sum_{k: y_k != y_i} exp(m - D_ik) + sum_{l: y_l != y_j} exp(m - D_jl)) + D_ij;
    loss = sum max(0, J)^2 / (2 |P|). Pairs without negatives add 0; no positive pair gives 0.
    Gradients flow to the features only (the labels get a zero diff).
    """

    def setup(self, bottom: Sequence, top: Sequence) -> None:
        _check_counts(self, bottom, top, (2,))
        self.margin = float(_parse_params(self, ("margin",)).get("margin", 1.0))
        self.dist = np.zeros((0, 0))
        self.pair_grad = np.zeros((0, 0))

    def reshape(self, bottom: Sequence, top: Sequence) -> None:
        batch = bottom[0].data.shape[0]
        if bottom[1].data.size != batch:
            raise ValueError(
                f"LiftedStructSimilaritySoftmaxLossLayer: one label per sample expected, "
                f"got {bottom[1].data.size} labels for {batch} samples"
            )
        top[0].reshape()

    def forward(self, bottom: Sequence, top: Sequence) -> None:
        batch = bottom[0].data.shape[0]
        features = bottom[0].data.reshape(batch, -1).astype(np.float64)
        labels = bottom[1].data.reshape(-1)
        self.dist = cdist(features, features)
        self.pair_grad = np.zeros((batch, batch))
        same = labels[:, None] == labels[None, :]
        positive = np.triu(same, k=1)
        num_pos = int(positive.sum())
        top[0].data[...] = 0
        if num_pos == 0:
            return
        # Row-wise log-sum-exp pieces over the negatives of each anchor, shifted by the row maximum.
        terms = np.where(~same, self.margin - self.dist, -np.inf)
        row_max = terms.max(axis=1)
        has_neg = np.isfinite(row_max)
        shift = np.where(has_neg, row_max, 0.0)
        shifted = np.exp(terms - shift[:, None])
        row_sum = shifted.sum(axis=1)
        pi, pj = np.nonzero(positive & has_neg[:, None])
        peak = np.maximum(row_max[pi], row_max[pj])
        lse = peak + np.log(row_sum[pi] * np.exp(row_max[pi] - peak) + row_sum[pj] * np.exp(row_max[pj] - peak))
        j_val = lse + self.dist[pi, pj]
        active = j_val > 0
        pi, pj, lse, j_val = pi[active], pj[active], lse[active], j_val[active]
        top[0].data[...] = np.sum(j_val * j_val) / (2 * num_pos)
        g = j_val / num_pos
        self.pair_grad[pi, pj] = g
        # d lse_ij / d(m - D_ak) = exp(m - D_ak - lse_ij) for the negatives k of anchor a in {i, j}.
        weight = np.zeros(batch)
        np.add.at(weight, pi, g * np.exp(row_max[pi] - lse))
        np.add.at(weight, pj, g * np.exp(row_max[pj] - lse))
        self.pair_grad -= weight[:, None] * shifted

    def backward(self, top: Sequence, propagate_down: Sequence[bool], bottom: Sequence) -> None:
        features = _loss_backward_features(propagate_down, bottom)
        if features is None:
            return
        # Identical rows (D = 0, the diagonal included) contribute exactly 0, as f_a - f_b does in the C++ layer.
        coef = np.where(self.dist > 0, self.pair_grad / np.maximum(self.dist, 1e-12), 0.0)
        scale = float(top[0].diff.reshape(-1)[0])
        grad = scale * _pair_grad(coef + coef.T, features)
        bottom[0].diff[...] = grad.reshape(bottom[0].diff.shape)
