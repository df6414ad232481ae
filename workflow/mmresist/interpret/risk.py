"""Risk: IMS/IMWG consensus genomic high risk and ISS / R-ISS / R2-ISS from the rules.

Thresholds, criteria, points and groups come from ``rules['risk']`` of the knowledge base;
missing data gives ``unknown``, never ``unmet``. ``docs/reasoning.md`` ("Risk") explains.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from mmresist.interpret.alterations import biallelic_evidence, variant_effects
from mmresist.interpret.criteria import (
    MET,
    UNKNOWN,
    UNMET,
    Judgement,
    Status,
    all_status,
    any_status,
    evaluate,
    holds_of,
    status_of,
)
from mmresist.interpret.labs import canonical_value, latest_per_test
from mmresist.interpret.matching import cyto_records, cyto_text, variant_matches
from mmresist.io.clinical import convert_lab
from mmresist.io.tabular import iso_text
from mmresist.knowledge.spec import parse_spec
from mmresist.model import (
    CopyNumberCall,
    Criterion,
    CytogeneticsRow,
    LabRow,
    VariantCall,
)
from mmresist.vocab import VARIANT_ALTERATION_TYPES

STAGING_NOTE = (
    "ISS, R-ISS and R2-ISS are defined and validated at diagnosis (newly diagnosed myeloma); "
    "computed here from the latest available values, they are not a validated stage at "
    "relapse."
)

_OPS = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
}


# ---------------------------------------------------------------------------
# Data the criteria read
# ---------------------------------------------------------------------------
class _Data:
    """The patient's data as the risk criteria read it (a ``CriterionContext``): kept
    variant calls and copy-number calls of every sample (each cited with its date), every
    cytogenetic test, the latest value of each lab test."""

    def __init__(
        self,
        cytogenetics: list[CytogeneticsRow] | None,
        variants: list[VariantCall],
        copy_number: list[CopyNumberCall],
        labs: list[LabRow] | None,
        sample_dates: Mapping[str, str] | None = None,
        purity: Mapping[str, float | None] | None = None,
    ) -> None:
        self.cyto = cyto_records(cytogenetics) if cytogenetics else None
        self.variants = [call for call in variants if not call.filter_reasons]
        self.copy_number = list(copy_number)
        self.latest_labs = latest_per_test(labs) if labs else None
        self.dates = dict(sample_dates or {})
        self.purity = dict(purity or {})

    def _when(self, sample_id: str | None) -> str:
        """'MM-001-DX, 2021-03-04': a sample and its collection date (when known)."""
        when = iso_text(self.dates.get(sample_id or "")) if sample_id else None
        return f"{sample_id}, {when}" if when else str(sample_id)

    def judge(self, criterion: Criterion) -> Judgement:
        status, text = self._leaf(criterion)
        return holds_of(status), text

    def explain_group(
        self, criterion: Criterion, holds: bool | None, parts: list[tuple[Criterion, Judgement]]
    ) -> str:
        return "; ".join(text for _, (_holds, text) in parts)

    def _leaf(self, criterion: Criterion) -> tuple[Status, str]:
        kind = criterion["type"]
        if kind == "lab":
            return self.lab(criterion)
        if kind == "biomarker":
            alteration = criterion["alteration_type"]
            if alteration == "cytogenetic":
                return self.cytogenetic(criterion["spec"])
            if alteration == "biallelic_loss":
                return self.biallelic(criterion["gene"])
            if alteration in ("copy_loss", "amplification"):
                return self.copy(criterion["gene"], alteration)
            return self.variant(criterion["gene"], alteration, criterion.get("spec", "*"))
        raise ValueError(f"risk criterion type '{kind}' is not understood")

    # cytogenetic spec: terms joined by '&', alternatives by '|'
    def cytogenetic(self, spec: str) -> tuple[Status, str]:
        if self.cyto is None:
            return UNKNOWN, "no cytogenetics provided for this patient"
        parsed = parse_spec("cytogenetic", spec)
        term_statuses: list[Status] = []
        used: list[str] = []
        for alternatives in parsed["terms"]:
            statuses: list[Status] = []
            for alt in alternatives:
                records = [r for r in self.cyto if r["abnormality"] == alt["abnormality"]]
                threshold = alt["min_fraction"]
                if not records:
                    statuses.append(UNMET)
                    continue
                for record in records:
                    fraction = record["clone_fraction"]
                    if threshold is None or (fraction is not None and fraction >= threshold):
                        statuses.append(MET)
                        used.append(cyto_text(record))
                    elif fraction is None:
                        statuses.append(UNKNOWN)
                        used.append(f"{cyto_text(record)} (clone fraction not given)")
                    else:
                        statuses.append(UNMET)
                        used.append(f"{cyto_text(record)} (below {threshold * 100:g}%)")
            term_statuses.append(any_status(statuses))
        status = all_status(term_statuses)
        found = "; ".join(dict.fromkeys(used)) or "none of these abnormalities reported"
        return status, f"cytogenetics: {found}"

    def variant(self, gene: str, alteration_type: str, spec: str) -> tuple[Status, str]:
        """Kept variants of every sample that the biomarkers.tsv matcher of this type and
        spec accepts, each with its sample and date."""
        if alteration_type not in VARIANT_ALTERATION_TYPES:
            raise ValueError(f"risk criterion alteration_type '{alteration_type}' not understood")
        row = {"alteration_type": alteration_type, "parsed": parse_spec(alteration_type, spec)}
        hits = [c for c in self.variants if c.gene == gene and variant_matches(row, c)]
        if not hits:
            others = [c for c in self.variants if c.gene == gene and variant_effects(c)]
            if others:
                shown = ", ".join(sorted({c.protein_change or c.hgvsc or "?" for c in others}))
                return UNMET, (
                    f"no kept {gene} variant of this kind ({alteration_type} {spec}); "
                    f"other {gene} variants: {shown}"
                )
            return UNMET, f"no kept {gene} variant of this kind ({alteration_type} {spec})"
        text = ", ".join(
            f"{call.gene} {call.protein_change or call.hgvsc or call.consequence} in "
            f"{self._when(call.sample_id)}"
            + (f" (VAF {call.vaf:.2f})" if call.vaf is not None else "")
            for call in sorted(hits, key=lambda c: (self.dates.get(c.sample_id, ""), c.pos))
        )
        return MET, text

    def copy(self, gene: str, alteration_type: str) -> tuple[Status, str]:
        wanted = (
            ("loss", "homozygous_deletion")
            if alteration_type == "copy_loss"
            else ("amplification",)
        )
        calls = [c for c in self.copy_number if c.gene == gene]
        if not calls:
            return UNKNOWN, f"no copy-number call for {gene}"
        hits = [c for c in calls if c.call in wanted]
        shown = ", ".join(f"{c.call} in {self._when(c.sample_id)}" for c in hits or calls)
        return (MET, f"{gene} {shown}") if hits else (UNMET, f"{gene} copy number: {shown}")

    def biallelic(self, gene: str) -> tuple[Status, str]:
        """Both alleles hit within one sample (two samples' hits are not combined)."""
        samples = sorted(
            {c.sample_id for c in self.copy_number if c.gene == gene}
            | {c.sample_id for c in self.variants if c.gene == gene},
            key=lambda s: (self.dates.get(s, ""), s),
        )
        for sample in samples:
            cn_calls = sorted(
                (c for c in self.copy_number if c.gene == gene and c.sample_id == sample),
                key=lambda c: c.call,
            )
            lof = sorted(
                (
                    c
                    for c in self.variants
                    if c.gene == gene and c.sample_id == sample and "lof" in variant_effects(c)
                ),
                key=lambda c: (c.pos, c.alt),
            )
            found = biallelic_evidence(gene, cn_calls, lof, purity=self.purity.get(sample))
            if found:
                return MET, f"{found[0]}: {found[1]['detail']} ({self._when(sample)})"
        cn_all = [c for c in self.copy_number if c.gene == gene]
        if not cn_all:
            return UNKNOWN, f"no copy-number call for {gene}"
        calls = ", ".join(f"{c.call} in {self._when(c.sample_id)}" for c in cn_all)
        return UNMET, f"{gene} copy number: {calls}; no second hit"

    def lab(self, criterion: Criterion) -> tuple[Status, str]:
        """The latest value (``interpret.labs``) against the rule's threshold, both in the
        test's canonical unit."""
        test, unit = criterion["test"], criterion["unit"]
        if self.latest_labs is None:
            return UNKNOWN, f"{test}: no labs provided"
        row = self.latest_labs.get(test)
        if row is None:
            return UNKNOWN, f"{test}: no value"
        threshold, canonical = convert_lab(test, float(criterion["value"]), unit)
        converted = canonical_value(row)
        if converted is None:
            return UNKNOWN, f"{test}: latest value in {row.get('unit')}, cannot be converted"
        value, row_unit = converted
        status = MET if _OPS[criterion["op"]](value, threshold) else UNMET
        shown = f"{threshold:g} {canonical}"
        return status, (
            f"{test} {value:g} {row_unit} on "
            f"{iso_text(row['date'])} (latest; criterion {criterion['op']} {shown})"
        )


def _double_hit(rule: Mapping | None, data: _Data) -> dict | None:
    """report.json ``risk.double_hit``: met when any criterion holds, unmet when every one
    was assessed and fails, else unknown; None when the rules define no double-hit."""
    if rule is None:
        return None
    criteria = _judged(rule["criteria"], data)
    statuses = [c["status"] for c in criteria]
    status = MET if MET in statuses else UNMET if all(s == UNMET for s in statuses) else UNKNOWN
    return {
        "status": status,
        "title": rule["title"],
        "criteria": criteria,
        "note": rule.get("note"),
        "source": _source(rule),
    }


def _judged(criteria: list[Criterion], data: _Data) -> list[dict[str, Any]]:
    """Each criterion with its status and the evidence it rests on."""
    judged = []
    for criterion in criteria:
        status, evidence = _evaluate(criterion, data)
        judged.append(
            {
                "id": criterion["id"],
                "label": criterion["text"],
                "status": status,
                "evidence": evidence,
            }
        )
    return judged


def _evaluate(criterion: Criterion, data: _Data) -> tuple[Status, str]:
    holds, text = evaluate(criterion, data)
    return status_of(holds), text


def _source(rule: Mapping) -> list[str]:
    source = rule.get("source") or []
    return [source] if isinstance(source, str) else list(source)


# ---------------------------------------------------------------------------
# Staging
# ---------------------------------------------------------------------------
def _iss(rule: Mapping, data: _Data) -> dict:
    evidence: list[str] = []
    statuses: dict[str, Status] = {}
    missing: set[str] = set()
    for stage in rule["stages"]:
        if stage["criteria"]:
            parts = [_evaluate(c, data) for c in stage["criteria"]]
            statuses[stage["stage"]] = all_status(s for s, _ in parts)
            evidence.extend(text for _, text in parts)
            missing |= {
                c["test"]
                for c, (s, _) in zip(stage["criteria"], parts, strict=True)
                if s == UNKNOWN
            }
    met = [name for name, status in statuses.items() if status == MET]
    fallback = [s["stage"] for s in rule["stages"] if not s["criteria"]]
    if met:
        stage = met[0]
    elif fallback and all(status == UNMET for status in statuses.values()):
        stage = fallback[0]
    else:
        stage = None
    possible = [name for name, status in statuses.items() if status != UNMET]
    if stage is None and fallback:
        possible += fallback
    return {
        "stage": stage,
        "reason": None if stage else "not computable: no value for " + ", ".join(sorted(missing)),
        "possible": sorted(possible) if stage is None else [stage],
        "evidence": list(dict.fromkeys(evidence)),
        "source": _source(rule),
    }


LDH_REASON = "LDH above the upper limit of normal: labs.tsv carries no upper limit of normal"


def _r_iss(rule: Mapping, iss: dict, data: _Data) -> dict:
    hr_status, hr_text = data.cytogenetic(rule["high_risk_cytogenetics"])
    factor: dict[str, Status] = {"high_risk_cytogenetics": hr_status, "ldh_high": UNKNOWN}
    iss_stages = iss["possible"]

    def requirement(requires: Mapping) -> Status:
        parts: list[Status] = []
        if "iss" in requires:
            hits = [stage in requires["iss"] for stage in iss_stages]
            parts.append(MET if all(hits) else UNMET if not any(hits) else UNKNOWN)
        for key in ("high_risk_cytogenetics", "ldh_high"):
            if key in requires:
                wanted = requires[key]
                status = factor[key]
                if status == UNKNOWN:
                    parts.append(UNKNOWN)
                else:
                    parts.append(MET if (status == MET) == bool(wanted) else UNMET)
        if "any_of" in requires:
            parts.append(any_status(factor[key] for key in requires["any_of"]))
        return all_status(parts)

    statuses = {s["stage"]: requirement(s["requires"]) for s in rule["stages"] if s["requires"]}
    fallback = [s for s in rule["stages"] if not s["requires"]]
    chosen = next((s for s in rule["stages"] if statuses.get(s["stage"]) == MET), None)
    if chosen is None and fallback and all(v == UNMET for v in statuses.values()):
        chosen = fallback[0]
    evidence = [f"ISS {iss['stage'] or 'not computable'}", hr_text, LDH_REASON]
    reason = None
    if chosen is None:
        blockers = []
        if iss["stage"] is None:
            blockers.append("ISS not computable")
        if hr_status == UNKNOWN:
            blockers.append("cytogenetics missing")
        blockers.append("LDH status unknown")
        reason = "not computable: " + "; ".join(blockers)
    return {
        "stage": chosen["stage"] if chosen else None,
        "five_year_os_percent": chosen.get("five_year_os_percent") if chosen else None,
        "reason": reason,
        "evidence": evidence,
        "note": rule.get("note"),
        "source": _source(rule),
    }


def _r2_iss(rule: Mapping, iss: dict, data: _Data) -> dict:
    options: list[list[float]] = []  # per factor: the points it may add
    evidence = []
    iss_factors = {"iss_ii": "II", "iss_iii": "III"}
    iss_points = {
        stage: sum(f["points"] for f in rule["points"] if iss_factors.get(f["factor"]) == stage)
        for stage in iss["possible"]
    }
    options.append(sorted(set(iss_points.values())))
    evidence.append(f"ISS {iss['stage'] or 'not computable'}")
    unknown = []
    for factor in rule["points"]:
        if factor["factor"] in iss_factors:
            continue
        if "spec" in factor:
            status, text = data.cytogenetic(factor["spec"])
            evidence.append(f"{factor['text']}: {status} ({text})")
        else:
            status = UNKNOWN  # ldh_high: no upper limit of normal in labs.tsv
            evidence.append(f"{factor['text']}: unknown (no upper limit of normal given)")
        if status == UNKNOWN:
            unknown.append(factor["text"])
        points = factor["points"]
        options.append({MET: [points], UNMET: [0.0], UNKNOWN: [0.0, points]}[status])
    totals = sorted({round(sum(combo), 2) for combo in itertools.product(*options)})

    def group_of(total: float) -> dict | None:
        return next((g for g in rule["groups"] if g["min"] <= total <= g["max"]), None)

    groups = {g["group"]: g for g in (group_of(t) for t in totals) if g}
    if len(groups) == 1 and len(totals) > 0 and all(group_of(t) for t in totals):
        group = next(iter(groups.values()))
        return {
            "stage": group["group"],
            "label": group["label"],
            "points": totals[0] if len(totals) == 1 else None,
            "points_range": [totals[0], totals[-1]],
            "reason": None,
            "evidence": evidence,
            "note": rule.get("note"),
            "source": _source(rule),
        }
    return {
        "stage": None,
        "label": None,
        "points": None,
        "points_range": [totals[0], totals[-1]] if totals else None,
        "reason": "not computable: unknown "
        + ", ".join(unknown + ([] if iss["stage"] else ["ISS stage"]))
        + f"; possible groups {', '.join(sorted(groups))}",
        "evidence": evidence,
        "note": rule.get("note"),
        "source": _source(rule),
    }


# ---------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------
def assess_risk(
    *,
    cytogenetics: list[CytogeneticsRow] | None,
    variants: list[VariantCall],
    copy_number: list[CopyNumberCall],
    labs: list[LabRow] | None,
    rules: dict,
    sample_dates: Mapping[str, str] | None = None,
    purity: Mapping[str, float | None] | None = None,
) -> dict:
    """The report.json ``risk`` section. ``rules`` is ``load_knowledge(...).rules['risk']``.

    ``variants`` and ``copy_number`` may come from every sample of the patient;
    ``sample_dates`` (sample id → collection date) dates each item the criteria cite and
    ``purity`` (sample id → purity) lets a VAF show loss of the other allele."""
    data = _Data(cytogenetics, variants or [], copy_number or [], labs, sample_dates, purity)
    high = rules["high_risk"]
    criteria = [{**item, "source": _source(high)} for item in _judged(high["criteria"], data)]
    statuses = [c["status"] for c in criteria]
    if MET in statuses:
        high_risk: bool | None = True
        basis = "high risk: " + ", ".join(c["id"] for c in criteria if c["status"] == MET) + " met"
    elif all(s == UNMET for s in statuses):
        high_risk = False
        basis = "no high-risk criterion met; every criterion could be assessed"
    else:
        high_risk = None
        basis = (
            "not determinable: no criterion met, but "
            + ", ".join(c["id"] for c in criteria if c["status"] == UNKNOWN)
            + " could not be assessed"
        )
    iss = _iss(rules["iss"], data)
    double = _double_hit(rules.get("double_hit"), data)
    return {
        "double_hit": double,
        "high_risk": high_risk,
        "basis": basis,
        "definition": {"id": high["id"], "title": high["title"], "note": high.get("note")},
        "criteria": criteria,
        "staging": {
            "iss": iss,
            "r_iss": _r_iss(rules["r_iss"], iss, data),
            "r2_iss": _r2_iss(rules["r2_iss"], iss, data),
            "note": STAGING_NOTE,
        },
    }
