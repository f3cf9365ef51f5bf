"""One small pilot for every design evalkit estimates, each with three outcome types.

Every builder returns a pilot card (text, reading ``data/records.csv``) and
the data. Each pilot measures the same three outcomes, a
continuous score, a yes/no outcome and a count, so every design meets every
outcome type. True effects are planted (+4 points, +10 percentage points,
rate ratio 0.8), so a test can check more than that a report appears.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

OUTCOMES = """\
outcomes:
  - {column: wellbeing, label: Wellbeing score, unit: points, better: higher}
  - {column: housed, label: Settled housing, type: binary, better: higher}
  - {column: missed, label: Missed appointments, unit: appointments, type: count, better: lower}
costs:
  currency: GBP
  fixed: 5000
  per_participant: 200
  value: {wellbeing: 60, housed: 3000, missed: 25}
"""

HEADER = """\
name: {name}
place: Testford
team: Test team
cycle: 1
design: {design}
"""

DATA_PATH = "data/records.csv"

#: The true effects planted in every pilot below.
WELLBEING_EFFECT, HOUSED_EFFECT, MISSED_RATIO = 4.0, 0.10, 0.8


def _outcomes(rng: np.random.Generator, treated: np.ndarray, level: np.ndarray) -> pd.DataFrame:
    """Return the three outcomes for rows with a treatment flag and a place/time level."""
    n = treated.size
    wellbeing = 50 + level + WELLBEING_EFFECT * treated + rng.normal(0, 8, n)
    housed = rng.random(n) < 0.45 + HOUSED_EFFECT * treated + level / 100
    missed = rng.poisson(np.exp(0.7 + level / 40) * np.where(treated, MISSED_RATIO, 1.0))
    return pd.DataFrame(
        {"wellbeing": wellbeing.round(1), "housed": housed.astype(int), "missed": missed}
    )


def _card(name: str, design: str, data: str) -> str:
    head = HEADER.format(name=name, design=design)
    return head + f"data:\n  path: {DATA_PATH}\n" + data + OUTCOMES


def rct(rng: np.random.Generator) -> tuple[str, pd.DataFrame]:
    """People randomised to a named caseworker, measured once."""
    n = 240
    arm = rng.permutation(np.repeat(["caseworker", "usual"], n // 2))
    frame = pd.DataFrame({"person_id": [f"P{i:04d}" for i in range(n)], "arm": arm})
    frame = frame.join(_outcomes(rng, arm == "caseworker", np.zeros(n)))
    data = "  unit: person_id\n  group: {column: arm, pilot: caseworker, comparison: usual}\n"
    return _card("Randomised once", "rct", data), frame


def rct_with_period(rng: np.random.Generator) -> tuple[str, pd.DataFrame]:
    """People randomised, measured at baseline and at follow-up."""
    n = 200
    arm = rng.permutation(np.repeat(["pilot", "comparison"], n // 2))
    people = [f"P{i:04d}" for i in range(n)]
    parts = []
    for phase, on in (("baseline", False), ("follow-up", True)):
        part = pd.DataFrame({"person_id": people, "arm": arm, "phase": phase})
        parts.append(part.join(_outcomes(rng, (arm == "pilot") & on, np.zeros(n))))
    data = (
        "  unit: person_id\n  group: {column: arm, pilot: pilot}\n"
        "  period: {column: phase, post: follow-up, pre: baseline}\n"
    )
    return _card("Randomised with baseline", "rct", data), pd.concat(parts, ignore_index=True)


def cluster_rct(rng: np.random.Generator) -> tuple[str, pd.DataFrame]:
    """Wards randomised, the pilot named by its wards (every other ward is the comparison)."""
    wards = [f"Ward {chr(65 + w)}" for w in range(12)]
    pilot = ["Ward A", "Ward D", "Ward F", "Ward H", "Ward J", "Ward L"]
    rows = []
    for ward in wards:
        size = int(rng.integers(25, 40))
        level = np.full(size, rng.normal(0, 3))
        part = pd.DataFrame(
            {"ward": ward, "person_id": [f"{ward[-1]}{i:03d}" for i in range(size)]}
        )
        rows.append(part.join(_outcomes(rng, np.full(size, ward in pilot), level)))
    data = (
        "  unit: person_id\n  cluster: ward\n"
        f"  group: {{column: ward, pilot: [{', '.join(pilot)}]}}\n"
    )
    return _card("Ward-randomised", "rct", data), pd.concat(rows, ignore_index=True)


def did_2x2(rng: np.random.Generator) -> tuple[str, pd.DataFrame]:
    """Different families before and after, in pilot and comparison areas."""
    parts = []
    for arm in ("pilot", "comparison"):
        for phase in ("before", "after"):
            size = 90
            level = np.full(size, 3.0 if arm == "pilot" else 0.0) + (2.0 if phase == "after" else 0)
            treated = np.full(size, arm == "pilot" and phase == "after")
            part = pd.DataFrame({"arm": [arm] * size, "phase": [phase] * size})
            parts.append(part.join(_outcomes(rng, treated, level)))
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "case_id", [f"C{i:04d}" for i in range(len(frame))])
    data = (
        "  unit: case_id\n  group: {column: arm, pilot: pilot}\n"
        "  period: {column: phase, post: after, pre: before}\n"
    )
    return _card("Two by two", "did", data), frame


def _ward_months(
    rng: np.random.Generator, starts: dict[str, str | None], months: int = 18
) -> pd.DataFrame:
    """Return ward-by-month records (several households each), with each ward's start month."""
    periods = pd.period_range("2025-01", periods=months, freq="M")
    rows = []
    for ward, start in starts.items():
        ward_level = rng.normal(0, 3)
        for month in periods:
            size = 6
            on = start is not None and month >= pd.Period(start, "M")
            level = np.full(size, ward_level + 0.1 * month.month)
            part = pd.DataFrame({"ward": [ward] * size, "month": [f"{month}-01"] * size})
            part["start_month"] = f"{start}-01" if start else ""
            rows.append(part.join(_outcomes(rng, np.full(size, on), level)))
    return pd.concat(rows, ignore_index=True)


