"""Synthetic descriptor stores for scale benchmarks: `deep-retrieval synth-pool`.

A store written here looks to `search`, `group` and `match-videos` like one `embed` wrote (same writer: the
shards' local features first, then `commit_shard`; `store_meta` metadata with the installed default model's
fingerprint and settings key, plus a ``"synthetic"`` entry), and holds planted truth (`truth.json` and, for the
videos, `truth_segments.csv` in the VSC22 format) so that the commands' output can be scored at any size.

The generation model (all cosines exact up to float32, since noise is drawn orthogonal to what it perturbs):

* unrelated rows: ``sqrt(fg) g + sqrt(fc) c_k + sqrt(1 - fg - fc) z`` normalised, with g one shared direction
  (fg in [0.03, 0.25]), c_k one of `clusters` random centres (fc in [0.1, 0.4]) and z isotropic: two rows of
  other clusters have cosine ~0.03-0.25, of one cluster ~0.15-0.6 (most pairs below 0.5, as real descriptors);
* look-alike scenes (same scene, other origin; `lookalike_fraction` of the stills, 2-5 members): members at
  cosine c_i in [sqrt 0.6, sqrt 0.85] to a scene centre, so c_i c_j in [0.6, 0.85] between members;
* planted copies (`copies_fraction` of the stills, 1-3 per source): cosine 0.9-0.99 to their source, near-copies
  (`near_fraction` of them) 0.8-0.9;
* videos (`frames_per_video` frames at 1 fps): ``m + u_t`` normalised, m a row like the unrelated ones and u_t an
  AR(1) walk (rho in [0.7, 0.9], floor f in [0.35, 0.65]): neighbour frames ~0.8-0.95, far frames ~f;
  `video_copies_fraction` of the videos hold a copied segment (5-15 s) of another video of their shard at
  another offset, each frame a copy (cosine 0.9-0.99) of the source's frame.

Local features (pool/verify.py's packed layout: 128 RootSIFT bytes, x and y as float16 in units of the long side,
NaN padding): unrelated rows get random RootSIFT-like descriptors (non-negative, unit L2 before the x512 scaling) at
random positions in their own frame (16:9, 4:3 or 9:16); look-alike members share a few scene descriptors at
unrelated positions (ratio-test matches that no similarity explains); copies keep 50-90 % (near-copies 25-50 %) of
their source's keypoints under one random similarity (scale 0.7-1.3, rotation up to 8 degrees, shift, mirror 30 %: x
reflected, descriptors permuted as verify expects) with sub-pixel jitter and perturbed bytes, plus fresh keypoints;
video frames carry most keypoints of the previous frame, moved by a small pan.

Every shard is self-contained (copies and copied segments have their source in the same shard) and made from its own
seeded generators (seed, shard index, stream), so shards are deterministic, memory is bounded by one shard, and a
killed run resumes: committed shards are kept, the others written again, bit for bit the same. """

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from myPython.common.fileio import atomic_save_npy, atomic_write_text
from myPython.common.ids import frame_id
from myPython.errors import StoreError, UsageError
from myPython.pool import verify
from myPython.pool.store import LOCAL_SUFFIX, MARKER_SUFFIX, DescriptorStore
from myPython.pool.verify import BYTES_PER_KEYPOINT, FEATURE_SIDE, MAX_KEYPOINTS, MIRROR_PERMUTATION

SYNTH_VERSION = 1
SHARD_PREFIX = "shard"
FPS = 1.0
ASPECTS = (9 / 16, 3 / 4, 16 / 9)  # height / width of the frames (portrait 16:9 is the short-video norm)
SEGMENT_SECONDS = (5, 15)
TRUTH_HEADER = ("query_id", "ref_id", "query_start", "query_end", "ref_start", "ref_end")


