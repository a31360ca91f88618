"""Training tools: data layers, training-net generator, model surgery, offline PCA, teacher export, train.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import caffe  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from caffe import layers as L  # noqa: E402
from caffe.proto import caffe_pb2  # noqa: E402
from caffe_helpers import feed, gradient_error, make_net, parameter  # noqa: E402
from google.protobuf import text_format  # noqa: E402

from myPython.apps.cli import main as cli_main  # noqa: E402
from myPython.datasets import smoke  # noqa: E402
from myPython.nets import netgen_train as G  # noqa: E402
from myPython.nets import protofiles as PF  # noqa: E402
from myPython.nets import surgery as MT  # noqa: E402
from myPython.training import data_layers as D  # noqa: E402
from myPython.training import offline_pca as OP  # noqa: E402
from myPython.training import samplers as S  # noqa: E402
from myPython.training import solver_setup as SS  # noqa: E402
from myPython.training import train as T  # noqa: E402
from myPython.training import validation as V  # noqa: E402

DATA_MODULE = "myPython.training.data_layers"
MEAN = [10.0, 20.0, 30.0]


# --------------------------------------------------------------------------------------------- fixtures


def constant_image(path: Path, bgr: tuple[int, int, int], size: tuple[int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.empty(size + (3,), np.uint8)
    image[...] = bgr
    assert cv2.imwrite(str(path), image)


def colour(cls: int, index: int) -> tuple[int, int, int]:
    """A colour that names (class, image) after decoding (PNG keeps it exact)."""
    return (40 * cls + 10, 30 + 20 * index, 200)


@pytest.fixture
def class_tree(tmp_path: Path) -> Path:
    """Class folders with odd names and sizes; labels follow the sorted names of folders with images."""
    root = tmp_path / "classes"
    spec = {"zebra": 5, "Apple pie": 3, "007": 2, "solo": 1}
    for cls, name in enumerate(sorted(spec)):
        for i in range(spec[name]):
            constant_image(root / name / f"img {i}.png", colour(cls, i), (30 + 7 * i, 41 + 3 * cls))
    (root / "empty").mkdir()
    (root / "empty" / "notes.txt").write_text("not an image")
    (root / "zebra" / "readme.md").write_text("ignored")
    constant_image(root / "zebra" / "nested" / "deep.png", (0, 0, 0), (8, 8))  # nested folders are ignored
    return root


def data_net(tmp_path: Path, layer: str, tops: list[str], params: dict, name: str = "data") -> caffe.Net:
    lp = G.python_layer(name, layer, [], tops, params, module=DATA_MODULE)
    net = caffe_pb2.NetParameter(name="data-test")
    net.layer.add().CopyFrom(lp)
    path = tmp_path / f"{name}_{layer}.prototxt"
    path.write_text(text_format.MessageToString(net))
    caffe.set_mode_cpu()
    return caffe.Net(str(path), caffe.TRAIN)


def identify(image: np.ndarray) -> tuple[int, int]:
    """(class, index) of a served constant image (mean added back)."""
    b, g, _ = (image.reshape(3, -1).mean(axis=1) + np.array(MEAN)).round().astype(int)
    return (b - 10) // 40, (g - 30) // 20


# ------------------------------------------------------------------------------------------ data layers


def test_scan_class_folders_any_names_sorted_labels(class_tree: Path):
    classes = S.scan_class_folders(class_tree)
    assert classes.names == ["007", "Apple pie", "solo", "zebra"]
    assert classes.counts == [2, 3, 1, 5]
    assert all(p.suffix == ".png" for files in classes.files for p in files)


def test_bin_data_layer_batches(tmp_path: Path, class_tree: Path):
    params = {"batch_size": 6, "cls_dir": str(class_tree), "height": 12, "width": 16, "mean": MEAN, "seed": 3}
    net = data_net(tmp_path, "BinDataLayer", ["data", "label"], params)
    assert net.blobs["data"].data.shape == (6, 3, 12, 16)
    assert net.blobs["label"].data.shape == (6,)
    anchors = set()
    for _ in range(12):
        net.forward()
        ids = [identify(img) for img in net.blobs["data"].data]
        labels = net.blobs["label"].data.astype(int).tolist()
        assert [c for c, _ in ids] == labels  # labels are the sorted class indices of the images
        assert len(set(labels[:3])) == 1  # B/2 images of one class ...
        anchor = labels[0]
        assert anchor != 2  # ... never the one-image class
        assert len(set(labels[3:])) == 3 and anchor not in labels[3:]  # singles of distinct other classes
        if anchor != 0:  # classes with >= B/2 images give distinct positives
            assert len({i for _, i in ids[:3]}) == 3
        anchors.add(anchor)
    assert anchors == {0, 1, 3}
    # images of any size are resized to the net input and mean-subtracted (constant colours survive)
    image = net.blobs["data"].data[0]
    assert np.allclose(image, image[:, :1, :1])


def test_bin_data_layer_is_seeded(tmp_path: Path, class_tree: Path):
    def batches(seed: int, name: str) -> list[list[tuple[int, int]]]:
        params = {"batch_size": 4, "cls_dir": str(class_tree), "height": 8, "width": 8, "mean": MEAN, "seed": seed}
        net = data_net(tmp_path, "BinDataLayer", ["data", "label"], params, name)
        out = []
        for _ in range(6):
            net.forward()
            out.append([identify(img) for img in net.blobs["data"].data])
        return out

    assert batches(1, "a") == batches(1, "b")
    assert batches(1, "c") != batches(2, "d")


def test_relative_cls_dir_resolves_against_root_env_and_cwd(tmp_path: Path, class_tree: Path,
                                                            monkeypatch: pytest.MonkeyPatch):
    params = {"batch_size": 4, "cls_dir": "classes", "height": 8, "width": 8}
    net = data_net(tmp_path, "BinDataLayer", ["data", "label"], dict(params, root=str(tmp_path)), "root")
    net.forward()
    monkeypatch.setenv(S.DATA_ROOT_ENV, str(tmp_path))
    data_net(tmp_path, "BinDataLayer", ["data", "label"], params, "env").forward()
    monkeypatch.delenv(S.DATA_ROOT_ENV)
    monkeypatch.chdir(tmp_path)
    data_net(tmp_path, "BinDataLayer", ["data", "label"], params, "cwd").forward()
    monkeypatch.chdir(REPO)
    with pytest.raises(FileNotFoundError, match="classes"):
        data_net(tmp_path, "BinDataLayer", ["data", "label"], params, "missing")


def test_bin_data_without_label_layer(tmp_path: Path, class_tree: Path):
    params = {"batch_size": 5, "cls_dir": str(class_tree), "height": 10, "width": 10, "mean": MEAN, "seed": 0}
    net = data_net(tmp_path, "BinDataWithoutLabelLayer", ["data"], params)
    assert list(net.blobs) == ["data"]
    for _ in range(8):
        net.forward()
        cls = [identify(img)[0] for img in net.blobs["data"].data]
        assert len(set(cls[:3])) == 1 and cls[0] not in cls[3:]  # B/2 + 1 positives, then singles
        assert len(set(cls[3:])) == 2


def test_triplet_data_layer(tmp_path: Path, class_tree: Path):
    params = {"batch_size": 4, "cls_dir": str(class_tree), "height": 9, "width": 13, "mean": MEAN, "seed": 5}
    net = data_net(tmp_path, "TripletDataLayer", ["data", "p_data", "n_data", "label"], params)
    for name in ("data", "p_data", "n_data"):
        assert net.blobs[name].data.shape == (4, 3, 9, 13)
    seen = set()
    for _ in range(10):
        net.forward()
        for k in range(4):
            a, p, n = (identify(net.blobs[t].data[k]) for t in ("data", "p_data", "n_data"))
            assert a[0] == p[0] == int(net.blobs["label"].data[k]) and a != p
            assert n[0] != a[0]
            assert a[0] != 2  # a one-image class cannot anchor
            seen.add(a)
    assert len(seen) == 10  # every image of the classes with >= 2 images was an anchor


def test_too_few_classes_is_a_clear_error(tmp_path: Path):
    for i in range(3):
        constant_image(tmp_path / "one" / "only" / f"{i}.png", (1, 2, 3), (5, 5))
    params = {"batch_size": 4, "cls_dir": str(tmp_path / "one"), "height": 8, "width": 8}
    with pytest.raises(ValueError, match="at least 2 classes"):
        data_net(tmp_path, "BinDataLayer", ["data", "label"], params)
    constant_image(tmp_path / "two" / "a" / "0.png", (1, 2, 3), (5, 5))
    constant_image(tmp_path / "two" / "b" / "0.png", (1, 2, 3), (5, 5))
    with pytest.raises(ValueError, match="at least 2 images"):
        data_net(tmp_path, "TripletDataLayer", ["a", "p", "n"], dict(params, cls_dir=str(tmp_path / "two")))


def test_bin_sampler_covers_every_image_and_pads_small_classes():
    sampler = S.BinSampler([2, 3, 1, 7], positives=3, negatives=3, seed=0)
    sampler._new_epoch()
    bins = list(sampler._queue)
    assert len(bins) == 1 + 1 + 3  # ceil(n / 3) bins for the classes with >= 2 items
    covered = {item for b in bins for item in b[:3]}
    assert covered >= {(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)} | {(3, i) for i in range(7)}
    for b in bins:
        assert len({c for c, _ in b[:3]}) == 1 and len({c for c, _ in b[3:]}) == 3
    with pytest.raises(ValueError, match="2 positives"):
        S.BinSampler([4, 4], positives=1, negatives=1)


def test_image_list_layer_and_resize_modes(tmp_path: Path):
    for i in range(3):
        constant_image(tmp_path / "imgs" / f"a {i}.png", colour(i, i), (20, 30 + i))
    (tmp_path / "list.txt").write_text("a 2.png 7\na 0.png 1\na 1.png 4\n")
    params = {"batch_size": 2, "source": str(tmp_path / "list.txt"), "images": str(tmp_path / "imgs"),
              "height": 6, "width": 9, "mean": MEAN, "shuffle": False}
    net = data_net(tmp_path, "ImageListDataLayer", ["data", "label"], params)
    net.forward()
    assert net.blobs["label"].data.tolist() == [7, 1]
    assert [identify(x) for x in net.blobs["data"].data] == [(2, 2), (0, 0)]
    net.forward()
    assert net.blobs["label"].data.tolist() == [4, 7]  # wraps into the next epoch
    raw = data_net(tmp_path, "ImageListDataLayer", ["data", "label"], dict(params, raw=True), "raw")
    raw.forward()
    assert np.allclose(raw.blobs["data"].data[0, :, 0, 0], colour(2, 2))  # raw: 0-255 pixels, no mean
    gradient = np.tile(np.arange(40, dtype=np.uint8)[None, :, None], (20, 1, 3))
    crop = S.resize_image(gradient, 10, 10, "crop")
    assert crop.shape == (10, 10, 3) and crop[0, 0, 0] >= 8  # aspect kept: the centre of the wide image
    assert S.resize_image(gradient, 10, 10, "stretch")[0, 0, 0] < 5


def test_region_feature_layer(tmp_path: Path):
    rng = np.random.default_rng(0)
    regions = [rng.normal(size=(r, 6)).astype(np.float32) for r in (2, 3, 4, 2, 3, 5)]
    path = D.save_region_cache(tmp_path / "cache.npz", regions, [0, 0, 1, 1, 2, 2])
    params = {"features": str(path), "batch_size": 4, "sampler": "bin", "seed": 1}
    net = data_net(tmp_path, "RegionFeatureDataLayer", ["regions", "rois", "label"], params)
    stacked = np.concatenate(regions)
    for _ in range(5):
        net.forward()
        labels = net.blobs["label"].data.astype(int)
        assert labels[0] == labels[1] and labels[0] not in labels[2:] and labels[2] != labels[3]
        x = net.blobs["regions"].data.reshape(-1, 6)
        index = net.blobs["rois"].data[:, 0].astype(int)
        assert sorted(set(index)) == [0, 1, 2, 3] and np.all(np.diff(index) >= 0)
        for row in x:  # every served row is one of the cached regions
            assert np.isclose(np.abs(stacked - row).sum(axis=1), 0).any()
    listed = data_net(tmp_path, "RegionFeatureDataLayer", ["regions", "rois", "label"],
                      dict(params, sampler="list", batch_size=6), "list")
    listed.forward()
    assert sorted(listed.blobs["label"].data.astype(int).tolist()) == [0, 0, 1, 1, 2, 2]
    assert listed.blobs["regions"].data.shape[0] == 19


def test_custom_layers_reexports_the_data_layers():
    import custom_layers

    for name in D.__all__:
        assert getattr(custom_layers, name) is getattr(D, name)


# -------------------------------------------------------------------------------------------- netgen_train


def test_checked_in_training_files_match_the_generator():
    assert PF.stale_files(PF.training_files(), REPO / "proto") == [], "run `deep-retrieval proto`"
    assert cli_main(["proto", "--out", str(REPO / "proto"), "--check"]) == 0
    files = PF.training_files()
    for rel in ("train/distilling/train_resnet101_student.prototxt",
                "train/distilling/deploy_resnet101_teacher.prototxt",
                "train/lifted/train_resnet101_lifted_pca512.prototxt",
                "train/lifted/train_resnet101_lifted_pca512_python.prototxt",
                "train/reduce/parallel/train_resnet101_reduce_pca512.prototxt",
                "train/reduce/parallel/train_resnet101_reduce_pca512_pairlifted.prototxt",
                "train/reduce/serial/train_resnet101_reduce_pca512.prototxt",
                "train/triplet/train_resnet101_triplet_pca512.prototxt"):
        assert rel in files
        assert files[rel].startswith("# Generated by `make proto`")
    for rel, text in files.items():
        home = os.path.expanduser("~")
        assert "/home/" not in text and home + "/" not in text and '"/' not in text, rel  # no absolute paths


def _net(rel: str) -> caffe_pb2.NetParameter:
    return text_format.Merge((REPO / "proto" / rel).read_text(), caffe_pb2.NetParameter())


def test_training_nets_freeze_the_trunk_and_train_the_head():
    net = _net("train/lifted/train_resnet101_lifted_pca512.prototxt")
    trainable = {layer.name: [p.lr_mult for p in layer.param] for layer in net.layer
                 if any(p.lr_mult for p in layer.param)}
    assert trainable == {"pooled_rois/centered": [0.0, 2.0], "pooled_rois/pca_512": [1.0, 2.0]}
    assert all(layer.batch_norm_param.use_global_stats for layer in net.layer if layer.type == "BatchNorm")
    kinds = [layer.type for layer in net.layer]
    assert "LiftedStructSimilaritySoftmaxLoss" in kinds
    data = [layer for layer in net.layer if layer.type == "Python" and layer.python_param.layer == "BinDataLayer"]
    assert [d.include[0].phase for d in data] == [caffe_pb2.TRAIN, caffe_pb2.TEST]
    params = yaml.safe_load(data[0].python_param.param_str)
    assert params["batch_size"] == 12 and params["cls_dir"] == "lifted/train"
    assert all(layer.python_param.module == "custom_layers" for layer in net.layer if layer.type == "Python")


def test_towers_share_parameters_by_name():
    net = _net("train/triplet/train_resnet101_triplet_pca512.prototxt")
    names = {layer.name: [p.name for p in layer.param] for layer in net.layer}
    for base in ("conv1", "bn_conv1", "res5c_branch2c", "pooled_rois/pca_512"):
        assert names[base] == names["p_" + base] == names["n_" + base] and all(names[base])
    teacher = _net("train/distilling/deploy_resnet101_teacher.prototxt")
    layers = {layer.name: layer for layer in teacher.layer}
    assert [p.name for p in layers["l_res4b22_branch2a"].param] == [p.name for p in layers["h_res4b22_branch2a"].param]
    sizes = [yaml.safe_load(layers[f"{p}data"].python_param.param_str) for p in ("l_", "m_", "h_")]
    assert [(s["h"], s["w"]) for s in sizes] == [(192, 256), (384, 512), (576, 768)]
    assert layers["rmac/eltwise"].bottom[:] == ["l_rmac/normalized", "m_rmac/normalized", "h_rmac/normalized"]


def shrink_net(net: caffe_pb2.NetParameter, data: Path) -> caffe_pb2.NetParameter:
    """Point the data layers at tiny local data (64 x 64 inputs); keep everything else."""
    for layer in net.layer:
        if layer.type != "Python":
            continue
        p = yaml.safe_load(layer.python_param.param_str) or {}
        kind = layer.python_param.layer
        if kind in ("BinDataLayer", "BinDataWithoutLabelLayer", "TripletDataLayer"):
            p.update(height=64, width=64, cls_dir=str(data / "classes"))
            layer.python_param.module = DATA_MODULE
        elif kind == "ImageListDataLayer":
            p.update(height=64, width=64, source=str(data / "list.txt"), images=str(data / "imgs"))
            layer.python_param.module = DATA_MODULE
        elif kind == "FeatureLayer":
            p.update(features=str(data / ("f512.npy" if "512" in p["features"] else "f2048.npy")))
        else:
            continue
        layer.python_param.param_str = G.param_str(p)
    return net


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    for c in range(4):
        (root / "classes" / f"c{c}").mkdir(parents=True)
        for i in range(4):
            image = rng.integers(0, 255, (50 + 5 * i, 70, 3), np.uint8)
            cv2.imwrite(str(root / "classes" / f"c{c}" / f"{i}.jpg"), image)
    (root / "imgs").mkdir()
    for i in range(16):
        cv2.imwrite(str(root / "imgs" / f"{i}.jpg"), rng.integers(0, 255, (48, 64, 3), np.uint8))
    (root / "list.txt").write_text("".join(f"{i}.jpg {i}\n" for i in range(16)))
    for dim in (2048, 512):
        np.save(root / f"f{dim}.npy", rng.normal(size=(16, dim)).astype(np.float32))
    return root


@pytest.mark.parametrize("rel", [
    "train/lifted/train_resnet101_lifted_pca512.prototxt",
    "train/lifted/train_resnet101_lifted_pca512_python.prototxt",
    "train/distilling/train_resnet101_student.prototxt",
    "train/reduce/parallel/train_resnet101_reduce_pca512.prototxt",
    "train/reduce/parallel/train_resnet101_reduce_pca512_pairlifted.prototxt",
    "train/reduce/serial/train_resnet101_reduce_pca512.prototxt",
    "train/triplet/train_resnet101_triplet_pca512.prototxt",
])
def test_checked_in_training_nets_run_in_caffe(tmp_path: Path, tiny_data: Path, rel: str):
    path = tmp_path / "net.prototxt"
    path.write_text(text_format.MessageToString(shrink_net(_net(rel), tiny_data)))
    caffe.set_mode_cpu()
    net = caffe.Net(str(path), caffe.TRAIN)
    net.forward()
    net.backward()
    assert np.isfinite(float(net.blobs["loss"].data))
    if "triplet" in rel:  # shared blobs: a write to one tower is seen by the others
        net.params["pooled_rois/pca_512"][0].data[0, 0] = 123.0
        assert net.params["n_pooled_rois/pca_512"][0].data[0, 0] == 123.0


def test_checked_in_solver_trains_through_train_py(tmp_path: Path, tiny_data: Path):
    """The lifted solver as checked in (relative net, snapshot prefix), run for 2 iterations on tiny data."""
    run = tmp_path / "proto"
    run.mkdir()
    src = REPO / "proto/train/lifted"
    (run / "train_resnet101_lifted_pca512.prototxt").write_text(
        text_format.MessageToString(shrink_net(_net("train/lifted/train_resnet101_lifted_pca512.prototxt"), tiny_data)))
    (run / "solver.prototxt").write_text((src / "solver_resnet101_lifted_pca512.prototxt").read_text())
    out = tmp_path / "out"
    result = T.train(run / "solver.prototxt", data_root=tiny_data, output_dir=out, max_iter=2, quiet=True)
    assert result.iterations == 2 and result.weights.is_file() and result.solverstate.is_file()
    assert result.weights.parent == out / "snapshots"
    effective = SS.read_solver(out / "snapshots/resnet101_lifted_pca512_solver.prototxt")
    assert effective.net == str(run / "train_resnet101_lifted_pca512.prototxt")
    rows = (out / "snapshots/resnet101_lifted_pca512_train_log.csv").read_text().splitlines()
    assert rows[0] == "iter,seconds,loss,lr" and len(rows) == 3
    resumed = T.train(run / "solver.prototxt", snapshot=result.solverstate, data_root=tiny_data, output_dir=out,
                      max_iter=3, quiet=True)
    assert resumed.iterations == 3
    assert len((out / "snapshots/resnet101_lifted_pca512_train_log.csv").read_text().splitlines()) == 4


def test_triplet_loss_from_standard_layers(tmp_path: Path):
    rng = np.random.default_rng(4)
    a, p, n = (rng.normal(scale=0.7, size=(5, 3, 1, 1)) for _ in range(3))
    proto = "".join(parameter(name, (5, 3, 1, 1)) for name in ("a", "p", "n"))
    net_param = caffe_pb2.NetParameter()
    for layer in G.triplet_loss("a", "p", "n", margin=1.0):
        net_param.layer.add().CopyFrom(layer)
    net = make_net(tmp_path, proto + text_format.MessageToString(net_param))
    feed(net, a=a, p=p, n=n)
    net.forward()
    d_ap = ((a - p) ** 2).reshape(5, -1).sum(1)
    d_an = ((a - n) ** 2).reshape(5, -1).sum(1)
    expected = np.maximum(0, 1.0 + d_ap - d_an).sum() / (2 * 5)
    assert np.isclose(float(net.blobs["loss"].data), expected, rtol=1e-5)
    assert 0 < expected and np.any(1.0 + d_ap - d_an < 0)  # both active and inactive hinges
    for name in ("a", "p", "n"):
        assert gradient_error(net, name, step=1e-3) < 2e-2


# ---------------------------------------------------------------------------------------------- model_tools


def conv_net(path: Path, prefix: str = "", ip_name: str = "ip", ip_out: int = 5) -> Path:
    """conv (no bias) -> BN -> Scale -> ReLU -> conv (bias) -> BN (not in place) -> Scale -> IP."""
    n = caffe.NetSpec()
    n.data = L.Input(shape={"dim": [2, 3, 8, 8]})
    filler = {"type": "gaussian", "std": 0.3}
    n[prefix + "c1"] = L.Convolution(n.data, num_output=4, kernel_size=3, bias_term=False, weight_filler=filler)
    n[prefix + "bn1"] = L.BatchNorm(n[prefix + "c1"], in_place=True)
    n[prefix + "sc1"] = L.Scale(n[prefix + "c1"], bias_term=True, in_place=True)
    n[prefix + "r1"] = L.ReLU(n[prefix + "c1"], in_place=True)
    n[prefix + "c2"] = L.Convolution(n[prefix + "c1"], num_output=3, kernel_size=3, weight_filler=filler,
                                     bias_filler=filler)
    n[prefix + "bn2"] = L.BatchNorm(n[prefix + "c2"])
    n[prefix + "sc2"] = L.Scale(n[prefix + "bn2"], bias_term=True)
    n[ip_name] = L.InnerProduct(n[prefix + "sc2"], num_output=ip_out, weight_filler=filler, bias_filler=filler)
    path.write_text(text_format.MessageToString(n.to_proto()))
    return path


def random_weights(proto: Path, out: Path, seed: int = 0) -> caffe.Net:
    rng = np.random.default_rng(seed)
    caffe.set_mode_cpu()
    net = caffe.Net(str(proto), caffe.TEST)
    for name, blobs in net.params.items():
        for k, blob in enumerate(blobs):
            if name.endswith(("bn1", "bn2")):
                blob.data[...] = [rng.normal(size=blob.data.shape), rng.uniform(0.5, 2, blob.data.shape), [2.0]][k]
            else:
                blob.data[...] = rng.normal(size=blob.data.shape)
    net.save(str(out))
    return net


def test_list_and_compare(tmp_path: Path):
    proto = conv_net(tmp_path / "a.prototxt")
    random_weights(proto, tmp_path / "a.caffemodel", 0)
    random_weights(proto, tmp_path / "b.caffemodel", 1)
    rows = MT.list_params(tmp_path / "a.caffemodel")
    assert [r[0] for r in rows] == ["c1", "bn1", "sc1", "c2", "bn2", "sc2", "ip"]
    assert rows[0][2] == [(4, 3, 3, 3)] and rows[-1][1] == "InnerProduct"
    assert MT.list_params(tmp_path / "a.caffemodel", proto) == rows
    assert MT.compare_models(tmp_path / "a.caffemodel", tmp_path / "a.caffemodel").identical
    diff = MT.compare_models(tmp_path / "a.caffemodel", tmp_path / "b.caffemodel")
    assert not diff.identical and set(diff.max_abs_diff) == {r[0] for r in rows}
    other = conv_net(tmp_path / "c.prototxt", ip_name="ip2", ip_out=7)
    random_weights(other, tmp_path / "c.caffemodel")
    diff = MT.compare_models(tmp_path / "a.caffemodel", tmp_path / "c.caffemodel")
    assert diff.only_a == ["ip"] and diff.only_b == ["ip2"] and "only in A (1): ip" in diff.report()
    assert cli_main(["surgery", "compare", str(tmp_path / "a.caffemodel"), str(tmp_path / "a.caffemodel")]) == 0


def test_copy_with_rename_and_prefixes(tmp_path: Path):
    proto = conv_net(tmp_path / "a.prototxt")
    src = random_weights(proto, tmp_path / "a.caffemodel")
    towers = caffe_pb2.NetParameter()
    for prefix in ("l_", "m_"):
        tower = text_format.Merge(conv_net(tmp_path / f"{prefix}.prototxt", prefix, f"{prefix}head").read_text(),
                                  caffe_pb2.NetParameter())
        for layer in tower.layer:
            if layer.type == "Input" and prefix == "m_":
                continue
            towers.layer.add().CopyFrom(layer)
    (tmp_path / "towers.prototxt").write_text(text_format.MessageToString(towers))
    report = MT.copy_weights(tmp_path / "a.caffemodel", tmp_path / "towers.prototxt", tmp_path / "t.caffemodel",
                             rename={"ip": "head"}, prefixes=["l_", "m_"], strict=True)
    assert ("l_head", "ip") in report.copied and ("m_c1", "c1") in report.copied and not report.missing
    out = MT.caffemodel_params(tmp_path / "t.caffemodel")
    np.testing.assert_array_equal(out["m_head"][0], src.params["ip"][0].data)
    np.testing.assert_array_equal(out["l_bn2"][1], src.params["bn2"][1].data)
    with pytest.raises(ValueError, match="without source"):
        MT.copy_weights(tmp_path / "a.caffemodel", tmp_path / "towers.prototxt", tmp_path / "x.caffemodel",
                        prefixes=["l_"], strict=True)


def test_toggle_deploy_and_train(tmp_path: Path):
    proto = conv_net(tmp_path / "a.prototxt")
    net = MT.toggle(proto, "train", tmp_path / "train.prototxt", trainable=["ip"])
    specs = {layer.name: [(p.lr_mult, p.decay_mult) for p in layer.param] for layer in net.layer}
    assert specs["c1"] == [(0, 0)] and specs["c2"] == [(0, 0)] * 2 and specs["bn1"] == [(0, 0)] * 3
    assert specs["sc1"] == [(0, 0)] * 2 and specs["ip"] == [(1, 1), (2, 0)]
    assert all(layer.batch_norm_param.use_global_stats for layer in net.layer if layer.type == "BatchNorm")
    deploy = MT.toggle(tmp_path / "train.prototxt", "deploy", tmp_path / "deploy.prototxt")
    assert not any(layer.param for layer in deploy.layer)


def test_fold_batchnorm_keeps_the_outputs(tmp_path: Path):
    proto = conv_net(tmp_path / "a.prototxt")
    net = random_weights(proto, tmp_path / "a.caffemodel")
    folded = MT.fold_batchnorm(proto, tmp_path / "a.caffemodel", tmp_path / "f.prototxt", tmp_path / "f.caffemodel")
    assert folded == ["c1", "c2"]
    new = MT.load_net(tmp_path / "f.prototxt", tmp_path / "f.caffemodel")
    assert not any(t in ("BatchNorm", "Scale") for t in (layer.type for layer in new.layers))
    x = np.random.default_rng(3).normal(size=(2, 3, 8, 8))
    net.blobs["data"].data[...] = x
    new.blobs["data"].data[...] = x
    np.testing.assert_allclose(new.forward()["ip"], net.forward()["ip"], rtol=1e-4, atol=1e-4)


def head_net_proto(path: Path, dim_in: int, dim_out: int, name: str = "pooled_rois/pca") -> Path:
    n = caffe.NetSpec()
    n.x = L.Input(shape={"dim": [4, dim_in]})
    n["pooled_rois/centered"] = L.Scale(n.x, bias_term=True)
    n[name] = L.InnerProduct(n["pooled_rois/centered"], num_output=dim_out)
    path.write_text(text_format.MessageToString(n.to_proto()))
    return path


@pytest.mark.parametrize(("whiten", "standardize"), [(True, False), (False, False), (True, True)])
def test_pca_surgery_round_trip(tmp_path: Path, whiten: bool, standardize: bool):
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6)) + rng.normal(size=6)
    pca = OP.learn_pca(vectors, whiten=whiten, standardize=standardize)
    assert pca.dim == 6 and np.all(np.diff(pca.variances) <= 0)
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(6), atol=1e-9)
    if whiten:
        np.testing.assert_allclose(np.cov(pca.transform(vectors).T), np.eye(6), atol=1e-6)
    proto = head_net_proto(tmp_path / "head.prototxt", 6, 6)
    random_weights(proto, tmp_path / "init.caffemodel")
    OP.write_pca(proto, tmp_path / "init.caffemodel", pca, tmp_path / "pca.caffemodel")
    net = MT.load_net(proto, tmp_path / "pca.caffemodel")
    x = vectors[:4]
    net.blobs["x"].data[...] = x
    np.testing.assert_allclose(net.forward()["pooled_rois/pca"], pca.transform(x), rtol=1e-4, atol=1e-4)
    # a 3-dim head: the first 3 components, written through a resized prototxt
    target = OP.write_pca(proto, tmp_path / "init.caffemodel", pca.truncate(3), tmp_path / "pca3.caffemodel",
                          out_proto=tmp_path / "head3.prototxt")
    small = MT.load_net(target, tmp_path / "pca3.caffemodel")
    small.blobs["x"].data[...] = x
    np.testing.assert_allclose(small.forward()["pooled_rois/pca"], pca.transform(x)[:, :3], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="out-proto"):
        OP.write_pca(proto, tmp_path / "init.caffemodel", pca.truncate(3), tmp_path / "bad.caffemodel")


def test_truncate_pca_keeps_the_leading_components(tmp_path: Path):
    rng = np.random.default_rng(8)
    pca = OP.learn_pca(rng.normal(size=(300, 8)) * np.arange(1, 9), whiten=True)
    proto = head_net_proto(tmp_path / "head.prototxt", 8, 8)
    random_weights(proto, tmp_path / "init.caffemodel")
    OP.write_pca(proto, tmp_path / "init.caffemodel", pca, tmp_path / "full.caffemodel")
    assert cli_main(["surgery", "truncate-pca", "--proto", str(proto), "--weights", str(tmp_path / "full.caffemodel"),
                    "--dim", "3", "--out-proto", str(tmp_path / "t.prototxt"), "--out-weights",
                    str(tmp_path / "t.caffemodel"), "--new-layer", "pooled_rois/pca_3"]) == 0
    params = MT.caffemodel_params(tmp_path / "t.caffemodel")
    np.testing.assert_allclose(params["pooled_rois/pca_3"][0], pca.projection()[:3], rtol=1e-5)
    np.testing.assert_allclose(OP.learn_pca(rng.normal(size=(300, 8)) * np.arange(1, 9), dim=3).components.shape,
                               (3, 8))
    # the same truncation, into an existing reduced prototxt
    target = head_net_proto(tmp_path / "target.prototxt", 8, 3, "pooled_rois/pca_3")
    MT.truncate_pca(proto, tmp_path / "full.caffemodel", "pooled_rois/pca", 3, tmp_path / "t2.caffemodel",
                    new_layer="pooled_rois/pca_3", target_proto=target)
    assert MT.compare_models(tmp_path / "t.caffemodel", tmp_path / "t2.caffemodel").identical


def test_roi_max_pool_matches_caffe_roipooling(tmp_path: Path):
    rng = np.random.default_rng(6)
    feats = rng.normal(size=(1, 3, 5, 7)).astype(np.float32)
    boxes = np.array([[0, 0, 55, 39], [16, 16, 31, 31], [40, 0, 47, 7], [100, 100, 120, 120], [3, 5, 3, 5],
                      [12.4, 4, 20.6, 11.5]], np.float32)
    rois = np.concatenate([np.zeros((len(boxes), 1), np.float32), boxes], axis=1)
    n = caffe.NetSpec()
    n.f = L.Input(shape={"dim": list(feats.shape)})
    n.rois = L.Input(shape={"dim": list(rois.shape)})
    n.pool = L.ROIPooling(n.f, n.rois, roi_pooling_param={"pooled_w": 1, "pooled_h": 1, "spatial_scale": 0.125})
    net = make_net(tmp_path, text_format.MessageToString(n.to_proto()))
    feed(net, f=feats, rois=rois)
    expected = net.forward()["pool"].reshape(len(boxes), -1)
    np.testing.assert_allclose(OP.roi_max_pool(feats[0], boxes, 0.125), expected, rtol=1e-6)


# ------------------------------------------------------------- default model: teacher, export, experiments


@pytest.fixture(scope="module")
def default_spec():
    from myPython.retrieval.models import load_model

    return load_model()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """Four classes of three edited copies of shipped photos, 120 x 160."""
    from myPython.common import assets
    from myPython.common.images import load_image

    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for path in assets.skimage_photos(["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg"]):
        base = smoke.center_fit(load_image(path), 120, 160)
        for i in range(3):
            (root / path.stem).mkdir(exist_ok=True)
            (root / path.stem / f"{i}.jpg").write_bytes(smoke.edit_image(base, rng))
    return root


def test_teacher_export_format_and_values(tmp_path: Path, default_spec, photos: Path):
    from myPython.nets.default_net import NSFW_MEAN_BGR
    from myPython.retrieval.extractor import DescriptorExtractor

    report = MT.make_teacher(default_spec.proto, default_spec.weights, tmp_path / "teacher.prototxt",
                             tmp_path / "teacher.caffemodel", [(30, 40), (60, 80), (90, 120)], NSFW_MEAN_BGR)
    assert ("h_pooled_rois/pca", "pooled_rois/pca") in report.copied and not report.missing
    images = tmp_path / "images"
    images.mkdir()
    for p in sorted(photos.glob("*/*.jpg"))[:7]:
        (images / f"{p.parent.name}_{p.name}").write_bytes(p.read_bytes())
    names = sorted(p.name for p in images.iterdir())

    assert cli_main(["convert", "--proto", str(tmp_path / "teacher.prototxt"),
                         "--weights", str(tmp_path / "teacher.caffemodel"), "--img-dir", str(images),
                         "--features-npy", str(tmp_path / "out/features.npy"),
                         "--features-txt", str(tmp_path / "out/list.txt"), "--index-txt",
                         str(tmp_path / "out/index.txt"), "--cpu", "--seed", "1"]) == 0
    features = np.load(tmp_path / "out/features.npy")
    assert features.shape == (7, 512) and features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1, rtol=1e-5)
    rows = [line.rsplit(" ", 1) for line in (tmp_path / "out/list.txt").read_text().splitlines()]
    assert sorted((name, int(row)) for name, row in rows) == [(n, i) for i, n in enumerate(names)]
    assert [int(row) for _, row in rows] != list(range(7))  # shuffled
    index = (tmp_path / "out/index.txt").read_text().splitlines()
    assert index == [f"{i}\t{Path(n).stem}" for i, n in enumerate(names)]
    # the 3-tower teacher = the multi-resolution descriptor of the single net at the same sizes
    extractor = DescriptorExtractor.from_files(default_spec.proto, default_spec.weights,
                                               default_spec.settings(scales=(40, 80, 120)), engine="onnxruntime")
    reference = extractor.describe_all(sorted(images.iterdir()))
    assert np.min(np.sum(reference * features, axis=1)) > 0.999


def test_fold_batchnorm_on_the_default_model(tmp_path: Path, default_spec, photos: Path):
    from myPython.retrieval.extractor import DescriptorExtractor

    folded = MT.fold_batchnorm(default_spec.proto, default_spec.weights, tmp_path / "f.prototxt",
                               tmp_path / "f.caffemodel")
    assert len(folded) == 53  # every convolution of the ResNet-50-1by2 trunk
    images = sorted(photos.glob("*/*.jpg"))[:3]
    settings = default_spec.settings(S=128)
    fp32 = "onnxruntime"  # exact paths only: `auto` may pick int8 for the default model
    before = DescriptorExtractor.from_files(default_spec.proto, default_spec.weights, settings,
                                            engine=fp32).describe_all(images)
    after = DescriptorExtractor.from_files(tmp_path / "f.prototxt", tmp_path / "f.caffemodel", settings, engine=fp32)
    np.testing.assert_allclose(after.describe_all(images), before, atol=2e-4)


def test_offline_experiments_on_an_oxford_layout(tmp_path: Path, default_spec, photos: Path, capsys):
    jpg, lab = tmp_path / "ox/jpg", tmp_path / "ox/lab"
    jpg.mkdir(parents=True)
    lab.mkdir()
    for folder in sorted(photos.iterdir()):
        for p in sorted(folder.glob("*.jpg")):
            (jpg / f"{folder.name}_{p.stem}.jpg").write_bytes(p.read_bytes())
        (lab / f"{folder.name}_1_query.txt").write_text(f"oxc1_{folder.name}_0 0 0 160 120\n")
        (lab / f"{folder.name}_1_good.txt").write_text(f"{folder.name}_1\n{folder.name}_2\n")
        (lab / f"{folder.name}_1_ok.txt").write_text("")
        (lab / f"{folder.name}_1_junk.txt").write_text("")
    layers = ["eltwise_stage3_block2", "eltwise_stage2_block5", "pooled_rois/normalized"]
    results = OP.run_experiments(default_spec.proto, default_spec.weights, tmp_path / "ox", layers, S=160,
                                 pca_dim=16)
    printed = capsys.readouterr().out
    for name in ("master", "raw:eltwise_stage2_block5", "raw-concat", "raw-concat-dimw", "master+raw",
                 "pca:eltwise_stage3_block2", "pca-concat+master"):
        assert name in results and 0 <= results[name] <= 1 and name in printed
    # numpy ROI pooling of the last block = Caffe's ROIPooling + Normalize
    assert results["raw:eltwise_stage3_block2"] == pytest.approx(results["raw:pooled_rois/normalized"])
    net = MT.load_net(default_spec.proto, default_spec.weights)
    _, regional = OP.extract(net, sorted(jpg.iterdir())[:2], layers[::2], 160, 2, default_spec.mean_bgr, None)
    for a, b in zip(regional["eltwise_stage3_block2"], regional["pooled_rois/normalized"]):
        np.testing.assert_allclose(a, b, atol=1e-5)


# --------------------------------------------------------------------------------------------- train.py


def test_effective_solver_paths(tmp_path: Path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s/net.prototxt").write_text("name: 'x'\n")
    (tmp_path / "s/solver.prototxt").write_text('net: "net.prototxt"\nbase_lr: 0.1\nsnapshot_prefix: "snaps/run"\n'
                                                "test_iter: 3\ntest_interval: 10\nmax_iter: 5\n")
    path, param = SS.effective_solver(tmp_path / "s/solver.prototxt", tmp_path / "out", max_iter=7, seed=3)
    assert param.net == str(tmp_path / "s/net.prototxt")
    assert param.snapshot_prefix == str(tmp_path / "out/snaps/run")
    assert param.max_iter == 7 and param.random_seed == 3 and param.test_iter[:] == [3]
    assert path == tmp_path / "out/snaps/run_solver.prototxt" and path.is_file()
    (tmp_path / "s/bad.prototxt").write_text('net: "absent.prototxt"\n')
    with pytest.raises(FileNotFoundError, match="absent.prototxt"):
        SS.effective_solver(tmp_path / "s/bad.prototxt", tmp_path / "out")
    missing = str(tmp_path / "s/missing.prototxt")
    assert cli_main(["train", "--solver", missing, "--weights", "w.caffemodel", "--cpu"]) == 1  # work failed


def test_held_out_map_of_class_folders(class_tree: Path):
    held = V.HeldOutSet.load(class_tree)
    labels = np.array([0, 0, 1, 1, 1, 2, 3, 3, 3, 3, 3])
    perfect = np.eye(4)[labels]
    assert held.mean_ap(perfect) == pytest.approx(1.0)
    assert held.mean_ap(np.random.default_rng(0).normal(size=(11, 4))) < 1.0


def test_smoke_dataset_is_deterministic(tmp_path: Path):
    a = smoke.make_smoke_dataset(tmp_path / "a", seed=4, per_class=2, views=1, height=60, width=80, val_per_class=2)
    b = smoke.make_smoke_dataset(tmp_path / "b", seed=4, per_class=2, views=1, height=60, width=80, val_per_class=2)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.jpg"))
    assert files_a == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.jpg"))
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a)
    assert len(S.scan_class_folders(a["train"]).names) == 18 and len(S.scan_class_folders(b["val"]).names) == 9
