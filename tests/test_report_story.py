"""Every example report tells one story: learning first, no empty prompts, no contradictions.

Each shipped example runs through the real report template once (module
fixture); the tests read the text a resident would read (the Markdown the
report displays) and check it against the learning log and against itself.
"""

from __future__ import annotations

import functools
import html
import json
import re
from pathlib import Path

import pytest

from evalkit.analysis import Analysis, analyse_pilot
from evalkit.card import load_pilot
from evalkit.learning import PROMPTS

from .browser_check import shared_examples
from .conftest import REPO

EXAMPLES = sorted(p.name for p in (REPO / "pilots").iterdir() if (p / "pilot.yaml").is_file())

#: Pairs of messages that must never appear in one report: each says the other is false.
CONTRADICTIONS = [
    ("raised no questions about the data", "Questions for the team"),
    ("raised no questions about the data or the design", "Where the design's assumptions"),
    ("No data-quality questions were raised", "not equivalent"),
    ("Draft for the team's sense-making session", "What we decided."),
    ("could not be checked in the data", "Checked over the"),
    ("no sign the groups were moving apart", "already moving apart"),
    ("raised no questions about the data", "raised 1 question about the data"),
    ("raised no questions about the data", "questions about the data for the team"),
    ("treat these results as strong evidence", "level 1 of 5"),
    ("treat these results as strong evidence", "level 2 of 5"),
    ("treat these results as strong evidence", "level 3 of 5"),
]

#: Wording a published report must never have (grammar, config jargon, empty prompts).
NEVER = [
    r"(?<![\d.])1 percentage points\b",
    r"(?<![\d.])1 periods\b",
    r"(?<![\d.])1 questions\b",
    r"\bfewer a&e\b",
    r"\bnHS\b",
    r"\d %",  # "2.1 % higher": a percent sign apart from its number
    r"\bnot written yet\b",
    r"\bnot decided yet\b",
    r"\bneeds statistical adjustment\b",  # a WWC band, not what it means for this design
    r"\bdata\.(time|period|group|unit|path)\b",
    r"\bquality\.eligible\b",
    r"\bpre_post\b",
]


def _text(notebook: Path) -> str:
    """Return the Markdown a report displays, in order (what the published page says)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    said = [
        "".join(output["data"]["text/markdown"])
        for cell in cells
        for output in cell.get("outputs", [])
        if "text/markdown" in output.get("data", {})
    ]
    # as a reader sees it: Markdown's escapes and HTML's entities undone
    return html.unescape("\n\n".join(said)).replace("\\", "")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Return each example report's displayed text, made by the real template."""
    pages = shared_examples(tmp_path_factory)  # run as `evalkit run --all` runs them
    return {name: _text(pages[name].parent / "report.ipynb") for name in EXAMPLES}


@functools.cache
def _analysis(name: str) -> Analysis:
    """Return a shipped example's analysis, made once for the module (the tests only read it)."""
    return analyse_pilot(REPO / "pilots" / name)


def _entry(name: str):  # type: ignore[no-untyped-def]
    return _analysis(name).learning()[0]


def test_there_is_a_draft_and_a_closed_example() -> None:
    states = {_entry(name).status for name in EXAMPLES}
    assert states == {"draft", "closed"}


@pytest.mark.parametrize("name", EXAMPLES)
def test_a_draft_says_so_at_the_top_and_a_closed_cycle_leads_with_its_learning(
    reports: dict[str, str], name: str
) -> None:
    text, entry = reports[name], _entry(name)
    head = text[: text.index("## In short")]
    if entry.status == "draft":
        assert "Draft for the team's sense-making session, not for publication." in head
        assert "What evalkit observed." in text
        assert "What we decided." not in text and "What we learned." not in text
    else:
        assert "Draft for" not in text
        short = text[text.index("## In short") : text.index("What was tried.")]
        assert short.index("What we learned.") < short.index("What we decided.")
        assert entry.learned[:40] in short
        assert "What changes next." in short


@pytest.mark.parametrize("name", EXAMPLES)
def test_no_empty_prompt_and_no_wording_a_published_report_must_not_have(
    reports: dict[str, str], name: str
) -> None:
    text = reports[name]
    for prompt in PROMPTS.values():
        assert prompt not in text, (name, prompt)
    for pattern in NEVER:
        found = re.search(pattern, text)
        assert found is None, (name, pattern, text[max(0, found.start() - 80) : found.end() + 80])


