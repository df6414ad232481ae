"""Reading and validating the samples sheet before any job runs."""

from __future__ import annotations

import csv
import re
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from mmresist.errors import InputError
from mmresist.model import Sample

SCHEMA_DIR = Path(str(resources.files("mmresist.io") / "schemas"))
PATIENT_ID = re.compile(r"^[A-Za-z0-9._-]+$")
RESERVED_PATIENT_IDS = {".", "..", "cohort"}


@cache
def load_schema(name: str) -> dict:
    with open(SCHEMA_DIR / f"{name}.schema.yaml", encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def read_tsv_rows(path: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (line number, row) pairs of a TSV; empty cells dropped, cells stripped.

    Lines starting with '#' after the header are comments. The header is line 1.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError("file does not exist", file=str(path))
    raw = file.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raise InputError(
            "the file is gzip-compressed", file=str(path), expected="a plain UTF-8 TSV file"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"not UTF-8 text ({error.reason} at byte {error.start})",
            file=str(path),
            expected="a plain UTF-8 TSV file",
        ) from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InputError("empty file; expected a tab-separated header row", file=str(path))
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [cell.strip() for cell in next(reader)]
    if len(header) == 1 and ("," in header[0] or " " in header[0].strip()):
        raise InputError(
            "header is not tab-separated",
            file=str(path),
            line=1,
            expected="tab-separated columns",
            got=header[0],
        )
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not cells or not "".join(cells).strip() or cells[0].startswith("#"):
            continue
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
            raise InputError(
                f"{len(cells)} cells but the header has {len(header)} columns",
                file=str(path),
                line=number,
            )
        row = {
            column: cell.strip()
            for column, cell in zip(header, cells, strict=False)
            if cell.strip() not in ("", "NA", "na", "N/A")
        }
        rows.append((number, row))
    return header, rows


def validate_row(row: dict, schema: dict, *, file: str, line: int) -> None:
    """Validate one row against a JSON schema; the first problem becomes an InputError."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(row), key=lambda error: list(error.path))
    if not errors:
        return
    error = errors[0]
    if error.validator == "required":
        missing = [name for name in schema.get("required", []) if name not in row]
        field = missing[0] if missing else None
        raise InputError("required value is missing", file=file, line=line, field=field)
    field = str(error.path[0]) if error.path else None
    description = schema.get("properties", {}).get(field, {}).get("description", "")
    expected = _expected(error)
    if description:
        expected = f"{expected} ({description})" if expected else description
    raise InputError(
        "invalid value",
        file=file,
        line=line,
        field=field,
        expected=expected,
        got=row.get(field) if field else None,
    )


def _expected(error) -> str:
    if error.validator == "enum":
        return "one of " + ", ".join(map(str, error.validator_value))
    if error.validator == "pattern":
        return f"text matching {error.validator_value}"
    if error.validator in ("minimum", "maximum"):
        return f"{error.validator} {error.validator_value}"
    if error.validator == "format":
        return f"a valid {error.validator_value} (ISO 8601, YYYY-MM-DD)"
    if error.validator == "type":
        return f"a {error.validator_value}"
    if error.validator == "not":
        return "not a reserved name (., .., cohort)"
    return error.message


def read_samples(
    path: str, *, check_files: bool = True, patient_id: str | None = None
) -> list[Sample]:
    """Read and validate samples.tsv; raise InputError naming file, line and column.

    Cross-checks beyond the schema: unique sample_id, a cnv_format for every cnv, files
    that exist, and one timepoint order per patient (no two samples of a patient on the
    same date with the same timepoint). With ``patient_id`` (a patient job; the whole
    sheet was validated before the jobs were planned) only that patient's rows are
    validated and returned, while sample_id stays checked unique across the sheet.
    """
    header, rows = read_tsv_rows(path)
    schema = load_schema("samples")
    missing = [column for column in schema["required"] if column not in header]
    if missing:
        raise InputError(
            "missing required column",
            file=path,
            line=1,
            field=missing[0],
            expected="a header row with columns " + ", ".join(schema["required"]),
            got="\t".join(header)[:200],
        )
    samples: list[Sample] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        if patient_id is not None and row.get("patient_id") != patient_id:
            sample_id = row.get("sample_id", "")
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
            continue
        if "purity" in row:
            try:
                row["purity"] = float(row["purity"])
            except ValueError:
                raise InputError(
                    "invalid value",
                    file=path,
                    line=line,
                    field="purity",
                    expected="a number between 0 and 1",
                    got=row["purity"],
                ) from None
        validate_row(row, schema, file=path, line=line)
        if row["sample_id"] in seen:
            raise InputError(
                f"duplicate sample_id (first on line {seen[row['sample_id']]})",
                file=path,
                line=line,
                field="sample_id",
                expected="a sample_id unique in the sheet",
                got=row["sample_id"],
            )
        seen[row["sample_id"]] = line
        if "cnv" in row and "cnv_format" not in row:
            # Never inferred from the file name: a .seg says nothing of its log base.
            raise InputError(
                "a copy-number file needs its format",
                file=path,
                line=line,
                field="cnv_format",
                # The log-base gloss follows the SEG formats it explains.
                expected="one of "
                + ", ".join(
                    fmt
                    + (" (seg: log2 segment means, seg_log10: log10)" if fmt == "seg_log10" else "")
                    for fmt in schema["properties"]["cnv_format"]["enum"]
                ),
            )
        if check_files:
            for column in ("vcf", "cnv"):
                if column in row and not Path(row[column]).is_file():
                    raise InputError(
                        "file does not exist",
                        file=path,
                        line=line,
                        field=column,
                        expected="an existing file (a relative path is read from the "
                        "directory the workflow runs in)",
                        got=row[column],
                    )
        samples.append(
            Sample(
                patient_id=row["patient_id"],
                sample_id=row["sample_id"],
                timepoint=row["timepoint"],
                collection_date=row["collection_date"],
                vcf=row["vcf"],
                tumor_sample=row.get("tumor_sample"),
                cnv=row.get("cnv"),
                cnv_format=row.get("cnv_format"),
                purity=row.get("purity"),
            )
        )
    if not samples and patient_id is None:
        raise InputError("no samples listed", file=path, expected="at least one data row")
    return samples


def patients(samples: list[Sample]) -> list[str]:
    return sorted({sample.patient_id for sample in samples})


def sheet_frame(rows):
    """A DataFrame of sheet rows for ``snakemake.utils.validate``: dates as ISO text,
    empty cells and bookkeeping keys (``_file``, ``_line``) left out."""
    import dataclasses

    import pandas as pd

    records = []
    for row in rows:
        record = dataclasses.asdict(row) if dataclasses.is_dataclass(row) else dict(row)
        records.append(
            {
                key: value.isoformat() if hasattr(value, "isoformat") else value
                for key, value in record.items()
                if value is not None and not key.startswith("_")
            }
        )
    return pd.DataFrame.from_records(records)
