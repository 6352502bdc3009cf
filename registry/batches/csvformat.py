"""The batch CSV: its columns (the one list), the template, and reading an upload.

Each column is one member of the JSON label request (``LabelRequestSchema``), named by its path
there, so a row is loaded by the very schema the JSON API uses and an error the schema reports
at a path is reported at the column of that path. Rows are numbered as a spreadsheet shows
them: the header is row 1, the first label row 2.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry.errors import BadRequestError, ValidationFailedError

__all__ = [
    "COLUMNS",
    "MAX_ROWS",
    "BatchRefusedError",
    "Column",
    "RowError",
    "UnreadableUploadError",
    "UploadRefusedError",
    "parse_upload",
    "read_rows",
    "row_request",
    "schema_errors",
    "template_csv",
]

MAX_ROWS = 10_000
FIRST_ROW = 2  # the header is the spreadsheet's row 1


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    path: tuple[str, ...]  # where the value goes in the JSON label request
    example: str
    required: bool = False
    many: bool = False  # a list: values separated by spaces


COLUMNS: tuple[Column, ...] = (
    Column("scheme", ("rule", "scheme"), "CN-GD", required=True),
    Column("rule", ("rule", "rule"), "CN-GD-PCR-LIB", required=True),
    Column("rule_version", ("rule", "version"), "2.0", required=True),
    Column("product_name", ("product", "name"), "LFP battery module 51.2 V 100 Ah", True),
    Column("manufacturer", ("product", "manufacturer"), "Example Energy Ltd.", required=True),
    Column("product_model", ("product", "model"), "EX-LFP-5120"),
    Column("gtin", ("product", "gtin"), "06901234567892"),
    Column("product_identifiers", ("product", "identifiers"), "", many=True),
    Column("footprint", ("footprint", "value"), "61.2", required=True),
    Column("declared_unit", ("footprint", "declared_unit"), "kWh"),
    Column("declared_unit_amount", ("footprint", "declared_unit_amount"), "1"),
    Column("system_boundary", ("footprint", "system_boundary"), "cradle-to-gate", True),
    Column("period_start", ("footprint", "reference_period", "start"), "2025-01-01", True),
    Column("period_end", ("footprint", "reference_period", "end"), "2025-12-31", True),
    Column("valid_until", ("valid_until",), ""),
    Column("grade", ("grade",), ""),
    Column("assurance", ("assurance",), "reasonable"),
    Column("supersedes", ("supersedes",), ""),
    Column("qr", ("qr",), "label"),  # or digital-link, for a row with a GTIN
)
_BY_NAME = {column.name: column for column in COLUMNS}
_BY_PATH = {column.path: column.name for column in COLUMNS}


class UploadRefusedError(ValidationFailedError):
    """A file of the wrong shape (422, the message at ``file``); ``problem`` and ``values``
    let a page say the same in its reader's language."""

    def __init__(self, problem: str, message: str, **values: object) -> None:
        super().__init__({"file": [message]})
        self.problem = problem
        self.values = values


class UnreadableUploadError(BadRequestError):
    """Not CSV at all (400); ``line`` is where the reader gave up."""

    def __init__(self, detail: str, *, line: int) -> None:
        super().__init__(detail)
        self.line = line


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str | None  # None: the row as a whole
    message: str

    def to_json(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "message": self.message}


class BatchRefusedError(Exception):
    """The batch cannot be issued as uploaded; ``errors`` names every row, column and problem."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        super().__init__(f"{len(errors)} problems")
        self.errors = list(errors)


def template_csv() -> str:
    """The header row and one example row, with the BOM that makes spreadsheets read UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.name for column in COLUMNS])
    writer.writerow([column.example for column in COLUMNS])
    return "\ufeff" + buffer.getvalue()


