"""Built-in annotation (bcftools norm + csq through pysam) on a small genome made here."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re

import pytest
from vcf_fixtures import (
    CODE,
    COMPLEMENT,
    EXON1_CDS,
    TRANSCRIPT,
    Genome,
    fasta_text,
    genome_pos,
    gff3_text,
    translate,
    unannotated_vcf_text,
)

from mmresist.cli import main
from mmresist.errors import InputError
from mmresist.ingest import csq
from mmresist.ingest import reference as references
from mmresist.ingest.vcf import read_sample


def other_missense(genome: Genome, i: int, skip: str = "") -> tuple[str, str, str]:
    """A genome ALT at CDS index ``i`` giving a missense (not stop, not synonymous)."""
    pos = genome_pos(i)
    codon_start = i - i % 3
    ref_aa = CODE[genome.cds[codon_start : codon_start + 3]]
    for alt in "ACGT":
        if alt == genome.base(pos) or alt in skip:
            continue
        mutated = genome.mutate_cds(i, alt)
        aa = CODE[mutated[codon_start : codon_start + 3]]
        if aa not in ("*", ref_aa):
            return alt, ref_aa, aa
    raise AssertionError("no missense ALT at this position")


@pytest.fixture
def genome():
    return Genome()


@pytest.fixture
def reference(tmp_path, genome):
    folder = tmp_path / "ref"
    folder.mkdir()
    (folder / "genome.fa").write_text(fasta_text(genome))
    (folder / "genes.gff3").write_text(gff3_text())
    return folder / "genome.fa", folder / "genes.gff3"


class Expected:
    """The test VCF's variants and what bcftools csq must say about each."""

    def __init__(self, genome: Genome) -> None:
        self.records = []
        # missense SNV: codon 10
        i = 27
        self.missense_pos = genome_pos(i)
        self.missense_alt, ref_aa, alt_aa = other_missense(genome, i)
        self.missense = f"{ref_aa}10{alt_aa}"
        self.records.append((self.missense_pos, genome.base(self.missense_pos), self.missense_alt))
        # stop gain: codon 20 CAG -> TAG (genome G -> A on the minus strand)
        i = 57
        self.stop_pos = genome_pos(i)
        assert genome.base(self.stop_pos) == "G"
        assert CODE[genome.mutate_cds(i, "A")[57:60]] == "*"
        self.records.append((self.stop_pos, "G", "A"))
        # frameshift: delete one base of codon 31, written at the right end of its run
        i = 91
        deleted = genome_pos(i)
        run_right = deleted
        while genome.base(run_right + 1) == genome.base(deleted):
            run_right += 1
        run_left = deleted
        while genome.base(run_left - 1) == genome.base(deleted):
            run_left -= 1
        self.records.append(
            (run_right - 1, genome.seq[run_right - 2 : run_right], genome.base(run_right - 1))
        )
        # after left-alignment: anchored before the first base of the run
        self.frameshift_pos = run_left - 1
        self.frameshift_ref = genome.seq[run_left - 2 : run_left]
        cds_index = EXON1_CDS[1] - run_left  # the same deletion, leftmost on the genome
        mutated = genome.cds[:cds_index] + genome.cds[cds_index + 1 :]
        codon = cds_index // 3
        self.frameshift_codon = codon + 1
        self.frameshift_ref_protein = translate(genome.cds)[codon:]
        self.frameshift_alt_protein = translate(mutated)[codon:]
        # multiallelic: codon 61 (exon 2), two missense ALTs
        i = 180
        self.multi_pos = genome_pos(i)
        first, ref_aa, first_aa = other_missense(genome, i)
        second, _, second_aa = other_missense(genome, i, skip=first)
        self.multi = {first: f"{ref_aa}61{first_aa}", second: f"{ref_aa}61{second_aa}"}
        self.records.append((self.multi_pos, genome.base(self.multi_pos), f"{first},{second}"))
        # intronic
        self.intron_pos = 1500
        base = genome.base(1500)
        self.records.append((1500, base, "A" if base != "A" else "C"))
        # intergenic, outside the panel region used below
        self.records.append((200, genome.base(200), "A" if genome.base(200) != "A" else "C"))


