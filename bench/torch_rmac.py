"""An independent PyTorch implementation of the ResNet-101 R-MAC network, for benchmarks.

Written from the network description (MSRA ResNet-101: 7x7 conv, 3x3/2 max pooling with Caffe's
ceil rounding, bottlenecks with the stride on the first 1x1 convolution, BatchNorm + Scale; the R-MAC
head: Fast R-CNN max pooling of each region, L2, shift, PCA, L2, per-image sum, L2), not from the
project's exporter. Weights are read by layer name from the same caffemodel.

Two modes: ``eager`` (plain modules, NCHW) and ``script`` (traced, frozen and
``torch.jit.optimize_for_inference``-d trunk fed channels_last tensors). The head is plain tensor code.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

# Blocks per stage of the MSRA ResNet-101 (the released model numbers the b blocks of res3/res4).
R101_BLOCKS = (
    ["2a", "2b", "2c"],
    ["3a"] + [f"3b{i}" for i in range(1, 4)],
    ["4a"] + [f"4b{i}" for i in range(1, 23)],
    ["5a", "5b", "5c"],
)
R101_WIDTHS = ((64, 256), (128, 512), (256, 1024), (512, 2048))


def read_caffemodel(path: str | os.PathLike) -> dict[str, list[np.ndarray]]:
    """Layer name -> its blobs as float32 arrays, parsed from the binary caffemodel."""
    from caffe.proto import caffe_pb2

    net = caffe_pb2.NetParameter()
    net.ParseFromString(Path(path).read_bytes())
    out = {}
    for layer in net.layer:
        blobs = []
        for b in layer.blobs:
            shape = tuple(b.shape.dim) if b.HasField("shape") else (b.num, b.channels, b.height, b.width)
            blobs.append(np.asarray(b.data, dtype=np.float32).reshape(shape))
        if blobs:
            out[layer.name] = blobs
    return out


class ConvBN(nn.Sequential):
    """Convolution (no bias) + BatchNorm with the Caffe BatchNorm statistics and Scale affine."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, pad: int) -> None:
        super().__init__(nn.Conv2d(cin, cout, kernel, stride, pad, bias=False), nn.BatchNorm2d(cout, eps=1e-5))

    def load(self, weights: dict, conv: str, bn: str, scale: str) -> None:
        self[0].weight.data.copy_(torch.from_numpy(weights[conv][0]))
        mean, var, factor = weights[bn]
        f = float(factor.reshape(-1)[0])
        f = 0.0 if f == 0 else 1.0 / f
        norm = self[1]
        norm.running_mean.copy_(torch.from_numpy(mean.reshape(-1) * f))
        norm.running_var.copy_(torch.from_numpy(var.reshape(-1) * f))
        norm.weight.data.copy_(torch.from_numpy(weights[scale][0].reshape(-1)))
        norm.bias.data.copy_(torch.from_numpy(weights[scale][1].reshape(-1)))


