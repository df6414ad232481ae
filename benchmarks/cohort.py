"""Workflow benchmarks, side by side in one run: the whole Snakemake workflow (report.json,
variants.tsv, report.html and the report.pdf summary) against reading the same files once
with `bcftools view -H`.

- large: one patient with 1,000,000 records (target: at most 1.0x bcftools);
- cohort: 200 exome-scale patients of 20,000 records each (target: at most 5x).

Inputs come from the generator of benchmarks/ingest.py: VEP-annotated records with VEP's
consequence mix. In the large file exactly --panel-records (200) lie in panel genes, at the
genes' real GRCh38 positions, and --protein-altering (20) of them are missense or
stop-gained; cohort files get the genes' share of the genome (about 50 of 20,000). They are
written once under --out and reused. For each workflow run it prints the wall time, the
bcftools time, their ratio and the peak memory of the patient jobs (each job's log ends with
it). `--small` runs 200,000 records and 20 patients for a busy machine. Prints figures and
never asserts a timing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import pysam  # noqa: E402
from ingest import write_vcf  # noqa: E402


def make_cohort(
    folder: Path,
    patients: int,
    records: int,
    panel_records: int | None = None,
    protein_altering: int | None = None,
) -> Path:
    """Write the VCFs (reused when present) and a samples sheet; return the sheet."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["patient_id\tsample_id\ttimepoint\tcollection_date\tvcf"]
    for number in range(1, patients + 1):
        vcf = folder / f"P{number:04d}.vcf.gz"
        if not vcf.is_file():
            write_vcf(
                vcf,
                records,
                seed=number,
                panel_records=panel_records,
                protein_altering=protein_altering,
            )
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
    """Wall seconds of one `snakemake` run from an empty output folder."""
    shutil.rmtree(outdir, ignore_errors=True)
    config = outdir.parent / f"config-{outdir.name}.yaml"
    config.write_text(
        f"samples: {sheet}\noutdir: {outdir}\ngenome_build: GRCh38\n"
        "therapy_lines: null\nlabs: null\ncytogenetics: null\nmrd: null\n"
        f"knowledge: {REPO / 'resources/knowledge'}\nreport:\n  pdf: {str(pdf).lower()}\n"
    )
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    # Jobs run as users run them: with PYTHONDONTWRITEBYTECODE every job would compile the
    # package's modules from source again (about 0.4 s each).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
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


PEAK = re.compile(r"^mmresist: peak memory (\d+) MiB$", re.M)


def peak_memory(outdir: Path, log: str) -> list[int]:
    """Peak memory (MiB) of every patient job of one kind, from the last line of its log."""
    peaks = []
    for path in sorted(outdir.glob(f"*/logs/{log}")):
        found = PEAK.findall(path.read_text(encoding="utf-8", errors="replace"))
        if found:
            peaks.append(int(found[-1]))
    return peaks


def describe_memory(outdir: Path) -> str:
    parts = []
    for log, job in (("report.log", "patient_report"), ("pdf.log", "patient_pdf")):
        peaks = peak_memory(outdir, log)
        if peaks:
            parts.append(
                f"{job} median {statistics.median(peaks):.0f} MiB, max {max(peaks)} MiB "
                f"({len(peaks)} jobs)"
            )
    return "; ".join(parts) or "no job logged its peak memory"


def measure(
    name: str,
    folder: Path,
    patients: int,
    records: int,
    args,
    panel_records: int | None = None,
    protein_altering: int | None = None,
) -> None:
    start = time.perf_counter()
    sheet = make_cohort(folder, patients, records, panel_records, protein_altering)
    print(
        f"\n== {name}: {patients} patient(s) x {records:,} records in {folder} "
        f"(prepared in {time.perf_counter() - start:.1f} s)"
    )
    vcfs = sorted(folder.glob("P*.vcf.gz"))[:patients]
    bcftools_seconds = time_bcftools(vcfs)
    if bcftools_seconds is None:
        print("bcftools view -H: bcftools is not on PATH, no comparison made")
    else:
        print(f"bcftools view -H, every file once: {bcftools_seconds:.2f} s")
    runs = [("with PDF", True)] + ([("without PDF", False)] if args.without_pdf else [])
    for label, pdf in runs:
        outdir = folder / ("reports-pdf" if pdf else "reports-nopdf")
        seconds = time_workflow(sheet, outdir, args.cores, pdf=pdf)
        ratio = f", ratio {seconds / bcftools_seconds:.2f}" if bcftools_seconds else ""
        print(f"workflow {label} (--cores {args.cores}): {seconds:.2f} s{ratio}")
        print(f"  peak memory per job: {describe_memory(outdir)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", choices=["both", "large", "cohort"], default="both")
    parser.add_argument("--patients", type=int, default=200, help="cohort: patients")
    parser.add_argument("--records", type=int, default=20_000, help="cohort: records each")
    parser.add_argument("--large-records", type=int, default=1_000_000, help="large: records")
    parser.add_argument(
        "--panel-records", type=int, default=200, help="large: records in panel genes"
    )
    parser.add_argument(
        "--protein-altering",
        type=int,
        default=20,
        help="large: how many panel records are protein-altering (missense or stop-gained)",
    )
    parser.add_argument("--small", action="store_true", help="200,000 records, 20 patients")
    parser.add_argument("--without-pdf", action="store_true", help="also run without PDFs")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    args = parser.parse_args(argv)
    if args.small:
        args.large_records, args.patients = 200_000, 20

    load = os.getloadavg()[0]
    print(f"load average (1 min) at start: {load:.2f} on {os.cpu_count()} cores")
    if load >= 1:
        print("  the machine is busy: figures will be slower than on an idle machine")
    if args.runs in ("both", "large"):
        # About 200 records in panel genes, as in a whole-genome call set filtered to
        # somatic calls; the report's length then matches a real patient's.
        folder = (
            args.out / f"large_1x{args.large_records}_panel{args.panel_records}"
            f"_altering{args.protein_altering}"
        )
        measure(
            "large",
            folder,
            1,
            args.large_records,
            args,
            args.panel_records,
            args.protein_altering,
        )
    if args.runs in ("both", "cohort"):
        folder = args.out / f"cohort_{args.patients}x{args.records}"
        measure("cohort", folder, args.patients, args.records, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
