"""Published outputs identify no one: no unit ids, no small counts; rejected ids can be hashed."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from evalkit.analysis import write_rejected
from evalkit.card import load_pilot
from evalkit.contract import validate_data
from evalkit.quality.disclosure import (
    SALT_ENV,
    describe_count,
    find_identifiers,
    find_small_counts,
    load_json,
    pseudonymise,
)

from .conftest import copy_example, render_report

COUNT_HEADERS = {"records", "rows", "records used", "n"}


class _Tables(HTMLParser):
    """Collect every table's header cells and body rows from an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[list[str], list[list[str]]]] = []
        self._cell: list[str] | None = None
        self._row: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append(([], []))
        elif tag in {"td", "th"}:
            self._cell = []
        elif tag == "tr":
            self._row = []

    def handle_endtag(self, tag: str) -> None:
        if tag in {"td", "th"} and self._cell is not None:
            text = "".join(self._cell).strip()
            self._row.append(text)
            if tag == "th":
                self.tables[-1][0].append(text.lower())
            self._cell = None
        elif tag == "tr" and self.tables and self._row:
            headers = self.tables[-1][0]
            is_body = [c.lower() for c in self._row] != headers
            if is_body and len(self._row) == len(headers):
                self.tables[-1][1].append(self._row)

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module", params=["northbridge-ta", "eastmoor-family-hub"])
def published(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder with an example pilot's report.html and results.json."""
    base = tmp_path_factory.mktemp(request.param)
    pilot = copy_example(request.param, base)
    out = render_report(pilot, base / "out")
    (out / "pilot").symlink_to(pilot)
    return out


def test_no_unit_id_appears_in_published_outputs(published: Path) -> None:
    card = load_pilot(published / "pilot")
    assert card.data.unit is not None
    raw = pd.read_csv(card.data_path, dtype=str, keep_default_na=False)
    ids = set(raw[card.data.unit]) - {""}
    assert len(ids) > 1000
    for name in ("report.html", "results.json", "report.ipynb"):
        text = (published / name).read_text(encoding="utf-8")
        assert find_identifiers(text, ids) == [], name
    # the rejected rows file (kept locally) does hold them: the check can find an id
    local = (published / "rejected_rows.csv").read_text()
    assert find_identifiers(local, ids)


def test_no_count_below_the_threshold_is_published(published: Path) -> None:
    results = load_json(published / "results.json")
    assert find_small_counts(results, 10) == []
    parser = _Tables()
    parser.feed((published / "report.html").read_text(encoding="utf-8"))
    checked = 0
    for headers, rows in parser.tables:
        for index, header in enumerate(headers):
            if header not in COUNT_HEADERS:
                continue
            for row in rows:
                cell = row[index]
                checked += 1
                if cell.startswith("fewer than") or cell in {"suppressed", "not shown"}:
                    continue
                value = int(re.sub(r"[^\d]", "", cell))
                assert value == 0 or value >= 10, (header, row)
    assert checked > 5  # the check looked at real tables
    assert "fewer than 10" in (published / "report.html").read_text()


def test_counts_are_described_safely() -> None:
    assert describe_count(9, 10) == "fewer than 10"
    assert describe_count(10, 10) == "10"
    assert describe_count(0, 10) == "0"
    assert describe_count(12345, 10) == "12,345"
    assert describe_count(None, 10) == "fewer than 10"
    assert find_small_counts({"data": {"rows": 2400, "rejected_rows": 3}, "n": 12}, 10) == [
        "data.rejected_rows"
    ]


def test_identifiers_are_found_as_whole_words_only() -> None:
    text = "<p>NB-00012 was here; NB-000123 is another</p>"
    assert find_identifiers(text, ["NB-00012", "NB-0001", "B-00012"]) == ["NB-00012"]


def test_rejected_ids_can_be_pseudonymised_with_a_salt(
    example_pilot: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pilot = example_pilot("northbridge-ta")
    card_path = pilot / "pilot.yaml"
    card_path.write_text(card_path.read_text() + "quality: {pseudonymise_rejected: true}\n")
    monkeypatch.delenv(SALT_ENV, raising=False)
    validation = validate_data(load_pilot(pilot))
    original = set(validation.rejected["case_id"]) - {None, ""}
    written = pd.read_csv(write_rejected(validation, tmp_path), dtype=str)
    hashed = set(written["case_id"].dropna())
    assert hashed and not hashed & original
    assert all(h.startswith("id-") and len(h) == 15 for h in hashed)
    assert (pilot / ".evalkit-salt").is_file()
    # the same salt gives the same hashes (the team can trace a row); another salt does not
    again = pd.read_csv(write_rejected(validation, tmp_path), dtype=str)
    assert set(again["case_id"].dropna()) == hashed
    monkeypatch.setenv(SALT_ENV, "another secret")
    other = pd.read_csv(write_rejected(validation, tmp_path), dtype=str)
    assert not set(other["case_id"].dropna()) & hashed
    assert pd.isna(pseudonymise(pd.Series(["A1", None]), "s").iloc[1])
