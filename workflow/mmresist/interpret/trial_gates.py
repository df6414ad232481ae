"""Whether a trial can take the patient at all: its registry status, and resistance findings
against the trial's own target. ``interpret.trials`` adds both to each trial's criteria."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmresist.interpret.criteria import UNKNOWN, UNMET, Status
from mmresist.knowledge.trial_status import ENROLLING, months_between
from mmresist.model import Finding
from mmresist.vocab import DRUG_CLASS_LABELS

if TYPE_CHECKING:
    from mmresist.knowledge.load import Knowledge

__all__ = ["registry_status", "target_findings"]

# Genes whose product is the drug's own target (genes.tsv role): a resistance finding there
# argues against the trial's target itself.
TARGET_ROLES = frozenset({"immunotherapy_target", "drug_target"})
# Evidence levels at which a target finding is a definite mismatch without biallelic loss.
DEFINITE_LEVELS = frozenset({"A", "B", "C"})

STATUS_WORDS = {
    "not_yet_recruiting": "not yet recruiting",
    "recruiting": "recruiting",
    "enrolling_by_invitation": "enrolling by invitation",
    "active_not_recruiting": "active, not recruiting",
    "suspended": "suspended",
    "terminated": "terminated",
    "completed": "completed",
    "withdrawn": "withdrawn",
}
BASIS_WORDS = {
    "registry": "registry record",
    "registry_mirror": "registry mirror",
    "sponsor": "sponsor",
    "publication": "publication",
    "regulator": "regulator",
}


def registry_status(trial: dict, max_age_months: int | None) -> tuple[bool | None, str]:
    """(True: enrolling, False: closed, None: unknown or unconfirmed, sentence). An enrolling
    status counts only when its source is dated and was no older than the status policy
    allows when it was checked; otherwise it is unconfirmed, never taken as open."""
    status = trial.get("status") or "unknown"
    checked = trial.get("status_checked")
    dated = trial.get("status_date")
    basis = BASIS_WORDS.get(trial.get("status_basis") or "", "source")
    seen = " ".join(str(trial.get("status_as_seen") or "").split())
    if status == "unknown":
        note = f" (seen: {seen})" if seen and seen != "not seen" else ""
        return None, f"Registry status: registry status unknown{note}; confirm in the registry"
    words = STATUS_WORDS.get(status, status.replace("_", " "))
    where = f"{basis} of {dated}" if dated else f"undated {basis}"
    said = f"{words} ({where}, checked {checked})"
    if status not in ENROLLING:
        return False, f"Registry status: {said}: not enrolling, listed as evidence only"
    limit = max_age_months
    if not dated or not checked:
        return None, f"Registry status: {said}: undated, so recruitment is unconfirmed"
    age = months_between(dated, checked)
    if limit is not None and age > limit:
        return None, (
            f"Registry status: {said}: {age} months old when checked (more than {limit}), "
            "so recruitment is unconfirmed"
        )
    return True, f"Registry status: {said}"


def target_findings(
    trial: dict, knowledge: Knowledge, findings: list[Finding]
) -> list[tuple[Status, str]]:
    """Resistance findings against the trial's own target: a finding in a gene whose product
    the trial's drugs target (genes.tsv role) that names one of the trial's drug classes.
    Loss of both alleles, or evidence at level A-C, is unmet; a single-allele finding at
    level D or E leaves the criterion unknown."""
    classes = set(trial.get("drug_classes") or [])
    outcomes: list[tuple[Status, str]] = []
    seen: set[str] = set()
    for finding in findings:
        if finding.get("implication") != "resistance" or finding["biomarker_id"] in seen:
            continue
        gene = knowledge.genes.get(finding["gene"]) or {}
        if gene.get("role") not in TARGET_ROLES:
            continue
        shared = sorted(classes & set(finding.get("drug_classes") or []))
        if not shared:
            continue
        seen.add(finding["biomarker_id"])
        biallelic = _biallelic(finding, knowledge)
        definite = biallelic or finding["evidence_level"] in DEFINITE_LEVELS
        names = ", ".join(DRUG_CLASS_LABELS.get(c, c.replace("_", " ")) for c in shared)
        shown = _finding_words(finding)
        label = f"No resistance finding against the trial's target ({names})"
        state = "both alleles lost" if biallelic else f"evidence level {finding['evidence_level']}"
        if definite:
            text = f"{label}: excluded, {shown} ({finding['biomarker_id']}; {state})"
            outcomes.append((UNMET, text))
        else:
            text = (
                f"{label}: {shown} ({finding['biomarker_id']}; {state}, one allele or "
                "uncertain effect); confirm target expression"
            )
            outcomes.append((UNKNOWN, text))
    return outcomes


def _biallelic(finding: Finding, knowledge: Knowledge) -> bool:
    state = finding.get("allele_state")
    if state is not None and state.get("state") == "biallelic":
        return True
    record = next((b for b in knowledge.biomarkers if b["id"] == finding["biomarker_id"]), None)
    return bool(record and record["alteration_type"] == "biallelic_loss")


def _finding_words(finding: Finding) -> str:
    gene, alteration = finding["gene"], finding["alteration"]
    return alteration if alteration.startswith(gene) else f"{gene} {alteration}"
