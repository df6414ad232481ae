"""Cohort benchmark: the whole Snakemake workflow on N synthetic patients versus bcftools.

Writes N synthetic VEP-annotated VCFs (default 200 exome-scale patients of 20,000
annotated records, the generator of benchmarks/ingest.py), then measures in one run:
reading every file once with `bcftools view -H`, and the whole workflow
(`snakemake --cores C`) with and without PDF rendering. Prints figures and ratios; it
never asserts a timing. With `--patients 1 --records 1000000` it measures the
single-patient workflow against the bcftools read of the same file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import pysam  # noqa: E402
from ingest import write_vcf  # noqa: E402


def make_cohort(folder: Path, patients: int, records: int) -> Path:
    """Write the VCFs (reused when present) and a samples sheet; return the sheet."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["patient_id\tsample_id\ttimepoint\tcollection_date\tvcf"]
    for number in range(1, patients + 1):
        vcf = folder / f"P{number:04d}.vcf.gz"
        if not vcf.is_file():
            write_vcf(vcf, records, seed=number)
        if not Path(f"{vcf}.tbi").is_file():
            pysam.tabix_index(str(vcf), preset="vcf", force=True)
        rows.append(f"P{number:04d}\tP{number:04d}-REL\trelapse\t2024-06-01\t{vcf}")
    sheet = folder / "samples.tsv"
    sheet.write_text("\n".join(rows) + "\n")
    return sheet


def time_bcftools(vcfs: list[Path]) -> float | None:
    bcftools = shutil.which("bcftools")
    if not bcftools:
        return None
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        for vcf in vcfs:
            subprocess.run([bcftools, "view", "-H", str(vcf)], stdout=sink, check=True)
    return time.perf_counter() - start


def time_workflow(sheet: Path, outdir: Path, cores: int, pdf: bool) -> float:
    shutil.rmtree(outdir, ignore_errors=True)
    config = outdir.parent / f"config-{outdir.name}.yaml"
    config.write_text(
        f"samples: {sheet}\noutdir: {outdir}\ngenome_build: GRCh38\n"
        "therapy_lines: null\nlabs: null\ncytogenetics: null\nmrd: null\n"
        f"knowledge: {REPO / 'resources/knowledge'}\nreport:\n  pdf: {str(pdf).lower()}\n"
    )
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    command = [
        str(bin_dir / "snakemake"),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--cores",
        str(cores),
        "--configfile",
        str(config),
        "--quiet",
        "all",
    ]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"workflow failed:\n{result.stderr[-3000:]}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    args = parser.parse_args(argv)

    folder = args.out / f"cohort_{args.patients}x{args.records}"
    start = time.perf_counter()
    sheet = make_cohort(folder, args.patients, args.records)
    print(
        f"cohort: {args.patients} patients x {args.records:,} records in {folder} "
        f"(prepared in {time.perf_counter() - start:.1f} s)"
    )
    vcfs = sorted(folder.glob("P*.vcf.gz"))[: args.patients]

    bcftools_seconds = time_bcftools(vcfs)
    without_pdf = time_workflow(sheet, folder / "reports-nopdf", args.cores, pdf=False)
    with_pdf = time_workflow(sheet, folder / "reports-pdf", args.cores, pdf=True)
    print(f"workflow, JSON+TSV+HTML (--cores {args.cores}): {without_pdf:.1f} s")
    print(f"workflow, JSON+TSV+HTML+PDF (--cores {args.cores}): {with_pdf:.1f} s")
    if bcftools_seconds is None:
        print("bcftools view -H: bcftools is not on PATH, no comparison made")
        return 0
    print(f"bcftools view -H, every file once: {bcftools_seconds:.1f} s")
    print(f"ratio workflow / bcftools, without PDF: {without_pdf / bcftools_seconds:.2f}")
    print(f"ratio workflow / bcftools, with PDF:    {with_pdf / bcftools_seconds:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
