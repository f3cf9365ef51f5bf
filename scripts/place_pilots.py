"""Two place-based example pilots: a ward-randomised trial and a ward-by-ward roll-out.

Imported by make_example_pilots.py, which writes every example. Like the
others they are synthetic (seeded, never real people), realistic in size and
mess, with known true effects so tests can check evalkit recovers them.

- ``hollins-vale-navigators``: fourteen wards, seven chosen at random to get a
  community navigator; residents referred by their GP surveyed six months on
  (a cluster-randomised trial, no baseline period).
- ``dunmore-family-hubs``: family hubs opening ward by ward, two wards a
  quarter from April 2024, three wards still waiting at the end of the data;
  the council's monthly ward dashboard (staggered difference-in-differences).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

#: make_example_pilots.add_mess: plants blanks and bad values in a frame.
Mess = Callable[..., pd.DataFrame]

#: The effect each generator builds in, by pilot and outcome column (differences).
TRUE_EFFECTS = {
    "hollins-vale-navigators": {"wellbeing": 2.5, "in_work_or_training": 0.06},
    # A&E attendances per 1,000 under-5s: 45 a month, 14% fewer once a hub opens
    "dunmore-family-hubs": {"early_help_uptake": 4.0, "ae_rate_under5": -6.3},
}
#: The rate ratio each generator builds into its count outcomes.
TRUE_RATIOS = {
    "hollins-vale-navigators": {"missed_gp_appointments": 0.85},
}
#: The fall in Dunmore's A&E rate once a ward's hub opens (as a ratio of the rate).
DUNMORE_AE_RATIO = 0.86

HOLLINS_WARDS = [
    "Abbeydale",
    "Brookfield",
    "Carr Bank",
    "Dalton",
    "Edgefold",
    "Fernhill",
    "Greave",
    "Hollins Cross",
    "Ivy Bank",
    "Jubilee",
    "Kersal",
    "Lowther",
    "Moorside",
    "Newfield",
]

#: Dunmore's wards and the month each ward's hub opened (None: not yet open).
DUNMORE_OPENINGS: dict[str, str | None] = {
    "Ashgrove": "2024-04",
    "Bellfield": "2024-04",
    "Cairnhill": "2024-07",
    "Dunmore Central": "2024-07",
    "Eastpark": "2024-10",
    "Forthview": "2024-10",
    "Glenburn": "2025-01",
    "Harbourside": "2025-01",
    "Inchmore": None,
    "Kelvinside": None,
    "Lochend": None,
}


def make_hollins_vale(rng: np.random.Generator, add_mess: Mess) -> tuple[pd.DataFrame, str]:
    """Return residents surveyed six months after referral, and the card naming the wards drawn."""
    chosen = set(rng.choice(HOLLINS_WARDS, size=7, replace=False))
    effect = TRUE_EFFECTS["hollins-vale-navigators"]
    parts = []
    for ward in HOLLINS_WARDS:
        size = int(rng.integers(90, 190))
        navigator = ward in chosen
        ward_level = rng.normal(0, 1.5)  # wards differ more than chance
        wellbeing = (
            44 + ward_level + effect["wellbeing"] * navigator + rng.normal(0, 8, size)
        ).round()
        work = rng.random(size) < 0.31 + ward_level / 60 + effect["in_work_or_training"] * navigator
        ratio = TRUE_RATIOS["hollins-vale-navigators"]["missed_gp_appointments"]
        missed = rng.poisson(np.exp(0.3 + ward_level / 10) * (ratio if navigator else 1.0), size)
        parts.append(
            pd.DataFrame(
                {
                    "ward": ward,
                    "age_band": rng.choice(["18-34", "35-54", "55-74", "75+"], size=size),
                    "wellbeing": np.clip(wellbeing, 14, 70).astype(int),
                    "in_work_or_training": work.astype(int),
                    "missed_gp_appointments": missed,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.sample(frac=1.0, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
    frame.insert(0, "resident_id", [f"HV{i:05d}" for i in rng.permutation(len(frame)) + 1])
    frame = frame.astype(str)
    card = HOLLINS_CARD.format(
        pilot_wards=", ".join(sorted(chosen)), all_wards=", ".join(HOLLINS_WARDS)
    )
    messy = add_mess(
        rng,
        frame,
        missing=[("wellbeing", 70, ""), ("in_work_or_training", 40, "not known")],
        bad=[
            ("wellbeing", "7"),
            ("wellbeing", "seventy"),
            ("ward", "Hollins X"),
            ("age_band", "16-17"),
            ("missed_gp_appointments", "-1"),
        ],
    )
    return messy, card


def make_dunmore(rng: np.random.Generator, add_mess: Mess) -> pd.DataFrame:
    """Return the monthly ward dashboard: early-help uptake and under-5s' A&E rate per 1,000."""
    months = pd.period_range("2023-04", "2025-09", freq="M")
    effect = TRUE_EFFECTS["dunmore-family-hubs"]
    rows = []
    for ward, opened in DUNMORE_OPENINGS.items():
        level = rng.normal(0, 4)
        children = int(rng.integers(600, 1900))  # under-5s in the ward
        shock = 0.0
        for t, month in enumerate(months):
            shock = 0.5 * shock + rng.normal(0, 1.5)  # month-to-month drift in the ward
            open_now = opened is not None and month >= pd.Period(opened, "M")
            uptake = 21 + level + 0.08 * t + 2 * (month.month in (9, 10)) + shock
            uptake += effect["early_help_uptake"] * open_now
            rate = 0.045 * (DUNMORE_AE_RATIO if open_now else 1.0) * np.exp(shock / 30)
            rows.append(
                {
                    "ward": ward,
                    "month": f"{month}-01",
                    "hub_opened": f"{opened}-01" if opened else "",
                    "children_under5": children,
                    "early_help_uptake": round(uptake, 1),
                    "ae_rate_under5": round(1000 * rng.poisson(rate * children) / children, 1),
                }
            )
    frame = pd.DataFrame(rows).astype(str)
    return add_mess(
        rng,
        frame,
        # a dashboard month not filled in for one ward; one figure keyed in wrong
        missing=[("early_help_uptake", 1, ""), ("ae_rate_under5", 1, "n/a")],
        bad=[("early_help_uptake", "2l.4")],
    )


