import re
from pathlib import Path

import pytest

from mmresist.interpret.filters import (
    Filters,
    apply_filters,
    filter_arguments,
    filter_reasons,
    germline_basis,
    polymorphism_index,
)
from mmresist.model import VariantCall

DEFAULTS = Filters()


def call(**kwargs) -> VariantCall:
    values = dict(sample_id="S", chrom="chr12", pos=1, ref="C", alt="T", gene="KRAS")
    values.update(kwargs)
    return VariantCall(**values)


def test_kept_call_has_no_reasons():
    assert filter_reasons(call(vaf=0.3, depth=100, alt_reads=30), DEFAULTS) == []


def test_each_reason_in_fixed_order():
    failing = call(filter="weak_evidence", vaf=0.01, depth=5, alt_reads=1)
    assert filter_reasons(failing, DEFAULTS) == [
        "not_pass",
        "low_depth",
        "low_alt_reads",
        "low_vaf",
    ]


def test_dot_filter_counts_as_pass_and_pass_only_can_be_off():
    assert filter_reasons(call(filter=".", vaf=0.5, depth=50, alt_reads=25), DEFAULTS) == []
    relaxed = Filters(pass_only=False)
    assert filter_reasons(call(filter="germline", vaf=0.5, depth=50, alt_reads=25), relaxed) == []


def test_unknown_values_never_fail_a_threshold():
    assert filter_reasons(call(vaf=None, depth=None, alt_reads=None), DEFAULTS) == []


def test_thresholds_are_inclusive_minimums():
    at_limit = call(vaf=0.02, depth=10, alt_reads=3)
    assert filter_reasons(at_limit, DEFAULTS) == []


def test_apply_filters_counts_every_reason():
    calls = [call(vaf=0.01, depth=100, alt_reads=1), call(vaf=0.4, depth=4, alt_reads=2)]
    counts = apply_filters(calls, DEFAULTS)
    assert counts == {
        "not_pass": 0,
        "low_depth": 1,
        "low_alt_reads": 2,
        "low_vaf": 1,
        "no_protein_effect": 0,
        "likely_germline": 0,
    }
    assert calls[0].filter_reasons == ["low_alt_reads", "low_vaf"]


def test_variants_without_protein_effect_are_filtered_unless_disabled():
    good = dict(vaf=0.3, depth=100, alt_reads=30)
    assert filter_reasons(call(consequence="intron_variant", **good), DEFAULTS) == [
        "no_protein_effect"
    ]
    assert filter_reasons(call(consequence="synonymous_variant", **good), DEFAULTS) == [
        "no_protein_effect"
    ]
    for kept in ("missense_variant", "splice_region_variant&intron_variant", "stop_gained", ""):
        assert filter_reasons(call(consequence=kept, **good), DEFAULTS) == [], kept
    relaxed = Filters(protein_altering_only=False)
    assert filter_reasons(call(consequence="intron_variant", **good), relaxed) == []


def test_config_passes_only_the_settings_it_gives():
    assert filter_arguments({}) == []
    assert filter_arguments({"min_vaf": 0.05, "pass_only": False}) == [
        "--min-vaf",
        "0.05",
        "--no-pass-only",
    ]
    with pytest.raises(ValueError, match="min_dpth"):
        filter_arguments({"min_dpth": 5})


def test_cli_without_filter_options_uses_the_package_defaults():
    from mmresist.cli import build_parser

    args = build_parser().parse_args(
        ["patient", "--patient", "P", "--samples", "s", "--knowledge", "k", "--outdir", "o"]
    )
    assert all(getattr(args, name) is None for name in Filters.__dataclass_fields__)
    args = build_parser().parse_args(
        ["patient", "--patient", "P", "--samples", "s", "--knowledge", "k", "--outdir", "o"]
        + filter_arguments({"min_depth": 25, "protein_altering_only": False})
    )
    assert args.min_depth == 25 and args.protein_altering_only is False


