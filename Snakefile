# mmresist: multiple myeloma relapse resistance profiling.
# This file only declares; logic lives in the mmresist package (workflow/mmresist).
from snakemake.utils import min_version

min_version("8.20")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/knowledge.smk"
include: "workflow/rules/annotate.smk"
include: "workflow/rules/interpret.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/reference.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
