"""The command line: exit codes, plain-word errors on stderr, and raw data left untouched."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import openpyxl
import pytest
from click.testing import CliRunner

import evalkit
from evalkit.cli import cli
from tests.conftest import DID_CARD, DID_ROWS, REPO, PilotFactory, evalkit_cmd

ROWS = DID_ROWS.splitlines(keepends=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def with_cell(row_index: int, column: int, value: str, rows: list[str] = ROWS) -> list[str]:
    """Return the rows with one cell replaced (row 0 is the header)."""
    rows = list(rows)
    cells = rows[row_index].rstrip("\n").split(",")
    cells[column] = value
    rows[row_index] = ",".join(cells) + "\n"
    return rows


def xlsx_bytes(rows: list[str]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row.rstrip("\n").split(","))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- each bad case: (pilot folder, raw data file, file the message must name, words) ---

BadCase = tuple[Path, Path, Path, tuple[str, ...]]


def wrong_types(make_pilot: PilotFactory, tmp_path: Path) -> BadCase:
    rows = [ROWS[0]] + [row.rsplit(",", 1)[0] + ",lots\n" for row in ROWS[1:]]
    pilot = make_pilot(data="".join(rows))
    data = pilot / "data" / "cases.csv"
    return pilot, data, data, ("days", "must be a number")


def missing_column(make_pilot: PilotFactory, tmp_path: Path) -> BadCase:
    rows = [row.rstrip("\n").rsplit(",", 1)[0] + "\n" for row in ROWS]
    pilot = make_pilot(data="".join(rows))
    data = pilot / "data" / "cases.csv"
    return pilot, data, data, ("'days'", "not in the file")


def empty_file(make_pilot: PilotFactory, tmp_path: Path) -> BadCase:
    pilot = make_pilot(data="")
    data = pilot / "data" / "cases.csv"
    return pilot, data, data, ("empty",)


def misspelt_key(make_pilot: PilotFactory, tmp_path: Path) -> BadCase:
    pilot = make_pilot(card=DID_CARD.replace("better: lower", "beter: lower"))
    return (
        pilot,
        pilot / "data" / "cases.csv",
        pilot / "pilot.yaml",
        ("unknown key 'beter'", "did you mean 'better'"),
    )


def data_outside_folder(make_pilot: PilotFactory, tmp_path: Path) -> BadCase:
    pilot = make_pilot(data_name="../outside.csv")
    outside = tmp_path / "outside.csv"
    assert outside.is_file()
    return pilot, outside, pilot / "pilot.yaml", ("outside the pilot folder",)


def not_utf8(make_pilot: PilotFactory, tmp_path: Path) -> BadCase:
    # the first "W1" is in the second data row, so line 3 of the file
    pilot = make_pilot(data=DID_ROWS.replace("W1", "W\x81").encode("latin-1"))
    data = pilot / "data" / "cases.csv"
    return pilot, data, Path(f"{data}:3"), ("not UTF-8",)


def corrupted_xlsx(make_pilot: PilotFactory, tmp_path: Path) -> BadCase:
    whole = xlsx_bytes(ROWS)
    pilot = make_pilot(data=whole[: len(whole) // 2], data_name="data/cases.xlsx")
    data = pilot / "data" / "cases.xlsx"
    return pilot, data, data, ("cannot be opened",)


def row_longer_than_header(make_pilot: PilotFactory, tmp_path: Path) -> BadCase:
    rows = list(ROWS)
    rows[1] = rows[1].rstrip("\n") + ",extra,values\n"
    pilot = make_pilot(data="".join(rows))
    data = pilot / "data" / "cases.csv"
    return pilot, data, data, ("header",)


BAD_CASES: dict[str, Callable[[PilotFactory, Path], BadCase]] = {
    "wrong types in the data": wrong_types,
    "a missing column": missing_column,
    "an empty file": empty_file,
    "a misspelt key in the card": misspelt_key,
    "a data path outside the folder": data_outside_folder,
    "a non-UTF-8 CSV": not_utf8,
    "a corrupted XLSX": corrupted_xlsx,
    "a row longer than the header": row_longer_than_header,
}


# --- help and version ---


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line}
    assert {"new", "validate", "run"} <= listed


def test_new_offers_every_design_in_the_registry() -> None:
    from evalkit.estimate.registry import design_names

    (design,) = [p for p in cli.commands["new"].params if p.name == "design"]

    assert isinstance(design.type, click.Choice)
    assert list(design.type.choices) == design_names()


def test_python_m_evalkit_prints_the_version() -> None:
    result = evalkit_cmd("--version")
    assert result.returncode == 0, result.stderr
    assert evalkit.__version__ in result.stdout


# --- card and data problems: exit 1, plain words on stderr, raw data untouched ---


@pytest.mark.parametrize("case", list(BAD_CASES), ids=list(BAD_CASES))
def test_run_explains_a_bad_card_or_bad_data(
    case: str, make_pilot: PilotFactory, tmp_path: Path
) -> None:
    pilot, raw, named, words = BAD_CASES[case](make_pilot, tmp_path)
    before = sha256(raw)

    result = evalkit_cmd("run", pilot)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert str(named) in result.stderr
    for word in words:
        assert word in result.stderr
    assert sha256(raw) == before


@pytest.mark.parametrize("case", list(BAD_CASES), ids=list(BAD_CASES))
def test_validate_explains_a_bad_card_or_bad_data(
    case: str, make_pilot: PilotFactory, tmp_path: Path
) -> None:
    pilot, raw, named, words = BAD_CASES[case](make_pilot, tmp_path)
    before = sha256(raw)

    result = CliRunner().invoke(cli, ["validate", str(pilot)])

    # a SystemExit is the CLI choosing exit 1; any other exception is a crash
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    said = result.stdout + result.stderr
    assert result.stderr.strip()
    assert str(named) in said
    for word in words:
        assert word in said
    assert sha256(raw) == before


def test_debug_shows_the_traceback(make_pilot: PilotFactory) -> None:
    pilot = make_pilot(data=DID_ROWS.replace("W1", "W\x81").encode("latin-1"))

    plain = evalkit_cmd("validate", pilot)
    debug = evalkit_cmd("--debug", "validate", pilot)

    assert plain.returncode == debug.returncode == 1
    assert "Traceback" not in plain.stderr
    assert "Traceback" in debug.stderr
    assert "DataError" in debug.stderr
    assert "not UTF-8" in debug.stderr


def test_validate_a_folder_that_does_not_exist_suggests_creating_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-pilot"

    result = evalkit_cmd("validate", missing)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "no pilot card" in result.stderr
    assert f"evalkit new {missing}`" in result.stderr
    assert not missing.exists()


@pytest.mark.parametrize("folder", ["[draft] pilot", "[/draft]"])
def test_messages_show_folder_names_with_brackets_as_they_are(
    folder: str, make_pilot: PilotFactory
) -> None:
    """Paths are printed literally, not read as console markup."""
    bad = make_pilot(data=DID_ROWS.replace("W1", "W\x81").encode("latin-1"), folder=folder)
    good = make_pilot(folder=folder + " clean")

    failed = CliRunner().invoke(cli, ["validate", str(bad)])
    passed = CliRunner().invoke(cli, ["validate", str(good)])

    assert isinstance(failed.exception, SystemExit), failed.exception
    assert failed.exit_code == 1
    assert f"{bad / 'data' / 'cases.csv'}:3" in failed.stderr
    assert passed.exception is None, passed.exception
    assert passed.exit_code == 0
    assert f"{good.name}: the card is in order." in passed.stdout


# --- usage errors: exit 2 ---


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--no-such-option"], "No such option"),
        (["run"], "give one or more pilot folders"),
        (["validate"], "Missing argument"),
        (["new", "--design", "matching", "x"], "'matching' is not one of"),
    ],
    ids=["unknown option", "run with no paths", "validate with no folder", "new unknown design"],
)
def test_usage_errors_exit_2(args: list[str], said: str, tmp_path: Path) -> None:
    result = evalkit_cmd(*args, cwd=tmp_path)

    assert result.returncode == 2
    assert said in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()


def test_run_all_summary_keeps_report_paths_whole_in_a_log(
    make_pilot: PilotFactory, tmp_path: Path
) -> None:
    name = "relational-practice-in-childrens-social-work-north-team"
    make_pilot(folder=f"pilots/{name}")

    result = evalkit_cmd("run", "--all", tmp_path / "pilots")

    assert result.returncode == 0, result.stderr
    # piped to a log (no terminal): the table widens rather than break the path
    report = str(tmp_path / "pilots" / name / "reports" / "cycle-1")
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert any(report in row and "│ ok" in row for row in rows), result.stdout


def test_run_all_with_no_pilots_exits_1(tmp_path: Path) -> None:
    (tmp_path / "pilots" / "notes").mkdir(parents=True)

    result = evalkit_cmd("run", "--all", tmp_path / "pilots")

    assert result.returncode == 1
    assert "No pilots found" in result.stderr


# --- validate ---


def test_validate_a_clean_pilot_exits_0(make_pilot: PilotFactory) -> None:
    pilot = make_pilot()

    result = evalkit_cmd("validate", pilot)

    assert result.returncode == 0, result.stderr
    assert f"{len(ROWS) - 1} rows read; every row passed its checks." in result.stdout
    assert "`evalkit run` can go ahead" in result.stdout


def test_validate_summarises_and_lists_every_failing_cell_in_a_file(
    make_pilot: PilotFactory,
) -> None:
    # columns: case_id,arm,phase,ward,household_size,days; list index k is file line k + 1
    rows = with_cell(4, 5, "abc")
    rows = with_cell(9, 4, "20", rows)
    rows = with_cell(19, 5, "-3", rows)
    rows = with_cell(39, 5, "x", rows)
    rows = with_cell(39, 4, "0", rows)
    rows = with_cell(49, 1, "", rows)
    pilot = make_pilot(data="".join(rows))
    data = pilot / "data" / "cases.csv"
    before = sha256(data)

    result = evalkit_cmd("validate", pilot)

    assert result.returncode == 0, result.stderr  # 5 of 60 rows: within the 10% a run leaves out
    assert "Traceback" not in result.stderr
    with (pilot / "data" / "cases-problems.csv").open(encoding="utf-8") as handle:
        listed = [",".join(row) for row in csv.reader(handle)]
    assert listed == [
        "line,column,rule,value",
        "5,days,must be a number,abc",
        "10,household_size,must be at most 15,20",
        "20,days,must be at least 0,-3",
        "40,days,must be a number,x",
        "40,household_size,must be at least 1,0",
        "50,arm,a value is required,",
    ]
    assert "days: must be a number: 2 cells, e.g. line 5 ('abc'), line 40 ('x')" in result.stdout
    assert "arm: a value is required: 1 cell, e.g. line 50" in result.stdout
    assert "a run will go ahead: it leaves 5 rows out" in result.stderr
    assert sha256(data) == before


def test_validate_reads_an_xlsx_file(make_pilot: PilotFactory) -> None:
    pilot = make_pilot(data=xlsx_bytes(ROWS), data_name="data/cases.xlsx")

    result = CliRunner().invoke(cli, ["validate", str(pilot)])

    assert result.exception is None, result.exception
    assert f"{len(ROWS) - 1} rows read; every row passed its checks." in result.stdout


def test_plan_says_what_the_pilot_can_detect(tmp_path: Path) -> None:
    import shutil

    pilot = tmp_path / "northbridge-ta"
    shutil.copytree(
        REPO / "pilots" / "northbridge-ta", pilot, ignore=shutil.ignore_patterns("reports")
    )
    done = CliRunner().invoke(cli, ["plan", str(pilot)])
    assert done.exit_code == 0, done.output
    assert "can expect to detect a change in days in temporary accommodation" in done.output
    assert "80% power" in done.output


def _media_boxes(pdf: Path) -> list[tuple[float, ...]]:
    """Return each page's MediaBox (points), read from the PDF's page objects."""
    found = re.findall(rb"/MediaBox\s*\[\s*([\d.\s-]+)\]", pdf.read_bytes())
    return [tuple(float(v) for v in box.split()) for box in found]


def test_pdf_prints_a_report_on_a4_with_chromium(tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    html.write_text(
        "<!DOCTYPE html><html lang='en'><head><title>t</title></head>"
        "<body><main><h1>Report</h1><p>Hello</p></main></body></html>"
    )
    before = html.read_bytes()
    done = CliRunner().invoke(cli, ["pdf", str(html)])
    assert done.exit_code == 0, done.output
    pdf = tmp_path / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    # A4 is 210 x 297 mm: 595 x 842 points (US Letter would be 612 x 792)
    boxes = _media_boxes(pdf)
    assert boxes and all((round(b[2]), round(b[3])) == (595, 842) for b in boxes)
    assert html.read_bytes() == before  # the A4 rule went into a copy, not the report
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.pdf"]


def test_a_pages_own_size_wins_over_a4(tmp_path: Path) -> None:
    html = tmp_path / "letter.html"
    html.write_text(
        "<!DOCTYPE html><html lang='en'><head><title>t</title>"
        "<style>@page { size: letter; }</style></head><body><p>Hello</p></body></html>"
    )
    done = CliRunner().invoke(cli, ["pdf", str(html)])
    assert done.exit_code == 0, done.output
    boxes = _media_boxes(tmp_path / "letter.pdf")
    assert boxes and all((round(b[2]), round(b[3])) == (612, 792) for b in boxes)


def test_a_pilots_pdf_is_written_beside_the_folder_a_run_replaces(tmp_path: Path) -> None:
    cycle = tmp_path / "pilot" / "reports" / "cycle-2"
    cycle.mkdir(parents=True)
    html = cycle / "report.html"
    html.write_text("<!DOCTYPE html><html lang='en'><head><title>t</title></head><body>x</body>")

    done = CliRunner().invoke(cli, ["pdf", str(html)])

    assert done.exit_code == 0, done.output
    assert (cycle.parent / "cycle-2-report.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in cycle.iterdir()) == ["report.html"]
    assert "warning" not in done.stderr

    inside = CliRunner().invoke(cli, ["pdf", str(html), "--out", str(cycle / "mine.pdf")])
    assert inside.exit_code == 0, inside.output
    assert (cycle / "mine.pdf").is_file()
    assert "replaced by the next run" in inside.stderr


@pytest.mark.parametrize("width", [40, 100])
def test_log_show_wraps_and_never_cuts_text(width: int) -> None:
    from evalkit.card import load_pilot
    from evalkit.learning import current_entries, log_path, read_log

    pilot = REPO / "pilots" / "northbridge-ta"
    done = subprocess.run(
        [sys.executable, "-m", "evalkit", "log", "show", str(pilot)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": str(width)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    shown = done.stdout.split()
    assert max(len(line.rstrip()) for line in done.stdout.splitlines()) <= width
    card = load_pilot(pilot)
    (entry, *_) = current_entries(read_log(log_path(card)))
    # every word of every bullet is on the screen, in order: wrapped, not cut
    bullets = [*entry.next_changes, *entry.participants, entry.learned]
    bullets += [finding.summary for finding in entry.seen.findings]
    for bullet in bullets:
        words = str(bullet).split()
        assert " ".join(words) in " ".join(shown), bullet
