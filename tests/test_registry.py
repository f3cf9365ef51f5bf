"""The design registry: a design is one module and one entry; nothing else names it.

A toy design ("toy-mean": the mean after the change minus the mean before,
with a Welch interval) is written here as its own module. Registered from this
test module it is checked by the card, estimated, rated and worded in-process;
offered as an installed package's entry point it runs end to end through the
real report template in a fresh interpreter, as ``evalkit run`` does.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from evalkit.analysis import analyse_pilot
from evalkit.card import load_pilot
from evalkit.errors import ConfigError, EstimationError
from evalkit.estimate import estimate_effects, plan_pilot, registry
from evalkit.estimate.registry import BUILT_IN, design_names, get_design
from evalkit.report import sections

from .conftest import PilotFactory

TOY_MODULE = '''
"""A toy design for evalkit's tests: the mean after the change minus the mean before."""

import math

import numpy as np
from scipy import stats

from evalkit.contract import post_mask
from evalkit.estimate.finding import Finding
from evalkit.estimate.registry import Design, Estimated, Rubric, Words, register_design
from evalkit.estimate.wording import describe_change


def _estimate(card, frame, outcome):
    values = frame[outcome.column].astype("float64")
    after = post_mask(card, frame)
    a, b = values[after].dropna().to_numpy(), values[~after].dropna().to_numpy()
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    estimate = float(a.mean() - b.mean())
    half = float(stats.t.ppf(0.975, df)) * se
    summary = describe_change(
        label=outcome.name, design=card.design, estimate=estimate, ci_low=estimate - half,
        ci_high=estimate + half, better=outcome.better, unit=outcome.unit,
    )
    means = {"before": float(b.mean()), "after": float(a.mean())}
    return Estimated(Finding(
        outcome=outcome.measure_id, label=outcome.name, estimate=estimate, se=se,
        ci_low=estimate - half, ci_high=estimate + half,
        p_value=float(2 * stats.t.sf(abs(estimate / se), df)), n=int(a.size + b.size),
        method="toy mean difference, Welch t interval", better=outcome.better,
        summary=summary, unit=outcome.unit,
    ), figure=means)


def toy_chart(data, *, label, unit):
    """Draw the toy's two means: the design's own figure, named by its registry entry."""
    import altair as alt
    import pandas as pd

    table = pd.DataFrame({"period": list(data), "mean": list(data.values())})
    return alt.Chart(table, title=f"{label}: toy means").mark_bar().encode(
        x="period:N", y=alt.Y("mean:Q", title=unit)
    ).properties(description=f"Toy means of {label}: before and after the change")


