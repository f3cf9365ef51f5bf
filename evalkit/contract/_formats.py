"""What a workbook's cell formats say about its numbers: a cell shown as 90% holds 0.9.

A spreadsheet keeps a percentage as a share with a "%" format, so the number
read from the file is a hundred times smaller than what the person sees and
typed; the same value written as text ("90%") is read as 90. To read both
alike, the formats of the first rows below the header are read with openpyxl
(read-only, so only those rows are parsed) and a column whose numbers are all
shown as percentages is read as percentages of 100, and said so. A column
with some numbers shown as percentages and some not is refused: it cannot be
read one way.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from evalkit.contract._sniff import Reading
from evalkit.errors import DataError

#: how many rows below the header have their formats read
SAMPLED_ROWS = 200


def percent_columns(
    path: Path,
    content: bytes,
    sheet: str | int | None,
    header: int,
    names: Sequence[str],
    used: Sequence[str],
) -> list[str]:
    """Return the columns whose numbers the workbook shows as percentages (an .xlsx only).

    ``header`` is the 0-based row of the column names, ``names`` the columns in
    order; only the columns the card ``used`` are looked at.
    """
    if path.suffix.lower() not in {".xlsx", ".xlsm"}:
        return []  # an .xls keeps its formats elsewhere; its numbers are read as stored
    import openpyxl  # type: ignore[import-untyped]

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # calamine read the file: its formats are a refinement, not a need
        return []
    try:
        if sheet is None:
            worksheet = book.worksheets[0]
        elif isinstance(sheet, int):
            worksheet = book.worksheets[sheet - 1]
        else:
            worksheet = book[sheet]
        shown: dict[int, set[bool]] = {}
        rows = worksheet.iter_rows(min_row=header + 2, max_row=header + 1 + SAMPLED_ROWS)
        for row in rows:
            for position, cell in enumerate(row[: len(names)]):
                if names[position] not in used:
                    continue
                value = getattr(cell, "value", None)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    shown.setdefault(position, set()).add("%" in str(cell.number_format))
    finally:
        book.close()
    mixed = [names[p] for p, kinds in shown.items() if kinds == {True, False}]
    if mixed:
        raise DataError(
            f"column {mixed[0]!r} has some numbers shown as percentages (0.9 as 90%) and some "
            "not, so it cannot be read one way",
            path=path,
            hint="format the whole column as Percentage, or as Number, in the workbook, or "
            "export the sheet as CSV UTF-8",
        )
    return [names[p] for p, kinds in sorted(shown.items()) if kinds == {True}]


def as_percentages(frame: pd.DataFrame, columns: Sequence[str]) -> list[Reading]:
    """Read the numbers of ``columns`` as percentages of 100 (0.9 as 90), in place; say so."""
    readings = []
    for column in columns:
        values = frame[column]
        numeric = values.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
        if not numeric.any():
            continue
        example = float(values[numeric].iloc[0])
        # rounded, so 0.07 is 7 and not 7.000000000000001
        frame.loc[numeric, column] = values[numeric].map(lambda v: round(float(v) * 100, 10))
        cells = int(numeric.sum())
        count = f"{cells:,} cell" + ("" if cells == 1 else "s")
        text = (
            f"Column {column!r}: {count} shown as percentages in the workbook (such as "
            f"{example * 100:g}%, stored as {example:g}) were read as numbers out of 100 "
            f"({example * 100:g}% as {example * 100:g})."
        )
        public = (
            f"Column {column!r}: {count} shown as percentages in the workbook (stored as "
            "shares: 0.9 for 90%) were read as numbers out of 100 (90% as 90)."
        )
        readings.append(Reading(column, cells, text, public=public))
    return readings
