"""Time mmresist VCF ingest against `bcftools view -H` on one synthetic VEP-annotated VCF."""

from __future__ import annotations

import argparse
import bisect
import csv
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run from a clone without `pip install -e .` too.
sys.path.insert(0, str(REPO / "workflow"))

# Used when resources/knowledge/genes.tsv is not there yet: genes recurrently mutated or
# targeted in multiple myeloma (drivers, resistance genes, immunotherapy targets).
BUILTIN_PANEL = (
    "KRAS NRAS BRAF MAP2K1 MAP2K2 RAF1 PTPN11 NF1 FGFR3 PIK3CA PTEN AKT1 "
    "PSMB5 PSMB6 PSMB8 PSMB9 PSMC2 PSMD1 PSMG2 XBP1 IRE1 ERN1 "
    "CRBN IKZF1 IKZF3 CUL4B CUL4A DDB1 RBX1 COP9 CSN9 COPS7B COPS2 "
    "TRAF3 TRAF2 CYLD BIRC2 BIRC3 NFKB1 NFKB2 NFKBIA MAP3K14 CD40 TNFRSF17 "
    "CD38 SLAMF7 GPRC5D FCRL5 "
    "NR3C1 KDM6A "
    "TP53 ATM ATR CHEK2 "
    "CDKN2C CDKN2A CDKN1B RB1 CCND1 CCND2 CCND3 "
    "BCL2 MCL1 BAX "
    "XPO1 DIS3 FAM46C TENT5C SP140 PRDM1 IRF4 EGR1 MAX HIST1H1E KMT2C MYC"
).split()


# GRCh38 primary assembly lengths, so the header looks like a real GRCh38 call set.
CONTIGS = {
    "chr1": 248956422, "chr2": 242193529, "chr3": 198295559, "chr4": 190214555,
    "chr5": 181538259, "chr6": 170805979, "chr7": 159345973, "chr8": 145138636,
    "chr9": 138394717, "chr10": 133797422, "chr11": 135086622, "chr12": 133275309,
    "chr13": 114364328, "chr14": 107043718, "chr15": 101991189, "chr16": 90338345,
    "chr17": 83257441, "chr18": 80373285, "chr19": 58617616, "chr20": 64444167,
    "chr21": 46709983, "chr22": 50818468, "chrX": 156040895,
}  # fmt: skip

VEP_FIELDS = (
    "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|"
    "HGVSp|cDNA_position|CDS_position|Protein_position|Amino_acids|Codons|Existing_variation|"
    "DISTANCE|STRAND|FLAGS|VARIANT_CLASS|SYMBOL_SOURCE|HGNC_ID|CANONICAL|MANE_SELECT|"
    "MANE_PLUS_CLINICAL|TSL|APPRIS|CCDS|ENSP|SWISSPROT|TREMBL|UNIPARC|UNIPROT_ISOFORM|SOURCE|"
    "SIFT|PolyPhen|DOMAINS|AF|gnomADe_AF|CLIN_SIG|SOMATIC|PHENO|PUBMED"
)

# Consequences with weights roughly as VEP gives them over a genome's variants in genes:
# mostly intronic, a few per cent coding.
CONSEQUENCES = (
    ("intron_variant", "MODIFIER", 60),
    ("upstream_gene_variant", "MODIFIER", 10),
    ("downstream_gene_variant", "MODIFIER", 10),
    ("non_coding_transcript_exon_variant", "MODIFIER", 8),
    ("3_prime_UTR_variant", "MODIFIER", 5),
    ("missense_variant", "MODERATE", 3),
    ("splice_region_variant&intron_variant", "LOW", 2),
    ("synonymous_variant", "LOW", 1.5),
    ("stop_gained", "HIGH", 0.5),
)
# Protein-altering consequences, and the rest of VEP's mix, for a fixed share of panel records.
PROTEIN_ALTERING = tuple(c for c in CONSEQUENCES if c[0] in ("missense_variant", "stop_gained"))
NOT_PROTEIN_ALTERING = tuple(c for c in CONSEQUENCES if c not in PROTEIN_ALTERING)
AMINO = "ACDEFGHIKLMNPQRSTVWY"
THREE = dict(
    zip(
        AMINO,
        "Ala Cys Asp Glu Phe Gly His Ile Lys Leu Met Asn Pro Gln Arg Ser Thr Val Trp Tyr".split(),
        strict=True,
    )
)


