"""Recording breaks: planted shifts are found where they happen; stable series raise nothing."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.quality.breaks import count_breaks, share_breaks
from evalkit.quality.segmentation import ALPHA


def months(n: int, start_year: int = 2024) -> list[str]:
    return [f"{start_year + i // 12}-{i % 12 + 1:02d}" for i in range(n)]


def records(periods: list[str], mix: list[dict[str, int]]) -> tuple[list[str], list[str | None]]:
    """Return one (period, value) pair per record from per-period category counts."""
    out_periods: list[str] = []
    out_values: list[str | None] = []
    for period, counts in zip(periods, mix, strict=True):
        for value, count in counts.items():
            out_periods += [period] * count
            out_values += [None if value == "" else value] * count
    return out_periods, out_values


def test_a_step_in_records_per_month_is_named_with_its_period_and_size() -> None:
    periods = months(24)
    found = count_breaks(periods, [210] * 18 + [120] * 6)
    assert len(found) == 1
    assert found[0].period == "2025-07"
    assert (found[0].before, found[0].after) == (210, 120)
    assert found[0].message.startswith(
        "Records per month fell from about 210 to about 120 from 2025-07."
    )
    assert found[0].p_value <= ALPHA


@pytest.mark.parametrize("seed", range(5))
def test_a_planted_drop_in_poisson_counts_is_found_at_the_right_period(seed: int) -> None:
    rng = np.random.default_rng(seed)
    counts = np.r_[rng.poisson(210, 14), rng.poisson(120, 10)]
    found = count_breaks(months(24), counts.tolist())
    assert [b.period for b in found] == ["2025-03"]
    assert found[0].before == pytest.approx(210, rel=0.05)
    assert found[0].after == pytest.approx(120, rel=0.08)


def test_two_breaks_are_both_found_and_each_compares_neighbouring_stretches() -> None:
    rng = np.random.default_rng(3)
    counts = np.r_[rng.poisson(100, 10), rng.poisson(200, 10), rng.poisson(100, 10)]
    found = count_breaks([f"2025-W{i:02d}" for i in range(1, 31)], counts.tolist())
    assert [b.period for b in found] == ["2025-W11", "2025-W21"]
    assert found[0].after == pytest.approx(200, rel=0.08)
    assert found[1].before == pytest.approx(200, rel=0.08)
    assert "Records per week rose" in found[0].message
    assert "Records per week fell" in found[1].message


@pytest.mark.parametrize("seed", range(10))
def test_stable_poisson_series_raise_nothing(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    assert count_breaks(months(24), rng.poisson(150, 24).tolist()) == ()


def test_a_real_but_small_shift_is_not_reported() -> None:
    # 2,000 -> 2,100 a month is a clear statistical shift (about 5 standard errors)
    # but only 5%: below the size worth asking about
    rng = np.random.default_rng(0)
    counts = np.r_[rng.poisson(2000, 18), rng.poisson(2100, 18)]
    assert count_breaks(months(36), counts.tolist()) == ()


def test_short_series_and_bad_input() -> None:
    assert count_breaks(months(5), [10, 10, 50, 50, 50]) == ()
    with pytest.raises(ValueError, match="periods but"):
        count_breaks(months(3), [1, 2])
    with pytest.raises(ValueError, match="once"):
        count_breaks(["2025-01", "2025-01"], [1, 2])
    with pytest.raises(ValueError, match="0 or more"):
        count_breaks(months(2), [1, -2])


def test_a_jump_in_unknown_ethnicity_is_named_with_its_period() -> None:
    periods = months(24)
    before = {"White": 130, "Asian": 30, "Black": 30, "unknown": 10}
    after = {"White": 100, "Asian": 20, "Black": 20, "unknown": 60}
    values = records(periods, [before] * 15 + [after] * 9)
    found = share_breaks(*values, column="ethnicity")
    unknown = [b for b in found if b.category == "unknown"]
    assert len(unknown) == 1 and unknown[0].period == "2025-04"
    assert (unknown[0].before, unknown[0].after) == (pytest.approx(5.0), pytest.approx(30.0))
    assert unknown[0].message.startswith(
        "The share of records with ethnicity \u201cunknown\u201d rose from about 5% to about 30% "
        "from 2025-04."
    )
    # White fell 15 points at the same period; Asian and Black moved 5 points exactly
    assert {b.category for b in found} == {"unknown", "White", "Asian", "Black"}
    assert {b.period for b in found} == {"2025-04"}


@pytest.mark.parametrize("seed", range(5))
def test_a_planted_share_shift_in_random_records_is_found(seed: int) -> None:
    rng = np.random.default_rng(seed)
    periods = months(18)
    mix = []
    for i in range(18):
        unknown = 0.05 if i < 10 else 0.30
        n = int(rng.poisson(150))
        draw = rng.choice(["A", "B", "unknown"], size=n, p=[0.6 - unknown, 0.4, unknown])
        mix.append({v: int((draw == v).sum()) for v in ("A", "B", "unknown")})
    found = share_breaks(*records(periods, mix))
    assert [(b.period, b.category) for b in found if b.category == "unknown"] == [
        ("2024-11", "unknown")
    ]


@pytest.mark.parametrize("seed", range(10))
def test_stable_category_mix_raises_nothing(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    mix = []
    for _ in range(24):
        draw = rng.choice(["A", "B", "C", ""], size=int(rng.poisson(120)), p=[0.5, 0.3, 0.15, 0.05])
        mix.append({v: int((draw == v).sum()) for v in ("A", "B", "C", "")})
    assert share_breaks(*records(months(24), mix)) == ()


def test_blanks_are_a_category_and_small_categories_are_never_named() -> None:
    periods = months(12)
    # blanks jump from 0 to 40 a month; "Rare" has 6 records in all, every one late
    before = {"A": 60, "B": 40}
    after = {"A": 40, "B": 20, "": 40}
    mix = [before] * 6 + [after] * 5 + [{**after, "Rare": 6}]
    found = share_breaks(*records(periods, mix), column="ethnicity")
    assert "(blank)" in {b.category for b in found}
    assert all("Rare" not in (b.category or "") and "Rare" not in b.message for b in found)


@pytest.mark.slow
@pytest.mark.parametrize("dispersion", [1.0, 3.0])
def test_false_alarm_rate_on_stable_counts_is_below_five_percent(dispersion: float) -> None:
    """Stable series of 12-36 periods, Poisson (1) or negative binomial with 3x the variance."""
    rng = np.random.default_rng(2025)
    runs, alarms = 1000, 0
    for i in range(runs):
        n, mean = int(rng.integers(12, 37)), float(rng.uniform(5, 500))
        if dispersion == 1:
            counts = rng.poisson(mean, n)
        else:
            counts = rng.negative_binomial(mean / (dispersion - 1), 1 / dispersion, n)
        alarms += bool(count_breaks(months(n), counts.tolist(), seed=i))
    print(
        f"\ncounts, dispersion {dispersion:g}: {alarms}/{runs} = {alarms / runs:.1%} false alarms"
    )
    assert alarms / runs < 0.05


@pytest.mark.slow
@pytest.mark.parametrize("wobble", [0.0, 0.02])
def test_false_alarm_rate_on_stable_category_mixes_is_below_five_percent(wobble: float) -> None:
    """Stable mixes of 4 categories over 12-36 periods; each period's mix fixed (multinomial)
    or wobbling around it (Dirichlet-multinomial, intra-period correlation 0.02)."""
    rng = np.random.default_rng(2026)
    runs, alarms = 400, 0
    for i in range(runs):
        n = int(rng.integers(12, 37))
        mix = rng.dirichlet(np.ones(4) * 2)
        tables = []
        for _ in range(n):
            shares = mix
            if wobble:
                draws = rng.gamma(mix * (1 - wobble) / wobble)
                shares = draws / draws.sum()
            draw = rng.multinomial(int(rng.poisson(rng.uniform(30, 300))), shares)
            tables.append(dict(zip("ABCD", draw.tolist(), strict=True)))
        alarms += bool(share_breaks(*records(months(n), tables), seed=i))
    print(f"\nshares, wobble {wobble:g}: {alarms}/{runs} = {alarms / runs:.1%} false alarms")
    assert alarms / runs < 0.05
