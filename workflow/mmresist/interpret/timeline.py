"""Variant status across a patient's timepoints: acquired, persistent, lost or single."""

from __future__ import annotations

from collections.abc import Sequence

from mmresist.model import Sample, SampleIngest, VariantCall


def order_samples(samples: Sequence[Sample]) -> list[Sample]:
    """Samples in collection order; ties keep the sheet's sample_id order for determinism."""
    return sorted(samples, key=lambda sample: (sample.collection_date, sample.sample_id))


def _present(call: VariantCall) -> bool:
    """A call is evidence that the allele is in the sample unless it has no alt support.

    Calls failing a VAF or depth threshold still count as present: a low-level clone at
    diagnosis that expands at relapse is persistent, not acquired.
    """
    if call.alt_reads is not None and call.alt_reads == 0:
        return False
    return not (call.vaf is not None and call.vaf == 0)


def assign_status(
    samples: Sequence[Sample], ingests: dict[str, SampleIngest]
) -> list[tuple[VariantCall, str, list[dict]]]:
    """Return (representative call, status, per-timepoint history) for each variant.

    The representative call comes from the latest sample where the allele is seen. Status
    compares the latest sample with every earlier one: present in both is ``persistent``,
    only in the latest ``acquired``, only earlier ``lost``; one sample gives
    ``single_timepoint``. The history has one entry per sample in collection order, with
    ``present`` False and VAF None where the allele was not called.
    """
    ordered = order_samples(samples)
    by_key: dict[tuple, dict[str, VariantCall]] = {}
    for sample in ordered:
        for call in ingests[sample.sample_id].calls:
            # The same allele may be annotated in two panel genes; keep one per gene.
            by_key.setdefault((*call.key, call.gene), {})[sample.sample_id] = call

    rows: list[tuple[VariantCall, str, list[dict]]] = []
    for _key, per_sample in by_key.items():
        history = []
        for sample in ordered:
            seen = per_sample.get(sample.sample_id)
            history.append(
                {
                    "sample_id": sample.sample_id,
                    "timepoint": sample.timepoint,
                    "collection_date": sample.collection_date,
                    "vaf": seen.vaf if seen else None,
                    "depth": seen.depth if seen else None,
                    "present": bool(seen and _present(seen)),
                }
            )
        in_latest = history[-1]["present"]
        in_earlier = any(entry["present"] for entry in history[:-1])
        if len(ordered) == 1:
            status = "single_timepoint"
        elif in_latest:
            status = "persistent" if in_earlier else "acquired"
        else:
            # Seen only earlier, or called nowhere with alt support: not in the tumour now.
            status = "lost"
        # The latest sample that called the allele speaks for it in the report.
        representative_id = next(
            sample.sample_id for sample in reversed(ordered) if sample.sample_id in per_sample
        )
        rows.append((per_sample[representative_id], status, history))
    rows.sort(key=lambda row: (row[0].gene, row[0].key[0], row[0].pos, row[0].ref, row[0].alt))
    return rows
