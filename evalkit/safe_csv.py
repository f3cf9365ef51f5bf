"""Writing CSV files that are safe to open in a spreadsheet.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula (and may trim a leading tab or carriage return first), so a value typed
into a council system, such as ``=HYPERLINK("http://x")``, could act when a
local team opens evalkit's output in Excel ("CSV injection"). Following the
OWASP guidance, such a cell is written with an apostrophe in front, which a
spreadsheet shows as text; plain numbers such as ``-2`` or ``+44`` are left as
they are. This sits beside :mod:`evalkit.atomic`, at the bottom of the layers,
so every module that writes a CSV can use the one rule.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from evalkit.atomic import write_atomically

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_safe_cell(value: object) -> object:
    """Return a cell as it can safely be written: formula-like text gets an apostrophe in front."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of a table whose text cells and column names cannot run as formulas."""
    safe = frame.copy()
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        # numbers, dates and yes/no values are written as they are; only text can hold a formula
        if column.dtype == object or isinstance(column.dtype, pd.CategoricalDtype | pd.StringDtype):
            safe.isetitem(position, column.map(spreadsheet_safe_cell).to_numpy(dtype=object))
    safe.columns = pd.Index([spreadsheet_safe_cell(name) for name in frame.columns], dtype=object)
    return safe


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write a table to ``path`` as CSV, atomically and safe to open in a spreadsheet."""
    # with "\r\n" ending each row, a cell holding a carriage return is quoted; with "\n" it is
    # not, and a spreadsheet starts a new row there, whose first cell could be a formula
    text = spreadsheet_safe(frame).to_csv(index=False, lineterminator="\r\n")
    return write_atomically(path, text)
