rule knowledge_compile:
    input:
        knowledge_tables(),
    output:
        f"{WORK}/knowledge.json",
    log:
        f"{OUTDIR}/logs/knowledge_compile.log",
    conda:
        CONDA_ENV
    params:
        mmresist=MMRESIST,
        folder=input_folder,
    shell:
        "{params.mmresist} knowledge compile --dir {params.folder:q} --out {output:q} > {log:q} 2>&1"
