"""The edges of reading exports as they come: what is read, and what is refused with its fix.

Each case is one a reviewer tried on the readers: a short row pandas would pad,
infinities, a sign given twice, a team whose name starts with "Total", a title
with a form feed, a header far down, an empty sheet, money in a yes/no column.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from evalkit.card import load_pilot
from evalkit.contract import Validation, validate_data
from evalkit.errors import ConfigError, DataError
from tests.conftest import DID_CARD, DID_ROWS, PilotFactory

HEADER, *ROWS = DID_ROWS.splitlines()  # case_id,arm,phase,ward,household_size,days


def checked(make_pilot: PilotFactory, data: str | bytes, **kwargs: str) -> Validation:
    return validate_data(load_pilot(make_pilot(data=data, **kwargs)))


def refused(make_pilot: PilotFactory, data: str | bytes, card: str = DID_CARD) -> DataError:
    with pytest.raises(DataError) as caught:
        checked(make_pilot, data, card=card)
    return caught.value


def test_a_row_with_a_value_left_out_is_refused_not_shifted(make_pilot: PilotFactory) -> None:
    """pandas would read 'C003,comparison,before,55' with 55 as the ward and no days."""
    rows = [*ROWS]
    rows[1] = "C001,comparison,before,W1,3"  # line 3: household_size 3, days left out
    # a blank line and a space after a comma: the pandas reader, which pads short rows
    data = "\n".join([HEADER, rows[0], rows[1], "", *rows[2:]]) + "\n"
    data = data.replace("C000,", "C000, ")

    error = refused(make_pilot, data)

    assert error.where == "3"
    assert "fewer values than the header has columns" in error.message
    assert "as many delimiters as the header" in error.hint


def test_a_short_total_row_at_the_end_is_a_total_not_a_short_row(
    make_pilot: PilotFactory,
) -> None:
    data = "\n".join([HEADER, *ROWS, "", "Total"]) + "\n"

    validation = checked(make_pilot, data)

    assert validation.rows_read == len(ROWS)
    assert any("was a total" in reading.text for reading in validation.readings)


@pytest.mark.parametrize("cell", ["inf", "-inf", "Infinity", "1e400", "--5", "(-5)", "-(5)"])
def test_infinities_and_signs_given_twice_are_refused(make_pilot: PilotFactory, cell: str) -> None:
    rows = [*ROWS]
    rows[0] = rows[0].rsplit(",", 1)[0] + f",{cell}"
    validation = checked(make_pilot, "\n".join([HEADER, *rows]) + "\n")

    assert validation.failures[["line", "column", "value"]].values.tolist() == [[2, "days", cell]]


def test_a_last_row_that_only_starts_with_total_is_a_record(make_pilot: PilotFactory) -> None:
    """A team named "Total Family Support" in the first column is data, with its arm and ward."""
    card = DID_CARD.replace("unit: case_id", "unit: team")
    header = HEADER.replace("case_id", "team")
    rows = [row.replace("C0", "Team 0", 1) for row in ROWS]
    rows[-1] = "Total Family Support," + rows[-1].split(",", 1)[1]

    validation = validate_data(load_pilot(make_pilot(card, "\n".join([header, *rows]) + "\n")))

    assert validation.rows_read == len(ROWS)
    assert validation.valid["team"].astype(str).iloc[-1] == "Total Family Support"
    assert not any("total" in reading.text for reading in validation.readings)


def test_a_form_feed_in_a_title_does_not_move_the_header(make_pilot: PilotFactory) -> None:
    data = "\n".join(["Export\x0cpage 1", HEADER, *ROWS]) + "\n"

    validation = checked(make_pilot, data)

    assert validation.rows_read == len(ROWS)
    assert any("The header is on line 2" in reading.text for reading in validation.readings)


def test_a_blank_line_in_a_mac_csv_keeps_the_lines_right(make_pilot: PilotFactory) -> None:
    """Excel's "CSV (Macintosh)" ends lines with a carriage return alone."""
    rows = [*ROWS]
    rows[3] = rows[3].rsplit(",", 1)[0] + ",-4"
    data = "\r".join([HEADER, rows[0], "", *rows[1:]]) + "\r"

    validation = checked(make_pilot, data)

    assert validation.failures["line"].tolist() == [6]  # header 1, row 2, blank 3, rows 4-


