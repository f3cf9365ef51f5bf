"""A pilot's own report template: adapted, run, recorded, protected, and read by the centre."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner, Result

import evalkit as ek
from evalkit.card import load_pilot
from evalkit.cli import cli
from evalkit.errors import ConfigError
from evalkit.quality.published import disclosure_problems
from evalkit.report.local import subgroup_markdown
from evalkit.runner import fingerprint as fingerprint_module
from evalkit.runner.plan import Job, RunOutcome, plan_job
from tests.conftest import DID_CARD, REPO, PilotFactory, copy_example

LOCAL_QUESTION = "Do larger households stay longer in temporary accommodation?"
#: The adapted template's extra cells: a local question in words, and a subgroup table.
LOCAL_CELLS = (
    ("markdown", f"## Our local question\n\n{LOCAL_QUESTION}"),
    (
        "code",
        "from evalkit.report.local import subgroup_markdown\n"
        "display(Markdown(subgroup_markdown(analysis, by='household_size', outcome='days_in_ta')))",
    ),
)


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def add_cells(template: Path, cells: tuple[tuple[str, str], ...]) -> None:
    """Insert cells into a template just before its last cell (which writes results.json)."""
    nb = nbformat.read(template, as_version=4)  # type: ignore[no-untyped-call]
    made = [
        nbformat.v4.new_markdown_cell(src) if kind == "markdown" else nbformat.v4.new_code_cell(src)
        for kind, src in cells
    ]
    nb.cells[-1:-1] = made
    nbformat.write(nb, template)  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class LocalRun:
    pilot: Path
    runs: Path

    @property
    def template(self) -> Path:
        return self.pilot / "pilot_report.ipynb"

    @property
    def report(self) -> Path:
        return load_pilot(self.pilot).report_dir()

    def results(self) -> dict[str, object]:
        return json.loads((self.report / "results.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> LocalRun:
    """The Northbridge pilot adapted with `evalkit adapt`, a local cell added, run by the CLI."""
    base = tmp_path_factory.mktemp("local") / "pilots"
    base.mkdir()
    pilot = copy_example("northbridge-ta", base)
    adapted = invoke("adapt", pilot)
    assert adapted.exit_code == 0, adapted.output
    add_cells(pilot / "pilot_report.ipynb", LOCAL_CELLS)
    runs = base.parent / "runs"
    ran = invoke("run", pilot, "--runs-dir", runs)
    assert ran.exit_code == 0, ran.output
    return LocalRun(pilot, runs)


def copied(run: LocalRun, tmp_path: Path) -> LocalRun:
    """Return a copy of the run's pilot (its report included) in a pilots folder of its own."""
    (tmp_path / "pilots").mkdir()
    target = tmp_path / "pilots" / run.pilot.name
    shutil.copytree(run.pilot, target)
    return LocalRun(target, tmp_path / "runs")


# --- evalkit adapt ---


def test_adapt_copies_the_template_and_adds_the_card_lines_keeping_the_rest(
    tmp_path: Path,
) -> None:
    pilot = copy_example("northbridge-ta", tmp_path)
    before = (pilot / "pilot.yaml").read_text(encoding="utf-8")

    result = invoke("adapt", pilot)

    assert result.exit_code == 0, result.output
    after = (pilot / "pilot.yaml").read_text(encoding="utf-8")
    assert after.startswith(before)  # every comment and line as the team wrote it
    assert after[len(before) :].splitlines()[-1] == "  template: pilot_report.ipynb"
    assert load_pilot(pilot).report == ek.load_pilot(pilot).report
    assert load_pilot(pilot).report.template == "pilot_report.ipynb"  # type: ignore[union-attr]
    assert "evalkit lab" in result.output and "evalkit run" in result.output
    nb = nbformat.read(pilot / "pilot_report.ipynb", as_version=4)  # type: ignore[no-untyped-call]
    parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert 'pilot_dir = "."' in parameters.source  # names no folder of this machine
    shipped = nbformat.read(REPO / "evalkit/templates/pilot_report.ipynb", as_version=4)  # type: ignore[no-untyped-call]
    assert [c.source for c in nb.cells[-3:]] == [c.source for c in shipped.cells[-3:]]


