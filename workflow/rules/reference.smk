# Reference files for the built-in annotation (annotation.mode: bcftools_csq). Never part
# of the default target: run it by name, once, where there is network access:
#   snakemake --cores 1 reference_download
# then set annotation.fasta / annotation.gff3 to the files it writes (docs/annotation.md).
REFERENCE_DIR = f"resources/reference/{config['genome_build']}"


rule reference_download:
    output:
        fasta=f"{REFERENCE_DIR}/genome.fa.gz",
        fai=f"{REFERENCE_DIR}/genome.fa.gz.fai",
        gzi=f"{REFERENCE_DIR}/genome.fa.gz.gzi",
        gff3=f"{REFERENCE_DIR}/genes.gff3.gz",
        manifest=f"{REFERENCE_DIR}/manifest.json",
    log:
        f"{REFERENCE_DIR}/download.log",
    localrule: True
    conda:
        CONDA_ENV
    params:
        mmresist=MMRESIST,
        build=config["genome_build"],
        outdir=output_folder,
    shell:
        "{params.mmresist} resources download --build {params.build} "
        "--outdir {params.outdir:q} > {log:q} 2>&1"
