"""The real report template, executed by papermill and exported to offline HTML."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from evalkit.errors import DataError
from evalkit.learning import LOG_FILE
from evalkit.notebooks import execute_template, template_path
from evalkit.results import load_results

from .conftest import REPO, copy_example, render_report

EXTERNAL = re.compile(
    r"""<script[^>]+src\s*=\s*["']?(https?:)?//|<link[^>]+href\s*=\s*["']?(https?:)?//|"""
    r"""@import\s+url\(\s*["']?(https?:)?//""",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder holding the template executed on a copy of an example pilot."""
    base = tmp_path_factory.mktemp("report")
    return render_report(copy_example("northbridge-ta", base), base / "out")


def test_template_has_a_parameters_cell_with_working_defaults() -> None:
    nb = nbformat.read(template_path("pilot_report.ipynb"), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert 'pilot_dir = "pilots/northbridge-ta"' in tagged[0].source
    assert (REPO / "pilots" / "northbridge-ta" / "pilot.yaml").is_file()


def test_template_writes_results_and_rejected_rows(report: Path) -> None:
    results = load_results(report / "results.json")
    assert results.pilot.id == "northbridge-ta"
    # run on its own (no inputs from evalkit run): no fingerprint, and the log is left alone
    assert results.run.inputs is None
    log = Path("northbridge-ta") / LOG_FILE
    assert (report.parent / log).read_bytes() == (REPO / "pilots" / log).read_bytes()
    assert [f.outcome for f in results.findings] == [
        "days-in-temporary-accommodation",
        "settled-within-six-months",
    ]
    rejected = (report / "rejected_rows.csv").read_text().splitlines()
    assert rejected[0].startswith("line,reasons,case_id")
    written = len(rejected) - 1
    assert written > 0
    # fewer rejected rows than the disclosure threshold are not published as a number
    assert results.data.rejected_rows == (None if written < 10 else written)


def test_html_report_loads_nothing_from_the_network(report: Path) -> None:
    html = (report / "report.html").read_text(encoding="utf-8")
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "<svg" in html  # charts are embedded, not fetched
    assert "require.min.js" not in html and "mathjax" not in html.lower()


def test_html_report_shows_sections_in_order_with_code_hidden(report: Path) -> None:
    html = (report / "report.html").read_text(encoding="utf-8")
    order = [
        "Draft for the team's sense-making session",
        "In short",
        "Our learning questions",
        "Did cycle 1's changes happen?",
        "The learning log",
        "What we set out to learn",
        "What we found",
        "What the data can be trusted for",
        "Targets, as context",
        "Words we use",
    ]
    # each heading where it is a heading (the summary also points to some by name)
    positions = (
        [html.index(order[0])]
        + [
            re.search(rf"<h2[^>]*>{re.escape(heading)}", html).start()  # type: ignore[union-attr]
            for heading in order[1:]
        ]
    )
    assert positions == sorted(positions)
    assert "analyse_pilot" not in html  # code cells are hidden
    assert "evalkit-help" not in html and "This notebook is the view" not in html
    assert re.search(r"\b(RAG|red/amber/green|pass(ed)?|fail(ed)?)\b target", html) is None


def test_template_runs_with_plain_papermill_and_its_defaults(tmp_path: Path) -> None:
    """The template's defaults work from the repository with the papermill CLI, writing nothing."""
    pilot = REPO / "pilots" / "northbridge-ta"
    before = {p: p.read_bytes() for p in sorted(pilot.rglob("*")) if p.is_file()}
    out = tmp_path / "plain.ipynb"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            str(template_path("pilot_report.ipynb")),
            str(out),
            "--cwd",
            str(REPO / "evalkit" / "templates"),
            "-k",
            "python3",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    nb = json.loads(out.read_text())
    text = json.dumps(nb)
    assert "What we found" in text
    # output_dir is None by default: no results, no rejected rows, no draft in the log
    assert {p: p.read_bytes() for p in sorted(pilot.rglob("*")) if p.is_file()} == before


def test_a_data_error_inside_the_template_comes_back_as_a_data_error(
    example_pilot: Callable[[str], Path], tmp_path: Path
) -> None:
    pilot = example_pilot("northbridge-ta")
    data = pilot / "data" / "cases.csv"
    lines = data.read_text().splitlines()
    broken = [lines[0]] + [line.replace(",pilot,", ",,") for line in lines[1:]]
    data.write_text("\n".join(broken) + "\n")
    with pytest.raises(DataError, match="failed their checks"):
        execute_template(
            template_path("pilot_report.ipynb"),
            tmp_path / "failed.ipynb",
            {"pilot_dir": str(pilot), "output_dir": None},
        )
    assert (tmp_path / "failed.ipynb").is_file()  # the partial notebook is kept


def test_learning_review_template_runs_with_papermill_and_writes_when_asked(
    example_pilot: Callable[[str], Path], tmp_path: Path
) -> None:
    pilot = example_pilot("eastmoor-family-hub")
    before = (pilot / LOG_FILE).read_text()
    execute_template(
        template_path("learning_review.ipynb"),
        tmp_path / "review.ipynb",
        {"pilot_dir": str(pilot)},
    )
    assert (pilot / LOG_FILE).read_text() == before  # nothing written unless asked
    text = (tmp_path / "review.ipynb").read_text()
    assert "The learning log" in text


ITS_CARD = """\
name: Extended hours
place: Testford
design: its
data:
  path: {data_path}
  time: {{column: month, start: 2025-01}}
outcomes:
  - column: waits
    label: Days waiting
    unit: days
    better: lower
    hoped_change: -1
"""

PANEL_CARD = """\
name: Ward pilots
place: Testford
design: did
data:
  path: {data_path}
  unit: ward
  group: {{column: arm, pilot: pilot}}
  time: {{column: month, start: 2025-01}}
outcomes:
  - column: waits
    label: Days waiting
    unit: days
    better: lower
"""


def _series(tmp_path: Path, panel: bool) -> str:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(5)
    months = pd.period_range("2023-07", "2026-06", freq="M").astype(str)
    rows = []
    for ward in range(12 if panel else 1):
        pilot = ward < 6
        for t, month in enumerate(months):
            after = month >= "2025-01"
            for _ in range(12):
                waits = 40 + 0.1 * t - (4 if (after and (pilot or not panel)) else 0)
                rows.append(
                    {
                        "ward": f"W{ward}",
                        "arm": "pilot" if pilot else "comparison",
                        "month": month,
                        "waits": round(waits + rng.normal(0, 3), 1),
                    }
                )
    return pd.DataFrame(rows).to_csv(index=False)


@pytest.mark.parametrize(
    ("card", "panel", "chart"),
    [
        (ITS_CARD, False, "Interrupted time series of Days waiting"),
        (PANEL_CARD, True, "Periods relative to the start"),
    ],
)
def test_design_charts_and_doubts_appear_in_the_report(
    make_pilot: Callable[..., Path], tmp_path: Path, card: str, panel: bool, chart: str
) -> None:
    pilot = make_pilot(card, data=_series(tmp_path, panel))
    out = render_report(pilot, tmp_path / "out")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert chart.lower() in html.lower()
    results = load_results(out / "results.json")
    finding = results.findings[0]
    assert abs(finding.estimate - (-4)) < 4 * finding.se  # the planted change of -4 days
    if not panel:
        # a hoped-for change of 1 day is below what 36 monthly means can detect
        assert "Is the pilot big enough?" in html