def write_vcf(tmp_path, text: str, name: str = "tumour.vcf"):
    folder = tmp_path / "input"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def records_of(path) -> list[list[str]]:
    with gzip.open(path, "rt") as stream:
        return [line.rstrip("\n").split("\t") for line in stream if not line.startswith("#")]


def bcsq(row: list[str]) -> list[list[str]]:
    info = dict(item.split("=", 1) for item in row[7].split(";") if "=" in item)
    return [entry.split("|") for entry in info.get("BCSQ", "").split(",") if entry]


REGION = [("14", 1000, 2000)]


def test_annotate_writes_expected_consequences(tmp_path, genome, reference):
    fasta, gff3 = reference
    expected = Expected(genome)
    vcf = write_vcf(tmp_path, unannotated_vcf_text(expected.records))
    before = sorted(os.listdir(vcf.parent))
    ref_before = sorted(os.listdir(fasta.parent))
    out = tmp_path / "work" / "S.csq.vcf.gz"

    result = csq.annotate(vcf, fasta=fasta, gff3=gff3, out_path=out, regions=REGION)

    assert result.path == str(out) and os.path.exists(out) and os.path.exists(f"{out}.tbi")
    # nothing beside the input VCF or the FASTA (no .fai there: indexed in the work folder)
    assert sorted(os.listdir(vcf.parent)) == before
    assert sorted(os.listdir(fasta.parent)) == ref_before
    assert sorted(os.listdir(out.parent)) == ["S.csq.vcf.gz", "S.csq.vcf.gz.tbi"]
    assert any(".fai" in warning for warning in result.warnings)

    rows = records_of(out)
    by_pos: dict[int, list[list[str]]] = {}
    for row in rows:
        by_pos.setdefault(int(row[1]), []).append(row)
    assert 200 not in by_pos  # outside the regions
    (missense,) = by_pos[expected.missense_pos]
    assert bcsq(missense)[0][:3] == ["missense", "PSMB5", TRANSCRIPT]
    ref_aa, alt_aa = expected.missense[0], expected.missense[-1]
    assert bcsq(missense)[0][5] == f"10{ref_aa}>10{alt_aa}"
    (stop,) = by_pos[expected.stop_pos]
    assert bcsq(stop)[0][0] == "stop_gained" and bcsq(stop)[0][5] == "20Q>20*"
    # left-aligned by norm
    (frameshift,) = by_pos[expected.frameshift_pos]
    assert frameshift[3] == expected.frameshift_ref and len(frameshift[4]) == 1
    entry = bcsq(frameshift)[0]
    assert entry[0] == "frameshift"
    codon = expected.frameshift_codon
    assert entry[5] == (
        f"{codon}{expected.frameshift_ref_protein}>{codon}{expected.frameshift_alt_protein}"
    )
    # multiallelic split into two records, each with its own change
    multi = by_pos[expected.multi_pos]
    assert len(multi) == 2
    for row in multi:
        change = expected.multi[row[4]]
        assert bcsq(row)[0][0] == "missense"
        assert bcsq(row)[0][5] == f"61{change[0]}>61{change[-1]}"
    (intron,) = by_pos[expected.intron_pos]
    assert bcsq(intron)[0][:2] == ["intron", "PSMB5"]

    ingest = read_sample(vcf_path=out, sample_id="S", tumor_sample=None, panel_genes={"PSMB5"})
    calls = {(call.pos, call.alt): call for call in ingest.calls}
    assert ingest.records_read == 6
    assert {call.gene for call in ingest.calls} == {"PSMB5"}
    assert calls[(expected.missense_pos, expected.missense_alt)].consequence == "missense_variant"
    assert calls[(expected.missense_pos, expected.missense_alt)].protein_change == expected.missense
    assert calls[(expected.stop_pos, "A")].consequence == "stop_gained"
    assert calls[(expected.stop_pos, "A")].protein_change == "Q20*"
    fs = [call for call in ingest.calls if call.pos == expected.frameshift_pos]
    assert fs[0].consequence == "frameshift_variant"
    assert fs[0].protein_start == codon
    for alt, change in expected.multi.items():
        call = calls[(expected.multi_pos, alt)]
        assert (call.consequence, call.protein_change) == ("missense_variant", change)
        assert call.vaf == pytest.approx(0.4)  # depths split per ALT by norm -m-
    (intron_call,) = [call for call in ingest.calls if call.pos == expected.intron_pos]
    assert intron_call.consequence == "intron_variant"


