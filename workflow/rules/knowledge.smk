rule knowledge_compile:
    input:
        knowledge_tables(),
    output:
        f"{WORK}/knowledge.json",
    log:
        f"{OUTDIR}/logs/knowledge_compile.log",
    params:
        folder=config["knowledge"],
    shell:
        "mmresist knowledge compile --dir {params.folder:q} --out {output:q} > {log:q} 2>&1"
