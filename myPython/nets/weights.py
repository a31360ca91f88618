"""`make weights`: fetch the published caffemodel from an address the user gives, check it, install it.

    deep-retrieval weights --url URL [--proto proto/deploy_resnet101.prototxt]
                               [--out caffemodel/deep_image_retrieval_model.caffemodel]

URL may point at the .tgz archive or at a .caffemodel (http(s):// or file://).
The weights are checked layer by layer against the prototxt before they are
moved into place (atomic rename).
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PROTO = REPO / "proto" / "deploy_resnet101.prototxt"
DEFAULT_OUT = REPO / "caffemodel" / "deep_image_retrieval_model.caffemodel"


def _download(url: str, dest: Path) -> None:
    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)


def _find_caffemodel(archive: Path, workdir: Path) -> Path:
    if not tarfile.is_tarfile(archive):
        return archive
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".caffemodel")]
        if not members:
            raise ValueError(f"{archive.name}: the archive holds no .caffemodel")
        member = max(members, key=lambda m: m.size)
        member.name = Path(member.name).name
        tar.extract(member, workdir, filter="data")
        return workdir / member.name


def install_weights(url: str, proto: Path = DEFAULT_PROTO, out: Path = DEFAULT_OUT) -> Path:
    from myPython.nets.runtime import load_net

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        tmp_dir = Path(tmp)
        download = tmp_dir / "download"
        _download(url, download)
        weights = _find_caffemodel(download, tmp_dir)
        load_net(proto, weights)  # raises a one-line ModelError when they do not fit
        os.replace(weights, out)  # same folder: an atomic rename
    return out
