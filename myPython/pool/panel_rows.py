"""Panel rows folded into their owners: what `search` answers and `group` links of a store with panels.

`embed --panels` writes each picture found inside a composition (pool/panels.py) as a row of its own,
``<owner id>#panel=<n>``, right after its owner (common/ids.py). Such a row is searched and verified like any
other, so the neighbour graph, verification and their Ray paths need nothing more; a reader folds it into its
owner before it answers: a neighbour or link of a panel is one of its owner, the best score kept, and a row is
never its own neighbour through its panels. A store without panel rows is read as it always was.

A panel links only to whole rows, never to another panel: a box that many unrelated posts carry (a logo, a
sticker, a watermark's frame) is a panel of each of them, and their panels match each other (40 of the 41 false
links of `bench/panel_pipeline_study.py` on the validation split; without panel-to-panel links 2, and the
composites' source recall within 0.06 of what it was). Two composites of one picture are linked through the
picture's own row, when the pool holds it.

A quarter-turned row (`embed --turns`, ``<owner id>#turn=90``) is a sub-row too, folded the same way, but it is the
whole picture, not a picture inside it: its links are whole-picture links (not attach-only in groups), and it takes
no part in the panels' agreement (pool/panel_agreement.py) -- two screenshots in one app turned alike still match by
their chrome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from myPython.common.ids import is_panel, is_turned, owner_id
from myPython.pool.panel_agreement import PanelRuns, store_vectors, unconfirmed

Answer = tuple[str, list[tuple[str, float]]]  # (query id, neighbours best first), as search answers


def owner_rows(ids: list[str]) -> np.ndarray | None:
    """Row number of each row's owner (itself for any row but a panel); None when no row is a panel."""
    panels = [n for n, ident in enumerate(ids) if is_panel(ident)]
    if not panels:
        return None
    owners = np.arange(len(ids))
    row_of = {ident: n for n, ident in enumerate(ids)}
    for n in panels:
        owner = row_of.get(owner_id(ids[n]))
        if owner is None:
            raise ValueError(f"panel row {ids[n]}: its owner {owner_id(ids[n])} is not in the store")
        owners[n] = owner
    return owners


def turned_rows(ids: list[str]) -> np.ndarray | None:
    """Which rows are quarter-turned sub-rows (`embed --turns`); None when none is."""
    turned = np.array([is_turned(ident) for ident in ids], bool)
    return turned if turned.any() else None