class Bottleneck(nn.Module):
    def __init__(self, name: str, cin: int, mid: int, cout: int, stride: int, project: bool) -> None:
        super().__init__()
        self.name = name
        self.a = ConvBN(cin, mid, 1, stride, 0)
        self.b = ConvBN(mid, mid, 3, 1, 1)
        self.c = ConvBN(mid, cout, 1, 1, 0)
        self.shortcut = ConvBN(cin, cout, 1, stride, 0) if project else None

    def load(self, weights: dict) -> None:
        n = self.name
        for branch, module in (("2a", self.a), ("2b", self.b), ("2c", self.c), ("1", self.shortcut)):
            if module is not None:
                module.load(weights, f"res{n}_branch{branch}", f"bn{n}_branch{branch}", f"scale{n}_branch{branch}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.a(x))
        y = torch.relu(self.b(y))
        y = self.c(y)
        return torch.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


class ResNet101Trunk(nn.Module):
    """conv1 ... res5c (ReLU'd), stride 32, 2048 channels."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = ConvBN(3, 64, 7, 2, 3)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        blocks, cin = [], 64
        for stage, (names, (mid, out)) in enumerate(zip(R101_BLOCKS, R101_WIDTHS)):
            for i, name in enumerate(names):
                stride = 2 if i == 0 and stage > 0 else 1
                blocks.append(Bottleneck(name, cin, mid, out, stride, project=i == 0))
                cin = out
        self.blocks = nn.Sequential(*blocks)

    def load(self, weights: dict) -> None:
        self.conv1.load(weights, "conv1", "bn_conv1", "scale_conv1")
        for block in self.blocks:
            block.load(weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.pool1(torch.relu(self.conv1(x))))


def _round_half_away(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def roi_max_pool(features: torch.Tensor, rois: np.ndarray, spatial_scale: float) -> torch.Tensor:
    """R x C: max over each region (Fast R-CNN 1x1 bins: rounded, inclusive ends, clipped; empty -> 0)."""
    h, w = features.shape[2:]
    coords = _round_half_away(rois[:, 1:5].astype(np.float64) * spatial_scale).astype(np.int64)
    rows = []
    for (b, (x1, y1, x2, y2)) in zip(rois[:, 0].astype(np.int64), coords):
        x_end = x1 + max(x2 - x1 + 1, 1)
        y_end = y1 + max(y2 - y1 + 1, 1)
        x1, x_end = min(max(x1, 0), w), min(max(x_end, 0), w)
        y1, y_end = min(max(y1, 0), h), min(max(y_end, 0), h)
        if x_end <= x1 or y_end <= y1:
            rows.append(features.new_zeros(features.shape[1]))
        else:
            rows.append(features[b, :, y1:y_end, x1:x_end].amax(dim=(1, 2)))
    return torch.stack(rows)


def _l2(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x / (x.norm(dim=1, keepdim=True) + eps)


class TorchRMAC:
    """Engine protocol (name, batchable, forward(data, rois) -> B x D) on PyTorch."""

    batchable = True

    def __init__(self, weights: str | os.PathLike, mode: str = "eager", pca_name: str = "pooled_rois/pca",
                 threads: int | None = None) -> None:
        if mode not in ("eager", "script"):
            raise ValueError(f"mode must be eager or script, got {mode!r}")
        if threads:
            torch.set_num_threads(int(threads))
        blobs = read_caffemodel(weights)
        trunk = ResNet101Trunk()
        trunk.load(blobs)
        self.trunk = trunk.eval()
        self.shift_a = torch.from_numpy(blobs["pooled_rois/centered"][0].reshape(1, -1))
        self.shift_b = torch.from_numpy(blobs["pooled_rois/centered"][1].reshape(1, -1))
        self.pca_w = torch.from_numpy(blobs[pca_name][0].reshape(blobs[pca_name][0].shape[0], -1))
        self.pca_b = torch.from_numpy(blobs[pca_name][1].reshape(-1))
        self.mode = mode
        self.name = f"torch-{mode}"
        self.scripted = None

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "eager":
            return self.trunk(x)
        x = x.contiguous(memory_format=torch.channels_last)
        if self.scripted is None:
            model = self.trunk.to(memory_format=torch.channels_last)
            traced = torch.jit.trace(model, x, check_trace=False)
            self.scripted = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
        return self.scripted(x)

    @torch.inference_mode()
    def forward(self, data: np.ndarray, rois: np.ndarray) -> np.ndarray:
        features = self._features(torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32)))
        regions = _l2(roi_max_pool(features.contiguous(), rois, 1.0 / 32))
        regions = _l2((regions * self.shift_a + self.shift_b) @ self.pca_w.T + self.pca_b)
        index = torch.from_numpy(rois[:, 0].astype(np.int64))
        total = regions.new_zeros(len(data), regions.shape[1]).index_add_(0, index, regions)
        return _l2(total).numpy().astype(np.float32)
