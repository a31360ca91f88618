"""Panel rows folded into video frames, for match-videos (pool/video_match.py).

Panel rows (`embed --panels`: a picture inside a frame, such as a clip shown as an inset, one half of a duet or of
a split screen; row ``<frame id>#panel=<n>`` right after its frame) are folded into their frames, as `search` and
`group` fold them into images (pool/panel_rows.py), so a composition is matched to the clips it shows:

* `VideoRows.rows(video)` lists a video's frames only; `VideoRows.panels(rows)` gives the frames' panel rows.
* Candidates: a panel row votes as its frame (a query panel's neighbour frame votes for the panel's video and
  the frame's; a frame's neighbour panel for the frame's video and the panel's), with the same frame threshold
  and its own closeness to the noise set; two panels never vote (a box many unrelated videos carry, a logo, must
  not link them). With panel rows each frame's list is PANEL_LISTS times longer, as the neighbour graph keeps it.
* Alignment: cell (i, j) of the similarity matrix is the best of frame i / frame j, a panel of i / frame j and
  frame i / a panel of j, never panel / panel (`folded_similarity`), and every feature of a segment reads the
  rows that made its cells: geometric verification the panel's own local features, `motion` and `over_self` its
  descriptor, `centred_peak` the panels centred on their video's mean panel (`align_pair`).

A store without panel rows folds nothing: its votes, matrices and scores are those of its frames alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from myPython.pool.temporal import Segment


@dataclass(frozen=True)
class Panels:
    """The panel rows of one video's frames: the frame each belongs to (its index among the video's frames, in
    order), their descriptors and their closeness to the noise set."""

    frame: np.ndarray
    vectors: np.ndarray
    bg: np.ndarray


# Which rows made each cell of a folded similarity: (query row, reference row) per cell, as indices into each
# video's frames followed by its panels (Panels order); None where no video has panels (frame i, frame j).
Cells = tuple[np.ndarray, np.ndarray] | None
Geometry = Callable[[Segment, np.ndarray, Cells], dict]


def _by_rank(frame: np.ndarray) -> Iterator[np.ndarray]:
    """Panels (indices) in groups holding each frame at most once (a frame's first panels, its second...)."""
    rank = np.arange(len(frame)) - np.searchsorted(frame, frame)
    for r in range(int(rank.max(initial=-1)) + 1):
        yield np.flatnonzero(rank == r)


def folded_similarity(q_vectors: np.ndarray, q_bad: np.ndarray, r_vectors: np.ndarray, r_bad: np.ndarray,
                      q_panels: Panels | None = None, r_panels: Panels | None = None, uninformative: float = 1.0
                      ) -> tuple[np.ndarray, Cells, np.ndarray]:
    """(sim, cells, valid): the frame-similarity matrix with panel rows folded into their frames, which rows made
    each cell, and which cells have any informative pair of rows.

    Cell (i, j) is the best of cos(frame i, frame j), cos(a panel of i, frame j) and cos(frame i, a panel of j),
    never of two panels (as search and group fold panels, pool/panel_rows.py); a pair of rows counts only when
    neither is uninformative (`q_bad`, `r_bad` for frames, `bg` >= `uninformative` for panels), and a cell with
    none is -1. Ties keep the whole frames. Without panels: the frames' matrix alone, `cells` None."""
    sim = q_vectors @ r_vectors.T
    # Uninformative frames are no evidence: their cells can never be matches.
    sim[q_bad, :] = -1.0
    sim[:, r_bad] = -1.0
    valid = ~q_bad[:, None] & ~r_bad[None, :]
    q_has = q_panels is not None and len(q_panels.frame) > 0
    r_has = r_panels is not None and len(r_panels.frame) > 0
    if not (q_has or r_has):
        return sim, None, valid
    nq, nr = sim.shape
    pick_q = np.repeat(np.arange(nq)[:, None], nr, axis=1)
    pick_r = np.repeat(np.arange(nr)[None, :], nq, axis=0)
    if q_has:
        cos = q_panels.vectors @ r_vectors.T
        ok = (q_panels.bg < uninformative)[:, None] & ~r_bad[None, :]
        for g in _by_rank(q_panels.frame):
            f = q_panels.frame[g]
            better = ok[g] & (~valid[f] | (cos[g] > sim[f]))
            sim[f] = np.where(better, cos[g], sim[f])
            pick_q[f] = np.where(better, nq + g[:, None], pick_q[f])
            valid[f] |= ok[g]
    if r_has:
        cos = q_vectors @ r_panels.vectors.T
        ok = ~q_bad[:, None] & (r_panels.bg < uninformative)[None, :]
        for g in _by_rank(r_panels.frame):
            f = r_panels.frame[g]
            better = ok[:, g] & (~valid[:, f] | (cos[:, g] > sim[:, f]))
            sim[:, f] = np.where(better, cos[:, g], sim[:, f])
            pick_r[:, f] = np.where(better, nr + g[None, :], pick_r[:, f])
            pick_q[:, f] = np.where(better, np.arange(nq)[:, None], pick_q[:, f])  # against frame i itself
            valid[:, f] |= ok[:, g]
    return sim, (pick_q, pick_r), valid


def extended(vectors: np.ndarray, panels: Panels | None) -> np.ndarray:
    """A video's frames followed by its panels (the indices of `Cells`)."""
    return vectors if panels is None else np.concatenate([vectors, panels.vectors])


def panels_of(videos, rows: np.ndarray, bg: np.ndarray) -> tuple[Panels | None, np.ndarray]:
    """(the panels of a video's frames `rows`, or None; the frames' rows followed by the panels' rows)."""
    if not videos.has_panels:
        return None, rows
    frame, panel_rows = videos.panels(rows)
    if not len(panel_rows):
        return None, rows
    return Panels(frame, videos.vectors(panel_rows), bg[panel_rows]), np.concatenate([rows, panel_rows])