def fold_links(owners: np.ndarray | None, a: np.ndarray, b: np.ndarray, score: np.ndarray,
               runs: PanelRuns | None = None, turned: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Links (a[i], b[i], score[i]) between owners, and which come from a panel: a sub-row's link to a whole row
    is its owner's, turned so that the owner comes first; links between two sub-rows and a row's links to its own
    sub-rows are dropped (several links of one pair are fine: groups keep the best). With the store's `runs`, a link
    of two whole rows that both have panels but no two panels alike is dropped too (pool/panel_agreement.py).
    `turned` (`turned_rows`): the quarter-turned sub-rows, whose links count as whole rows' (not from a panel)."""
    if owners is None:
        return a, b, score, np.zeros(len(a), dtype=bool)
    a, b, score = np.asarray(a, np.int64), np.asarray(b, np.int64), np.asarray(score)
    whole = np.arange(len(owners))
    panel_a, panel_b = owners[a] != whole[a], owners[b] != whole[b]
    keep = ~(panel_a & panel_b)
    a, b, score, panel_a, panel_b = a[keep], b[keep], score[keep], panel_a[keep], panel_b[keep]
    a, b = np.where(panel_b, b, a), np.where(panel_b, a, b)  # the sub-row (if any) first
    inside = panel_a | panel_b
    if turned is not None:
        inside &= ~turned[a]
    a, b, from_panel = owners[a], owners[b], inside
    keep = a != b
    if runs is not None:
        frame_only = np.zeros(len(a), bool)
        frame_only[~from_panel] = unconfirmed(runs, runs, a[~from_panel], b[~from_panel])
        keep &= ~frame_only
    return a[keep], b[keep], score[keep], from_panel[keep]


def is_owner(owners: np.ndarray | None, row: int) -> bool:
    return owners is None or owners[row] == row


def fold_answers(answers: Iterator[Answer], top_k: int, frame_only: Callable[[str, str], bool] | None = None
                 ) -> Iterator[Answer]:
    """Answers of owners only: an owner's neighbours are those of its row and of its sub-rows (which follow it),
    each neighbour as its owner, with its best score, never the owner itself nor a sub-row's sub-row; best first,
    at most `top_k`. `frame_only(a, b)`: whether two owners match by the frame around their panels alone
    (`PanelIds`): then what their whole pictures (rows or quarter turns) say of each other is no neighbour."""
    current: str | None = None
    best: dict[str, float] = {}
    for query, neighbours in answers:
        owner = owner_id(query)
        if owner != current:
            if current is not None:
                yield current, _ranked(best, top_k)
            current, best = owner, {}
        sub_row, whole = is_panel(query), not is_panel(query) or is_turned(query)
        for ident, score in neighbours:
            other = owner_id(ident)
            if other != owner and score > best.get(other, -np.inf) and not (sub_row and is_panel(ident)):
                if frame_only is not None and whole and (other == ident or is_turned(ident)) and \
                        frame_only(owner, other):
                    continue
                best[other] = score
    if current is not None:
        yield current, _ranked(best, top_k)


def _ranked(best: dict[str, float], top_k: int) -> list[tuple[str, float]]:
    return sorted(best.items(), key=lambda item: -item[1])[:top_k]  # stable: equal scores in the order met


def fold_matrix(scores: np.ndarray, owners: np.ndarray | None, runs: PanelRuns | None = None,
                turned: np.ndarray | None = None) -> np.ndarray:
    """An N x N pair-score matrix of a store's rows as one of its owners (in row order): the best score of the
    pair's rows and sub-rows, but of two sub-rows (and, with the store's `runs`, but of the whole pictures -- rows
    and their quarter turns, `turned` -- of two owners that match by the frame around their panels alone,
    pool/panel_agreement.py); the diagonal stays the owners' own. Sub-rows follow their owner, so each owner's rows
    are one run."""
    if owners is None:
        return scores
    starts = np.flatnonzero(owners == np.arange(len(owners)))
    if not np.array_equal(owners, np.repeat(starts, np.diff(np.append(starts, len(owners))))):
        raise ValueError("panel rows do not follow their owners")
    panel = owners != np.arange(len(owners))
    scores = np.where(panel[:, None] & panel[None, :], -np.inf, scores)
    if runs is not None:
        holders = starts[runs.count[starts] > 0]
        i, j = np.triu_indices(len(holders), 1)
        a, b = holders[i], holders[j]
        drop = unconfirmed(runs, runs, a, b)
        scores[a[drop], b[drop]] = scores[b[drop], a[drop]] = -np.inf
        if turned is not None:  # the quarter turn is the whole picture too: row/turn and turn/row go as well
            turn_of = np.full(len(owners), -1)
            turn_of[owners[turned]] = np.flatnonzero(turned)
            for x, y in ((a[drop], turn_of[b[drop]]), (turn_of[a[drop]], b[drop])):
                ok = y >= 0
                ok &= x >= 0
                scores[x[ok], y[ok]] = scores[y[ok], x[ok]] = -np.inf
    folded = np.maximum.reduceat(np.maximum.reduceat(scores, starts, axis=0), starts, axis=1)
    folded[np.diag_indices(len(starts))] = scores[starts, starts]
    return folded


def panel_runs(store, ids: list[str] | None = None) -> PanelRuns | None:
    """The store's panel rows by owner with its descriptors (pool/panel_agreement.py), None without panel rows;
    quarter-turned rows are no panels here (the whole picture again, module docstring)."""
    ids = ids if ids is not None else [i for shard in store.shards() for i in shard.ids()]
    owners = owner_rows(ids)
    turned = turned_rows(ids)
    if owners is not None and turned is not None:
        owners = np.where(turned, np.arange(len(owners)), owners)
    if owners is None or np.array_equal(owners, np.arange(len(owners))):
        return None
    return PanelRuns(owners, store_vectors(store))


class PanelIds:
    """`frame_only(a, b)` for ids of two stores (a of `left`, b of `right`; one store: the same twice): whether the
    whole rows match by the frame around their panels alone (pool/panel_agreement.py)."""

    def __init__(self, left, right=None) -> None:
        self.sides = []
        for store in (left, left if right is None else right):
            ids = [i for shard in store.shards() for i in shard.ids()]
            runs = panel_runs(store, ids)
            self.sides.append((runs, {i: n for n, i in enumerate(ids)} if runs is not None else {}))

    def frame_only(self, a: str, b: str) -> bool:
        (left, rows_a), (right, rows_b) = self.sides
        if left is None or right is None or a not in rows_a or b not in rows_b:
            return False
        return bool(unconfirmed(left, right, np.array([rows_a[a]]), np.array([rows_b[b]]))[0])
