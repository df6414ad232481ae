"""Ensembl FASTA and GFF3 for the built-in annotation, downloaded only when a user asks."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from mmresist.errors import InputError
from mmresist.ingest.csq import BcftoolsFailed, compression, gff3_facts, run_bcftools, stderr_of
from mmresist.io.files import sha256_file

# Ensembl release of the references that ``download`` fetches. GRCh37 lives in its own
# FTP tree whose gene annotation is frozen at release 87.
ENSEMBL_RELEASE = 113
ENSEMBL_FTP = "https://ftp.ensembl.org/pub"
BUILDS = ("GRCh38", "GRCh37")

# Stable names inside ``resources/reference/<build>/``; the manifest records the source.
FASTA_NAME = "genome.fa.gz"
GFF3_NAME = "genes.gff3.gz"
MANIFEST_NAME = "manifest.json"


def reference_urls(build: str, release: int = ENSEMBL_RELEASE) -> dict[str, str]:
    """Ensembl URLs of the primary-assembly FASTA and the GFF3 of ``build``."""
    if build == "GRCh38":
        base = f"{ENSEMBL_FTP}/release-{release}"
        gff3 = f"{base}/gff3/homo_sapiens/Homo_sapiens.GRCh38.{release}.gff3.gz"
    elif build == "GRCh37":
        base = f"{ENSEMBL_FTP}/grch37/release-{release}"
        gff3 = f"{base}/gff3/homo_sapiens/Homo_sapiens.GRCh37.87.gff3.gz"
    else:
        raise InputError(f"unknown genome build {build!r}", expected=" or ".join(BUILDS))
    fasta = f"{base}/fasta/homo_sapiens/dna/Homo_sapiens.{build}.dna.primary_assembly.fa.gz"
    return {"fasta": fasta, "gff3": gff3}


def _urlopen(url: str) -> IO[bytes]:
    import urllib.request

    return urllib.request.urlopen(url, timeout=120)  # noqa: S310 (fixed https URLs)


def _fetch_to(url: str, path: str, fetch: Callable[[str], Any]) -> str:
    """Stream ``url`` into ``path``; sha256 of the bytes received."""
    digest = hashlib.sha256()
    try:
        response = fetch(url)
        with response, open(path, "wb") as out:
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
    except OSError as error:  # urllib.error.URLError is an OSError
        raise InputError(f"download failed: {error}", file=url) from error
    return digest.hexdigest()


def _bgzip_fasta(source: str, target: str) -> None:
    """gzip (Ensembl) -> bgzip, so that htslib can index it."""
    from pysam.libcbgzf import BGZFile

    opener = gzip.open if compression(source) != "plain" else open
    try:
        with opener(source, "rb") as src, BGZFile(target, "wb", index=None) as dst:
            for block in iter(lambda: src.read(1 << 20), b""):
                dst.write(block)
    except (OSError, EOFError) as error:
        raise InputError(f"downloaded FASTA is not readable gzip: {error}", file=source) from error


@dataclass
class Reference:
    """Files ``download`` wrote (or found complete)."""

    fasta: str
    gff3: str
    manifest: str
    downloaded: bool


def download(
    build: str,
    outdir: str | os.PathLike[str],
    *,
    fetch: Callable[[str], Any] | None = None,
    release: int = ENSEMBL_RELEASE,
    force: bool = False,
) -> Reference:
    """Ensembl primary-assembly FASTA (bgzipped, .fai, .gzi) and GFF3 of ``build``.

    Writes ``outdir/genome.fa.gz`` (+ .fai, .gzi), ``outdir/genes.gff3.gz`` and
    ``outdir/manifest.json`` (URLs, release, sha256 of the bytes received and of each
    file written). Files are built in a temporary folder inside ``outdir`` and moved
    into place with atomic renames, the manifest last, so an interrupted download leaves
    no file that looks complete. A complete earlier download (manifest present) is kept
    unless ``force``. ``fetch(url)`` returns a readable binary stream (urllib by default;
    tests pass a fake).
    """
    urls = reference_urls(build, release)
    fetch = fetch or _urlopen
    outdir = os.fspath(outdir)
    os.makedirs(outdir, exist_ok=True)
    paths = {
        "fasta": os.path.join(outdir, FASTA_NAME),
        "gff3": os.path.join(outdir, GFF3_NAME),
        "manifest": os.path.join(outdir, MANIFEST_NAME),
    }
    extra = [paths["fasta"] + ".fai", paths["fasta"] + ".gzi"]
    if not force and all(os.path.exists(path) for path in [*paths.values(), *extra]):
        return Reference(paths["fasta"], paths["gff3"], paths["manifest"], downloaded=False)

    work = tempfile.mkdtemp(prefix=".download-", dir=outdir)
    try:
        files = []
        raw_gff = os.path.join(work, "gff3.download")
        gff_sha = _fetch_to(urls["gff3"], raw_gff, fetch)
        _, problem = gff3_facts(raw_gff)
        if problem:
            raise InputError(f"downloaded GFF3 is unusable: {problem}", file=urls["gff3"])
        staged_gff = os.path.join(work, GFF3_NAME)
        if compression(raw_gff) == "plain":
            # gzip.open takes no mtime; GzipFile does (no timestamp: reproducible bytes).
            with open(raw_gff, "rb") as src, gzip.GzipFile(staged_gff, "wb", mtime=0) as dst:
                shutil.copyfileobj(src, dst)
        else:
            os.replace(raw_gff, staged_gff)

        raw_fasta = os.path.join(work, "fasta.download")
        fasta_sha = _fetch_to(urls["fasta"], raw_fasta, fetch)
        staged_fasta = os.path.join(work, FASTA_NAME)
        _bgzip_fasta(raw_fasta, staged_fasta)
        os.remove(raw_fasta)
        try:
            run_bcftools("faidx", staged_fasta, suite="samtools")
        except BcftoolsFailed as error:
            raise InputError(
                f"downloaded FASTA cannot be indexed: {stderr_of(error)}", file=urls["fasta"]
            ) from error

        for kind, staged, download_sha in (
            ("fasta", staged_fasta, fasta_sha),
            ("gff3", staged_gff, gff_sha),
        ):
            files.append(
                {
                    "kind": kind,
                    "path": os.path.basename(paths[kind]),
                    "url": urls[kind],
                    "sha256_download": download_sha,
                    "sha256": sha256_file(staged),
                    "bytes": os.path.getsize(staged),
                }
            )
        manifest = {
            "build": build,
            "source": "Ensembl",
            "ensembl_release": release,
            "files": files,
        }
        staged_manifest = os.path.join(work, MANIFEST_NAME)
        with open(staged_manifest, "w", encoding="utf-8") as stream:
            json.dump(manifest, stream, indent=2, sort_keys=True)
            stream.write("\n")
        if os.path.exists(paths["manifest"]):
            os.remove(paths["manifest"])  # incomplete until the new one lands
        for name in (
            FASTA_NAME + ".fai",
            FASTA_NAME + ".gzi",
            FASTA_NAME,
            GFF3_NAME,
            MANIFEST_NAME,
        ):
            os.replace(os.path.join(work, name), os.path.join(outdir, name))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Reference(paths["fasta"], paths["gff3"], paths["manifest"], downloaded=True)
