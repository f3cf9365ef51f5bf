"""Reading data files as they are: CSV kept as text, XLSX and Parquet with their own types.

Files are read as councils export them: UTF-8 or Windows-1252, split by
commas, semicolons, tabs or pipes, a title above the header, totals at the end
(each recognition said as a :class:`~evalkit.contract._sniff.Reading`). Every
way a file can be unreadable (missing, empty, ragged, a damaged or
password-protected workbook, two columns of the same name) becomes a DataError
naming the file and the fix. The file is read once, as bytes, so its hash describes
exactly what was checked.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from evalkit.contract._formats import as_percentages, percent_columns
from evalkit.contract._sniff import (
    HEADER_SEARCH_ROWS,
    Reading,
    decode_text,
    drop_totals,
    find_header,
    header_reading,
    header_text,
    raise_password,
    refuse_encrypted,
    sniff_delimiter,
)
from evalkit.errors import DataError, Problem

#: the workbook readers evalkit uses: calamine first, openpyxl where calamine cannot read it
Engine = Literal["calamine", "openpyxl"]

#: Cell texts read as "no value" in CSV files, as councils' systems export them.
MISSING_MARKERS = ("", "NA", "N/A", "n/a", "na", "NULL", "null", "None", "none", "-", ".")


@dataclass(frozen=True)
class Table:
    """A data file's raw rows as read, and what was recognised on the way."""

    frame: pd.DataFrame
    #: the spreadsheet line of the frame's row 0 (rows keep their index, so lines match)
    first_line: int
    sha256: str
    readings: tuple[Reading, ...] = ()
    #: the file's first row as it stands, to show when the header is not found
    first_row: tuple[str, ...] = ()
    #: a workbook's sheets, by name, and the one read (empty for other files)
    sheets: tuple[str, ...] = ()
    sheet_read: str = ""


def read_table(path: Path, sheet: str | int | None = None) -> tuple[pd.DataFrame, int, str]:
    """Return a data file's raw rows, the line number of its first row, and its sha256.

    CSV cells are kept as text (so nothing is lost before it is checked); XLSX
    and Parquet keep the types stored in the file.
    """
    table = read_data(path, sheet=sheet)
    return table.frame, table.first_line, table.sha256


