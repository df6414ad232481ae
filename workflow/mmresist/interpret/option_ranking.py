"""Ordering of therapy options: approval and label, evidence tier, benefit, never-offer rules.

The facts come from ``approvals.tsv`` and ``benefit.tsv`` and the policy from
``option_ranking.yaml`` (``Knowledge.regimen_evidence``); ``docs/therapy-options.md``
describes the order and each rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mmresist.knowledge.regimen_evidence import REGIONS
from mmresist.vocab import DRUG_CLASS_LABELS

if TYPE_CHECKING:
    from mmresist.knowledge.load import Knowledge

# The therapy history (model.TherapyHistory) and patients.tsv record (model.PatientInfo)
# are read, never written, here.
History = Mapping[str, Any]

__all__ = [
    "apply_approval",
    "apply_benefit",
    "benefit_row",
    "head_to_head",
    "label_check",
    "list_part",
    "never_offer",
    "rank",
    "ranking",
    "requirement_met",
    "requirement_text",
    "salvage_asct",
    "sort_key",
    "weights",
]

DESIGN_TEXT = {
    "randomised_phase3": "randomised phase 3",
    "randomised_phase2": "randomised phase 2",
    "single_arm_registrational": "single-arm registrational",
    "phase1_2": "phase 1/2",
}
STATUS_TEXT = {
    "approved": "approved",
    "withdrawn": "withdrawn",
    "not_approved": "not approved",
    "investigational": "not approved (investigational)",
}


def ranking(knowledge: Knowledge) -> dict:
    """option_ranking.yaml of a loaded ``Knowledge``."""
    return knowledge.regimen_evidence["ranking"]


def weights(knowledge: Knowledge) -> dict:
    """The named score weights (option_ranking.yaml ``weights``)."""
    return ranking(knowledge)["weights"]


def _approval_row(knowledge: Knowledge, regimen: str, region: str) -> dict | None:
    for row in knowledge.regimen_evidence["approvals"]:
        if row["regimen"] == regimen and row["region"] == region:
            return row
    return None


def benefit_row(knowledge: Knowledge, regimen: str) -> dict | None:
    for row in knowledge.regimen_evidence["benefit"]:
        if row["regimen"] == regimen:
            return row
    return None


# -- label -------------------------------------------------------------------------------------


def requirement_met(requirement: dict, history: History, knowledge: Knowledge) -> bool:
    kind, target, count = requirement["kind"], requirement["target"], requirement["count"]
    drugs = history.get("exposed_drugs" if kind == "exposed" else "refractory_drugs") or []
    if target in (knowledge.drugs or {}):
        return target in drugs
    matching = [d for d in drugs if target in knowledge.drug_classes(d)]
    return len(matching) >= count


def requirement_text(requirement: dict) -> str:
    target = DRUG_CLASS_LABELS.get(requirement["target"], requirement["target"].replace("_", " "))
    count = f"at least {requirement['count']} drugs of the " if requirement["count"] > 1 else ""
    verb = "exposed to" if requirement["kind"] == "exposed" else "refractory to"
    return f"{verb} {count}{target}{' class' if count else ''}"


def label_check(row: dict, history: History, knowledge: Knowledge) -> tuple[str, list[str]]:
    """``(on_label | off_label | unknown, reasons)`` of an approved label row for the
    patient's therapy history: prior lines (distinct lines, the ongoing one included) and
    the exposures and refractoriness the label requires or excludes."""
    reasons: list[str] = []
    unknown: list[str] = []
    prior = int(history.get("line_count") or 0)
    low, high = row["min_prior_lines"], row["max_prior_lines"]
    if low == "unknown":
        unknown.append("the label's minimum number of prior lines is not curated")
    elif low is not None and prior < low:
        reasons.append(f"the label needs at least {low} prior lines; the patient has had {prior}")
    if high == "unknown":
        unknown.append("the label's maximum number of prior lines is not curated")
    elif high is not None and prior > high:
        reasons.append(f"the label covers at most {high} prior lines; the patient has had {prior}")
    for column, wanted in (("required_prior", True), ("excluded_prior", False)):
        requirements = row[column]
        if requirements == "unknown":
            unknown.append(f"the label's {column.replace('_', ' ')} conditions are not curated")
            continue
        for requirement in requirements:
            met = requirement_met(requirement, history, knowledge)
            if met != wanted:
                text = requirement_text(requirement)
                reasons.append(
                    f"the label requires the patient {text}"
                    if wanted
                    else f"the label excludes patients {text}"
                )
    if reasons:
        return "off_label", reasons
    if unknown:
        return "unknown", unknown
    return "on_label", []


def apply_approval(option: dict, history: History, knowledge: Knowledge, region: str) -> None:
    """Set ``approval`` and the approval group of an option (and its status: never
    ``standard`` when withdrawn, not approved or outside the label)."""
    if region not in REGIONS:
        raise ValueError(f"approval region must be one of {', '.join(REGIONS)}")
    row = _approval_row(knowledge, option["regimen"], region)
    if row is None:
        # Not curated for this region: fall back on the drugs' own status, never on_label.
        group = {"standard": "label_unknown"}.get(option["status"], option["status"])
        status = {"standard": "approved", "off_label": "not_approved"}.get(
            option["status"], "investigational"
        )
        reasons = [f"approval of this regimen is not curated for the {region}; check the label"]
        option["approval"] = _approval(region, status, None, "unknown", reasons, False)
        option["_group"] = group
        option["rationale"].append(
            {"rule": "approval", "text": f"Approval ({region}): {reasons[0]}.", "sources": []}
        )
        return
    status = row["status"]
    if status == "approved":
        label, reasons = label_check(row, history, knowledge)
    else:
        label = "off_label"
        reasons = [
            f"{STATUS_TEXT[status]} in the {region}" + (f" ({row['date']})" if row["date"] else "")
        ]
    if row["note"] and status != "approved":
        reasons.append(row["note"])
    if not row["verified"]:
        reasons.append("approval status and label conditions from unverified curation")
    option["approval"] = _approval(region, status, row["date"], label, reasons, row["verified"])
    if status == "investigational":
        group = "investigational"
    elif status == "approved" and label == "on_label":
        group = "on_label"
    elif status == "approved" and label == "unknown":
        group = "label_unknown"
    else:
        group = "off_label"
    option["_group"] = group
    if group == "investigational":
        option["status"] = "investigational"
    elif group == "off_label":
        option["status"] = "off_label"
    elif option["status"] == "off_label":
        option["status"] = "standard"
    label_text = {"on_label": "on label", "off_label": "off label", "unknown": "label fit unknown"}
    text = f"Approval ({region}): {STATUS_TEXT[status]}"
    text += f" {row['date']}" if row["date"] and status == "approved" else ""
    text += f"; {label_text[label]}"
    text += f": {'; '.join(reasons)}." if reasons else "."
    if group in ("off_label", "investigational"):
        text += " Ranked after every on-label option."
    sources = [*row["sources"], row["regulator_reference"]]
    option["rationale"].append({"rule": "approval", "text": text, "sources": sources})


def _approval(
    region: str, status: str, date: str | None, label: str, reasons: list[str], verified: bool
) -> dict:
    return {
        "region": region,
        "status": status,
        "date": date,
        "label": label,
        "reasons": reasons,
        "verified": verified,
    }


# -- benefit -----------------------------------------------------------------------------------


def _band(row: dict, knowledge: Knowledge) -> str:
    bands = ranking(knowledge)["benefit_bands"]
    if row["value"] is None:
        return "not_curated"
    if not row["verified"]:
        return "unverified"
    if row["primary_endpoint_met"] is False:
        return "not_shown"
    bounds = bands[row["endpoint"]]
    value = row["value"]
    if row["endpoint"].endswith("_hr"):
        return (
            "large"
            if value <= bounds["large"]
            else "moderate"
            if value <= bounds["moderate"]
            else "small"
        )
    return (
        "large"
        if value >= bounds["large"]
        else "moderate"
        if value >= bounds["moderate"]
        else "small"
    )


def apply_benefit(option: dict, knowledge: Knowledge) -> None:
    """Set ``benefit``, the evidence tier and the benefit band of an option, each with a
    rationale item (a regimen without a curated trial comes after every tier)."""
    policy = ranking(knowledge)
    tiers = policy["evidence_tiers"]["order"]
    bands = policy["benefit_bands"]["order"]
    row = benefit_row(knowledge, option["regimen"])
    if row is None:
        option["benefit"] = None
        option["_tier"], option["_band"] = len(tiers), len(bands)
        return
    band = _band(row, knowledge)
    option["_tier"], option["_band"] = tiers.index(row["design"]), bands.index(band)
    option["benefit"] = {
        "trial": row["trial"],
        "nct_id": row["nct_id"],
        "design": row["design"],
        "comparator": row["comparator"],
        "endpoint": row["endpoint"],
        "value": row["value"],
        "value_text": row["value_text"],
        "population": row["population"],
        "band": band,
        "verified": row["verified"],
        "sources": row["sources"],
    }
    registry = f", {row['nct_id']}" if row["nct_id"] else ""
    versus = f" versus {row['comparator']}" if row["comparator"] else ""
    option["rationale"].append(
        {
            "rule": "evidence_tier",
            "text": f"Evidence tier {tiers.index(row['design']) + 1} of {len(tiers)}: "
            f"{DESIGN_TEXT[row['design']]} ({row['trial']}{registry}{versus}; "
            f"{row['population']}).",
            "sources": [*row["sources"], *policy["evidence_tiers"]["source"]],
        }
    )
    note = {
        "unverified": " The number is not verified, so it ranks after every verified result "
        "of its tier.",
        "not_curated": " No number is curated.",
        "not_shown": " The trial missed its primary endpoint: no benefit over its comparator "
        "was shown, so it ranks after every other result of its tier.",
    }.get(band, "")
    option["rationale"].append(
        {
            "rule": "benefit",
            "text": f"Benefit: {row['value_text']} (band {band.replace('_', ' ')}).{note}",
            "sources": [*row["sources"], *policy["benefit_bands"]["source"]],
        }
    )


# -- never offer -------------------------------------------------------------------------------


def never_offer(option: dict, history: History, knowledge: Knowledge) -> None:
    """Demote, with the reason, a regimen that is the line being given now, holds a drug the
    patient could not tolerate, or is a CAR-T product the patient relapsed after."""
    glucocorticoid = "glucocorticoid"
    core = {d for d in option["drugs"] if glucocorticoid not in option["_drug_classes"].get(d, [])}
    for entry in ranking(knowledge)["never_offer"]:
        text = None
        applies = entry["applies_to"]
        if applies == "current_line":
            current = history.get("current_line")
            if current and core and core <= set(current.get("drugs") or []):
                text = entry["text"].format(
                    regimen=option["regimen"],
                    line=f"line {current['line']}, {current['regimen']}",
                    start=current.get("start_date") or "an unrecorded date",
                )
        elif applies == "intolerant":
            hit = [d for d in option["drugs"] if d in (history.get("intolerant_drugs") or [])]
            if hit:
                text = entry["text"].format(drugs=", ".join(hit))
        elif applies == "car_t_relapse":
            for relapse in history.get("car_t_relapses") or []:
                if relapse["drug"] in option["drugs"]:
                    text = entry["text"].format(
                        drug=relapse["drug"],
                        infusion=relapse.get("infusion_date") or "date not recorded",
                        progression=relapse.get("progression_date") or "date not recorded",
                    )
                    break
        if text:
            option["_never"] = True
            option["rationale"].append(
                {
                    "rule": "never_offer",
                    "text": f"{text.strip()} Ranked after every other option.",
                    "sources": list(entry["source"]),
                }
            )


# -- salvage transplant ------------------------------------------------------------------------


def _first_line(history: History) -> dict | None:
    lines = sorted(history.get("lines") or [], key=lambda line: line["line"])
    return lines[0] if lines else None


def _phases(line: dict) -> list[dict]:
    return list(line.get("phases") or [])


def _had_transplant(line: dict | None) -> bool:
    if line is None:
        return False
    if any(phase.get("phase") == "transplant" for phase in _phases(line)):
        return True
    return "ASCT" in (line.get("regimen") or "").upper().replace("-", "")


def _maintenance(line: dict | None) -> bool | None:
    """Whether the first line had a maintenance phase (None: the history does not say)."""
    if line is None or not _phases(line):
        return None
    return any(phase.get("phase") == "maintenance" for phase in _phases(line))


def _remission_months(line: dict | None, patient: History | None) -> float | None:
    """patients.tsv ``first_remission_months``, else from the transplant phase's start to
    the first line's progression; None when neither is recorded."""
    if patient and patient.get("first_remission_months") is not None:
        return float(patient["first_remission_months"])
    if line is None or not line.get("progression_date"):
        return None
    from datetime import date

    for phase in _phases(line):
        if phase.get("phase") == "transplant" and phase.get("start_date"):
            start = date.fromisoformat(str(phase["start_date"]))
            end = date.fromisoformat(str(line["progression_date"]))
            return round((end - start).days / 30.44, 1)
    return None


