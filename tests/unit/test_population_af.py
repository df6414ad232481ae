"""Population allele frequencies from annotations (VEP CSQ, SnpSift dbNSFP, configured INFO
fields), per ALT, and the tumour-only label of a sample."""

from __future__ import annotations

from pathlib import Path

import pytest
from vcf_fixtures import SNPEFF_HEADER, VEP_FIELDS, row, snpeff_entry, vcf_text, write_vcf

from mmresist.ingest.annotation import classify_description, parse_entries
from mmresist.ingest.population import af_value, highest, info_af_fields
from mmresist.ingest.vcf import read_sample

PANEL = {"KRAS", "TP53", "NR3C1"}
REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
AF_FIELDS = [*VEP_FIELDS, "AF", "gnomADe_AF", "gnomADe_AFR_AF", "gnomADg_AF", "MAX_AF", "my_AF"]


def _vep_header(fields: list[str]) -> str:
    return (
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from '
        f'Ensembl VEP. Format: {"|".join(fields)}">'
    )


def _entry(allele: str, allele_num: str, change: str, **afs: str) -> str:
    values = dict.fromkeys(AF_FIELDS, "")
    values.update(
        Allele=allele, Consequence="missense_variant", IMPACT="MODERATE", SYMBOL="TP53",
        Feature="ENST00000269305.9", BIOTYPE="protein_coding", CANONICAL="YES",
        HGVSp=f"ENSP00000269305.4:{change}", ALLELE_NUM=allele_num,
    )  # fmt: skip
    values.update(afs)
    return "|".join(values[name] for name in AF_FIELDS)


def _read(tmp_path: Path, text: str, **options) -> dict:
    path = write_vcf(tmp_path, "sample", text)
    ingest = read_sample(
        vcf_path=path, sample_id="S1", tumor_sample=None, panel_genes=PANEL, **options
    )
    return {"ingest": ingest, "calls": {call.alt: call for call in ingest.calls}}


def test_af_value_takes_the_highest_frequency_and_ignores_what_is_not_one():
    assert af_value("0.66") == 0.66
    assert af_value("7.61550e-02&3.17033e-04") == pytest.approx(0.076155)
    assert af_value("") is None and af_value(".") is None and af_value(None) is None
    assert af_value("1.5") is None  # not a frequency
    assert af_value(0.0) == 0.0  # known to be absent is not unknown
    assert highest([("gnomADe_AF", 0.2), ("MAX_AF", 0.4), ("AF", 0.4)]) == (0.4, "MAX_AF")
    assert highest([]) == (None, "")


def test_vep_subfields_give_each_alt_its_own_highest_frequency(tmp_path):
    csq = ",".join(
        [
            # ALT 1: a common allele; the population-specific field is never read.
            _entry("C", "1", "p.Pro72Arg", gnomADe_AF="0.66", MAX_AF="0.74", gnomADe_AFR_AF="0.9"),
            # ALT 2: a rare allele at the same site.
            _entry("A", "2", "p.Pro72His", gnomADe_AF="0.00002", gnomADg_AF="."),
        ]
    )
    text = vcf_text(
        info=[_vep_header(AF_FIELDS)],
        formats=["GT", "AD", "DP"],
        samples=["TUMOUR"],
        records=[row("chr17", 7676154, "G", "C,A", f"CSQ={csq}", "GT:AD:DP", "0/1:50,40,10:100")],
    )
    calls = _read(tmp_path, text)["calls"]
    assert (calls["C"].population_af, calls["C"].population_af_source) == (0.74, "MAX_AF")
    assert (calls["A"].population_af, calls["A"].population_af_source) == (2e-05, "gnomADe_AF")


def test_vep_without_frequency_fields_leaves_the_frequency_unknown(tmp_path):
    csq = _entry("C", "1", "p.Pro72Arg")
    text = vcf_text(
        info=[_vep_header(AF_FIELDS)],
        formats=["GT", "AD", "DP"],
        samples=["TUMOUR"],
        records=[row("chr17", 7676154, "G", "C", f"CSQ={csq}", "GT:AD:DP", "0/1:50,50:100")],
    )
    call = _read(tmp_path, text)["calls"]["C"]
    assert call.population_af is None and call.population_af_source == ""


