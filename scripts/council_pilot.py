"""One council among thirty: an example pilot for a synthetic comparison.

Imported by make_example_pilots.py, which writes every example. Like the
others it is synthetic (seeded, invented places, never real people), with
known true effects so tests can check evalkit recovers them.

- ``harrowfield-prevention``: from April 2025 Harrowfield council gives every
  household at risk of homelessness a named prevention officer. No other
  council does, so Harrowfield is compared with a weighted mix of 29 others,
  from the councils' published monthly figures, April 2023 to March 2026
  (24 months before, 12 after; ``design: synthetic``).

The figures come from a factor model, so a weighted comparison is meaningful.
Each council has its own level, its own loadings on two smooth common factors
(a national trend, rising over the three years, and a seasonal/economic
cycle) and month-to-month noise that carries over a little from one month to
the next. Harrowfield's level and loadings are a mix of a handful of other
councils' (random weights), so it lies inside their range and a weighted
comparison can track it before the change.

- ``households_in_ta``: households in temporary accommodation, a count drawn
  from Poisson(rate x households / 1,000) with the rate 1-6 per 1,000
  households. From April 2025 Harrowfield's rate is 0.5 per 1,000 households
  lower (TRUE_EFFECTS, in the per 1,000 units the report uses).
- ``prevention_success``: the share (%) of prevention duties ending with the
  home kept or a new one found, 45-70%; Harrowfield's is 6.0 percentage
  points higher from April 2025.

The mess is written in explicitly, never on Harrowfield's own rows (the pilot
needs a figure every month): Calder Heath's TA count blank for three months in
a row (so it drops out of that outcome's comparison), one success figure
written "n/a", one TA count keyed in as -3 (that row is rejected), and
Brindle's name with a stray space before it in one row and after it in
another (evalkit strips it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The effect the generator builds in, by pilot and outcome column (differences);
#: the TA effect is per 1,000 households, the success effect in percentage points.
TRUE_EFFECTS = {
    "harrowfield-prevention": {"households_in_ta": -0.5, "prevention_success": 6.0},
}
#: No count outcome here is measured as a ratio.
TRUE_RATIOS: dict[str, dict[str, float]] = {}

PILOT = "Harrowfield"
#: The councils in the published table, alphabetical as it lists them (the pilot among them).
COUNCILS = [
    "Ashby Vale",
    "Brindle",
    "Calder Heath",
    "Dunsmoor",
    "Eastwold",
    "Elmsworth",
    "Fenbridge",
    "Garside",
    "Greyholme",
    "Harrowfield",
    "Hartwell Downs",
    "Ingleby Marsh",
    "Kestrel Fell",
    "Langmere",
    "Millhaven",
    "Netherby Cross",
    "Oakenshaw Vale",
    "Pelham Wold",
    "Quillby",
    "Ravensdale",
    "Redmarsh",
    "Saltmere",
    "Stanwick Moor",
    "Thornleigh",
    "Ulverby",
    "Wendlow",
    "Westcombe",
    "Whitmoor Edge",
    "Wychford",
    "Yarrowby",
]
#: The comparison council with three months of its TA count missing.
GAPPY = "Calder Heath"
#: The council whose name is written with a stray space in two rows.
SPACED = "Brindle"
START = "2025-04"
#: How many councils Harrowfield's level and loadings are a mix of.
MIXED_FROM = 5


def _factors(months: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the two common factors: a national trend (0 to 1.15) and a cycle (about -1 to 1)."""
    t = np.arange(months) / (months - 1)
    trend = t + 0.15 * t**2
    month = np.arange(months)
    cycle = 0.7 * np.cos(2 * np.pi * month / 12) + 0.4 * np.sin(2 * np.pi * month / 30)
    return trend, cycle


def _noise(rng: np.random.Generator, months: int, sd: float) -> np.ndarray:
    """Return month-to-month noise that carries a little from one month to the next."""
    shock = np.zeros(months)
    for t in range(months):
        shock[t] = 0.4 * (shock[t - 1] if t else 0.0) + rng.normal(0, sd)
    return shock


