"""Write resources/knowledge/gene_coordinates.tsv from the Bioconductor org.Hs.eg.db database.

Run by a curator, never by the workflow or the tests (it needs a file the project does not
ship). Get the database without R, from Debian's package:

    apt-get download r-bioc-org.hs.eg.db
    dpkg-deb -x r-bioc-org.hs.eg.db_*.deb org-hs
    python resources/knowledge/tools/gene_coordinates.py \
        org-hs/usr/lib/R/site-library/org.Hs.eg.db/extdata/org.Hs.eg.sqlite

The package's CHRLOC/CHRLOCEND maps hold UCSC's GRCh38 (hg38) gene locations, one row
per transcript start/end (negative numbers on the minus strand, starts 0-based). A gene's
extent here is the union of its rows on primary chromosomes, written 1-based inclusive.
A panel symbol the database does not know under that name is looked up through its HGNC
id; one that is still not found is an error, so no panel gene goes without coordinates.
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from pathlib import Path

KNOWLEDGE = Path(__file__).resolve().parents[1]
PRIMARY = {str(number) for number in range(1, 23)} | {"X", "Y"}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    database = sqlite3.connect(f"file:{argv[0]}?mode=ro", uri=True)
    metadata = dict(database.execute("SELECT name, value FROM metadata"))
    lengths = dict(database.execute("SELECT chromosome, length FROM chrlengths"))
    if lengths.get("1") != 248956422:
        raise SystemExit("this database's chromosome 1 is not GRCh38's length; not hg38")
    source = (
        f"org.Hs.eg.db (Bioconductor; Debian r-bioc-org.hs.eg.db) CHRLOC/CHRLOCEND: "
        f"{metadata['GPSOURCENAME']} hg38 gene locations of {metadata['GPSOURCEDATE']}"
    )
    with (KNOWLEDGE / "genes.tsv").open(newline="", encoding="utf-8") as stream:
        genes = [row for row in csv.DictReader(stream, delimiter="\t")]
    rows = []
    for gene in genes:
        symbol = gene["symbol"]
        hgnc = gene["hgnc_id"].removeprefix("HGNC:")
        ids = [
            row[0]
            for row in database.execute("SELECT _id FROM gene_info WHERE symbol = ?", (symbol,))
        ]
        if not ids and hgnc:
            ids = [
                row[0]
                for row in database.execute(
                    "SELECT g._id FROM genes g JOIN gene_info i ON g._id = i._id "
                    "WHERE i._id IN (SELECT _id FROM alias WHERE alias_symbol = ?)",
                    (symbol,),
                )
            ]
        if len(ids) != 1:
            raise SystemExit(f"{symbol}: {len(ids)} database genes carry this symbol")
        places = [
            (chrom, abs(start), abs(end), "-" if start < 0 else "+")
            for chrom, start, end in database.execute(
                "SELECT seqname, start_location, end_location FROM chromosome_locations "
                "WHERE _id = ?",
                ids,
            )
            if chrom in PRIMARY
        ]
        if not places:
            raise SystemExit(f"{symbol}: no location on a primary chromosome")
        chroms = {chrom for chrom, *_ in places}
        if len(chroms) != 1:
            raise SystemExit(f"{symbol}: located on several chromosomes {sorted(chroms)}")
        strands = sorted({strand for *_, strand in places})
        rows.append(
            {
                "symbol": symbol,
                "genome_build": "GRCh38",
                "chrom": chroms.pop(),
                "start": min(start for _, start, _, _ in places) + 1,
                "end": max(end for _, _, end, _ in places),
                "strand": strands[0] if len(strands) == 1 else ".",
                "source": source,
            }
        )
    out = KNOWLEDGE / "gene_coordinates.tsv"
    with out.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(
            stream, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out} ({len(rows)} genes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