@dataclass(frozen=True)
class SynthParams:
    rows: int
    videos: int = 0
    frames_per_video: int = 30
    copies_fraction: float = 0.05
    near_fraction: float = 0.3  # of the copies
    lookalike_fraction: float = 0.1
    video_copies_fraction: float = 0.25
    clusters: int = 300
    dim: int = 512
    seed: int = 0
    shard_size: int = 4096
    local_features: bool = True

    def check(self) -> None:
        def need(ok: bool, text: str) -> None:
            if not ok:
                raise UsageError(text)
        need(self.rows >= 1, f"rows must be >= 1, got {self.rows}")
        need(self.videos >= 0 and self.frames_per_video >= 1, "videos must be >= 0 and frames per video >= 1")
        need(16 <= self.dim <= 65536, f"dim must lie in [16, 65536], got {self.dim}")
        need(self.seed >= 0 and self.clusters >= 1 and self.shard_size >= 1, "seed >= 0, clusters and shard size >= 1")
        for name in ("copies_fraction", "near_fraction", "lookalike_fraction", "video_copies_fraction"):
            value = getattr(self, name)
            need(0.0 <= value <= (1.0 if name == "near_fraction" else 0.5), f"{name} out of range: {value:g}")
        need(self.copies_fraction + self.lookalike_fraction <= 0.6, "copies + look-alike fractions must be <= 0.6")
        need(not self.videos or self.frames_per_video <= self.shard_size, f"a video must fit in a shard of "
             f"{self.shard_size} rows, not {self.frames_per_video}")


@dataclass
class Layout:
    """Rows and videos of every shard (videos never span shards)."""

    rows: list[int]
    videos: list[int]

    def first_video(self, shard: int) -> int:
        return sum(self.videos[:shard])

    def first_still(self, shard: int, frames: int) -> int:
        return sum(self.rows[:shard]) - self.first_video(shard) * frames


