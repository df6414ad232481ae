"""Helpers that write small VCF, bgzipped VCF and BCF files, shaped like callers' output."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from pathlib import Path

import pysam

# GRCh38 lengths: ingest infers the build from chr1's length.
CONTIGS_GRCH38 = {
    "chr1": 248956422,
    "chr3": 198295559,
    "chr12": 133275309,
    "chr14": 107043718,
    "chr17": 83257441,
}

VEP_FIELDS = (
    "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|"
    "HGVSp|cDNA_position|CDS_position|Protein_position|Amino_acids|Codons|Existing_variation|"
    "ALLELE_NUM|DISTANCE|STRAND|FLAGS|PICK|VARIANT_CLASS|SYMBOL_SOURCE|HGNC_ID|CANONICAL|"
    "MANE_SELECT|MANE_PLUS_CLINICAL|TSL|APPRIS|CCDS|ENSP"
).split("|")

# VEP before --symbol was common and before Allele came first (cyvcf2's test-hemi.vcf).
VEP_FIELDS_NO_ALLELE = (
    "Consequence|Codons|Amino_acids|Gene|SYMBOL|Feature|EXON|PolyPhen|SIFT|Protein_position|BIOTYPE"
).split("|")

SNPEFF_FIELDS = (
    "Allele | Annotation | Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID "
    "| Transcript_BioType | Rank | HGVS.c | HGVS.p | cDNA.pos / cDNA.length | CDS.pos / "
    "CDS.length | AA.pos / AA.length | Distance | ERRORS / WARNINGS / INFO"
)


def vep_header(fields: Sequence[str] = VEP_FIELDS, tag: str = "CSQ") -> str:
    return (
        f'##INFO=<ID={tag},Number=.,Type=String,Description="Consequence annotations from '
        f'Ensembl VEP. Format: {"|".join(fields)}">'
    )


SNPEFF_HEADER = (
    '##INFO=<ID=ANN,Number=.,Type=String,Description="Functional annotations: '
    f"'{SNPEFF_FIELDS}' \">"
)
BCSQ_HEADER = (
    '##INFO=<ID=BCSQ,Number=.,Type=String,Description="Haplotype-aware consequence annotation '
    "from BCFtools/csq, see http://samtools.github.io/bcftools/howtos/csq-calling.html for "
    'details. Format: Consequence|gene|transcript|biotype|strand|amino_acid_change|dna_change">'
)
# bcftools csq before 1.4 wrote its annotation under CSQ: not VEP, whatever the tag says.
OLD_BCFTOOLS_CSQ_HEADER = (
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Local consequence annotation from '
    "BCFtools/csq. Format: '[*]consequence|gene|transcript|biotype[|strand|amino_acid_change|"
    "dna_change]'\">"
)
EFF_HEADER = (
    '##INFO=<ID=EFF,Number=.,Type=String,Description="Predicted effects for this variant.'
    "Format: 'Effect ( Effect_Impact | Functional_Class | Codon_Change | Amino_Acid_Change| "
    "Amino_Acid_length | Gene_Name | Transcript_BioType | Gene_Coding | Transcript_ID | "
    "Exon_Rank  | Genotype_Number [ | ERRORS | WARNINGS ] )' \">"
)

FORMATS = {
    "GT": '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    "AD": '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and '
    'alt alleles in the order listed">',
    "AF": '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fractions of alternate '
    'alleles in the tumor">',
    "AF1": '##FORMAT=<ID=AF,Number=1,Type=Float,Description="Allele Frequency">',
    "FA": '##FORMAT=<ID=FA,Number=A,Type=Float,Description="Allele fraction of the alternate '
    'allele with regard to reference">',
    "DP": '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
    "VD": '##FORMAT=<ID=VD,Number=1,Type=Integer,Description="Variant Depth">',
    "AO": '##FORMAT=<ID=AO,Number=A,Type=Integer,Description="Alternate allele observation count">',
    "RO": '##FORMAT=<ID=RO,Number=1,Type=Integer,Description="Reference allele observation count">',
    "AU": "##FORMAT=<ID=AU,Number=2,Type=Integer,Description=\"Number of 'A' alleles used in "
    'tiers 1,2">',
    "CU": "##FORMAT=<ID=CU,Number=2,Type=Integer,Description=\"Number of 'C' alleles used in "
    'tiers 1,2">',
    "GU": "##FORMAT=<ID=GU,Number=2,Type=Integer,Description=\"Number of 'G' alleles used in "
    'tiers 1,2">',
    "TU": "##FORMAT=<ID=TU,Number=2,Type=Integer,Description=\"Number of 'T' alleles used in "
    'tiers 1,2">',
    "TAR": '##FORMAT=<ID=TAR,Number=2,Type=Integer,Description="Reads strongly supporting '
    'alternate allele for tiers 1,2">',
    "TIR": '##FORMAT=<ID=TIR,Number=2,Type=Integer,Description="Reads strongly supporting indel '
    'allele for tiers 1,2">',
    "RD": '##FORMAT=<ID=RD,Number=1,Type=Integer,Description="Depth of reference-supporting '
    'bases (reads1)">',
    "AD1": '##FORMAT=<ID=AD,Number=1,Type=Integer,Description="Depth of variant-supporting '
    'bases (reads2)">',
    "FREQ": '##FORMAT=<ID=FREQ,Number=1,Type=String,Description="Variant allele frequency">',
}


def vep_entry(fields: Sequence[str] = VEP_FIELDS, **values: str) -> str:
    """One CSQ entry; keyword names are VEP field names."""
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"not VEP fields of this layout: {sorted(unknown)}")
    return "|".join(values.get(name, "") for name in fields)


def snpeff_entry(
    allele: str,
    annotation: str,
    impact: str,
    gene: str,
    transcript: str,
    *,
    biotype: str = "protein_coding",
    hgvsc: str = "",
    hgvsp: str = "",
    aa: str = "",
) -> str:
    return "|".join(
        [allele, annotation, impact, gene, gene, "transcript", transcript, biotype, "1/5",
         hgvsc, hgvsp, "", "", aa, "", ""]
    )  # fmt: skip


def row(
    chrom: str,
    pos: int,
    ref: str,
    alt: str,
    info: str,
    fmt: str = "",
    *samples: str,
    filt: str = "PASS",
    ident: str = ".",
) -> str:
    columns = [chrom, str(pos), ident, ref, alt, ".", filt, info or "."]
    if fmt:
        columns.append(fmt)
        columns.extend(samples)
    return "\t".join(columns)


def vcf_text(
    *,
    info: Iterable[str] = (),
    formats: Iterable[str] = (),
    samples: Sequence[str] = (),
    records: Iterable[str] = (),
    extra: Iterable[str] = (),
    contigs: dict[str, int] | None = None,
) -> str:
    lines = ["##fileformat=VCFv4.2"]
    lines.append('##FILTER=<ID=PASS,Description="All filters passed">')
    lines.append('##FILTER=<ID=weak_evidence,Description="Low evidence">')
    for name, length in (contigs or CONTIGS_GRCH38).items():
        lines.append(f"##contig=<ID={name},length={length}>")
    lines.extend(extra)
    lines.extend(info)
    lines.extend(FORMATS[name] if name in FORMATS else name for name in formats)
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    if samples:
        columns += ["FORMAT", *samples]
    lines.append("\t".join(columns))
    lines.extend(records)
    return "\n".join(lines) + "\n"


def write_vcf(directory: Path, name: str, text: str, *, kind: str = "vcf") -> Path:
    """Write ``text`` as plain VCF (``vcf``), bgzipped + tabix-indexed VCF (``vcf.gz``) or BCF."""
    directory.mkdir(parents=True, exist_ok=True)
    plain = directory / f"{name}.vcf"
    plain.write_text(text, encoding="utf-8")
    if kind == "vcf":
        return plain
    if kind == "vcf.gz":
        target = directory / f"{name}.vcf.gz"
        pysam.tabix_compress(str(plain), str(target), force=True)
        pysam.tabix_index(str(target), preset="vcf", force=True)
        return target
    if kind == "bcf":
        target = directory / f"{name}.bcf"
        with pysam.VariantFile(str(plain)) as source:
            with pysam.VariantFile(str(target), "wb", header=source.header) as sink:
                for record in source:
                    sink.write(record)
        return target
    raise ValueError(f"unknown kind {kind!r}")


# --- a small seeded genome with PSMB5 on it, for bcftools csq -----------------------

COMPLEMENT = str.maketrans("ACGT", "TGCA")
CODE = {
    a + b + c: aa
    for (a, b, c), aa in zip(
        ((x, y, z) for x in "TCAG" for y in "TCAG" for z in "TCAG"),
        "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
        strict=True,
    )
}
GENE_ID = "ENSG00000100804"
TRANSCRIPT = "ENST00000361611"
LENGTH = 3000
# PSMB5 on the minus strand (as in the genome): exon 1 1701-1900 (CDS 1701-1850, ATG at
# 1848-1850), intron 1301-1700, exon 2 1101-1300 (CDS 1151-1300, stop codon 1151-1153).
EXON1_CDS = (1701, 1850)
EXON2_CDS = (1151, 1300)


def revcomp(seq: str) -> str:
    return seq.translate(COMPLEMENT)[::-1]


def translate(cds: str) -> str:
    protein = []
    for i in range(0, len(cds) - 2, 3):
        aa = CODE[cds[i : i + 3]]
        protein.append(aa)
        if aa == "*":
            break
    return "".join(protein)


def genome_pos(i: int) -> int:
    """1-based genome position of 0-based CDS index ``i`` (minus strand, two exons)."""
    return EXON1_CDS[1] - i if i < 150 else EXON2_CDS[1] - (i - 150)


class Genome:
    def __init__(self, seed: int = 7) -> None:
        rng = random.Random(seed)
        bases = [rng.choice("ACGT") for _ in range(LENGTH)]
        codons = ["ATG"]
        while len(codons) < 99:
            codon = "".join(rng.choice("ACGT") for _ in range(3))
            if CODE[codon] != "*":
                codons.append(codon)
        codons[19] = "CAG"  # Q20: one base from a stop (TAG)
        codons.append("TAA")
        self.cds = "".join(codons)

        def put(start: int, end: int, seq: str) -> None:
            assert len(seq) == end - start + 1
            bases[start - 1 : end] = list(seq)

        put(*EXON1_CDS, revcomp(self.cds[:150]))
        put(*EXON2_CDS, revcomp(self.cds[150:]))
        intron = list(revcomp("".join(bases[1300:1700])))
        intron[:2], intron[-2:] = ["G", "T"], ["A", "G"]
        put(1301, 1700, revcomp("".join(intron)))
        self.seq = "".join(bases)

    def base(self, pos: int) -> str:
        return self.seq[pos - 1]

    def mutate_cds(self, i: int, genome_alt: str) -> str:
        """CDS after a genome-strand SNV at CDS index ``i``."""
        return self.cds[:i] + genome_alt.translate(COMPLEMENT) + self.cds[i + 1 :]


def gff3_text(seqid: str = "14") -> str:
    rows = [
        ("gene", 1001, 2000, ".", f"ID=gene:{GENE_ID};Name=PSMB5;biotype=protein_coding;"
         f"gene_id={GENE_ID};version=1"),
        ("mRNA", 1101, 1900, ".", f"ID=transcript:{TRANSCRIPT};Parent=gene:{GENE_ID};"
         f"Name=PSMB5-201;biotype=protein_coding;tag=Ensembl_canonical;"
         f"transcript_id={TRANSCRIPT};version=1"),
        ("five_prime_UTR", 1851, 1900, ".", f"Parent=transcript:{TRANSCRIPT}"),
        ("exon", 1701, 1900, ".", f"Parent=transcript:{TRANSCRIPT};exon_id=ENSE1;rank=1"),
        ("CDS", *EXON1_CDS, "0", f"ID=CDS:ENSP1;Parent=transcript:{TRANSCRIPT};protein_id=ENSP1"),
        ("exon", 1101, 1300, ".", f"Parent=transcript:{TRANSCRIPT};exon_id=ENSE2;rank=2"),
        ("CDS", *EXON2_CDS, "0", f"ID=CDS:ENSP1;Parent=transcript:{TRANSCRIPT};protein_id=ENSP1"),
        ("three_prime_UTR", 1101, 1150, ".", f"Parent=transcript:{TRANSCRIPT}"),
    ]  # fmt: skip
    lines = ["##gff-version 3", f"##sequence-region   {seqid} 1 {LENGTH}"]
    for kind, start, end, phase, attributes in rows:
        lines.append(
            "\t".join([seqid, "ensembl_havana", kind, str(start), str(end), ".", "-", phase,
                       attributes])
        )  # fmt: skip
    return "\n".join(lines) + "\n"


def fasta_text(genome: Genome, name: str = "14") -> str:
    body = "\n".join(genome.seq[i : i + 60] for i in range(0, LENGTH, 60))
    return f">{name}\n{body}\n"


def unannotated_vcf_text(records, *, chrom: str = "14", samples=("TUMOR",)) -> str:
    header = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={chrom},length={LENGTH}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT",
                   *samples]),
    ]  # fmt: skip
    lines = []
    for pos, ref, alt in sorted(records):
        n_alts = alt.count(",") + 1
        ad = ",".join(["60"] + ["40"] * n_alts)
        tumour = f"0/1:{ad}:{60 + 40 * n_alts}"
        normal = "0/0:" + ",".join(["80"] + ["0"] * n_alts) + ":80"
        values = [tumour if name == "TUMOR" else normal for name in samples]
        lines.append(
            "\t".join([chrom, str(pos), ".", ref, alt, ".", "PASS", ".", "GT:AD:DP", *values])
        )
    return "\n".join(header + lines) + "\n"