def test_adapt_never_replaces_a_file_or_a_named_template(tmp_path: Path) -> None:
    pilot = copy_example("northbridge-ta", tmp_path)
    (pilot / "mine.ipynb").write_text("my own work", encoding="utf-8")
    card = (pilot / "pilot.yaml").read_text(encoding="utf-8")

    refused = invoke("adapt", pilot, "--name", "mine.ipynb")

    assert refused.exit_code == 1
    assert "was not replaced" in refused.output
    assert (pilot / "mine.ipynb").read_text(encoding="utf-8") == "my own work"
    assert (pilot / "pilot.yaml").read_text(encoding="utf-8") == card
    assert invoke("adapt", pilot).exit_code == 0
    again = invoke("adapt", pilot, "--name", "other.ipynb")
    assert again.exit_code == 1
    assert "already names a report template" in again.output
    assert not (pilot / "other.ipynb").exists()


# --- a bad report.template key ---


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("missing.ipynb", "there is no file 'missing.ipynb'"),
        ("../outside.ipynb", "points outside the pilot folder"),
        ("notes.txt", "is not a notebook"),
        ("plain.ipynb", "has no cell tagged `parameters`"),
    ],
)
def test_a_bad_report_template_is_refused_with_its_line_and_the_fix(
    tmp_path: Path, value: str, said: str
) -> None:
    pilot = copy_example("northbridge-ta", tmp_path)
    (tmp_path / "outside.ipynb").write_text("{}", encoding="utf-8")
    (pilot / "notes.txt").write_text("notes", encoding="utf-8")
    plain = nbformat.v4.new_notebook()
    plain.cells = [nbformat.v4.new_code_cell("pilot_dir = '.'")]
    nbformat.write(plain, pilot / "plain.ipynb")  # type: ignore[no-untyped-call]
    card = pilot / "pilot.yaml"
    text = card.read_text(encoding="utf-8")
    card.write_text(text + f"report:\n  template: {value}\n", encoding="utf-8")
    line = text.count("\n") + 2

    result = invoke("run", pilot, "--runs-dir", tmp_path / "runs")

    assert result.exit_code == 1
    assert f"line {line}, report.template" in result.output
    assert said in result.output
    assert "evalkit adapt" in result.output  # the fix
    with pytest.raises(ConfigError):
        load_pilot(pilot)


# --- the run ---


def test_the_run_uses_the_local_template_and_its_report_shows_the_local_cell(
    local_run: LocalRun,
) -> None:
    html = (local_run.report / "report.html").read_text(encoding="utf-8")
    assert "Our local question" in html and LOCAL_QUESTION in html
    manifest = json.loads(next(local_run.runs.glob("*.json")).read_text(encoding="utf-8"))
    (entry,) = manifest["pilots"]
    assert entry["status"] == "ok"
    assert entry["template"] == "local template pilot_report.ipynb"
    assert "local template pilot_report.ipynb" in entry["note"]


def test_results_json_records_the_local_template_and_its_hash(local_run: LocalRun) -> None:
    run = local_run.results()["run"]
    assert isinstance(run, dict)
    assert run["template"] == {
        "name": "pilot_report.ipynb",
        "source": "local",
        "sha256": sha256(local_run.template),
    }
    parts = run["inputs"]["parts"]
    assert parts["local template pilot_report.ipynb"] == sha256(local_run.template)
    assert "template pilot_report.ipynb" not in parts  # the shipped one is no input of it
    assert ek.load_results(local_run.report / "results.json").run.template.local  # type: ignore[union-attr]


