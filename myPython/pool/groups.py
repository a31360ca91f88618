"""Same-origin groups that do not chain.

Connected components of "score >= threshold" links chain: a ~ b ~ c puts a
and c together even when they are unrelated, and one large group swallows a
pool. Here groups grow by agglomeration over the links in descending score
order, and two groups merge only when enough of the pairs between them are
linked themselves (`min_link_fraction`; 1.0 is complete linkage: every member
is linked to every other). A weak chain therefore never joins two groups.

A link may be marked attach-only (a link from a picture inside a composition to a
row, pool/panel_rows.py): such links take no part in the agglomeration; afterwards
a group whose every member shows a picture of another group joins that group,
and a group that joins another takes none in. A collage of two photos then joins
one of their groups, the one it links to best, and never merges the two.

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


def _links_by_pair(a: np.ndarray, b: np.ndarray, score: np.ndarray, attach: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One link per unordered pair (the highest score), as (low row, high row, score, attaching row), best first.
    The attaching row is -1 when some link of the pair is a full one, else the first row of its best link."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    lo, hi, score, a, attach = lo[keep], hi[keep], score[keep], a[keep], attach[keep]
    order = np.lexsort((-score, hi, lo))
    lo, hi, score, a, attach = lo[order], hi[order], score[order], a[order], attach[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    starts = np.flatnonzero(first)
    full = np.logical_or.reduceat(~attach, starts) if len(starts) else np.zeros(0, dtype=bool)
    lo, hi, score, attacher = lo[first], hi[first], score[first], np.where(full, -1, a[first])
    order = np.lexsort((hi, lo, -score))  # best link first; ties by row numbers
    return lo[order], hi[order], score[order], attacher[order]


def group_links(size: int, a: np.ndarray, b: np.ndarray, score: np.ndarray, threshold: float, *,
                min_link_fraction: float = 1.0, min_size: int = 2, attach_only: np.ndarray | None = None
                ) -> list[Group]:
    """Groups of rows 0..size-1 from scored links (a[i], b[i], score[i]); links below `threshold` are ignored.

    Two groups A and B merge, when their best remaining link is processed, only if
    at least ``min_link_fraction * |A| * |B|`` of the pairs between them are links.
    Links marked `attach_only` (a[i] shows a picture of b[i]) take no part in that; afterwards
    each group joins the group it is attached to (`_attachments`). Groups come largest first,
    then by their first member.
    """
    if not 0.0 < min_link_fraction <= 1.0:
        raise ValueError(f"min_link_fraction must be in (0, 1], got {min_link_fraction}")
    a, b, score = (np.asarray(x) for x in (a, b, score))
    attach = np.zeros(len(a), dtype=bool) if attach_only is None else np.asarray(attach_only, dtype=bool)
    keep = score >= threshold
    lo, hi, score, attacher = _links_by_pair(a[keep].astype(np.int64), b[keep].astype(np.int64),
                                             score[keep].astype(np.float64), attach[keep])
    full = attacher < 0
    parent, members, min_score = _agglomerate(size, lo[full], hi[full], score[full], min_link_fraction)
    for g, h, lowest in _attachments(parent, members, lo[~full], hi[~full], score[~full], attacher[~full],
                                     min_link_fraction):
        parent[g] = h
        members[h] = members.pop(h, [h]) + members.pop(g, [g])
        min_score[h] = min(lowest, min_score.pop(h, lowest), min_score.pop(g, lowest))
    return gather_groups(size, [Group(sorted(m), min_score[root]) for root, m in members.items()], min_size)


def link_components(size: int, a: np.ndarray, b: np.ndarray, score: np.ndarray, threshold: float,
                    attach_only: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """The connected components of the links >= threshold that hold a link: (rows ascending, indices of their
    links), largest first. `group_links` of each component's links, its rows renumbered in order, gives exactly
    that component's groups of `group_links` over all links (no link crosses components, and renumbering in order
    keeps every tie-break), so components can be grouped apart, as `group --ray` does (pool/groups_ray.py)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    links = np.flatnonzero(np.asarray(score) >= threshold)
    graph = coo_matrix((np.ones(len(links), np.int8), (a[links], b[links])), shape=(size, size))
    _, label = connected_components(graph, directed=True, connection="weak")
    counts = np.bincount(label, minlength=size)
    link_label = label[a[links]]
    link_counts = np.bincount(link_label, minlength=size)
    row_order, link_order = np.argsort(label, kind="stable"), links[np.argsort(link_label, kind="stable")]
    row_ends, link_ends = np.cumsum(counts), np.cumsum(link_counts)
    # slices of the components with links only (most rows of a large pool are alone)
    parts = [(row_order[row_ends[c] - counts[c]:row_ends[c]], link_order[link_ends[c] - link_counts[c]:link_ends[c]])
             for c in np.flatnonzero(counts > 1).tolist()]
    parts.sort(key=lambda part: (-len(part[0]), part[0][0]))
    return parts


def group_component(rows: np.ndarray, a: np.ndarray, b: np.ndarray, score: np.ndarray, threshold: float, *,
                    min_link_fraction: float, attach_only: np.ndarray | None = None) -> list[Group]:
    """`group_links`' groups (of two rows or more) of one component's links, in the store's row numbers."""
    local_a, local_b = np.searchsorted(rows, a), np.searchsorted(rows, b)
    groups = group_links(len(rows), local_a, local_b, score, threshold, min_link_fraction=min_link_fraction,
                         attach_only=attach_only)
    return [Group(rows[g.members].tolist(), g.min_score) for g in groups]