def panel_genes() -> list[str]:
    """Symbols and aliases of resources/knowledge/genes.tsv when present, else a built-in list.

    The workflow passes the knowledge base's symbols plus aliases, so the benchmark does too.
    """
    table = REPO / "resources" / "knowledge" / "genes.tsv"
    if table.is_file():
        with table.open(newline="", encoding="utf-8") as stream:
            rows = list(csv.DictReader(stream, delimiter="\t"))
        genes: list[str] = []
        for row in rows:
            symbol = (row.get("symbol") or row.get("gene") or "").strip()
            if not symbol or symbol.startswith("#"):
                continue
            genes.append(symbol)
            aliases = row.get("aliases") or ""
            genes.extend(alias.strip() for alias in re.split(r"[,;|]", aliases) if alias.strip())
        if genes:
            return sorted(set(genes))
    return list(BUILTIN_PANEL)


def panel_gene_spans() -> dict[str, list[tuple[int, int, str]]]:
    """GRCh38 panel gene bodies from resources/knowledge/gene_coordinates.tsv, widened by
    the 5 kb in which VEP still names a gene (up/downstream): chrN -> sorted (start, end,
    symbol). Records placed there are annotated to that gene, as VEP would."""
    table = REPO / "resources" / "knowledge" / "gene_coordinates.tsv"
    spans: dict[str, list[tuple[int, int, str]]] = {}
    with table.open(newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream, delimiter="\t"):
            if row["genome_build"] == "GRCh38":
                spans.setdefault(f"chr{row['chrom']}", []).append(
                    (int(row["start"]) - 5000, int(row["end"]) + 5000, row["symbol"])
                )
    return {chrom: sorted(items) for chrom, items in spans.items()}