DESIGN = register_design(Design(
    name="toy-mean",
    needs=(("period", "time"),),
    estimate=_estimate,
    words=Words(
        uses="a toy comparison of means made for evalkit's tests",
        opens="In the toy comparison, {label} was",
        counts_open="In the toy comparison there were",
        closes="in the toy comparison",
        caveat="A toy design proves only that the registry works.",
    ),
    rubric=Rubric(1, "a toy design: no comparison group"),
    plan_as=None,
    chart="evalkit_toy_design:toy_chart",
))
'''

TOY_CARD = """\
name: Toy pilot
place: Testford
team: Test team
design: toy-mean
data:
  path: {data_path}
  unit: case_id
  period: {{column: phase, post: after, pre: before}}
outcomes:
  - column: days
    label: Days waiting
    unit: days
    better: lower
    min: 0
    hoped_change: -5
"""


def toy_rows(seed: int = 14) -> str:
    """Return 120 cases before and 120 after, the wait about 6 days shorter after."""
    rng = np.random.default_rng(seed)
    lines = ["case_id,phase,days"]
    for i in range(240):
        phase = "after" if i % 2 else "before"
        days = max(0, round(40 - (6 if phase == "after" else 0) + rng.normal(0, 8)))
        lines.append(f"C{i:03d},{phase},{days}")
    return "\n".join(lines) + "\n"


def expected(rows: str) -> tuple[float, float, float]:
    """Return the Welch difference and interval, computed independently of the toy module."""
    table = np.array([line.split(",") for line in rows.strip().splitlines()[1:]])
    days = table[:, 2].astype(float)
    after, before = days[table[:, 1] == "after"], days[table[:, 1] == "before"]
    test = stats.ttest_ind(after, before, equal_var=False)
    low, high = test.confidence_interval(0.95)
    return float(after.mean() - before.mean()), float(low), float(high)


def drawn_mean(rows: str, phase: str) -> float:
    """Return the mean wait in one phase, read from the rows directly."""
    table = [line.split(",") for line in rows.strip().splitlines()[1:]]
    return float(np.mean([float(days) for _, p, days in table if p == phase]))


@pytest.fixture
def toy_package(tmp_path: Path) -> Path:
    """Return a folder holding the toy module and an installed-package record offering it."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "evalkit_toy_design.py").write_text(TOY_MODULE, encoding="utf-8")
    info = folder / "evalkit_toy_design-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: evalkit-toy-design\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[evalkit.designs]\ntoy-mean = evalkit_toy_design:DESIGN\n", encoding="utf-8"
    )
    return folder


@pytest.fixture
def registered(toy_package: Path) -> Iterator[None]:
    """Register the toy design from this test, and take it out again afterwards."""
    sys.path.insert(0, str(toy_package))
    try:
        importlib.import_module("evalkit_toy_design")
        yield
    finally:
        sys.path.remove(str(toy_package))
        sys.modules.pop("evalkit_toy_design", None)
        registry._REGISTRY.pop("toy-mean", None)


def test_built_in_designs_load_only_when_asked_for() -> None:
    code = (
        "import sys; from evalkit.card import load_pilot; "
        "from evalkit.estimate.registry import get_design; "
        "assert get_design('did').needs; "
        "print(sorted(m for m in sys.modules if m.startswith(('statsmodels', "
        "'evalkit.estimate.designs.its', 'evalkit.estimate.outcomes'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # the card's check of what a design needs loads no estimator
    assert done.stdout.strip() == "[]"
    assert list(BUILT_IN) == ["pre_post", "did", "its", "rct", "synthetic"]


def test_every_built_in_design_declares_everything_the_rest_looks_up() -> None:
    for name in BUILT_IN:
        design = get_design(name)
        assert design is not None and design.name == name
        assert design.needs and 1 <= design.rubric.level <= 5
        assert "{label}" in design.words.opens
        assert design.words.uses and design.words.caveat and design.words.closes
        assert design.plan_as in {"pre_post", "did", "its", "rct", "synthetic"}
        assert design.scaffold is not None


def test_an_unknown_design_is_a_card_problem_with_the_nearest_name(
    make_pilot: PilotFactory,
) -> None:
    pilot = make_pilot(TOY_CARD.replace("toy-mean", "pre-post"), toy_rows())

    with pytest.raises(ConfigError) as raised:
        load_pilot(pilot)

    (problem,) = raised.value.problems
    assert problem.where == "line 4, design"
    assert "found 'pre-post'" in problem.message and "'pre_post'" in problem.message
    assert problem.hint == "did you mean 'pre_post'?"


@pytest.mark.usefixtures("registered")
def test_a_design_registered_from_a_test_module_is_checked_estimated_and_worded(
    make_pilot: PilotFactory,
) -> None:
    rows = toy_rows()
    pilot = make_pilot(TOY_CARD, rows)
    assert "toy-mean" in design_names()

    # the card asks the registry what the design needs
    with pytest.raises(ConfigError) as raised:
        load_pilot(make_pilot(TOY_CARD.replace("  period:", "  # period:"), rows, folder="b"))
    messages = [p.message for p in raised.value.problems]
    assert messages == ["design 'toy-mean' needs data.period or data.time"]

    analysis = analyse_pilot(pilot)
    (finding,) = analysis.findings
    estimate, low, high = expected(rows)
    assert finding.estimate == pytest.approx(estimate, rel=1e-12)
    assert (finding.ci_low, finding.ci_high) == pytest.approx((low, high), rel=1e-9)
    assert finding.summary.startswith("In the toy comparison, days waiting fell by about")
    assert estimate_effects(analysis.card, analysis.validation.valid) == [finding]
    # the rubric and the words come from the registry entry
    assert analysis.evidence.level == 1
    assert analysis.evidence.why[0] == "a toy design: no comparison group"
    found = sections.findings_markdown(analysis)
    assert "This pilot uses a toy comparison of means made for evalkit's tests." in found
    assert "A toy design proves only that the registry works." in found
    # the design's own figure, drawn by the builder its entry names, from the analysis' data
    (drawn,) = sections.design_figures(analysis)
    assert drawn.description == "Toy means of Days waiting: before and after the change"
    assert analysis.figures["days"] == {
        "before": pytest.approx(drawn_mean(rows, "before")),
        "after": pytest.approx(drawn_mean(rows, "after")),
    }
    # planning says plainly that it cannot plan this design, and the report leaves it out
    with pytest.raises(EstimationError, match="toy-mean"):
        plan_pilot(analysis.card, analysis.validation.valid)
    assert "Is the pilot big enough" not in found


def test_a_design_offered_by_an_installed_package_runs_through_the_real_template(
    make_pilot: PilotFactory, toy_package: Path
) -> None:
    rows = toy_rows()
    pilot = make_pilot(TOY_CARD, rows)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(toy_package), *sys.path])}

    done = subprocess.run(
        [sys.executable, "-m", "evalkit", "run", str(pilot)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    report = pilot / "reports" / "cycle-1"
    results = json.loads((report / "results.json").read_text(encoding="utf-8"))
    assert results["design"] == "toy-mean"
    (finding,) = results["findings"]
    estimate, low, high = expected(rows)
    assert finding["estimate"] == pytest.approx(estimate, rel=1e-12)
    assert (finding["ci_low"], finding["ci_high"]) == pytest.approx((low, high), rel=1e-9)
    assert finding["method"] == "toy mean difference, Welch t interval"
    page = (report / "report.html").read_text(encoding="utf-8")
    assert "a toy comparison of means made for evalkit" in page
    assert "A toy design proves only that the registry works." in page
    assert 'aria-label="Toy means of Days waiting: before and after the change"' in page
