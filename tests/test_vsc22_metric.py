"""VSC22 segment micro AP on hand-made cases; the expected numbers were produced by the official
facebookresearch/vsc2022 implementation (vsc.metrics.match_metric) on the same inputs."""

from __future__ import annotations

import itertools
import math
import re

import pytest

from evaluation.vsc22 import Match, read_matches_csv, segment_average_precision


def m(q: str, r: str, qs: float, qe: float, rs: float, re_: float, score: float = 1.0) -> Match:
    return Match(q, r, qs, qe, rs, re_, score)


MIXED_TRUTH = [m("Q1", "R1", 0, 10, 0, 10), m("Q2", "R2", 2, 10, 10, 30), m("Q3", "R3", 40, 70, 0, 20)]
MIXED_PREDICTIONS = [
    m("Q1", "R1", 1, 9, 0, 8, 0.95),
    m("Q2", "R2", 0, 5, 10, 20, 0.9),
    m("Q4", "R4", 0, 3, 0, 3, 0.8),  # pair absent from the truth
    m("Q2", "R2", 3, 12, 12, 30, 0.6),
    m("Q3", "R3", 50, 60, 0, 4, 0.4),
]

# name: (predictions, truth, reference AP)
CASES = {
    "perfect": ([m("Q1", "R1", 0, 10, 5, 15, 0.9)], [m("Q1", "R1", 0, 10, 5, 15)], 1.0),
    # query 5/10 and ref 8/10 matched: P = R = sqrt(0.5 * 0.8)
    "partial": ([m("Q1", "R1", 5, 15, 2, 12, 0.9)], [m("Q1", "R1", 0, 10, 0, 10)], 0.4),
    "false_positive_pair": (
        [m("Q2", "R2", 0, 10, 0, 10, 0.9), m("Q1", "R1", 0, 10, 0, 10, 0.5)],
        [m("Q1", "R1", 0, 10, 0, 10)],
        0.5,
    ),
    "missing_pair": (
        [m("Q1", "R1", 0, 10, 0, 10, 0.9)],
        [m("Q1", "R1", 0, 10, 0, 10), m("Q2", "R2", 0, 30, 0, 30)],
        0.25,
    ),
    # the 0.8 box overlaps no true box, so the second truth segment does not count on the query axis yet
    "two_segments_one_pair": (
        [m("Q1", "R1", 0, 10, 0, 10, 0.9), m("Q1", "R1", 20, 30, 0, 20, 0.8), m("Q1", "R1", 22, 28, 42, 50, 0.7)],
        [m("Q1", "R1", 0, 10, 0, 10), m("Q1", "R1", 20, 30, 40, 50)],
        0.8597469663870283,
    ),
    # 0.6 + 0.4 * 10/14: predicted length is the union (14 s), not the sum; the 0.7 box adds nothing
    "overlapping_predictions": (
        [m("Q1", "R1", 0, 6, 0, 6, 0.9), m("Q1", "R1", 4, 14, 4, 14, 0.8), m("Q1", "R1", 2, 8, 2, 8, 0.7)],
        [m("Q1", "R1", 0, 10, 0, 10)],
        0.8857142857142857,
    ),
    # tied predictions enter together: 0.5 + 0.5 * 2/3 whichever tied one is listed first
    "score_ties": (
        [m("Q1", "R1", 0, 10, 0, 10, 0.9), m("Q3", "R3", 0, 10, 0, 10, 0.5), m("Q2", "R2", 0, 10, 0, 10, 0.5)],
        [m("Q1", "R1", 0, 10, 0, 10), m("Q2", "R2", 0, 10, 0, 10)],
        0.8333333333333333,
    ),
    "score_ties_swapped": (
        [m("Q1", "R1", 0, 10, 0, 10, 0.9), m("Q2", "R2", 0, 10, 0, 10, 0.5), m("Q3", "R3", 0, 10, 0, 10, 0.5)],
        [m("Q1", "R1", 0, 10, 0, 10), m("Q2", "R2", 0, 10, 0, 10)],
        0.8333333333333333,
    ),
    # boxes touching the true box along an edge (zero area) match nothing, though their projections do
    "touching_boxes": (
        [m("Q2", "R2", 0, 10, 0, 10, 0.95), m("Q1", "R1", 0, 10, 10, 20, 0.9), m("Q1", "R1", 10, 20, 0, 10, 0.8)],
        [m("Q1", "R1", 0, 10, 0, 10), m("Q2", "R2", 0, 10, 0, 10)],
        0.5,
    ),
    "mixed": (MIXED_PREDICTIONS, MIXED_TRUTH, 0.5251189516313757),
}


@pytest.mark.parametrize("name", CASES)
def test_matches_reference_implementation(name: str) -> None:
    predictions, truth, expected = CASES[name]
    assert segment_average_precision(predictions, truth) == pytest.approx(expected, abs=1e-6)


def test_predicting_the_truth_scores_one() -> None:
    truth = [*MIXED_TRUTH, m("Q1", "R1", 5, 20, 5, 20), m("Q1", "R1", 30, 40, 50, 60), m("Q5", "R1", 0, 1, 2, 3)]
    predictions = [Match(**{**vars(t), "score": 1 - i / 10}) for i, t in enumerate(truth)]
    assert segment_average_precision(predictions, truth) == pytest.approx(1.0, abs=1e-12)
    # one score for all of them: a single step to recall 1 at precision 1
    assert segment_average_precision(truth, truth) == pytest.approx(1.0, abs=1e-12)


def test_invariant_to_prediction_order_with_distinct_scores() -> None:
    values = {
        segment_average_precision(list(order), MIXED_TRUTH) for order in itertools.permutations(MIXED_PREDICTIONS)
    }
    assert max(values) - min(values) < 1e-12
    assert values.pop() == pytest.approx(0.5251189516313757, abs=1e-6)