HOLLINS_CARD = """\
# Example pilot (synthetic data made by scripts/make_example_pilots.py).
name: Community navigators
place: Hollins Vale
team: Hollins Vale health and wellbeing partnership
cycle: 1
theory_of_change:
  problem: People referred by their GP for money, housing or loneliness worries go round in circles
  activities: [a named community navigator in the ward, warm hand-offs to local groups]
  outcomes: [better wellbeing, more people in work or training, fewer missed GP appointments]
  assumptions: [a navigator who knows the ward can join services up, people will take up groups]
learning_questions:
  - Is wellbeing better six months on in wards with a navigator?
  - Are more people in work or training?
design: rct
data:
  path: data/six_month_survey.csv
  unit: resident_id
  cluster: ward
  # seven of the fourteen wards were drawn at random to have a navigator; the rest compare
  group:
    column: ward
    pilot: [{pilot_wards}]
  columns:
    ward:
      type: str
      required: true
      allowed: [{all_wards}]
    age_band: {{type: str, allowed: [18-34, 35-54, 55-74, 75+]}}
outcomes:
  - column: wellbeing
    id: wellbeing-swemwbs
    label: Wellbeing (WEMWBS score)
    unit: points
    better: higher
    min: 14
    max: 70
  - column: in_work_or_training
    label: In work or training
    type: binary
    better: higher
  - column: missed_gp_appointments
    label: Missed GP appointments
    unit: appointments
    type: count
    better: lower
    min: 0
"""

DUNMORE_CARD = """\
# Example pilot (synthetic data made by scripts/make_example_pilots.py).
name: Family hubs, ward by ward
place: Dunmore
team: Dunmore start for life partnership
cycle: 1
theory_of_change:
  problem: Families with young children find help late, often through A&E
  activities: [a family hub in each ward, health visitors and early help under one roof]
  outcomes: [more families taking up early help, fewer A&E attendances for under-5s]
  assumptions: [families use a hub near home, staff in one place share what they see]
learning_questions:
  - Do more families take up early help once their ward's hub opens?
  - Do under-5s' A&E attendances fall?
design: did
data:
  path: data/ward_dashboard.csv
  unit: ward
  # the wards with a hub so far; the others are compared with them until theirs opens
  group:
    column: ward
    pilot: [Ashgrove, Bellfield, Cairnhill, Dunmore Central, Eastpark, Forthview, Glenburn,
      Harbourside]
  time: {column: month, start_column: hub_opened}
  columns:
    hub_opened: {type: date}
    children_under5: {type: int, min: 0}
outcomes:
  - column: early_help_uptake
    label: Early help uptake (per 1,000 under-5s)
    unit: per 1,000
    better: higher
    min: 0
    max: 100
  - column: ae_rate_under5
    id: ae-attendances-per-1000-under-5
    label: A&E attendances per 1,000 under-5s
    unit: per 1,000
    better: lower
    min: 0
"""
