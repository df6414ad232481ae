# One job per patient reads its VCFs (or their annotated copies from the annotate rule),
# copy number and clinical rows, matches biomarkers and writes report.json, variants.tsv
# and report.html. Ingest is not a job of its own: cohort speed depends on few, light
# per-patient jobs (see benchmarks/cohort.py).
rule patient_report:
    input:
        unpack(patient_inputs),
    output:
        json=f"{OUTDIR}/{{patient}}/report.json",
        tsv=f"{OUTDIR}/{{patient}}/variants.tsv",
        html=report(
            f"{OUTDIR}/{{patient}}/report.html",
            caption="../report/patient_html.rst",
            category="Patients",
            subcategory="{patient}",
            labels={"patient": "{patient}", "file": "full report (HTML)"},
        ),
    log:
        f"{OUTDIR}/{{patient}}/logs/report.log",
    conda:
        CONDA_ENV
    threads: patient_threads
    params:
        mmresist=MMRESIST,
        clinical=clinical_args,
        filters=filter_args,
        build=config["genome_build"],
        annotation=config["annotation"]["mode"],
        region=config["approval_region"],
        annotated=annotated_args,
        templates=f"{WORK}/templates",
        outdir=output_folder,
    shell:
        "{params.mmresist} patient --patient {wildcards.patient:q} --samples {input.samples:q}"
        " --knowledge {input.knowledge:q} --genome-build {params.build}"
        " --annotation-mode {params.annotation} {params.annotated} --threads {threads}"
        " --approval-region {params.region}"
        " --template-cache {params.templates:q}"
        " {params.clinical} {params.filters} --outdir {params.outdir:q} > {log:q} 2>&1"
