"""Temporal alignment of two videos' frame-similarity matrix into matched segments.

Two aligners share one input (a similarity matrix `sim`, query frames in rows,
reference frames in columns, frame times in seconds) and one output (segments
with their frame correspondences):

* `hough_segments` (the default): Hough voting over the time offset of the
  candidate frame matches, for speeds 0.5x to 2x, followed by a weighted
  least-squares line fit to the voters (a RANSAC-style consensus step: only
  matches within one frame of the line are kept), split into runs where the
  line has a gap. Repeated on the remaining matches, it finds several segments
  per pair (a clip cut in two, a piece inserted twice).
* `network_segments`: the temporal network of Tan et al. (2009), as in VCSL:
  candidate matches are nodes, an edge joins two matches that both move
  forward by at most `max_step` frames, and the heaviest path is a segment.

`segment_features` describes a segment by how similar its frames are and by
how much they stand out from the rest of their rows and columns (a copy has a
sharp diagonal; two recordings of one static scene are alike everywhere).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SPEEDS = tuple(float(x) for x in 2.0 ** np.linspace(-1.0, 1.0, 17))  # 0.5x .. 2x, 1.0 included


@dataclass
class AlignOptions:
    match_threshold: float = 0.3  # a cell is a candidate match when sim >= this
    top_k: int = 3  # ... and among the best k of its row or of its column
    min_frames: int = 2  # a segment needs at least this many matched frames
    max_gap: float = 3.0  # frame steps without a match that still continue a segment
    max_segments: int = 8  # per pair
    max_step: int = 3  # temporal network: largest forward jump, in frames


@dataclass
class Segment:
    """A matched segment: times in seconds (ends include the last frame's duration) and its frame pairs."""

    query_start: float
    query_end: float
    ref_start: float
    ref_end: float
    pairs: np.ndarray  # k x 2 (query frame, reference frame) indices along the segment
    speed: float = 1.0  # reference seconds per query second
    features: dict = field(default_factory=dict)
    score: float = 0.0


def candidate_matches(sim: np.ndarray, options: AlignOptions) -> np.ndarray:
    """(i, j) cells at or above the match threshold that are among the top-k of their row or column."""
    if sim.size == 0:
        return np.zeros((0, 2), np.int64)
    k_row, k_col = min(options.top_k, sim.shape[1]), min(options.top_k, sim.shape[0])
    keep = np.zeros(sim.shape, bool)
    rows = np.argpartition(-sim, k_row - 1, axis=1)[:, :k_row]
    keep[np.arange(sim.shape[0])[:, None], rows] = True
    cols = np.argpartition(-sim, k_col - 1, axis=0)[:k_col, :]
    keep[cols, np.arange(sim.shape[1])[None, :]] = True
    keep &= sim >= options.match_threshold
    return np.argwhere(keep)


def _frame_step(times: np.ndarray) -> float:
    return float(np.median(np.diff(times))) if len(times) > 1 else 1.0


def _segment_from_pairs(pairs: np.ndarray, tq: np.ndarray, tr: np.ndarray, speed: float) -> Segment:
    # A sampled frame stands for the half step around it (boundaries fall anywhere between samples).
    hq, hr = _frame_step(tq) / 2, _frame_step(tr) / 2
    qi, rj = pairs[:, 0], pairs[:, 1]
    return Segment(max(0.0, float(tq[qi.min()]) - hq), float(tq[qi.max()]) + hq,
                   max(0.0, float(tr[rj.min()]) - hr), float(tr[rj.max()]) + hr, pairs, speed)


def _runs(pairs: np.ndarray, tq: np.ndarray, max_gap_s: float) -> list[np.ndarray]:
    """Split pairs (sorted by query frame) where consecutive query times are more than max_gap_s apart."""
    if len(pairs) == 0:
        return []
    gaps = np.diff(tq[pairs[:, 0]]) > max_gap_s
    return np.split(pairs, np.flatnonzero(gaps) + 1)


def _one_per_frame(pairs: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Keep, for every query frame and every reference frame, only its heaviest pair."""
    order = np.argsort(-weight, kind="stable")
    seen_q: set[int] = set()
    seen_r: set[int] = set()
    kept = []
    for n in order:
        i, j = int(pairs[n, 0]), int(pairs[n, 1])
        if i not in seen_q and j not in seen_r:
            seen_q.add(i)
            seen_r.add(j)
            kept.append(n)
    out = pairs[sorted(kept, key=lambda n: (pairs[n, 0], pairs[n, 1]))]
    return out.reshape(-1, 2)


def hough_segments(sim: np.ndarray, tq: np.ndarray, tr: np.ndarray, options: AlignOptions) -> list[Segment]:
    """Segments by Hough voting on (speed, offset), a line fit and run splitting (see the module doc)."""
    tq, tr = np.asarray(tq, np.float64), np.asarray(tr, np.float64)
    matches = candidate_matches(sim, options)
    sq, sr = _frame_step(tq), _frame_step(tr)
    segments: list[Segment] = []
    while len(matches) >= options.min_frames and len(segments) < options.max_segments:
        x, y = tq[matches[:, 0]], tr[matches[:, 1]]
        w = sim[matches[:, 0], matches[:, 1]].astype(np.float64)
        # The reference frame nearest to a point of the line is at most half a step away, whatever the
        # speed: votes go to bins of half a step, and a line's votes fall into two neighbouring bins.
        tol = 0.6 * sr
        best = (-1.0, 1.0, 0.0)
        for a in SPEEDS:
            bins = np.floor((y - a * x) / (sr / 2)).astype(np.int64)
            lo = bins.min()
            votes = np.bincount(bins - lo, weights=w)
            smooth = votes + np.concatenate([votes[1:], [0]])
            k = int(np.argmax(smooth))
            if smooth[k] > best[0] + 1e-9:
                best = (float(smooth[k]), a, float((lo + k + 1) * sr / 2))
        _, a, b = best
        inlier = np.abs(y - (a * x + b)) <= tol
        if inlier.sum() >= 2 and np.ptp(x[inlier]) > 0:  # refine by weighted least squares on the voters
            xi, yi, wi = x[inlier], y[inlier], w[inlier]
            a_fit = float(np.clip(np.polyfit(xi, yi, 1, w=np.sqrt(wi))[0], SPEEDS[0], SPEEDS[-1]))
            b_fit = float(np.average(yi - a_fit * xi, weights=wi))
            refit = np.abs(y - (a_fit * x + b_fit)) <= tol
            if w[refit].sum() > w[inlier].sum() + 1e-9:  # keep the fit only when it gathers more evidence
                a, b, inlier = a_fit, b_fit, refit
        line = _one_per_frame(matches[inlier], w[inlier] - 0.01 * np.abs(y - (a * x + b))[inlier])
        runs = [r for r in _runs(line, tq, options.max_gap * sq) if len(r) >= options.min_frames]
        if not runs:
            # No run is long enough: drop the voters and look for another line.
            matches = matches[~inlier]
            continue
        for run in runs:
            if len(segments) < options.max_segments:
                segments.append(_segment_from_pairs(run, tq, tr, a))
        # Remove every match inside the found segments' rectangles, and the voters.
        gone = inlier.copy()
        for s in segments:
            gone |= (x >= s.query_start) & (x < s.query_end) & (y >= s.ref_start) & (y < s.ref_end)
        matches = matches[~gone]
    return segments


def network_segments(sim: np.ndarray, tq: np.ndarray, tr: np.ndarray, options: AlignOptions) -> list[Segment]:
    """Segments as heaviest paths of the temporal network (Tan et al. 2009)."""
    tq, tr = np.asarray(tq, np.float64), np.asarray(tr, np.float64)
    matches = candidate_matches(sim, options)
    segments: list[Segment] = []
    alive = np.ones(len(matches), bool)
    while alive.sum() >= options.min_frames and len(segments) < options.max_segments:
        nodes = matches[alive]
        order = np.lexsort((nodes[:, 1], nodes[:, 0]))
        nodes = nodes[order]
        weight = sim[nodes[:, 0], nodes[:, 1]].astype(np.float64)
        best = weight.copy()
        parent = np.full(len(nodes), -1)
        for n in range(len(nodes)):
            i, j = nodes[n]
            # predecessors: strictly earlier in both videos, within max_step frames
            lo = np.searchsorted(nodes[:, 0], i - options.max_step)
            hi = np.searchsorted(nodes[:, 0], i)
            if hi > lo:
                prev = np.arange(lo, hi)
                dj = j - nodes[prev, 1]
                prev = prev[(dj > 0) & (dj <= options.max_step)]
                if len(prev):
                    p = prev[np.argmax(best[prev])]
                    best[n] = best[p] + weight[n]
                    parent[n] = p
        end = int(np.argmax(best))
        path = []
        while end >= 0:
            path.append(end)
            end = parent[end]
        path = path[::-1]
        pairs = nodes[path]
        used = np.flatnonzero(alive)[order[path]]
        alive[used] = False
        if len(pairs) < options.min_frames:
            if len(segments) or len(pairs) <= 1:
                break
            continue
        dq = tq[pairs[-1, 0]] - tq[pairs[0, 0]]
        speed = (tr[pairs[-1, 1]] - tr[pairs[0, 1]]) / dq if dq > 0 else 1.0
        seg = _segment_from_pairs(pairs, tq, tr, float(np.clip(speed, SPEEDS[0], SPEEDS[-1])))
        segments.append(seg)
        inside = ((tq[matches[:, 0]] >= seg.query_start) & (tq[matches[:, 0]] < seg.query_end)
                  & (tr[matches[:, 1]] >= seg.ref_start) & (tr[matches[:, 1]] < seg.ref_end))
        alive &= ~inside
    return segments


ALIGNERS = {"hough": hough_segments, "network": network_segments}


def _cell_contrast(sim: np.ndarray, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(margin, peak) of cells (i, j) against the other cells of their row and column (vectorised).

    The other cells leave out the cell's temporal neighbours (one frame either side) and uninformative
    frames (-1): margin is how much the cell beats the best of them, peak the z-score against them.
    """
    rows, cols = sim[i, :], sim[:, j].T  # k x n_ref, k x n_query
    keep_r = (np.abs(np.arange(sim.shape[1])[None, :] - j[:, None]) > 1) & (rows > -1.0)
    keep_c = (np.abs(np.arange(sim.shape[0])[None, :] - i[:, None]) > 1) & (cols > -1.0)
    rest = np.concatenate([rows, cols], axis=1).astype(np.float64)
    keep = np.concatenate([keep_r, keep_c], axis=1)
    count = keep.sum(axis=1)
    value = sim[i, j].astype(np.float64)
    best = np.where(keep, rest, -np.inf).max(axis=1, initial=-np.inf)
    mean = np.where(keep, rest, 0.0).sum(axis=1) / np.maximum(count, 1)
    std = np.sqrt(np.where(keep, (rest - mean[:, None]) ** 2, 0.0).sum(axis=1) / np.maximum(count, 1))
    margin = np.where(count > 0, value - best, 0.0)
    peak = np.where(count > 1, (value - mean) / (std + 0.02), 0.0)
    return margin, peak


def motion_agreement(q: np.ndarray, r: np.ndarray, pairs: np.ndarray) -> float:
    """Mean cosine between the steps of the two videos along matched pairs (descriptor q[i'] - q[i] against
    r[j'] - r[j] for consecutive pairs): the content changes alike in a copy, differently in another
    recording of the same scene. 0 for fewer than two pairs."""
    if len(pairs) < 2:
        return 0.0
    dq = q[pairs[1:, 0]] - q[pairs[:-1, 0]]
    dr = r[pairs[1:, 1]] - r[pairs[:-1, 1]]
    norms = np.linalg.norm(dq, axis=1) * np.linalg.norm(dr, axis=1)
    return float(np.mean(np.sum(dq * dr, axis=1) / np.maximum(norms, 1e-6)))


def shift_contrast(sim: np.ndarray, i: np.ndarray, j: np.ndarray, shifts: tuple[int, ...] = (2, 3, 4)) -> float:
    """Mean similarity along the matched cells minus its mean along the same path shifted by a few frames in
    either video: a copy's alignment beats its shifted versions wherever the content changes; a look-alike
    (another recording of a still scene) does not."""
    shifted = []
    for d in (*shifts, *(-d for d in shifts)):
        for a, b in ((i, j + d), (i + d, j)):
            ok = (a >= 0) & (a < sim.shape[0]) & (b >= 0) & (b < sim.shape[1])
            cells = sim[a[ok], b[ok]]
            cells = cells[cells > -1.0]  # uninformative frames' cells carry no information
            if len(cells):
                shifted.append(float(cells.mean()))
    return float(sim[i, j].mean() - np.mean(shifted)) if shifted else 0.0


def over_self(q: np.ndarray, r: np.ndarray, pairs: np.ndarray) -> float:
    """How much the matched frames resemble each other beyond how much each video's own matched frames, two or
    more frames apart, resemble each other (the higher of the two): below 0 for a static look-alike. 0 for a
    segment too short to tell."""
    values = []
    for v, idx in ((q, pairs[:, 0]), (r, pairs[:, 1])):
        apart = np.abs(idx[:, None] - idx[None, :]) >= 2
        if apart.any():
            values.append(float((v[idx] @ v[idx].T)[apart].mean()))
    if not values:
        return 0.0
    return float(np.mean(np.sum(q[pairs[:, 0]] * r[pairs[:, 1]], axis=1)) - max(values))


def segment_features(seg: Segment, sim: np.ndarray, centred: np.ndarray | None = None,
                     vectors: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """Evidence of one segment: frames, mean and best similarity, margin, peak and agreement.

    Margin: the median, over the matched cells, of how much each beats the best other cell of its
    row and column (two or more frames off the line); peak: the same against the mean of those
    cells, in units of their spread (a z-score: small but consistent peaks count). Agreement: the
    share of matched cells that are the best of their row and column (within one frame). A copy of
    changing content has a sharp diagonal (all high); two recordings of one scene, or a static shot,
    are alike everywhere (all at chance), so only a very high similarity can speak for them.
    `shift_contrast`: see there. With `centred` (the similarity of the frames minus their video's mean
    frame: what changes, not the scene), `centred_peak` is the peak there; with `vectors` (both videos'
    descriptors), `motion` and `over_self` (see there).
    """
    i, j = seg.pairs[:, 0], seg.pairs[:, 1]
    values = sim[i, j].astype(np.float64)
    margins, peaks = _cell_contrast(sim, i, j)
    row_best, col_best = np.argmax(sim[i, :], axis=1), np.argmax(sim[:, j], axis=0)
    agree = (np.abs(row_best - j) <= 1) & (np.abs(col_best - i) <= 1)
    out = {"frames": int(len(values)), "mean": float(values.mean()), "max": float(values.max()),
           "margin": float(np.median(margins)), "peak": float(np.median(peaks)), "agreement": float(agree.mean())}
    if centred is not None:
        out["centred_peak"] = float(np.median(_cell_contrast(centred, i, j)[1]))
    if vectors is not None:
        out["motion"] = motion_agreement(vectors[0], vectors[1], seg.pairs)
        out["over_self"] = over_self(vectors[0], vectors[1], seg.pairs)
    out["shift_contrast"] = shift_contrast(sim, i, j)
    return out
