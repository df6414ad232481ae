# Loading and validation of config and sheets, plus input functions. Nothing else.
import re
import shlex
import sys
from pathlib import Path

import pandas as pd
from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

from mmresist.io.clinical import read_table
from mmresist.ingest.csq import check_annotation_settings
from mmresist.errors import InputError
from mmresist.knowledge.load import builds_with_coordinates, compiled_is_fresh
from mmresist.io.sheets import patients, read_samples
from mmresist.ingest.vcf import ingest_threads
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


wildcard_constraints:
    patient="|".join(re.escape(patient) for patient in PATIENTS),


def final_outputs():
    outputs = [f"{OUTDIR}/cohort/index.html", f"{OUTDIR}/cohort/cohort.tsv"]
    for patient in PATIENTS:
        outputs.append(f"{OUTDIR}/{patient}/report.json")
        outputs.append(f"{OUTDIR}/{patient}/variants.tsv")
        outputs.append(f"{OUTDIR}/{patient}/report.html")
        if config["report"]["pdf"]:
            outputs.append(f"{OUTDIR}/{patient}/report.pdf")
    return outputs


def patient_inputs(wildcards):
    """The sheet, the compiled knowledge, and every file of this patient's samples."""
    inputs = {
        "samples": config["samples"],
        "knowledge": KNOWLEDGE_JSON,
        "vcfs": [s.vcf for s in SAMPLES if s.patient_id == wildcards.patient],
        "cnvs": [s.cnv for s in SAMPLES if s.patient_id == wildcards.patient and s.cnv],
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


def annotation_args(wildcards):
    """--fasta/--gff3 for bcftools csq, when set (checked to exist before any job runs)."""
    return " ".join(
        f"--{key} {shlex.quote(str(config['annotation'][key]))}"
        for key in ("fasta", "gff3")
        if config["annotation"].get(key)
    )


def clinical_args(wildcards, input):
    return " ".join(
        f"--{kind.replace('_', '-')} '{input[kind]}'"
        for kind in CLINICAL_TABLES
        if kind in input.keys()
    )


def filter_args(wildcards):
    filters = config["filters"]
    return (
        f"{'--pass-only' if filters['pass_only'] else '--no-pass-only'} "
        f"--min-depth {filters['min_depth']} --min-alt-reads {filters['min_alt_reads']} "
        f"--min-vaf {filters['min_vaf']} "
        f"{'--protein-altering-only' if filters['protein_altering_only'] else '--no-protein-altering-only'}"
    )


def input_folder(wildcards, input):
    return str(Path(input[0]).parent)


def output_folder(wildcards, output):
    return str(Path(output[0]).parent)


def cohort_reports(wildcards):
    return [f"{OUTDIR}/{patient}/report.json" for patient in PATIENTS]


def knowledge_tables():
    folder = Path(config["knowledge"])
    return sorted(
        str(path)
        for path in folder.iterdir()
        if path.suffix in (".tsv", ".yaml") or path.name == "VERSION"
    )
