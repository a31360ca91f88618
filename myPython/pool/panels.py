"""Panels: the axis-aligned sub-pictures of a composition (inset, side by side, split screen, grid), from pixels.

A composition puts whole pictures next to or over each other, and every picture it shows is bounded by straight,
axis-aligned lines: where one picture meets another picture, a border or a plain background, the colour steps
along one exact row or column over the picture's whole side. `detect_panels` looks for rectangles whose sides
are such lines (or the frame's own border), with generic image evidence only:

1. The image is scaled to a long side of WORK_SIDE (area averaging), kept in colour.
2. Step evidence for a line between two rows (and, the same on the transposed image, between two columns): the
   largest colour change over B, G, R between the two rows above and the two rows below, skipping the two rows
   next to the line that resampling may have mixed. A pixel is evidence when the step is large (STEP_MIN) and a
   clear step edge: STEP_RATIO times the change across and ALONG_RATIO-weighted along the line within at least
   one of its sides (texture on both sides gives none). A line's evidence is read in two neighbouring positions.
3. Line candidates: per position, the longest run of evidence (gaps of GAP_CLOSE closed) of at least RUN_MIN of
   the frame's side; the strongest MAX_LINES of each direction, LINE_NMS apart. The frame's borders are lines
   too (a picture may touch the frame's edge; a line within BORDER_SNAP of it is left to the border).
4. Rectangles: every pair of horizontal and every pair of vertical lines spans one. It is kept when each inner
   side is covered by evidence over SIDE_COVER of its length and by CONTRAST_MIN more than the evidence
   BG_NEAR..BG_FAR positions beside it on its cleaner side (a lone straight line, not one edge of many in
   foliage or brickwork), at least one side is inner, its area is AREA_MIN..AREA_MAX of the frame, it is at
   least MIN_PANEL_PX on a side (input pixels) and not more elongated than MAX_ASPECT, no line crosses it from
   side to side (then it holds two pictures: a half of a grid), and it is not mostly one flat colour (a bar,
   a gutter).
5. The rectangles, best covered first, are thinned by IoU (DEDUP_IOU); the first `max_panels` are returned in the
   input's pixel coordinates.

What it cannot see: a picture whose edge does not step against its surroundings (a dark photo on a black frame),
and it does find straight-edged rectangles that belong to a scene (windows, a logo box, a letterboxed copy's
picture): those are its false panels. About 5-10 ms a frame (vectorised numpy on a 384-pixel image).
"""

from __future__ import annotations

import cv2
import numpy as np

Panel = tuple[int, int, int, int]  # x0, y0, x1, y1 in input pixels (x1, y1 exclusive)
PANELS_VERSION = "steps-1"  # names this detector in a store's meta ("panels"): another value, other panel rows

WORK_SIDE = 384  # long side (pixels) the detector works at
STEP_MIN = 16.0  # least colour step (0-255, max over B, G, R) across a line for a pixel of evidence
STEP_RATIO = 2.5  # a step must exceed the change within one of its sides by this factor (an edge, not texture)
ALONG_RATIO = 1.5  # weight of the change along the line (over two pixels) in a side's change (not a slanted edge)
GAP_CLOSE = 3  # gaps (work pixels) closed along a line before measuring its longest run
RUN_MIN = 0.08  # least longest run of a line candidate, a share of the frame's side along it
MAX_LINES = 14  # strongest inner line candidates kept per direction
LINE_NMS = 3  # line candidates are more than this many positions apart
BORDER_SNAP = 3  # lines this close (work pixels) to the frame's border are left to the border
SIDE_COVER = 0.8  # least share of each inner rectangle side covered by evidence
BG_NEAR = 4  # nearest position (from a line, on each side) where the evidence beside it is measured
BG_FAR = 7  # farthest such position
CONTRAST_MIN = 0.4  # least coverage of an inner side over the mean evidence beside it (on its cleaner side)
CROSS_COVER = 0.9  # an inner line covering this share (or the rectangle's own worst side's) across it splits it
CROSS_MARGIN = 0.12  # crossing lines are looked for this share of the side away from the rectangle's sides
AREA_MIN = 0.025  # least panel area, share of the frame
AREA_MAX = 0.72  # most panel area, share of the frame (a larger part dominates the global descriptor anyway)
MIN_PANEL_PX = 64  # least panel side, input pixels
MAX_ASPECT = 5.0  # most panel elongation, long side / short side (a band of a 16:9 frame split at 40 %: 4.4)
PLAIN_TOL = 4  # grey levels either side of a panel's commonest grey that count as flat
PLAIN_SHARE = 0.6  # a panel with this share of flat pixels is a bar or a background, not a picture
DEDUP_IOU = 0.5  # a panel overlapping a better one by this IoU is dropped


