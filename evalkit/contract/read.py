"""Reading data files as they are: CSV kept as text, XLSX and Parquet with their own types.

Every way a file can be unreadable (missing, empty, not UTF-8, ragged, a
damaged workbook, two columns of the same name) becomes a DataError naming
the file and the fix. The file is read once, as bytes, so its hash describes
exactly what was checked.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from evalkit.errors import DataError, Problem

#: Cell texts read as "no value" in CSV files, as councils' systems export them.
MISSING_MARKERS = ("", "NA", "N/A", "n/a", "na", "NULL", "null", "None", "none", "-", ".")


def read_table(path: Path, sheet: str | int | None = None) -> tuple[pd.DataFrame, int, str]:
    """Return a data file's raw rows, the line number of its first row, and its sha256.

    CSV cells are kept as text (so nothing is lost before it is checked); XLSX
    and Parquet keep the types stored in the file.
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
    if suffix in {".csv", ".txt"}:
        return _read_csv(path, content), 2, sha
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(path, content, sheet), 2, sha
    if suffix in {".parquet", ".pq"}:
        return _read_parquet(path, content), 1, sha
    raise DataError(
        f"evalkit cannot read '{suffix}' files",
        path=path,
        hint="save the data as CSV (UTF-8), XLSX or Parquet",
    )


def _read_csv(path: Path, content: bytes) -> pd.DataFrame:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise DataError(
            f"the file is not UTF-8 text (byte 0x{content[exc.start]:02x} cannot be read)",
            path=path,
            where=str(line),
            hint="save it as 'CSV UTF-8' (in Excel: File > Save As > CSV UTF-8)",
        ) from None
    buffer = io.StringIO(text)
    try:
        header = next(csv.reader(buffer, skipinitialspace=True), [])
    except csv.Error:
        header = []  # pandas says what is wrong with the file, below
    _refuse_duplicate_columns(path, header, where="1")
    buffer.seek(0)
    try:
        frame = pd.read_csv(
            buffer,
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
    frame.columns = [str(c).strip() for c in frame.columns]
    # drop blank lines but keep each row's index, so line numbers still match the file
    return frame[frame.notna().any(axis=1)]


def _read_xlsx(path: Path, content: bytes, sheet: str | int | None) -> pd.DataFrame:
    try:
        with pd.ExcelFile(io.BytesIO(content), engine="openpyxl") as book:
            # pandas renames a second 'ward' to 'ward.1', so the header is read as it stands
            header = pd.read_excel(book, sheet_name=sheet or 0, header=None, nrows=1)
            frame = pd.read_excel(book, sheet_name=sheet or 0)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        if isinstance(exc, ValueError) and "Worksheet" in str(exc):
            raise DataError(
                f"there is no sheet {sheet!r} in the workbook",
                path=path,
                hint="set data.sheet in pilot.yaml to the sheet's name",
            ) from None
        raise DataError(
            f"the workbook cannot be opened ({type(exc).__name__}); it may be damaged "
            "or not really an .xlsx file",
            path=path,
            hint="open it in Excel and save it again as .xlsx, or export it as CSV UTF-8",
        ) from None
    names = [] if header.empty else header.iloc[0].tolist()
    _refuse_duplicate_columns(path, [None if pd.isna(n) else str(n) for n in names], where="1")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.astype(object).where(frame.notna(), None)


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