def test_same_bytes_on_rerun(tmp_path, genome, reference):
    fasta, gff3 = reference
    vcf = write_vcf(tmp_path, unannotated_vcf_text(Expected(genome).records))
    out = tmp_path / "work" / "S.vcf.gz"
    csq.annotate(vcf, fasta=fasta, gff3=gff3, out_path=out, regions=REGION)
    first = out.read_bytes(), (tmp_path / "work" / "S.vcf.gz.tbi").read_bytes()
    csq.annotate(vcf, fasta=fasta, gff3=gff3, out_path=out, regions=REGION)
    second = out.read_bytes(), (tmp_path / "work" / "S.vcf.gz.tbi").read_bytes()
    assert first == second
    with gzip.open(out, "rt") as stream:
        header = [line for line in stream if line.startswith("##")]
    assert not any("Command=" in line or "Date=" in line for line in header)
    assert any(line.startswith("##mmresist_annotation=") for line in header)


def test_ref_mismatch_names_position(tmp_path, genome, reference):
    fasta, gff3 = reference
    base = genome.base(1500)
    wrong = "T" if base != "T" else "G"
    vcf = write_vcf(tmp_path, unannotated_vcf_text([(1500, wrong, "C" if wrong != "C" else "A")]))
    out = tmp_path / "work" / "S.vcf.gz"
    with pytest.raises(InputError) as error:
        csq.annotate(vcf, fasta=fasta, gff3=gff3, out_path=out)
    message = str(error.value)
    assert "14:1500" in message and f"'{wrong}'" in message and f"'{base}'" in message
    assert str(vcf) in message
    assert not out.exists() and os.listdir(out.parent) == []


@pytest.mark.parametrize("missing", ["fasta", "gff3"])
def test_missing_reference_files(tmp_path, genome, reference, missing):
    fasta, gff3 = reference
    vcf = write_vcf(tmp_path, unannotated_vcf_text(Expected(genome).records))
    paths = {"fasta": fasta, "gff3": gff3}
    paths[missing] = tmp_path / "nowhere" / f"absent.{missing}"
    with pytest.raises(InputError, match="not found") as error:
        csq.annotate(vcf, out_path=tmp_path / "work" / "S.vcf.gz", **paths)
    assert f"absent.{missing}" in str(error.value)


def test_non_ensembl_gff3_is_refused(tmp_path, genome, reference):
    fasta, gff3 = reference
    gencode = (
        gff3_text()
        .replace("ID=gene:", "ID=")
        .replace("Parent=gene:", "Parent=")
        .replace("ID=transcript:", "ID=")
        .replace("Parent=transcript:", "Parent=")
    )
    gff3.write_text(gencode)
    vcf = write_vcf(tmp_path, unannotated_vcf_text(Expected(genome).records))
    with pytest.raises(InputError, match="not an Ensembl GFF3"):
        csq.annotate(vcf, fasta=fasta, gff3=gff3, out_path=tmp_path / "w" / "S.vcf.gz")
    gff3.write_text("this is not a GFF3\n")
    with pytest.raises(InputError, match="GFF3"):
        csq.annotate(vcf, fasta=fasta, gff3=gff3, out_path=tmp_path / "w" / "S.vcf.gz")


def test_chr_named_vcf_is_renamed_and_restored(tmp_path, genome, reference):
    fasta, gff3 = reference
    expected = Expected(genome)
    vcf = write_vcf(tmp_path, unannotated_vcf_text(expected.records, chrom="chr14"))
    out = tmp_path / "work" / "S.vcf.gz"
    result = csq.annotate(vcf, fasta=fasta, gff3=gff3, out_path=out, regions=REGION)
    assert result.renamed_contigs == {"chr14": "14"}
    rows = records_of(out)
    assert {row[0] for row in rows} == {"chr14"}
    with gzip.open(out, "rt") as stream:
        assert "##contig=<ID=chr14," in stream.read()
    stop = next(row for row in rows if int(row[1]) == expected.stop_pos)
    assert bcsq(stop)[0][5] == "20Q>20*"
    ingest = read_sample(vcf_path=out, sample_id="S", tumor_sample=None, panel_genes={"PSMB5"})
    assert {call.chrom for call in ingest.calls} == {"chr14"}