def test_config_readme_lists_the_package_defaults():
    readme = (Path(__file__).parents[2] / "config" / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| `filters\.(\w+)` \| ([^|]+?) \|", readme, flags=re.M))
    defaults = Filters()
    assert set(listed) == set(Filters.__dataclass_fields__)
    for name, text in listed.items():
        value = getattr(defaults, name)
        if isinstance(value, bool):
            shown = str(value).lower()
        elif isinstance(value, tuple):
            shown = "[" + ", ".join(value) + "]"  # a YAML list, as config.yaml writes it
        else:
            shown = str(value)
        assert text == shown, (name, text, value)


# -- likely germline --------------------------------------------------------------------


POLYMORPHISMS = {
    ("TP53", "P72R"): {"id": "PM-TP53-P72R", "rsid": "rs1042522"},
}


def test_population_af_at_or_above_the_limit_is_likely_germline():
    good = dict(vaf=0.5, depth=100, alt_reads=50, consequence="missense_variant")
    common = call(population_af=0.66, population_af_source="gnomADe_AF", **good)
    assert filter_reasons(common, DEFAULTS) == ["likely_germline"]
    at_limit = call(population_af=0.001, population_af_source="MAX_AF", **good)
    assert filter_reasons(at_limit, DEFAULTS) == ["likely_germline"]
    assert "MAX_AF 0.001" in germline_basis(at_limit, DEFAULTS)
    rare = call(population_af=0.0009, **good)
    assert filter_reasons(rare, DEFAULTS) == []
    assert filter_reasons(common, Filters(max_population_af=0.7)) == []


def test_curated_polymorphism_applies_only_without_a_population_af():
    good = dict(vaf=0.5, depth=100, alt_reads=50, consequence="missense_variant")
    unknown = call(chrom="chr17", gene="TP53", protein_change="P72R", **good)
    assert filter_reasons(unknown, DEFAULTS) == []  # no table given
    assert filter_reasons(unknown, DEFAULTS, POLYMORPHISMS) == ["likely_germline"]
    basis = germline_basis(unknown, DEFAULTS, POLYMORPHISMS)
    assert basis == "curated common polymorphism PM-TP53-P72R (rs1042522)"
    # A frequency in the annotation decides: a rare allele is not overruled by the table.
    known_rare = call(gene="TP53", protein_change="P72R", population_af=0.0001, **good)
    assert filter_reasons(known_rare, DEFAULTS, POLYMORPHISMS) == []
    other = call(gene="TP53", protein_change="R248Q", **good)
    assert filter_reasons(other, DEFAULTS, POLYMORPHISMS) == []


def test_apply_filters_records_the_germline_basis_and_counts_it():
    calls = [
        call(gene="TP53", protein_change="P72R", vaf=0.5, depth=80, alt_reads=40),
        call(gene="KRAS", protein_change="G12D", vaf=0.3, depth=80, alt_reads=24),
    ]
    counts = apply_filters(
        calls,
        DEFAULTS,
        polymorphism_index(
            [{"gene": "TP53", "protein_change": "P72R", "id": "PM-TP53-P72R", "rsid": "rs1042522"}]
        ),
    )
    assert counts["likely_germline"] == 1
    assert calls[0].germline_basis.startswith("curated common polymorphism PM-TP53-P72R")
    assert calls[1].filter_reasons == [] and calls[1].germline_basis == ""


def test_population_af_fields_pass_as_one_comma_joined_option():
    from mmresist.cli import build_parser

    arguments = filter_arguments({"population_af_fields": ["gnomAD_AF", "popmax_AF"]})
    assert arguments == ["--population-af-fields", "gnomAD_AF,popmax_AF"]
    args = build_parser().parse_args(
        ["patient", "--patient", "P", "--samples", "s", "--knowledge", "k", "--outdir", "o"]
        + arguments
        + ["--max-population-af", "0.01"]
    )
    assert args.population_af_fields == ("gnomAD_AF", "popmax_AF")
    assert args.max_population_af == 0.01
