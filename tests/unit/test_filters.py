from mmresist.interpret.filters import apply_filters, filter_reasons
from mmresist.model import VariantCall

DEFAULTS = dict(pass_only=True, min_depth=10, min_alt_reads=3, min_vaf=0.02)


def call(**kwargs) -> VariantCall:
    values = dict(sample_id="S", chrom="chr12", pos=1, ref="C", alt="T", gene="KRAS")
    values.update(kwargs)
    return VariantCall(**values)


def test_kept_call_has_no_reasons():
    assert filter_reasons(call(vaf=0.3, depth=100, alt_reads=30), **DEFAULTS) == []


def test_each_reason_in_fixed_order():
    failing = call(filter="weak_evidence", vaf=0.01, depth=5, alt_reads=1)
    assert filter_reasons(failing, **DEFAULTS) == [
        "not_pass",
        "low_depth",
        "low_alt_reads",
        "low_vaf",
    ]


def test_dot_filter_counts_as_pass_and_pass_only_can_be_off():
    assert filter_reasons(call(filter=".", vaf=0.5, depth=50, alt_reads=25), **DEFAULTS) == []
    relaxed = dict(DEFAULTS, pass_only=False)
    assert filter_reasons(call(filter="germline", vaf=0.5, depth=50, alt_reads=25), **relaxed) == []


def test_unknown_values_never_fail_a_threshold():
    assert filter_reasons(call(vaf=None, depth=None, alt_reads=None), **DEFAULTS) == []


def test_thresholds_are_inclusive_minimums():
    at_limit = call(vaf=0.02, depth=10, alt_reads=3)
    assert filter_reasons(at_limit, **DEFAULTS) == []


def test_apply_filters_counts_every_reason():
    calls = [call(vaf=0.01, depth=100, alt_reads=1), call(vaf=0.4, depth=4, alt_reads=2)]
    counts = apply_filters(calls, **DEFAULTS)
    assert counts == {
        "not_pass": 0,
        "low_depth": 1,
        "low_alt_reads": 2,
        "low_vaf": 1,
        "no_protein_effect": 0,
    }
    assert calls[0].filter_reasons == ["low_alt_reads", "low_vaf"]


def test_variants_without_protein_effect_are_filtered_unless_disabled():
    good = dict(vaf=0.3, depth=100, alt_reads=30)
    assert filter_reasons(call(consequence="intron_variant", **good), **DEFAULTS) == [
        "no_protein_effect"
    ]
    assert filter_reasons(call(consequence="synonymous_variant", **good), **DEFAULTS) == [
        "no_protein_effect"
    ]
    for kept in ("missense_variant", "splice_region_variant&intron_variant", "stop_gained", ""):
        assert filter_reasons(call(consequence=kept, **good), **DEFAULTS) == [], kept
    relaxed = dict(DEFAULTS, protein_altering_only=False)
    assert filter_reasons(call(consequence="intron_variant", **good), **relaxed) == []
