"""Estimators against published worked examples, and their plain summaries."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from evalkit.card import load_pilot
from evalkit.contract import validate_data
from evalkit.errors import EstimationError
from evalkit.estimate import estimate_effects
from evalkit.estimate.did import estimate_did

from .conftest import DATA, PilotFactory

KIELMC_CARD = """\
name: Garbage incinerator and house prices (Kiel and McClain 1995)
place: North Andover, Massachusetts
design: did
data:
  path: {data_path}
  group: {{column: nearinc, pilot: 1, comparison: 0}}
  period: {{column: year, post: 1981, pre: 1978}}
outcomes:
  - column: rprice
    label: House price (1978 dollars)
    unit: dollars
    better: higher
"""


def test_did_reproduces_wooldridge_example_13_3(make_pilot: PilotFactory, tmp_path: Path) -> None:
    """Wooldridge, Introductory Econometrics (7th ed., 2020), Example 13.3, equation (13.7).

    KIELMC data (Kiel and McClain 1995): rprice on y81, nearinc and y81*nearinc,
    n = 321. Printed: delta = -11,863.90 (se 7,456.65) with the usual OLS
    standard errors; the other coefficients 82,517.23, 18,790.29, -18,824.37.
    """
    target = tmp_path / "kielmc.csv"
    shutil.copy(DATA / "kielmc.csv", target)
    pilot = make_pilot(KIELMC_CARD, data=target.read_text(), data_name="data/kielmc.csv")
    card = load_pilot(pilot)
    frame = validate_data(card).valid
    classical = estimate_did(card, frame, card.outcomes[0], cov="nonrobust")
    assert classical.n == 321
    assert round(classical.estimate, 2) == -11863.90
    assert round(classical.se, 2) == 7456.65
    # the same estimate from the four cell means, to three decimals
    means = frame.groupby(["nearinc", "year"])["rprice"].mean()
    by_hand = (means[("1", "1981")] - means[("1", "1978")]) - (
        means[("0", "1981")] - means[("0", "1978")]
    )
    assert classical.estimate == pytest.approx(by_hand, abs=5e-4)
    # the default (robust) errors keep the estimate and change only the uncertainty
    robust = estimate_effects(card, frame)[0]
    assert robust.estimate == pytest.approx(classical.estimate, abs=1e-6)
    assert robust.se != pytest.approx(classical.se, rel=1e-3)
    assert "HC1" in robust.method
    # the interval spans zero near its edge (p about 0.17): "probably", not "fairly sure"
    assert "no change is not ruled out" in robust.summary and "fairly sure" not in robust.summary


SLEEP_CARD = """\
name: Student's sleep data (Cushny and Peebles 1905)
place: Michigan
design: pre_post
data:
  path: {data_path}
  unit: patient
  period: {{column: drug, post: hyoscine, pre: control}}
outcomes:
  - column: extra
    label: Extra hours of sleep
    unit: hours
    better: higher