def test_gff3_naming_unlike_fasta_is_refused(tmp_path, genome, reference):
    fasta, gff3 = reference
    gff3.write_text(gff3_text(seqid="chr14"))
    vcf = write_vcf(tmp_path, unannotated_vcf_text(Expected(genome).records))
    with pytest.raises(InputError) as error:
        csq.annotate(vcf, fasta=fasta, gff3=gff3, out_path=tmp_path / "w" / "S.vcf.gz")
    assert "chr14" in str(error.value) and "(14)" in str(error.value)


def test_unmatched_contig_names_are_refused(tmp_path, genome, reference):
    fasta, gff3 = reference
    vcf = write_vcf(tmp_path, unannotated_vcf_text(Expected(genome).records, chrom="NC_000014.9"))
    with pytest.raises(InputError, match=r"NC_000014\.9.*match none.*\(14\)"):
        csq.annotate(vcf, fasta=fasta, gff3=gff3, out_path=tmp_path / "w" / "S.vcf.gz")


def test_indexed_fasta_used_in_place_and_sample_kept(tmp_path, genome, reference):
    import pysam

    fasta, gff3 = reference
    pysam.faidx(str(fasta))
    expected = Expected(genome)
    vcf = write_vcf(tmp_path, unannotated_vcf_text(expected.records, samples=("NORMAL", "TUMOR")))
    out = tmp_path / "work" / "S.vcf.gz"
    result = csq.annotate(vcf, fasta=fasta, gff3=gff3, out_path=out, sample="TUMOR")
    assert result.warnings == []
    with gzip.open(out, "rt") as stream:
        columns = next(line for line in stream if line.startswith("#CHROM")).split()
    assert columns[9:] == ["TUMOR"]
    assert any(int(row[1]) == 200 for row in records_of(out))  # no regions: all kept
    with pytest.raises(InputError, match="'TUMOUR' is not a column"):
        csq.annotate(vcf, fasta=fasta, gff3=gff3, out_path=out, sample="TUMOUR")


def test_haplotype_mode_gives_compound_references(tmp_path, genome, reference):
    """Two SNVs in one codon: one BCSQ at the first, '@POS' at the other; ingest joins them."""
    fasta, gff3 = reference
    i = 30  # codon 11, first and second base
    first, second = genome_pos(i), genome_pos(i + 1)
    alt1 = "A" if genome.base(first) != "A" else "C"
    alt2 = "A" if genome.base(second) != "A" else "C"
    mutated = genome.mutate_cds(i, alt1)
    mutated = mutated[: i + 1] + alt2.translate(COMPLEMENT) + mutated[i + 2 :]
    ref_aa, alt_aa = CODE[genome.cds[30:33]], CODE[mutated[30:33]]
    vcf = write_vcf(tmp_path, unannotated_vcf_text([(first, genome.base(first), alt1),
                                        (second, genome.base(second), alt2)]))  # fmt: skip
    out = tmp_path / "work" / "S.vcf.gz"
    csq.annotate(vcf, fasta=fasta, gff3=gff3, out_path=out, haplotypes=True)
    infos = [row[7] for row in records_of(out)]
    assert any(re.search(r"BCSQ=@\d+", info) for info in infos)
    ingest = read_sample(vcf_path=out, sample_id="S", tumor_sample=None, panel_genes={"PSMB5"})
    assert len(ingest.calls) == 2
    for call in ingest.calls:
        assert call.protein_start == 11
        if alt_aa not in ("*", ref_aa):
            assert call.protein_change == f"{ref_aa}11{alt_aa}"


# ---------------------------------------------------------------------------
# download (a fake fetch serves local bytes; nothing goes to the network)
# ---------------------------------------------------------------------------