def test_scores_matter() -> None:
    """Ranking the false positive pair last instead of first raises the AP from 0.5 to 1.0."""
    predictions, truth, _ = CASES["false_positive_pair"]
    flipped = [Match(**{**vars(p), "score": 1 - p.score}) for p in predictions]
    assert segment_average_precision(flipped, truth) == pytest.approx(1.0, abs=1e-12)


def test_no_predictions_and_no_truth() -> None:
    assert segment_average_precision([], MIXED_TRUTH) == 0.0
    with pytest.raises(ValueError, match="zero total length"):
        segment_average_precision(MIXED_PREDICTIONS, [])


@pytest.mark.parametrize(
    "bad, message",
    [
        (m("Q9", "R9", 5, 4, 0, 1, 0.5), r"predictions\[1\] \('Q9', 'R9'\): query_end 4 < query_start 5"),
        (m("Q9", "R9", 0, 1, 3, 2, 0.5), r"predictions\[1\] \('Q9', 'R9'\): ref_end 2 < ref_start 3"),
        (m("Q9", "R9", 0, math.nan, 0, 1, 0.5), r"predictions\[1\] \('Q9', 'R9'\): query_end is nan"),
        (m("Q9", "R9", 0, 1, 0, 1, math.nan), r"predictions\[1\] \('Q9', 'R9'\): score is nan"),
        (m("Q9", "R9", 0, 1, -math.inf, 1, 0.5), r"predictions\[1\] \('Q9', 'R9'\): ref_start is -inf"),
    ],
)
def test_bad_rows_are_named(bad: Match, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        segment_average_precision([MIXED_PREDICTIONS[0], bad], MIXED_TRUTH)
    assert "\n" not in str(caught.value)
    if "score" in message:  # the truth's score is ignored
        clean = Match(**{**vars(bad), "score": 1.0})
        expected = segment_average_precision(MIXED_PREDICTIONS, [*MIXED_TRUTH, clean])
        assert segment_average_precision(MIXED_PREDICTIONS, [*MIXED_TRUTH, bad]) == expected
    else:
        with pytest.raises(ValueError, match=r"truth\[3\] \('Q9', 'R9'\)"):
            segment_average_precision(MIXED_PREDICTIONS, [*MIXED_TRUTH, bad])


def test_csv_round_trip(tmp_path) -> None:
    truth_csv = tmp_path / "truth.csv"
    truth_csv.write_text(
        "query_id,ref_id,query_start,query_end,ref_start,ref_end\n"
        + "".join(
            f"{t.query_id},{t.ref_id},{t.query_start},{t.query_end},{t.ref_start},{t.ref_end}\n" for t in MIXED_TRUTH
        )
    )
    pred_csv = tmp_path / "pred.csv"  # columns in another order, as the challenge allows
    pred_csv.write_text(
        "score,ref_id,query_id,ref_start,ref_end,query_start,query_end\n"
        + "".join(
            f"{p.score},{p.ref_id},{p.query_id},{p.ref_start},{p.ref_end},{p.query_start},{p.query_end}\n"
            for p in MIXED_PREDICTIONS
        )
    )
    truth, predictions = read_matches_csv(truth_csv), read_matches_csv(pred_csv)
    assert truth == MIXED_TRUTH and all(t.score == 1.0 for t in truth)
    assert predictions == MIXED_PREDICTIONS
    assert segment_average_precision(predictions, truth) == pytest.approx(0.5251189516313757, abs=1e-6)


HEADER = "query_id,ref_id,query_start,query_end,ref_start,ref_end,score\n"
GOOD = "Q1,R1,0,1,0,1,0.5\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ("query_id,ref_id,query_start,query_end,ref_start\n" + GOOD, ":1: missing column.s. ref_end"),
        ("", ":1: missing column.s. query_id, ref_id"),
        (HEADER + GOOD + "Q1,R1,0,1,0,abc,0.5\n", ":3: ref_end 'abc' is not a number"),
        (HEADER + GOOD + GOOD + "Q1,R1,2,1,0,1,0.5\n", ":4: query_end 1.0 < query_start 2.0"),
        (HEADER + "Q1,R1,0,1,0,1,nan\n", ":2: score is nan"),
        (HEADER + "Q1,R1,0,1,0,1,\n", ":2: score '' is not a number"),
        (HEADER + "Q1,R1,0,1,0,1\n", ":2: expected 7 fields"),
        (HEADER + "Q1,R1,0,1,0,1,0.5,9\n", ":2: expected 7 fields"),
        (HEADER + ",R1,0,1,0,1,0.5\n", ":2: empty query_id or ref_id"),
    ],
)
def test_csv_errors_name_file_and_line(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "matches.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match="^" + re.escape(str(path)) + message) as caught:
        read_matches_csv(path)
    assert "\n" not in str(caught.value)


def test_pool_segment_ap_orders_pairs_and_leaves_out_ignored_ones():
    from evaluation.vsc22 import pool_segment_ap

    truth = {("a.mp4", "b.mp4"): [(0.0, 10.0, 5.0, 15.0)]}
    swapped = [("b.mp4", "a.mp4", 5.0, 15.0, 0.0, 10.0, 0.9)]  # the true segment, from b's side
    assert pool_segment_ap(swapped, truth) == 1.0
    wrong = [("a.mp4", "c.mp4", 0.0, 10.0, 0.0, 10.0, 0.95)]  # ranked first, an unrelated pair
    assert pool_segment_ap(wrong + swapped, truth) == 0.5
    assert pool_segment_ap(wrong + swapped, truth, ignore={("a.mp4", "c.mp4")}) == 1.0