"""

#: Student (1908) "The probable error of a mean", Biometrika 6(1), table 2: extra hours of
#: sleep for 10 patients with two drugs (the data of R's `sleep` set, group 1 and group 2).
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def test_paired_pre_post_reproduces_students_sleep_example(make_pilot: PilotFactory) -> None:
    """Student (1908): mean difference 1.58 hours; paired t = 4.06 on 9 df.

    R's `t.test(extra ~ group, data = sleep, paired = TRUE)` prints the same data's
    95% CI as 0.7001142 to 2.4598858 and p = 0.002833.
    """
    rows = "patient,drug,extra\n" + "".join(
        f"{i},control,{a}\n{i},hyoscine,{b}\n"
        for i, (a, b) in enumerate(zip(SLEEP_1, SLEEP_2, strict=True))
    )
    card = load_pilot(make_pilot(SLEEP_CARD, data=rows))
    finding = estimate_effects(card, validate_data(card).valid)[0]
    assert finding.n == 10
    assert "paired" in finding.method
    assert round(finding.estimate, 2) == 1.58
    assert round(finding.estimate / finding.se, 2) == 4.06
    assert round(finding.ci_low, 7) == 0.7001142
    assert round(finding.ci_high, 7) == 2.4598858
    assert round(finding.p_value, 6) == 0.002833


def test_two_sample_pre_post_matches_an_independent_computation(make_pilot: PilotFactory) -> None:
    rng = np.random.default_rng(3)
    before, after = rng.normal(50, 10, 80), rng.normal(54, 14, 120)
    rows = (
        "case_id,phase,score\n"
        + "".join(f"B{i},before,{v:.6f}\n" for i, v in enumerate(before))
        + "".join(f"A{i},after,{v:.6f}\n" for i, v in enumerate(after))
    )
    card_text = (
        SLEEP_CARD.replace("patient", "case_id")
        .replace("{{column: drug, post: hyoscine, pre: control}}", "{{column: phase, post: after}}")
        .replace("extra", "score")
    )
    card = load_pilot(make_pilot(card_text, data=rows))
    finding = estimate_effects(card, validate_data(card).valid)[0]
    b = np.round(before, 6)
    a = np.round(after, 6)
    assert finding.estimate == pytest.approx(a.mean() - b.mean(), abs=1e-9)
    # HC1 for a two-group regression: unequal-variance SE scaled by n / (n - 2)
    n = len(a) + len(b)
    hc0 = a.var(ddof=0) / len(a) + b.var(ddof=0) / len(b)
    assert finding.se == pytest.approx(math.sqrt(hc0 * n / (n - 2)), rel=1e-9)
    half = stats.t.ppf(0.975, n - 2) * finding.se
    assert finding.ci_low == pytest.approx(finding.estimate - half, rel=1e-9)
    assert "before/after difference in means" in finding.method


def test_did_clusters_by_the_cards_cluster(make_pilot: PilotFactory) -> None:
    from .conftest import DID_CARD, DID_ROWS

    card_text = DID_CARD.replace("  columns:", "  cluster: ward\n  columns:")
    card = load_pilot(make_pilot(card_text, data=DID_ROWS))
    finding = estimate_effects(card, validate_data(card).valid)[0]
    # three wards, each holding pilot and comparison families: far too few for
    # cluster-robust errors, so the wild cluster bootstrap by ward decides
    assert "wild cluster bootstrap by ward" in finding.method
    assert finding.inference.clusters == 3
    assert finding.ci_low < finding.estimate < finding.ci_high


def test_binary_outcomes_are_reported_in_percentage_points(make_pilot: PilotFactory) -> None:
    rows = "case_id,arm,phase,settled\n"
    rng = np.random.default_rng(11)
    for i in range(800):
        arm, phase = ("pilot", "comparison")[i % 2], ("before", "after")[(i // 2) % 2]
        p = 0.4 + 0.1 * (arm == "pilot" and phase == "after")
        rows += f"C{i},{arm},{phase},{int(rng.random() < p)}\n"
    card_text = """\
name: Binary
place: Testford
design: did
data:
  path: {data_path}
  group: {{column: arm, pilot: pilot}}
  period: {{column: phase, post: after}}
outcomes:
  - column: settled
    type: binary
    better: higher
"""
    card = load_pilot(make_pilot(card_text, data=rows))
    frame = validate_data(card).valid
    finding = estimate_effects(card, frame)[0]
    pilot, after = frame["arm"] == "pilot", frame["phase"] == "after"
    cell = {
        (p, a): frame.loc[(pilot == p) & (after == a), "settled"].mean()
        for p in (True, False)
        for a in (True, False)
    }
    expected = (cell[True, True] - cell[True, False]) - (cell[False, True] - cell[False, False])
    assert finding.scale == "percentage points"
    assert finding.estimate == pytest.approx(100 * expected, abs=1e-9)
    assert "percentage points" in finding.summary


def test_did_needs_all_four_cells(make_pilot: PilotFactory) -> None:
    from .conftest import DID_CARD, DID_ROWS

    lines = DID_ROWS.splitlines()
    kept = [lines[0], *[line for line in lines[1:] if ",pilot,after," not in line]]
    card = load_pilot(make_pilot(DID_CARD, data="\n".join(kept) + "\n"))
    with pytest.raises(EstimationError, match="all four groups"):
        estimate_effects(card, validate_data(card).valid)
