"""The engine every learning and calibration step of a build runs: fp32 ONNX Runtime with a fixed thread count.

Never int8 (whatever `--engine auto` picks later on this CPU) and never "all cores": two machines then compute the
same descriptors up to float rounding, and learn the same head and thresholds.
"""

from __future__ import annotations

from pathlib import Path

from myPython.nets.default_net import trunk_files

BUILD_ENGINE = "onnxruntime"  # fp32: the build never learns from int8 descriptors
BUILD_THREADS = 2  # fixed, whatever the machine: results must not depend on its core count


def fp32_engine(proto: str | Path, weights: str | Path, output: str):
    """fp32 ONNX Runtime on BUILD_THREADS threads, for the net's `output` blob (exported and checked once)."""
    from myPython.retrieval.engines import OnnxRuntimeEngine, ensure_onnx

    onnx = ensure_onnx(proto, weights, output, BUILD_THREADS)
    return OnnxRuntimeEngine(proto, weights, output, onnx_path=onnx, threads=BUILD_THREADS)


def regional_engine():
    """The build engine for the regional features `pooled_rois/normalized` of the default trunk."""
    return fp32_engine(*trunk_files(), "pooled_rois/normalized")


def build_extractor(proto: str | Path, weights: str | Path, settings):
    """The extractor every calibration of the build uses."""
    from myPython.retrieval.extractor import DescriptorExtractor

    return DescriptorExtractor(fp32_engine(proto, weights, "rmac/normalized"), settings)