def background_genes(rng: random.Random, count: int, panel: set[str]) -> list[str]:
    """Symbols shaped like HGNC ones (letters then digits) that are not panel genes."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    genes: set[str] = set()
    while len(genes) < count:
        stem = "".join(rng.choice(letters) for _ in range(rng.randint(2, 5)))
        suffix = str(rng.randint(1, 40)) if rng.random() < 0.6 else ""
        gene = stem + suffix
        if gene not in panel:
            genes.add(gene)
    return sorted(genes)


def entry_templates(
    rng: random.Random,
    gene: str,
    count: int,
    consequences: tuple[tuple[str, str, float], ...] = CONSEQUENCES,
) -> list[str]:
    """CSQ entries for ``gene`` without their leading Allele field, drawn from
    ``consequences`` by weight."""
    gene_id = f"ENSG{rng.randint(100000, 299999):011d}"
    hgnc = f"HGNC:{rng.randint(1, 50000)}"
    templates = []
    weights = [weight for _, _, weight in consequences]
    for index in range(count):
        consequence, impact, _ = rng.choices(consequences, weights=weights)[0]
        transcript = f"ENST{rng.randint(200000, 699999):011d}.{rng.randint(1, 12)}"
        protein = f"ENSP{rng.randint(200000, 699999):011d}.{rng.randint(1, 9)}"
        biotype = "protein_coding" if rng.random() < 0.75 else "retained_intron"
        codon = rng.randint(2, 900)
        ref_aa, alt_aa = rng.choice(AMINO), rng.choice(AMINO)
        coding = consequence in ("missense_variant", "synonymous_variant", "stop_gained")
        altering = consequence in ("missense_variant", "stop_gained")
        cds = codon * 3 - 1
        hgvsc = f"{transcript}:c.{cds}C>T" if coding or rng.random() < 0.5 else ""
        if consequence == "missense_variant":
            hgvsp = f"{protein}:p.{THREE[ref_aa]}{codon}{THREE[alt_aa]}"
            amino_acids = f"{ref_aa}/{alt_aa}"
        elif consequence == "stop_gained":
            hgvsp = f"{protein}:p.{THREE[ref_aa]}{codon}Ter"
            amino_acids = f"{ref_aa}/*"
        elif consequence == "synonymous_variant":
            hgvsp = f"{protein}:p.{THREE[ref_aa]}{codon}%3D"
            amino_acids = ref_aa
        else:
            hgvsp = amino_acids = ""
        protein_fields = (
            (f"{cds + 120}", f"{cds}", f"{codon}", amino_acids, "cCg/cTg")
            if coding
            else ("", "", "", "", "")
        )
        canonical = "YES" if index == 0 else ""
        mane = f"NM_{rng.randint(1000, 999999):06d}.{rng.randint(1, 5)}" if index == 0 else ""
        fields = [
            consequence,
            impact,
            gene,
            gene_id,
            "Transcript",
            transcript,
            biotype,
            f"{rng.randint(1, 12)}/{rng.randint(12, 20)}" if coding else "",
            "" if coding else f"{rng.randint(1, 11)}/{rng.randint(12, 20)}",
            hgvsc,
            hgvsp,
            *protein_fields,
            f"rs{rng.randint(1000, 999999999)}" if rng.random() < 0.3 else "",
            str(rng.randint(1, 4999)) if "stream" in consequence else "",
            rng.choice(("1", "-1")),
            "",
            "SNV",
            "HGNC",
            hgnc,
            canonical,
            mane,
            "",
            str(rng.randint(1, 5)) if rng.random() < 0.7 else "",
            "P1" if index == 0 else "",
            f"CCDS{rng.randint(1000, 99999)}.1" if coding else "",
            protein.split(".")[0] if coding else "",
            f"P{rng.randint(10000, 99999)}.{rng.randint(100, 250)}" if coding else "",
            "",
            f"UPI0000{rng.randint(100000, 999999)}" if coding else "",
            "",
            "Ensembl",
            "deleterious(0.01)" if consequence == "missense_variant" else "",
            "probably_damaging(0.98)" if consequence == "missense_variant" else "",
            "PANTHER:PTHR24416&Pfam:PF07714" if coding else "",
            # Population frequencies: common for background records, absent for the
            # protein-altering ones (somatic calls), so those stay kept: the worst case.
            f"0.{rng.randint(1, 9999):04d}" if not altering and rng.random() < 0.3 else "",
            f"{rng.random():.3e}" if not altering and rng.random() < 0.3 else "",
            "",
            "",
            "",
            "",
        ]
        templates.append("|".join(fields))
    return templates


def contig_positions(
    rng: random.Random,
    length: int,
    count: int,
    genes: list[tuple[int, int, str]],
    panel_count: int | None,
) -> list[int]:
    """``count`` sorted positions on a contig. With ``panel_count`` None they are uniform,
    so panel genes get their share of the genome; otherwise exactly ``panel_count`` fall
    in panel gene spans (uniformly over the spans' length) and the rest outside them."""
    if panel_count is None:
        return sorted(rng.sample(range(10_000, length - 10_000), count))
    panel_count = min(panel_count, count)
    spans = [(start, end) for start, end, _ in genes if end > start]
    chosen: set[int] = set()
    if spans and panel_count:
        cumulative = []
        total = 0
        for start, end in spans:
            total += end - start
            cumulative.append(total)
        while len(chosen) < panel_count:
            offset = rng.randrange(total)
            index = bisect.bisect_right(cumulative, offset)
            start = spans[index][0]
            chosen.add(start + offset - (cumulative[index - 1] if index else 0))
    starts = [start for start, _ in spans]

    def in_span(pos: int) -> bool:
        index = bisect.bisect_right(starts, pos) - 1
        return index >= 0 and spans[index][0] <= pos <= spans[index][1]

    wanted = count - len(chosen)
    while wanted > 0:
        for pos in rng.sample(range(10_000, length - 10_000), wanted + 16):
            if wanted and pos not in chosen and not in_span(pos):
                chosen.add(pos)
                wanted -= 1
    return sorted(chosen)


def write_vcf(
    path: Path,
    records: int,
    seed: int,
    panel_records: int | None = None,
    protein_altering: int | None = None,
) -> None:
    """Write the synthetic VCF, bgzipped (bgzip -@2 when present, else pysam).

    ``panel_records`` fixes how many records lie in panel genes (spread over the contigs by
    the genes' length); None leaves it to chance (the genes' share of the genome, about
    0.25%, so 2,500 per million). With ``panel_records``, ``protein_altering`` fixes how
    many of them carry a missense or stop-gained entry (each its own protein change); the
    others draw from the rest of VEP's mix."""
    rng = random.Random(seed)
    panel = set(panel_genes())
    background = background_genes(rng, 5000, panel)
    templates = {gene: entry_templates(rng, gene, 4) for gene in background}
    spans = panel_gene_spans()
    hit_templates = {
        gene: entry_templates(rng, gene, 4) for items in spans.values() for *_, gene in items
    }
    header = [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=weak_evidence,Description="Mutation does not meet likelihood threshold">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt'
        ' alleles in the order listed">',
        '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fractions of alternate alleles'
        ' in the tumor">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
        '##INFO=<ID=TLOD,Number=A,Type=Float,Description="Log 10 likelihood ratio score">',
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl'
        f' VEP. Format: {VEP_FIELDS}">',
        '##VEP="v110" time="2024-01-01 00:00:00" cache="homo_sapiens/110_GRCh38" ensembl=110',
        "##reference=file:///references/GRCh38/Homo_sapiens_assembly38.fasta",
        "##normal_sample=NORMAL_01",
        "##tumor_sample=TUMOR_01",
        *(
            f"##contig=<ID={name},length={length},assembly=GRCh38>"
            for name, length in CONTIGS.items()
        ),
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL_01\tTUMOR_01",
    ]
    genome = sum(CONTIGS.values())
    per_contig = {
        name: max(1, round(records * length / genome)) for name, length in CONTIGS.items()
    }
    per_contig["chrX"] += records - sum(per_contig.values())
    panel_per_contig: dict[str, int | None] = dict.fromkeys(CONTIGS)
    if panel_records is not None:
        lengths = {
            chrom: sum(end - start for start, end, _ in spans.get(chrom, [])) for chrom in CONTIGS
        }
        covered = sum(lengths.values()) or 1
        panel_per_contig = {
            chrom: round(panel_records * lengths[chrom] / covered) for chrom in CONTIGS
        }
    bases = "ACGT"
    background_count = len(background)

    altering_left = 0
    if panel_records is not None and protein_altering is not None:
        altering_left = min(protein_altering, panel_records)
        hit_templates = {
            gene: entry_templates(rng, gene, 4, NOT_PROTEIN_ALTERING) for gene in hit_templates
        }
    panel_left = panel_records or 0

    def record_lines():
        nonlocal altering_left, panel_left
        for chrom, count in per_contig.items():
            length = CONTIGS[chrom]
            genes = spans.get(chrom, [])
            next_gene = 0
            positions = contig_positions(rng, length, count, genes, panel_per_contig[chrom])
            for pos in positions:
                ref = bases[pos % 4]
                alt = bases[(pos + 1 + rng.randint(0, 2)) % 4]
                while next_gene < len(genes) and genes[next_gene][1] < pos:
                    next_gene += 1
                if next_gene < len(genes) and genes[next_gene][0] <= pos:
                    gene = genes[next_gene][2]
                    pool = hit_templates[gene]
                    chosen = rng.sample(pool, rng.randint(1, 4))
                    # Spread the protein-altering records evenly over the panel records.
                    if altering_left and rng.random() < altering_left / max(panel_left, 1):
                        chosen = entry_templates(rng, gene, 1, PROTEIN_ALTERING)
                        altering_left -= 1
                    panel_left -= 1
                else:
                    pool = templates[background[rng.randrange(background_count)]]
                    chosen = rng.sample(pool, rng.randint(1, 4))
                csq = ",".join(f"{alt}|{entry}" for entry in chosen)
                depth = rng.randint(20, 400)
                alt_reads = max(1, int(depth * rng.random() * 0.6))
                normal_depth = rng.randint(20, 200)
                filt = "PASS" if rng.random() < 0.7 else "weak_evidence"
                yield (
                    f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\t{filt}\tDP={depth + normal_depth};"
                    f"TLOD={rng.uniform(3, 900):.2f};CSQ={csq}\tGT:AD:AF:DP\t"
                    f"0/0:{normal_depth},0:0.005:{normal_depth}\t"
                    f"0/1:{depth - alt_reads},{alt_reads}:{alt_reads / depth:.3f}:{depth}\n"
                )

    path.parent.mkdir(parents=True, exist_ok=True)
    bgzip = shutil.which("bgzip")
    if bgzip:
        with path.open("wb") as out:
            process = subprocess.Popen([bgzip, "-@", "2", "-c"], stdin=subprocess.PIPE, stdout=out)
            assert process.stdin is not None
            process.stdin.write(("\n".join(header) + "\n").encode())
            chunk: list[str] = []
            for line in record_lines():
                chunk.append(line)
                if len(chunk) >= 20_000:
                    process.stdin.write("".join(chunk).encode())
                    chunk.clear()
            process.stdin.write("".join(chunk).encode())
            process.stdin.close()
            if process.wait() != 0:
                raise SystemExit(f"bgzip failed writing {path}")
    else:
        import pysam

        plain = path.with_suffix("")
        with plain.open("w", encoding="ascii") as out:
            out.write("\n".join(header) + "\n")
            chunk = []
            for line in record_lines():
                chunk.append(line)
                if len(chunk) >= 20_000:
                    out.write("".join(chunk))
                    chunk.clear()
            out.write("".join(chunk))
        pysam.tabix_compress(str(plain), str(path), force=True)
        plain.unlink()


def time_bcftools(path: Path) -> tuple[float, float] | None:
    """Wall and CPU seconds of `bcftools view -H path > /dev/null`."""
    bcftools = shutil.which("bcftools")
    if not bcftools:
        return None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run([bcftools, "view", "-H", str(path)], stdout=sink, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def time_ingest(
    path: Path, genes: list[str], regions: object = None
) -> tuple[float, float, object]:
    """Wall and CPU seconds of mmresist's ingest step: this process's threads plus the
    worker processes it forks for an indexed file. With ``regions`` (a PanelRegions) it
    reads as the workflow does for an indexed GRCh38 file: the panel regions only."""
    from mmresist.ingest.vcf import read_sample

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    cpu_start = time.process_time()
    children_start = children_cpu()
    start = time.perf_counter()
    ingest = read_sample(
        vcf_path=str(path),
        sample_id="BENCH",
        tumor_sample=None,
        panel_genes=set(genes),
        regions=regions,
    )
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu_start + children_cpu() - children_start
    return wall, cpu, ingest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20240607)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse an existing synthetic file of this size"
    )
    args = parser.parse_args(argv)

    path = args.out / f"ingest_{args.records}.vcf.gz"
    if not (args.reuse and path.is_file()):
        start = time.perf_counter()
        write_vcf(path, args.records, args.seed)
        print(
            f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in "
            f"{time.perf_counter() - start:.1f} s"
        )
    if not Path(f"{path}.tbi").is_file():
        import pysam

        # An index lets ingest read the contigs in two processes, as it does for a
        # user's indexed VCF.
        pysam.tabix_index(str(path), preset="vcf", force=True)
    genes = panel_genes()
    print(f"records: {args.records:,}; panel genes: {len(genes)}")

    from mmresist.ingest.vcf import PanelRegions
    from mmresist.knowledge.load import load_knowledge

    knowledge = load_knowledge(REPO / "resources" / "knowledge")
    regions = PanelRegions("GRCh38", knowledge.panel_regions("GRCh38"))

    bcftools = time_bcftools(path)
    timings = {}
    for label, chosen in (("panel regions", regions), ("whole file", None)):
        wall, cpu, ingest = time_ingest(path, genes, chosen)
        timings[label] = (wall, cpu)
        print(
            f"mmresist ingest ({ingest.scan}): {wall:.2f} s wall, {cpu:.2f} s CPU "
            f"(records_read={ingest.records_read:,}, "
            f"records_in_panel={ingest.records_in_panel:,}, calls={len(ingest.calls):,})"
        )
    if bcftools is None:
        print("bcftools view -H: bcftools is not on PATH, no comparison made")
    else:
        bcftools_wall, bcftools_cpu = bcftools
        print(f"bcftools view -H: {bcftools_wall:.2f} s wall, {bcftools_cpu:.2f} s CPU")
        for label, (wall, cpu) in timings.items():
            print(
                f"ratio ingest ({label}) / bcftools: {wall / bcftools_wall:.2f} wall, "
                f"{cpu / bcftools_cpu:.2f} CPU"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
