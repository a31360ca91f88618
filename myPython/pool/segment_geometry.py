"""Geometric evidence of a matched video segment, from the local features in the stores (pool/verify.py).

The segment's VERIFIED_CELLS most similar matched frame pairs (i, j) are verified (RootSIFT + RANSAC):

* `inliers`: the most inliers among them. Crops with captions, the edit the descriptors see worst, keep
  dozens.
* `inlier_contrast`: the median of log(1 + inliers(i, j)) - log(1 + inliers(i, j')), j' the reference
  frame OFFSET_FRAMES away from j inside the segment (none in a segment too short). A copy matches its
  own moment better than a moment seconds later.
* `moving_cover`: the median, over the pairs, of moving share x cover.
  Moving share: the share of the pair's inliers that lie on content that moves in both videos, i.e. on
  keypoints that are not inliers between their frame and their own video's frames OFFSET_FRAMES before
  and after (a video too short for that: its farthest frame, if MIN_OFFSET_FRAMES away; a side with
  neither gives 0, no evidence). Two recordings of one scene from one fixed camera match only on the
  background, which stays put in each video: near 0. A copy matches what moves as well (the actor, the
  view of a pan): high.
  Cover: of the cells of a GRID x GRID grid over the bounding box of a frame's keypoints that hold a
  keypoint, the share that holds an inlier; the larger of the two frames' (a crop covers only part of
  its original). One subject filmed twice (a person in two recordings, the room seen from two angles)
  matches on the subject alone, which moves too: a high share, but a low cover, where a copy's single
  transform holds across the whole frame.
  Chosen by leave-one-family-out pair AP on the training videos (build/video_calibration.py; compared
  by bench/video_feature_ablation.py): the product beats the moving share alone and no such feature.

Each frame's staying keypoints are computed once per matching run and cached, since a frame meets many
candidate pairs.

With panel rows (`embed --panels`) folded into their frames (pool/video_match.py), a cell is made by a pair of
rows, a frame or one of its panels on one side: `evidence` verifies those rows (a panel has its own local
features), the other moment's cell its own rows, and a panel's staying keypoints are those that are inliers with
its video's rows (frames and panels) OFFSET_FRAMES before and after.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from myPython.pool.temporal import Segment
from myPython.pool.verify import MAX_KEYPOINTS, Verified, unpack, verify

VERIFIED_CELLS = 3
INLIER_CAP = 60  # the scorer counts log(1 + inliers) up to this many: beyond it, more is no further evidence
OFFSET_FRAMES = 3  # the other moment both contrasts look at (3 s at 1 fps)
MIN_OFFSET_FRAMES = 2  # a video too short for OFFSET_FRAMES: its farthest frame, if at least this far
CONTRAST_CAP = 2.0  # inlier_contrast counts in [0, 2]: 7x more inliers at the matched moment is proof enough
GRID = 4  # cells per side of the grid that measures how much of a frame the inliers cover
CACHE_FRAMES = 200_000  # staying keypoints kept per run (then the cache starts again): 50 MB at most
KEYPOINT_INDEX = np.uint8 if MAX_KEYPOINTS <= 256 else np.uint16


class Frames(Protocol):
    """The frames of a store's videos (pool/video_match.py's VideoRows)."""

    def rows(self, video: int) -> np.ndarray: ...  # a video's rows, in time order

    def local(self, rows: np.ndarray) -> np.ndarray | None: ...  # their packed local features, or None

    # (position in `rows` of each panel's frame, panel rows): only asked for a video with panel rows
    def panels(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class SegmentVerifier:
    """Geometric checks between the query videos and the database videos of one matching run."""

    def __init__(self, queries: Frames, db: Frames) -> None:
        self.videos = (queries, db)
        cache: dict[int, np.ndarray | None] = {}
        self._staying = (cache, cache if queries is db else {})

    def evidence(self, seg: Segment, sim: np.ndarray, q_video: int, r_video: int,
                 cells: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
        """`inliers`, `inlier_contrast` and `moving_cover` of a segment (empty without local features).

        `cells`: the (query, reference) row that made each cell of `sim` (global rows: a frame or one of its
        panels); None: cell (i, j) is frame i and frame j."""
        q_rows, r_rows = self.videos[0].rows(q_video), self.videos[1].rows(r_video)
        i, j = seg.pairs[:, 0], seg.pairs[:, 1]
        first, last = int(j.min()), int(j.max())  # j' stays inside the segment: the same matched stretch
        best = np.argsort(-sim[i, j], kind="stable")[:VERIFIED_CELLS]
        i, j = i[best], j[best]
        off = np.where(j + OFFSET_FRAMES <= last, j + OFFSET_FRAMES, j - OFFSET_FRAMES)
        valid = (off >= first) & (off <= last)
        if cells is None:  # the rows verified: at the matched cells, and at the other moment's
            at, away_at = (q_rows[i], r_rows[j]), (q_rows[i[valid]], r_rows[off[valid]])
        else:
            iv, ov = i[valid], off[valid]
            at, away_at = (cells[0][i, j], cells[1][i, j]), (cells[0][iv, ov], cells[1][iv, ov])
        a = self.videos[0].local(np.concatenate([at[0], away_at[0]]))
        b = self.videos[1].local(np.concatenate([at[1], away_at[1]]))
        if a is None or b is None:
            return {}
        checks = [verify(x, y) for x, y in zip(a, b)]
        on = np.array([c.inliers for c in checks[: len(i)]])
        out: dict = {"inliers": int(on.max())}
        if valid.any():
            away = np.array([c.inliers for c in checks[len(i):]])
            out["inlier_contrast"] = float(np.median(np.log1p(on[valid]) - np.log1p(away)))
        shares = np.array([self._moving_share(found, q_video, int(qi), int(qr), r_video, int(rj), int(rr))
                           for found, qi, qr, rj, rr in zip(checks, i, at[0], j, at[1])])
        covers = np.array([max(cover(x, found.keypoints_a), cover(y, found.keypoints_b))
                           for found, x, y in zip(checks[: len(i)], a, b)])
        out["moving_cover"] = float(np.median(shares * covers))
        out["moving_share"] = float(np.median(shares))  # the first factor alone: reported, not scored
        return out

    def _moving_share(self, found: Verified, q_video: int, i: int, q_row: int, r_video: int, j: int, r_row: int
                      ) -> float:
        if found.inliers == 0:
            return 0.0
        stay_q = self._staying_keypoints(0, q_video, i, q_row)
        stay_r = self._staying_keypoints(1, r_video, j, r_row)
        if stay_q is None or stay_r is None:
            return 0.0
        moving = min(np.setdiff1d(found.keypoints_a, stay_q).size, np.setdiff1d(found.keypoints_b, stay_r).size)
        return moving / found.inliers

    def _staying_keypoints(self, side: int, video: int, k: int, row: int) -> np.ndarray | None:
        """Keypoints of `row` (a video's k-th frame, or one of its panels) that are inliers with its frames
        OFFSET_FRAMES before or after (or its farthest frame, see above), and for a panel with their panels too;
        None where the video has no such frame or no local features."""
        videos, cache = self.videos[side], self._staying[side]
        rows = videos.rows(video)
        if row not in cache:
            others = [k + d for d in (-OFFSET_FRAMES, OFFSET_FRAMES) if 0 <= k + d < len(rows)]
            if not others:  # a short video: its farthest frame, if that is far enough to have moved
                far = 0 if k >= len(rows) - 1 - k else len(rows) - 1
                others = [far] if abs(far - k) >= MIN_OFFSET_FRAMES else []
            other_rows = rows[others]
            if others and row != rows[k]:  # a panel: which picture of those frames it is, is not known
                other_rows = np.concatenate([other_rows, videos.panels(other_rows)[1]])
            features = videos.local(np.concatenate([[row], other_rows])) if others else None
            if len(cache) >= CACHE_FRAMES:
                cache.clear()
            cache[row] = None if features is None else np.unique(np.concatenate(
                [verify(features[0], other).keypoints_a for other in features[1:]])).astype(KEYPOINT_INDEX)
        return cache[row]


def cover(packed: np.ndarray, keypoints: np.ndarray) -> float:
    """Share of a frame's textured area that holds the given keypoints: of the GRID x GRID cells over the
    bounding box of all its keypoints, those holding one of `keypoints` among those holding any."""
    positions = unpack(packed)[1]
    if not len(keypoints) or not len(positions):
        return 0.0
    low, high = positions.min(axis=0), positions.max(axis=0)
    cell = np.minimum(((positions - low) / np.maximum(high - low, 1e-6) * GRID).astype(np.int64), GRID - 1)
    index = cell[:, 0] * GRID + cell[:, 1]
    return len(np.unique(index[keypoints])) / len(np.unique(index))
