"""One model, whatever the machine: the build learns and calibrates with fp32 ONNX Runtime and a fixed thread
count, so a second build with other code paths gives the same thresholds and decisions; `model info` shows
held-out numbers only for the exact build they were measured on."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from myPython.build import copy_head
from myPython.build.calibration import calibrate
from myPython.build.engine import BUILD_THREADS, build_extractor
from myPython.datasets.copies import copy_set
from myPython.retrieval import default_location as location
from myPython.retrieval.engines import OnnxRuntimeEngine
from myPython.retrieval.extractor import DescriptorExtractor
from myPython.retrieval.models import load_model

THRESHOLD_TOLERANCE = 0.01
DECISION_AGREEMENT = 0.995


@pytest.fixture(scope="module")
def calibration_set():
    copies = copy_set("calibration", copy_head.CALIBRATION_SEED)
    return [c.image for c in copies], [c.origin for c in copies]


def test_the_build_engine_is_fp32_whatever_the_int8_choice(monkeypatch):
    spec = load_model()
    for override in ("on", "off", "auto"):
        monkeypatch.setenv("DEEP_RETRIEVAL_INT8", override)
        extractor = build_extractor(spec.proto, spec.weights, spec.settings())
        assert extractor.engine.name == "onnxruntime" and extractor.engine.threads == BUILD_THREADS
        assert not extractor.key().endswith("_int8")


@pytest.mark.slow
def test_a_second_build_on_other_code_paths_agrees(calibration_set):
    """Build B calibrates like another machine would: one ONNX Runtime thread instead of BUILD_THREADS, and OpenCV
    without its CPU-specific (SIMD) code paths for SIFT and image resizing. Its thresholds stay within 0.01 of
    the installed build's and its decisions agree on >= 99.5% of the calibration pairs."""
    spec = load_model()
    images, labels = calibration_set
    a = calibrate(build_extractor(spec.proto, spec.weights, spec.settings()), images, labels, decisions=True)
    for key in ("recommended_threshold", "recommended_cosine_threshold"):  # the build is deterministic
        assert a[key] == spec.info[key], key
    one_thread = OnnxRuntimeEngine(spec.proto, spec.weights, spec.output, threads=1)
    optimized = cv2.useOptimized()
    cv2.setUseOptimized(False)
    try:
        b = calibrate(DescriptorExtractor(one_thread, spec.settings()), images, labels, decisions=True)
    finally:
        cv2.setUseOptimized(optimized)
    for key in ("recommended_threshold", "recommended_cosine_threshold"):
        assert abs(a[key] - b[key]) <= THRESHOLD_TOLERANCE, (key, a[key], b[key])
    assert len(a["decisions"]) == len(b["decisions"]) == a["calibration"]["pairs"]
    agreement = float(np.mean(a["decisions"] == b["decisions"]))
    assert agreement >= DECISION_AGREEMENT, agreement


def test_model_info_shows_held_out_numbers_of_this_exact_build_only(tmp_path, monkeypatch):
    spec = load_model()
    info = dict(spec.info)
    record = {"set": "a test record", "mAP": 0.5}
    files = {kind: tmp_path / f"{kind}.json" for kind in location.HELDOUT_FILES}
    monkeypatch.setattr(location, "HELDOUT_FILES", files)
    for kind, path in files.items():
        path.write_text(json.dumps({**record, "identity": location.build_identity(info, kind)}))
    shown = location.heldout_records(info)
    assert all(shown[kind]["mAP"] == 0.5 for kind in files)
    for key, other in (("weights_sha256", "0" * 64), ("image_calibration_sha256", "f" * 16),
                       ("build", "default-000000000000-000000000000")):
        elsewhere = {**info, key: other}  # another machine's weights, calibration or sources
        assert location.heldout_records(elsewhere) == {kind: location.NOT_MEASURED for kind in files}, key
    other_video = {**info, "video_calibration_sha256": "e" * 16}  # only the video side differs
    shown = location.heldout_records(other_video)
    assert shown["heldout"]["mAP"] == 0.5 and shown["heldout_videos"] == location.NOT_MEASURED
    files["heldout"].unlink()
    assert location.heldout_records(info)["heldout"] == location.NOT_MEASURED
    assert "run `make eval`" in location.NOT_MEASURED
