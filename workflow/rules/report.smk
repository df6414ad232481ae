# The tumour-board summary is laid out from report.json alone (Typst, tens of milliseconds).
rule patient_pdf:
    input:
        json=f"{OUTDIR}/{{patient}}/report.json",
    output:
        report(
            f"{OUTDIR}/{{patient}}/report.pdf",
            caption="../report/patient_pdf.rst",
            category="Patients",
            subcategory="{patient}",
            labels={"patient": "{patient}", "file": "tumour-board summary (PDF)"},
        ),
    log:
        f"{OUTDIR}/{{patient}}/logs/pdf.log",
    conda:
        CONDA_ENV
    params:
        mmresist=MMRESIST,
    shell:
        "{params.mmresist} pdf --report {input.json:q} --pdf {output:q} > {log:q} 2>&1"


rule cohort_index:
    input:
        cohort_reports,
    output:
        html=report(
            f"{OUTDIR}/cohort/index.html",
            caption="../report/cohort.rst",
            category="Cohort",
            labels={"file": "cohort page"},
        ),
        tsv=report(
            f"{OUTDIR}/cohort/cohort.tsv",
            caption="../report/cohort_tsv.rst",
            category="Cohort",
            labels={"file": "cohort.tsv"},
        ),
    log:
        f"{OUTDIR}/logs/cohort_index.log",
    conda:
        CONDA_ENV
    params:
        mmresist=MMRESIST,
        outdir=output_folder,
        pdf=cohort_pdf_arg,
    shell:
        "{params.mmresist} cohort --outdir {params.outdir:q} {params.pdf} {input:q} > {log:q} 2>&1"


# A failed patient job leaves the cohort rule without its inputs, so it never runs; the page
# is then written from every report.json and failure.json there is, listing the failed
# patients with their reasons, before Snakemake exits non-zero (skipped with --no-hooks).
onerror:
    write_cohort_page_after_failure(
        mmresist=MMRESIST,
        outdir=OUTDIR,
        patients=PATIENTS,
        pdf=config["report"]["pdf"],
    )


# A finished run need not wait on Snakemake's one-second job-rate timer.
onsuccess:
    cancel_pending_timers()
