"""Engines that run a deploy net: data (B x 3 x H x W) + rois (R x 5) -> B x D."""

from __future__ import annotations

import os

import numpy as np


class CaffeEngine:
    """pycaffe forward of a prototxt + caffemodel up to an output blob."""

    name = "caffe"

    def __init__(self, proto: str | os.PathLike, weights: str | os.PathLike | None,
                 output: str = "rmac/normalized", gpu: int | None = None) -> None:
        from .caffe_runtime import ModelError, load_net, set_device

        self.device = set_device(gpu)
        self.net = load_net(proto, weights)
        self.proto, self.weights, self.output = str(proto), weights and str(weights), output
        for blob in ("data", "rois"):
            if blob not in self.net.blobs:
                raise ModelError(f"{proto}: the net has no input blob '{blob}'")
        if output not in self.net.blobs:
            raise ModelError(f"{proto}: the net has no blob '{output}' (use --end/--output to pick one)")
        self._shape: tuple[tuple[int, ...], tuple[int, ...]] | None = None
        self.batchable = self._probe_batchable()

    def _probe_batchable(self) -> bool:
        """True when the net keeps one output row per image (region sum by batch index)."""
        from .region_generator import rmac_rois

        data = np.zeros((2, 3, 64, 64), dtype=np.float32)
        return len(self.forward(data, rmac_rois(64, 64, 1, 2))) == 2

    def _reshape(self, data_shape: tuple[int, ...], rois_shape: tuple[int, ...]) -> None:
        if self._shape != (data_shape, rois_shape):
            self.net.blobs["data"].reshape(*data_shape)
            self.net.blobs["rois"].reshape(*rois_shape)
            self._shape = (data_shape, rois_shape)

    def forward(self, data: np.ndarray, rois: np.ndarray) -> np.ndarray:
        self._reshape(data.shape, rois.shape)
        self.net.blobs["data"].data[...] = data
        self.net.blobs["rois"].data[...] = rois
        out = self.net.forward(end=self.output)[self.output]
        return np.array(out.reshape(out.shape[0], -1), dtype=np.float32)


def open_engine(kind: str, proto: str | os.PathLike, weights: str | os.PathLike | None, *,
                output: str = "rmac/normalized", gpu: int | None = None):
    """Engine by name: 'caffe' (the reference)."""
    if kind == "caffe":
        return CaffeEngine(proto, weights, output=output, gpu=gpu)
    raise ValueError(f"unknown engine {kind!r} (available: caffe)")