def read_data(
    path: Path,
    *,
    sheet: str | int | None = None,
    needed: Sequence[str] = (),
    header_row: int | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> Table:
    """Return a data file read as it comes, saying what was recognised (see :class:`Table`).

    The header is the first row holding every column in ``needed`` (or line
    ``header_row``); rows of totals at the end are left out.
    """
    if not path.is_file():
        raise DataError(
            "the data file named in the card does not exist",
            path=path,
            hint="check data.path in pilot.yaml (it is relative to the pilot folder)",
        )
    content = path.read_bytes()
    sha = hashlib.sha256(content).hexdigest()
    if not content.strip():
        raise DataError("the data file is empty", path=path, hint="export the data again")
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return Table(_read_parquet(path, content), 1, sha)
    if suffix in {".csv", ".txt", ".tsv"}:
        text, readings = decode_text(path, content, encoding)
        separator, said = sniff_delimiter(text, delimiter)
        frame, position, rows = _read_csv(path, text, separator, needed, header_row)
        head: list[list[object]] = [list(row) for row in rows]
        readings += said
    elif suffix in {".xlsx", ".xlsm", ".xls"}:
        frame, position, head, readings = _read_workbook(path, content, sheet, needed, header_row)
    else:
        raise DataError(
            f"evalkit cannot read '{suffix}' files",
            path=path,
            hint="save the data as CSV (UTF-8), XLSX or Parquet",
        )
    readings += header_reading(position, head)
    sheets, sheet_read = frame.attrs.get("sheets", ()), frame.attrs.get("sheet", "")
    short = frame.attrs.get("short", [])
    frame, totals = drop_totals(frame, position + 2)
    frame.attrs["short"] = short
    first = tuple("" if cell is None else str(cell) for cell in head[0]) if head else ()
    table = Table(frame, position + 2, sha, (*readings, *totals), first, sheets, sheet_read)
    refuse_short_rows(path, table)
    return table


def _read_csv(
    path: Path, text: str, separator: str, needed: Sequence[str], header_row: int | None
) -> tuple[pd.DataFrame, int, list[list[str]]]:
    # lines as a CSV reader ends them (not str.splitlines, which also breaks at \x0c or U+2028)
    searched = max(HEADER_SEARCH_ROWS, header_row or 0)
    lines = _LINE_END.split(text, maxsplit=searched)[:searched]
    try:
        rows = [
            next(csv.reader([line], delimiter=separator, skipinitialspace=True), [])
            for line in lines
        ]
    except csv.Error:
        rows = []  # pandas says what is wrong with the file, below
    position = find_header(rows, needed, header_row)
    _check_header_row(path, position, len(_LINE_END.split(text.rstrip("\r\n"))))
    header = rows[position] if position < len(rows) else []
    _refuse_duplicate_columns(path, header, where=str(position + 1))
    frame = _csv_with_pyarrow(text, separator, position, header)
    if frame is None:
        frame = _csv_with_pandas(path, text, separator, position)
    frame.columns = [str(c).strip() for c in frame.columns]
    # drop blank lines but keep each row's index, so line numbers still match the file
    kept = frame[frame.notna().any(axis=1)]
    kept.attrs = dict(frame.attrs)
    return kept, position, rows[: position + 1]


#: blank lines (pandas keeps them in its numbering) and lines starting with a space or tab
_PANDAS_ONLY = ("\n\n", "\n\r\n", "\r\r", "\n ", "\n\t", "\r ", "\r\t")
_LINE_END = re.compile(r"\r\n|\r|\n")


def _csv_with_pyarrow(
    text: str, separator: str, skip: int, header: Sequence[str]
) -> pd.DataFrame | None:
    """Return the CSV read by pyarrow (fast), or None where only pandas reads it the same way.

    pandas keeps blank lines in the numbering and skips spaces after a delimiter;
    with either in the file, or any error, the pandas path reads it (and says what
    is wrong in its own words).
    """
    if not header or any(not name.strip() for name in header):
        return None
    # plain substring tests: a regular expression over a large file costs more than the read
    if text.startswith((" ", "\t")) or any(mark in text for mark in _PANDAS_ONLY):
        return None
    if f"{separator} " in text:
        return None
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(skip_rows=skip),
            parse_options=pacsv.ParseOptions(delimiter=separator, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                null_values=list(MISSING_MARKERS),
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException, ValueError):
        return None
    if table.num_columns != len(header):
        return None
    text_type = pd.StringDtype(na_value=np.nan)
    frame: pd.DataFrame = table.to_pandas(
        types_mapper=lambda kind: text_type if kind == pa.string() else None
    )
    return frame


def _csv_with_pandas(path: Path, text: str, separator: str, skip: int) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=separator,
            skiprows=skip,
            dtype=str,
            keep_default_na=False,
            na_values=list(MISSING_MARKERS),
            skipinitialspace=True,
            skip_blank_lines=False,
        )
    except pd.errors.ParserError as exc:
        raise DataError(
            f"the file is not a well-formed CSV: {exc}".rstrip(),
            path=path,
            hint="every line needs the same number of commas as the header; "
            "quote text that contains commas",
        ) from None
    except (pd.errors.EmptyDataError, csv.Error) as exc:
        raise DataError(f"the file cannot be read as CSV: {exc}", path=path) from None
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas makes the first columns an index when a row has more values than the header
        raise DataError(
            "the file is not a well-formed CSV: a row has more values than the header has columns",
            path=path,
            hint="every line needs the same number of commas as the header; "
            "quote text that contains commas",
        )
    frame.attrs["short"] = _short_rows(text, separator, skip, len(frame.columns))
    return frame


