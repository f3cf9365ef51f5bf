"""`evalkit validate` as a person can act on it: a summary first, the full list in a file,
exit 0 when a run would go ahead, and every check a run makes before its report."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import cli
from evalkit.runner.check import check_pilot, problems_path
from tests.conftest import DID_ROWS, PilotFactory, evalkit_cmd

HEADER = "case_id,arm,phase,ward,household_size,days\n"


def did_rows(n_blocks: int, bad: dict[int, tuple[int, str]] | None = None) -> str:
    """Return 2x2 rows (blocks of pilot/comparison x before/after), with cells replaced.

    ``bad`` maps a row's index to (column position, value).
    """
    rows = []
    groups = [(a, p) for a in ("pilot", "comparison") for p in ("before", "after")]
    for i in range(4 * n_blocks):
        arm, phase = groups[i % 4]
        days = 100 + i % 7 - (12 if (arm, phase) == ("pilot", "after") else 0)
        cells = [f"C{i:05d}", arm, phase, f"W{i % 3}", str(1 + i % 4), str(days)]
        if bad and i in bad:
            position, value = bad[i]
            cells[position] = value
        rows.append(",".join(cells) + "\n")
    return HEADER + "".join(rows)


def three_thousand_bad_cells() -> str:
    """Return 6,000 rows with 3,000 failing cells in 3,000 rows, of three kinds."""
    kinds = [(4, "abc"), (4, "0"), (5, "-3")]
    bad = {2 * k: kinds[k % 3] for k in range(3000)}
    return did_rows(1500, bad)


def test_3000_bad_cells_print_under_60_lines_and_the_full_list_goes_to_a_file(
    make_pilot: PilotFactory,
) -> None:
    pilot = make_pilot(data=three_thousand_bad_cells())

    result = evalkit_cmd("validate", pilot)

    printed = (result.stdout + result.stderr).splitlines()
    assert result.returncode == 1  # half the rows fail: more than the 10% allowed
    assert len(printed) < 60, "\n".join(printed)
    assert "Traceback" not in result.stderr
    listed = pilot / "data" / "cases-problems.csv"
    with listed.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3000
    assert {r["rule"] for r in rows} == {
        "must be a whole number",
        "must be at least 1",
        "must be at least 0",
    }
    # the first failing cell is data row 0, which is spreadsheet line 2
    assert rows[0] == {
        "line": "2",
        "column": "household_size",
        "rule": "must be a whole number",
        "value": "abc",
    }
    said = result.stdout
    assert str(listed) in said
    assert "household_size: must be a whole number: 1,000 cells, e.g. line 2 ('abc')" in said
    assert "more than the 10% the card allows" in said
    assert "a run would stop here" in result.stderr


def test_rows_a_run_leaves_out_are_a_warning_and_exit_0(make_pilot: PilotFactory) -> None:
    # 7 bad rows of 1,600, as the issue found: a run leaves them out, so validate says go on
    bad = {10 * k + 3: (5, "lots") for k in range(7)}
    pilot = make_pilot(data=did_rows(400, bad))

    result = CliRunner().invoke(cli, ["validate", str(pilot)])

    assert result.exit_code == 0, result.output
    assert "1,600 rows read; 7 (0.4%) fail a check, within the 10%" in result.stdout
    assert "days: must be a number: 7 cells, e.g. line 5 ('lots'), line 15" in result.stdout
    assert "a run will go ahead: it leaves 7 rows out" in result.stderr
    assert "`evalkit run` can go ahead" in result.stdout


def test_a_clean_pilot_validates_and_an_old_list_of_problems_is_removed(
    make_pilot: PilotFactory,
) -> None:
    pilot = make_pilot(data=did_rows(10, {3: (5, "x")}))
    listed = pilot / "data" / "cases-problems.csv"
    check_pilot(pilot)
    assert listed.is_file()
    (pilot / "data" / "cases.csv").write_text(did_rows(10), encoding="utf-8")

    result = CliRunner().invoke(cli, ["validate", str(pilot)])

    assert result.exit_code == 0, result.output
    assert "40 rows read; every row passed its checks." in result.stdout
    assert not listed.exists()


def test_a_file_of_the_teams_own_beside_the_data_is_never_removed(
    make_pilot: PilotFactory,
) -> None:
    pilot = make_pilot(data=did_rows(10))
    theirs = problems_path(check_pilot(pilot).validation.card)
    theirs.write_text("ward,problem\nW1,damp\n", encoding="utf-8")

    check_pilot(pilot)

    assert theirs.read_text(encoding="utf-8") == "ward,problem\nW1,damp\n"

    # nor overwritten when there are failing cells to list: the check says so and goes on
    (pilot / "data" / "cases.csv").write_text(did_rows(10, {3: (5, "-3")}), encoding="utf-8")
    result = evalkit_cmd("validate", pilot)

    assert result.returncode == 0, result.stderr
    assert theirs.read_text(encoding="utf-8") == "ward,problem\nW1,damp\n"
    assert "is not evalkit's list of problems, so it was left as it is" in result.stderr
    assert "Every failing cell is listed" not in result.stdout


def test_a_list_that_cannot_be_written_does_not_stop_a_check_a_run_would_pass(
    make_pilot: PilotFactory,
) -> None:
    pilot = make_pilot(data=did_rows(10, {3: (5, "-3")}))
    (pilot / "data" / "cases-problems.csv").mkdir()  # in the way, as a read-only folder would be

    result = evalkit_cmd("validate", pilot)

    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stderr and "list was not written" in result.stderr
    assert "days: must be at least 0: 1 cell, e.g. line 5 ('-3')" in result.stdout


ITS_CARD = """\
name: Test series
place: Testford
design: its
data:
  path: {data_path}
  time: {{column: month, start: "{start}"}}