def test_a_configured_subfield_is_read_like_the_standard_ones(tmp_path):
    csq = _entry("C", "1", "p.Pro72Arg", my_AF="0.3")
    text = vcf_text(
        info=[_vep_header(AF_FIELDS)],
        formats=["GT", "AD", "DP"],
        samples=["TUMOUR"],
        records=[row("chr17", 7676154, "G", "C", f"CSQ={csq}", "GT:AD:DP", "0/1:50,50:100")],
    )
    assert _read(tmp_path, text)["calls"]["C"].population_af is None
    call = _read(tmp_path, text, population_af_fields=("my_AF",))["calls"]["C"]
    assert (call.population_af, call.population_af_source) == (0.3, "my_AF")


def _snpeff_record(info_extra: str) -> str:
    ann = ",".join(
        [
            snpeff_entry("C", "missense_variant", "MODERATE", "TP53", "ENST00000269305.9",
                         hgvsp="p.Pro72Arg"),
            snpeff_entry("A", "missense_variant", "MODERATE", "TP53", "ENST00000269305.9",
                         hgvsp="p.Pro72His"),
        ]
    )  # fmt: skip
    return row(
        "chr17", 7676154, "G", "C,A", f"ANN={ann};{info_extra}", "GT:AD:DP", "0/1:50,40,10:100"
    )


DBNSFP_HEADERS = [
    '##INFO=<ID=dbNSFP_gnomAD_exomes_AF,Number=A,Type=Float,Description="gnomAD exomes AF">',
    '##INFO=<ID=dbNSFP_gnomAD_genomes_POPMAX_AF,Number=A,Type=Float,Description="popmax">',
    '##INFO=<ID=dbNSFP_gnomAD_exomes_AFR_AF,Number=A,Type=Float,Description="African AF">',
]


def test_snpsift_dbnsfp_fields_per_alt_without_single_populations(tmp_path):
    record = _snpeff_record(
        "dbNSFP_gnomAD_exomes_AF=0.6,0.00001;dbNSFP_gnomAD_genomes_POPMAX_AF=0.7,.;"
        "dbNSFP_gnomAD_exomes_AFR_AF=0.9,0.5"
    )
    text = vcf_text(
        info=[SNPEFF_HEADER, *DBNSFP_HEADERS],
        formats=["GT", "AD", "DP"],
        samples=["TUMOUR"],
        records=[record],
    )
    calls = _read(tmp_path, text)["calls"]
    assert calls["C"].population_af == pytest.approx(0.7)
    assert calls["C"].population_af_source == "dbNSFP_gnomAD_genomes_POPMAX_AF"
    assert calls["A"].population_af == pytest.approx(1e-05)
    assert calls["A"].population_af_source == "dbNSFP_gnomAD_exomes_AF"


def test_configured_info_field_number_a_and_never_the_callers_af(tmp_path):
    record = _snpeff_record("gnomAD_AF=0.004,0.2;AF=0.9")
    text = vcf_text(
        info=[
            SNPEFF_HEADER,
            '##INFO=<ID=gnomAD_AF,Number=A,Type=Float,Description="gnomAD (vcfanno)">',
            '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency (caller)">',
        ],
        formats=["GT", "AD", "DP"],
        samples=["TUMOUR"],
        records=[record],
    )
    unconfigured = _read(tmp_path, text)["calls"]
    assert unconfigured["C"].population_af is None  # INFO fields are read only when named
    read = _read(tmp_path, text, population_af_fields=("gnomAD_AF", "AF", "missing_AF"))
    calls = read["calls"]
    assert calls["C"].population_af == pytest.approx(0.004)
    assert calls["A"].population_af == pytest.approx(0.2)
    warnings = " ".join(read["ingest"].warnings)
    assert "INFO/AF" in warnings and "missing_AF" in warnings