def _short_rows(text: str, separator: str, skip: int, width: int) -> list[int]:
    """Return the rows (as pandas numbers them) with fewer values than the header.

    pandas pads such a row with blanks, but a value left out moves the ones
    after it into the wrong columns; :func:`refuse_short_rows` refuses them.
    """
    reader = csv.reader(io.StringIO(text), delimiter=separator, skipinitialspace=True)
    short = []
    try:
        for record, row in enumerate(reader):
            # pandas numbers records the same way: blank lines are kept as empty rows
            if record > skip and len(row) < width and any(cell.strip() for cell in row):
                short.append(record - skip - 1)
    except csv.Error:
        return []  # pandas read it: what the csv module cannot split is not a short row
    return short


def refuse_short_rows(path: Path, table: Table) -> None:
    """Raise DataError for a kept row that had fewer values than the header (a total may)."""
    short = [index for index in table.frame.attrs.get("short", ()) if index in table.frame.index]
    if short:
        line = short[0] + table.first_line
        raise DataError(
            f"line {line} has fewer values than the header has columns, so its values may be "
            "in the wrong columns",
            path=path,
            where=str(line),
            hint="every line needs as many delimiters as the header (an empty cell is two "
            "delimiters side by side); export the data again",
        )


def _check_header_row(path: Path, position: int, lines: int, sheet: str | None = None) -> None:
    """Raise DataError when data.header_row is below the file's (or sheet's) last line."""
    if lines == 0:  # only a sheet can be empty here: an empty file was refused before
        raise DataError(
            f"the sheet read ({sheet}) is empty",
            path=path,
            hint="set data.sheet in pilot.yaml to the sheet the data are on "
            "(its name, or its position, 1 for the first)",
        )
    if position >= lines:
        hint = "set data.header_row to the line the column names are on, or remove it"
        if sheet is not None:
            hint = f"check data.sheet names the sheet the data is on (it read {sheet}); {hint}"
        raise DataError(
            f"data.header_row is {position + 1}, but the "
            f"{'file' if sheet is None else 'sheet'} has only {lines} lines",
            path=path,
            hint=hint,
        )


def _read_workbook(
    path: Path,
    content: bytes,
    sheet: str | int | None,
    needed: Sequence[str],
    header_row: int | None,
) -> tuple[pd.DataFrame, int, list[list[object]], list[Reading]]:
    refuse_encrypted(path, content)
    grid = _workbook_grid(path, content, sheet)
    rows = grid.head(HEADER_SEARCH_ROWS).to_numpy(dtype=object).tolist()
    position = find_header(rows, needed, header_row)
    _check_header_row(path, position, len(grid), sheet=str(grid.attrs.get("sheet", "")))
    names = [None if pd.isna(n) else header_text(n) for n in grid.iloc[position].tolist()]
    _refuse_duplicate_columns(path, names, where=str(position + 1))
    frame = grid.iloc[position + 1 :].reset_index(drop=True).infer_objects()
    frame.columns = [
        f"Unnamed: {i}" if n is None or not n.strip() else n.strip() for i, n in enumerate(names)
    ]
    head = [["" if pd.isna(n) else n for n in row] for row in rows[: position + 1]]
    # drop blank rows (as in a CSV) but keep each row's index, so line numbers still match
    cells = frame.astype(object).where(frame.notna(), "")
    blank = cells.apply(lambda column: column.astype(str).str.strip().eq("")).all(axis=1)
    frame = frame[~blank.to_numpy()].astype(object)
    frame = frame.where(frame.notna(), None)
    shown = percent_columns(path, content, sheet, position, list(frame.columns), needed)
    frame.attrs.update(sheet=grid.attrs.get("sheet", ""), sheets=grid.attrs.get("sheets", ()))
    return frame, position, head, as_percentages(frame, shown)