def layout(params: SynthParams) -> Layout:
    """Shards of `shard_size` rows; videos spread in proportion to rows, within each shard's capacity."""
    size, frames = params.shard_size, params.frames_per_video
    rows = [min(size, params.rows - start) for start in range(0, params.rows, size)]
    capacity = [r // frames for r in rows]
    videos, placed, end = [], 0, 0
    for r, cap in zip(rows, capacity):
        end += r
        take = max(0, min(cap, round(params.videos * end / params.rows) - placed))
        videos.append(take)
        placed += take
    for s in range(len(rows)):  # rounding leftovers: wherever room remains
        extra = min(params.videos - placed, capacity[s] - videos[s])
        videos[s] += extra
        placed += extra
    if placed < params.videos:
        raise UsageError(f"{params.videos} videos of {frames} frames do not fit in {params.rows} rows "
                         f"(shards of {size} rows hold at most {sum(capacity)})")
    return Layout(rows, videos)


def video_id(number: int) -> str:
    return f"synth/v{number:06d}.mp4"


def still_id(number: int) -> str:
    return f"synth/i{number:07d}.jpg"


@dataclass
class Plan:
    """What one shard holds, drawn without any vector: ids, roles, planted truth."""

    ids: list[str]
    inputs: list[str]
    still_ids: list[str]
    video_ids: list[str]
    still_rows: np.ndarray  # row of every still
    video_rows: np.ndarray  # first row of every video (its frames follow)
    groups: list[tuple[int, list[int], list[bool]]] = field(default_factory=list)  # source, copies, near flags
    scenes: list[list[int]] = field(default_factory=list)  # look-alike stills
    segments: list[tuple[int, int, int, int, int]] = field(default_factory=list)  # (copy video, source, b0, a0, L)

    def truth(self) -> dict:
        stills, videos = self.still_ids, self.video_ids
        return {
            "images": [{"source": stills[s], "copies": [stills[c] for c, n in zip(cs, near) if not n],
                        "near_copies": [stills[c] for c, n in zip(cs, near) if n]} for s, cs, near in self.groups],
            "lookalikes": [[stills[m] for m in scene] for scene in self.scenes],
            "videos": [dict(zip(TRUTH_HEADER, (videos[b], videos[a], b0 / FPS, (b0 + n) / FPS, a0 / FPS,
                                               (a0 + n) / FPS))) for b, a, b0, a0, n in self.segments],
        }


def _rng(params: SynthParams, shard: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([SYNTH_VERSION, params.seed, shard, stream])


def plan_shard(params: SynthParams, lay: Layout, shard: int) -> Plan:
    rng = _rng(params, shard, 0)
    frames, n_videos = params.frames_per_video, lay.videos[shard]
    n_stills = lay.rows[shard] - n_videos * frames
    v0, i0 = lay.first_video(shard), lay.first_still(shard, frames)
    video_ids = [video_id(v0 + j) for j in range(n_videos)]
    still_ids = [still_id(i0 + k) for k in range(n_stills)]
    # inputs in a shuffled order; a video's frames are consecutive rows, as embed writes them
    order = rng.permutation(n_videos + n_stills)
    sizes = np.where(order < n_videos, frames, 1)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    video_rows, still_rows = np.zeros(n_videos, np.int64), np.zeros(n_stills, np.int64)
    video_rows[order[order < n_videos]] = starts[order < n_videos]
    still_rows[order[order >= n_videos] - n_videos] = starts[order >= n_videos]
    ids: list[str] = [""] * lay.rows[shard]
    inputs = []
    for item, start in zip(order.tolist(), starts.tolist()):
        if item < n_videos:
            inputs.append(video_ids[item])
            ids[start : start + frames] = [frame_id(video_ids[item], t / FPS) for t in range(frames)]
        else:
            inputs.append(still_ids[item - n_videos])
            ids[start] = still_ids[item - n_videos]
    plan = Plan(ids, inputs, still_ids, video_ids, still_rows, video_rows)
    # stills: sources with 1-3 copies each, look-alike scenes of 2-5, the rest unrelated
    n_copies, n_look = round(n_stills * params.copies_fraction), round(n_stills * params.lookalike_fraction)
    sizes = []
    while sum(sizes) < n_copies and sum(sizes) + len(sizes) + 2 <= n_stills:
        sizes.append(int(min(rng.integers(1, 4), n_copies - sum(sizes))))
    slots = rng.permutation(n_stills).tolist()
    sources, slots = slots[: len(sizes)], slots[len(sizes) :]
    for source, k in zip(sources, sizes):
        plan.groups.append((source, slots[:k], (rng.random(k) < params.near_fraction).tolist()))
        slots = slots[k:]
    n_look = min(n_look, len(slots))
    while n_look >= 2:
        k = int(min(rng.integers(2, 6), n_look))
        plan.scenes.append(slots[:k])
        slots, n_look = slots[k:], n_look - k
    # videos: some hold a copied segment of another video of the shard (a source is copied once, never a copy)
    n_pairs = min(round(n_videos * params.video_copies_fraction), n_videos // 2)
    if n_pairs:
        chosen = rng.permutation(n_videos)
        targets, others = chosen[:n_pairs], chosen[n_pairs:]
        low, high = min(SEGMENT_SECONDS[0], frames), min(SEGMENT_SECONDS[1], frames)
        for b, a in zip(targets.tolist(), others.tolist()):  # distinct sources: no implied pairs between copies
            n = int(rng.integers(low, high + 1))
            a0 = int(rng.integers(0, frames - n + 1))
            b0 = int(rng.integers(0, frames - n + 1))
            if b0 == a0 and frames > n:
                b0 = (a0 + 1 + int(rng.integers(0, frames - n))) % (frames - n + 1)
            plan.segments.append((b, a, b0, a0, n))
    return plan


# ---- descriptors -----------------------------------------------------------------------------------------------
def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def centres(params: SynthParams) -> tuple[np.ndarray, np.ndarray]:
    """(shared direction, cluster centres): the same for every shard."""
    rng = np.random.default_rng([SYNTH_VERSION, params.seed, 1 << 30])
    return _unit(rng.standard_normal(params.dim)), _unit(rng.standard_normal((params.clusters, params.dim)))


def _unrelated(rng: np.random.Generator, n: int, shared: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    direction, clusters = shared
    k = rng.integers(0, len(clusters), n)
    fg, fc = rng.uniform(0.03, 0.25, (n, 1)), rng.uniform(0.1, 0.4, (n, 1))
    z = _unit(rng.standard_normal((n, len(direction)), np.float32))
    return _unit(np.sqrt(fg) * direction + np.sqrt(fc) * clusters[k] + np.sqrt(1 - fg - fc) * z)


def _around(rng: np.random.Generator, x: np.ndarray, cosine: np.ndarray) -> np.ndarray:
    """Unit vectors at exactly `cosine` to the unit rows of `x`."""
    z = rng.standard_normal(x.shape, np.float32)
    z = _unit(z - np.sum(z * x, axis=-1, keepdims=True) * x)
    cosine = np.asarray(cosine, np.float32)[..., None]
    return _unit(cosine * x + np.sqrt(1 - cosine**2) * z)


def _scene(rng: np.random.Generator, centre: np.ndarray, cosine: np.ndarray) -> np.ndarray:
    """Unit vectors at exactly `cosine` to the unit vector `centre` whose other parts are orthonormal: two of them
    meet at exactly the product of their cosines, in any dimension."""
    rest = np.linalg.qr(np.c_[centre, rng.standard_normal((len(centre), len(cosine)))])[0][:, 1:].T  # _|_ centre
    cosine = np.asarray(cosine, np.float32)[:, None]
    return _unit(cosine * centre + np.sqrt(1 - cosine**2) * rest)


def shard_vectors(params: SynthParams, plan: Plan, shared: tuple[np.ndarray, np.ndarray], shard: int) -> np.ndarray:
    rng = _rng(params, shard, 1)
    frames = params.frames_per_video
    stills = _unrelated(rng, len(plan.still_ids), shared)
    for scene in plan.scenes:
        centre = _unrelated(rng, 1, shared)
        stills[scene] = _scene(rng, centre[0], rng.uniform(0.6**0.5, 0.85**0.5, len(scene)))
    for source, copies, near in plan.groups:
        cos = np.where(near, rng.uniform(0.8, 0.9, len(copies)), rng.uniform(0.9, 0.99, len(copies)))
        stills[copies] = _around(rng, np.repeat(stills[[source]], len(copies), 0), cos)
    n_videos = len(plan.video_ids)
    clips = np.zeros((n_videos, frames, params.dim), np.float32)
    if n_videos:
        base = _unrelated(rng, n_videos, shared)
        floor, rho = rng.uniform(0.35, 0.65, (n_videos, 1)), rng.uniform(0.7, 0.9, (n_videos, 1))
        sigma = np.sqrt((1 / floor - 1) / params.dim)  # |u| ~ sqrt(1/f - 1): cos(far frames) ~ f
        walk = sigma * rng.standard_normal((n_videos, params.dim), np.float32)
        for t in range(frames):
            if t:
                walk = rho * walk + np.sqrt(1 - rho**2) * sigma * rng.standard_normal(walk.shape, np.float32)
            clips[:, t] = _unit(base + walk)
        for b, a, b0, a0, n in plan.segments:
            clips[b, b0 : b0 + n] = _around(rng, clips[a, a0 : a0 + n], rng.uniform(0.9, 0.99, n))
    vectors = np.zeros((len(plan.ids), params.dim), np.float32)
    vectors[plan.still_rows] = stills
    for j, row in enumerate(plan.video_rows.tolist()):
        vectors[row : row + frames] = clips[j]
    return vectors


# ---- local features --------------------------------------------------------------------------------------------
def random_sift(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 128) uint8 RootSIFT-like bytes: non-negative, skewed, unit L2 norm before the x512 of verify's packing."""
    root = rng.random((n, 128), np.float32) ** 1.5  # RootSIFT of a histogram ~ x**3
    root *= 512 / np.linalg.norm(root, axis=1, keepdims=True)
    return np.clip(np.rint(root), 0, 255).astype(np.uint8)


@dataclass
class _Features:
    desc: np.ndarray  # (n, 128) uint8
    pos: np.ndarray  # (n, 2) float32, units of the long side
    size: tuple[float, float]  # frame width, height in those units


def _frame_size(aspect: float) -> tuple[float, float]:
    return (1.0, aspect) if aspect <= 1 else (1 / aspect, 1.0)


def _fresh(rng: np.random.Generator, n: int, size: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    return random_sift(rng, n), (rng.random((n, 2)) * np.array(size)).astype(np.float32)


def _keypoint_count(rng: np.random.Generator) -> int:
    return MAX_KEYPOINTS if rng.random() < 0.8 else int(rng.integers(48, MAX_KEYPOINTS))


def _new_row(rng: np.random.Generator, size: tuple[float, float]) -> _Features:
    return _Features(*_fresh(rng, _keypoint_count(rng), size), size)


def _inside(pos: np.ndarray, size: tuple[float, float]) -> np.ndarray:
    return (pos[:, 0] >= 0) & (pos[:, 0] < size[0]) & (pos[:, 1] >= 0) & (pos[:, 1] < size[1])


def _fill(rng: np.random.Generator, desc: np.ndarray, pos: np.ndarray, size: tuple[float, float],
          total: int) -> _Features:
    """Kept keypoints plus fresh ones up to `total`, in a random order."""
    extra = max(0, total - len(desc))
    new_desc, new_pos = _fresh(rng, extra, size)
    desc, pos = np.concatenate([desc, new_desc])[:MAX_KEYPOINTS], np.concatenate([pos, new_pos])[:MAX_KEYPOINTS]
    order = rng.permutation(len(desc))
    return _Features(desc[order], pos[order], size)


def similarity(rng: np.random.Generator, size: tuple[float, float]) -> dict:
    """A random edit: scale 0.7-1.3, rotation up to 8 degrees, shift up to 10 % of the frame, mirror 30 %."""
    return {"scale": rng.uniform(0.7, 1.3), "angle": np.radians(rng.uniform(-8, 8)), "mirror": rng.random() < 0.3,
            "shift": rng.uniform(-0.1, 0.1, 2) * np.array(size)}


def _copy(rng: np.random.Generator, source: _Features, edit: dict, keep: float, noise: float) -> _Features:
    """`source`'s keypoints under the similarity `edit`: a fraction `keep` re-detected, bytes perturbed."""
    kept = rng.random(len(source.desc)) < keep
    desc, pos = source.desc[kept].astype(np.float32), source.pos[kept].astype(np.float64)
    w, h = source.size
    if edit["mirror"]:
        pos[:, 0] = w - pos[:, 0]
        desc = desc[:, MIRROR_PERMUTATION]
    c, s = math.cos(edit["angle"]) * edit["scale"], math.sin(edit["angle"]) * edit["scale"]
    centre = np.array([w / 2, h / 2])
    pos = (pos - centre) @ np.array([[c, s], [-s, c]]) + centre + edit["shift"]
    pos += rng.normal(0, 0.3 / FEATURE_SIDE, pos.shape)  # sub-pixel re-detection jitter
    desc = np.clip(np.rint(desc + rng.normal(0, noise, desc.shape)), 0, 255).astype(np.uint8)
    inside = _inside(pos, source.size)
    return _fill(rng, desc[inside], pos[inside].astype(np.float32), source.size, _keypoint_count(rng))


def _next_frame(rng: np.random.Generator, prev: _Features, pan: np.ndarray) -> _Features:
    """The next frame of a video: most keypoints moved by the camera's pan, some new."""
    kept = rng.random(len(prev.desc)) < 0.85
    pos = prev.pos[kept] + pan + rng.normal(0, 0.5 / FEATURE_SIDE, (int(kept.sum()), 2))
    desc = np.clip(prev.desc[kept].astype(np.int16) + rng.integers(-2, 3, (len(pos), 128)), 0, 255).astype(np.uint8)
    inside = _inside(pos, prev.size)
    return _fill(rng, desc[inside], pos[inside].astype(np.float32), prev.size, len(prev.desc))


def pack(features: _Features) -> np.ndarray:
    """verify.local_features' layout (the bits of the RootSIFT the bytes stand for, quantised positions)."""
    return verify.pack(features.desc.astype(np.float32) / 512, features.pos)


def shard_local_features(params: SynthParams, plan: Plan, shard: int) -> np.ndarray:
    rng = _rng(params, shard, 2)
    frames = params.frames_per_video
    local = np.zeros((len(plan.ids), MAX_KEYPOINTS, BYTES_PER_KEYPOINT), np.uint8)
    stills = [_new_row(rng, _frame_size(rng.choice(ASPECTS))) for _ in plan.still_ids]
    for scene in plan.scenes:  # repeated structure of one scene, at unrelated positions
        common = random_sift(rng, 32)
        for m in scene:
            k = min(24, len(stills[m].desc))
            stills[m].desc[:k] = common[rng.choice(32, k, replace=False)]
    for source, copies, near in plan.groups:
        for copy, is_near in zip(copies, near):
            edit = similarity(rng, stills[source].size)
            stills[copy] = _copy(rng, stills[source], edit, rng.uniform(0.25, 0.5) if is_near
                                 else rng.uniform(0.5, 0.9), 6.0 if is_near else 3.0)
    for row, features in zip(plan.still_rows.tolist(), stills):
        local[row] = pack(features)
    clips = []
    for _ in plan.video_ids:
        clip = [_new_row(rng, _frame_size(rng.choice(ASPECTS)))]
        pan = rng.normal(0, 0.01, 2)
        for _t in range(1, frames):
            clip.append(_next_frame(rng, clip[-1], pan))
        clips.append(clip)
    for b, a, b0, a0, n in plan.segments:  # one edit for the whole copied segment
        edit = similarity(rng, clips[a][0].size)
        for i in range(n):
            clips[b][b0 + i] = _copy(rng, clips[a][a0 + i], edit, rng.uniform(0.5, 0.9), 3.0)
    for row, clip in zip(plan.video_rows.tolist(), clips):
        for t, features in enumerate(clip):
            local[row + t] = pack(features)
    return local


# ---- the store -------------------------------------------------------------------------------------------------
def synth_meta(params: SynthParams, spec=None) -> dict:
    """`store_meta` of the model `spec` (None: no model) for these descriptors, plus the generator's parameters.
    The model's fingerprint and settings are recorded only when its dimension is the store's."""
    from myPython.pool.jobs import store_meta

    same = spec is not None and spec.dim in (None, params.dim)
    described = SimpleNamespace(engine=SimpleNamespace(name="synthetic"),
                                key=lambda: spec.settings().key() if same else None)
    meta = store_meta(spec if same else None, described, local_features=params.local_features, dim=params.dim,
                      sampling={"fps": FPS, "max_frames": None})
    meta["synthetic"] = {"version": SYNTH_VERSION, **asdict(params)}
    return meta


def default_spec():
    """The installed default model, or None when none is installed."""
    from myPython.errors import ModelError
    from myPython.retrieval.models import load_model

    try:
        return load_model()
    except ModelError:
        return None


@dataclass
class SynthReport:
    rows: int = 0
    shards: int = 0
    written: int = 0  # shards written by this run (the others were committed before)
    copies: int = 0
    segments: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"{self.rows} rows in {self.shards} shards ({self.written} written now), {self.copies} planted "
                f"copies, {self.segments} copied video segments; {self.bytes / 1e6:.1f} MB on disk; "
                f"{self.seconds:.1f} s")


def write_truth(root: Path, params: SynthParams, parts: list[dict]) -> dict:
    truth = {"version": SYNTH_VERSION, "synthetic": asdict(params),
             "segment_times": "seconds; end = start + copied length (frames at 1 fps stand for [t, t + 1))",
             **{key: [entry for part in parts for entry in part[key]] for key in ("images", "lookalikes", "videos")}}
    atomic_write_text(root / "truth.json", json.dumps(truth, indent=1) + "\n")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(TRUTH_HEADER)
    for seg in truth["videos"]:
        writer.writerow([seg[TRUTH_HEADER[0]], seg[TRUTH_HEADER[1]], *(f"{seg[k]:.3f}" for k in TRUTH_HEADER[2:])])
    atomic_write_text(root / "truth_segments.csv", buf.getvalue())
    return truth


def synth_pool(out: str | os.PathLike, params: SynthParams, spec=None, *, progress: bool = False) -> SynthReport:
    """Write (or finish) the synthetic store `out`; its truth goes to `out/truth.json` and `truth_segments.csv`."""
    start = time.perf_counter()
    params.check()
    lay = layout(params)
    meta = synth_meta(params, spec)
    root = Path(out)
    if (root / "meta.json").exists():
        old = DescriptorStore.open(root).meta
        if old.get("synthetic") != meta["synthetic"] or old.get("local_features") != meta["local_features"]:
            raise StoreError(f"{root}: holds another pool (not made by synth-pool with these arguments); "
                             "use another --out folder")
    store = DescriptorStore.create(root, meta)
    report = SynthReport(rows=params.rows, shards=len(lay.rows))
    shared = centres(params)
    parts = []
    with store.writer_lock():
        store.remove_uncommitted(SHARD_PREFIX)
        for shard in range(len(lay.rows)):
            plan = plan_shard(params, lay, shard)
            parts.append(plan.truth())
            name = f"{SHARD_PREFIX}-{shard:06d}"
            if (store.shard_dir / f"{name}{MARKER_SUFFIX}").exists():
                continue
            vectors = shard_vectors(params, plan, shared, shard)
            if params.local_features:  # written first: the marker lists it with its checksum, as embed does
                atomic_save_npy(store.shard_dir / f"{name}{LOCAL_SUFFIX}", shard_local_features(params, plan, shard))
            store.commit_shard(name, plan.ids, vectors, plan.inputs, [])
            report.written += 1
            if progress:
                print(f"synth-pool: shard {shard + 1}/{len(lay.rows)}", file=sys.stderr, flush=True)
        write_truth(root, params, parts)
    report.copies = sum(len(g["copies"]) + len(g["near_copies"]) for part in parts for g in part["images"])
    report.segments = sum(len(part["videos"]) for part in parts)
    report.bytes = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    report.seconds = time.perf_counter() - start
    return report
