"""Video-level same-origin matching: candidate pairs from a frame kNN search, then temporal alignment.

1. Candidates. Every frame of the query videos looks up its `knn` nearest
   frames with FAISS (pool/search.py's machinery: exact and streamed over
   the shards, or any index factory string), or reads them from the store's
   neighbour graph (pool/knn_graph.py) when pool/jobs.py finds a current one
   holding enough neighbours (exact: the same lists; above 200k rows the
   graph's approximate ones, the store's one kNN). Each neighbour frame of another
   video at or above the frame threshold is a vote for that video pair;
   uninformative frames (pool/informative.py) do not vote. Votes are summed
   per pair in compact arrays, and each query video keeps its
   `max_candidates` best reference videos, so memory is O(frames +
   videos x max_candidates) and no loop ever runs over all pairs of videos.
2. Alignment. For each candidate pair the two videos' frame-similarity
   matrix (a few hundred cells for short clips) is computed from the
   descriptors, uninformative frames are taken out, and pool/temporal.py
   finds the matched segments (speed 0.5x..2x, several per pair).
3. Scores. A segment's score is a logistic function of its evidence (mean and
   best similarity, how sharply the matched cells peak in their rows and
   columns, number of frames, and the geometric verification of its best
   matched frames when the store holds local features: their inliers, and
   how much of the frame these cover on moving content, see
   pool/segment_geometry.py), with weights and threshold calibrated on
   training videos when the model is built (build/video_calibration.py);
   higher is more certain, and the pair's score is its best segment's.

Panel rows (`embed --panels`, a picture inside a frame) are folded into their frames: pool/video_panels.py.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from myPython.common.ids import is_panel, owner_id, split_row_id
from myPython.pool.scoring import LocalFeatureIndex
from myPython.pool.search import SearchOptions, _knn_blocks
from myPython.pool.segment_geometry import CONTRAST_CAP, INLIER_CAP, SegmentVerifier
from myPython.pool.store import DescriptorStore
from myPython.pool.temporal import ALIGNERS, AlignOptions, Segment, segment_features

# re-exported: the CSV format and video groups live in pool/video_csv.py
from myPython.pool.video_csv import CSV_HEADER, csv_rows, read_matches_csv, video_groups, write_matches_csv  # noqa: F401
from myPython.pool.video_panels import Cells, Geometry, Panels, extended, folded_similarity, panels_of

# k -> (query ids, cosines, db rows) per block of query rows, in row order, each row's k nearest rows best first
# (-1 where none), as search._knn_blocks yields them
KnnBlocks = Callable[[int], Iterable[tuple[list[str], np.ndarray, np.ndarray]]]


@dataclass(frozen=True)
class KeptNeighbours:
    """A frame search answered by the caller (the store's neighbour graph, pool/jobs.py): `blocks(k)` for any k up
    to `width`; `exact`: the lists are exact search's, so a frame needing more than `width` is searched again
    (else it keeps the `width` it has: searching again, over the whole store, is what the graph is there to
    avoid at scale)."""

    blocks: KnnBlocks
    width: int
    exact: bool
PRUNE_PAIRS = 1 << 22  # accumulated candidate pairs that trigger pruning to max_candidates per query video
MAX_KNN = 512  # neighbours of a frame searched again because its own video filled its list
PANEL_LISTS = 2  # frame lists are this many times longer in a store with panel rows (as the graph keeps them)
# The scorer's inputs, in order (chosen by leave-one-family-out measurement on the training videos, see
# build/video_calibration.py): mean and best similarity of the matched frames, their peak (capped),
# agreement, the log of the number of matched frames, the motion agreement, the peak of the centred
# similarity (capped), the margin (clipped), the shift contrast and the excess over self-similarity. Caps
# keep the few very sharp copies from setting the weights. The frame count is capped: beyond a dozen
# matched frames, length is no further evidence (a long pair of look-alike videos, such as two recordings
# of one scene, must not win by length alone). The last three are geometric (pool/segment_geometry.py); a
# store without local features (`embed --no-local-features`, Ray stores) or `match-videos --no-verify`
# scores 0 there: its scores are lower, never higher (the scorer's weights are >= 0).
FEATURES = ("mean", "max", "peak", "agreement", "log_frames", "motion", "centred_peak", "margin", "shift_contrast",
            "over_self", "log_inliers", "inlier_contrast", "moving_cover")
FRAME_CAP = 12
# Used when a model has no calibrated video scorer (hand-picked, conservative).
DEFAULT_SCORER = {"weights": [4.0, 2.0, 1.0, 2.0, 1.0, 2.0, 0.5, 10.0, 5.0, 2.0, 0.5, 1.0, 2.0], "bias": -10.0}


@dataclass
class MatchOptions:
    """How videos are matched; `calibrated_options` fills them from a model's sidecar."""

    frame_threshold: float = 0.3  # cosine at which a frame pair votes and counts as a candidate match
    uninformative: float = 0.8  # frames at least this close to the noise set are no evidence
    # neighbour frames looked up per query frame: 50, the store's neighbour graph's lists (pool/knn_graph.py); with
    # many copies of one clip in a pool, 20 let the easy ones fill every list (bench/video_candidates_study.py)
    knn: int = 50
    max_candidates: int = 30  # reference videos aligned per query video
    aligner: str = "hough"
    align: AlignOptions = field(default_factory=AlignOptions)
    scorer: dict = field(default_factory=lambda: dict(DEFAULT_SCORER))
    verify: bool = True  # geometric verification of each segment's best frames (where the store has features)
    # Only segments that could reach this score with the most geometric evidence are verified (the others keep
    # their unverified score, below it): match-videos sets its output threshold, 0 verifies every segment.
    verify_floor: float = 0.0
    factory: str = "Flat"
    nprobe: int | None = None
    ef_search: int | None = None


@dataclass
class VideoMatch:
    query_id: str
    ref_id: str
    segments: list[Segment]

    @property
    def score(self) -> float:
        return max((s.score for s in self.segments), default=0.0)


def feature_vector(features: dict) -> list[float]:
    """The scorer's inputs (FEATURES) from a segment's features."""
    return [features["mean"], features["max"], min(features["peak"], 2.5), features["agreement"],
            math.log(max(1, min(FRAME_CAP, features["frames"]))), features.get("motion", 0.0),
            min(features.get("centred_peak", 0.0), 3.0), max(-0.1, min(0.05, features["margin"])),
            features["shift_contrast"], features.get("over_self", 0.0),
            math.log1p(min(INLIER_CAP, features.get("inliers", 0))),
            max(0.0, min(CONTRAST_CAP, features.get("inlier_contrast", 0.0))),
            max(0.0, min(1.0, features.get("moving_cover", 0.0)))]


def _logit(features: dict, scorer: dict) -> float:
    return scorer["bias"] + sum(w * v for w, v in zip(scorer["weights"], feature_vector(features)))


def score_segment(features: dict, scorer: dict) -> float:
    """Logistic score in (0, 1) of a segment's evidence."""
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, _logit(features, scorer)))))


