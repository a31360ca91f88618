"""The embedded default model, built at install: R-MAC on the open_nsfw ResNet-50-1by2 trunk.

The network is `nets.default_net` (trunk to `relu_stage3_block2` plus the standard R-MAC head). Its whitening
(the Scale shift and the InnerProduct projection) is learned here from same-origin pairs of the TRAIN split
(build/copy_head.py); the same-origin score is calibrated on the CALIBRATION split (build/calibration.py) and on
the training videos (build/video_calibration.py); the noise set that tells blank frames from content is described
once; the int8 engine is quantised, gated and timed on this CPU (build/int8_choice.py). All of it goes into the
model's folder and sidecar, which `retrieval.models.load_model` only reads.

Reproducible across CPUs: everything learned or calibrated runs the fp32 ONNX Runtime engine with BUILD_THREADS
threads (never int8, whatever `auto` picks later), so two machines learn the same head up to float rounding and
calibrate thresholds that agree (tests/test_build_reproducible.py compares two calibrations).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from myPython.build.engine import BUILD_ENGINE, BUILD_THREADS, build_extractor, regional_engine
from myPython.build.head_choice import HEAD, HEAD_CHOICE
from myPython.common import assets
from myPython.common.fileio import atomic_save_npy, atomic_write_text, atomic_write_with
from myPython.nets.default_net import CHANNELS, NSFW_MEAN_BGR, PCA_DIM, TRUNK_END, trunk_files
from myPython.retrieval import default_location as location
from myPython.retrieval.models import ModelSpec



def _say(message: str) -> None:
    """Progress of the build on stderr (the install prints it: the build takes minutes)."""
    print(f"[default model {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def add_video_calibration(spec: ModelSpec) -> None:
    """The video-matching hook: calibrate on training videos with this model, record it in the sidecar."""
    from myPython.build.video_calibration import calibrate_video_matching

    cal = calibrate_video_matching(spec.proto, spec.weights, spec.settings(), spec.fingerprint())
    spec.info["recommended_video_threshold"] = cal["threshold"]
    spec.info["video_matching"] = cal


def learned_head(progress: bool = False):
    """The head's whitening learned on the train split, cached by what it depends on (minutes to learn)."""
    from myPython.build import copy_head
    from myPython.datasets.copies import copy_set
    from myPython.retrieval.whitening import PCA

    path = assets.cache_dir() / "models" / f"{location.head_key()}.npz"
    if path.exists():
        return PCA.load(path), json.loads(path.with_suffix(".json").read_text())
    _say("learning the head's whitening from the train split's same-origin pairs")
    train = copy_set("train", copy_head.TRAIN_SEED, reencode_every=2)
    regions = copy_head.extract(regional_engine(), [c.image for c in train], HEAD, NSFW_MEAN_BGR, progress)
    labels = [c.origin for c in train]
    head = copy_head.learn_head(regions, labels, HEAD, PCA_DIM)
    about = {"images": len(train), "pairs": int(len(copy_head.same_origin_pairs(labels)[0]))}
    atomic_write_text(path.with_suffix(".json"), json.dumps(about) + "\n")
    atomic_write_with(path, lambda tmp: head.save(tmp), suffix=".npz")
    return head, about


def image_calibration(extractor, threads_note: str = "") -> dict:
    """The image-side calibration (build/calibration.py), cached by what it depends on (the weights and the
    calibration code: the image part of the build key), so that a change to video matching does not redo it."""
    from myPython.build import copy_head
    from myPython.build.calibration import calibrate
    from myPython.datasets.copies import copy_set

    path = assets.cache_dir() / "models" / f"{location.image_key()}.image-calibration.json"
    if path.exists():
        return json.loads(path.read_text())
    _say("calibrating the same-origin score on the calibration split" + threads_note)
    calibration = copy_set("calibration", copy_head.CALIBRATION_SEED)
    result = calibrate(extractor, [c.image for c in calibration], [c.origin for c in calibration])
    atomic_write_text(path, json.dumps(result) + "\n")
    return result


def write_noise_descriptors(extractor, weights: str | Path) -> Path:
    """The noise set's descriptors beside the caffemodel (`match-videos` reads them instead of a network)."""
    from myPython.pool.informative import MODEL_NOISE_FILE, noise_frames

    path = Path(str(weights)).parent / MODEL_NOISE_FILE
    atomic_save_npy(path, extractor.describe_batch(noise_frames()).astype(np.float32))
    return path