def served(genome: Genome) -> dict[str, bytes]:
    urls = references.reference_urls("GRCh38")
    return {
        urls["fasta"]: gzip.compress(fasta_text(genome).encode()),
        urls["gff3"]: gzip.compress(gff3_text().encode()),
    }


def test_download_builds_indexed_reference(tmp_path, genome):
    content = served(genome)
    asked = []

    def fetch(url):
        asked.append(url)
        return io.BytesIO(content[url])

    outdir = tmp_path / "resources" / "reference" / "GRCh38"
    reference = references.download("GRCh38", outdir, fetch=fetch)
    assert reference.downloaded
    assert sorted(os.listdir(outdir)) == sorted(
        ["genome.fa.gz", "genome.fa.gz.fai", "genome.fa.gz.gzi", "genes.gff3.gz", "manifest.json"]
    )
    assert all(f"release-{references.ENSEMBL_RELEASE}" in url for url in asked)
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert manifest["ensembl_release"] == references.ENSEMBL_RELEASE
    for entry in manifest["files"]:
        assert entry["sha256_download"] == hashlib.sha256(content[entry["url"]]).hexdigest()
        assert entry["sha256"] == hashlib.sha256((outdir / entry["path"]).read_bytes()).hexdigest()
    import pysam

    with pysam.FastaFile(reference.fasta) as handle:
        assert handle.fetch("14") == genome.seq

    # the downloaded pair annotates
    expected = Expected(genome)
    vcf = write_vcf(tmp_path, unannotated_vcf_text(expected.records))
    out = tmp_path / "work" / "S.vcf.gz"
    result = csq.annotate(vcf, fasta=reference.fasta, gff3=reference.gff3, out_path=out)
    assert result.warnings == []
    stop = next(row for row in records_of(out) if int(row[1]) == expected.stop_pos)
    assert bcsq(stop)[0][5] == "20Q>20*"

    # complete: not fetched again
    def refuse(url):
        raise AssertionError(f"fetched {url}")

    assert not references.download("GRCh38", outdir, fetch=refuse).downloaded


def test_download_failure_leaves_nothing_that_looks_complete(tmp_path, genome):
    content = served(genome)

    def fetch(url):
        if url.endswith(".fa.gz"):
            raise OSError("connection reset")
        return io.BytesIO(content[url])

    outdir = tmp_path / "ref"
    with pytest.raises(InputError, match="connection reset"):
        references.download("GRCh38", outdir, fetch=fetch)
    assert os.listdir(outdir) == []


def test_download_compresses_a_plain_gff3_reproducibly(tmp_path, genome):
    # A mirror may serve the GFF3 uncompressed; it is gzipped with no timestamp, so two
    # downloads give the same bytes (the manifest's sha256 stays meaningful).
    content = served(genome)
    gff3_url = references.reference_urls("GRCh38")["gff3"]
    content[gff3_url] = gff3_text().encode()

    def fetch(url):
        return io.BytesIO(content[url])

    first = references.download("GRCh38", tmp_path / "a", fetch=fetch)
    second = references.download("GRCh38", tmp_path / "b", fetch=fetch)
    packed = (tmp_path / "a" / "genes.gff3.gz").read_bytes()
    assert gzip.decompress(packed) == content[gff3_url]
    assert packed[4:8] == b"\0\0\0\0"  # gzip MTIME field
    assert packed == (tmp_path / "b" / "genes.gff3.gz").read_bytes()
    assert first.gff3.endswith("genes.gff3.gz") and second.downloaded


def test_grch37_urls_use_the_grch37_tree():
    urls = references.reference_urls("GRCh37")
    assert urls["gff3"].startswith("https://ftp.ensembl.org/pub/grch37/release-")
    assert urls["gff3"].endswith("Homo_sapiens.GRCh37.87.gff3.gz")
    assert "GRCh37.dna.primary_assembly.fa.gz" in urls["fasta"]
    with pytest.raises(InputError):
        references.reference_urls("hg19")


def test_cli_resources_download(tmp_path, genome, monkeypatch, capsys):
    content = served(genome)
    monkeypatch.setattr(references, "_urlopen", lambda url: io.BytesIO(content[url]))
    outdir = tmp_path / "GRCh38"
    assert main(["resources", "download", "--build", "GRCh38", "--outdir", str(outdir)]) == 0
    assert (outdir / "manifest.json").exists()
    assert "downloaded" in capsys.readouterr().err


