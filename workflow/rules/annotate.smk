# Built-in annotation (bcftools csq), one job per sample that needs it: every sample with
# annotation.mode bcftools_csq, else those whose VCF carries no annotation when fasta and
# gff3 are set (mmresist.ingest.annotate.needs_annotation). Its own job, depending on the
# gene coordinates but not the rest of the knowledge, so editing a knowledge table re-runs
# the patient reports without annotating again. The copies are kept (not temp()) for that
# reason: they are small (panel regions only, when the build has coordinates).
rule annotate:
    input:
        unpack(annotate_inputs),
    output:
        vcf=f"{WORK}/annotated/{{sample}}.vcf.gz",
        tbi=f"{WORK}/annotated/{{sample}}.vcf.gz.tbi",
        record=f"{WORK}/annotated/{{sample}}.annotation.json",
    log:
        f"{OUTDIR}/logs/annotate/{{sample}}.log",
    conda:
        CONDA_ENV
    params:
        mmresist=MMRESIST,
        options=annotate_args,
    shell:
        "{params.mmresist} annotate --vcf {input.vcf:q} --fasta {input.fasta:q}"
        " --gff3 {input.gff3:q} {params.options} --out {output.vcf:q}"
        " --record {output.record:q} > {log:q} 2>&1"