def parse_upload(data: bytes) -> tuple[str, list[str], int]:
    """Decode and check the shape of an upload: (text, header, number of label rows).

    Refused (422, naming the problem) unless it is UTF-8, starts with a header of known,
    distinct columns that includes every required one, and has 1 to ``MAX_ROWS`` rows, each
    with as many cells as the header.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UploadRefusedError(
            "not-utf-8",
            f"Not UTF-8 (byte {exc.start}); save the sheet as CSV UTF-8.",
            byte=exc.start,
        ) from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise UploadRefusedError("nul", "Contains NUL characters; not a CSV file.")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise UploadRefusedError("empty", "Empty: the first row must be the header.")
        header = [cell.strip() for cell in header]
        _check_header(header)
        count = 0
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # a blank line, as spreadsheets leave at the end
            count += 1
            if count > MAX_ROWS:
                raise UploadRefusedError(
                    "too-many-rows",
                    f"More than {MAX_ROWS} label rows; split the batch.",
                    limit=MAX_ROWS,
                )
            if len(cells) != len(header):
                raise UploadRefusedError(
                    "cell-count",
                    f"Row {reader.line_num}: {len(cells)} cells, but the header has "
                    f"{len(header)} columns.",
                    row=reader.line_num,
                    cells=len(cells),
                    columns=len(header),
                )
    except csv.Error as exc:
        raise UnreadableUploadError(
            f"Not a readable CSV file (line {reader.line_num}): {exc}", line=reader.line_num
        ) from None
    if count == 0:
        raise UploadRefusedError("no-rows", "No label rows after the header.")
    return text, header, count


def _check_header(header: list[str]) -> None:
    unknown = [name for name in header if name not in _BY_NAME]
    if unknown:
        if all(name not in _BY_NAME for name in header):
            names = ", ".join(c.name for c in COLUMNS)
            raise UploadRefusedError(
                "no-header",
                "The first row must be the header (download template.csv); "
                f"it has none of the columns {names}.",
                columns=names,
            )
        raise UploadRefusedError(
            "unknown-columns",
            f"Unknown columns: {', '.join(unknown)} (see template.csv).",
            columns=", ".join(unknown),
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise UploadRefusedError(
            "repeated-columns",
            f"Repeated columns: {', '.join(repeated)}.",
            columns=", ".join(repeated),
        )
    missing = [c.name for c in COLUMNS if c.required and c.name not in header]
    if missing:
        raise UploadRefusedError(
            "missing-columns",
            f"Missing columns: {', '.join(missing)}.",
            columns=", ".join(missing),
        )


def read_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, cells by column) of every label row of an upload :func:`parse_upload`
    accepted."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = [cell.strip() for cell in next(reader)]
    row = FIRST_ROW - 1
    for cells in reader:
        row += 1
        if any(cell.strip() for cell in cells):
            yield row, dict(zip(header, cells, strict=True))


def row_request(cells: Mapping[str, str]) -> dict[str, Any]:
    """The JSON label request of one row: empty cells are left out (the schema's defaults)."""
    data: dict[str, Any] = {}
    for name, value in cells.items():
        column = _BY_NAME[name]
        value = value.strip()
        if not value:
            continue
        target = data
        for part in column.path[:-1]:
            target = target.setdefault(part, {})
        target[column.path[-1]] = value.split() if column.many else value
    return data


def schema_errors(
    row: int,
    messages: Mapping[str, Any],
    *,
    column_of: Callable[[tuple[str, ...]], str | None] | None = None,
) -> list[RowError]:
    """A marshmallow error dict of one row as errors at its columns (by default the
    template's, else what ``column_of`` names for an error's path)."""
    found: list[RowError] = []

    def walk(path: tuple[str, ...], value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk((*path, str(key)), inner)
            return
        texts = value if isinstance(value, list) else [value]
        column = (column_of or _column_of)(path)
        for text in texts:
            if isinstance(text, Mapping | list):
                walk(path, text)
            else:
                found.append(RowError(row, column, str(text)))

    walk((), messages)
    return found


def _column_of(path: tuple[str, ...]) -> str | None:
    """The column of an error path; a list item's index or a schema-level key maps to the
    column it is under, a nested object's own error to the row."""
    for end in range(len(path), 0, -1):
        name = _BY_PATH.get(path[:end])
        if name is not None:
            return name
    return None
