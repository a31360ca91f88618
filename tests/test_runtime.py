"""Device selection and model loading fail with one line instead of Caffe's abort."""

from __future__ import annotations

import pytest

from myPython.apps.cli import main
from myPython.nets.runtime import ModelError, build_info, caffe, gpu_count, load_net, set_device
from myPython.retrieval.models import load_model


def test_layers_of_the_built_caffe():
    types = set(caffe.layer_type_list())
    assert {"ROIPooling", "Normalize", "LiftedStructSimilaritySoftmaxLoss", "Python"} <= types
    info = build_info()
    assert info["caffe_source"] == "1.0.0+git20180821.99bd997-8" and "key" in info


def test_asking_for_a_missing_gpu_is_a_clear_error():
    if gpu_count() and build_info().get("gpu"):
        pytest.skip("this machine has a GPU and a GPU build")
    with pytest.raises(RuntimeError, match="--gpu 0: "):
        set_device(0)
    assert set_device(None) == "cpu" and set_device(-1) == "cpu"


def test_cli_gpu_error_is_one_line(tmp_path, capsys):
    if gpu_count() and build_info().get("gpu"):
        pytest.skip("this machine has a GPU and a GPU build")
    (tmp_path / "a.png").write_bytes(b"")
    assert main(["embed", str(tmp_path), "--out", str(tmp_path / "o"), "--gpu", "0", "--engine", "caffe"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("deep-retrieval embed: error: --gpu 0:")


def test_bad_model_files_are_named(tmp_path):
    spec = load_model()
    broken = tmp_path / "broken.prototxt"
    broken.write_text("layer { name: 'x' type: ")
    with pytest.raises(ModelError, match="broken.prototxt: not a valid prototxt"):
        load_net(broken)
    unknown = tmp_path / "unknown.prototxt"
    unknown.write_text('layer { name: "x" type: "NoSuchLayer" }')
    with pytest.raises(ModelError, match="layer x has type NoSuchLayer"):
        load_net(unknown)
    garbage = tmp_path / "garbage.caffemodel"
    garbage.write_bytes(b"\x00\x01 definitely not protobuf" * 10)
    with pytest.raises(ModelError, match="garbage.caffemodel"):
        load_net(spec.proto, garbage)
    with pytest.raises(ModelError, match="caffemodel not found"):
        load_net(spec.proto, tmp_path / "missing.caffemodel")