def salvage_asct(
    option: dict, history: History, patient: History | None, knowledge: Knowledge
) -> bool:
    """Judge salvage autologous transplant; False drops the option (not a candidate).

    A candidate is transplant-eligible with a first remission of at least the consensus
    months (more with maintenance); eligibility or remission not recorded gives
    ``needs_assessment``, never ``standard``."""
    rule = ranking(knowledge)["salvage_asct"]
    if option["regimen"] != rule["regimen"]:
        return True
    sources = list(rule["source"])
    if history.get("triple_class_refractory"):
        option["rationale"].append(
            {"rule": "salvage_asct", "text": rule["text_refractory"].strip(), "sources": sources}
        )
        return False
    eligible = (patient or {}).get("transplant_eligible")
    if eligible is False:
        return False
    first = _first_line(history)
    missing: list[str] = []
    text = None
    if not _had_transplant(first):
        if eligible is None:
            missing.append("transplant eligibility")
        else:
            text = rule["text_no_prior"]
    else:
        months = _remission_months(first, patient)
        maintenance = _maintenance(first)
        if months is None:
            missing.append("the length of the first remission")
        else:
            short = rule["months_without_maintenance"]
            long = rule["months_with_maintenance"]
            threshold = {True: long, False: short}.get(maintenance)  # type: ignore[arg-type]
            said = {True: "with maintenance", False: "without maintenance"}.get(
                maintenance,  # type: ignore[arg-type]
                "maintenance not recorded",
            )
            if months < (threshold if threshold is not None else short):
                return False
            if threshold is None and months < long:
                missing.append("whether maintenance followed the first transplant")
            if eligible is None:
                missing.append("transplant eligibility")
            if not missing:
                text = rule["text_candidate"].format(
                    months=months, maintenance=said, threshold=threshold or long
                )
    if missing:
        option["status"] = "needs_assessment"
        option["_group"] = "needs_assessment"
        option["rationale"].append(
            {
                "rule": "salvage_asct",
                "text": rule["text_unknown"].format(missing=" and ".join(missing)).strip(),
                "sources": sources,
            }
        )
        return True
    option["rationale"].append(
        {
            "rule": "salvage_asct",
            "text": (text or "").strip(),
            "sources": [*sources, *rule["randomised_evidence"]],
        }
    )
    return True


