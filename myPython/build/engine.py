"""The engine every learning and calibration step of a build runs: fp32 ONNX Runtime with a fixed thread count.

Never int8 (whatever `--engine auto` picks later on this CPU) and never "all cores": two machines then compute the
same descriptors up to float rounding, and learn the same head and thresholds.
"""

from __future__ import annotations

from pathlib import Path

from myPython.nets.default_net import trunk_files

BUILD_ENGINE = "onnxruntime"  # fp32: the build never learns from int8 descriptors
BUILD_THREADS = 2  # fixed, whatever the machine: results must not depend on its core count


def regional_engine(engine: str = BUILD_ENGINE):
    """An engine whose output is the regional features `pooled_rois/normalized` of the default trunk."""
    from myPython.retrieval.engines import OnnxRuntimeEngine, ensure_onnx, open_engine

    proto, weights = trunk_files()
    if engine == "onnxruntime":
        output = "pooled_rois/normalized"
        return OnnxRuntimeEngine(proto, weights, output, onnx_path=ensure_onnx(proto, weights, output, BUILD_THREADS),
                                 threads=BUILD_THREADS)
    return open_engine(engine, proto, weights, output="pooled_rois/normalized")


def build_extractor(proto: str | Path, weights: str | Path, settings):
    """The extractor every calibration of the build uses: fp32 ONNX Runtime, BUILD_THREADS threads."""
    from myPython.retrieval.engines import OnnxRuntimeEngine, ensure_onnx
    from myPython.retrieval.extractor import DescriptorExtractor

    onnx = ensure_onnx(proto, weights, "rmac/normalized", BUILD_THREADS)
    engine = OnnxRuntimeEngine(proto, weights, "rmac/normalized", onnx_path=onnx, threads=BUILD_THREADS)
    return DescriptorExtractor(engine, settings)