outcomes:
  - column: days
    better: lower
    min: 0
"""


def its_rows() -> str:
    months = [f"{2024 + m // 12}-{1 + m % 12:02d}" for m in range(24)]
    return "month,days\n" + "".join(
        f"{month},{100 - (8 if m >= 12 else 0) + (m * 7) % 5}\n" for m, month in enumerate(months)
    )


def three_rows(make_pilot: PilotFactory) -> Path:
    return make_pilot(data="".join(DID_ROWS.splitlines(keepends=True)[:4]))


def blank_outcome(make_pilot: PilotFactory) -> Path:
    rows = [row.rsplit(",", 1)[0] + ",\n" for row in DID_ROWS.splitlines(keepends=True)]
    return make_pilot(data="".join(rows).replace("household_size,\n", "household_size,days\n"))


def start_beyond_the_data(make_pilot: PilotFactory) -> Path:
    return make_pilot(card=ITS_CARD.replace("{start}", "2031-01"), data=its_rows())


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (three_rows, "not recorded in all four groups"),
        (blank_outcome, "days"),
        (start_beyond_the_data, "2031"),
    ],
    ids=["3 rows", "an all-blank outcome", "a start beyond the data"],
)
def test_a_card_a_run_would_stop_on_does_not_validate(
    make: object, words: str, make_pilot: PilotFactory
) -> None:
    pilot = make(make_pilot)  # type: ignore[operator]

    result = CliRunner().invoke(cli, ["validate", str(pilot)])

    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert "a run would stop here" in result.stderr
    assert words in result.stderr


def test_what_validate_says_a_run_would_stop_on_is_what_the_run_stops_on(
    make_pilot: PilotFactory,
) -> None:
    pilot = three_rows(make_pilot)
    said = check_pilot(pilot).stopped

    ran = evalkit_cmd("run", pilot, "--runs-dir", pilot.parent / "runs")

    assert ran.returncode == 1
    assert "not recorded in all four groups" in said
    assert "not recorded in all four groups" in ran.stdout + ran.stderr


def test_a_series_that_starts_inside_the_data_validates(make_pilot: PilotFactory) -> None:
    pilot = make_pilot(card=ITS_CARD.replace("{start}", "2025-01"), data=its_rows())

    check = check_pilot(pilot)

    assert check.goes_ahead, check.stopped


def test_cell_values_cannot_drive_the_terminal(make_pilot: PilotFactory) -> None:
    hostile = "\x1b]0;owned\x07\x1b[2J"
    pilot = make_pilot(data=did_rows(10, {5: (5, f'"{hostile}"')}))

    result = CliRunner().invoke(cli, ["validate", str(pilot)])

    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\u001b]0;owned\\u0007\\u001b[2J" in result.stdout