def make_harrowfield(rng: np.random.Generator) -> pd.DataFrame:
    """Return the councils' monthly figures: households, households in TA, prevention success."""
    months = pd.period_range("2023-04", "2026-03", freq="M")
    after = np.asarray(months >= pd.Period(START, "M"))
    trend, cycle = _factors(len(months))
    effect = TRUE_EFFECTS["harrowfield-prevention"]
    others = [c for c in COUNCILS if c != PILOT]
    # level, trend and cycle loadings: TA rate per 1,000 households, then success (%)
    params = {
        council: np.array(
            [
                rng.uniform(1.4, 3.6),
                rng.uniform(0.5, 1.2),
                rng.uniform(-0.25, 0.25),
                rng.uniform(50, 62),
                rng.uniform(-3, 1.5),
                rng.uniform(-2, 2),
            ]
        )
        for council in others
    }
    # Harrowfield is a mix of a handful of councils (none of those with gaps in their figures)
    mixed = rng.choice([c for c in others if c != GAPPY], size=MIXED_FROM, replace=False)
    weights = rng.dirichlet(np.full(MIXED_FROM, 2.0))
    params[PILOT] = sum(w * params[c] for w, c in zip(weights, mixed, strict=True))
    rows = []
    for council in COUNCILS:
        level, ta_trend, ta_cycle, success, success_trend, success_cycle = params[council]
        start = int(rng.integers(42_000, 152_000))
        growth = rng.uniform(0.003, 0.009)  # a year
        households = np.round(start * (1 + growth) ** (np.arange(len(months)) / 12)).astype(int)
        treated = after & (council == PILOT)
        rate = level + ta_trend * trend + ta_cycle * cycle + _noise(rng, len(months), 0.08)
        rate = np.clip(rate + effect["households_in_ta"] * treated, 0.5, None)
        in_ta = rng.poisson(rate * households / 1000)
        share = success + success_trend * trend + success_cycle * cycle
        share = share + _noise(rng, len(months), 1.8) + effect["prevention_success"] * treated
        share = np.clip(share, 0, 100).round(1)
        for t, month in enumerate(months):
            rows.append(
                {
                    "council": council,
                    "month": f"{month}-01",
                    "households": households[t],
                    "households_in_ta": in_ta[t],
                    "prevention_success": share[t],
                }
            )
    frame = pd.DataFrame(rows).astype(str)
    return _add_mess(rng, frame, mixed)


def _add_mess(rng: np.random.Generator, frame: pd.DataFrame, mixed: np.ndarray) -> pd.DataFrame:
    """Return the figures with the gaps and slips a published table has (see the docstring)."""
    # three months in a row lost in Calder Heath's system change, before the start
    first = int(rng.integers(3, 18))
    gappy = np.flatnonzero(frame["council"] == GAPPY)[first : first + 3]
    frame.loc[gappy, "households_in_ta"] = ""
    # one slip each, on councils Harrowfield is not made from (so its comparison stays clear)
    spare = [c for c in COUNCILS if c not in {PILOT, GAPPY, SPACED, *mixed}]
    unknown, negative = rng.choice(spare, size=2, replace=False)
    frame.loc[_one_row(rng, frame, unknown), "prevention_success"] = "n/a"
    frame.loc[_one_row(rng, frame, negative), "households_in_ta"] = "-3"
    spaced = rng.choice(np.flatnonzero(frame["council"] == SPACED), size=2, replace=False)
    frame.loc[spaced[0], "council"] = f" {SPACED}"
    frame.loc[spaced[1], "council"] = f"{SPACED} "
    return frame


def _one_row(rng: np.random.Generator, frame: pd.DataFrame, council: str) -> int:
    return int(rng.choice(np.flatnonzero(frame["council"] == council)))


HARROWFIELD_CARD = """\
# Example pilot (synthetic data made by scripts/make_example_pilots.py).
name: Named prevention officers
place: Harrowfield
team: Harrowfield housing options and prevention team
cycle: 1
theory_of_change:
  problem: Households at risk of homelessness are passed between teams and end up in temporary
    accommodation
  activities: [a named prevention officer for every household at risk, early landlord mediation]
  outcomes: [fewer households in temporary accommodation, more prevention duties ending with a home]
  assumptions: [one officer who knows the household acts sooner, landlords answer a named contact]
learning_questions:
  - Are fewer households in temporary accommodation than in councils like Harrowfield?
  - Do more prevention duties end with the home kept or a new one found?
design: synthetic
data:
  path: data/council_monthly.csv
  unit: council
  # the pilot council; every other council can be part of its synthetic comparison
  group: {column: council, pilot: Harrowfield}
  time: {column: month, start: 2025-04-01}
  population: households   # counts become rates per 1,000 of this column
  columns:
    households: {type: int, min: 1}
outcomes:
  - column: households_in_ta
    id: households-in-temporary-accommodation-per-1000
    label: Households in temporary accommodation (per 1,000 households)
    type: count
    unit: per 1,000 households
    better: lower
    min: 0
  - column: prevention_success
    label: Prevention duties ending with the home kept or a new one found (%)
    unit: percentage points
    better: higher
    min: 0
    max: 100
"""
