"""Non-chaining groups (`pool.groups.group_links`) against brute force and hand-made cases."""

from itertools import combinations

import numpy as np
import pytest

from myPython.pool.groups import gather_groups, group_component, group_links, link_components


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


def test_an_attach_only_link_joins_one_group_and_never_merges_two():
    # photos 0 and 1 with copies 2 and 3; 4 and 5 are collages of both, linked to each photo through their panels
    # (attach-only, the collage first) and to each other in full.
    full = [(0, 2, 0.95), (1, 3, 0.95), (4, 5, 0.9)]
    panel = [(4, 0, 0.85), (4, 2, 0.84), (5, 0, 0.83), (5, 2, 0.82),
             (4, 1, 0.8), (4, 3, 0.79), (5, 1, 0.78), (5, 3, 0.77)]
    a, b, s = _links(full + panel)
    attach = np.array([False] * len(full) + [True] * len(panel))
    # with full links only, the collages join both photos' groups (half the pairs between them are linked)
    assert [g.members for g in group_links(6, a, b, s, 0.5, min_link_fraction=0.5)] == [[0, 1, 2, 3, 4, 5]]
    groups = group_links(6, a, b, s, 0.5, min_link_fraction=0.5, attach_only=attach)
    assert [g.members for g in groups] == [[0, 2, 4, 5], [1, 3]]
    # the collages join the group of the photo they show best
    flipped = s.copy()
    flipped[len(full):] = s[len(full):][[4, 5, 6, 7, 0, 1, 2, 3]]
    groups = group_links(6, a, b, flipped, 0.5, min_link_fraction=0.5, attach_only=attach)
    assert [g.members for g in groups] == [[1, 3, 4, 5], [0, 2]]
    # a pair that also has a full link is a full one, and full links group first: one full link of the collages
    # to photo 1 is too few to merge them with its group, four of the eight pairs are (then they stay there)
    full_a, full_b = np.array([4, 4, 5, 5]), np.array([1, 3, 1, 3])
    for n, expected in ((1, [[0, 2, 4, 5], [1, 3]]), (4, [[1, 3, 4, 5], [0, 2]])):
        both = group_links(6, np.append(a, full_a[:n]), np.append(b, full_b[:n]), np.append(s, [0.8] * n), 0.5,
                           min_link_fraction=0.5, attach_only=np.append(attach, [False] * n))
        assert [g.members for g in both] == expected
    # a group that took in a collage takes in more collages
    extra = group_links(7, np.append(a, [6, 6]), np.append(b, [0, 2]), np.append(s, [0.6, 0.6]), 0.5,
                        min_link_fraction=0.5, attach_only=np.append(attach, [True, True]))
    assert [g.members for g in extra] == [[0, 2, 4, 5, 6], [1, 3]]


def test_a_group_joins_another_only_when_each_of_its_members_shows_it():
    # 0, 1: photo A and a copy; 2, 3: photo B and a copy; 4 is B with A inset: in full like B's copy 3, and its
    # panel shows A. Its group {2, 3, 4} is not attached to A's: B's rows do not show A.
    a, b, s = _links([(0, 1, 0.95), (2, 3, 0.95), (4, 3, 0.9), (4, 0, 0.85), (4, 1, 0.84)])
    attach = np.array([False, False, False, True, True])
    groups = group_links(5, a, b, s, 0.5, min_link_fraction=0.5, attach_only=attach)
    assert [g.members for g in groups] == [[2, 3, 4], [0, 1]]
    # without the full link, the collage joins A's group; and a chain of attachments does not form: 5 shows a
    # picture of 4, which joins A's group, so 5 joins nothing
    groups = group_links(6, *_links([(0, 1, 0.95), (2, 3, 0.95), (4, 0, 0.85), (4, 1, 0.84), (5, 4, 0.9)]), 0.5,
                         min_link_fraction=0.5, attach_only=np.array([False, False, True, True, True]))
    assert [g.members for g in groups] == [[0, 1, 4], [2, 3]]


@pytest.mark.parametrize("seed", range(6))
def test_components_grouped_apart_give_the_groups_of_all_links(seed):
    """What `group --ray` relies on: each connected component grouped alone, its rows renumbered in order, gives
    group_links' groups over all links, with attach-only links, ties and links below the threshold among them."""
    rng = np.random.default_rng(seed)
    n = 60
    a, b = rng.integers(0, n, 150), rng.integers(0, n, 150)
    s = np.round(rng.uniform(0.2, 1.0, 150), 1)  # many equal scores
    attach = rng.random(150) < 0.3
    for fraction in (1.0, 0.5):
        for min_size in (1, 2, 3):
            whole = group_links(n, a, b, s, 0.5, min_link_fraction=fraction, min_size=min_size, attach_only=attach)
            parts = [g for rows, links in link_components(n, a, b, s, 0.5)
                     for g in group_component(rows, a[links], b[links], s[links], 0.5, min_link_fraction=fraction,
                                              attach_only=attach[links])]
            assert gather_groups(n, parts, min_size) == whole
    components = link_components(n, a, b, s, 0.5)
    held = np.concatenate([links for _, links in components])
    assert len(held) == len(set(held.tolist()))  # each link in one component; every link between two rows in one
    assert set(np.flatnonzero((s >= 0.5) & (a != b)).tolist()) <= set(held.tolist()) <= set(np.flatnonzero(s >= 0.5))
    assert all(len(rows) >= len(later) for (rows, _), (later, _) in zip(components, components[1:]))