def panel_did(rng: np.random.Generator) -> tuple[str, pd.DataFrame]:
    """Wards followed monthly; half start together in October 2025."""
    wards = {f"W{w:02d}": ("2025-10" if w < 6 else None) for w in range(12)}
    frame = _ward_months(rng, wards).drop(columns="start_month")
    frame["arm"] = np.where(
        frame["ward"].isin([w for w, s in wards.items() if s]), "pilot", "other"
    )
    data = (
        "  unit: ward\n  group: {column: arm, pilot: pilot, comparison: other}\n"
        "  time: {column: month, start: 2025-10-01}\n"
    )
    return _card("Wards monthly", "did", data), frame


def staggered_did(rng: np.random.Generator) -> tuple[str, pd.DataFrame]:
    """Wards join a roll-out one group at a time; some never do."""
    starts: dict[str, str | None] = {}
    for w in range(12):
        starts[f"W{w:02d}"] = ["2025-06", "2025-09", "2025-12", None][w % 4]
    frame = _ward_months(rng, starts)
    frame["arm"] = np.where(frame["start_month"] != "", "pilot", "other")
    data = (
        "  unit: ward\n  group: {column: arm, pilot: pilot, comparison: other}\n"
        "  time: {column: month, start_column: start_month}\n"
        "  columns:\n    start_month: {type: date}\n"
    )
    return _card("Ward roll-out", "did", data), frame


def _monthly(rng: np.random.Generator, groups: tuple[str, ...]) -> pd.DataFrame:
    periods = pd.period_range("2023-01", periods=36, freq="M")
    rows = []
    for group in groups:
        for t, month in enumerate(periods):
            size = 20
            on = group == "pilot" and month >= pd.Period("2025-01", "M")
            part = pd.DataFrame({"team": [group] * size, "month": [f"{month}-15"] * size})
            rows.append(part.join(_outcomes(rng, np.full(size, on), np.full(size, 0.05 * t))))
    frame = pd.concat(rows, ignore_index=True)
    frame.insert(0, "case_id", [f"K{i:05d}" for i in range(len(frame))])
    return frame


