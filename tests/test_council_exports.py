"""Council exports (issue #16): files as councils' systems write them are read as meant.

Each variant of one seeded pilot (see ``tests/council_exports.py``) either
validates and runs, with the report saying how the file was read and the
estimates using every readable row, or stops with exit 1 and the fix in plain
words. The values read are compared with the values the generator wrote.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.card import load_pilot
from evalkit.contract import Validation, validate_data
from evalkit.contract.parse import read_column
from evalkit.errors import DataError
from tests.conftest import evalkit_cmd
from tests.council_exports import BAD_ROW, FAMILIES, VARIANTS, families, write_export

NUMBERS = ["days_in_ta", "rehoused", "rent_arrears", "attendance"]


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Return every variant's pilot folder, written once for the module."""
    base = tmp_path_factory.mktemp("council-exports")
    return {variant: write_export(variant, base) for variant in VARIANTS}


def checked(pilot: Path) -> Validation:
    """Return the pilot's data checked against its card, as a run checks it."""
    return validate_data(load_pilot(pilot))


def cells(validation: Validation, column: str, words: str) -> int:
    """Return the count of cells of the column's one reading that says ``words``."""
    (found,) = [r for r in validation.readings if r.column == column and words in r.text]
    return found.cells


def said(validation: Validation) -> str:
    """Return every reading's sentence, one a line."""
    return "\n".join(r.text for r in validation.readings)


def assert_values_match(valid: pd.DataFrame, truth: pd.DataFrame) -> None:
    """Assert the valid rows hold the generator's true values, family by family."""
    got = valid.set_index("family_id").loc[truth["family_id"]]
    for column in NUMBERS:
        np.testing.assert_allclose(
            got[column].astype(float).to_numpy(), truth[column].to_numpy(), err_msg=column
        )
    assert got["ward"].astype(str).tolist() == truth["ward"].tolist()


def page_text(report: Path) -> str:
    """Return a report page's text, tags removed, as a reader sees it."""
    return html.unescape(re.sub(r"<[^>]+>", " ", report.read_text(encoding="utf-8")))


# --- the cells as written: £1,204.50, 90%, Yes, 88,5 ---


@pytest.mark.parametrize(
    ("cells", "kind", "decimal", "expected"),
    [
        (["£1,204.50", "£406.46", "£0.00"], "float", ".", [1204.5, 406.46, 0.0]),
        (["90%", "100%", " 7% "], "float", ".", [90.0, 100.0, 7.0]),
        (["Yes", "yes", "Y", "YES", "No", "n", "1", "0"], "binary", ".", [1, 1, 1, 1, 0, 0, 1, 0]),
        (["88,5", "£1.204,50", "12"], "float", ",", [88.5, 1204.5, 12.0]),
    ],
)
def test_cells_written_as_councils_write_them_are_read_as_their_numbers(
    cells: list[str], kind: str, decimal: str, expected: list[float]
) -> None:
    """£ with thousands separators, percentages, yes/no words and decimal commas are numbers."""
    parsed = read_column(pd.Series(cells, dtype=object), kind, decimal)

    assert not parsed.bad.any()
    assert parsed.values.tolist() == pytest.approx(expected)


def test_a_decimal_comma_is_not_guessed_without_the_card_saying_so() -> None:
    """Without data.decimal "88,5" is unreadable, and the failure names the fix."""
    parsed = read_column(pd.Series(["88,5", "£1.204,50"], dtype=object), "float")

    assert parsed.bad.all()
    assert parsed.comma.all()


def test_with_decimal_comma_a_point_only_groups_thousands() -> None:
    """With data.decimal "," 1.500 is 1500, so 88.5 is unreadable rather than read as 88.5."""
    parsed = read_column(pd.Series(["1.500", "88.5", "1.50"], dtype=object), "float", ",")

    assert parsed.values.iloc[0] == 1500.0
    assert parsed.bad.tolist() == [False, True, True]
    assert parsed.comma.tolist() == [False, True, True]  # their fix is the decimal mark


def test_a_decimal_point_where_the_card_says_comma_names_the_card_key(tmp_path: Path) -> None:
    """88.5 in a file the card says uses decimal commas fails, saying how the card reads it."""
    pilot = write_export("csv_semicolon", tmp_path)
    data = pilot / "data" / "families.csv"
    lines = data.read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(";")
    cells[4] = cells[4].replace(",", ".")  # days_in_ta typed with a point
    lines[1] = ";".join(cells)
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")

    failures = checked(pilot).failures

    (rule,) = failures.loc[failures["line"] == 2, "rule"]
    assert 'data.decimal: ","' in rule and "88.5 is written 88,5" in rule


def test_the_generator_is_seeded(tmp_path: Path) -> None:
    """The same variant written twice is the same bytes: the fixture is reproducible."""
    one = write_export("csv_semicolon", tmp_path / "one") / "data" / "families.csv"
    two = write_export("csv_semicolon", tmp_path / "two") / "data" / "families.csv"

    assert one.read_bytes() == two.read_bytes()
    assert len(families()) == FAMILIES


