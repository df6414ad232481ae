"""Registry statuses of the curated trials: refreshed from a ClinicalTrials.gov export, summarised.

``mmresist trials refresh --from FILE`` reads a saved ClinicalTrials.gov API v2 JSON export
(``{"studies": [{"protocolSection": {"identificationModule": {"nctId"}, "statusModule":
{"overallStatus", "statusVerifiedDate", "lastUpdatePostDateStruct": {"date"}}}}]}``) and
rewrites the status lines of ``trials.yaml`` in place: only the scalar status lines of the
trials the export holds change, so comments, order and every other line stay as they are and
the same inputs give the same bytes. ``mmresist trials status`` counts what is known.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from mmresist.errors import InputError

__all__ = [
    "ENROLLING",
    "RefreshResult",
    "read_export",
    "refresh_trials",
    "set_trial_fields",
    "status_summary",
]

# ClinicalTrials.gov overall statuses under which a trial can still take a patient.
ENROLLING = frozenset({"recruiting", "not_yet_recruiting", "enrolling_by_invitation"})
# Overall statuses trials.yaml accepts (ClinicalTrials.gov vocabulary in lower case).
KNOWN_STATUSES = frozenset(
    {
        "not_yet_recruiting",
        "recruiting",
        "enrolling_by_invitation",
        "active_not_recruiting",
        "suspended",
        "terminated",
        "completed",
        "withdrawn",
        "unknown",
    }
)
# How a status was determined: the registry record itself, a site that mirrors it, the
# sponsor's own study register or page, a publication, or a regulator's decision.
STATUS_BASES = frozenset({"registry", "registry_mirror", "sponsor", "publication", "regulator"})
# The status lines of a trial entry, in the order they are written.
STATUS_FIELDS = (
    "status",
    "status_checked",
    "status_date",
    "registry_last_update",
    "status_basis",
    "status_source",
)
_ENTRY = re.compile(r"^  - id: (?P<id>\S+)\s*$")
_FIELD = re.compile(r"^    (?P<key>[a-z_]+):(?P<rest>.*)$")


@dataclass(frozen=True)
class RegistryRecord:
    """One study of the export: its overall status and dates."""

    nct_id: str
    status: str
    verified: str | None
    last_update: str | None


@dataclass
class RefreshResult:
    """What a refresh changed, left alone and could not match."""

    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    not_in_export: list[str] = field(default_factory=list)
    not_curated: list[str] = field(default_factory=list)
    text: str = ""

    def report(self) -> str:
        lines = [f"changed ({len(self.changed)}):"] + [f"  {line}" for line in self.changed]
        lines += [f"unchanged ({len(self.unchanged)}):"] + [f"  {x}" for x in self.unchanged]
        lines += [f"not in the export ({len(self.not_in_export)}):"]
        lines += [f"  {line}" for line in self.not_in_export]
        lines += [f"in the export but not curated ({len(self.not_curated)}):"]
        lines += [f"  {line}" for line in self.not_curated]
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# Reading the export
# ---------------------------------------------------------------------------
def read_export(path: str | Path) -> dict[str, RegistryRecord]:
    """The studies of a ClinicalTrials.gov API v2 JSON export by NCT id; a malformed file
    or study is an InputError naming what is missing."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        message = f"{path}: not a readable ClinicalTrials.gov JSON export ({error})"
        raise InputError(message) from None
    studies = data.get("studies") if isinstance(data, dict) else None
    if not isinstance(studies, list):
        raise InputError(f"{path}: expected an object with a 'studies' list (API v2 export)")
    records: dict[str, RegistryRecord] = {}
    for index, study in enumerate(studies):
        where = f"{path}: studies[{index}]"
        section = _get(study, "protocolSection")
        nct_id = _get(section, "identificationModule", "nctId")
        status_module = _get(section, "statusModule")
        overall = _get(status_module, "overallStatus")
        if not isinstance(nct_id, str) or not re.fullmatch(r"NCT\d{8}", nct_id):
            raise InputError(f"{where}: protocolSection.identificationModule.nctId missing")
        if not isinstance(overall, str) or not overall:
            raise InputError(f"{where} ({nct_id}): statusModule.overallStatus missing")
        status = overall.strip().lower()
        if status not in KNOWN_STATUSES:
            raise InputError(
                f"{where} ({nct_id}): overall status {overall!r} is not one trials.yaml takes "
                f"({', '.join(sorted(s.upper() for s in KNOWN_STATUSES))})"
            )
        records[nct_id] = RegistryRecord(
            nct_id=nct_id,
            status=status,
            verified=_date_or_none(_get(status_module, "statusVerifiedDate"), where),
            last_update=_date_or_none(
                _get(status_module, "lastUpdatePostDateStruct", "date"), where
            ),
        )
    return records


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _date_or_none(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", value):
        raise InputError(f"{where}: date {value!r} is not YYYY-MM or YYYY-MM-DD")
    return value


# ---------------------------------------------------------------------------
# Rewriting trials.yaml
# ---------------------------------------------------------------------------
def _scalar(value: str | None) -> str:
    # Status words stay plain; anything else is written as a JSON string, which is a valid
    # YAML double-quoted scalar, so no value can break the line or change type.
    if value is None:
        return "null"
    if value in KNOWN_STATUSES or value in STATUS_BASES:
        return value
    return json.dumps(value, ensure_ascii=False)


def set_trial_fields(text: str, trial_id: str, values: dict[str, str | None]) -> str:
    """``text`` (trials.yaml) with the status lines of ``trial_id`` set to ``values``.

    Existing lines are replaced where they stand; missing ones are inserted in
    ``STATUS_FIELDS`` order after the last status line present. Only single-line scalars are
    written, so nothing else of the entry moves."""
    unknown = set(values) - set(STATUS_FIELDS)
    if unknown:
        raise ValueError(f"not a status field: {', '.join(sorted(unknown))}")
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if _is_entry(line, trial_id)), None)
    if start is None:
        raise KeyError(trial_id)
    end = next((i for i in range(start + 1, len(lines)) if not _inside_entry(lines[i])), len(lines))
    positions = {}
    for i in range(start, end):
        match = _FIELD.match(lines[i])
        if match and match.group("key") in STATUS_FIELDS:
            positions[match.group("key")] = i
    if "status" not in positions:
        raise KeyError(f"{trial_id}: no status line")
    for key in STATUS_FIELDS:
        if key not in values:
            continue
        line = f"    {key}: {_scalar(values[key])}"
        if key in positions:
            lines[positions[key]] = line
        else:
            before = [positions[k] for k in STATUS_FIELDS[: STATUS_FIELDS.index(key)]
                      if k in positions]  # fmt: skip
            at = max(before) + 1
            positions = {k: (p + 1 if p >= at else p) for k, p in positions.items()}
            positions[key] = at
            lines.insert(at, line)
    return "\n".join(lines)