@pytest.mark.parametrize("name", EXAMPLES)
def test_no_two_messages_contradict_each_other(reports: dict[str, str], name: str) -> None:
    text = reports[name]
    for one, other in CONTRADICTIONS:
        assert not (one in text and other in text), (name, one, other)


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_finding_is_stated_in_full_once(reports: dict[str, str], name: str) -> None:
    analysis = _analysis(name)
    text = reports[name]
    for finding in analysis.findings:
        opening = finding.summary.split(":")[0].split("(")[0].strip()
        assert text.count(opening) == 1, (name, opening)


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_learning_question_gets_an_answer(reports: dict[str, str], name: str) -> None:
    card = load_pilot(REPO / "pilots" / name)
    text = reports[name]
    section = text[text.index("## Our learning questions") :]
    for question in card.learning_questions:
        after = section[section.index(question.ask) + len(question.ask) :].lstrip("*\n ")
        first = after.split("\n")[0]
        assert first.startswith(("We ", "Not answered by this data, because")) or (
            " probably " in first
        ), (name, question.ask, first)


def test_the_changes_promised_last_cycle_are_checked_against_this_cycles_data(
    reports: dict[str, str],
) -> None:
    northbridge = reports["northbridge-ta"]
    checked = northbridge[northbridge.index("## Did cycle 1's changes happen?") :]
    line = next(x for x in checked.splitlines() if "Record ward at referral" in x)
    assert "31 of 1,160 (2.7%) in cycle 1; fewer than 10 this cycle" in line
    line = next(x for x in checked.splitlines() if "Weekly home visits" in x)
    assert "cannot show whether this happened" in line
    eastmoor = reports["eastmoor-family-hub"]
    line = next(x for x in eastmoor.splitlines() if "phone families who miss follow-up" in x)
    assert re.search(r"18% in cycle 1; \d+% this cycle", line), line
    line = next(x for x in eastmoor.splitlines() if "Open two more sites" in x)
    assert "Brackley Road Hub:" in line and "Oakfield Children's Centre:" in line
    line = next(x for x in eastmoor.splitlines() if "Count missed appointments" in x)
    assert "measured this cycle for the first time" in line


def test_a_draft_reports_last_cycles_decision_as_last_cycles(reports: dict[str, str]) -> None:
    text = reports["northbridge-ta"]
    assert "At the end of cycle 1 the team decided to adapt" in text
    assert "the team decided to adapt:" not in text  # no decision of this cycle's is implied


def test_the_parallel_paths_a_did_relies_on_are_tested_or_said_untestable(
    reports: dict[str, str],
) -> None:
    assert "Checked over the 12 months before the change" in reports["northbridge-ta"]
    assert "could not be checked in the data" in reports["southvale-ta"]


def test_the_costed_example_weighs_its_cost_against_what_it_changed(
    reports: dict[str, str],
) -> None:
    costed = [name for name in EXAMPLES if load_pilot(REPO / "pilots" / name).costs is not None]
    assert costed == ["northbridge-ta"]
    text = reports["northbridge-ta"]
    section = text[
        text.index("## Value for money") : text.index("## What the data can be trusted for")
    ]
    assert "for each day fewer" in section and "(the card's value)" in section
    assert "could be unbounded" in section  # settled housing's interval reaches no change
    assert text.index("## What we found") < text.index("## Value for money")
    for name in set(EXAMPLES) - set(costed):
        assert "## Value for money" not in reports[name]


@pytest.mark.parametrize("name", EXAMPLES)
def test_ready_to_grow_answers_each_question_with_a_reason_and_never_says_ready(
    reports: dict[str, str], name: str
) -> None:
    text = reports[name]
    section = text[text.index("## Ready to grow?") : text.index("## What the data can be trusted")]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    answers = [line.split(" | ")[1] for line in rows[1:]]  # past the header row
    assert len(answers) == 9 and set(answers) <= {"met", "not met", "unknown"}
    for line in rows[1:]:
        assert len(line.split(" | ")[2].strip(" |")) > 20, line  # a reason, in words
    counts = {a: answers.count(a) for a in ("met", "not met", "unknown")}
    assert f"{counts['met']} met, {counts['not met']} not met, {counts['unknown']} unknown." in (
        section
    )
    said = section.replace("## Ready to grow?", "").lower()
    assert "ready" not in said and "score:" not in said
    assert text.index("## What we found") < text.index("## Ready to grow?")
