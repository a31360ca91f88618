"""The embedded default model: R-MAC on the open_nsfw ResNet-50-1by2 trunk.

The trunk (to `relu_stage3_block2`: 1024 channels, stride 32) and its
weights come from the pinned `nsfw` package. The head is the standard R-MAC
head of `netgen`; its PCA-whitening (the Scale shift and the InnerProduct
projection) is learned here, deterministically, from regional features of
photos that the pinned packages ship.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import cv2
import numpy as np

from myPython.common import assets
from myPython.retrieval.extractor import prepare_input
from myPython.retrieval.models import ModelSpec

BUILDER_VERSION = "1"
TRUNK_END = "relu_stage3_block2"
FEATURES_BLOB = "eltwise_stage3_block2"
CHANNELS = 1024
PCA_DIM = 512
NSFW_MEAN_BGR = (104.0, 117.0, 123.0)
# Learning set for the whitening: scales, grid levels and flips of the shipped photos.
LEARN_SCALES = (384, 512, 640)
LEARN_LEVELS = 3
# Eigenvalues are floored at this fraction of the largest before whitening.
WHITEN_FLOOR = 0.3


def learning_images() -> list[Path]:
    return assets.perception_images() + assets.skimage_photos()


def default_prototxt(trunk_proto: str | os.PathLike):
    """NetParameter: the nsfw layers up to the trunk end plus the R-MAC head."""
    from caffe import layers as L  # noqa: N812

    from myPython.nets import netgen
    from myPython.nets.runtime import caffe, caffe_pb2, read_net_param

    trunk = read_net_param(trunk_proto)
    net = caffe_pb2.NetParameter()
    net.name = "ResNet-50-1by2-RMAC"
    for layer in trunk.layer:
        net.layer.add().CopyFrom(layer)
        if layer.name == TRUNK_END:
            break
    else:
        raise ValueError(f"{trunk_proto}: no layer {TRUNK_END}")
    # Deploy nets carry no learning-rate settings.
    for layer in net.layer:
        del layer.param[:]
    spec = caffe.NetSpec()
    spec[FEATURES_BLOB] = L.Input(shape={"dim": [1, CHANNELS, 7, 7]})
    spec.rois = L.Input(shape={"dim": [8, 5]})
    netgen.rmac_head(spec, spec[FEATURES_BLOB], channels=CHANNELS, spatial_scale=1.0 / 32,
                     pca_dim=PCA_DIM, normalize="cpp")
    head = spec.to_proto()
    insert_at = 1  # after the `data` Input layer
    for layer in head.layer:
        if layer.name == FEATURES_BLOB:
            continue
        if layer.name == "rois":
            net.layer.insert(insert_at, layer)
        else:
            net.layer.add().CopyFrom(layer)
    return net


def _regional_features(net, images: list[Path]) -> np.ndarray:
    """L2-normalised regional max-pooled trunk features (`pooled_rois/normalized`)."""
    from myPython.nets.runtime import forward_regions
    from myPython.pool.images import load_image

    rows = []
    for path in images:
        image = load_image(path)
        for flipped in (image, image[:, ::-1]):
            for size in LEARN_SCALES:
                data = prepare_input(np.ascontiguousarray(flipped), size, NSFW_MEAN_BGR)
                rois = forward_regions(net, data, LEARN_LEVELS, end="pooled_rois/normalized")
                rows.append(net.blobs["pooled_rois/normalized"].data.reshape(len(rois), -1).copy())
    return np.concatenate(rows).astype(np.float64)


def learn_pca_whitening(vectors: np.ndarray, dim: int, floor: float = WHITEN_FLOOR) -> tuple[np.ndarray, np.ndarray]:
    """(mean, projection dim x D) such that (x - mean) @ projection.T is whitened."""
    mean = vectors.mean(axis=0)
    centered = vectors - mean
    cov = centered.T @ centered / max(len(vectors) - 1, 1)
    eigval, eigvec = np.linalg.eigh(cov)
    order = np.argsort(eigval)[::-1][:dim]
    eigval, eigvec = eigval[order], eigvec[:, order]
    # Fix the sign of each component so that the result does not depend on LAPACK.
    signs = np.sign(eigvec[np.abs(eigvec).argmax(axis=0), np.arange(eigvec.shape[1])])
    eigvec = eigvec * signs
    scale = 1.0 / np.sqrt(np.maximum(eigval, floor * eigval[0]))
    return mean, (eigvec * scale).T


def calibrate_threshold(proto: Path, weights: Path, target_precision: float = 0.99) -> float:
    """Lowest cosine threshold reaching the target precision on edited copies of shipped photos.

    Calibration pairs: each perception photo against a crop, a small
    re-compressed copy, a mirror and a captioned copy of itself (positives)
    and of every other photo, scikit-image's included (negatives).
    """
    from myPython.apps.threshold_study import threshold_grid
    from myPython.pool.images import load_image
    from myPython.retrieval.extractor import DescriptorExtractor, ExtractionSettings

    # fp32: the threshold is calibrated on exact descriptors (`auto` may run int8 once a sidecar exists).
    extractor = DescriptorExtractor.from_files(proto, weights, ExtractionSettings(mean_bgr=NSFW_MEAN_BGR),
                                               engine="onnxruntime")
    originals = [load_image(p) for p in assets.perception_images()]
    distractors = [load_image(p) for p in assets.skimage_photos()]
    base = extractor.describe_batch(originals + distractors)
    edits = []
    for image in originals:
        h, w = image.shape[:2]
        small = cv2.resize(image, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 35])
        captioned = image.copy()
        cv2.putText(captioned, "LIVE", (4, h - 6), cv2.FONT_HERSHEY_SIMPLEX, h / 120, (255, 255, 255), 2)
        edits.append([image[h // 10 : h - h // 10, w // 10 : w - w // 10], cv2.imdecode(buf, cv2.IMREAD_COLOR),
                      np.ascontiguousarray(image[:, ::-1]), captioned])
    sims = np.stack([extractor.describe_batch(e) @ base.T for e in edits])  # photo x edit x photo
    same = np.eye(len(originals), len(base), dtype=bool)[:, None, :].repeat(sims.shape[1], axis=1)
    pos, neg = sims[same], sims[~same]
    for t in threshold_grid(0.0, 1.0):
        tp, fp = (pos >= t).sum(), (neg >= t).sum()
        if tp and tp / (tp + fp) >= target_precision:
            return float(t)
    return 1.0


def add_video_calibration(spec: ModelSpec) -> None:
    """The video-matching hook: calibrate on training videos with this model, record it in the sidecar."""
    from myPython.datasets.video_calibration import calibrate_video_matching

    cosine = spec.info.get("recommended_cosine_threshold", spec.info["recommended_threshold"])
    cal = calibrate_video_matching(spec.proto, spec.weights, spec.settings(), spec.fingerprint(), cosine)
    spec.info["recommended_video_threshold"] = cal["threshold"]
    spec.info["video_matching"] = cal


def _model_dir() -> Path:
    nsfw = assets.PACKAGES["nsfw"].sha256
    netgen_src = Path(__file__).with_name("netgen.py").read_bytes()
    from myPython.datasets.video_calibration import calibration_sources

    key = hashlib.sha256(f"{BUILDER_VERSION}{nsfw}{PCA_DIM}{WHITEN_FLOOR}{LEARN_SCALES}{LEARN_LEVELS}".encode()
                         + netgen_src + Path(__file__).read_bytes() + calibration_sources()).hexdigest()[:12]
    return assets.cache_dir() / "models" / f"default-{key}"


def default_model(rebuild: bool = False) -> ModelSpec:
    """The default model, built into the cache on first use."""
    out = _model_dir()
    proto, weights = out / "deploy.prototxt", out / "default.caffemodel"
    spec = ModelSpec(name="default", proto=str(proto), weights=str(weights), mean_bgr=NSFW_MEAN_BGR,
                     S=512, L=2, dim=PCA_DIM)
    if weights.exists() and Path(str(weights) + ".json").exists() and not rebuild:
        from myPython.retrieval.models import load_model

        return load_model(proto, weights)
    from google.protobuf import text_format

    from myPython.nets.runtime import caffe

    out.mkdir(parents=True, exist_ok=True)
    trunk_proto, trunk_weights = assets.nsfw_files()
    net_param = default_prototxt(trunk_proto)
    tmp_proto = out / "deploy.prototxt.tmp"
    tmp_proto.write_text("# R-MAC on the open_nsfw ResNet-50-1by2 trunk; generated by myPython.nets.default_model\n"
                         + text_format.MessageToString(net_param))
    net = caffe.Net(str(tmp_proto), caffe.TEST)
    net.copy_from(str(trunk_weights))
    images = learning_images()
    mean, projection = learn_pca_whitening(_regional_features(net, images), PCA_DIM)
    net.params["pooled_rois/centered"][0].data[...] = 1.0
    net.params["pooled_rois/centered"][1].data[...] = -mean
    net.params["pooled_rois/pca"][0].data[...] = projection
    net.params["pooled_rois/pca"][1].data[...] = 0.0
    tmp_weights = out / "default.caffemodel.tmp"
    net.save(str(tmp_weights))
    os.replace(tmp_proto, proto)
    os.replace(tmp_weights, weights)
    threshold = calibrate_threshold(proto, weights)
    spec.info = {
        "recommended_threshold": threshold,
        "threshold_calibration": "lowest cosine with precision >= 0.99 on crops, re-compressed, mirrored and "
                                 "captioned copies of the 10 perception photos against them and 17 scikit-image photos",
        "trunk": f"open_nsfw ResNet-50-1by2 to {TRUNK_END} ({assets.PACKAGES['nsfw'].requirement}, "
                 f"sha256 {assets.PACKAGES['nsfw'].sha256})",
        "head": f"R-MAC, PCA-whitening {CHANNELS}->{PCA_DIM} learned on {len(images)} shipped photos "
                f"(scales {LEARN_SCALES}, L={LEARN_LEVELS}, flips)",
        "weights_sha256": assets.sha256_file(weights),
    }
    add_video_calibration(spec)
    spec.save_sidecar()
    return spec