# --- each variant read with validate_data ---


def test_a_workbook_with_a_title_total_and_yes_no_is_read_as_meant(
    exports: dict[str, Path],
) -> None:
    """Header on line 3, first data row line 4, blank row and total at the end left out."""
    validation = checked(exports["xlsx_title"])
    truth = families()
    assert validation.rows_read == FAMILIES  # the blank row and the total are not rows
    assert validation.failures[["line", "column", "value"]].values.tolist() == [
        [4 + BAD_ROW, "days_in_ta", "see notes"]
    ]
    assert validation.rejected["family_id"].tolist() == [truth["family_id"][BAD_ROW]]
    assert_values_match(validation.valid, truth.drop(index=BAD_ROW))
    assert "The header is on line 3" in said(validation)
    assert f"The last row (line {FAMILIES + 5}) was a total" in said(validation)
    assert cells(validation, "rehoused", "No/Yes/no/yes/… were read as 1/0") == FAMILIES
    assert cells(validation, "rent_arrears", "currency sign") == FAMILIES
    thousands = int((truth["rent_arrears"] >= 1000).sum())
    assert cells(validation, "rent_arrears", "thousands separators") == thousands > 0
    # kept as shares shown as 84%, read as the 84 a person sees (text "84%" is read so too)
    shown = truth["attendance"].notna().sum()
    assert cells(validation, "attendance", "shown as percentages in the workbook") == shown


def test_a_column_shown_partly_as_percentages_is_refused_with_the_fix(tmp_path: Path) -> None:
    """0.84 shown as 84% beside 0.84 shown as 0.84: no one reading fits both, so none is guessed."""
    from openpyxl import Workbook

    pilot = write_export("xlsx_title", tmp_path)
    book = Workbook()
    sheet = book.active
    sheet.append(["family_id", "ward", "arm", "phase", "days_in_ta", "rehoused", "rent_arrears"])
    sheet["H1"] = "attendance"
    for k in range(8):
        sheet.append([f"F{k}", "Old Town", "pilot", "before", 40.0, "Yes", "£10.00", 0.84])
        sheet.cell(row=sheet.max_row, column=8).number_format = "0%" if k % 2 else "0.00"
    book.save(pilot / "data" / "families.xlsx")

    result = evalkit_cmd("validate", pilot)

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "'attendance' has some numbers shown as percentages" in result.stderr
    assert "format the whole column as Percentage" in result.stderr


def test_a_semicolon_csv_with_decimal_commas_is_read_when_the_card_says_so(
    exports: dict[str, Path],
) -> None:
    """With data.decimal "," the cells 79,3 and £1.186,82 are the numbers they mean."""
    validation = checked(exports["csv_semicolon"])

    assert validation.rows_read == len(validation.valid) == FAMILIES
    assert_values_match(validation.valid, families())
    assert "separated by semicolons" in said(validation)
    decimal = [r for r in validation.readings if "decimal comma" in r.text]
    assert {r.column: r.cells for r in decimal} == {"days_in_ta": 800, "rent_arrears": 800}


def test_the_same_csv_without_data_decimal_fails_naming_it(exports: dict[str, Path]) -> None:
    """Nothing is guessed: every row fails, and the stop names data.decimal."""
    validation = checked(exports["csv_semicolon_no_decimal"])

    assert len(validation.rejected) == FAMILIES
    assert set(validation.failures["column"]) == {"days_in_ta", "rent_arrears"}
    assert validation.failures["rule"].str.contains('data.decimal: ","', regex=False).all()
    with pytest.raises(DataError, match=re.escape('data.decimal: ","')):
        validation.raise_if_too_broken()


def test_a_windows_1252_csv_keeps_its_accents_and_pound_signs(exports: dict[str, Path]) -> None:
    """é and £ stored as single bytes are read as the characters they are, and said so."""
    raw = (exports["csv_cp1252"] / "data" / "families.csv").read_bytes()
    assert b"\xa3" in raw and b"Ren\xe9e" in raw  # the file really is cp1252

    validation = checked(exports["csv_cp1252"])

    assert "Windows-1252" in said(validation)
    assert_values_match(validation.valid, families())
    assert set(validation.valid["caseworker"]) >= {"Renée Dubois", "José Martín", "Zoë Clarke"}


def test_totals_at_the_end_are_left_out_and_a_total_in_the_middle_is_a_failed_row(
    exports: dict[str, Path],
) -> None:
    """Only rows at the very end are totals; a "Total" among the data is checked and rejected."""
    validation = checked(exports["csv_totals"])
    middle = FAMILIES // 2 + 2  # header line 1, the pilot block, then its "Total"

    assert validation.rows_read == FAMILIES + 1
    end = f"lines {middle + 401}-{middle + 402}"  # the comparison block, then two totals
    totals = [(r.cells, r.text) for r in validation.readings if "totals" in r.text]
    assert totals == [(2, f"The rows at the end ({end}) were totals and were left out.")]
    assert validation.rejected["family_id"].tolist() == ["Total"]
    assert set(validation.failures["line"]) == {middle}
    assert set(validation.failures["column"]) == {"arm", "phase", "ward"}
    assert_values_match(validation.valid, families())