def detect_panels(image: np.ndarray, max_panels: int = 4) -> list[Panel]:
    """(x0, y0, x1, y1) boxes of the likely sub-pictures of a BGR uint8 image, most confident first; [] when it
    does not look like a composition."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    ih, iw = image.shape[:2]
    scale = min(1.0, WORK_SIDE / max(ih, iw))
    small = cv2.resize(image, (max(1, round(iw * scale)), max(1, round(ih * scale))), interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    if min(h, w) < 16 or max_panels <= 0:
        return []
    kept: list[Panel] = []
    for _, box in _rectangles(small, scale):
        if all(_iou(box, k) < DEDUP_IOU for k in kept):
            kept.append(box)
            if len(kept) == max_panels:
                break
    return [(round(x0 * iw / w), round(y0 * ih / h), round(x1 * iw / w), round(y1 * ih / h))
            for x0, y0, x1, y1 in kept]


def _steps(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Evidence of lines between rows, (H+1) x W booleans (position y lies above row y), and between columns,
    (W+1) x H (the image transposed); positions 0 and H (W), the frame's borders, never have any."""
    rows = cv2.split(image)
    return _row_steps(rows), _row_steps([np.ascontiguousarray(c.T) for c in rows])


def _row_steps(channels: list[np.ndarray]) -> np.ndarray:
    h, w = channels[0].shape
    out = np.zeros((h + 1, w), bool)
    if h < 7 or w < 3:
        return out
    step = within = along = None
    for c in channels:  # uint8; the largest change over B, G, R
        pair = cv2.addWeighted(c[:-1], 0.5, c[1:], 0.5, 0.0)  # pair[y]: mean of rows y and y+1
        s = cv2.absdiff(pair[4:], pair[:-4])  # position p = 3 .. h-3: rows p-3, p-2 against p+1, p+2
        d = cv2.absdiff(c[1:], c[:-1])  # d[y]: row y+1 against row y, across the line
        a = cv2.absdiff(c[:, 2:], c[:, :-2])  # along the line, over two pixels (columns 1 .. w-2)
        step = s if step is None else cv2.max(step, s)
        within = d if within is None else cv2.max(within, d)
        along = a if along is None else cv2.max(along, a)
    along = cv2.copyMakeBorder(along, 0, 0, 1, 1, cv2.BORDER_CONSTANT, value=0)
    k = 0.5 * ALONG_RATIO
    side = cv2.min(cv2.max(within[:-4], cv2.multiply(along[1:-4], k)),  # rows p-3, p-2, and row p-2 along
                   cv2.max(within[4:], cv2.multiply(along[4:-1], k)))  # rows p+1, p+2, and row p+1 along
    out[3 : h - 2] = (step > STEP_MIN) & (step > STEP_RATIO * side.astype(np.float32))
    return out


def _widened(ev: np.ndarray) -> np.ndarray:
    """Evidence at a position or the next one (a boundary that resampling blurred over two rows); never on the
    borders."""
    out = ev.copy()
    out[:-1] |= ev[1:]
    out[0] = out[-1] = False
    return out


