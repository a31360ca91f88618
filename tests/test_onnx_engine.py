"""The ONNX export and the ONNX Runtime / folded-Caffe engines against the Caffe reference."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from caffe_helpers import data_input, layer, python_layer
from google.protobuf import text_format

from myPython.common import assets
from myPython.nets import folding, netgen, onnx_export, random_weights
from myPython.nets.onnx_export import UnsupportedLayerError
from myPython.retrieval import engines
from myPython.retrieval.extractor import DescriptorExtractor, ExtractionSettings, as_bgr
from myPython.rmac.grid import rmac_rois

TOL = 1e-4


def _tiny(tmp: Path, name: str, seed: int = 0, **kwargs) -> tuple[Path, Path]:
    """A random-weight R-MAC net on a quarter-width ResNet-50 (fast, same layer types as the real ones)."""
    args = {"depth": 50, "width": 0.25, "pca_dim": 64, "input_hw": (96, 128)} | kwargs
    proto = tmp / f"{name}.prototxt"
    proto.write_text(text_format.MessageToString(netgen.deploy_net(**args)))
    return proto, random_weights.random_weights_file(proto, tmp / f"{name}.caffemodel", seed=seed)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    return _tiny(tmp_path_factory.mktemp("tiny"), "tiny")


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    """Real photos of several sizes and aspect ratios (decoded once)."""
    return [as_bgr(p) for p in assets.skimage_photos()]


def _top10(descriptors: np.ndarray) -> np.ndarray:
    sims = descriptors @ descriptors.T
    return np.argsort(-sims, axis=1, kind="stable")[:, 1:11]


def _both(proto: Path, weights: Path, settings: ExtractionSettings, images, batch_size: int = 4):
    ref = DescriptorExtractor(engines.open_engine("caffe", proto, weights), settings, batch_size)
    fast = DescriptorExtractor(engines.open_engine("onnxruntime", proto, weights), settings, batch_size)
    assert fast.engine.name == "onnxruntime" and fast.engine.batchable
    return ref.describe_batch(images), fast.describe_batch(images)


# -------------------------------------------------------------------------------------------- equivalence


def test_tiny_net_descriptors_match_caffe_on_photos(tiny, photos):
    a, b = _both(*tiny, ExtractionSettings(S=224, L=2), photos)
    assert a.shape == b.shape == (len(photos), 64)
    assert np.abs(a - b).max() < TOL
    assert np.array_equal(_top10(a), _top10(b))


def test_default_model_descriptors_match_caffe(photos):
    from myPython.retrieval.models import load_model

    spec = load_model()
    images = photos[:6] + [as_bgr(p) for p in assets.perception_images()[:6]]
    a, b = _both(Path(spec.proto), Path(spec.weights), spec.settings(S=384), images)
    assert a.shape == (12, spec.dim)
    assert np.abs(a - b).max() < TOL
    assert np.array_equal(_top10(a), _top10(b))


def test_batches_of_different_sizes_and_multires(tiny, photos):
    # Several images per size (batched forwards) and several sizes in one call, three scales.
    images = []
    for size in ((300, 400), (400, 300), (256, 256)):
        images += [cv2.resize(p, size[::-1], interpolation=cv2.INTER_AREA) for p in photos[:3]]
    a, b = _both(*tiny, ExtractionSettings(S=200, L=3, multires=True, scales=(160, 200, 240)), images, batch_size=8)
    assert np.abs(a - b).max() < TOL
    # One batched forward equals forwards one image at a time.
    engine = engines.open_engine("onnxruntime", *tiny)
    rng = np.random.default_rng(1)
    data = rng.uniform(-120, 120, (3, 3, 160, 224)).astype(np.float32)
    together = engine.forward(data, rmac_rois(160, 224, 2, 3))
    alone = np.concatenate([engine.forward(data[i : i + 1], rmac_rois(160, 224, 2, 1)) for i in range(3)])
    assert np.abs(together - alone).max() < 1e-6


def test_export_graph_is_folded_and_dynamic(tmp_path, tiny):
    import onnx
    from caffe.proto import caffe_pb2

    proto, weights = tiny
    path = onnx_export.export_onnx(proto, weights, tmp_path / "tiny.onnx")
    assert path == tmp_path / "tiny.onnx"
    model = onnx.load(str(path))
    ops = [n.op_type for n in model.graph.node]
    convs = sum(1 for x in text_format.Merge(proto.read_text(), caffe_pb2.NetParameter()).layer
                if x.type == "Convolution")
    assert ops.count("Conv") == convs and "BatchNormalization" not in ops
    assert ops.count("Mul") == 1  # the R-MAC shift; every BatchNorm/Scale went into a convolution
    assert "MaxRoiPool" in ops and "Gemm" in ops
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    assert dims == {"data": ["data_batch", 3, "data_height", "data_width"], "rois": ["num_rois", 5]}
    assert [o.name for o in model.graph.output] == ["rmac/normalized"]


@pytest.mark.parametrize("output", ["res5c", "pooled_rois", "pooled_rois/pca"])
def test_intermediate_outputs(tiny, output):
    proto, weights = tiny
    rng = np.random.default_rng(2)
    data = rng.uniform(-120, 120, (2, 3, 128, 160)).astype(np.float32)
    rois = rmac_rois(128, 160, 2, 2)
    ref = engines.CaffeEngine(proto, weights, output=output).forward(data, rois)
    got = engines.OnnxRuntimeEngine(proto, weights, output=output).forward(data, rois)
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() <= TOL * max(1.0, np.abs(ref).max())


def test_python_normalize_layers(tmp_path, photos):
    proto, weights = _tiny(tmp_path, "normpython", seed=3, normalize="python")
    a, b = _both(proto, weights, ExtractionSettings(S=192, L=2), photos[:5])
    assert np.abs(a - b).max() < TOL


def _pool_net(tmp: Path, pool: str, kernel: int, stride: int, pad: int) -> Path:
    proto = tmp / f"pool_{kernel}{stride}{pad}.prototxt"
    proto.write_text(
        data_input("data", (1, 2, 9, 9)) + data_input("rois", (1, 5))
        + layer("pool", "Pooling", ["data"], ["pool"],
                f"pooling_param {{ pool: {pool} kernel_size: {kernel} stride: {stride} pad: {pad} }}")
    )
    return proto


@pytest.mark.parametrize("kernel,stride,pad", [(3, 2, 0), (3, 2, 1), (2, 2, 1), (3, 3, 1), (2, 1, 0)])
def test_max_pooling_ceil_rounding_matches_caffe(tmp_path, kernel, stride, pad):
    import caffe

    proto = _pool_net(tmp_path, "MAX", kernel, stride, pad)
    net = caffe.Net(str(proto), caffe.TEST)
    session = engines.ort_session(onnx_export.build_onnx(proto, None, "pool", net=net).SerializeToString())
    rng = np.random.default_rng(0)
    for h, w in ((5, 5), (6, 7), (8, 11), (13, 12)):
        x = rng.standard_normal((2, 2, h, w)).astype(np.float32)
        net.blobs["data"].reshape(*x.shape)
        net.blobs["data"].data[...] = x
        ref = net.forward()["pool"]
        got = session.run(["pool"], {"data": x})[0]
        assert got.shape == ref.shape and np.array_equal(got, ref), (h, w)


# -------------------------------------------------------------------------------------------- errors


def test_unsupported_layer_is_named(tmp_path):
    proto = tmp_path / "lrn.prototxt"
    proto.write_text(data_input("data", (1, 3, 8, 8)) + data_input("rois", (1, 5))
                     + layer("my_lrn", "LRN", ["data"], ["y"]))
    with pytest.raises(UnsupportedLayerError, match="layer 'my_lrn' of type LRN"):
        onnx_export.export_onnx(proto, None, tmp_path / "x.onnx", output="y")
    assert issubclass(UnsupportedLayerError, ValueError)

    proto = tmp_path / "resize.prototxt"
    proto.write_text(data_input("data", (1, 3, 8, 8)) + data_input("rois", (1, 5))
                     + python_layer("resize_it", "ResizeLayer", ["data"], ["y"], "{'size': 4}"))
    with pytest.raises(UnsupportedLayerError, match="layer 'resize_it' of type Python custom_layers.ResizeLayer"):
        onnx_export.build_onnx(proto, None, output="y")


def test_ceil_pooling_with_stride_above_kernel_is_refused(tmp_path):
    import caffe

    proto = _pool_net(tmp_path, "MAX", 2, 3, 0)
    with pytest.raises(UnsupportedLayerError, match="layer 'pool' of type Pooling"):
        onnx_export.build_onnx(proto, None, "pool", net=caffe.Net(str(proto), caffe.TEST))


def test_auto_falls_back_to_caffe_for_unsupported_nets(tmp_path, tiny, monkeypatch):
    # int8 left out, whatever this CPU measured or the cache holds (an int8 model of this very net may have been
    # built by test_int8_engine.py): the fp32 fallback chain is what is tested here
    monkeypatch.setenv("DEEP_RETRIEVAL_INT8", "off")
    assert engines.open_engine("auto", *tiny).name == "onnxruntime"
    proto = tmp_path / "lrn_rmac.prototxt"
    text = tiny[0].read_text().replace('type: "ReLU"', 'type: "LRN"', 1)
    proto.write_text(text)
    engine = engines.open_engine("auto", proto, tiny[1])
    assert engine.name == "caffe"
    with pytest.raises(ValueError, match="unknown engine"):
        engines.open_engine("tensorrt", *tiny)


# -------------------------------------------------------------------------------------------- cache


def test_cache_reuse_and_rebuild(tmp_path, monkeypatch):
    proto, weights = _tiny(tmp_path, "cached", seed=5)
    first = engines.ensure_onnx(proto, weights)
    assert first.parent == weights.parent and first.name.startswith("cached.caffemodel.")
    assert first.suffix == ".onnx" and len(first.name.split(".")[-2]) == 16

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the cached export should have been reused")

    with monkeypatch.context() as m:
        m.setattr(onnx_export, "build_onnx", no_rebuild)
        assert engines.ensure_onnx(proto, weights) == first
        engine = engines.OnnxRuntimeEngine(proto, weights)
        assert engine.onnx_path == first

    # New weights (same file name): a new export, equal to Caffe with the new weights.
    stat = weights.stat()
    random_weights.random_weights_file(proto, weights, seed=6)
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    second = engines.ensure_onnx(proto, weights)
    assert second != first and second.exists()
    rng = np.random.default_rng(0)
    data = rng.uniform(-120, 120, (1, 3, 96, 96)).astype(np.float32)
    rois = rmac_rois(96, 96, 2)
    ref = engines.CaffeEngine(proto, weights).forward(data, rois)
    assert np.abs(engines.OnnxRuntimeEngine(proto, weights).forward(data, rois) - ref).max() < TOL

    # A changed prototxt is a new key too; an unwritable model folder uses the cache dir.
    proto.write_text(proto.read_text() + "\n# edited\n")
    monkeypatch.setenv("DEEP_RETRIEVAL_CACHE", str(tmp_path / "cache"))
    real_access = os.access
    monkeypatch.setattr(engines.os, "access", lambda p, mode: False if Path(p) == weights.parent
                        else real_access(p, mode))
    third = engines.ensure_onnx(proto, weights)
    assert third.parent == tmp_path / "cache" / "derived" and third.exists()
    assert not list(tmp_path.glob("*.part"))


# -------------------------------------------------------------------------------------------- folding


def test_fold_batchnorm_matches_caffe(tmp_path, tiny):
    import caffe

    proto, weights = tiny
    out_proto, out_weights = tmp_path / "f.prototxt", tmp_path / "f.caffemodel"
    assert folding.fold_batchnorm(proto, weights, out_proto, out_weights)
    folded = text_format.Merge(out_proto.read_text(), caffe.proto.caffe_pb2.NetParameter())
    types = [x.type for x in folded.layer]
    assert "BatchNorm" not in types and types.count("Scale") == 1  # only the R-MAC shift remains
    assert all(x.convolution_param.bias_term for x in folded.layer if x.type == "Convolution")
    rng = np.random.default_rng(3)
    data = rng.uniform(-120, 120, (2, 3, 160, 192)).astype(np.float32)
    rois = rmac_rois(160, 192, 3, 2)
    for output in ("res5c", "rmac/normalized"):
        ref = engines.CaffeEngine(proto, weights, output=output).forward(data, rois)
        got = engines.CaffeEngine(out_proto, out_weights, output=output).forward(data, rois)
        assert np.abs(got - ref).max() <= TOL * max(1.0, np.abs(ref).max())
    engine = engines.open_engine("caffe-folded", proto, weights)
    assert engine.name == "caffe-folded"
    assert np.abs(engine.forward(data, rois) - ref).max() < TOL