def _write_weights(proto: Path, weights: Path, head) -> None:
    from myPython.nets.runtime import caffe
    from myPython.retrieval.whitening import head_blobs

    trunk_proto, trunk_weights = trunk_files()
    net = caffe.Net(str(trunk_proto), caffe.TEST)
    net.copy_from(str(trunk_weights))
    scale, bias, projection, offset = head_blobs(head)
    net.params["pooled_rois/centered"][0].data[...] = scale
    net.params["pooled_rois/centered"][1].data[...] = bias
    net.params["pooled_rois/pca"][0].data[...] = projection
    net.params["pooled_rois/pca"][1].data[...] = offset
    atomic_write_text(proto, Path(trunk_proto).read_text())
    atomic_write_with(weights, lambda tmp: net.save(str(tmp)), suffix=".caffemodel")


def build_default_model(rebuild: bool = False, progress: bool = False) -> ModelSpec:
    """Build the default model into its cache folder (about 15 minutes on 2 cores), unless it is there."""
    from myPython.retrieval.models import load_model

    out = location.model_dir()
    proto, weights = out / "deploy.prototxt", out / "default.caffemodel"
    if weights.exists() and Path(str(weights) + ".json").exists() and not rebuild:
        return load_model()
    _say(f"building {out.name} (learned once, cached)")
    out.mkdir(parents=True, exist_ok=True)
    _say("converting the open_nsfw trunk")
    trunk_files()
    head, about = learned_head(progress)
    _write_weights(proto, weights, head)
    spec = ModelSpec(name="default", proto=str(proto), weights=str(weights), mean_bgr=NSFW_MEAN_BGR,
                     S=max(HEAD.scales), L=HEAD.L, dim=PCA_DIM, scales=HEAD.scales)
    _say("exporting to ONNX and checking it against Caffe")
    extractor = build_extractor(proto, weights, spec.settings())
    calibrated = image_calibration(extractor)
    spec.info = {
        **calibrated,
        "trunk": f"open_nsfw ResNet-50-1by2 to {TRUNK_END} ({assets.PACKAGES['nsfw'].requirement}, "
                 f"sha256 {assets.PACKAGES['nsfw'].sha256})",
        "head": f"R-MAC, learned whitening {CHANNELS}->{PCA_DIM} (Radenovic et al. 2016) from the matched regions "
                f"of {about['pairs']} same-origin pairs of {about['images']} images: the train split's photos, "
                "their edits and training clip frames",
        "settings_choice": HEAD_CHOICE,
        "build": out.name,
        "build_engine": f"{BUILD_ENGINE}, {BUILD_THREADS} threads (fp32 whatever the CPU)",
        "weights_sha256": assets.sha256_file(weights),
        "image_calibration_sha256": location.calibration_digest(calibrated),
    }
    _say("describing the noise set (blank and title frames) for video matching")
    write_noise_descriptors(extractor, weights)
    _say("calibrating video matching on the training videos")
    add_video_calibration(spec)
    spec.info["video_calibration_sha256"] = location.calibration_digest(spec.info["video_matching"])
    spec.save_sidecar()
    _say("int8: quantising, gating and timing against fp32 on this CPU")
    from myPython.build.int8_choice import prepare_int8

    choice = prepare_int8(proto, weights)
    _say(f"int8 choice here: {'int8' if choice['use_int8'] else 'fp32'} ({choice['reason']})")
    _say("done")
    return load_model()


def record_heldout(kind: str, spec: ModelSpec, record: dict) -> Path:
    """Write held-out numbers measured with the current default model (`spec`) for `model info` to report on this
    exact build only (`retrieval.default_location.heldout_records`)."""
    from myPython.errors import UsageError

    identity = location.build_identity(spec.info, kind)
    if spec.info.get("build") != location.build_key() or identity is None:
        raise UsageError("--record: only the current default model's held-out numbers are recorded")
    path = location.HELDOUT_FILES[kind]
    atomic_write_text(path, json.dumps({"build": spec.info["build"], "identity": identity, **record}, indent=1)
                      + "\n")
    return path
