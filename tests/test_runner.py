"""Running pilots: reports land in reports/cycle-<n>/ only when the whole run succeeds."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest

from evalkit.card import PilotCard, load_pilot
from evalkit.contract import validate_data
from evalkit.errors import DataError, NotebookError
from evalkit.learning import current_entries, read_log
from evalkit.results import load_results
from evalkit.runner import RunOutcome, run_pilot, run_pilots
from evalkit.runner import run as run_module
from evalkit.runner.fingerprint import Fingerprint, fingerprint_inputs
from tests.conftest import DID_CARD, REPO, PilotFactory

REPORT_FILES = {"report.ipynb", "report.html", "results.json", "rejected_rows.csv"}
RESULTS_KEYS = {
    "schema_version",
    "pilot",
    "design",
    "evidence",
    "data",
    "findings",
    "signals",
    "run",
}
#: Keys added since DESIGN.md was written (additive, so schema_version stays 1).
ADDED_KEYS = {"targets", "value_for_money"}  # value_for_money: issue #18
FINDING_KEYS = {
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "method",
    "better",
    "summary",
}

#: A small template that does what the real one must, quickly: analyse the data the run handed
#: over, write rejected_rows.csv, draft the log and write results.json with the fingerprint.
MINIMAL_BODY = (
    "import evalkit as ek\n"
    "from evalkit.contract.handover import read_validation\n"
    "analysis = ek.analyse_pilot(pilot_dir, validation=read_validation(validation_file))\n"
    "analysis.write(output_dir, inputs=inputs)"
)
#: The parameters cell of every template a run executes.
PARAMETERS = 'pilot_dir = "."\noutput_dir = None\nvalidation_file = None\ninputs = None'


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    """Return every file under a folder with its content hash."""
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def write_template(path: Path, body: str) -> Path:
    """Write a notebook template: a papermill parameters cell, then ``body``."""
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell(PARAMETERS)
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell(body)]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, str(path))
    return path


def hidden_leftovers(reports: Path) -> list[str]:
    return sorted(p.name for p in reports.iterdir() if p.name.startswith("."))


@dataclass(frozen=True)
class Pilot:
    """A pilot folder and where its current cycle's report (and a failed run's output) go."""

    folder: Path

    @property
    def card(self) -> PilotCard:
        return load_pilot(self.folder)

    @property
    def reports(self) -> Path:
        return self.card.reports_dir

    @property
    def final(self) -> Path:
        return self.card.report_dir()

    @property
    def failed(self) -> Path:
        return self.final.with_name(self.final.name + ".failed")


@dataclass(frozen=True)
class Ran:
    pilot: Pilot
    report: Path
    data_sha_before: str


@pytest.fixture(scope="module")
def northbridge_run(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """One real run of the shipped report template on a copy of the Northbridge pilot."""
    folder = tmp_path_factory.mktemp("ran") / "northbridge-ta"
    shutil.copytree(
        REPO / "pilots" / "northbridge-ta", folder, ignore=shutil.ignore_patterns("reports")
    )
    before = sha256(folder / "data" / "cases.csv")
    report = run_pilot(folder)
    return Ran(pilot=Pilot(folder), report=report, data_sha_before=before)


@pytest.fixture
def pilot_with_report(northbridge_run: Ran, tmp_path: Path) -> Pilot:
    """A fresh copy of the Northbridge pilot that already has a good report for its cycle."""
    folder = tmp_path / "northbridge-ta"
    shutil.copytree(northbridge_run.pilot.folder, folder)
    return Pilot(folder)


# --- a successful run ---


def test_run_pilot_writes_the_report_folder(northbridge_run: Ran) -> None:
    pilot = northbridge_run.pilot
    assert northbridge_run.report == pilot.reports / f"cycle-{pilot.card.cycle}"
    assert {p.name for p in northbridge_run.report.iterdir()} == REPORT_FILES
    assert [p.name for p in pilot.reports.iterdir()] == [northbridge_run.report.name]


def test_results_json_has_the_keys_design_md_names(northbridge_run: Ran) -> None:
    card = northbridge_run.pilot.card
    raw = json.loads((northbridge_run.report / "results.json").read_text(encoding="utf-8"))

    assert set(raw) == RESULTS_KEYS | ADDED_KEYS
    assert raw["schema_version"] == 1
    assert raw["pilot"] == {
        "id": "northbridge-ta",
        "name": card.name,
        "place": card.place,
        "team": card.team,
        "cycle": card.cycle,
    }
    assert raw["design"] == "did"
    assert {"scale", "level", "why"} <= set(raw["evidence"])
    assert {"rows", "rejected_rows", "sha256"} <= set(raw["data"])
    assert {"evalkit_version", "started", "finished", "parameters"} <= set(raw["run"])
    assert [f["outcome"] for f in raw["findings"]] == [o.measure_id for o in card.outcomes]
    for finding, outcome in zip(raw["findings"], card.outcomes, strict=True):
        assert set(finding) >= FINDING_KEYS
        assert finding["ci_low"] <= finding["estimate"] <= finding["ci_high"]
        assert finding["se"] > 0
        assert 0 <= finding["p_value"] <= 1
        assert finding["better"] == outcome.better
        assert finding["method"]
        assert finding["summary"]
    for signal in raw["signals"]:
        assert {"kind", "level", "message"} <= set(signal)
    assert load_results(northbridge_run.report / "results.json").pilot.id == "northbridge-ta"


def test_results_json_records_the_fingerprint_of_the_inputs(northbridge_run: Ran) -> None:
    card = northbridge_run.pilot.card
    raw = json.loads((northbridge_run.report / "results.json").read_text(encoding="utf-8"))
    template = REPO / "evalkit" / "templates" / "pilot_report.ipynb"
    now = fingerprint_inputs(card, template)

    inputs = raw["run"]["inputs"]
    assert inputs["fingerprint"] == now.digest
    assert inputs["parts"] == dict(now.parts)
    assert inputs["parts"]["data/cases.csv"] == raw["data"]["sha256"]
    assert set(inputs["parts"]) == {
        "pilot.yaml",
        "data/cases.csv",
        "voice.csv",
        "learning_log.jsonl",
        "template pilot_report.ipynb",
        "evalkit",
    }
    assert str(northbridge_run.pilot.folder) not in json.dumps(inputs)  # no local paths published


def test_results_describe_the_data_that_was_read(northbridge_run: Ran) -> None:
    data = northbridge_run.pilot.folder / "data" / "cases.csv"
    with data.open(encoding="utf-8", newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    raw = json.loads((northbridge_run.report / "results.json").read_text(encoding="utf-8"))
    rejected = pd.read_csv(northbridge_run.report / "rejected_rows.csv", dtype=str)

    assert sha256(data) == northbridge_run.data_sha_before  # raw data never modified
    assert raw["data"]["sha256"] == northbridge_run.data_sha_before
    assert len(rejected) > 0
    # a count below the disclosure threshold (10) is published as null, not as the number,
    # and so are the rows read, which less the findings' n would give it back
    assert raw["data"]["rejected_rows"] == (None if len(rejected) < 10 else len(rejected))
    assert raw["data"]["rows"] == (None if len(rejected) < 10 else rows)
    for finding in raw["findings"]:
        assert 0 < finding["n"] <= rows - len(rejected)


def test_rejected_rows_csv_keeps_each_row_as_read_with_its_reasons(northbridge_run: Ran) -> None:
    validation = validate_data(northbridge_run.pilot.card)
    header = (northbridge_run.pilot.folder / "data" / "cases.csv").read_text().splitlines()[0]
    rejected = pd.read_csv(
        northbridge_run.report / "rejected_rows.csv", dtype=str, keep_default_na=False
    )

    assert list(rejected.columns) == ["line", "reasons", *header.split(",")]
    assert [int(line) for line in rejected["line"]] == sorted(set(validation.failures["line"]))
    assert all(rejected["reasons"].str.len() > 0)


def test_report_is_offline_and_shows_no_record_level_identifiers(northbridge_run: Ran) -> None:
    html = (northbridge_run.report / "report.html").read_text(encoding="utf-8")
    results = (northbridge_run.report / "results.json").read_text(encoding="utf-8")
    data = northbridge_run.pilot.folder / "data" / "cases.csv"
    case_ids = pd.read_csv(data, dtype=str)["case_id"]

    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert not re.search(r"<link[^>]*href=[\"']https?:", html)
    assert "Traceback" not in html
    leaked = [c for c in case_ids if c in html or c in results]
    assert leaked == []


def test_the_published_notebook_names_no_file_the_run_handed_over(northbridge_run: Ran) -> None:
    published = (northbridge_run.report / "report.ipynb").read_text(encoding="utf-8")
    for said in ("evalkit-handover", "validation.pickle", tempfile.gettempdir(), "/tmp"):
        assert said not in published, said
    parameters = json.loads(published)["metadata"]["papermill"]["parameters"]
    assert parameters["validation_file"] is None and parameters["inputs"] is None


def test_report_files_are_readable_like_the_html(northbridge_run: Ran) -> None:
    """results.json and rejected_rows.csv are shared with the centre like report.html."""
    mode = {p.name: p.stat().st_mode & 0o777 for p in northbridge_run.report.iterdir()}
    assert mode["results.json"] == mode["report.html"]
    assert mode["rejected_rows.csv"] == mode["report.html"]


# --- failed runs keep the previous report ---


def test_too_many_bad_rows_leave_the_previous_report_in_place(pilot_with_report: Pilot) -> None:
    previous = snapshot(pilot_with_report.final)
    data = pilot_with_report.folder / "data" / "cases.csv"
    lines = data.read_text(encoding="utf-8").splitlines(keepends=True)
    broken = [line.replace(",before,", ",sometime,") for line in lines[:601]] + lines[601:]
    data.write_text("".join(broken), encoding="utf-8")
    raw_before = sha256(data)
    expected_rejected = len(validate_data(pilot_with_report.card).rejected)
    assert expected_rejected > 0.1 * (len(lines) - 1)

    with pytest.raises(DataError, match="failed their checks") as caught:
        run_pilot(pilot_with_report.folder)

    assert snapshot(pilot_with_report.final) == previous
    assert str(pilot_with_report.failed / "rejected_rows.csv") in str(caught.value)
    assert len(pd.read_csv(pilot_with_report.failed / "rejected_rows.csv")) == expected_rejected
    assert hidden_leftovers(pilot_with_report.reports) == []
    assert sha256(data) == raw_before


def test_a_failing_template_keeps_the_previous_report_and_the_partial_notebook(
    pilot_with_report: Pilot, tmp_path: Path
) -> None:
    previous = snapshot(pilot_with_report.final)
    template = write_template(tmp_path / "broken.ipynb", 'raise ValueError("broke on purpose")')

    with pytest.raises(NotebookError, match="ValueError: broke on purpose"):
        run_pilot(pilot_with_report.folder, template=template)

    assert snapshot(pilot_with_report.final) == previous
    partial = (pilot_with_report.failed / "report.ipynb").read_text(encoding="utf-8")
    assert "broke on purpose" in partial
    assert hidden_leftovers(pilot_with_report.reports) == []


def test_a_failed_run_names_where_its_output_was_kept(
    pilot_with_report: Pilot, tmp_path: Path
) -> None:
    template = write_template(tmp_path / "broken.ipynb", 'raise ValueError("broke on purpose")')

    with pytest.raises(NotebookError) as caught:
        run_pilot(pilot_with_report.folder, template=template)

    message = str(caught.value)
    assert str(pilot_with_report.failed) in message
    # every path the message names must exist, so the person can open it
    assert ".partial-" not in message
    assert caught.value.path is not None
    assert caught.value.path.exists()


def test_a_successful_run_replaces_the_report_and_clears_the_failed_one(
    pilot_with_report: Pilot, tmp_path: Path
) -> None:
    final, failed = pilot_with_report.final, pilot_with_report.failed
    failed.mkdir()
    (failed / "report.ipynb").write_text("{}", encoding="utf-8")
    old_notebook = (final / "report.ipynb").read_text(encoding="utf-8")

    report = run_pilot(
        pilot_with_report.folder, template=write_template(tmp_path / "t.ipynb", MINIMAL_BODY)
    )

    assert report == final
    assert {p.name for p in report.iterdir()} == REPORT_FILES
    new_notebook = (report / "report.ipynb").read_text(encoding="utf-8")
    assert new_notebook != old_notebook
    assert "analysis.write(output_dir, inputs=inputs)" in new_notebook
    assert [p.name for p in pilot_with_report.reports.iterdir()] == [final.name]
    assert load_results(report / "results.json").pilot.id == "northbridge-ta"


def test_the_data_are_validated_once_and_results_json_written_once_by_the_kernel(
    make_pilot: PilotFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run validates, the kernel analyses what it was handed and writes the fingerprint."""
    import evalkit.analysis
    import evalkit.contract
    import evalkit.contract.handover
    import evalkit.results

    validated: list[Path] = []
    real_validate = evalkit.contract.validate_data

    def counting(card: PilotCard, path: Path | None = None, *, roles: bool = True) -> object:
        validated.append(card.folder)
        return real_validate(card, path, roles=roles)

    def refuse_to_write(*args: object, **kwargs: object) -> Path:
        raise AssertionError("the runner wrote results.json: only the kernel may")

    handed: list[Path] = []
    real_handed_over = evalkit.contract.handover.handed_over

    @contextlib.contextmanager
    def watched(*args: Any, **kwargs: Any) -> Iterator[Path]:
        with real_handed_over(*args, **kwargs) as path:
            handed.append(path)
            yield path

    monkeypatch.setattr(evalkit.contract, "validate_data", counting)
    monkeypatch.setattr(evalkit.contract.handover, "handed_over", watched)
    for module in (evalkit.results, evalkit.analysis):
        monkeypatch.setattr(module, "write_results", refuse_to_write)
    # in the kernel, validating again fails the report, and each write of results.json counts
    kernel = (
        "import evalkit.analysis, evalkit.results\n"
        "def _validate_again(*args, **kwargs):\n"
        "    raise RuntimeError('the kernel validated the data again')\n"
        "evalkit.analysis.validate_data = _validate_again\n"
        "_written, _write = [], evalkit.results.write_results\n"
        "def _counting_write(*args, **kwargs):\n"
        "    _written.append(args)\n"
        "    return _write(*args, **kwargs)\n"
        "evalkit.analysis.write_results = evalkit.results.write_results = _counting_write\n"
    )
    counted = "\nprint(f'results.json written {len(_written)} time(s) by the kernel')"
    template = write_template(tmp_path / "once.ipynb", kernel + MINIMAL_BODY + counted)
    pilot = make_pilot()
    card = load_pilot(pilot)

    report = run_pilot(pilot, template=template)

    assert len(validated) == 1
    published = (report / "report.ipynb").read_text(encoding="utf-8")
    assert "results.json written 1 time(s) by the kernel" in published
    results = load_results(report / "results.json")
    assert results.run.inputs is not None
    # the log is hashed after the kernel drafted this cycle's entry into it
    assert results.run.inputs.fingerprint == fingerprint_inputs(card, template).digest
    (entry,) = current_entries(read_log(pilot / "learning_log.jsonl"))
    assert entry.cycle == card.cycle
    assert entry.seen.results_finished == results.run.finished
    # the handed-over file is gone, and the published notebook names neither it nor its folder
    (validation_file,) = handed
    assert not validation_file.exists() and not validation_file.parent.exists()
    for said in (validation_file.name, validation_file.parent.name, "evalkit-handover"):
        assert said not in published
    assert tempfile.gettempdir() not in published and "/tmp" not in published
    assert load_results(report / "results.json").run.inputs == results.run.inputs
    injected = next(
        c
        for c in nbformat.read(report / "report.ipynb", as_version=4).cells
        if "injected-parameters" in c.metadata.get("tags", [])
    )
    assert "validation_file = None" in injected.source and "inputs = None" in injected.source