def test_a_header_far_down_is_read_with_its_duplicate_columns_refused(
    make_pilot: PilotFactory,
) -> None:
    card = DID_CARD.replace("  unit: case_id\n", "  unit: case_id\n  header_row: 25\n")
    notes = [f"note {k}" for k in range(24)]
    doubled = HEADER + ",days"
    data = "\n".join([*notes, doubled, *(row + ",1" for row in ROWS)]) + "\n"

    error = refused(make_pilot, data, card=card)

    assert "days" in str(error) and error.where == "25"


def test_a_header_row_past_the_last_line_names_the_card_key(make_pilot: PilotFactory) -> None:
    card = DID_CARD.replace(
        "  unit: case_id\n", f"  unit: case_id\n  header_row: {len(ROWS) + 2}\n"
    )

    error = refused(make_pilot, "\n".join([HEADER, *ROWS]) + "\n", card=card)

    assert f"but the file has only {len(ROWS) + 1} lines" in error.message
    assert "data.header_row" in error.hint


def workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _grid() -> list[list[object]]:
    return [[int(c) if c.isdigit() else c for c in row.split(",")] for row in [HEADER, *ROWS]]


def test_an_empty_sheet_says_so_and_names_data_sheet(make_pilot: PilotFactory) -> None:
    data = workbook({"Empty": [], "Data": _grid()})

    with pytest.raises(DataError) as caught:
        checked(make_pilot, data, data_name="data/cases.xlsx")

    assert "the sheet read ('Empty') is empty" in caught.value.message
    assert "data.sheet" in caught.value.hint and "header_row" not in caught.value.message


def test_a_number_in_a_workbooks_header_is_a_column_name(make_pilot: PilotFactory) -> None:
    """A column headed 2024 (a year) below a title: calamine reads it as 2024.0."""
    card = DID_CARD.replace(
        "    ward: {{type: str}}\n", "    ward: {{type: str}}\n    '2024': {{}}\n"
    )
    grid = _grid()
    grid[0].append(2024)
    for row in grid[1:]:
        row.append(1)
    data = workbook({"Data": [["Families, by year"], *grid]})

    validation = validate_data(load_pilot(make_pilot(card, data, data_name="data/cases.xlsx")))

    assert "2024" in validation.valid.columns and validation.rows_read == len(ROWS)


@pytest.mark.parametrize("cell", ["£1", "(0)", "0%", "1,0"])
def test_money_and_percentages_are_no_yes_no(make_pilot: PilotFactory, cell: str) -> None:
    card = DID_CARD + "  - column: settled\n    type: binary\n    better: higher\n"
    rows = [f"{row},{k % 2}" for k, row in enumerate(ROWS)]
    rows[0] = rows[0].rsplit(",", 1)[0] + f',"{cell}"'
    data = "\n".join([HEADER + ",settled", *rows]) + "\n"

    validation = validate_data(load_pilot(make_pilot(card, data)))

    assert validation.failures[["line", "column"]].values.tolist() == [[2, "settled"]]


def test_sheet_zero_is_a_plain_card_problem(tmp_path: Path, make_pilot: PilotFactory) -> None:
    card = DID_CARD.replace("  unit: case_id\n", "  unit: case_id\n  sheet: 0\n")
    pilot = make_pilot(card, data=b"", data_name="data/cases.xlsx")

    with pytest.raises(ConfigError) as caught:
        load_pilot(pilot)

    (problem,) = caught.value.problems
    assert "data.sheet" in problem.where and "constrained" not in str(caught.value)
    assert "counts from 1" in problem.message and "1 for the first" in problem.hint


