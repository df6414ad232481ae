"""One evaluator for the criterion vocabulary of trials.yaml and the risk rules.

A criterion is a leaf (``prior_lines``, ``biomarker``, ``lab``, ...) or a group
(``any_of``/``all_of`` holding ``criteria``). Each caller judges leaves against its own
data through a ``CriterionContext``; groups are combined here, in three-valued logic.
``docs/reasoning.md`` explains the vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal, Protocol

from mmresist.model import Criterion

__all__ = [
    "GROUP_TYPES",
    "MET",
    "UNKNOWN",
    "UNMET",
    "CriterionContext",
    "Judgement",
    "Status",
    "all_hold",
    "all_status",
    "any_holds",
    "any_status",
    "evaluate",
    "holds_of",
    "status_of",
    "walk",
]

Status = Literal["met", "unmet", "unknown"]
MET: Status = "met"
UNMET: Status = "unmet"
UNKNOWN: Status = "unknown"
GROUP_TYPES = frozenset({"any_of", "all_of"})

# Whether a condition holds (True), does not (False) or cannot be told (None), with the
# evidence in words.
Judgement = tuple[bool | None, str]


class CriterionContext(Protocol):
    """What the evaluator needs from a caller: its judgement of one leaf criterion, and
    the words for a group once its parts are judged."""

    def judge(self, criterion: Criterion) -> Judgement:
        """Judge a leaf criterion against the caller's data."""
        ...

    def explain_group(
        self, criterion: Criterion, holds: bool | None, parts: list[tuple[Criterion, Judgement]]
    ) -> str:
        """Evidence text of an ``any_of``/``all_of`` group from its judged parts."""
        ...


def any_holds(values: Iterable[bool | None]) -> bool | None:
    """True when one holds, False when every one fails (or there are none), else None."""
    values = list(values)
    if True in values:
        return True
    return False if all(value is False for value in values) else None


def all_hold(values: Iterable[bool | None]) -> bool | None:
    """False when one fails, True when every one holds (or there are none), else None."""
    values = list(values)
    if False in values:
        return False
    return True if all(value is True for value in values) else None


def status_of(holds: bool | None) -> Status:
    return UNKNOWN if holds is None else MET if holds else UNMET


def holds_of(status: str) -> bool | None:
    return None if status == UNKNOWN else status == MET


def any_status(statuses: Iterable[str]) -> Status:
    """``any_holds`` over met/unmet/unknown."""
    return status_of(any_holds(holds_of(status) for status in statuses))


def all_status(statuses: Iterable[str]) -> Status:
    """``all_hold`` over met/unmet/unknown."""
    return status_of(all_hold(holds_of(status) for status in statuses))


def evaluate(criterion: Criterion, context: CriterionContext) -> Judgement:
    """Judge ``criterion``: a group from its parts, a leaf by ``context``."""
    kind = criterion["type"]
    if kind not in GROUP_TYPES:
        return context.judge(criterion)
    parts = [(child, evaluate(child, context)) for child in criterion["criteria"]]
    combine = any_holds if kind == "any_of" else all_hold
    holds = combine(judged for _, (judged, _text) in parts)
    return holds, context.explain_group(criterion, holds, parts)


def walk(criteria: Iterable[Criterion]) -> Iterator[Criterion]:
    """Every criterion, depth first, with the parts of groups after the group."""
    for criterion in criteria:
        yield criterion
        if criterion["type"] in GROUP_TYPES:
            yield from walk(criterion["criteria"])
