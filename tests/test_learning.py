"""The learning log: append-only, human text never lost, drafts refreshed, close refuses gaps."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.analysis import analyse_pilot
from evalkit.card import load_pilot
from evalkit.cli import cli
from evalkit.errors import ConfigError, DataError
from evalkit.learning import (
    LOG_FILE,
    LOG_MARKDOWN,
    add_to_entry,
    close_entry,
    correct_entry,
    current_entries,
    entry_for_cycle,
    read_log,
    refresh_draft,
)
from evalkit.results import load_results

CopyPilot = Callable[[str], Path]


def _drafts(pilot: Path, cycle: int) -> list[object]:
    entries = current_entries(read_log(pilot / LOG_FILE))
    return [e for e in entries if e.cycle == cycle and e.status == "draft"]


def test_refreshing_twice_with_human_edits_between_keeps_one_draft_and_every_sentence(
    example_pilot: CopyPilot,
) -> None:
    pilot = example_pilot("northbridge-ta")
    card = load_pilot(pilot)
    results = analyse_pilot(card).results()
    assert refresh_draft(card, results) is not None
    # through the CLI
    done = CliRunner().invoke(
        cli,
        [
            "log",
            "add",
            str(pilot),
            "--learned",
            "Weekly visits helped families plan.",
            "--next",
            "Keep the landlord liaison post",
        ],
    )
    assert done.exit_code == 0, done.output
    # and by hand: edit the human field of the latest line in the file
    path = pilot / LOG_FILE
    lines = path.read_text().splitlines()
    latest = json.loads(lines[-1])
    latest["what_we_did"] = "Moved visits to weekly, hand-written by the team manager."
    path.write_text("\n".join([*lines[:-1], json.dumps(latest)]) + "\n")
    before = path.read_text()

    # a second run with different numbers refreshes only the automatic parts
    changed = results.model_copy(
        update={"findings": (results.findings[0].model_copy(update={"estimate": -30.0}),)}
    )
    assert refresh_draft(card, changed) is not None

    after = path.read_text()
    assert after.startswith(before)  # append-only: nothing before is changed
    drafts = _drafts(pilot, 2)
    assert len(drafts) == 1
    entry = drafts[0]
    assert entry.learned == "Weekly visits helped families plan."
    assert entry.next_changes == ("Keep the landlord liaison post",)
    assert entry.what_we_did == "Moved visits to weekly, hand-written by the team manager."
    assert [f.estimate for f in entry.seen.findings] == [-30.0]
    # the closed cycle 1 entry is untouched
    assert entry_for_cycle(current_entries(read_log(path)), 1).status == "closed"
    # an unchanged run writes nothing
    assert refresh_draft(card, changed) is None
    assert path.read_text() == after


def test_a_run_records_the_very_entry_its_report_showed(
    example_pilot: CopyPilot, tmp_path: Path
) -> None:
    """One draft a run: the page's entry (id, time, numbers) is the line the write appends."""
    pilot = example_pilot("northbridge-ta")
    analysis = analyse_pilot(load_pilot(pilot))
    shown, _ = analysis.learning()
    assert analysis.learning()[0] is shown  # drafted once, however often the page asks

    analysis.write(tmp_path / "out", inputs={"pilot.yaml": "0" * 64})

    lines = read_log(pilot / LOG_FILE)
    assert lines[-1] == shown
    assert entry_for_cycle(current_entries(lines), shown.cycle) == shown
    results = load_results(tmp_path / "out" / "results.json")
    assert results.run.finished == shown.seen.results_finished


def test_a_person_writing_while_the_report_runs_keeps_their_words(
    example_pilot: CopyPilot, tmp_path: Path
) -> None:
    pilot = example_pilot("northbridge-ta")
    card = load_pilot(pilot)
    analysis = analyse_pilot(card)
    shown, _ = analysis.learning()
    add_to_entry(card, learned="Written while the report ran.")

    analysis.write(tmp_path / "out", inputs={"pilot.yaml": "0" * 64})

    entry = entry_for_cycle(current_entries(read_log(pilot / LOG_FILE)), card.cycle)
    assert entry is not None
    assert entry.learned.endswith("Written while the report ran.")
    assert (entry.seen, entry.voice, entry.targets) == (shown.seen, shown.voice, shown.targets)


def test_a_run_that_changes_nothing_shows_the_entry_as_the_log_holds_it(
    example_pilot: CopyPilot, tmp_path: Path
) -> None:
    pilot = example_pilot("northbridge-ta")
    card = load_pilot(pilot)
    analyse_pilot(card).write(tmp_path / "first", inputs={"pilot.yaml": "0" * 64})
    before = (pilot / LOG_FILE).read_text(encoding="utf-8")
    again = analyse_pilot(card)
    shown, _ = again.learning()

    again.write(tmp_path / "second", inputs={"pilot.yaml": "0" * 64})

    assert (pilot / LOG_FILE).read_text(encoding="utf-8") == before
    assert entry_for_cycle(current_entries(read_log(pilot / LOG_FILE)), card.cycle) == shown