def test_a_title_and_example_cells_are_said_to_the_team_but_not_published(
    make_pilot: PilotFactory,
) -> None:
    """A title may name people or hold a count ("3 families withdrawn"); a cell may be one
    person's: the local team's screen quotes them, a published report does not."""
    from evalkit.analysis import analyse_pilot
    from evalkit.report.trust import trust_markdown

    rows = [*ROWS]
    rows[0] = rows[0].rsplit(",", 1)[0] + ',"1,204"'
    data = "\n".join(["Export for J. Smith (3 families withdrawn)", HEADER, *rows]) + "\n"
    pilot = make_pilot(data=data)
    validation = validate_data(load_pilot(pilot))
    texts = " ".join(reading.text for reading in validation.readings)
    assert "J. Smith" in texts and "'1,204'" in texts

    report = trust_markdown(analyse_pilot(pilot))

    assert "The header is on line 2; the line above it was left out." in report
    assert "Smith" not in report and "3 families" not in report and "1,204" not in report


@pytest.mark.parametrize("declared", ["tab", '"\\t"'])
def test_the_card_names_a_tab_as_tab(make_pilot: PilotFactory, declared: str) -> None:
    card = DID_CARD.replace("  unit: case_id\n", f"  unit: case_id\n  delimiter: {declared}\n")
    validation = validate_data(load_pilot(make_pilot(card, DID_ROWS.replace(",", "\t"))))
    assert validation.rows_read == len(ROWS)


def test_a_delimiter_the_card_cannot_mean_is_a_card_problem(make_pilot: PilotFactory) -> None:
    card = DID_CARD.replace("  unit: case_id\n", "  unit: case_id\n  delimiter: tabs\n")
    with pytest.raises(ConfigError, match=r"data\.delimiter: found 'tabs'"):
        load_pilot(make_pilot(card))


def test_a_renamed_column_below_a_title_is_named_not_the_title(make_pilot: PilotFactory) -> None:
    data = "\n".join(["Report April", HEADER.replace("days", "days in ta"), *ROWS]) + "\n"

    error = refused(make_pilot, data)

    assert error.where == "2"  # the header's line
    assert "1 column(s) the card needs are not in the file" in error.message
    assert "'days'" in str(error)


def test_excels_unicode_text_is_read_and_said(make_pilot: PilotFactory) -> None:
    data = DID_ROWS.replace(",", "\t").encode("utf-16")

    validation = checked(make_pilot, data, data_name="data/cases.txt")

    assert validation.rows_read == len(ROWS)
    assert any("UTF-16" in reading.text for reading in validation.readings)


def test_semicolons_below_comma_titles_are_the_delimiter(make_pilot: PilotFactory) -> None:
    rows = [row.replace(",", ";") for row in ROWS[:6]]
    data = "\n".join(["Report, April, 2025", "By ward, all", HEADER.replace(",", ";"), *rows])
    card = DID_CARD.replace("unit: case_id", "unit: case_id\n  max_rejected_share: 1")

    validation = validate_data(load_pilot(make_pilot(card, data + "\n")))

    assert validation.rows_read == 6
    assert any("semicolons" in reading.text for reading in validation.readings)


def test_an_unused_column_shown_partly_as_percentages_is_not_looked_at(
    make_pilot: PilotFactory,
) -> None:
    grid = _grid()
    grid[0].append("unused_share")
    for row in grid[1:]:
        row.append(0.5)
    book = Workbook()
    sheet = book.active
    for k, row in enumerate(grid):
        sheet.append(row)
        if k % 2:
            sheet.cell(row=k + 1, column=len(row)).number_format = "0%"
    buffer = io.BytesIO()
    book.save(buffer)

    validation = checked(make_pilot, buffer.getvalue(), data_name="data/cases.xlsx")

    assert validation.rows_read == len(ROWS)
