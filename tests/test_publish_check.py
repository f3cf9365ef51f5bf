"""The last check before a report is published: small counts, unit ids and machine paths.

The check reads report.html, report.ipynb and results.json as a reader would;
it is tested on small planted files, and through `evalkit run` on a pilot
whose learning log states a small count and on one too small to publish.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.quality.published import (
    disclosure_problems,
    find_counts_in_text,
    identifier_like,
)

from .conftest import DID_CARD, DID_ROWS, PilotFactory, evalkit_cmd


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("6 families in the pilot and 7 in the comparison group", ["6 families"]),
        ("only 7 records in the smallest group", ["7 records"]),
        ("2 of 30 households", ["2 of 30 households"]),
        ("n = 4", ["n = 4"]),
        ("fewer than 10 families", []),
        ("fewer than 3 families told us", ["than 3 families"]),
        ("12 families, 1,200 records, 0 rows", []),
        ("cycle 2, level 3 of 5, 8 periods before the change", []),
        ("-3 days, 2.5 records per month", []),
    ],
)
def test_small_counts_beside_words_for_people_or_records_are_found(
    text: str, found: list[str]
) -> None:
    assert find_counts_in_text(text, 10) == found


def test_only_ids_a_sentence_could_not_hold_by_chance_are_looked_for() -> None:
    assert identifier_like(
        ["NB-01753", "C001", "17", "2025", "100234", " ", "ab", "baseline", "follow-up"]
    ) == {
        "NB-01753",
        "C001",
        "100234",
    }


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_each_kind_of_disclosure_is_named_with_its_file(tmp_path: Path) -> None:
    html = _write(
        tmp_path,
        "report.html",
        "<main><p>We phoned 3 families.</p><table><tr><th>Group</th><th>Records</th></tr>"
        "<tr><td>pilot</td><td>7</td></tr><tr><td>comparison</td><td>40</td></tr></table>"
        '<svg aria-label="NB-01753 stayed 40 days"></svg></main>',
    )
    results = _write(
        tmp_path,
        "results.json",
        json.dumps({"data": {"rows": 2400, "rejected_rows": 4}, "run": {"where": "/srv/x"}}),
    )
    notebook = _write(
        tmp_path,
        "report.ipynb",
        json.dumps(
            {
                "metadata": {"papermill": {"input_path": "/srv/x/pilot_report.ipynb"}},
                "cells": [
                    {
                        "cell_type": "code",
                        "outputs": [
                            {"data": {"text/markdown": "| Group | n |\n|---|---|\n| a | 5 |"}}
                        ],
                    }
                ],
            }
        ),
    )
    problems = disclosure_problems(
        [html, results, notebook], threshold=10, ids=["NB-01753"], machine_paths=["/srv/x"]
    )
    by_file = {path.name: [message for p, message in problems if p == path] for path, _ in problems}
    assert by_file["report.html"] == [
        "states a count below 10: \u201c3 families\u201d",
        "states a count below 10: \u201c7\u201d",
        "names a unit id (NB-01753)",
    ]
    assert by_file["results.json"] == [
        "names a folder of this machine (/srv/x)",
        "publishes a count below 10 at data.rejected_rows",
    ]
    assert by_file["report.ipynb"] == [
        "names a folder of this machine (/srv/x)",
        "states a count below 10: \u201c5\u201d",
    ]


def test_a_clean_page_passes(tmp_path: Path) -> None:
    html = _write(
        tmp_path,
        "report.html",
        "<p>Fewer than 10 rows failed a check; 1,200 families took part over 8 periods.</p>"
        "<table><tr><th>Group</th><th>Records</th></tr><tr><td>pilot</td><td>suppressed</td>"
        "</tr><tr><td>comparison</td><td>1,204</td></tr></table>",
    )
    assert disclosure_problems([html], threshold=10, ids=["NB-01753"]) == []


def test_a_report_stating_a_small_count_is_not_published(make_pilot: PilotFactory) -> None:
    pilot = make_pilot()
    report = _write(pilot / "reports" / "cycle-1", "report.html", "<p>last cycle's report</p>")
    added = evalkit_cmd(
        "log", "add", pilot, "--learned", "We phoned 3 families who missed a visit."
    )
    assert added.returncode == 0, added.stderr
    ran = evalkit_cmd("run", pilot, "--force")
    assert ran.returncode == 1
    said = ran.stdout + ran.stderr
    assert "not published" in said and "\u201c3 families\u201d" in said
    assert "report.html" in said and "reword it" in said
    assert report.read_text() == "<p>last cycle's report</p>"  # still the published one
    assert not list((pilot / "reports").glob(".cycle-1.partial-*"))


def test_a_pilot_too_small_to_publish_says_so(make_pilot: PilotFactory) -> None:
    rows = "\n".join(DID_ROWS.splitlines()[:9]) + "\n"  # 8 records, 2 a cell
    pilot = make_pilot(card=DID_CARD, data=rows)
    ran = evalkit_cmd("run", pilot)
    assert ran.returncode == 1
    said = ran.stdout + ran.stderr
    assert "rests on fewer than 10 records, so it cannot be published" in said
    assert "lower min_cell_count" in said
    assert not (pilot / "reports" / "cycle-1").exists()


def test_a_folder_is_named_only_as_a_whole_path(tmp_path: Path) -> None:
    page = _write(tmp_path, "report.html", "<p>See http://example.org/usrs/x and /usr/lib</p>")
    assert disclosure_problems([page], threshold=10, machine_paths=["/usrs/x/y", "/usr/li"]) == []
    named = disclosure_problems([page], threshold=10, machine_paths=["/usr"])
    assert named == [(page, "names a folder of this machine (/usr)")]


def test_the_comparison_is_checked_at_the_strictest_pilots_threshold(tmp_path: Path) -> None:
    from evalkit.errors import DataError
    from evalkit.runner.comparison import check_publishable

    _write(tmp_path, "comparison.html", "<p>Eastmoor: we phoned 12 families.</p>")
    lenient = {"pilots": [{"min_cell_count": 10}, {"min_cell_count": 5}]}
    check_publishable(tmp_path, tmp_path / "pilots", lenient)
    strict = {"pilots": [{"min_cell_count": 10}, {"min_cell_count": 20}]}
    with pytest.raises(DataError, match="comparison was not published"):
        check_publishable(tmp_path, tmp_path / "pilots", strict)