# --- the patient job with built-in annotation -----------------------------------------


def _sheet(tmp_path, vcf) -> str:
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(
        "patient_id\tsample_id\ttimepoint\tcollection_date\tvcf\n"
        f"P1\tP1-RL\trelapse\t2024-06-01\t{vcf}\n"
    )
    return str(sheet)


def _annotate_command(tmp_path, vcf, fasta, gff3, *extra: str) -> tuple[str, str]:
    out = tmp_path / "work" / "annotated" / "P1-RL.vcf.gz"
    record = tmp_path / "work" / "annotated" / "P1-RL.annotation.json"
    arguments = ["annotate", "--vcf", str(vcf), "--fasta", str(fasta), "--gff3", str(gff3)]
    assert main([*arguments, "--out", str(out), "--record", str(record), *extra]) == 0
    return str(out), str(record)


@pytest.mark.parametrize("mode", ["auto", "bcftools_csq"])
def test_patient_job_reads_the_annotated_copy(tmp_path, genome, reference, mode):
    from mmresist.pipeline import run_patient

    fasta, gff3 = reference
    expected = Expected(genome)
    vcf = write_vcf(tmp_path, unannotated_vcf_text(expected.records))
    before = sorted(os.listdir(vcf.parent))
    _, record = _annotate_command(tmp_path, vcf, fasta, gff3)
    report = run_patient(
        patient_id="P1",
        samples_path=_sheet(tmp_path, vcf),
        knowledge_path="resources/knowledge",
        outdir=str(tmp_path / "out"),
        render=False,
        annotation_mode=mode,
        annotated={"P1-RL": record},
    )
    kept = {v["protein_change"] for v in report["variants"] if not v["filter_reasons"]}
    assert expected.missense in kept
    assert set(expected.multi.values()) <= kept
    assert f"{expected.frameshift_ref_protein[0]}{expected.frameshift_codon}fs" in kept
    assert {v["gene"] for v in report["variants"]} == {"PSMB5"}
    sample = report["qc"]["per_sample"][0]
    # The file's build is unknown (a test contig), so it was annotated whole.
    assert sample["annotation"].startswith("bcftools") and sample["scan"] == "whole_file"
    assert "made by mmresist: bcftools" in sample["annotation"]
    assert "fasta=genome.fa" in sample["annotation"] and "gff3=genes.gff3" in sample["annotation"]
    # Provenance and samples name the user's file, not the annotated copy.
    (entry,) = [item for item in report["provenance"]["inputs"] if item["path"] == str(vcf)]
    assert entry["sha256"] == hashlib.sha256(vcf.read_bytes()).hexdigest()
    assert report["samples"][0]["vcf"] == str(vcf)
    assert not any(".work" in item["path"] for item in report["provenance"]["inputs"])
    # The .fai made for this run is reported, as when the patient job annotated itself.
    assert any(".fai index" in warning for warning in report["qc"]["warnings"])
    assert sorted(os.listdir(vcf.parent)) == before
    assert sorted(os.listdir(tmp_path / "out")) == ["report.json", "variants.tsv"]


def test_annotated_in_panel_regions_when_the_build_matches(tmp_path, genome, reference):
    from mmresist.ingest.annotate import annotate_sample, read_record

    fasta, gff3 = reference
    expected = Expected(genome)
    text = unannotated_vcf_text(expected.records).replace(
        "##fileformat=VCFv4.2\n", "##fileformat=VCFv4.2\n##reference=GRCh38\n"
    )
    vcf = write_vcf(tmp_path, text)
    out, record = tmp_path / "w" / "S.vcf.gz", tmp_path / "w" / "S.json"
    arguments = {"vcf": vcf, "out": out, "record": record, "fasta": str(fasta), "gff3": str(gff3)}
    made = annotate_sample(**arguments, genome_build="GRCh38", regions=REGION)
    assert made.regions and read_record(record) == made
    assert 200 not in {int(row[1]) for row in records_of(out)}
    # Another build's coordinates are not applied: every record is annotated.
    whole = annotate_sample(**arguments, genome_build="GRCh37", regions=REGION)
    assert not whole.regions
    assert 200 in {int(row[1]) for row in records_of(out)}