def test_a_small_subgroup_is_suppressed_in_the_published_report(local_run: LocalRun) -> None:
    analysis = ek.analyse_pilot(local_run.pilot)
    table = ek.subgroup_means(analysis, by="household_size", outcome="days_in_ta")
    frame = analysis.validation.valid
    sizes = frame["household_size"].value_counts()
    small = {str(int(k)) for k, n in sizes.items() if 0 < n < 10}
    assert small  # the example data have a few households of 9, 10 and 11
    rows = {row["household_size"]: row for row in table.to_dict("records")}
    for size in small:
        assert rows[size]["records"] == "fewer than 10"
        assert not rows[size]["shown"]
    # secondary suppression: the total less the groups shown gives no small number
    hidden = sum(int(sizes[float(k)]) for k, row in rows.items() if not row["shown"])
    assert hidden >= 10
    assert sum(not row["shown"] for row in rows.values()) > len(small)
    markdown = subgroup_markdown(analysis, by="household_size", outcome="days_in_ta")
    cells = re.sub(r"\s+", "", (local_run.report / "report.html").read_text(encoding="utf-8"))
    for size in small:
        assert f"| {size} | fewer than 10 | not shown |" in markdown
        assert f"<td>{size}</td><td>fewerthan10</td><td>notshown</td>" in cells
    assert disclosure_problems([local_run.report / "report.html"], threshold=10) == []


# --- what re-runs ---


