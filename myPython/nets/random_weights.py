"""Random but well-conditioned weights for a deploy net (equivalence tests and benchmarks)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def randomize_weights(net, seed: int = 0, residual_gain: float = 0.3) -> None:
    """Fill a caffe.Net with random but well-scaled weights (He-normal convs, plausible BatchNorm stats).

    The last BatchNorm/Scale of each residual branch (``*branch2c``) gets a small gain so that
    activations stay of the same order through a deep ResNet, as in a trained net.
    """
    rng = np.random.default_rng(seed)
    layer_types = dict(zip(net._layer_names, (layer.type for layer in net.layers)))
    for name, blobs in net.params.items():
        kind = layer_types.get(name)
        if kind == "Convolution":
            w = blobs[0].data
            fan_in = int(np.prod(w.shape[1:]))
            w[...] = rng.standard_normal(w.shape) * np.sqrt(2.0 / fan_in)
            if len(blobs) > 1:
                blobs[1].data[...] = rng.normal(0, 0.05, blobs[1].data.shape)
        elif kind == "BatchNorm":
            c = blobs[0].data.size
            factor = float(rng.uniform(0.5, 2.0))
            blobs[0].data[...] = rng.normal(0, 0.2, c) * factor
            blobs[1].data[...] = rng.uniform(0.5, 1.5, c) * factor
            blobs[2].data[...] = factor
        elif kind == "Scale":
            gain = residual_gain if "branch2c" in name or "branch1" in name else 1.0
            blobs[0].data[...] = rng.uniform(0.5, 1.0, blobs[0].data.shape) * gain
            if len(blobs) > 1:
                blobs[1].data[...] = rng.normal(0, 0.1 * gain, blobs[1].data.shape)
        elif kind == "InnerProduct":
            w = blobs[0].data
            w[...] = rng.standard_normal(w.shape) / np.sqrt(w.shape[-1])
            if len(blobs) > 1:
                blobs[1].data[...] = rng.normal(0, 0.01, blobs[1].data.shape)
        else:
            for blob in blobs:
                blob.data[...] = rng.normal(0, 0.05, blob.data.shape)


def random_weights_file(proto: str | os.PathLike, out_weights: str | os.PathLike, seed: int = 0) -> Path:
    """Write a caffemodel of random weights (`randomize_weights`) for a prototxt; returns its path."""
    from myPython.nets.runtime import load_net, save_net

    net = load_net(proto)
    randomize_weights(net, seed)
    return save_net(net, out_weights)
