"""MRD summary: ordering, latest result and every trend rule (mmresist.interpret.mrd)."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from mmresist.interpret.mrd import FOLD_CHANGE, summarize_mrd


def row(day: str, result: str, value: float | None = None, method="NGS", sensitivity=1e-5):
    return {
        "patient_id": "P1",
        "date": date.fromisoformat(day),
        "method": method,
        "sensitivity": sensitivity,
        "result": result,
        "value": value,
    }


def test_no_rows_is_none():
    assert summarize_mrd(None) is None
    assert summarize_mrd([]) is None


def test_measurements_are_ordered_and_latest_reported():
    rows = [row("2024-06-01", "positive", 1e-4), row("2023-01-01", "negative")]
    out = summarize_mrd(rows)
    assert [m["date"] for m in out["measurements"]] == ["2023-01-01", "2024-06-01"]
    assert out["measurements"][0] == {
        "date": "2023-01-01",
        "method": "NGS",
        "sensitivity": 1e-5,
        "result": "negative",
        "value": None,
    }
    assert out["latest_result"] == "positive"
    assert out["latest_date"] == "2024-06-01"
    assert out["latest_method"] == "NGS"
    assert out["latest_sensitivity"] == 1e-5


TREND_CASES = {
    "single_measurement": [row("2024-01-01", "negative")],
    "consecutive_negative": [
        row("2022-01-01", "positive", 1e-3),
        row("2023-01-01", "negative"),
        row("2024-01-01", "negative"),
    ],
    "converted_to_negative": [row("2023-01-01", "positive", 1e-3), row("2024-01-01", "negative")],
    "converted_to_positive": [row("2023-01-01", "negative"), row("2024-01-01", "positive", 1e-4)],
    "rising": [row("2023-01-01", "positive", 1e-5), row("2024-01-01", "positive", 1e-4)],
    "falling": [row("2023-01-01", "positive", 1e-3), row("2024-01-01", "positive", 1e-4)],
    "stable_positive": [row("2023-01-01", "positive", 1e-4), row("2024-01-01", "positive", 3e-4)],
    "persistent_positive": [row("2023-01-01", "positive"), row("2024-01-01", "positive", 3e-4)],
}


@pytest.mark.parametrize("trend", sorted(TREND_CASES))
def test_each_trend(trend):
    out = summarize_mrd(TREND_CASES[trend])
    assert out["trend"] == trend
    assert out["trend_explanation"]
    assert out["comparable"] is True


def test_consecutive_negative_states_span_in_months():
    out = summarize_mrd(TREND_CASES["consecutive_negative"])
    assert "2 consecutive negative" in out["trend_explanation"]
    assert "12 months" in out["trend_explanation"]


def test_fold_change_boundary_is_one_log():
    assert FOLD_CHANGE == 10
    just_below = [row("2023-01-01", "positive", 1e-4), row("2024-01-01", "positive", 9.9e-4)]
    at = [row("2023-01-01", "positive", 1e-4), row("2024-01-01", "positive", 1e-3)]
    assert summarize_mrd(just_below)["trend"] == "stable_positive"
    assert summarize_mrd(at)["trend"] == "rising"


def test_differing_method_or_sensitivity_is_flagged():
    rows = [
        row("2023-01-01", "negative", method="NGF", sensitivity=2e-6),
        row("2024-01-01", "positive", 1e-4, method="NGS", sensitivity=1e-5),
    ]
    out = summarize_mrd(rows)
    assert out["trend"] == "converted_to_positive"
    assert out["comparable"] is False
    assert "methods differ (NGF, NGS)" in out["trend_explanation"]
    assert "sensitivities differ" in out["trend_explanation"]
    assert "less reliable" in out["trend_explanation"]


def test_only_compared_measurements_are_checked_for_comparability():
    rows = [row("2021-01-01", "positive", 1e-2, method="NGF")] + TREND_CASES["rising"]
    assert summarize_mrd(rows)["comparable"] is True


def test_deterministic_and_input_untouched():
    rows = TREND_CASES["consecutive_negative"]
    before = copy.deepcopy(rows)
    first = json.dumps(summarize_mrd(rows), sort_keys=True)
    assert json.dumps(summarize_mrd(list(reversed(rows))), sort_keys=True) == first
    assert rows == before


# -- IMWG sustained MRD negativity and minimum sensitivity --------------------------------------

IMWG = {
    "id": "MRD-IMWG-2016",
    "min_sensitivity": 1e-5,
    "sustained_min_days": 365,
    "source": ["PMID:27511158"],
}


@pytest.mark.parametrize(
    ("rows", "status"),
    [
        # NGS 10^-6 negative 13 months apart: sustained.
        (
            [
                row("2023-01-16", "negative", sensitivity=1e-6),
                row("2024-02-19", "negative", sensitivity=1e-6),
            ],
            "sustained",
        ),
        # Exactly 365 days apart counts; 364 does not.
        ([row("2023-01-01", "negative"), row("2024-01-01", "negative")], "sustained"),
        ([row("2023-01-01", "negative"), row("2023-12-31", "negative")], "not_sustained"),
        # Negatives 8 months apart: not sustained.
        (
            [
                row("2023-06-05", "negative", sensitivity=1e-6),
                row("2024-02-05", "negative", sensitivity=1e-6),
            ],
            "not_sustained",
        ),
        # A 10^-4 negative cannot start the year.
        (
            [
                row("2023-01-09", "negative", method="NGF", sensitivity=1e-4),
                row("2023-06-05", "negative"),
                row("2024-02-05", "negative"),
            ],
            "not_sustained",
        ),
        # A positive between two negatives breaks the run.
        (
            [
                row("2022-01-01", "negative"),
                row("2022-06-01", "positive", 1e-4),
                row("2023-03-01", "negative"),
            ],
            "not_sustained",
        ),
        # One negative only.
        ([row("2023-01-01", "positive", 1e-3), row("2024-01-01", "negative")], "not_sustained"),
        # Sensitivity not given on the run's first negative: unknown, never assumed.
        (
            [row("2023-01-01", "negative", sensitivity=None), row("2024-02-01", "negative")],
            "unknown",
        ),
        # The latest result positive: not sustained.
        (
            [
                row("2022-01-01", "negative"),
                row("2023-02-01", "negative"),
                row("2024-01-01", "positive", 1e-4),
            ],
            "not_sustained",
        ),
    ],
)
def test_sustained_needs_two_sensitive_negatives_a_year_apart(rows, status):
    out = summarize_mrd(rows, IMWG)
    assert out["sustained"]["status"] == status, out["sustained"]["basis"]
    assert out["sustained"]["rule_id"] == "MRD-IMWG-2016"
    assert out["sustained"]["source"] == ["PMID:27511158"]
    if status == "sustained":
        assert "imaging" in out["sustained"]["basis"].lower()


def test_insufficiently_sensitive_negatives_are_flagged():
    rows = [
        row("2023-01-09", "negative", method="NGF", sensitivity=1e-4),
        row("2023-06-05", "negative", sensitivity=1e-6),
        row("2023-09-05", "negative", sensitivity=None),
        row("2024-01-05", "positive", 1e-3, sensitivity=1e-4),
    ]
    flags = summarize_mrd(rows, IMWG)["sensitivity_flags"]
    assert len(flags) == 2
    assert "2023-01-09" in flags[0] and "1e-04" in flags[0] and "1e-05" in flags[0]
    assert "2023-09-05" in flags[1] and "unknown" in flags[1]


def test_without_the_rule_no_imwg_judgement_is_made():
    out = summarize_mrd([row("2023-01-01", "negative"), row("2024-02-01", "negative")])
    assert "sustained" not in out and "sensitivity_flags" not in out
    assert out["trend"] == "consecutive_negative"