def _longest_runs(ev: np.ndarray, least: float) -> np.ndarray:
    """Per row, the longest run of True once gaps up to GAP_CLOSE are closed (0 for rows with fewer than
    `least` True in all)."""
    best = np.zeros(ev.shape[0], np.int64)
    busy = np.flatnonzero(ev.sum(axis=1) >= least)
    if not len(busy):
        return best
    closed = cv2.morphologyEx(ev[busy].astype(np.uint8), cv2.MORPH_CLOSE, np.ones((1, GAP_CLOSE), np.uint8))
    padded = np.zeros((closed.shape[0], closed.shape[1] + 2), np.int8)
    padded[:, 1:-1] = closed
    d = np.diff(padded, axis=1)
    rows, starts = np.nonzero(d == 1)
    _, ends = np.nonzero(d == -1)  # row-major order pairs each run's end with its start
    np.maximum.at(best, busy[rows], ends - starts)
    return best


def _candidates(ev: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Line positions of one direction: both borders and the strongest inner lines by longest run (ties to the
    position with more evidence of its own and around it), LINE_NMS apart, none within BORDER_SNAP of a border."""
    n, span = ev.shape[0] - 1, ev.shape[1]
    runs = _longest_runs(ev, RUN_MIN * span).astype(np.float32)
    runs[: BORDER_SNAP + 1] = 0
    runs[n - BORDER_SNAP :] = 0
    count = raw.sum(axis=1).astype(np.float32)
    score = runs + 0.1 * count
    score[1:-1] += 0.05 * (count[:-2] + count[2:])  # the middle of a thick line
    kept: list[int] = []
    for p in np.argsort(-score, kind="stable"):
        if runs[p] >= RUN_MIN * span and all(abs(int(p) - q) > LINE_NMS for q in kept):
            kept.append(int(p))
            if len(kept) == MAX_LINES:
                break
    return np.unique(np.array([0, n, *kept], np.int64))


def _coverage(ev: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """cover[i, a, b]: mean of row ev[i] between cuts[a] and cuts[b] (a < b)."""
    cum = np.zeros((ev.shape[0], ev.shape[1] + 1), np.float32)
    np.cumsum(ev, axis=1, out=cum[:, 1:])
    at = cum[:, cuts]
    length = np.maximum(cuts[None, :] - cuts[:, None], 1).astype(np.float32)
    return (at[:, None, :] - at[:, :, None]) / length[None]


def _beside(ev: np.ndarray, lines: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """beside[i, a, b]: the mean evidence BG_NEAR..BG_FAR positions beside line lines[i] between cuts[a] and
    cuts[b], on the side that has less."""
    n = ev.shape[0]
    sides = []
    for lo, hi in ((-BG_FAR, -BG_NEAR), (BG_NEAR + 1, BG_FAR + 1)):  # position p's evidence spans p, p + 1
        band = np.zeros((len(lines), ev.shape[1]), np.float32)
        for k, p in enumerate(lines):
            a, b = min(max(p + lo, 0), n), min(max(p + hi + 1, 0), n)
            if b > a:
                band[k] = ev[a:b].mean(axis=0)
        sides.append(_coverage(band, cuts))
    return np.minimum(*sides)


def _rectangles(small: np.ndarray, scale: float) -> list[tuple[float, Panel]]:
    """(confidence, box in work pixels) of the rectangles that pass, most confident first."""
    h, w = small.shape[:2]
    h_raw, v_raw = _steps(small)
    h_ev, v_ev = _widened(h_raw), _widened(v_raw)
    ys, xs = _candidates(h_ev, h_raw), _candidates(v_ev, v_raw)
    # per line and stretch between two cuts of the other direction: coverage, less the evidence beside it
    hc, vc = _coverage(h_ev[ys], xs), _coverage(v_ev[xs], ys)
    hk, vk = hc - _beside(h_ev, ys, xs), vc - _beside(v_ev, xs, ys)
    hc[[0, -1]] = vc[[0, -1]] = 1.0  # the frame's borders
    hk[[0, -1]] = vk[[0, -1]] = 1.0
    ny, nx = len(ys), len(xs)
    i0, i1 = np.triu_indices(ny, 1)
    j0, j1 = np.triu_indices(nx, 1)

    def four(hm: np.ndarray, vm: np.ndarray) -> np.ndarray:  # top, bottom, left, right of every rectangle
        return np.stack([hm[i0[:, None], j0[None], j1[None]], hm[i1[:, None], j0[None], j1[None]],
                         vm[j0[None], i0[:, None], i1[:, None]], vm[j1[None], i0[:, None], i1[:, None]]])

    cover, contrast = four(hc, vc), four(hk, vk)
    inner = np.stack(np.broadcast_arrays((i0 > 0)[:, None], (i1 < ny - 1)[:, None], (j0 > 0)[None],
                                         (j1 < nx - 1)[None]))
    n_inner = inner.sum(axis=0)
    bh = (ys[i1] - ys[i0])[:, None].astype(np.float32)
    bw = (xs[j1] - xs[j0])[None].astype(np.float32)
    area = bh * bw / (h * w)
    ok = (cover.min(axis=0) >= SIDE_COVER) & (contrast.min(axis=0) >= CONTRAST_MIN) & (n_inner > 0)
    ok &= (area >= AREA_MIN) & (area <= AREA_MAX)
    ok &= (np.minimum(bh, bw) >= MIN_PANEL_PX * scale) & (np.maximum(bh / bw, bw / bh) <= MAX_ASPECT)
    # confidence: the inner sides' mean coverage, a little more for more of them
    conf = np.where(inner, cover, 0).sum(axis=0) / np.maximum(n_inner, 1) + 0.01 * n_inner
    grey = None
    found: list[tuple[float, Panel]] = []
    for a, b in zip(*np.nonzero(ok)):
        worst = float(np.where(inner[:, a, b], cover[:, a, b], 1.0).min())
        if _crossed(hc, vc, ys, xs, (i0[a], i1[a], j0[b], j1[b]), max(worst, CROSS_COVER)):
            continue
        y0, y1, x0, x1 = int(ys[i0[a]]), int(ys[i1[a]]), int(xs[j0[b]]), int(xs[j1[b]])
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if grey is None else grey
        if _plain(grey[y0:y1, x0:x1]):
            continue
        found.append((float(conf[a, b]), (x0, y0, x1, y1)))
    found.sort(key=lambda t: -t[0])
    return found


def _crossed(hc: np.ndarray, vc: np.ndarray, ys: np.ndarray, xs: np.ndarray, rect: tuple[int, int, int, int],
             need: float) -> bool:
    """Whether a candidate line crosses the rectangle (indices i0, i1, j0, j1 into ys, xs) from side to side,
    well inside it, with coverage >= need."""
    i0, i1, j0, j1 = rect
    my, mx = CROSS_MARGIN * (ys[i1] - ys[i0]), CROSS_MARGIN * (xs[j1] - xs[j0])
    for i in range(i0 + 1, i1):
        if ys[i0] + my < ys[i] < ys[i1] - my and hc[i, j0, j1] >= need:
            return True
    for j in range(j0 + 1, j1):
        if xs[j0] + mx < xs[j] < xs[j1] - mx and vc[j, i0, i1] >= need:
            return True
    return False


def _plain(grey: np.ndarray) -> bool:
    """Whether most of a region is one flat grey (a bar, a gutter, a background with a caption on it)."""
    hist = cv2.calcHist([grey], [0], None, [256], [0, 256])[:, 0]
    band = np.convolve(hist, np.ones(2 * PLAIN_TOL + 1, np.float32), mode="same")  # pixels within PLAIN_TOL
    return bool(band.max() >= PLAIN_SHARE * grey.size)


def _iou(a: Panel, b: Panel) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
