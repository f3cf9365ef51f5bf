"""Tests that a data file naming one column twice is refused, not silently renamed ('ward.1')."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from evalkit.card import load_pilot
from evalkit.contract import read_table, validate_data
from evalkit.errors import DataError

from .conftest import DID_ROWS, PilotFactory, evalkit_cmd

HEADER = DID_ROWS.splitlines()[0].split(",")  # case_id, arm, phase, ward, household_size, days
ROWS = [line.split(",") for line in DID_ROWS.splitlines()[1:]]


def _with_extra(name: str) -> tuple[list[str], list[list[str]]]:
    """Return the DID header and rows with one more column, ``name``, at position 7."""
    return [*HEADER, name], [[*row, "W9"] for row in ROWS]


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(cells) for cells in [header, *rows]).encode("utf-8") + b"\n"


def _xlsx(header: list[str], rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for cells in [header, *rows]:
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _parquet(header: list[str], rows: list[list[str]]) -> bytes:
    # pyarrow, not pandas: pandas refuses to write two columns of one name
    table = pa.table([pa.array(column) for column in zip(*rows, strict=True)], names=header)
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


WRITERS = {".csv": _csv, ".xlsx": _xlsx, ".parquet": _parquet}


@pytest.mark.parametrize("suffix", list(WRITERS))
@pytest.mark.parametrize("name", ["ward", "Ward ", "WARD"])
def test_a_second_column_of_the_same_name_is_refused(
    make_pilot: PilotFactory, suffix: str, name: str
) -> None:
    pilot = make_pilot(data=WRITERS[suffix](*_with_extra(name)), data_name=f"data/cases{suffix}")
    card = load_pilot(pilot)

    with pytest.raises(DataError) as caught:
        validate_data(card)

    error = caught.value
    assert error.path == card.data_path
    assert error.where == ("" if suffix == ".parquet" else "1")
    assert [p.where for p in error.problems] == [f"columns 4 ('ward') and 7 ({name!r})"]
    assert "rename or delete" in error.hint


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_validate_exits_1_naming_both_columns(make_pilot: PilotFactory, suffix: str) -> None:
    pilot = make_pilot(data=WRITERS[suffix](*_with_extra("Ward ")), data_name=f"data/cases{suffix}")

    ran = evalkit_cmd("validate", pilot)

    assert ran.returncode == 1, ran.stderr
    assert "Traceback" not in ran.stderr
    assert f"cases{suffix}" in ran.stderr
    assert "columns 4 ('ward') and 7 ('Ward ')" in ran.stderr


def test_three_copies_and_two_pairs_are_all_named(tmp_path: Path) -> None:
    header = ["id", "Ward", "ward", "age", " WARD", "Age"]
    path = tmp_path / "cases.csv"
    path.write_bytes(_csv(header, [["1", "a", "b", "3", "c", "4"]]))

    with pytest.raises(DataError) as caught:
        read_table(path)

    assert [p.where for p in caught.value.problems] == [
        "columns 2 ('Ward'), 3 ('ward') and 5 ('WARD')",  # the CSV reader drops the leading space
        "columns 4 ('age') and 6 ('Age')",
    ]


def test_a_quoted_header_with_a_comma_is_read_as_one_name(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_text('id,"ward, old",ward\n1,a,b\n', encoding="utf-8")

    frame, _, _ = read_table(path)

    assert list(frame.columns) == ["id", "ward, old", "ward"]


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_similar_names_and_blank_headers_are_fine(tmp_path: Path, suffix: str) -> None:
    header = ["id", "ward", "ward_2", "wards"]
    path = tmp_path / f"cases{suffix}"
    path.write_bytes(WRITERS[suffix](header, [["1", "a", "b", "c"]]))

    frame, _, _ = read_table(path)

    assert list(frame.columns) == header


def test_blank_header_cells_are_not_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "cases.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", None, "ward", None])
    sheet.append([1, "x", "a", "y"])
    book.save(path)

    frame, _, _ = read_table(path)

    assert list(frame.columns) == ["id", "Unnamed: 1", "ward", "Unnamed: 3"]


def test_a_workbook_is_read_with_the_same_types_as_before(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"id": [1, 2], "when": pd.to_datetime(["2025-04-01", "2025-05-01"]), "n": [1.5, None]}
    )
    frame.to_excel(tmp_path / "cases.xlsx", index=False)

    read, first_line, _ = read_table(tmp_path / "cases.xlsx")

    assert first_line == 2
    assert list(read["id"]) == [1, 2]
    assert list(read["when"]) == list(frame["when"])
    assert read["n"].iloc[0] == 1.5 and read["n"].iloc[1] is None


def test_columns_named_like_evalkits_own_are_kept_beside_them(
    make_pilot: PilotFactory, tmp_path: Path
) -> None:
    from evalkit.analysis import write_rejected

    header = [*HEADER, "line", "Reasons"]
    rows = [[*row, "L", "R"] for row in ROWS]
    rows[2][HEADER.index("household_size")] = "many"
    pilot = make_pilot(data=_csv(header, rows))
    validation = validate_data(load_pilot(pilot))
    assert list(validation.rejected.columns[:2]) == ["evalkit_line", "evalkit_reasons"]
    written = pd.read_csv(write_rejected(validation, tmp_path), dtype=str)
    assert written.loc[0, "evalkit_line"] == "4"
    assert "household_size" in written.loc[0, "evalkit_reasons"]
    assert (written.loc[0, "line"], written.loc[0, "Reasons"]) == ("L", "R")