# -- order -------------------------------------------------------------------------------------


def list_part(option: dict) -> str:
    """The part of the list an option belongs to (each is cut at ``max_options`` alone)."""
    if option.get("_never"):
        return "never_offer"
    group = option.get("_group", "label_unknown")
    return group if group in ("off_label", "investigational") else "offered"


def sort_key(option: dict, knowledge: Knowledge) -> tuple:
    """Never-offer last; then approval group, patient-specific contraindication, evidence
    tier, benefit band and score (high first). Options equal on all of these share a rank."""
    groups = ranking(knowledge)["approval_groups"]["order"]
    compromised = bool(option.get("_compromised"))
    # A contraindicated option, or one whose pivotal trial excluded the patient, cannot
    # claim that trial's benefit: it follows the unaffected options of its group and is
    # ordered by its patient-specific score before tier and benefit.
    return (
        bool(option.get("_never")),
        groups.index(option.get("_group", "label_unknown")),
        compromised,
        -option["score"] if compromised else 0,
        option.get("_tier", 99),
        option.get("_band", 99),
        -option["score"],
    )


# -- ranking -----------------------------------------------------------------------------------


def head_to_head(options: list[dict], knowledge: Knowledge) -> dict[int, tuple]:
    """The sort key of each option (by ``id``), with one correction: an option that lost a
    randomised trial to another listed option ranks right after the winner when it would
    otherwise rank above it or beside it. The winner counts only when the patient can take it
    as easily (not compromised or never-offered, an approval group no worse) and its trial is
    verified and met its primary endpoint; the loser gets a rationale item saying so."""
    groups = ranking(knowledge)["approval_groups"]["order"]
    keys = {id(o): (*sort_key(o, knowledge), 0) for o in options}
    by_regimen = {o["regimen"]: o for o in options}
    beaten: list[tuple[dict, dict]] = []
    for winner in options:
        if winner.get("_never") or winner.get("_compromised"):
            continue
        row = benefit_row(knowledge, winner["regimen"])
        if row is None or not row["verified"] or row["primary_endpoint_met"] is not True:
            continue
        for name in row["comparator_regimens"]:
            loser = by_regimen.get(name)
            if loser is None or loser is winner:
                continue
            group = groups.index(winner.get("_group", "label_unknown"))
            if group > groups.index(loser.get("_group", "label_unknown")):
                continue
            beaten.append((winner, loser))
            registry = f", {row['nct_id']}" if row["nct_id"] else ""
            loser["rationale"].append(
                {
                    "rule": "head_to_head",
                    "text": f"In a randomised trial {winner['regimen']} did better than "
                    f"{row['comparator']} ({row['trial']}{registry}: {row['value_text']}); "
                    f"{name} ranks after {winner['regimen']}.",
                    "sources": list(row["sources"]),
                }
            )
    # A chain (BVd over DVd over Vd) settles in as many passes as it is long.
    for _ in range(len(beaten)):
        moved = False
        for winner, loser in beaten:
            floor = (*keys[id(winner)][:-1], keys[id(winner)][-1] + 1)
            if keys[id(loser)] < floor:
                keys[id(loser)], moved = floor, True
        if not moved:
            break
    return keys


