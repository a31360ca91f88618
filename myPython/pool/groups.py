"""Same-origin groups that do not chain.

Connected components of "score >= threshold" links chain: a ~ b ~ c puts a
and c together even when they are unrelated, and one large group swallows a
pool. Here groups grow by agglomeration over the links in descending score
order, and two groups merge only when enough of the pairs between them are
linked themselves (`min_link_fraction`; 1.0 is complete linkage: every member
is linked to every other). A weak chain therefore never joins two groups.

The result is deterministic for a given set of links: ties are broken by row
numbers. Memory is O(rows + links above the threshold).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Group:
    """Row numbers of one group (ascending) and the lowest score of a link inside it (None: one member)."""

    members: list[int]
    min_score: float | None


def _links_by_pair(a: np.ndarray, b: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One link per unordered pair (the highest score), as (low row, high row, score), best first."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    lo, hi, score = lo[keep], hi[keep], score[keep]
    order = np.lexsort((-score, hi, lo))
    lo, hi, score = lo[order], hi[order], score[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, score = lo[first], hi[first], score[first]
    order = np.lexsort((hi, lo, -score))  # best link first; ties by row numbers
    return lo[order], hi[order], score[order]


def group_links(size: int, a: np.ndarray, b: np.ndarray, score: np.ndarray, threshold: float, *,
                min_link_fraction: float = 1.0, min_size: int = 2) -> list[Group]:
    """Groups of rows 0..size-1 from scored links (a[i], b[i], score[i]); links below `threshold` are ignored.

    Two groups A and B merge, when their best remaining link is processed, only if
    at least ``min_link_fraction * |A| * |B|`` of the pairs between them are links.
    Groups come largest first, then by their first member.
    """
    if not 0.0 < min_link_fraction <= 1.0:
        raise ValueError(f"min_link_fraction must be in (0, 1], got {min_link_fraction}")
    a, b, score = (np.asarray(x) for x in (a, b, score))
    keep = score >= threshold
    lo, hi, score = _links_by_pair(a[keep].astype(np.int64), b[keep].astype(np.int64), score[keep].astype(np.float64))
    parent = list(range(size))
    members: dict[int, list[int]] = {}
    min_score: dict[int, float] = {}
    # cross[g][h] = [links between groups g and h, lowest score among them]; symmetric, live groups only.
    cross: dict[int, dict[int, list]] = {}
    for u, v, s in zip(lo.tolist(), hi.tolist(), score.tolist()):
        cross.setdefault(u, {})[v] = [1, s]
        cross.setdefault(v, {})[u] = [1, s]

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for u, v in zip(lo.tolist(), hi.tolist()):
        g, h = find(u), find(v)
        if g == h:
            continue
        size_g, size_h = len(members.get(g, (g,))), len(members.get(h, (h,)))
        count, lowest = cross[g][h]
        if count < min_link_fraction * size_g * size_h - 1e-9:
            continue
        if size_g < size_h or (size_g == size_h and g > h):
            g, h = h, g  # the larger group's root survives (ties: the smaller root)
        parent[h] = g
        members[g] = members.pop(g, [g]) + members.pop(h, [h])
        min_score[g] = min(lowest, min_score.pop(g, lowest), min_score.pop(h, lowest))
        del cross[g][h]
        for other, (n, low) in cross.pop(h).items():
            if other == g:
                continue
            merged = cross[g].setdefault(other, [0, low])
            merged[0] += n
            merged[1] = min(merged[1], low)
            del cross[other][h]
            cross[other][g] = merged
    groups = [Group(sorted(m), min_score[root]) for root, m in members.items() if len(m) >= min_size]
    if min_size <= 1:
        groups += [Group([row], None) for row in range(size) if parent[row] == row and row not in members]
    groups.sort(key=lambda grp: (-len(grp.members), grp.members[0]))
    return groups


@dataclass
class IdGroup:
    """A group of row ids (store order) and the lowest score of a link inside it."""

    members: list[str]
    min_score: float | None

    def __len__(self) -> int:
        return len(self.members)


def find_groups(db, threshold: float, *, options=None, neighbours: int = 50, factory: str = "Flat",
                min_size: int = 2, min_link_fraction: float | None = None) -> list[IdGroup]:
    """Same-origin groups of a store's rows that do not chain (`group_links` over scored neighbour links).

    Links are each row's `neighbours` nearest rows scoring >= threshold in the score of `options`
    (pool.scoring.ScoreOptions: the fused, verified score, or cosine when None or without a fusion).
    Only links above the threshold are kept, so memory is O(rows + links); no N x N matrix is formed.
    `min_link_fraction` defaults to the options' (calibrated) value, else complete linkage.
    """
    from myPython.pool.scoring import ScoreOptions, scored_knn_blocks
    from myPython.pool.search import SearchOptions

    db = db.snapshot()
    options = options or ScoreOptions("cosine", threshold)
    fraction = min_link_fraction if min_link_fraction is not None else options.min_link_fraction
    search_options = SearchOptions(top_k=neighbours, factory=factory)
    a_parts, b_parts, s_parts = [], [], []
    offset = 0
    for query_ids, scores, found in scored_knn_blocks(db, db, neighbours + 1, options, search_options):
        rows = np.arange(offset, offset + len(query_ids))
        offset += len(query_ids)
        keep = (found >= 0) & (found != rows[:, None]) & (scores >= threshold)
        a_parts.append(np.broadcast_to(rows[:, None], found.shape)[keep])
        b_parts.append(found[keep])
        s_parts.append(scores[keep])
    ids = [i for shard in db.shards() for i in shard.ids()]
    return id_groups(ids, a_parts, b_parts, s_parts, threshold, min_link_fraction=fraction, min_size=min_size)


def id_groups(ids: list[str], a_parts: list[np.ndarray], b_parts: list[np.ndarray], s_parts: list[np.ndarray],
              threshold: float, *, min_link_fraction: float, min_size: int) -> list[IdGroup]:
    """`group_links` of the store's rows (`ids`) from links gathered in parts, as groups of ids; a store's panel
    rows (pool/panel_rows.py) are folded into their owners first, so groups hold owners only."""
    from myPython.pool.panel_rows import fold_links, is_owner, owner_rows

    a, b, s = (np.concatenate(p) if p else np.zeros(0) for p in (a_parts, b_parts, s_parts))
    owners = owner_rows(ids)
    a, b, s = fold_links(owners, a, b, s)
    groups = group_links(len(ids), a, b, s, threshold, min_link_fraction=min_link_fraction, min_size=min_size)
    return [IdGroup([ids[m] for m in g.members], g.min_score) for g in groups if is_owner(owners, g.members[0])]
