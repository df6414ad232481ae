"""Reading and validating the samples sheet before any job runs."""

from __future__ import annotations

from pathlib import Path

from mmresist.errors import InputError
from mmresist.io.tabular import (
    as_date,
    convert_cell,
    load_schema,
    read_tsv,
    row_values,
    validate_row,
)
from mmresist.model import Sample

# Columns converted from text before validation (the others stay text).
TYPED_COLUMNS = ("collection_date", "purity")


def read_samples(
    path: str, *, check_files: bool = True, patient_id: str | None = None
) -> list[Sample]:
    """Read and validate samples.tsv; raise InputError naming file, line and column.

    Cross-checks beyond the schema: unique sample_id, a cnv_format for every cnv and
    files that exist. With ``patient_id`` (a patient job; the whole
    sheet was validated before the jobs were planned) only that patient's rows are
    validated and returned, while sample_id stays checked unique across the sheet.
    """
    schema = load_schema("samples")
    table = read_tsv(path)
    table.require(schema["required"])
    samples: list[Sample] = []
    seen: dict[str, int] = {}
    for line, cells in table.rows:
        texts = row_values(table.header, cells)
        own = patient_id is None or texts.get("patient_id") == patient_id
        row: dict[str, object] = dict(texts)
        if own:
            for column in TYPED_COLUMNS:
                if column in texts:
                    row[column] = convert_cell(
                        texts[column],
                        schema["properties"][column],
                        file=path,
                        line=line,
                        column=column,
                    )
            validate_row("samples", row, file=path, line=line, texts=texts, order=table.header)
        sample_id = texts.get("sample_id", "")
        if sample_id in seen:
            raise InputError(
                f"duplicate sample_id (first on line {seen[sample_id]})",
                file=path,
                line=line,
                field="sample_id",
                expected="a sample_id unique in the sheet",
                got=sample_id,
            )
        seen[sample_id] = line
        if own:
            _check_row(texts, schema, path=path, line=line, check_files=check_files)
            samples.append(_sample(row))
    if not samples and patient_id is None:
        raise InputError("no samples listed", file=path, expected="at least one data row")
    return samples


def _check_row(
    texts: dict[str, str], schema: dict, *, path: str, line: int, check_files: bool
) -> None:
    if "cnv" in texts and "cnv_format" not in texts:
        # Never inferred from the file name: a .seg says nothing of its log base.
        raise InputError(
            "a copy-number file needs its format",
            file=path,
            line=line,
            field="cnv_format",
            # The log-base gloss follows the SEG formats it explains.
            expected="one of "
            + ", ".join(
                fmt + (" (seg: log2 segment means, seg_log10: log10)" if fmt == "seg_log10" else "")
                for fmt in schema["properties"]["cnv_format"]["enum"]
            ),
        )
    if check_files:
        for column in ("vcf", "cnv"):
            if column in texts and not Path(texts[column]).is_file():
                raise InputError(
                    "file does not exist",
                    file=path,
                    line=line,
                    field=column,
                    expected="an existing file (a relative path is read from the "
                    "directory the workflow runs in)",
                    got=texts[column],
                )


def _sample(row: dict[str, object]) -> Sample:
    collected = as_date(row["collection_date"])  # type: ignore[arg-type]
    purity = row.get("purity")
    return Sample(
        patient_id=str(row["patient_id"]),
        sample_id=str(row["sample_id"]),
        timepoint=str(row["timepoint"]),
        # Sample keeps the ISO text: it is written into report.json as it stands.
        collection_date=collected.isoformat() if collected else "",
        vcf=str(row["vcf"]),
        tumor_sample=_text(row.get("tumor_sample")),
        cnv=_text(row.get("cnv")),
        cnv_format=_text(row.get("cnv_format")),
        purity=float(purity) if isinstance(purity, float | int) else None,
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def patients(samples: list[Sample]) -> list[str]:
    return sorted({sample.patient_id for sample in samples})