def test_a_password_protected_workbook_is_refused_with_the_fix(exports: dict[str, Path]) -> None:
    """An encrypted XLSX is not mistaken for a damaged one: the fix is to remove the password."""
    with pytest.raises(DataError, match="protected with a password") as caught:
        checked(exports["xlsx_encrypted"])

    assert "remove the password" in str(caught.value)


def test_an_old_xls_workbook_is_read(exports: dict[str, Path]) -> None:
    """A .xls (Excel 97-2003) is read with its numbers, Yes/No and £ as written."""
    validation = checked(exports["xls"])

    assert validation.rows_read == len(validation.valid) == FAMILIES
    assert_values_match(validation.valid, families())


def test_the_card_names_the_sheet_by_position_and_the_header_line(
    exports: dict[str, Path],
) -> None:
    """sheet: 2 and header_row: 5 read the data sheet; its first data row is line 6."""
    validation = checked(exports["xlsx_sheet_header"])
    truth = families()

    assert validation.rows_read == FAMILIES
    assert "The header is on line 5" in said(validation)
    assert validation.failures[["line", "column", "value"]].values.tolist() == [
        [6 + BAD_ROW, "rehoused", "Maybe"]
    ]
    assert_values_match(validation.valid, truth.drop(index=BAD_ROW))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("header_row: 5", "header_row: 4"), "data.header_row"),
        (("sheet: 2", "sheet: 3"), "no sheet 3"),
        (
            ("sheet: 2", "sheet: 1"),
            "check data.sheet names the sheet the data is on (it read 'Notes')",
        ),
        (
            ("  sheet: 2\n  header_row: 5\n", ""),
            "on another sheet than the one read ('Notes'), set data.sheet to its name or "
            "position (the sheets: Notes, Data)",
        ),
    ],
)
def test_a_wrong_sheet_or_header_line_stops_with_the_card_key(
    tmp_path: Path, change: tuple[str, str], words: str
) -> None:
    """A card pointing at the wrong sheet or line says what it found and which key to set."""
    pilot = write_export("xlsx_sheet_header", tmp_path)
    card = pilot / "pilot.yaml"
    card.write_text(card.read_text(encoding="utf-8").replace(*change), encoding="utf-8")

    with pytest.raises(DataError, match=re.escape(words)) as caught:
        checked(pilot)

    assert "data." in str(caught.value)


# --- the command line: validate, and three full runs ---


@pytest.mark.parametrize(
    ("variant", "words"),
    [
        ("csv_semicolon_no_decimal", 'data.decimal: ","'),
        ("xlsx_encrypted", "protected with a password"),
    ],
)
def test_validate_stops_an_unreadable_export_with_the_fix(
    exports: dict[str, Path], variant: str, words: str
) -> None:
    """Exit 1, no traceback, and the message names the fix."""
    result = evalkit_cmd("validate", exports[variant])

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert words in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variant", "words"),
    [
        ("csv_totals", "were totals and were left out"),
        ("xls", "were read as 1/0"),
        ("xlsx_sheet_header", "The header is on line 5"),
    ],
)
def test_validate_accepts_a_readable_export_and_says_how_it_was_read(
    exports: dict[str, Path], variant: str, words: str
) -> None:
    """Exit 0, with "How the file was read" on the screen."""
    result = evalkit_cmd("validate", exports[variant])

    assert result.returncode == 0, result.stdout + result.stderr
    assert "How the file was read:" in result.stdout
    assert words in result.stdout


@pytest.mark.parametrize(
    ("variant", "rows", "words"),
    [
        (
            "xlsx_title",
            FAMILIES - 1,
            ["The header is on line 3", "was a total and was left out", "were read as 1/0"],
        ),
        ("csv_semicolon", FAMILIES, ["separated by semicolons", 'as data.decimal: "," says']),
        ("csv_cp1252", FAMILIES, ["read as Windows-1252", "with a currency sign"]),
    ],
)
def test_a_run_on_an_export_reports_how_it_was_read_and_uses_every_readable_row(
    exports: dict[str, Path], variant: str, rows: int, words: list[str]
) -> None:
    """The report says what was recognised; every estimate uses the rows that were read."""
    pilot = exports[variant]

    result = evalkit_cmd("run", pilot, "--runs-dir", pilot.parent / "runs")

    assert result.returncode == 0, result.stdout + result.stderr
    cycle = pilot / "reports" / "cycle-1"
    findings = json.loads((cycle / "results.json").read_text(encoding="utf-8"))["findings"]
    assert {f["outcome"]: f["n"] for f in findings} == {"days_in_ta": rows, "rehoused": rows}
    text = page_text(cycle / "report.html")
    assert "How the file was read" in text
    for word in words:
        assert word in text
