"""Shared content: keypoints that make many unrelated rows of a pool match are no evidence of a common origin.

App chrome, a platform watermark, a sticker or a meme template puts the same pixels at the same place of the frame
around different pictures. Their keypoints match, RANSAC finds the identity, and two unrelated posts verify with
dozens of inliers while their cosine stays low (the pictures differ). One pair cannot tell this from a copy
(bench/overlay_layout_study.py: template pairs keep more inliers than heavily compressed copies); the pool can.

A keypoint of row A is *shared*, for the pair (A, B) being scored, when at least MIN_VOTES other rows P vote for
it: (A, P) merges on its inliers (fused score at the model's recommended threshold, cosine alone below it) although
its cosine is below MAX_COSINE, the keypoint is one of its inliers *in place* (P's matched keypoint within IN_PLACE
of the long side of it: a template sits at one place of the frame), and P is unrelated to B by descriptor too
(cosine below MAX_COSINE), so that the copies of one picture do not outvote each other. The inliers of the pair
on a shared keypoint of either side are not counted, and its fused score is recomputed with the rest.

Two posts under one app chrome: each one's chrome keypoints are voted for by the other posts of that app in the
pool, so their pair keeps only the inliers of the pictures (none). A photo and its copy under the same chrome keep
the picture's inliers. The rule needs the template to recur in the pool: with two items under one template nothing
votes, and the pair's own score stands. Chosen on the validation split (bench/shared_content_study.py: 646 items,
38 photos with 17 copies each and 5 kinds of shared overlay): different-origin merges 383 -> 52, same-origin recall
0.740 -> 0.729; without shared overlays in the pool, recall 0.751 -> 0.748.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MAX_COSINE = 0.5  # voters: pairs merging below this cosine, with a row below it against the other side too
MIN_VOTES = 2  # voters that make a keypoint shared
IN_PLACE = 0.02  # of the long side: how far a matched keypoint may lie from its partner and still be "in place"
VERSION = f"votes-{MAX_COSINE}-{MIN_VOTES}-{IN_PLACE}"

Matches = Callable[[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


def in_place(positions_a: np.ndarray, positions_b: np.ndarray, keypoints_a: np.ndarray, keypoints_b: np.ndarray,
             mirrored: bool) -> np.ndarray:
    """Which inlier matches lie in place: the same position (in units of the long side) in both pictures."""
    if mirrored or not len(keypoints_a):
        return np.zeros(len(keypoints_a), bool)
    return np.abs(positions_a[keypoints_a] - positions_b[keypoints_b]).max(axis=1) <= IN_PLACE


def merging_on_inliers(cosine: np.ndarray, inliers: np.ndarray, fusion, threshold: float) -> np.ndarray:
    """Which pairs merge only thanks to their inliers: the pairs this rule looks at (no other verdict can change)."""
    inliers = np.asarray(inliers)
    return ((inliers > 0) & (fusion.score(cosine, np.maximum(inliers, 0)) >= threshold)
            & (fusion.score(cosine, np.zeros(inliers.shape)) < threshold))


def effective_inliers(pairs: np.ndarray, cosine: np.ndarray, inliers: np.ndarray, fusion, threshold: float,
                      matches: Matches, vectors: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Inliers of each (a, b) pair (distinct, unordered) once those on shared keypoints are taken out.

    `cosine`, `inliers`: of each pair (inliers < 0: not verified); `matches(a, b)`: the pair's inlier matches (A's
    keypoint rows, B's keypoint rows, whether each lies in place); `vectors(rows)`: the rows' descriptors. The pool
    is the set of pairs given: pairs absent from it neither vote nor change.
    """
    out = np.asarray(inliers, np.int64).copy()
    if fusion is None or not len(pairs):
        return out
    looked = np.flatnonzero(merging_on_inliers(cosine, out, fusion, threshold))
    if not len(looked):
        return out
    found = {int(n): matches(int(pairs[n, 0]), int(pairs[n, 1])) for n in looked}
    voters: dict[int, dict[int, list[int]]] = {}  # row -> keypoint -> rows voting for it
    for n, (ka, kb, placed) in found.items():
        if cosine[n] >= MAX_COSINE:
            continue
        a, b = int(pairs[n, 0]), int(pairs[n, 1])
        for row, partner, keys in ((a, b, ka[placed]), (b, a, kb[placed])):
            table = voters.setdefault(row, {})
            for key in keys.tolist():
                table.setdefault(key, []).append(partner)
    rows = np.unique(np.concatenate([pairs[looked].ravel(), [p for t in voters.values() for v in t.values()
                                                              for p in v]]).astype(np.int64))
    where = {int(r): n for n, r in enumerate(rows)}
    x = np.asarray(vectors(rows), np.float32)

    def unrelated(voting: list[int], other: int) -> int:
        return sum(1 for p in voting if p != other and float(x[where[p]] @ x[where[other]]) < MAX_COSINE)

    for n, (ka, kb, _) in found.items():
        a, b = int(pairs[n, 0]), int(pairs[n, 1])
        table_a, table_b = voters.get(a, {}), voters.get(b, {})
        kept = sum(1 for ja, jb in zip(ka.tolist(), kb.tolist())
                   if unrelated(table_a.get(ja, []), b) < MIN_VOTES and unrelated(table_b.get(jb, []), a) < MIN_VOTES)
        out[n] = kept
    return out


def feature_matches(features: Callable[[int], np.ndarray]) -> Matches:
    """`matches` for `effective_inliers` from rows' packed local features (`features(row)`), verified again."""
    from myPython.pool.verify import FEATURE_SIDE, unpack, verify

    def matches(a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        fa, fb = features(a), features(b)
        v = verify(fa, fb)
        placed = in_place(unpack(fa)[1] / FEATURE_SIDE, unpack(fb)[1] / FEATURE_SIDE, v.keypoints_a, v.keypoints_b,
                          v.mirrored)
        return v.keypoints_a, v.keypoints_b, placed

    return matches