def rank(options: list[dict], max_options: int, knowledge: Knowledge) -> list[dict]:
    """Order options (``option_ranking.sort_key``: never-offer last, then approval group,
    contraindication, evidence tier, benefit band, score; then ``head_to_head``) and finish
    the shape.

    Options equal on every one of these share a rank ("1, 1, 3"): the alphabetical order
    inside a rank is only for stable output, not a preference."""
    keys = head_to_head(options, knowledge)
    options.sort(key=lambda o: (keys[id(o)], o["regimen"].casefold()))
    result: list[dict] = []
    previous_key = None
    shared_rank = 0
    # ``max_options`` applies to each part of the list on its own (the options that can be
    # offered; off-label; trial-only; never-offer), so demoted options stay visible with
    # their reasons after the ones offered.
    shown: dict[str, int] = {}
    cut: set[str] = set()
    for option in options:
        key = keys[id(option)]
        part = list_part(option)
        if part in cut:
            continue
        if key != previous_key:
            if shown.get(part, 0) >= max(0, max_options):
                cut.add(part)  # the cut falls between ranks, never inside one
                continue
            shared_rank, previous_key = len(result) + 1, key
        shown[part] = shown.get(part, 0) + 1
        sources: list[str] = []
        for item in option["rationale"]:
            for source in item["sources"]:
                if source not in sources:
                    sources.append(source)
        result.append(
            {
                "rank": shared_rank,
                "regimen": option["regimen"],
                "drugs": option["drugs"],
                "drug_classes": option["drug_classes"],
                "status": option["status"],
                "score": option["score"],
                "approval": option.get("approval"),
                "benefit": option.get("benefit"),
                "rationale": option["rationale"],
                "cautions": list(dict.fromkeys(option["cautions"])),
                "evidence_level": _evidence_level(option),
                "sources": sources,
            }
        )
    return result


def _evidence_level(option: dict) -> str:
    """'standard' for an approved regimen resting on its pivotal trial, else the best CIViC
    level among finding-based items, else 'investigational'."""
    if option["status"] == "standard":
        return "standard"
    levels = sorted(option["levels"], key="ABCDE".index)
    return levels[0] if levels else "investigational"