def test_adding_text_adds_to_it_and_never_replaces_it(example_pilot: CopyPilot) -> None:
    card = load_pilot(example_pilot("northbridge-ta"))
    add_to_entry(card, learned="First thought.")
    entry = add_to_entry(card, learned="Second thought.", participants=["parents' reps"])
    assert entry.learned == "First thought.\n\nSecond thought."
    assert entry.participants == ("parents' reps",)


def test_close_names_every_missing_field(example_pilot: CopyPilot) -> None:
    pilot = example_pilot("northbridge-ta")
    card = load_pilot(pilot)
    add_to_entry(card, learned="Something.")
    with pytest.raises(ConfigError) as caught:
        close_entry(card)
    assert "a decision" in str(caught.value) and "its reasons" in str(caught.value)
    assert "what we learned" not in str(caught.value)
    done = CliRunner().invoke(cli, ["log", "close", str(pilot)])
    assert done.exit_code == 1
    assert "a decision, its reasons" in done.output
    add_to_entry(card, decision="grow", reasons="Stays fell in every ward.")
    closed = close_entry(card)
    assert closed.status == "closed" and closed.decision == "grow"
    with pytest.raises(ConfigError, match="closed"):
        add_to_entry(card, learned="late thought")


def test_a_correction_supersedes_a_closed_entry(example_pilot: CopyPilot) -> None:
    pilot = example_pilot("northbridge-ta")
    card = load_pilot(pilot)
    original = entry_for_cycle(current_entries(read_log(pilot / LOG_FILE)), 1)
    correction = correct_entry(card, 1, reasons="Also: the figure for rows was wrong.")
    entries = current_entries(read_log(pilot / LOG_FILE))
    assert original is not None and original.id not in {e.id for e in entries}
    current = entry_for_cycle(entries, 1)
    assert current is not None and current.supersedes == original.id
    assert current.reasons.startswith(original.reasons)  # carried, then added to
    assert correction.status == "draft"


def test_a_hand_edit_that_breaks_a_line_is_reported_and_nothing_is_written(
    example_pilot: CopyPilot,
) -> None:
    pilot = example_pilot("northbridge-ta")
    path = pilot / LOG_FILE
    broken_line = len(path.read_text().splitlines()) + 1
    path.write_text(path.read_text() + '{"id": "broken",\n')
    before = path.read_bytes()
    with pytest.raises(DataError, match=rf"learning_log.jsonl:{broken_line}:"):
        add_to_entry(load_pilot(pilot), learned="x")
    assert path.read_bytes() == before


def test_markdown_is_rendered_after_each_write(example_pilot: CopyPilot) -> None:
    pilot = example_pilot("eastmoor-family-hub")
    add_to_entry(load_pilot(pilot), learned="Saturday sessions bring fathers in.")
    text = (pilot / LOG_MARKDOWN).read_text()
    assert text.index("## Cycle 2 (draft)") < text.index("## Cycle 1 (closed")
    assert "Saturday sessions bring fathers in." in text


WRITER = """
import sys
from evalkit.card import load_pilot
from evalkit.learning import add_to_entry
card = load_pilot(sys.argv[1])
print("ready", flush=True)
i = 0
while True:
    i += 1
    add_to_entry(card, participants=[f"group {i}"], learned="x" * 20000)
"""


def test_killing_a_writer_midway_leaves_the_log_readable_and_complete(
    example_pilot: CopyPilot,
) -> None:
    pilot = example_pilot("northbridge-ta")
    path = pilot / LOG_FILE
    original = path.read_text()
    for delay in (0.4, 0.55, 0.7):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(pilot)], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        lines = read_log(path)  # raises if any line were torn
        assert path.read_text().startswith(original)
        revisions = [line.revision for line in lines if line.cycle == 2]
        assert revisions == sorted(revisions)
        assert revisions, "the writer should have written something before being killed"
    assert len(_drafts(pilot, 2)) == 1


ADDER = """
import sys
from evalkit.card import load_pilot
from evalkit.learning import add_to_entry
card = load_pilot(sys.argv[1])
for i in range(int(sys.argv[3])):
    add_to_entry(card, participants=[f"{sys.argv[2]} {i}"])
"""


def test_two_writers_at_once_lose_no_line(example_pilot: CopyPilot) -> None:
    """Each write rewrites the whole file; the log's lock keeps one from undoing another."""
    pilot = example_pilot("northbridge-ta")
    path = pilot / LOG_FILE
    before = len(read_log(path))
    writers = [
        subprocess.Popen([sys.executable, "-c", ADDER, str(pilot), name, "15"])
        for name in ("first", "second")
    ]
    for writer in writers:
        assert writer.wait(timeout=120) == 0

    lines = read_log(path)
    assert len(lines) == before + 30
    (entry,) = _drafts(pilot, 2)
    assert sorted(entry.participants) == sorted(
        f"{name} {i}" for name in ("first", "second") for i in range(15)
    )
