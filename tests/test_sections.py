"""The report's words: a resident-readable summary whose wording follows the intervals."""

from __future__ import annotations

import pytest

from evalkit.analysis import Analysis, analyse_pilot
from evalkit.report.sections import (
    GLOSSARY,
    findings_markdown,
    glossary_markdown,
    summary_markdown,
    targets_markdown,
    trust_markdown,
)

from .conftest import REPO


@pytest.fixture(scope="module")
def northbridge() -> Analysis:
    return analyse_pilot(REPO / "pilots" / "northbridge-ta")


def test_summary_says_fairly_sure_only_when_the_interval_excludes_no_change(
    northbridge: Analysis,
) -> None:
    entry, entries = northbridge.learning()
    text = summary_markdown(northbridge, entry, entries)
    clear = [f for f in northbridge.findings if f.is_clear]
    unclear = [f for f in northbridge.findings if not f.is_clear]
    assert clear and unclear  # the example has one of each
    for finding in clear:
        label = finding.label[:1].lower() + finding.label[1:]
        assert f"We are fairly sure {label}" in text
    for finding in unclear:
        label = finding.label[:1].lower() + finding.label[1:]
        assert f"We can't tell yet whether {label} changed" in text
    # a draft: last cycle's decision is last cycle's, checked below; none is said for this one
    assert "At the end of cycle 1 the team decided to adapt" in text
    assert "Did cycle 1's changes happen?" in text and "What we decided." not in text
    assert "What we cannot conclude" in text and "level 3 of 5" in text


def test_every_glossary_term_is_explained_once(northbridge: Analysis) -> None:
    text = glossary_markdown(northbridge)
    for term in GLOSSARY:
        assert text.count(f"**{term}**") == 1
    # the design's own term, from its registry entry, and no other design's
    assert text.count("**Difference-in-differences**") == 1
    assert "Interrupted time series" not in text and "Before-and-after" not in text


def test_targets_are_context_never_pass_or_fail(northbridge: Analysis) -> None:
    text = targets_markdown(northbridge).lower()
    assert "context" in text and "90 days" in text
    for word in ("met", "missed", "pass", "fail", "red", "amber", "green"):
        assert f" {word} " not in text.replace("as met or missed", "")


def test_trust_and_findings_sections_carry_their_numbers(northbridge: Analysis) -> None:
    findings = findings_markdown(northbridge)
    assert "95% confidence interval" in findings and "level 3 of 5" in findings
    trust = trust_markdown(northbridge)
    assert "fewer than 10" in trust  # 9 rejected rows are not published as a number
    assert "Missing values by group and period" in trust
