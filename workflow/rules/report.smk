# The tumour-board summary is laid out from report.json alone (Typst, tens of milliseconds).
rule patient_pdf:
    input:
        json=f"{OUTDIR}/{{patient}}/report.json",
    output:
        f"{OUTDIR}/{{patient}}/report.pdf",
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
        html=f"{OUTDIR}/cohort/index.html",
        tsv=f"{OUTDIR}/cohort/cohort.tsv",
    log:
        f"{OUTDIR}/logs/cohort_index.log",
    conda:
        CONDA_ENV
    params:
        mmresist=MMRESIST,
        outdir=output_folder,
    shell:
        "{params.mmresist} cohort --outdir {params.outdir:q} {input:q} > {log:q} 2>&1"
