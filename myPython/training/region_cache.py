"""Regional R-MAC features of labelled images, cached for the region-feature data layer (fast head training)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def cache_regions(proto: str | os.PathLike[str], weights: str | os.PathLike[str],
                  items: Sequence[tuple[int, str | os.PathLike[str]]], out: str | os.PathLike[str],
                  height: int, width: int, mean: Sequence[float], levels: int = 2,
                  blob: str = "pooled_rois/normalized", batch: int = 16, flips: bool = False) -> Path:
    """Regional features (``blob``) of (label, image) items at height x width, saved for RegionFeatureDataLayer.

    ``flips`` adds the mirrored image of every item after it (same label): twice the samples.
    """
    from myPython.common.images import load_image
    from myPython.nets.runtime import feed_net
    from myPython.nets.surgery import load_net
    from myPython.rmac.grid import rmac_rois
    from myPython.training.data_layers import save_region_cache
    from myPython.training.samplers import resize_image

    net = load_net(proto, weights)
    regions: list[np.ndarray] = []
    mean_arr = np.asarray(mean, np.float32)
    labels = []
    for start in range(0, len(items), batch):
        chunk = items[start:start + batch]
        images = []
        for label, path in chunk:
            image = resize_image(load_image(path), height, width).astype(np.float32) - mean_arr
            images += [image, image[:, ::-1]] if flips else [image]
            labels += [label, label] if flips else [label]
        data = np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2))
        rois = rmac_rois(height, width, levels, len(images))
        feats = feed_net(net, data, rois, blob).reshape(len(rois), -1)
        regions += [feats[rois[:, 0] == k].copy() for k in range(len(images))]
    return save_region_cache(out, regions, labels)
