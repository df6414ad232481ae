# Loading and validation of config and sheets, plus input functions. Nothing else.
import os
import re
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

from mmresist.io.clinical import read_table
from mmresist.io.files import output_permissions
from mmresist.ingest.annotate import needs_annotation
from mmresist.ingest.csq import check_annotation_settings
from mmresist.errors import InputError
from mmresist.hooks import cancel_pending_timers, write_cohort_page_after_failure
from mmresist.knowledge.load import builds_with_coordinates, compiled_is_fresh
from mmresist.io.sheets import patients, read_samples
from mmresist.ingest.vcf import ingest_threads
from mmresist.interpret.filters import filter_arguments
from mmresist.vocab import CLINICAL_TABLES

validate(config, schema="../schemas/config.schema.yaml")

OUTDIR = config["outdir"].rstrip("/")
WORK = f"{OUTDIR}/.work"

try:
    SAMPLES = read_samples(config["samples"])
    CLINICAL = {
        kind: read_table(config[kind], kind)
        for kind in CLINICAL_TABLES
        if config.get(kind)
    }
except InputError as error:
    raise WorkflowError(f"mmresist: invalid input: {error}") from None

PATIENTS = patients(SAMPLES)

# Reports name patients: folders Snakemake makes and logs the shell writes get no access
# for others whatever the user's umask; jobs get the exact modes (mmresist.io.files).
try:
    PERMISSIONS = output_permissions(config.get("output_permissions"))
except InputError as error:
    raise WorkflowError(f"mmresist: invalid config: {error}") from None
os.umask(PERMISSIONS.umask)

try:
    check_annotation_settings(**config["annotation"])
except InputError as error:
    raise WorkflowError(f"mmresist: {error}") from None
COORDINATE_BUILDS = builds_with_coordinates(config["knowledge"])
# The knowledge folder ships compiled (compiled/knowledge.json, `make knowledge`); jobs use
# that file while it records the tables' current digest, else knowledge_compile makes one.
SHIPPED_KNOWLEDGE = Path(config["knowledge"]) / "compiled" / "knowledge.json"
KNOWLEDGE_JSON = (
    str(SHIPPED_KNOWLEDGE)
    if compiled_is_fresh(config["knowledge"], SHIPPED_KNOWLEDGE)
    else f"{WORK}/knowledge.json"
)
CONDA_ENV = "../envs/mmresist.yaml"

# How rules call mmresist: the package installed beside this Snakemake (pip install -e .),
# or, in a conda environment, the workflow's own package put on PYTHONPATH.
if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
    MMRESIST = f"PYTHONPATH={shlex.quote(str(Path(workflow.basedir) / 'workflow'))} python -m mmresist"
else:
    MMRESIST = f"{shlex.quote(sys.executable)} -m mmresist"
MMRESIST += f" {PERMISSIONS.arguments()}"


wildcard_constraints:
    patient="|".join(re.escape(patient) for patient in PATIENTS),
    sample="|".join(re.escape(sample.sample_id) for sample in SAMPLES),


def final_outputs():
    outputs = [f"{OUTDIR}/cohort/index.html", f"{OUTDIR}/cohort/cohort.tsv"]
    for patient in PATIENTS:
        outputs.append(f"{OUTDIR}/{patient}/report.json")
        outputs.append(f"{OUTDIR}/{patient}/variants.tsv")
        outputs.append(f"{OUTDIR}/{patient}/report.html")
        if config["report"]["pdf"]:
            outputs.append(f"{OUTDIR}/{patient}/report.pdf")
    return outputs


def annotated_records(patient):
    """sample_id -> annotation record, for the samples of ``patient`` that the annotate rule
    annotates (mmresist.ingest.annotate.needs_annotation decides)."""
    return {
        s.sample_id: f"{WORK}/annotated/{s.sample_id}.annotation.json"
        for s in SAMPLES
        if s.patient_id == patient and needs_annotation(s.vcf, **config["annotation"])
    }


def patient_inputs(wildcards):
    """The sheet, the compiled knowledge, every file of this patient's samples and the
    annotation records of those annotated by the annotate rule."""
    inputs = {
        "samples": config["samples"],
        "knowledge": KNOWLEDGE_JSON,
        "vcfs": [s.vcf for s in SAMPLES if s.patient_id == wildcards.patient],
        "cnvs": [s.cnv for s in SAMPLES if s.patient_id == wildcards.patient and s.cnv],
        "annotated": list(annotated_records(wildcards.patient).values()),
    }
    for kind in CLINICAL_TABLES:
        if config.get(kind):
            inputs[kind] = config[kind]
    return inputs


def patient_threads(wildcards):
    """One core per patient unless a large VCF must be read whole (mmresist.ingest.vcf)."""
    return ingest_threads(
        (s.vcf for s in SAMPLES if s.patient_id == wildcards.patient),
        regions_known=config["genome_build"] in COORDINATE_BUILDS,
    )


def annotated_args(wildcards):
    """--annotated SAMPLE_ID=RECORD for each sample the patient job reads annotated."""
    return " ".join(
        f"--annotated {shlex.quote(f'{sample_id}={record}')}"
        for sample_id, record in annotated_records(wildcards.patient).items()
    )


def annotate_inputs(wildcards):
    """The sample's VCF, the FASTA and GFF3 and, when the configured build has them, the
    gene coordinates: the only knowledge table annotation depends on."""
    sample = next(s for s in SAMPLES if s.sample_id == wildcards.sample)
    inputs = {
        "vcf": sample.vcf,
        "fasta": config["annotation"]["fasta"],
        "gff3": config["annotation"]["gff3"],
    }
    if config["genome_build"] in COORDINATE_BUILDS:
        inputs["coordinates"] = str(Path(config["knowledge"]) / "gene_coordinates.tsv")
    return inputs


def annotate_args(wildcards, input):
    """Tumour column and panel regions for mmresist annotate."""
    sample = next(s for s in SAMPLES if s.sample_id == wildcards.sample)
    args = []
    if sample.tumor_sample:
        args.append(f"--tumor-sample {shlex.quote(sample.tumor_sample)}")
    if "coordinates" in input.keys():
        args.append(
            f"--genome-build {config['genome_build']} "
            f"--coordinates {shlex.quote(input.coordinates)}"
        )
    return " ".join(args)


def clinical_args(wildcards, input):
    return " ".join(
        f"--{kind.replace('_', '-')} '{input[kind]}'"
        for kind in CLINICAL_TABLES
        if kind in input.keys()
    )


def filter_args(wildcards):
    """Only the filter settings the config gives; the package's defaults fill the rest."""
    return shlex.join(filter_arguments(config.get("filters") or {}))


def input_folder(wildcards, input):
    return str(Path(input[0]).parent)


def output_folder(wildcards, output):
    return str(Path(output[0]).parent)


def cohort_reports(wildcards):
    return [f"{OUTDIR}/{patient}/report.json" for patient in PATIENTS]


def cohort_pdf_arg(wildcards):
    return "" if config["report"]["pdf"] else "--no-pdf"


def knowledge_tables():
    folder = Path(config["knowledge"])
    return sorted(
        str(path)
        for path in folder.iterdir()
        if path.suffix in (".tsv", ".yaml") or path.name == "VERSION"
    )
