"""The shared criterion evaluator (mmresist.interpret.criteria)."""

from __future__ import annotations

import pytest

from mmresist.interpret.criteria import (
    all_hold,
    all_status,
    any_holds,
    any_status,
    evaluate,
)

T, F, U = True, False, None


@pytest.mark.parametrize(
    ("values", "any_expected", "all_expected"),
    [
        ([T, F], T, F),
        ([T, U], T, U),
        ([F, U], U, F),
        ([F, F], F, F),
        ([T, T], T, T),
        ([U, U], U, U),
        ([], F, T),
    ],
)
def test_three_valued_groups(values, any_expected, all_expected):
    assert any_holds(values) is any_expected
    assert all_hold(values) is all_expected
    words = {T: "met", F: "unmet", U: "unknown"}
    assert any_status(words[v] for v in values) == words[any_expected]
    assert all_status(words[v] for v in values) == words[all_expected]


class _Context:
    """Leaves hold as their ``value`` says; groups list the parts' evidence."""

    def __init__(self) -> None:
        self.judged: list[str] = []

    def judge(self, criterion):
        self.judged.append(criterion["name"])
        return criterion["value"], criterion["name"]

    def explain_group(self, criterion, holds, parts):
        return f"{criterion['type']}({', '.join(text for _, (_, text) in parts)})"


def test_nested_groups_are_judged_through_the_context():
    criterion = {
        "type": "all_of",
        "criteria": [
            {"type": "leaf", "name": "a", "value": True},
            {
                "type": "any_of",
                "criteria": [
                    {"type": "leaf", "name": "b", "value": False},
                    {"type": "leaf", "name": "c", "value": None},
                ],
            },
        ],
    }
    context = _Context()
    assert evaluate(criterion, context) == (None, "all_of(a, any_of(b, c))")
    assert context.judged == ["a", "b", "c"]
