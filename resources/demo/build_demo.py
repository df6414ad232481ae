#!/usr/bin/env python3
"""Regenerate the demo cohort under resources/demo/ (byte-identical on every run).

Run from anywhere with the project's venv:  .venv/bin/python resources/demo/build_demo.py
The generator lives in resources/demo/build/ (one module per concern).
"""

from __future__ import annotations

import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep resources/demo/build free of __pycache__
sys.path.insert(0, str(DEMO / "build"))

import clinical  # noqa: E402
import cnv  # noqa: E402
from cohort import SAMPLE_COLUMNS, SAMPLES, all_plans  # noqa: E402
from vcfwriter import write  # noqa: E402


def write_tsv(path: Path, columns, rows) -> None:
    lines = ["\t".join(columns)] + ["\t".join(str(cell) for cell in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    written = []
    for plan in all_plans():
        written.append(write(plan, DEMO / "vcf"))
    written += cnv.write_all(DEMO / "cnv")
    write_tsv(DEMO / "samples.tsv", SAMPLE_COLUMNS, SAMPLES)
    written.append(DEMO / "samples.tsv")
    for name, (columns, rows) in clinical.TABLES.items():
        write_tsv(DEMO / f"{name}.tsv", columns, rows)
        written.append(DEMO / f"{name}.tsv")
    for path in written:
        print(path.relative_to(DEMO.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