def test_timeout_stops_a_stuck_template(pilot_with_report: Pilot, tmp_path: Path) -> None:
    previous = snapshot(pilot_with_report.final)
    template = write_template(tmp_path / "stuck.ipynb", "import time\ntime.sleep(8)")

    started = time.perf_counter()
    with pytest.raises(NotebookError, match="longer than"):
        run_pilot(pilot_with_report.folder, template=template, timeout=1)

    assert time.perf_counter() - started < 6
    assert snapshot(pilot_with_report.final) == previous


# --- many pilots ---


def test_run_pilots_reports_the_others_when_one_pilot_is_broken(
    make_pilot: PilotFactory, tmp_path: Path
) -> None:
    first = make_pilot(folder="a")
    broken = make_pilot(card=DID_CARD.replace("better: lower", "beter: lower"), folder="b")
    last = make_pilot(folder="c")
    template = write_template(tmp_path / "t.ipynb", MINIMAL_BODY)
    seen: list[RunOutcome] = []

    outcomes = run_pilots([first, broken, last], template=template, on_done=seen.append)

    assert seen == outcomes
    assert [(o.pilot, o.status) for o in outcomes] == [
        (first, "ok"),
        (broken, "failed"),
        (last, "ok"),
    ]
    for outcome in (outcomes[0], outcomes[2]):
        assert outcome.report_dir == outcome.pilot / "reports" / "cycle-1"
        assert {p.name for p in outcome.report_dir.iterdir()} == REPORT_FILES
    assert outcomes[1].report_dir is None
    assert str(broken / "pilot.yaml") in outcomes[1].message
    assert "unknown key 'beter'" in outcomes[1].message
    assert not (broken / "reports").exists()


def test_run_pilots_carries_on_after_an_unexpected_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A bug hit by one pilot's data must not stop the other pilots' reports."""
    pilots = [tmp_path / name for name in ("a", "b", "c")]

    def fake_run(pilot_dir: Path, **_: object) -> run_module._Ran:
        if pilot_dir.name == "b":
            raise RuntimeError("something evalkit did not expect")
        fingerprint = Fingerprint(digest="0" * 64, parts={})
        return run_module._Ran(pilot_dir / "reports" / "cycle-1", fingerprint, {})

    monkeypatch.setattr(run_module, "_run", fake_run)

    outcomes = run_pilots(pilots)

    assert [o.status for o in outcomes] == ["ok", "failed", "ok"]
    assert "RuntimeError" in outcomes[1].message
    assert "something evalkit did not expect" in outcomes[1].message