def _workbook_grid(path: Path, content: bytes, sheet: str | int | None) -> pd.DataFrame:
    """Return a sheet's cells (no header taken): with calamine (fast), else openpyxl."""
    engines: list[Engine] = ["calamine"]
    if path.suffix.lower() != ".xls":
        engines.append("openpyxl")
    failure: Exception | None = None
    for engine in engines:
        try:
            return open_sheet(path, content, sheet, engine)
        except DataError:
            raise
        except Exception as exc:  # each engine raises its own types for a file it cannot read
            failure = exc
    if failure is not None and re.search(r"passw|encrypt", str(failure), re.IGNORECASE):
        raise_password(path)
    kind = path.suffix.lower()
    raise DataError(
        f"the workbook cannot be opened ({type(failure).__name__}); it may be damaged "
        f"or not really an {kind} file",
        path=path,
        hint="open it in Excel and save it again as .xlsx, or export it as CSV UTF-8",
    )


def open_sheet(path: Path, content: bytes, sheet: str | int | None, engine: Engine) -> pd.DataFrame:
    """Return one sheet's cells read by ``engine``; ``sheet`` is a name or a 1-based position."""
    with pd.ExcelFile(io.BytesIO(content), engine=engine) as book:
        names = [str(name) for name in book.sheet_names]
        if sheet is None:
            chosen: str | int = 0
        elif isinstance(sheet, int):
            if not 1 <= sheet <= len(names):
                raise DataError(
                    f"the workbook has {len(names)} sheet(s), so there is no sheet {sheet}",
                    path=path,
                    hint=f"set data.sheet in pilot.yaml to one of: {', '.join(names)} "
                    "(or its position, 1 for the first)",
                )
            chosen = sheet - 1
        elif sheet in names:
            chosen = sheet
        else:
            raise DataError(
                f"there is no sheet {sheet!r} in the workbook; its sheets are: {', '.join(names)}",
                path=path,
                hint="set data.sheet in pilot.yaml to the sheet's name",
            )
        grid = pd.read_excel(book, sheet_name=chosen, header=None)
        grid.attrs["sheet"] = repr(names[chosen] if isinstance(chosen, int) else chosen)
        grid.attrs["sheets"] = tuple(names)
        return grid


def _read_parquet(path: Path, content: bytes) -> pd.DataFrame:
    try:
        names = pq.read_schema(io.BytesIO(content)).names  # the footer only, as written
        # pandas keeps a frame's index as a column of this name; it is not the data's own
        _refuse_duplicate_columns(path, [n for n in names if not n.startswith("__index_level_")])
        return pd.read_parquet(io.BytesIO(content))
    except DataError:
        raise
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise DataError(
            f"the Parquet file cannot be read ({type(exc).__name__})",
            path=path,
            hint="write the file again, or export the data as CSV UTF-8",
        ) from None


def _refuse_duplicate_columns(path: Path, header: Sequence[str | None], where: str = "") -> None:
    """Raise DataError when two columns share a name once spaces and capitals are ignored.

    pandas would rename the second one ('ward.1') and the card would silently
    get the first; which one the team meant is theirs to say, not evalkit's.
    """
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(header):
        if name is not None and name.strip():
            seen.setdefault(name.strip().casefold(), []).append(position)
    named = [[f"{p + 1} ({header[p]!r})" for p in positions] for positions in seen.values()]
    problems = [
        Problem(
            f"columns {', '.join(each[:-1])} and {each[-1]}",
            "have the same name (ignoring spaces and capitals)",
        )
        for each in named
        if len(each) > 1
    ]
    if problems:
        raise DataError(
            "the header names the same column more than once, so evalkit cannot tell which "
            "one the card means",
            path=path,
            where=where,
            problems=problems,
            hint="rename or delete the extra columns in the file, so each name is used once",
        )