def gather_groups(size: int, groups: list[Group], min_size: int) -> list[Group]:
    """Groups of components as `group_links` returns them: at least `min_size` members (with one, every row in no
    group), largest first, then by their first member."""
    out = [g for g in groups if len(g.members) >= min_size]
    if min_size <= 1:
        grouped = np.zeros(size, dtype=bool)
        for g in groups:
            grouped[g.members] = True
        out += [Group([row], None) for row in np.flatnonzero(~grouped).tolist()]
    out.sort(key=lambda grp: (-len(grp.members), grp.members[0]))
    return out


def _root(parent: list[int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _agglomerate(size: int, lo: np.ndarray, hi: np.ndarray, score: np.ndarray, min_link_fraction: float
                 ) -> tuple[list[int], dict[int, list[int]], dict[int, float]]:
    """Non-chaining agglomeration of pairs (lo, hi, score), best first: (parent of each row, members of each root
    of a group of several, the lowest link inside each)."""
    parent = list(range(size))
    members: dict[int, list[int]] = {}
    min_score: dict[int, float] = {}
    # cross[g][h] = [links between groups g and h, lowest score among them]; symmetric, live groups only.
    cross: dict[int, dict[int, list]] = {}
    for u, v, s in zip(lo.tolist(), hi.tolist(), score.tolist()):
        cross.setdefault(u, {})[v] = [1, s]
        cross.setdefault(v, {})[u] = [1, s]
    for u, v in zip(lo.tolist(), hi.tolist()):
        g, h = _root(parent, u), _root(parent, v)
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
    return parent, members, min_score


def _attachments(parent: list[int], members: dict[int, list[int]], lo: np.ndarray, hi: np.ndarray,
                 score: np.ndarray, attacher: np.ndarray, min_link_fraction: float) -> list[tuple[int, int, float]]:
    """(group, group it joins, lowest link between them) of the groups that attach-only links attach.

    Group G is attached to group H when every member of G shows a picture of H (has an attach-only link to one
    of H's members) and at least `min_link_fraction` of H's members are shown; of several such H, the one with
    the best link (ties: the lower root). An attachment never chains: a group that attaches to another takes
    none in, so a collage of two photos joins one of their groups and never merges them."""
    shown: dict[tuple[int, int], list] = {}  # (G, H) -> [rows of G showing, rows of H shown, best, lowest]
    for u, v, s, by in zip(lo.tolist(), hi.tolist(), score.tolist(), attacher.tolist()):
        other = v if by == u else u
        g, h = _root(parent, by), _root(parent, other)
        if g == h:
            continue
        entry = shown.setdefault((g, h), [set(), set(), s, s])
        entry[0].add(by)
        entry[1].add(other)
        entry[2], entry[3] = max(entry[2], s), min(entry[3], s)
    best: dict[int, tuple[float, int, float]] = {}
    for (g, h), (rows_g, rows_h, top, lowest) in shown.items():
        size_g, size_h = len(members.get(g, (g,))), len(members.get(h, (h,)))
        if len(rows_g) == size_g and len(rows_h) >= min_link_fraction * size_h - 1e-9:
            if g not in best or (top, -h) > (best[g][0], -best[g][1]):
                best[g] = (top, h, lowest)
    return sorted((g, h, lowest) for g, (_, h, lowest) in best.items() if h not in best)


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
    return id_groups(ids, a_parts, b_parts, s_parts, threshold, min_link_fraction=fraction, min_size=min_size,
                     store=db)


def id_groups(ids: list[str], a_parts: list[np.ndarray], b_parts: list[np.ndarray], s_parts: list[np.ndarray],
              threshold: float, *, min_link_fraction: float, min_size: int, ray: str | None = None, store=None
              ) -> list[IdGroup]:
    """`group_links` of the store's rows (`ids`) from links gathered in parts, as groups of ids; a store's panel
    rows (pool/panel_rows.py) are folded into their owners first, so groups hold owners only, and a panel's link
    only attaches its owner (a composition shows several origins: it joins one group, never merges two). `ray`: a
    Ray address ('' a local Ray) on which each connected component is grouped as a task; the same groups. `store`:
    the store the ids are of, whose descriptors tell links of two whole pictures that match by the frame around
    their panels alone, which are dropped (pool/panel_agreement.py)."""
    from myPython.pool.panel_rows import fold_links, is_owner, owner_rows, panel_runs, turned_rows

    a, b, s = (np.concatenate(p) if p else np.zeros(0) for p in (a_parts, b_parts, s_parts))
    owners = owner_rows(ids)
    runs = panel_runs(store, ids) if owners is not None and store is not None else None
    a, b, s, from_panel = fold_links(owners, a, b, s, runs, turned_rows(ids) if owners is not None else None)
    if ray is None:
        groups = group_links(len(ids), a, b, s, threshold, min_link_fraction=min_link_fraction, min_size=min_size,
                             attach_only=from_panel)
    else:
        from myPython.pool.groups_ray import group_on_ray

        groups = group_on_ray(len(ids), a, b, s, threshold, min_link_fraction=min_link_fraction, min_size=min_size,
                              attach_only=from_panel, address=ray or None)
    return [IdGroup([ids[m] for m in g.members], g.min_score) for g in groups if is_owner(owners, g.members[0])]