def test_an_unchanged_local_template_is_skipped_and_a_changed_one_runs(
    local_run: LocalRun, tmp_path: Path
) -> None:
    run = copied(local_run, tmp_path)
    skipped = plan_job(0, run.pilot, None, None, False)
    assert isinstance(skipped, RunOutcome) and skipped.status == "skipped"
    assert skipped.note == "unchanged since its last report; local template pilot_report.ipynb"

    add_cells(run.template, (("markdown", "## A second local question"),))
    planned = plan_job(0, run.pilot, None, None, False)
    assert isinstance(planned, Job)
    assert planned.note.startswith("changed: local template pilot_report.ipynb")
    result = invoke("run", "--all", run.pilot.parent, "--runs-dir", run.runs, "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "A second local question" in (run.report / "report.html").read_text(encoding="utf-8")
    run_info = run.results()["run"]
    assert isinstance(run_info, dict)
    assert run_info["template"]["sha256"] == sha256(run.template)


def test_a_change_to_the_shipped_template_does_not_change_evalkits_own_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "evalkit"
    shutil.copytree(
        REPO / "evalkit", package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    monkeypatch.setattr(fingerprint_module, "_PACKAGE", package)

    def digest() -> str:
        fingerprint_module.code_digest.cache_clear()
        return fingerprint_module.code_digest()

    try:
        before = digest()
        shipped = package / "templates" / "pilot_report.ipynb"
        shipped.write_text(shipped.read_text(encoding="utf-8") + " ", encoding="utf-8")
        assert digest() == before  # pilots with their own template do not re-run
        code = package / "notebooks" / "export.py"
        code.write_text(code.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
        assert digest() != before  # a change to evalkit's code re-runs every pilot
    finally:
        fingerprint_module.code_digest.cache_clear()


# --- the publish check ---


def test_a_local_template_printing_a_raw_small_count_is_not_published(
    local_run: LocalRun, tmp_path: Path
) -> None:
    run = copied(local_run, tmp_path)
    before = sha256(run.report / "report.html")
    add_cells(
        run.template,
        (("code", "display(analysis.validation.valid.groupby('household_size').size())"),),
    )

    result = invoke("run", run.pilot, "--runs-dir", run.runs)

    assert result.exit_code == 1
    assert "the report was not published" in result.output
    assert "prints a table with a count below 10" in result.output
    assert sha256(run.report / "report.html") == before  # the last good report stays


@pytest.mark.parametrize(
    "table",
    [
        "<table><thead><tr><th></th><th>n</th></tr><tr><th>ward</th><th></th></tr></thead>"
        "<tbody><tr><th>Castle</th><td>7</td></tr><tr><th>Abbey</th><td>40</td></tr></tbody>"
        "</table>",
        "<table><tr><th>ward</th><th>count</th></tr><tr><td>Castle</td><td>7</td></tr></table>",
        "<pre>ward\nAbbey     40\nCastle     7\ndtype: int64</pre>",
        "<pre>     ward  families\n0   Abbey        40\n1  Castle         7</pre>",
    ],
    ids=["pandas-frame", "plain-table", "printed-series", "printed-frame"],
)
def test_the_publish_check_finds_small_counts_in_tables_a_template_prints(
    tmp_path: Path, table: str
) -> None:
    page = tmp_path / "report.html"
    page.write_text(f"<html><body>{table}</body></html>", encoding="utf-8")
    problems = disclosure_problems([page], threshold=10)
    assert [message for _, message in problems] in (
        ["states a count below 10: \u201c7\u201d"],
        ["prints a table with a count below 10: \u201cCastle     7\u201d"],
        ["prints a table with a count below 10: \u201c1  Castle         7\u201d"],
    )
    page.write_text(f"<html><body>{table.replace('7', '70')}</body></html>", encoding="utf-8")
    assert disclosure_problems([page], threshold=10) == []


# --- the centre ---


def test_compare_reads_the_results_and_marks_the_local_template(
    local_run: LocalRun, tmp_path: Path
) -> None:
    run = copied(local_run, tmp_path)
    copy_example("southvale-ta", run.pilot.parent)  # a pilot with no results yet
    out = tmp_path / "central"

    result = invoke("compare", run.pilot.parent, "--out", out)

    assert result.exit_code == 0, result.output
    comparison = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    marked = {p["id"]: p["local_template"] for p in comparison["pilots"]}
    assert marked == {"northbridge-ta": "pilot_report.ipynb", "southvale-ta": None}
    html = (out / "comparison.html").read_text(encoding="utf-8")
    assert "own template" in html and "local template pilot_report.ipynb" in html


def test_a_template_pointed_at_the_pilot_by_evalkit_lab_names_no_folder_when_run(
    tmp_path: Path,
) -> None:
    from evalkit.notebooks import execute_template

    folder = (tmp_path / "pilot").resolve()
    folder.mkdir()
    template = folder / "mine.ipynb"
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell(f'pilot_dir = "{folder}"\noutput_dir = None')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, nbformat.v4.new_code_cell("print(1 + 1)")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, template)  # type: ignore[no-untyped-call]

    out = execute_template(template, folder / "out.ipynb", {"pilot_dir": str(folder)}, cwd=folder)

    text = out.read_text(encoding="utf-8")
    assert str(folder) not in text
    assert 'pilot_dir = \\".\\"' in text


def test_a_yes_no_subgroup_hidden_for_few_yeses_cannot_be_worked_out_from_the_totals(
    make_pilot: PilotFactory,
) -> None:
    # ward C has 20 records but only 2 yeses: hiding C alone, its 2 would be the total of
    # yeses less A's and B's, so the next group is hidden too
    sizes = {"A": (100, 50), "B": (60, 30), "C": (20, 2)}
    rows = ["case_id,arm,phase,ward,household_size,days,settled"]
    i = 0
    for ward, (n, yes) in sizes.items():
        for k in range(n):
            arm = ("pilot", "comparison")[k % 2]
            phase = ("before", "after")[(k // 2) % 2]
            rows.append(f"C{i:04d},{arm},{phase},{ward},2,{100 + k % 9},{int(k < yes)}")
            i += 1
    card = DID_CARD + (
        "  - column: settled\n    label: Settled\n    type: binary\n    better: higher\n"
    )
    analysis = ek.analyse_pilot(make_pilot(card, "\n".join(rows) + "\n"))
    table = ek.subgroup_means(analysis, by="ward", outcome="settled")
    shown = dict(zip(table["ward"], table["shown"], strict=True))
    assert shown == {"A": True, "B": False, "C": False}