def _is_entry(line: str, trial_id: str) -> bool:
    match = _ENTRY.match(line)
    return bool(match and match.group("id") == trial_id)


def _inside_entry(line: str) -> bool:
    # An entry's lines are indented by four spaces or more (or are blank); the next
    # "  - id:" or a comment/key at the list's own indentation ends it.
    return line.startswith("    ") or line.strip() == ""


def refresh_trials(
    knowledge_dir: str | Path, export: dict[str, RegistryRecord], *, checked: str
) -> RefreshResult:
    """Apply ``export`` to ``knowledge_dir/trials.yaml`` (not written: the new text is in
    ``RefreshResult.text``). A trial is matched by its ``nct_id`` only."""
    date.fromisoformat(checked)
    path = Path(knowledge_dir) / "trials.yaml"
    text = path.read_text(encoding="utf-8")
    trials = yaml.safe_load(text)["trials"]
    result = RefreshResult()
    curated = set()
    for trial in trials:
        nct_id = trial.get("nct_id")
        name = f"{trial['id']} ({nct_id or 'no NCT id'})"
        if not nct_id:
            result.not_in_export.append(f"{name}: no NCT id to look up")
            continue
        curated.add(nct_id)
        record = export.get(nct_id)
        if record is None:
            result.not_in_export.append(name)
            continue
        values: dict[str, str | None] = {
            "status": record.status,
            "status_checked": checked,
            "status_date": record.verified or record.last_update,
            "registry_last_update": record.last_update,
            "status_basis": "registry",
            "status_source": nct_id,
        }
        before = (trial.get("status"), trial.get("status_date"), trial.get("registry_last_update"))
        after = (values["status"], values["status_date"], values["registry_last_update"])
        text = set_trial_fields(text, trial["id"], values)
        if before != after:
            result.changed.append(
                f"{name}: {before[0]} -> {record.status} "
                f"(verified {record.verified or 'not given'}, "
                f"last update {record.last_update or 'not given'})"
            )
        else:
            result.unchanged.append(f"{name}: {record.status}")
    result.not_curated = sorted(set(export) - curated)
    result.text = text
    return result


# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------
def status_summary(trials: list[dict], max_age_months: int | None) -> str:
    """Counts of the curated statuses, the share known, and the trials whose enrolling
    status is undated or older than ``max_age_months`` when it was checked."""
    counts = Counter(trial["status"] for trial in trials)
    total = len(trials)
    known = total - counts.get("unknown", 0)
    lines = [f"{total} trials; registry status known for {known} ({100 * known / total:.0f}%)"]
    lines += [f"  {status}: {counts[status]}" for status in sorted(counts)]
    unknown = [t["id"] for t in trials if t["status"] == "unknown"]
    if unknown:
        lines.append("status unknown: " + ", ".join(unknown))
    stale = [
        f"{t['id']} ({t.get('status_date') or 'undated'})"
        for t in trials
        if t["status"] in ENROLLING and not status_is_current(t, max_age_months)
    ]
    if stale:
        shown = ", ".join(stale)
        lines.append(f"enrolling status undated or stale (treated as unconfirmed): {shown}")
    return "\n".join(lines)


def months_between(earlier: str, later: str) -> int:
    """Whole months from ``earlier`` to ``later`` (YYYY, YYYY-MM or YYYY-MM-DD; a partial
    date counts from its first day)."""
    a, b = (date.fromisoformat(_full_date(value)) for value in (earlier, later))
    return (b.year - a.year) * 12 + (b.month - a.month) - (1 if b.day < a.day else 0)


def status_is_current(trial: dict, max_age_months: int | None) -> bool:
    """True when the trial's status is dated and was no older than ``max_age_months`` when
    it was checked (no limit: dated is enough)."""
    dated, checked = trial.get("status_date"), trial.get("status_checked")
    if not dated or not checked:
        return False
    return max_age_months is None or months_between(dated, checked) <= max_age_months


def _full_date(value: str) -> str:
    return {4: f"{value}-01-01", 7: f"{value}-01"}.get(len(value), value)
