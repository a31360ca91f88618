"""`make weights` offline: a file:// archive is unpacked, checked against the prototxt and installed."""

from __future__ import annotations

import tarfile

import numpy as np

from myPython.apps.cli import main as cli_main
from myPython.nets.runtime import caffe
from myPython.retrieval.models import load_model


def _archive(tmp_path, weights):
    archive = tmp_path / "deep_retrieval.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(weights, arcname="deep_retrieval/model.caffemodel")
    return archive


def test_installs_matching_weights_from_an_archive(tmp_path, capsys):
    spec = load_model()
    out = tmp_path / "caffemodel" / "model.caffemodel"
    archive = _archive(tmp_path, spec.weights).as_uri()
    code = cli_main(["weights", "--url", archive, "--proto", spec.proto, "--out", str(out)])
    assert code == 0 and "installed" in capsys.readouterr().out
    assert out.read_bytes() == open(spec.weights, "rb").read()


def test_refuses_weights_that_do_not_fit_the_prototxt(tmp_path, capsys):
    spec = load_model()
    net = caffe.Net(spec.proto, caffe.TEST)
    # Same layers, but the PCA of a wrong size: save from an edited prototxt.
    text = open(spec.proto).read().replace("num_output: 512", "num_output: 256")
    other = tmp_path / "other.prototxt"
    other.write_text(text)
    small = caffe.Net(str(other), caffe.TEST)
    small.params["pooled_rois/pca"][0].data[...] = np.random.default_rng(0).normal(size=(256, 1024))
    bad = tmp_path / "bad.caffemodel"
    small.save(str(bad))
    out = tmp_path / "installed.caffemodel"
    code = cli_main(["weights", "--url", bad.as_uri(), "--proto", spec.proto, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 1 and not out.exists()
    assert err.startswith("deep-retrieval weights: error:") and "does not match" in err and "\n" not in err
    assert net.params["pooled_rois/pca"][0].data.shape == (512, 1024)


def test_reports_an_archive_without_weights(tmp_path, capsys):
    empty = tmp_path / "empty.tgz"
    (tmp_path / "readme.txt").write_text("nothing")
    with tarfile.open(empty, "w:gz") as tar:
        tar.add(tmp_path / "readme.txt", arcname="readme.txt")
    assert cli_main(["weights", "--url", empty.as_uri(), "--out", str(tmp_path / "x.caffemodel")]) == 1
    assert "no .caffemodel" in capsys.readouterr().err
