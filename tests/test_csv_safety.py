"""Tests that the CSV files evalkit writes cannot run a formula when opened in a spreadsheet."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest

from evalkit.analysis import write_rejected
from evalkit.card import load_pilot
from evalkit.contract import validate_data
from evalkit.safe_csv import spreadsheet_safe, spreadsheet_safe_cell, write_csv

from .conftest import DID_ROWS, REPO, PilotFactory

HOSTILE = [
    '=HYPERLINK("http://x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "=",
    "-",
    "+",
    "-cmd",
]
HARMLESS = ["-2", "-3.5", "+44", "0", "12.0", "-1e5", "2025-04-01", "30/04/2025", "ward 3", "", "'"]
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _unsafe_cells(path: Path) -> list[str]:
    """Return every cell (header included) starting with = + @ tab CR, or - and not a number."""
    with path.open(encoding="utf-8", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    starts = ("=", "+", "@", "\t", "\r")
    negative = [c for c in cells if c.startswith("-") and not _NUMBER.fullmatch(c)]
    return [c for c in cells if c.startswith(starts)] + negative


# --- the rule -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_cells_get_an_apostrophe(value: str) -> None:
    assert spreadsheet_safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", HARMLESS)
def test_numbers_dates_and_text_are_left_as_they_are(value: str) -> None:
    assert spreadsheet_safe_cell(value) == value


@pytest.mark.parametrize("value", [-2, -3.5, None, pd.Timestamp("2025-04-01"), True])
def test_cells_that_are_not_text_are_left_as_they_are(value: object) -> None:
    assert spreadsheet_safe_cell(value) is value


def test_a_table_is_made_safe_in_its_cells_and_its_header_and_the_original_is_kept() -> None:
    frame = pd.DataFrame(
        {
            "=cmd": HOSTILE,
            "days": [-2.0, 3.5, None, 4, 5, 6, 7, 8, 9, 10],
            "when": pd.to_datetime(["2025-04-01"] * 10),
        }
    )
    frame["arm"] = pd.Series(HOSTILE, dtype="category")
    before = frame.copy()

    safe = spreadsheet_safe(frame)

    assert list(safe.columns) == ["'=cmd", "days", "when", "arm"]
    assert list(safe["'=cmd"]) == ["'" + v for v in HOSTILE]
    assert list(safe["arm"]) == ["'" + v for v in HOSTILE]
    pd.testing.assert_series_equal(safe["days"], frame["days"])
    pd.testing.assert_series_equal(safe["when"], frame["when"])
    pd.testing.assert_frame_equal(frame, before)


def test_a_carriage_return_inside_a_cell_cannot_start_a_new_row(tmp_path: Path) -> None:
    frame = pd.DataFrame({"note": ["fine\r=HYPERLINK(1)", "ok"], "n": [1, 2]})

    path = write_csv(frame, tmp_path / "out.csv")

    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["note", "n"], ["fine\r=HYPERLINK(1)", "1"], ["ok", "2"]]
    assert _unsafe_cells(path) == []


# --- rejected_rows.csv of a pilot whose data hold hostile cells ---------------------------------


def _hostile_rows() -> str:
    """Return DID rows whose hostile cells sit in rejected rows, and one hostile column name."""
    lines = DID_ROWS.splitlines()
    header = lines[0] + ",=cmd|' /C calc'!A0"
    rows = [f"{line},x" for line in lines[1:]]
    # days must be a number at least 0: these rows are rejected, their ward cells kept
    for index, value in enumerate(HOSTILE[:5]):
        cells = rows[index].split(",")
        cells[3] = '"' + value.replace('"', '""') + '"'
        cells[5] = "-7"
        rows[index] = ",".join(cells)
    cells = rows[5].split(",")
    cells[5] = "-2+3"  # not a number: rejected, and the cell itself is hostile
    rows[5] = ",".join(cells)
    cells = rows[6].split(",")
    cells[5] = '"=1+1"'
    rows[6] = ",".join(cells)
    return "\r\n".join([header, *rows]) + "\r\n"


def test_rejected_rows_csv_holds_no_formula_and_the_data_file_is_untouched(
    make_pilot: PilotFactory, tmp_path: Path
) -> None:
    pilot = make_pilot(data=_hostile_rows().encode("utf-8"))
    data = pilot / "data" / "cases.csv"
    before = hashlib.sha256(data.read_bytes()).hexdigest()
    validation = validate_data(load_pilot(pilot))
    assert len(validation.rejected) == 7

    written = write_rejected(validation, tmp_path / "out")

    assert _unsafe_cells(written) == []
    back = pd.read_csv(written, dtype=str, keep_default_na=False)
    assert "'=cmd|' /C calc'!A0" in back.columns
    assert list(back["ward"][:5]) == ["'" + value for value in HOSTILE[:5]]
    assert list(back["days"]) == ["-7"] * 5 + ["'-2+3", "'=1+1"]  # -7 is a number: kept as it is
    assert list(back["line"]) == [str(n) for n in range(2, 9)]
    assert "(found '-2+3')" in back["reasons"][5]
    assert hashlib.sha256(data.read_bytes()).hexdigest() == before


def test_every_csv_evalkit_writes_goes_through_the_safe_writer() -> None:
    """A new CSV writer elsewhere would skip the neutralising; write_csv is the one way out."""
    writers = re.compile(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(")
    templates = sorted((REPO / "evalkit" / "templates").glob("*.ipynb"))
    assert templates  # the templates are looked at where they ship
    sources = [*(REPO / "evalkit").rglob("*.py"), *templates]
    found = [
        str(path.relative_to(REPO))
        for path in sources
        if path.name != "safe_csv.py" and writers.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
