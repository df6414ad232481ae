"""`mmresist <command>`: the entry points that Snakemake rules call."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence

from mmresist.errors import MmresistError


def _add_patient(subparsers) -> None:
    parser = subparsers.add_parser("patient", help="build one patient's report files")
    parser.add_argument("--patient", required=True, help="patient_id in the samples sheet")
    parser.add_argument("--samples", required=True, help="samples.tsv")
    parser.add_argument("--knowledge", required=True, help="knowledge folder or compiled JSON")
    parser.add_argument("--outdir", required=True, help="the patient's output folder")
    parser.add_argument("--genome-build", default="GRCh38", choices=["GRCh38", "GRCh37"])
    parser.add_argument("--therapy-lines")
    parser.add_argument("--labs")
    parser.add_argument("--cytogenetics")
    parser.add_argument("--mrd")
    parser.add_argument("--patients", help="patients.tsv (age, sex, weight, ECOG, ...)")
    # Filter options default to None: a setting not given takes interpret.filters.Filters's.
    parser.add_argument("--pass-only", action=argparse.BooleanOptionalAction)
    parser.add_argument("--min-depth", type=int)
    parser.add_argument("--min-alt-reads", type=int)
    parser.add_argument("--min-vaf", type=float)
    parser.add_argument("--protein-altering-only", action=argparse.BooleanOptionalAction)
    parser.add_argument("--max-population-af", type=float)
    parser.add_argument(
        "--population-af-fields",
        type=_names,
        metavar="NAME[,NAME...]",
        help="annotation subfields or INFO fields holding a population allele frequency",
    )
    parser.add_argument("--annotation-mode", default="auto", choices=["auto", "bcftools_csq"])
    parser.add_argument(
        "--approval-region",
        default="US",
        choices=["US", "EU"],
        help="whose approvals and labels apply to therapy options (default US)",
    )
    parser.add_argument(
        "--template-cache", help="folder for compiled report templates, shared by patient jobs"
    )
    parser.add_argument(
        "--annotated",
        action="append",
        default=[],
        metavar="SAMPLE_ID=RECORD",
        help="read this sample from the annotated copy `mmresist annotate` recorded",
    )
    parser.add_argument("--no-html", action="store_true", help="skip report.html")
    parser.add_argument(
        "--threads", type=int, default=None, help="worker processes for a large VCF (default 2)"
    )


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _run_patient(args) -> int:
    from mmresist.report.cohort import clear_failure, failure_record, write_failure

    clear_failure(args.outdir)
    try:
        return _patient(args)
    except MmresistError as error:
        # The cohort page lists this patient as failed with the reason; the job still
        # fails, so nothing downstream mistakes the patient for reported.
        write_failure(args.outdir, failure_record(patient_id=args.patient, error=error))
        raise


def _patient(args) -> int:
    from mmresist.interpret.filters import Filters
    from mmresist.pipeline import ClinicalPaths, run_patient

    given = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(Filters)
        if getattr(args, field.name) is not None
    }

    report = run_patient(
        patient_id=args.patient,
        samples_path=args.samples,
        knowledge_path=args.knowledge,
        outdir=args.outdir,
        genome_build=args.genome_build,
        filters=Filters(**given),
        clinical=ClinicalPaths(
            therapy_lines=args.therapy_lines or None,
            labs=args.labs or None,
            cytogenetics=args.cytogenetics or None,
            mrd=args.mrd or None,
            patients=args.patients or None,
        ),
        render=not args.no_html,
        annotation_mode=args.annotation_mode,
        threads=args.threads,
        annotated=_annotated(args.annotated),
        template_cache=args.template_cache,
        approval_region=args.approval_region,
    )
    # Counts only: variant-level data stays inside the output folder.
    print(
        f"mmresist: {args.patient}: {len(report['samples'])} samples, "
        f"{report['qc']['records_read']} records read, "
        f"{len(report['variants'])} panel variants, {len(report['findings'])} findings",
        file=sys.stderr,
    )
    _print_peak_memory()
    return 0


def _print_peak_memory() -> None:
    """Peak resident memory of this job's largest process (itself or a worker it waited
    for), for its log; benchmarks/cohort.py reads it."""
    import resource

    peaks = [
        resource.getrusage(who).ru_maxrss
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    ]
    print(f"mmresist: peak memory {max(peaks) / 1024:.0f} MiB", file=sys.stderr)


def _annotated(pairs: Sequence[str]) -> dict[str, str]:
    from mmresist.errors import InputError

    records = {}
    for pair in pairs:
        sample_id, separator, record = pair.partition("=")
        if not separator or not sample_id or not record:
            raise InputError("--annotated takes SAMPLE_ID=RECORD", field="--annotated", got=pair)
        records[sample_id] = record
    return records


def _add_annotate(subparsers) -> None:
    parser = subparsers.add_parser(
        "annotate", help="annotate one sample's VCF with bcftools csq (its own job)"
    )
    parser.add_argument("--vcf", required=True, help="the sample's VCF, as in samples.tsv")
    parser.add_argument("--out", required=True, help="annotated copy (.vcf.gz, .tbi beside)")
    parser.add_argument("--record", required=True, help="JSON record the patient job reads")
    parser.add_argument("--fasta", required=True, help="reference FASTA")
    parser.add_argument("--gff3", required=True, help="Ensembl GFF3")
    parser.add_argument("--tumor-sample", help="keep only this sample column")
    parser.add_argument("--genome-build", choices=["GRCh38", "GRCh37"])
    parser.add_argument(
        "--coordinates",
        help="gene_coordinates.tsv: annotate only the panel regions of --genome-build",
    )


def _run_annotate(args) -> int:
    from mmresist.ingest.annotate import annotate_sample, coordinate_regions
    from mmresist.knowledge.load import REGION_PADDING

    regions = None
    if args.coordinates and args.genome_build:
        regions = coordinate_regions(args.coordinates, args.genome_build, REGION_PADDING) or None
    record = annotate_sample(
        vcf=args.vcf,
        out=args.out,
        record=args.record,
        fasta=args.fasta,
        gff3=args.gff3,
        tumor_sample=args.tumor_sample or None,
        genome_build=args.genome_build,
        regions=regions,
    )
    scope = "the panel regions" if record.regions else "every record"
    print(f"mmresist: annotated {scope} of {args.vcf} into {args.out}", file=sys.stderr)
    return 0


def _run_pdf(args) -> int:
    from mmresist.report.summary import write_pdf

    write_pdf(report_path=args.report, pdf_path=args.pdf)
    _print_peak_memory()
    return 0


def _run_cohort(args) -> int:
    from mmresist.report.cohort import load_entries, render_cohort

    render_cohort(reports=load_entries(args.reports), out_dir=args.outdir, pdf=not args.no_pdf)
    return 0


def _run_knowledge(args) -> int:
    from mmresist.knowledge.load import load_knowledge
    from mmresist.knowledge.validate import validate_knowledge

    if args.action == "validate":
        problems = validate_knowledge(args.dir)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"mmresist: {len(problems)} problems in {args.dir}", file=sys.stderr)
            return 1
        print(f"mmresist: knowledge in {args.dir} is valid", file=sys.stderr)
        return 0
    if args.action == "compile":
        problems = validate_knowledge(args.dir)
        if problems:
            for problem in problems:
                print(problem, file=sys.stderr)
            return 1
        load_knowledge(args.dir).to_json(args.out)
        return 0
    if args.action == "show":
        from mmresist.knowledge.load import describe_gene

        print(describe_gene(load_knowledge(args.dir), args.gene))
        return 0
    raise AssertionError(args.action)


def _run_trials(args) -> int:
    from datetime import date
    from pathlib import Path

    from mmresist.io.files import atomic_write_text
    from mmresist.knowledge import trial_status

    directory = Path(args.knowledge_dir)
    if args.action == "status":
        import yaml

        document = yaml.safe_load((directory / "trials.yaml").read_text(encoding="utf-8"))
        policy = document.get("status_policy") or {}
        summary = trial_status.status_summary(
            document["trials"], policy.get("recruiting_max_age_months")
        )
        print(summary)
        return 0
    if args.action == "refresh":
        export = trial_status.read_export(args.export)
        checked = args.checked or date.today().isoformat()
        result = trial_status.refresh_trials(directory, export, checked=checked)
        print(result.report())
        if args.dry_run:
            print("mmresist: dry run, trials.yaml not written", file=sys.stderr)
            return 0
        atomic_write_text(directory / "trials.yaml", result.text)
        print(
            f"mmresist: {len(result.changed)} trials changed in {directory / 'trials.yaml'}; "
            "run 'mmresist knowledge validate' and 'make knowledge'",
            file=sys.stderr,
        )
        return 0
    raise AssertionError(args.action)


def _run_resources(args) -> int:
    from mmresist.ingest.reference import download

    reference = download(args.build, args.outdir, release=args.release, force=args.force)
    state = "downloaded" if reference.downloaded else "already present"
    print(f"mmresist: {args.build} reference {state} in {args.outdir}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmresist",
        description="Multiple myeloma relapse resistance profiling (decision support).",
    )
    parser.add_argument("--version", action="version", version=_version())
    # Reports name patients: what mmresist writes is private unless these say otherwise.
    parser.add_argument("--dir-mode", default="0750", help="mode of folders made (octal)")
    parser.add_argument("--file-mode", default="0640", help="mode of files written (octal)")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_patient(subparsers)
    _add_annotate(subparsers)

    pdf = subparsers.add_parser("pdf", help="the tumour-board summary report.pdf of report.json")
    pdf.add_argument("--report", required=True, help="the patient's report.json")
    pdf.add_argument("--pdf", required=True, help="report.pdf to write")

    cohort = subparsers.add_parser("cohort", help="cohort index from patients' report.json")
    cohort.add_argument("--outdir", required=True)
    cohort.add_argument("--no-pdf", action="store_true", help="the run writes no report.pdf")
    cohort.add_argument(
        "reports",
        nargs="+",
        help="report.json or failure.json files, or patient folders (their report.json,"
        " else their failure.json)",
    )

    knowledge = subparsers.add_parser("knowledge", help="curated knowledge tables")
    actions = knowledge.add_subparsers(dest="action", required=True)
    validate = actions.add_parser("validate", help="check every table and reference")
    validate.add_argument("--dir", default="resources/knowledge")
    compile_ = actions.add_parser("compile", help="validate and write one JSON for jobs")
    compile_.add_argument("--dir", default="resources/knowledge")
    compile_.add_argument("--out", required=True)
    show = actions.add_parser("show", help="what the tables say about a gene")
    show.add_argument("gene")
    show.add_argument("--dir", default="resources/knowledge")

    trials = subparsers.add_parser("trials", help="registry statuses of the curated trials")
    trial_actions = trials.add_subparsers(dest="action", required=True)
    refresh = trial_actions.add_parser(
        "refresh", help="update trials.yaml statuses from a saved ClinicalTrials.gov export"
    )
    refresh.add_argument(
        "--from", dest="export", required=True, help="ClinicalTrials.gov API v2 JSON export"
    )
    refresh.add_argument("--knowledge-dir", default="resources/knowledge")
    refresh.add_argument(
        "--checked", help="date the export was downloaded (YYYY-MM-DD; default: today)"
    )
    refresh.add_argument("--dry-run", action="store_true", help="report, do not write")
    status = trial_actions.add_parser("status", help="how many trials have a known status")
    status.add_argument("--knowledge-dir", default="resources/knowledge")

    from mmresist.ingest.reference import ENSEMBL_RELEASE

    resources = subparsers.add_parser("resources", help="reference files for annotation")
    resource_actions = resources.add_subparsers(dest="action", required=True)
    download = resource_actions.add_parser(
        "download", help="Ensembl FASTA + GFF3 for bcftools csq (network)"
    )
    download.add_argument("--build", required=True, choices=["GRCh38", "GRCh37"])
    download.add_argument("--outdir", required=True, help="e.g. resources/reference/GRCh38")
    download.add_argument("--release", type=int, default=ENSEMBL_RELEASE, help="Ensembl release")
    download.add_argument("--force", action="store_true", help="download again")
    return parser


def _version() -> str:
    from mmresist import __version__

    return f"mmresist {__version__}"


def _apply_permissions(args) -> None:
    """Exact modes for the files mmresist writes, and a umask so that whatever else this
    process or its children create (bcftools output, temporary folders) is no more open."""
    import os

    from mmresist.io.files import output_permissions, set_output_permissions

    permissions = output_permissions({"dirs": args.dir_mode, "files": args.file_mode})
    set_output_permissions(permissions)
    os.umask(permissions.umask)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "patient": _run_patient,
        "annotate": _run_annotate,
        "pdf": _run_pdf,
        "cohort": _run_cohort,
        "knowledge": _run_knowledge,
        "trials": _run_trials,
        "resources": _run_resources,
    }
    try:
        _apply_permissions(args)
        return handlers[args.command](args)
    except MmresistError as error:
        print(f"mmresist: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