def its(rng: np.random.Generator) -> tuple[str, pd.DataFrame]:
    """Cases closed each month, before and after a new way of working."""
    frame = _monthly(rng, ("pilot",)).drop(columns="team")
    data = "  unit: case_id\n  time: {column: month, start: 2025-01-01}\n"
    return _card("Monthly series", "its", data), frame


def controlled_its(rng: np.random.Generator) -> tuple[str, pd.DataFrame]:
    """The pilot team's monthly series beside a comparison team's."""
    frame = _monthly(rng, ("pilot", "neighbour"))
    data = (
        "  unit: case_id\n  group: {column: team, pilot: pilot, comparison: neighbour}\n"
        "  time: {column: month, start: 2025-01-01}\n"
    )
    return _card("Controlled series", "its", data), frame


def pre_post_paired(rng: np.random.Generator) -> tuple[str, pd.DataFrame]:
    """The same families assessed on joining and at follow-up."""
    n = 150
    families = [f"F{i:04d}" for i in range(n)]
    own = rng.normal(0, 5, n)
    parts = []
    for phase, on in (("baseline", False), ("follow-up", True)):
        part = pd.DataFrame({"family_id": families, "timepoint": phase})
        parts.append(part.join(_outcomes(rng, np.full(n, on), own)))
    data = "  unit: family_id\n  period: {column: timepoint, post: follow-up, pre: baseline}\n"
    return _card("Same families twice", "pre_post", data), pd.concat(parts, ignore_index=True)


def pre_post_unpaired(rng: np.random.Generator) -> tuple[str, pd.DataFrame]:
    """Different people surveyed before and after."""
    n = 160
    phase = np.repeat(["before", "after"], n // 2)
    frame = pd.DataFrame({"respondent": [f"R{i:04d}" for i in range(n)], "wave": phase})
    frame = frame.join(_outcomes(rng, phase == "after", np.zeros(n)))
    data = "  unit: respondent\n  period: {column: wave, post: after, pre: before}\n"
    return _card("Two surveys", "pre_post", data), frame


def synthetic(rng: np.random.Generator) -> tuple[str, pd.DataFrame]:
    """One district among 24, followed monthly; its records averaged place by place."""
    places = ["Ashby"] + [f"District {chr(65 + p)}" for p in range(23)]
    months = pd.period_range("2024-01", periods=16, freq="M")
    loadings = rng.normal(0, 1, (len(places), 2))
    loadings[0] = loadings[1:4].mean(axis=0)  # the pilot is a mix of three others
    factors = np.column_stack([np.linspace(-2, 2, len(months)), np.sin(np.arange(16) / 2.5)])
    rows = []
    for p, place in enumerate(places):
        for t, month in enumerate(months):
            size = 5
            on = p == 0 and month >= pd.Period("2024-11", "M")
            level = np.full(size, 2.0 * (loadings[p] @ factors[t]))
            part = pd.DataFrame({"district": [place] * size, "month": [f"{month}-01"] * size})
            rows.append(part.join(_outcomes(rng, np.full(size, on), level)))
    frame = pd.concat(rows, ignore_index=True)
    data = (
        "  unit: district\n  group: {column: district, pilot: Ashby}\n"
        "  time: {column: month, start: 2024-11-01}\n"
    )
    return _card("One district among many", "synthetic", data), frame


#: Every design evalkit estimates, by a short name for test ids.
DESIGNS: dict[str, Callable[[np.random.Generator], tuple[str, pd.DataFrame]]] = {
    "rct": rct,
    "rct-with-period": rct_with_period,
    "cluster-rct": cluster_rct,
    "did-2x2": did_2x2,
    "panel-did": panel_did,
    "staggered-did": staggered_did,
    "its": its,
    "controlled-its": controlled_its,
    "pre-post-paired": pre_post_paired,
    "pre-post-unpaired": pre_post_unpaired,
    "synthetic": synthetic,
}
