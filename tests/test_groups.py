"""Non-chaining groups (`pool.groups.group_links`) against brute force and hand-made cases."""

from itertools import combinations

import numpy as np
import pytest

from myPython.pool.groups import group_links


def _links(pairs):
    a, b, s = zip(*pairs)
    return np.array(a), np.array(b), np.array(s, dtype=float)


def test_a_chain_of_weak_links_does_not_join_unrelated_items():
    # a~b and b~c are links, a and c are unrelated: b joins its best partner only.
    groups = group_links(3, *_links([(0, 1, 0.9), (1, 2, 0.8)]), threshold=0.5)
    assert [g.members for g in groups] == [[0, 1]]
    # connected components would have said [[0, 1, 2]]; with c~a linked too, all three join.
    groups = group_links(3, *_links([(0, 1, 0.9), (1, 2, 0.8), (0, 2, 0.7)]), threshold=0.5)
    assert [g.members for g in groups] == [[0, 1, 2]] and groups[0].min_score == pytest.approx(0.7)


def test_links_below_the_threshold_and_duplicates_are_ignored():
    groups = group_links(4, *_links([(0, 1, 0.9), (1, 0, 0.95), (2, 3, 0.4)]), threshold=0.5)
    assert [(g.members, g.min_score) for g in groups] == [([0, 1], 0.95)]


def test_min_link_fraction_tolerates_missing_links():
    # 0,1,2 fully linked; 3 linked to 0 and 1 only (2 of 3 pairs).
    pairs = [(0, 1, 0.9), (0, 2, 0.9), (1, 2, 0.9), (3, 0, 0.8), (3, 1, 0.8)]
    assert [g.members for g in group_links(4, *_links(pairs), 0.5)] == [[0, 1, 2]]
    assert [g.members for g in group_links(4, *_links(pairs), 0.5, min_link_fraction=0.6)] == [[0, 1, 2, 3]]
    with pytest.raises(ValueError):
        group_links(4, *_links(pairs), 0.5, min_link_fraction=0.0)


def test_complete_linkage_matches_brute_force_on_random_graphs():
    rng = np.random.default_rng(0)
    for _trial in range(30):
        n = 12
        pairs = [(i, j, float(rng.random())) for i, j in combinations(range(n), 2) if rng.random() < 0.5]
        a, b, s = _links(pairs)
        groups = group_links(n, a, b, s, threshold=0.3, min_size=1)
        linked = {(min(i, j), max(i, j)) for i, j, v in pairs if v >= 0.3}
        # every group is a clique of links, every item is in exactly one group
        assert sorted(m for g in groups for m in g.members) == list(range(n))
        for g in groups:
            assert all((i, j) in linked for i, j in combinations(g.members, 2))
        # deterministic and independent of the input order
        perm = rng.permutation(len(a))
        again = group_links(n, a[perm], b[perm], s[perm], threshold=0.3, min_size=1)
        assert [g.members for g in again] == [g.members for g in groups]


def test_links_are_merged_best_first():
    # two copies pairs (0~2, 1~3) at 0.9999 and weaker cross links 2~3, 0~3: complete linkage keeps the pairs.
    links = [(2, 0, 0.99994), (1, 3, 0.99991), (2, 3, 0.7927), (0, 3, 0.7549)]
    for fraction in (1.0, 0.8):
        groups = group_links(4, *_links(links), threshold=0.7, min_link_fraction=fraction)
        assert [g.members for g in groups] == [[0, 2], [1, 3]]
