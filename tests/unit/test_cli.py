"""The `mmresist` commands as rules call them: exit codes, messages, nothing half-made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmresist.cli import main

REPO = Path(__file__).resolve().parents[2]
KNOWLEDGE = str(REPO / "resources" / "knowledge")


def test_knowledge_validate_passes_on_the_curated_tables(capsys):
    assert main(["knowledge", "validate", "--dir", KNOWLEDGE]) == 0
    assert "is valid" in capsys.readouterr().err


def test_knowledge_show_prints_what_the_tables_say(capsys):
    assert main(["knowledge", "show", "PSMB5", "--dir", KNOWLEDGE]) == 0
    text = capsys.readouterr().out
    assert "PSMB5" in text and "A108T" in text


def test_knowledge_compile_writes_json_that_loads(tmp_path):
    out = tmp_path / "knowledge.json"
    assert main(["knowledge", "compile", "--dir", KNOWLEDGE, "--out", str(out)]) == 0
    assert json.loads(out.read_text())


def _sheet(tmp_path: Path, vcf: Path) -> str:
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(
        "patient_id\tsample_id\ttimepoint\tcollection_date\tvcf\n"
        f"P1\tS1\trelapse\t2024-01-01\t{vcf}\n"
    )
    return str(sheet)


def test_unannotated_vcf_is_refused_with_how_to_annotate_and_no_outputs(tmp_path, capsys):
    vcf = tmp_path / "plain.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr12,length=133275309>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT\n"
        "chr12\t25245350\t.\tC\tT\t.\tPASS\t.\tGT\t0/1\n"
    )
    outdir = tmp_path / "P1"
    code = main(
        [
            "patient",
            "--patient",
            "P1",
            "--samples",
            _sheet(tmp_path, vcf),
            "--knowledge",
            KNOWLEDGE,
            "--outdir",
            str(outdir),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("mmresist: error: ") and str(vcf) in err
    assert "VEP" in err and "snpEff" in err and "bcftools csq" in err
    assert "Traceback" not in err
    # Nothing that looks like a report: only the failure record, which names the file.
    assert sorted(path.name for path in outdir.iterdir()) == ["failure.json"]
    record = json.loads((outdir / "failure.json").read_text(encoding="utf-8"))
    assert str(vcf) in json.dumps(record)


def _demo_args(tmp_path: Path) -> list[str]:
    vcf = REPO / "resources/demo/vcf/MM-005_relapse.vcf.gz"
    sheet = _sheet(tmp_path, vcf)
    return ["patient", "--patient", "P1", "--samples", sheet, "--knowledge", KNOWLEDGE]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--annotation-mode", "bcftools_csq"], "needs annotation.fasta and annotation.gff3"),
        (["--patient", "NOBODY"], "no sample of patient 'NOBODY'"),
    ],
)
def test_patient_command_errors_are_specific(tmp_path, capsys, extra, fragment):
    outdir = ["--outdir", str(tmp_path / "out")]
    assert main(_demo_args(tmp_path) + outdir + extra) == 2
    assert fragment in capsys.readouterr().err
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["failure.json"]


def test_wrong_genome_build_names_the_build_of_the_file(tmp_path, capsys):
    outdir = ["--outdir", str(tmp_path / "out")]
    assert main(_demo_args(tmp_path) + outdir + ["--genome-build", "GRCh37"]) == 2
    err = capsys.readouterr().err
    assert "the VCF is GRCh38" in err and "genome_build: GRCh37" in err


def test_sv_deletion_of_tnfrsf17_is_seen_as_copy_loss_and_loss_of_function(tmp_path):
    vcf = tmp_path / "sv.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr16,length=90338345>\n"
        '##ALT=<ID=DEL,Description="Deletion">\n'
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End">\n'
        '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="SV type">\n'
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from '
        "Ensembl VEP. Format: Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|"
        'BIOTYPE|HGVSc|HGVSp|CANONICAL">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n"
        "chr16\t11950000\tsv1\tN\t<DEL>\t.\tPASS\tEND=11980000;SVTYPE=DEL;"
        "CSQ=deletion|transcript_ablation|HIGH|TNFRSF17|ENSG00000048462|Transcript|"
        "ENST00000053243|protein_coding|||YES\tGT\t1/1\n"
    )
    outdir = tmp_path / "P1"
    args = ["patient", "--patient", "P1", "--samples", _sheet(tmp_path, vcf)]
    assert main(args + ["--knowledge", KNOWLEDGE, "--outdir", str(outdir), "--no-html"]) == 0
    report = json.loads((outdir / "report.json").read_text())
    assert [(c["gene"], c["call"]) for c in report["copy_number"]] == [("TNFRSF17", "loss")]
    found = {finding["biomarker_id"] for finding in report["findings"]}
    assert any(f.startswith("BM-TNFRSF17") for f in found), found
    # One deletion is one event: it must not also count as the second, truncating hit.
    assert not any("BIALLELIC" in f for f in found), found
