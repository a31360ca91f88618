"""The int8 engine: what is quantised, bias correction, caching, the accuracy gate and `auto`'s choice."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from google.protobuf import text_format
from onnx import helper, numpy_helper

from myPython.build import int8_choice, quantize
from myPython.datasets.quant_data import calibration_images, validation_set
from myPython.errors import ModelError, UsageError
from myPython.nets import netgen, random_weights
from myPython.retrieval import engines, int8
from myPython.retrieval.models import ModelSpec, load_model

TINY_S = 128


def _tiny(folder: Path, seed: int = 0, info: dict | None = None) -> tuple[Path, Path]:
    """A random-weight R-MAC net on a quarter-width ResNet-50, with a sidecar (S=128, optional threshold)."""
    proto = folder / "tiny.prototxt"
    net = netgen.deploy_net(depth=50, width=0.25, pca_dim=64, input_hw=(96, 128))
    proto.write_text(text_format.MessageToString(net))
    weights = random_weights.random_weights_file(proto, folder / "tiny.caffemodel", seed=seed)
    spec = ModelSpec(name="tiny", proto=str(proto), weights=str(weights), S=TINY_S, L=2, dim=64, info=info or {})
    spec.save_sidecar()
    return proto, weights


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    return _tiny(tmp_path_factory.mktemp("int8"), info={"recommended_threshold": 0.9,
                                                         "recommended_cosine_threshold": 0.8})


@pytest.fixture(scope="module")
def tiny_int8(tiny) -> Path:
    """The tiny net's int8 model, quantised and gated afresh (its cached copy and gate results are dropped first:
    the net is deterministic, so earlier runs left them under the same content key)."""
    path = int8_choice.int8_path_for(*tiny)
    settings = load_model(*tiny).settings()
    for stale in (path, int8.model_record_path(*tiny), int8.choice_path(*tiny, "rmac/normalized", settings.key())):
        stale.unlink(missing_ok=True)
    return int8_choice.ensure_int8(*tiny)


def _nodes(model) -> dict:
    return {n.name: n for n in model.graph.node}


# -------------------------------------------------------------------------------------------- what is quantised


def test_trunk_stem_and_tail_of_a_resnet(tiny):
    model = onnx.load(str(engines.ensure_onnx(*tiny)))
    nodes = _nodes(model)
    trunk = quantize.trunk_nodes(model)
    head = next(n for n in model.graph.node if n.op_type == "MaxRoiPool")
    assert head.name not in trunk and all(nodes[n].op_type not in ("Gemm", "MaxRoiPool") for n in trunk)
    assert {nodes[n].op_type for n in trunk} == {"Conv", "Relu", "MaxPool", "Add"}
    # fp32 stem: everything up to the end of the first stage (res2c), nothing of res3..res5.
    stem = {n.split("/")[0] for n in quantize.stem_nodes(model)}
    assert {"conv1", "pool1", "res2a_branch1", "res2a", "res2c_branch2c", "res2c", "res2c_relu"} <= stem
    assert not any(n.startswith(("res3", "res4", "res5")) for n in stem)
    assert {n.split("/")[0] for n in quantize.tail_nodes(model)} == {"res5c", "res5c_relu"}


def test_quantised_graph_keeps_stem_tail_and_head_fp32(tiny, tiny_int8):
    model = onnx.load(str(tiny_int8))
    producer = {o: n for n in model.graph.node for o in n.output}
    inits = {i.name for i in model.graph.initializer}
    convs = {n.name.split("/")[0]: n for n in model.graph.node if n.op_type == "Conv"}
    int8_convs = {name for name, n in convs.items() if n.input[1] not in inits}
    assert all(producer[convs[name].input[1]].op_type == "DequantizeLinear" for name in int8_convs)
    assert {n for n in convs if n.startswith(("conv1", "res2"))}.isdisjoint(int8_convs)
    assert {n for n in convs if n.startswith(("res3", "res4", "res5"))} == int8_convs
    head = next(n for n in model.graph.node if n.op_type == "MaxRoiPool")
    assert producer[head.input[0]].op_type == "Relu"  # the tail Add + Relu run in fp32
    after = model.graph.node[list(model.graph.node).index(head):]
    assert not any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in after)
    info = json.loads(next(p.value for p in model.metadata_props if p.key == "int8"))
    assert info["bias_corrected_convs"] == len(int8_convs) and info["calibration_inputs"] == len(calibration_images())


def test_int8_descriptors_follow_fp32_on_photos(tiny):
    from myPython.retrieval.extractor import DescriptorExtractor

    images, _ = validation_set()
    settings = load_model(*tiny).settings()
    fp32 = DescriptorExtractor(engines.open_engine("onnxruntime", *tiny), settings).describe_batch(images[:20])
    engine = engines.open_engine("onnxruntime-int8", *tiny)
    assert engine.name == "onnxruntime-int8" and engine.batchable
    got = DescriptorExtractor(engine, settings).describe_batch(images[:20])
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.median(np.sum(fp32 * got, axis=1)) > 0.98  # random weights: a sanity bound, the gate is below
    with pytest.raises(ValueError, match="runs on the CPU"):
        engines.open_engine("onnxruntime-int8", *tiny, gpu=0)


# -------------------------------------------------------------------------------------------- bias correction


def _one_conv_model(weight: np.ndarray, bias: np.ndarray):
    """data -> 1x1 Conv -> Relu -> MaxRoiPool -> output (the smallest graph `quantize_trunk` accepts)."""
    nodes = [helper.make_node("Conv", ["data", "W", "b"], ["c"], name="conv", kernel_shape=[1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("MaxRoiPool", ["r", "rois"], ["out"], name="pool", pooled_shape=[1, 1])]
    graph = helper.make_graph(
        nodes, "one", [helper.make_tensor_value_info("data", onnx.TensorProto.FLOAT, ["n", 16, "h", "w"]),
                       helper.make_tensor_value_info("rois", onnx.TensorProto.FLOAT, ["r", 5])],
        [helper.make_tensor_value_info("out", onnx.TensorProto.FLOAT, None)],
        [numpy_helper.from_array(weight, "W"), numpy_helper.from_array(bias, "b")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_bias_correction_cancels_the_mean_shift_of_rounded_weights(tmp_path):
    rng = np.random.default_rng(3)
    weight = rng.normal(0, 0.3, (8, 16, 1, 1)).astype(np.float32)
    bias = rng.normal(0, 0.1, 8).astype(np.float32)
    channel_means = rng.uniform(1.0, 3.0, 16)  # inputs with large positive means, as after a Relu
    feeds = [{"data": (channel_means[None, :, None, None] + rng.normal(0, 0.5, (1, 16, 12, 10))).astype(np.float32),
              "rois": np.array([[0, 0, 0, 9, 11]], np.float32)} for _ in range(6)]
    fp32_path = tmp_path / "one.onnx"
    onnx.save(_one_conv_model(weight, bias), str(fp32_path))
    mean_x = np.mean([f["data"].astype(np.float64).mean(axis=(0, 2, 3)) for f in feeds], axis=0)
    want = weight[:, :, 0, 0].astype(np.float64) @ mean_x + bias

    def mean_output(corrected: bool) -> tuple[np.ndarray, np.ndarray]:
        recipe = quantize.QuantRecipe(calibration="minmax", fp32_stem=False, fp32_tail=False,
                                      bias_correction=corrected)
        out = tmp_path / f"q{corrected}.onnx"
        info = quantize.quantize_trunk(fp32_path, out, feeds, recipe)
        assert info["bias_corrected_convs"] == (1 if corrected else 0)
        model = onnx.load(str(out))
        inits = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in model.graph.initializer}
        producer = {o: n for n in model.graph.node for o in n.output}
        conv = next(n for n in model.graph.node if n.op_type == "Conv")
        w_dq, b_dq = producer[conv.input[1]], producer[conv.input[2]]
        wq = inits[w_dq.input[0]][:, :, 0, 0] * inits[w_dq.input[1]][:, None]
        bq = inits[b_dq.input[0]] * inits[b_dq.input[1]]
        return wq @ mean_x + bq, inits[b_dq.input[1]]

    plain, _ = mean_output(False)
    fixed, step = mean_output(True)
    assert np.all(np.abs(fixed - want) <= step + 1e-9)  # exact up to rounding the bias and its shift (2 x half a step)
    assert np.abs(plain - want).max() > 20 * step.max()


# -------------------------------------------------------------------------------------------- cache and gate


def test_int8_cache_is_keyed_by_weights_and_settings(tmp_path, tiny, tiny_int8):
    proto, weights = tiny
    path = int8_choice.int8_path_for(proto, weights)
    assert path == tiny_int8 == int8.int8_model(proto, weights)  # recorded for the runtime, which only reads
    assert path.name.startswith("tiny.caffemodel.") and path.name.endswith(".int8.onnx") and path.exists()
    built = path.stat().st_mtime_ns
    assert int8_choice.ensure_int8(proto, weights) == path and path.stat().st_mtime_ns == built  # reused
    copy = tmp_path / "copy"
    copy.mkdir()
    for src in (Path(proto), Path(weights), Path(str(weights) + ".json")):
        (copy / src.name).write_bytes(src.read_bytes())
    assert int8.int8_model(copy / Path(proto).name, copy / Path(weights).name) == path  # a copy finds it
    other_proto, other_weights = _tiny(tmp_path, seed=1)  # same prototxt, other weights
    assert other_proto.read_bytes() == Path(proto).read_bytes()
    assert int8.int8_model(other_proto, other_weights) is None
    before = int8_choice.int8_path_for(other_proto, other_weights)
    assert before.name != path.name
    sidecar = json.loads(Path(str(other_weights) + ".json").read_text())
    sidecar["S"] = 160
    Path(str(other_weights) + ".json").write_text(json.dumps(sidecar))
    assert int8_choice.int8_path_for(other_proto, other_weights) != before  # calibrated at another S


def test_compare_descriptors_counts_pairs_exactly():
    angles = np.array([0.0, 0.1, 1.0, 1.2])
    reference = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    candidate = np.stack([np.cos(angles + [0.0, 0.0, 0.3, 0.0]), np.sin(angles + [0.0, 0.0, 0.3, 0.0])], axis=1)
    stats = int8_choice.compare_descriptors(reference, candidate, threshold=np.cos(0.25))
    # Pairs within 0.25 rad: (0,1) and (2,3) in fp32; (0,1) and (2,3) (now 0.1 apart) in int8: all 6 agree.
    assert stats["pairs"] == 6 and stats["positive_pairs"] == 2 and stats["disagreeing_pairs"] == 0
    stats = int8_choice.compare_descriptors(reference, candidate, threshold=np.cos(0.15))
    # At 0.15 rad (2,3) is 0.2 apart in fp32 (different) and 0.1 apart in int8 (same): one pair of six.
    assert stats["disagreeing_pairs"] == 1 and stats["agreement"] == pytest.approx(5 / 6)
    assert stats["median_cosine"] == pytest.approx(1.0) and stats["min_cosine"] == pytest.approx(np.cos(0.3))


def test_choice_is_measured_once_per_cpu_settings_and_threshold(tiny, tiny_int8, monkeypatch):
    proto, weights = tiny
    choice = int8_choice.prepare_int8(proto, weights)
    gate = choice["gate"]
    assert gate["threshold"] == 0.8  # recommended_cosine_threshold wins over recommended_threshold
    images, _ = validation_set()
    assert gate["images"] == len(images) and gate["pairs"] == len(images) * (len(images) - 1) // 2
    settings = load_model(proto, weights).settings()
    assert gate["settings"] == settings.key()  # the model's own settings by default
    # int8 only where the gate passed and int8 was measured faster enough on this CPU
    assert choice["use_int8"] == (gate["passed"] and choice.get("speedup", 0) >= int8.MIN_SPEEDUP)
    if gate["passed"]:
        assert choice["fp32_s_per_image"] > 0 and choice["int8_s_per_image"] > 0
    record = int8.choice_path(proto, weights, "rmac/normalized", settings.key())
    assert list(json.loads(record.read_text())) == [f"{int8.cpu_key()} threshold=0.8"]
    assert int8.read_choice(proto, weights) == choice  # what the runtime reads
    monkeypatch.setattr(int8_choice, "run_gate", lambda *a, **k: pytest.fail("the recorded choice was measured again"))
    assert int8_choice.prepare_int8(proto, weights) == choice
    monkeypatch.undo()
    other = load_model(proto, weights).settings(S=96)
    at_96 = int8_choice.prepare_int8(proto, weights, settings=other)  # the settings `auto` will run with
    assert at_96["gate"]["settings"] == other.key()
    sidecar = Path(str(weights) + ".json")
    data = json.loads(sidecar.read_text())
    data["info"]["recommended_cosine_threshold"] = 0.7
    sidecar.write_text(json.dumps(data))
    try:
        again = int8_choice.prepare_int8(proto, weights)
        assert again["gate"]["threshold"] == 0.7 and len(json.loads(record.read_text())) == 2
        assert again["gate"]["median_cosine"] == pytest.approx(gate["median_cosine"])  # same model, new decisions
    finally:
        data["info"]["recommended_cosine_threshold"] = 0.8
        sidecar.write_text(json.dumps(data))


def _record_choice(tiny, use_int8: bool) -> None:
    """A recorded measurement (as the build writes it) for the tiny model on this CPU."""
    settings = load_model(*tiny).settings()
    path = int8.choice_path(*tiny, "rmac/normalized", settings.key())
    entries = json.loads(path.read_text()) if path.exists() else {}
    entries[int8.choice_entry(load_model(*tiny).info)] = {"use_int8": use_int8, "reason": "measured: x0.90 here"}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entries))


@pytest.mark.parametrize("measured", [True, False])
def test_auto_follows_the_measurement_and_the_environment_override(tiny, tiny_int8, measured, monkeypatch, capsys):
    _record_choice(tiny, measured)
    for override, want in (("auto", measured), ("", measured), ("on", True), ("off", False), ("ON", True)):
        monkeypatch.setenv(int8.OVERRIDE_ENV, override)
        capsys.readouterr()
        engine = engines.open_engine("auto", *tiny)
        assert engine.name == ("onnxruntime-int8" if want else "onnxruntime"), override
        assert int8.uses_int8("auto", *tiny) == want
        lines = capsys.readouterr().err.strip().splitlines()
        if not want:
            assert len(lines) == 1 and lines[0].startswith("engine auto: fp32 ONNX Runtime (int8 not used: ")
            assert ("DEEP_RETRIEVAL_INT8=off" if override == "off" else "x0.90 here") in lines[0]
    monkeypatch.setenv(int8.OVERRIDE_ENV, "sometimes")
    with pytest.raises(UsageError, match="DEEP_RETRIEVAL_INT8='sometimes'"):
        engines.open_engine("auto", *tiny)


def test_auto_explains_in_one_line_why_int8_is_not_used(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(int8.OVERRIDE_ENV, raising=False)
    proto, weights = _tiny(tmp_path, seed=7)  # other weights than the fixture's: nothing built or measured
    engine = engines.open_engine("auto", proto, weights)
    assert engine.name == "onnxruntime"
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "no int8 model built for it" in lines[0]
    with pytest.raises(ModelError, match="no int8 model built"):
        engines.open_engine("onnxruntime-int8", proto, weights)


def test_default_model_choice_was_measured_at_install(capsys, monkeypatch):
    """On any CPU: the install measured int8 here, and `auto` does what the measurement says."""
    monkeypatch.delenv(int8.OVERRIDE_ENV, raising=False)
    spec = load_model()
    choice = int8.read_choice(spec.proto, spec.weights)
    assert choice is not None, "make install measures the int8 choice on this CPU"
    assert choice["gate"]["threshold"] == spec.info["recommended_cosine_threshold"]
    assert choice["gate"]["criteria"] == {"median_cosine": int8.GATE_MEDIAN_COSINE, "agreement": int8.GATE_AGREEMENT}
    engine = engines.open_engine("auto", spec.proto, spec.weights)
    assert engine.name == ("onnxruntime-int8" if choice["use_int8"] else "onnxruntime")
    if choice["gate"]["passed"]:
        assert choice["speedup"] > 0 and choice["int8_s_per_image"] > 0


def test_a_store_holds_int8_or_fp32_descriptors_not_both(tmp_path, tiny, tiny_int8, capsys):
    import cv2

    from myPython.apps.cli import main
    from myPython.common import assets

    photos = tmp_path / "photos"
    photos.mkdir()
    for path in assets.perception_images()[:3]:
        cv2.imwrite(str(photos / path.name), cv2.imread(str(path)))
    store = tmp_path / "store"
    model = ["--proto", str(tiny[0]), "--weights", str(tiny[1])]
    assert main(["embed", str(photos), "--out", str(store), "--quiet", "--engine", "onnxruntime-int8", *model]) == 0
    meta = json.loads((store / "meta.json").read_text())
    assert meta["engine"] == "onnxruntime-int8" and meta["settings"].endswith("_int8")
    capsys.readouterr()
    assert main(["embed", str(photos), "--out", str(store), "--quiet", "--engine", "onnxruntime", *model]) == 1
    assert "other settings" in capsys.readouterr().err