def test_a_single_value_for_several_alts_is_not_guessed():
    fields, notes = info_af_fields({"pop_AF": "1"}, ["pop_AF"], [])
    assert fields == (("pop_AF", "1"),) and notes == []

    from mmresist.ingest.population import info_afs

    assert info_afs({"pop_AF": 0.3}, fields, 2) == [[], []]
    assert info_afs({"pop_AF": 0.3}, fields, 1) == [[("pop_AF", 0.3)]]
    # Number=R: the first value is REF's.
    assert info_afs({"r_AF": (0.5, 0.2, 0.3)}, (("r_AF", "R"),), 2) == [
        [("r_AF", 0.2)],
        [("r_AF", 0.3)],
    ]


def _kras(samples: list[str], extra: list[str]) -> str:
    csq = _entry("T", "1", "p.Gly12Asp").replace("TP53", "KRAS")
    return vcf_text(
        info=[_vep_header(AF_FIELDS)],
        formats=["GT", "AD", "DP"],
        samples=samples,
        extra=extra,
        records=[
            row("chr12", 25245350, "C", "T", f"CSQ={csq}", "GT:AD:DP",
                *["0/1:70,30:100"] * len(samples))
        ],
    )  # fmt: skip


def test_tumour_only_needs_one_column_and_no_normal_sample_line(tmp_path):
    alone = _read(tmp_path / "a", _kras(["TUMOUR"], []))["ingest"]
    assert alone.tumour_only is True
    named = _read(tmp_path / "b", _kras(["TUMOUR"], ["##normal_sample=NORMAL"]))["ingest"]
    assert named.tumour_only is False
    path = write_vcf(tmp_path / "c", "pair", _kras(["NORMAL", "TUMOUR"], []))
    paired = read_sample(vcf_path=path, sample_id="S1", tumor_sample="TUMOUR", panel_genes=PANEL)
    assert paired.tumour_only is False


@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not present")
def test_real_vep_output_carries_gnomad_and_max_af_subfields():
    from cyvcf2 import VCF

    path = REALDATA / "bcftools" / "test" / "split-vep.filter-missing-bt2098.vcf"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    vcf = VCF(str(path))
    layout = None
    for record in vcf.header_iter():
        info = record.info()
        if info.get("HeaderType") == "INFO" and info.get("ID") == "CSQ":
            layout = classify_description("CSQ", info["Description"])
    assert layout is not None and layout.kind == "vep"
    names = {name for name, _ in layout.af_positions()}
    assert {"gnomADe_AF", "gnomADg_AF", "MAX_AF", "AF"} <= names
    read = [
        pair
        for variant in vcf
        for entry in parse_entries(variant.INFO.get("CSQ") or "", layout)
        for pair in entry["population_af"]
    ]
    assert read, "no frequency read from a file whose CSQ carries gnomADg_AF and MAX_AF"
    assert all(0.0 <= value <= 1.0 for _, value in read)


@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not present")
def test_real_purple_info_gnomad_af_is_read_when_configured():
    from cyvcf2 import VCF

    from mmresist.ingest.population import declared_info, info_afs

    # umccrise/PURPLE write gnomAD's popmax frequency into INFO/gnomAD_AF (Number=A).
    path = REALDATA / "gpgr" / "inst" / "extdata" / "purple" / "purple.somatic.vcf.gz"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    vcf = VCF(str(path))
    fields, notes = info_af_fields(declared_info(vcf), ["gnomAD_AF"], [])
    assert fields == (("gnomAD_AF", "A"),) and notes == []
    values = [pair for variant in vcf for pairs in info_afs(variant.INFO, fields, len(variant.ALT))
              for pair in pairs]  # fmt: skip
    assert [name for name, _ in values] == ["gnomAD_AF"]
    assert values[0][1] == pytest.approx(0.3336)
