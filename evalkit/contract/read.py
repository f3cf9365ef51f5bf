"""Reading data files as they are: CSV kept as text, XLSX and Parquet with their own types.

Every way a file can be unreadable (missing, empty, not UTF-8, ragged, a
damaged workbook) becomes a DataError naming the file and the fix. The file
is read once, as bytes, so its hash describes exactly what was checked.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from pathlib import Path

import pandas as pd

from evalkit.errors import DataError

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
    try:
        frame = pd.read_csv(
            io.StringIO(text),
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
        frame = pd.read_excel(io.BytesIO(content), sheet_name=sheet or 0, engine="openpyxl")
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
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.astype(object).where(frame.notna(), None)


def _read_parquet(path: Path, content: bytes) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(content))
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise DataError(
            f"the Parquet file cannot be read ({type(exc).__name__})",
            path=path,
            hint="write the file again, or export the data as CSV UTF-8",
        ) from None