def worth_verifying(features: dict, scorer: dict, floor: float) -> bool:
    """Whether geometric evidence could lift an unverified segment to `floor`: the geometric terms are
    capped and their weights >= 0, so their largest possible contribution bounds the verified score."""
    if floor <= 0:
        return True
    caps = (math.log1p(INLIER_CAP), CONTRAST_CAP, 1.0)  # the geometric features' largest values
    headroom = sum(max(0.0, w) * cap for w, cap in zip(scorer["weights"][-3:], caps))
    return _logit(features, scorer) + headroom >= math.log(floor / (1 - floor))


class VideoRows:
    """The frames of every video of a store: rows in time order, their times, and their descriptors; and the panel
    rows of those frames (`embed --panels`: a picture inside a frame, common/ids.py), each known by the frame it
    directly follows. `rows(video)` lists frames only; `panels(rows)` gives their panel rows."""

    def __init__(self, store: DescriptorStore) -> None:
        self.store = store.snapshot()
        self.shards = self.store.shards()
        self.offsets = np.cumsum([0] + [s.rows for s in self.shards])
        n = int(self.offsets[-1])
        index: dict[str, int] = {}
        video_of_row = np.full(n, -1, np.int64)
        times = np.zeros(n, np.float64)
        panel = np.zeros(n, bool)
        panel_owner = np.full(n, -1, np.int64)  # the frame row a panel row follows; -1 for any other row
        row, frame, frame_id = 0, -1, ""
        for shard in self.shards:
            for ident in shard.ids():
                video, t = split_row_id(ident)
                if t is not None:
                    video_of_row[row] = index.setdefault(video, len(index))
                    times[row] = t
                    frame, frame_id = row, ident
                elif is_panel(ident):
                    panel[row] = True
                    if frame >= 0 and owner_id(ident) == frame_id:  # embed writes a frame's panels right after it
                        panel_owner[row] = frame
                    else:  # an image's panel (or a stray one): no frame's, and it ends the run of the frame's
                        frame = -1
                else:
                    frame = -1
                row += 1
        self.ids = list(index)
        self.video_of_row = video_of_row
        self.times_of_row = times
        self.is_panel = panel
        self.has_panels = bool(panel.any())
        # Each row's video for voting: a frame's, a frame's panel row's (its frame's), else -1.
        self.folded_video = video_of_row
        self._panel_count: np.ndarray | None = None
        if self.has_panels:
            attached = np.flatnonzero(panel_owner >= 0)
            self.folded_video = video_of_row.copy()
            self.folded_video[attached] = video_of_row[panel_owner[attached]]
            self._panel_count = np.bincount(panel_owner[attached], minlength=n)
        frames = np.flatnonzero(video_of_row >= 0)
        order = frames[np.lexsort((times[frames], video_of_row[frames]))]
        starts = np.searchsorted(video_of_row[order], np.arange(len(self.ids) + 1))
        self._order, self._starts = order, starts
        # rows a video fills in a neighbour list: its frames and their panels
        self._video_rows = np.diff(starts) if not self.has_panels else np.bincount(
            self.folded_video[self.folded_video >= 0], minlength=len(self.ids))
        self._mmaps: dict[int, np.ndarray] = {}
        self._local: LocalFeatureIndex | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, video: int) -> np.ndarray:
        return self._order[self._starts[video] : self._starts[video + 1]]

    def times(self, video: int) -> np.ndarray:
        return self.times_of_row[self.rows(video)]

    def panels(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in `rows` of each panel's frame, the panel rows) of the frames `rows` (global row numbers),
        frame by frame in the order of `rows`, a frame's panels in row order; empty without panel rows."""
        if self._panel_count is None:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        rows = np.asarray(rows, np.int64)
        counts = self._panel_count[rows]
        at = np.repeat(np.arange(len(rows)), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)  # a frame's panels directly follow it
        return at, np.repeat(rows + 1, counts) + np.arange(len(at)) - first

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """Descriptors of global row numbers, read from the (memory-mapped) shards."""
        shard_of = np.searchsorted(self.offsets, rows, side="right") - 1
        out = np.empty((len(rows), self.store.dim), np.float32)
        for s in np.unique(shard_of):
            if s not in self._mmaps:
                self._mmaps[int(s)] = self.shards[s].vectors()
            pick = shard_of == s
            out[pick] = self._mmaps[int(s)][rows[pick] - self.offsets[s]]
        return out

    def local(self, rows: np.ndarray) -> np.ndarray | None:
        """Packed local features (pool/verify.py) of global row numbers, or None where a shard has none."""
        if self._local is None:
            self._local = LocalFeatureIndex(self.store)
        features = [self._local[int(row)] for row in rows]
        return None if not features or any(f is None for f in features) else np.stack(features)

    def all_rows(self) -> Iterator[np.ndarray]:
        """Every row's descriptor, shard by shard."""
        for shard in self.shards:
            yield np.asarray(shard.vectors(), np.float32)


def _backgrounds(videos: VideoRows, noise: np.ndarray) -> np.ndarray:
    from myPython.pool.informative import background

    parts = [background(rows, noise) for rows in videos.all_rows()]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def _row_searcher(db: DescriptorStore, options: MatchOptions):
    """rows, k -> (scores, db row numbers) of the k nearest database rows, as the main search does."""
    from myPython.pool.search import DEFAULT_EF_SEARCH, DEFAULT_NPROBE, build_index, exact_knn, set_search_params

    if options.factory == "Flat":
        return lambda rows, k: exact_knn(rows, db, k)
    index = build_index(db, options.factory)

    def search(rows: np.ndarray, k: int):
        set_search_params(index, options.nprobe or DEFAULT_NPROBE, options.ef_search or max(DEFAULT_EF_SEARCH, k))
        return index.search(np.ascontiguousarray(rows, np.float32), min(k, max(1, index.ntotal)))

    return search


def candidate_pairs(queries: VideoRows, db: VideoRows, same: bool, q_bg: np.ndarray, db_bg: np.ndarray,
                    options: MatchOptions, searched: Callable[[int], object] | None = None,
                    kept: KeptNeighbours | None = None) -> list[tuple[int, int, float]]:
    """(query video, db video, votes) from a frame kNN search, at most max_candidates per query video;
    `searched(n)` is told of every block of n query rows searched (progress). `kept`: the search's answer given
    by the caller instead of searching.

    Searching a store against itself, a frame's nearest frames are often frames of its own video (a
    long static shot fills the whole list); such a frame's list is widened to room for its whole video
    (knn + 1 + the frames of the block's longest such video, at most MAX_KNN), so that its copies elsewhere still
    get its votes: read from `kept` when it is that wide, else searched again (with an approximate `kept`, its
    `width` is used).

    Panel rows (`embed --panels`) vote as their frame: a query panel's neighbour frame votes for (the panel's
    video, the frame's video), a query frame's neighbour panel for (the frame's video, the panel's video); two
    panels never vote (a box many unrelated videos carry, a logo, must not link them). A panel is uninformative
    by its own closeness to the noise set. With panel rows the lists are PANEL_LISTS times longer, as the
    neighbour graph keeps them (pool/knn_graph.py): panels take their share of every list.
    """
    panels = queries.has_panels or db.has_panels
    knn = options.knn * (PANEL_LISTS if panels else 1)
    n_db = max(1, len(db))
    keys = np.zeros(0, np.int64)
    votes = np.zeros(0, np.float64)
    search = SearchOptions(top_k=options.knn, factory=options.factory, nprobe=options.nprobe,
                           ef_search=options.ef_search)
    again = None
    row = 0

    def vote(rows: np.ndarray, scores: np.ndarray, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        qv = queries.folded_video[rows][:, None]
        safe = np.maximum(found, 0)
        rv = db.folded_video[safe]
        ok = ((found >= 0) & (qv >= 0) & (rv >= 0) & (scores >= options.frame_threshold)
              & (q_bg[rows][:, None] < options.uninformative) & (db_bg[safe] < options.uninformative))
        if panels:
            ok &= ~(queries.is_panel[rows][:, None] & db.is_panel[safe])
        if same:
            ok &= qv != rv
        a, b = np.broadcast_to(qv, found.shape)[ok], rv[ok]
        if same:  # one unordered pair, the earlier video first
            a, b = np.minimum(a, b), np.maximum(a, b)
        return a * n_db + b, scores[ok].astype(np.float64)

    k = knn + int(same)
    if kept is not None and kept.width < k:  # a graph kept for frames alone (the store's metadata has no panels)
        kept = None
    wide = max(k, kept.width) if kept is not None else k
    blocks = kept.blocks(wide) if kept is not None else _knn_blocks(db.store, queries.store, k, search)
    for query_ids, wide_scores, wide_found in blocks:
        rows = np.arange(row, row + len(query_ids))
        row += len(query_ids)
        if searched is not None:
            searched(len(rows))
        scores, found = wide_scores[:, :k], wide_found[:, :k]
        full = np.zeros(len(rows), bool)
        if same:
            qv = queries.folded_video[rows]
            own = (found >= 0) & (db.folded_video[np.maximum(found, 0)] == qv[:, None])
            full = ((own.sum(axis=1) > knn // 2) & (scores[:, -1] >= options.frame_threshold) & (qv >= 0)
                    & (q_bg[rows] < options.uninformative))
        parts = [vote(rows[~full], scores[~full], found[~full])]
        if full.any():
            # room for the block's longest such video (the lists the calibration was fitted on)
            need = int(min(MAX_KNN, knn + 1 + queries._video_rows[qv[full]].max()))
            at = np.flatnonzero(full)
            if need <= wide or (kept is not None and not kept.exact):
                parts.append(vote(rows[at], wide_scores[at, :need], wide_found[at, :need]))
            else:
                again = again or _row_searcher(db.store, options)
                parts.append(vote(rows[at], *again(queries.vectors(rows[at]), need)))
        keys = np.concatenate([keys, *(p[0] for p in parts)])
        votes = np.concatenate([votes, *(p[1] for p in parts)])
        keys, inverse = np.unique(keys, return_inverse=True)
        votes = np.bincount(inverse, weights=votes, minlength=len(keys))
        if len(keys) > PRUNE_PAIRS:
            keys, votes = _prune(keys, votes, n_db, options.max_candidates)
    keys, votes = _prune(keys, votes, n_db, options.max_candidates)
    return [(int(k // n_db), int(k % n_db), float(v)) for k, v in zip(keys, votes)]


def _prune(keys: np.ndarray, votes: np.ndarray, n_db: int, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep each query video's `keep` best-voted pairs (keys sorted by query video stay sorted)."""
    q = keys // n_db
    order = np.lexsort((-votes, q))
    q_sorted = q[order]
    rank = np.arange(len(order)) - np.searchsorted(q_sorted, q_sorted)
    chosen = np.sort(order[rank < keep])
    return keys[chosen], votes[chosen]


def centred_frames(vectors: np.ndarray, uninformative: np.ndarray) -> np.ndarray:
    """Frames minus their video's mean informative frame, unit length: what changes, not the scene."""
    good = vectors[~uninformative] if (~uninformative).any() else vectors
    out = vectors - good.mean(axis=0)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)


def align_pair(q_vectors: np.ndarray, q_times: np.ndarray, q_bg: np.ndarray, r_vectors: np.ndarray,
               r_times: np.ndarray, r_bg: np.ndarray, options: MatchOptions, geometry: Geometry | None = None,
               panels: tuple[Panels | None, Panels | None] = (None, None)) -> list[Segment]:
    """Scored segments of one pair of videos, best first.

    `panels`: the panel rows of the query's and the reference's frames, folded into them (`folded_similarity`).
    Every feature of a segment reads the rows that made its cells: `motion` and `over_self` the matched panel's
    descriptor where a panel made the cell, `centred_peak` the panels centred on their video's mean panel as
    frames are on their mean frame, and `geometry(segment, sim, cells)` (pool/segment_geometry.py) verifies
    those rows; it returns {} when the rows have no local features.
    """
    q_bad, r_bad = q_bg >= options.uninformative, r_bg >= options.uninformative
    q_panels, r_panels = panels
    sim, cells, valid = folded_similarity(q_vectors, q_bad, r_vectors, r_bad, q_panels, r_panels,
                                          options.uninformative)
    segments = ALIGNERS[options.aligner](sim, q_times, r_times, options.align)
    if segments and cells is None:
        centred = centred_frames(q_vectors, q_bad) @ centred_frames(r_vectors, r_bad).T
        centred[q_bad, :] = -1.0
        centred[:, r_bad] = -1.0
    elif segments:
        sides = []
        for vectors, bad, side in ((q_vectors, q_bad, q_panels), (r_vectors, r_bad, r_panels)):
            rows = centred_frames(vectors, bad)
            if side is not None and len(side.frame):
                rows = np.concatenate([rows, centred_frames(side.vectors, side.bg >= options.uninformative)])
            sides.append(rows)
        centred = (sides[0] @ sides[1].T)[cells[0], cells[1]]
        centred[~valid] = -1.0
        q_ext, r_ext = extended(q_vectors, q_panels), extended(r_vectors, r_panels)
    for seg in segments:
        vectors = (q_vectors, r_vectors)
        if cells is not None:  # the rows that made the segment's cells stand for its frames
            i, j = seg.pairs[:, 0], seg.pairs[:, 1]
            q_seg, r_seg = q_vectors.copy(), r_vectors.copy()
            q_seg[i], r_seg[j] = q_ext[cells[0][i, j]], r_ext[cells[1][i, j]]
            vectors = (q_seg, r_seg)
        seg.features = segment_features(seg, sim, centred, vectors)
        if geometry is not None and worth_verifying(seg.features, options.scorer, options.verify_floor):
            seg.features.update(geometry(seg, sim, cells))
        seg.score = score_segment(seg.features, options.scorer)
    segments.sort(key=lambda s: -s.score)
    return segments


def align_candidates(q_rows: VideoRows, db_rows: VideoRows, q_bg: np.ndarray, db_bg: np.ndarray,
                     pairs: Sequence[tuple[int, int, float]], options: MatchOptions, progress: bool = False
                     ) -> Iterator[VideoMatch]:
    """The scored segments of each candidate pair (query video, db video, votes), pairs in query-video order;
    `q_bg`, `db_bg`: each row's closeness to the noise set (`_backgrounds`). A pair's segments depend on that
    pair alone, so any split of `pairs` gives the same matches (pool/video_ray.py aligns them on Ray). The
    frames' panel rows are folded into them (`align_pair`)."""
    from tqdm import tqdm

    verifier = SegmentVerifier(q_rows, db_rows) if options.verify else None
    current, q_data, q_panels, q_all = -1, None, None, None
    for qv, rv, _ in tqdm(pairs, desc="pairs aligned", unit="pair", disable=not progress, file=sys.stderr):
        if qv != current:
            rows = q_rows.rows(qv)
            current, q_data = qv, (q_rows.vectors(rows), q_rows.times(qv), q_bg[rows])
            q_panels, q_all = panels_of(q_rows, rows, q_bg)
        rows = db_rows.rows(rv)
        r_panels, r_all = panels_of(db_rows, rows, db_bg)

        def geometry(seg: Segment, sim: np.ndarray, cells: Cells, qv=qv, rv=rv, q_all=q_all, r_all=r_all) -> dict:
            return verifier.evidence(seg, sim, qv, rv, None if cells is None else (q_all[cells[0]], r_all[cells[1]]))

        segments = align_pair(*q_data, db_rows.vectors(rows), db_rows.times(rv), db_bg[rows], options,
                              None if verifier is None else geometry, (q_panels, r_panels))
        if segments:
            yield VideoMatch(q_rows.ids[qv], db_rows.ids[rv], segments)


# q_rows, db_rows, q_bg, db_bg, pairs, options, progress -> matches: `align_candidates` or another executor of it
Aligner = Callable[..., Iterable[VideoMatch]]


def match_videos(db: DescriptorStore, queries: DescriptorStore | None, options: MatchOptions,
                 noise: np.ndarray, progress: bool = False, kept: KeptNeighbours | None = None,
                 align: Aligner | None = None) -> Iterator[VideoMatch]:
    """Candidate pairs of videos with their scored segments (pairs in query-video order); `progress`: bars on
    stderr for the frame search and the alignment; `kept`: the frame search's answer (`candidate_pairs`)
    over the rows of `db` (then a snapshot, so that no shard committed meanwhile shifts them); `align`: who
    aligns the candidates (default `align_candidates` in this process; pool/video_ray.py: Ray tasks)."""
    from tqdm import tqdm

    same = queries is None or Path(queries.root).resolve() == Path(db.root).resolve()
    db_rows = VideoRows(db)
    q_rows = db_rows if same else VideoRows(queries)
    if q_rows.store.dim != db_rows.store.dim:
        raise ValueError(f"queries have dimension {q_rows.store.dim}, the database {db_rows.store.dim}")
    db_bg = _backgrounds(db_rows, noise)
    q_bg = db_bg if same else _backgrounds(q_rows, noise)
    with tqdm(total=len(q_rows.video_of_row), desc="frames searched", unit="row", disable=not progress,
              file=sys.stderr) as bar:
        pairs = candidate_pairs(q_rows, db_rows, same, q_bg, db_bg, options, bar.update, kept)
    yield from (align or align_candidates)(q_rows, db_rows, q_bg, db_bg, pairs, options, progress)


def calibrated_options(info: dict, **overrides) -> MatchOptions:
    """MatchOptions from a model's sidecar `info` (its `video_matching` entry), then overrides."""
    cal = info.get("video_matching", {})
    options = MatchOptions()
    for key in ("frame_threshold", "uninformative", "aligner"):
        if key in cal:
            setattr(options, key, cal[key])
    if len(cal.get("scorer", {}).get("weights", ())) == len(FEATURES):  # older sidecars scored other features
        options.scorer = cal["scorer"]
    options.align.match_threshold = options.frame_threshold
    for key, value in overrides.items():
        if value is not None:
            setattr(options, key, value)
    return options
