"""Can the pool tell shared content (app chrome, watermarks, stickers, meme text) from a copy? VALIDATION split only.

A pool of validation photos, their copies (datasets/edits.py kinds and platform edits) and the photos under shared
overlay templates, each template shared by a group of 2, 3 or 5 different photos (one template per group). Every
pair the pool verifies (each row's first `candidates` neighbours reaching the fusion's `min_cosine`, as `search`
does) is scored by the default model's fused score at its recommended threshold, with the inliers counted:

* `none`: as today;
* `votes:C:M:T`: pool/shared_content.py with MAX_COSINE = C, MIN_VOTES = M, IN_PLACE = T: a keypoint of row A is
  shared content for the pair (A, B) when it is an in-place inlier (within T of the long side) of at least M
  other pairs (A, P) that merge on their inliers with a cosine below C, P's cosine with B below C too; a pair's
  inliers on shared keypoints (either side) are not counted.

Also printed, for the first variant after `none`: the same on the pool without the shared-overlay items (what the
rule costs where nothing is shared). Result (default model b4065b43f2e1, fp32): `none` recall 0.740 with 383
different-origin merges (382 between items under app chrome); votes:0.5:2:0.02 recall 0.729 with 52; without
the overlay items recall 0.751 -> 0.748. The chosen rule (pool/shared_content.py) is that one.

Printed per variant: recall of each copy kind (photo with its copy, and copy with copy), false merges of the
shared-template pairs by template kind and group size, and of the unrelated pairs.

    .venv/bin/python bench/shared_content_study.py [--variants none votes:0.6:1:0.02 ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from keypoint_study import copy_items, study_model  # noqa: E402

from myPython.datasets.platform_video_edits import AppChrome, MemeText, Sticker, Watermark  # noqa: E402
from myPython.pool import shared_content  # noqa: E402
from myPython.pool.verify import local_features, unpack, verify  # noqa: E402

SEED = 6061
PLATFORM_EDITS = (("composition", "picture_in_picture"), ("geometry", "rotate90"), ("geometry", "portrait_blur"),
                  ("quality", "heavy_jpeg"), ("quality", "thumbnail"), ("photometric", "greyscale"))
GROUP_SIZES = (2, 3, 5)


def templates(rng: np.random.Generator) -> dict:
    return {"app_chrome_overlay": lambda: AppChrome.random(rng, style="overlay"),
            "app_chrome_framed": lambda: AppChrome.random(rng, style="framed"),
            "watermark": lambda: Watermark.random(rng, moving=False), "sticker": lambda: Sticker.random(rng),
            "meme_text": lambda: MemeText.random(rng)}


def build_pool(rng: np.random.Generator) -> tuple[list[np.ndarray], list[str], list[str], list[str]]:
    """(images, origin, kind, template group or '' of each item)."""
    images, origins, kinds, originals = copy_items(rng, PLATFORM_EDITS, SEED)
    groups = [""] * len(images)
    for name, make in templates(rng).items():
        order = rng.permutation(len(originals))
        start, g = 0, 0
        while start < len(order):
            size = GROUP_SIZES[g % len(GROUP_SIZES)]
            template = make()
            for n in order[start:start + size]:
                image, origin = originals[n]
                images.append(template.apply(image).image)
                origins.append(origin)
                kinds.append("shared_" + name)
                groups.append(f"{name}/{g}/{min(size, len(order) - start)}")
            start, g = start + size, g + 1
    return images, origins, kinds, groups


def embed(images: list[np.ndarray], spec) -> tuple[np.ndarray, list[np.ndarray], dict]:
    from myPython.build.engine import build_extractor

    extractor = build_extractor(spec.proto, spec.weights, spec.settings())
    x = extractor.describe_all(images, progress=True)
    feats = [local_features(im) for im in images]
    return x, feats, spec.info


def candidate_pairs(cosine: np.ndarray, gate: float, k: int) -> np.ndarray:
    masked = cosine.copy()
    np.fill_diagonal(masked, -np.inf)
    rows = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    pairs = {(min(a, int(b)), max(a, int(b))) for a in range(len(cosine)) for b in rows[a] if masked[a, b] >= gate}
    return np.array(sorted(pairs), np.int64)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=[
        "none", "votes:0.5:2:0.02", "votes:0.6:2:0.02", "votes:0.5:1:0.02", "votes:0.6:3:0.02", "votes:0.5:2:0.01",
        "votes:0.5:2:0.04"])
    args = parser.parse_args()
    images, origins, kinds, groups = build_pool(np.random.default_rng(SEED))
    spec = study_model()
    cache = REPO / "out" / f"shared_content_study-{spec.fingerprint()}.npz"  # embeddings of this model
    if cache.exists():
        data = np.load(cache, allow_pickle=True)
        x, feats, info = data["x"], list(data["feats"]), data["info"].item()
    else:
        x, feats, info = embed(images, spec)
        cache.parent.mkdir(exist_ok=True)
        np.savez(cache, x=x, feats=np.stack(feats), info=np.array(info, dtype=object))
    from myPython.pool.scoring import Fusion

    fusion, threshold = Fusion.from_dict(info["fusion"]), float(info["recommended_threshold"])
    origins, kinds, groups = np.array(origins), np.array(kinds), np.array(groups)
    n = len(images)
    cosine = x @ x.T
    pairs = candidate_pairs(cosine, fusion.min_cosine, fusion.candidates)
    a, b = pairs[:, 0], pairs[:, 1]
    cos = cosine[a, b]
    positions = [unpack(f)[1] / 512 for f in feats]
    matches, found = [], {}
    for p, q in pairs:
        v = verify(feats[p], feats[q])
        matches.append((v.keypoints_a, v.keypoints_b, v.mirrored))
        found[(int(p), int(q))] = (v.keypoints_a, v.keypoints_b, shared_content.in_place(
            positions[p], positions[q], v.keypoints_a, v.keypoints_b, v.mirrored))
    same = origins[a] == origins[b]
    shared = ~same & (kinds[a] == kinds[b]) & np.char.startswith(kinds[a], "shared_") & (groups[a] == groups[b])
    plain = ~same & ~shared
    print(f"{n} items from {len(set(origins))} validation photos; {len(pairs)} verified pairs: {same.sum()} same "
          f"origin, {shared.sum()} shared-template, {plain.sum()} other different-origin; fused threshold "
          f"{threshold:.4f}")
    # recall is over ALL same-origin pairs of a kind (unverified ones score by cosine alone)
    i, j = np.triu_indices(n, 1)
    all_same = origins[i] == origins[j]
    position = {(int(p), int(q)): m for m, (p, q) in enumerate(pairs)}
    raw = np.array([len(m[0]) for m in matches])

    def merged_pairs(variant: str, keep: np.ndarray) -> np.ndarray:
        """Merge decision of every pair of the items in `keep` (the pool is those items alone)."""
        inside = keep[a] & keep[b]
        inl = raw.copy()
        if variant != "none":
            _, c, m, t = variant.split(":")
            shared_content.MAX_COSINE, shared_content.MIN_VOTES, shared_content.IN_PLACE = float(c), int(m), float(t)
            inl[inside] = shared_content.effective_inliers(pairs[inside], cos[inside], raw[inside], fusion, threshold,
                                                           lambda p, q: found[(p, q)], lambda rows: x[rows])
        full = np.zeros(len(i))
        idx = np.array([position.get((int(p), int(q)), -1) for p, q in zip(i, j)])
        hit = idx >= 0
        full[hit] = inl[idx[hit]]
        return (fusion.score(cosine[i, j], full) >= threshold) & keep[i] & keep[j]

    plain_items = ~np.char.startswith(kinds, "shared_")
    for variant in args.variants[:2]:
        merged = merged_pairs(variant, plain_items)
        pick = all_same & plain_items[i] & plain_items[j]
        print(f"without the overlay items, {variant}: same-origin recall {merged[pick].mean():.3f}, different-origin "
              f"merges {int(merged[~all_same].sum())}")
    for variant in args.variants:
        merged = merged_pairs(variant, np.ones(n, bool))
        overlaid = np.char.startswith(kinds[i], "shared_") & np.char.startswith(kinds[j], "shared_")
        print(f"\n{variant}: same-origin recall {merged[all_same].mean():.3f}; different-origin merges "
              f"{int(merged[~all_same].sum())}, {int(merged[~all_same & overlaid].sum())} of them between two items "
              f"under overlays ({int((~all_same & overlaid).sum())} such pairs; one template's pairs below)")
        for kind in sorted(set(kinds) - {"original"}):
            pick = all_same & (((kinds[i] == "original") & (kinds[j] == kind)) | ((kinds[j] == "original") &
                                                                                 (kinds[i] == kind)))
            both = all_same & (kinds[i] == kind) & (kinds[j] == kind)
            with_any = all_same & ((kinds[i] == kind) | (kinds[j] == kind))
            print(f"  copy  {kind:28s} with original {merged[pick].mean():.3f}  any pair {merged[with_any].mean():.3f}"
                  + (f"  same kind {merged[both].mean():.3f}" if both.any() else ""))
        tmpl = ~all_same & (groups[i] == groups[j]) & (groups[i] != "")
        for kind in sorted({g.split("/")[0] for g in groups if g}):
            for size in GROUP_SIZES:
                pick = tmpl & np.char.startswith(groups[i], kind + "/") & np.char.endswith(groups[i], f"/{size}")
                if pick.any():
                    print(f"  false {kind:20s} group of {size}: merges {merged[pick].mean():.3f} of {pick.sum()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