def test_an_annotated_copy_of_another_file_is_refused(tmp_path, genome, reference):
    from mmresist.pipeline import run_patient

    fasta, gff3 = reference
    expected = Expected(genome)
    vcf = write_vcf(tmp_path, unannotated_vcf_text(expected.records))
    _, record = _annotate_command(tmp_path, vcf, fasta, gff3)
    vcf.write_text(unannotated_vcf_text(expected.records[:2]))
    with pytest.raises(InputError, match="made from another file"):
        run_patient(
            patient_id="P1",
            samples_path=_sheet(tmp_path, vcf),
            knowledge_path="resources/knowledge",
            outdir=str(tmp_path / "out"),
            render=False,
            annotated={"P1-RL": record},
        )


def test_patient_job_without_an_annotated_copy_says_how_to_annotate(tmp_path, genome):
    from mmresist.errors import AnnotationMissingError
    from mmresist.pipeline import run_patient

    vcf = write_vcf(tmp_path, unannotated_vcf_text(Expected(genome).records))
    arguments = {
        "patient_id": "P1",
        "samples_path": _sheet(tmp_path, vcf),
        "knowledge_path": "resources/knowledge",
        "outdir": str(tmp_path / "out"),
        "render": False,
    }
    with pytest.raises(AnnotationMissingError, match="annotation.fasta"):
        run_patient(**arguments)
    with pytest.raises(InputError, match="none was given for sample P1-RL"):
        run_patient(**arguments, annotation_mode="bcftools_csq")
    assert not (tmp_path / "out" / "report.json").exists()


def test_which_samples_need_annotation(tmp_path, genome, reference):
    from mmresist.ingest.annotate import needs_annotation

    fasta, gff3 = str(reference[0]), str(reference[1])
    bare = write_vcf(tmp_path, unannotated_vcf_text(Expected(genome).records))
    annotated = "resources/demo/vcf/MM-005_relapse.vcf.gz"
    unreadable = tmp_path / "input" / "empty.vcf"
    unreadable.write_text("")
    references = {"fasta": fasta, "gff3": gff3}
    assert needs_annotation(bare, mode="auto", **references)
    assert not needs_annotation(annotated, mode="auto", **references)
    assert not needs_annotation(bare, mode="auto")  # nothing to annotate with
    assert not needs_annotation(unreadable, mode="auto", **references)  # the patient job says
    assert needs_annotation(annotated, mode="bcftools_csq", **references)
    with pytest.raises(InputError, match="unknown annotation mode"):
        needs_annotation(bare, mode="vep")


def test_coordinate_regions_match_the_knowledge_panel_regions():
    from mmresist.ingest.annotate import coordinate_regions
    from mmresist.knowledge.load import REGION_PADDING, load_knowledge

    regions = coordinate_regions(
        "resources/knowledge/gene_coordinates.tsv", "GRCh38", REGION_PADDING
    )
    by_chrom = load_knowledge("resources/knowledge").panel_regions("GRCh38")
    assert by_chrom is not None
    expected = sorted((chrom, start, end) for chrom, spans in by_chrom.items()
                      for start, end in spans)  # fmt: skip
    assert sorted(regions) == expected
    assert (
        coordinate_regions("resources/knowledge/gene_coordinates.tsv", "GRCh37", REGION_PADDING)
        == []
    )


def test_annotation_settings_are_checked_before_any_job(tmp_path, reference):
    fasta, gff3 = reference
    csq.check_annotation_settings("auto", None, None)
    csq.check_annotation_settings("bcftools_csq", str(fasta), str(gff3))
    with pytest.raises(InputError, match="does not exist") as missing:
        csq.check_annotation_settings("auto", str(tmp_path / "nope.fa"), str(gff3))
    assert missing.value.field == "annotation.fasta"
    with pytest.raises(InputError, match="needs annotation.fasta"):
        csq.check_annotation_settings("bcftools_csq", str(fasta), None)
