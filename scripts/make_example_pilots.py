"""Make the example pilots' synthetic data: seeded, realistic in size and mess, never real people.

Run from the repository root:  python scripts/make_example_pilots.py [PILOTS_DIR]

Each pilot has a known true effect (TRUE_EFFECTS) so tests can check that
evalkit recovers it within its interval. The mess is deliberate: missing
outcomes, a few invalid rows (negative days, text in number columns, an
impossible date, a blank group), so a first-time user sees rejected rows.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.card import load_pilot
from evalkit.learning import LOG_FILE, LOG_MARKDOWN, LogEntry, render_log

sys.path.insert(0, str(Path(__file__).resolve().parent))
import council_pilot
import place_pilots

SEED = 20261126

#: The effect each generator builds in, by pilot and outcome column.
TRUE_EFFECTS = {
    "northbridge-ta": {"days_in_ta": -21.0, "settled_within_6m": 0.08},
    "eastmoor-family-hub": {"wellbeing": 3.0, "missed_appointments": -0.4},
    "southvale-ta": {"days_in_ta": -12.0},
    "westmere-social-work": {"rereferred_within_12m": -0.07, "days_open": -9.0},
    **place_pilots.TRUE_EFFECTS,
    **council_pilot.TRUE_EFFECTS,
}
#: The rate ratio built into count outcomes measured as ratios, by pilot and column.
TRUE_RATIOS = place_pilots.TRUE_RATIOS

NORTHBRIDGE_WARDS = {
    "pilot": ["Castle", "Riverside", "St Anne's", "Northgate"],
    "comparison": ["Hillfoot", "Millbrook", "Westfield", "Abbey Park"],
}
EASTMOOR_SITES = ["Eastmoor Central Hub", "Brackley Road Hub", "Oakfield Children's Centre"]
WESTMERE_TEAMS = ["Westmere North", "Westmere South", "Riverside", "Children with Disabilities"]


def add_mess(
    rng: np.random.Generator,
    frame: pd.DataFrame,
    missing: list[tuple[str, int, str]],
    bad: list[tuple[str, str]],
) -> pd.DataFrame:
    """Return ``frame`` with blanks (column, how many, as written) and one bad value per pair.

    The rows are drawn at random: first every blank, then the bad values in
    other rows, so each bad row fails for exactly one reason.
    """
    rows = len(frame)
    blank = rng.choice(rows, size=sum(count for _, count, _ in missing), replace=False)
    first = 0
    for column, count, written in missing:
        frame.loc[blank[first : first + count], column] = written
        first += count
    wrong = rng.choice(np.setdiff1d(np.arange(rows), blank), size=len(bad), replace=False)
    for row, (column, value) in zip(wrong, bad, strict=True):
        frame.loc[row, column] = value
    return frame


def make_northbridge(rng: np.random.Generator) -> pd.DataFrame:
    """Return families in temporary accommodation before and after named caseworkers (DiD)."""
    rows = 2400
    arm = rng.choice(["pilot", "comparison"], size=rows, p=[0.45, 0.55])
    phase = rng.choice(["before", "after"], size=rows)
    ward = np.array([rng.choice(NORTHBRIDGE_WARDS[a]) for a in arm])
    household = np.clip(rng.poisson(2.4, rows) + 1, 1, 11)
    source = rng.choice(
        ["homeless application", "domestic abuse", "eviction", "hospital discharge"],
        size=rows,
        p=[0.55, 0.2, 0.2, 0.05],
    )
    pilot, after = arm == "pilot", phase == "after"
    effect = TRUE_EFFECTS["northbridge-ta"]
    days = (
        150
        + 12 * pilot
        + 9 * after
        + 6 * (household - 3)
        + effect["days_in_ta"] * (pilot & after)
        + rng.normal(0, 45, rows)
    )
    days = np.round(np.clip(days, 1, None))
    base_settled = 0.42 - 0.02 * pilot + 0.03 * after
    settled = rng.random(rows) < base_settled + effect["settled_within_6m"] * (pilot & after)
    frame = pd.DataFrame(
        {
            "case_id": [f"NB-{i:05d}" for i in rng.permutation(rows) + 1],
            "arm": arm,
            "phase": phase,
            "ward": ward,
            "household_size": household.astype(str),
            "referral_source": source,
            "days_in_ta": days.astype(int).astype(str),
            "settled_within_6m": settled.astype(int).astype(str),
        }
    )
    # the month each family was referred: a separate stream, so the rest stays as it was
    months = np.random.default_rng(SEED + 1).integers(0, 12, rows)
    start = np.where(after, pd.Period("2025-04", "M").ordinal, pd.Period("2024-04", "M").ordinal)
    frame.insert(
        3,
        "referral_month",
        [str(pd.Period(ordinal=int(o), freq="M")) for o in start + months],
    )
    # the mess a real export has
    return add_mess(
        rng,
        frame,
        missing=[("days_in_ta", 50, ""), ("settled_within_6m", 20, "NA")],  # still in TA
        bad=[
            ("days_in_ta", "-14"),
            ("days_in_ta", "unknown"),
            ("household_size", "0"),
            ("household_size", "23"),
            ("arm", ""),
            ("referral_source", "self referral"),
            ("days_in_ta", "1,204"),
            ("settled_within_6m", "yes"),
            ("phase", ""),
        ],
    )


def make_southvale(rng: np.random.Generator) -> pd.DataFrame:
    """Return a second council's families in temporary accommodation (DiD, smaller, messier)."""
    rows = 1400
    arm = rng.choice(["named worker", "usual service"], size=rows, p=[0.4, 0.6])
    quarter = rng.choice(["2024Q3", "2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4"], size=rows)
    after = np.isin(quarter, ["2025Q2", "2025Q3", "2025Q4"])
    placement = rng.choice(
        ["bed and breakfast", "hostel", "self-contained"], size=rows, p=[0.2, 0.3, 0.5]
    )
    pilot = arm == "named worker"
    days = (
        170
        + 10 * pilot
        + 6 * after
        + 25 * (placement == "bed and breakfast")
        + TRUE_EFFECTS["southvale-ta"]["days_in_ta"] * (pilot & after)
        + rng.normal(0, 55, rows)
    )
    frame = pd.DataFrame(
        {
            "ref": [f"SV{i:05d}" for i in range(1, rows + 1)],
            "service": arm,
            "quarter": quarter,
            "phase": np.where(after, "after", "before"),
            "placement_type": placement,
            "days_in_ta": np.round(np.clip(days, 1, None)).astype(int).astype(str),
        }
    )
    return add_mess(
        rng,
        frame,
        missing=[("days_in_ta", 60, "NULL")],
        bad=[
            ("days_in_ta", "tbc"),
            ("placement_type", "refuge"),
            ("service", ""),
            ("days_in_ta", "-3"),
        ],
    )


def make_eastmoor(rng: np.random.Generator) -> pd.DataFrame:
    """Return families' wellbeing at baseline and follow-up at a family hub (pre/post, paired)."""
    families = 1500
    ids = [f"EM{i:04d}" for i in range(1, families + 1)]
    site = rng.choice(EASTMOOR_SITES, size=families, p=[0.5, 0.3, 0.2])
    age_band = rng.choice(["under 25", "25-34", "35-44", "45 and over"], size=families)
    family_level = rng.normal(0, 6, families)
    effect = TRUE_EFFECTS["eastmoor-family-hub"]
    start = pd.Timestamp("2025-01-06") + pd.to_timedelta(rng.integers(0, 300, families), "D")
    records = []
    for timepoint, shift, days_later in (("baseline", 0.0, 0), ("follow-up", 1.0, 120)):
        wellbeing = np.clip(
            np.round(44 + family_level + effect["wellbeing"] * shift + rng.normal(0, 5, families)),
            14,
            70,
        )
        missed = rng.poisson(
            np.clip(1.6 + effect["missed_appointments"] * shift, 0.05, None), families
        )
        dates = start + pd.to_timedelta(days_later + rng.integers(-10, 10, families), "D")
        records.append(
            pd.DataFrame(
                {
                    "family_id": ids,
                    "timepoint": timepoint,
                    "assessment_date": dates.strftime("%d/%m/%Y"),
                    "hub_site": site,
                    "parent_age_band": age_band,
                    "wellbeing": wellbeing.astype(int).astype(str),
                    "missed_appointments": missed.astype(str),
                }
            )
        )
    frame = pd.concat(records, ignore_index=True)
    follow_up = frame.index[frame["timepoint"] == "follow-up"].to_numpy()
    lost = rng.choice(follow_up, size=160, replace=False)  # families not reached at follow-up
    frame.loc[lost, ["wellbeing", "missed_appointments"]] = ""
    frame = frame.sample(frac=1.0, random_state=7).reset_index(drop=True)
    bad = rng.choice(np.setdiff1d(frame.index, lost), size=7, replace=False)
    frame.loc[bad[0], "wellbeing"] = "71"
    frame.loc[bad[1], "wellbeing"] = "n/k"
    frame.loc[bad[2], "assessment_date"] = "31/02/2025"
    frame.loc[bad[3], "hub_site"] = "Eastmoor Centrl Hub"
    frame.loc[bad[4], "missed_appointments"] = "2.5"
    frame.loc[bad[5], "timepoint"] = "folow-up"
    frame.loc[bad[6], "family_id"] = ""
    return frame


def make_westmere(rng: np.random.Generator) -> pd.DataFrame:
    """Return children's social care cases closed month by month, before and after
    relational practice began in April 2024 (interrupted time series, 42 months)."""
    months = pd.period_range("2022-04", "2025-09", freq="M")
    effect = TRUE_EFFECTS["westmere-social-work"]
    t = np.arange(len(months))
    after = months >= pd.Period("2024-04", "M")
    shock = np.empty(len(months))  # month-to-month drift in the service: AR(1)
    shock[0] = rng.normal(0, 0.015)
    for i in range(1, len(months)):
        shock[i] = 0.4 * shock[i - 1] + rng.normal(0, 0.015)
    summer = np.isin(months.month, [7, 8])  # more closures, and quicker ones, before holidays
    rereferral = 0.27 - 0.0008 * t + effect["rereferred_within_12m"] * after + 0.02 * summer + shock
    days = 128 + 0.15 * t + effect["days_open"] * after - 6 * summer + 300 * shock
    closed = rng.poisson(np.where(summer, 105, 80))
    month = np.repeat(np.arange(len(months)), closed)
    rows = int(closed.sum())
    first_day = months.to_timestamp()[month]
    day = rng.integers(0, 28, rows)
    team = rng.choice(WESTMERE_TEAMS, size=rows, p=[0.35, 0.35, 0.2, 0.1])
    frame = pd.DataFrame(
        {
            "case_ref": [f"WM{i:06d}" for i in rng.permutation(rows) + 100001],
            "closed_date": (first_day + pd.to_timedelta(day, "D")).strftime("%Y-%m-%d"),
            "team": team,
            "child_age_band": rng.choice(["0-4", "5-9", "10-15", "16-17"], size=rows),
            "days_open": np.round(
                np.clip(days[month] + rng.gamma(2.0, 30.0, rows) - 60.0, 5, None)
            ).astype(int),
            "rereferred_within_12m": (rng.random(rows) < rereferral[month]).astype(int),
        }
    ).astype(str)
    # the mess a real case-management extract has; follow-up not yet recorded for some
    return add_mess(
        rng,
        frame,
        missing=[("rereferred_within_12m", 60, ""), ("days_open", 30, "NULL")],
        bad=[
            ("closed_date", "2023-02-30"),
            ("team", "Westmere Nrth"),
            ("days_open", "-2"),
            ("rereferred_within_12m", "Y"),
            ("days_open", "see notes"),
            ("case_ref", ""),
        ],
    )


NORTHBRIDGE_CARD = """\
# Example pilot (synthetic data made by scripts/make_example_pilots.py).
name: Named caseworkers for families in temporary accommodation
place: Northbridge
team: Northbridge housing options team
cycle: 2
theory_of_change:
  problem: Families stay too long in temporary accommodation and children move school
  activities: [one named caseworker per family, weekly home visits, landlord liaison]
  outcomes: [shorter stays, more families settled within six months]
  assumptions: [families trust a named worker more than a rota, landlords respond to one contact]
learning_questions:
  - Does a named caseworker shorten stays in temporary accommodation?
  - Do more families reach settled housing within six months?
design: did
data:
  path: data/cases.csv
  unit: case_id
  group: {column: arm, pilot: pilot, comparison: comparison}
  period: {column: phase, post: after, pre: before}
  time: {column: referral_month, start: 2025-04}
  covariates: [household_size]
  columns:
    ward: {type: str, required: true}
    household_size: {type: int, min: 1, max: 15}
    referral_source:
      type: str
      allowed: [homeless application, domestic abuse, eviction, hospital discharge]
outcomes:
  - column: days_in_ta
    id: days-in-temporary-accommodation
    label: Days in temporary accommodation
    unit: days
    type: continuous
    better: lower
    min: 0
    target: {value: 90, note: local ambition for families with children}
  - column: settled_within_6m
    id: settled-within-six-months
    label: Settled within six months
    type: binary
    better: higher
voice: voice.csv
costs:
  currency: GBP
  fixed: 38000          # two caseworkers' time for the pilot this cycle, and set-up
  per_participant: 420  # landlord liaison and home visits for each family, over usual service
  value: {days-in-temporary-accommodation: 40}  # the council's net cost of a night in TA
"""

EASTMOOR_CARD = """\
# Example pilot (synthetic data made by scripts/make_example_pilots.py).
name: Eastmoor family hub
place: Eastmoor
team: Eastmoor early help partnership
cycle: 2
theory_of_change:
  problem: Families struggle to find help early and arrive in crisis
  activities: [one front door for family services, a named key worker, drop-in groups]
  outcomes: [better parental wellbeing, fewer missed appointments]
  assumptions: [families will use a local hub, services will share one plan]
learning_questions:
  - Does parental wellbeing improve after joining the hub?
design: pre_post
data:
  path: data/family_assessments.csv
  unit: family_id
  period: {column: timepoint, post: follow-up, pre: baseline}
  time: {column: assessment_date}
  columns:
    assessment_date: {type: date, required: true}
    hub_site:
      type: str
      required: true
      allowed: [Eastmoor Central Hub, Brackley Road Hub, Oakfield Children's Centre]
    parent_age_band: {type: str, allowed: [under 25, 25-34, 35-44, 45 and over]}
outcomes:
  - column: wellbeing
    id: parental-wellbeing-wemwbs
    label: Parental wellbeing (WEMWBS score)
    unit: points
    type: continuous
    better: higher
    min: 14
    max: 70
  - column: missed_appointments
    label: Missed appointments
    unit: appointments
    type: count
    better: lower
voice: voice.csv
"""


#: What each pilot's team wrote when it closed cycle 1: the adaptation cycle 2 tests.
CYCLE_ONE = {
    "northbridge-ta": {
        "id": "c1-4e71a0",
        "opened": "2025-04-01",
        "closed": "2025-09-30",
        "participants": ["housing options caseworkers", "team manager", "parents' reps"],
        "assumption": "Families trust a named worker more than a rota.",
        "what_we_did": "Gave 180 families one named caseworker with fortnightly home visits.",
        "seen": {
            "evidence_level": 3,
            "rows": 1160,
            "rejected_rows": 31,
            "findings": [
                {
                    "outcome": "days-in-temporary-accommodation",
                    "label": "Days in temporary accommodation",
                    "estimate": -8.6,
                    "ci_low": -19.2,
                    "ci_high": 2.0,
                    "unit": "days",
                    "summary": "We can't tell yet whether days in temporary accommodation changed.",
                },
                {
                    "outcome": "settled-within-six-months",
                    "label": "Settled within six months",
                    "estimate": 2.4,
                    "ci_low": -6.9,
                    "ci_high": 11.7,
                    "unit": "percentage points",
                    "summary": "We can't tell yet whether settled within six months changed.",
                },
            ],
            "signals": ["31 of 1160 rows (2.7%) failed their checks: most had no ward recorded."],
        },
        "learned": "Families valued one named worker, but fortnightly visits were too sparse to "
        "unblock moves; most delay was waiting for landlords to answer.",
        "decision": "adapt",
        "reasons": "Stays may be shorter but the interval still includes no change, and "
        "caseworkers said landlord delays, not family engagement, held moves up.",
        "next_changes": [
            "Weekly home visits instead of fortnightly",
            "One landlord liaison officer for all pilot wards",
            "Record ward at referral so fewer rows are rejected",
        ],
        "blockers": [
            {
                "what": "The local housing allowance cap rules out most private lets "
                "for larger families",
                "needs": "DWP (national)",
            }
        ],
    },
    "eastmoor-family-hub": {
        "id": "c1-9b2c55",
        "opened": "2025-01-06",
        "closed": "2025-07-31",
        "participants": ["hub coordinators", "health visiting team", "parent forum"],
        "assumption": "Families will use a local hub if it is one front door for services.",
        "what_we_did": "Opened the central hub with drop-in sessions three days a week.",
        "seen": {
            "evidence_level": 1,
            "rows": 1210,
            "rejected_rows": 4,
            "findings": [
                {
                    "outcome": "parental-wellbeing-wemwbs",
                    "label": "Parental wellbeing (WEMWBS score)",
                    "estimate": 1.9,
                    "ci_low": 1.1,
                    "ci_high": 2.7,
                    "unit": "points",
                    "summary": "After the change, parental wellbeing was about 1.9 points higher.",
                }
            ],
            "signals": [
                "Follow-up was missing for 18% of families: mostly those referred by schools."
            ],
            "lost_percent": 18.0,
        },
        "learned": "Wellbeing rose, but families referred by schools often never came back "
        "for follow-up, so we know least about them.",
        "decision": "adapt",
        "reasons": "The gain is real but modest, a before/after design cannot show it was the "
        "hub, and we were missing the families we most wanted to reach.",
        "next_changes": [
            "Open two more sites (Brackley Road, Oakfield)",
            "Key workers phone families who miss follow-up",
            "Count missed appointments as a second outcome",
        ],
        "blockers": [],
    },
}

#: What Westmere's team wrote when it closed its current cycle: the example of a closed report.
WESTMERE_CLOSED = {
    "id": "c1-5d08e3",
    "opened": "2024-04-01",
    "closed": "2026-03-31",
    "participants": [
        "social workers and team managers",
        "the principal social worker",
        "care-experienced young people",
    ],
    "assumption": "Families engage more with one worker who knows them.",
    "what_we_did": "Trained all four teams in relational practice, lowered caseloads to 15 and "
    "kept one worker for each family from referral to closure.",
    "seen": {
        "evidence_level": 2,
        "rows": 3590,
        "rejected_rows": None,
        "findings": [
            {
                "outcome": "re-referral-within-12-months",
                "label": "Re-referred within 12 months",
                "estimate": -7.6,
                "ci_low": -15.5,
                "ci_high": 0.2,
                "unit": "percentage points",
                "summary": "Re-referrals probably fell, but no change is not ruled out.",
            },
            {
                "outcome": "days_open",
                "label": "Days the case was open",
                "estimate": -11.6,
                "ci_low": -19.1,
                "ci_high": -4.2,
                "unit": "days",
                "summary": "Cases were open about 12 days less.",
            },
        ],
    },
    "learned": "Since relational practice began, cases have closed about 12 days sooner than "
    "the earlier trend pointed to, though a series like ours cannot rule out something else "
    "that changed then. Fewer families probably come back within a year, but this much data "
    "cannot yet rule out no change; families told us that not having to retell their story "
    "mattered most.",
    "decision": "continue",
    "reasons": "The shorter cases are clear and workers want to keep the model; the fall in "
    "re-referrals needs another year of closures before we can tell.",
    "next_changes": [
        "Keep one worker throughout for every new case",
        "Record why each case closed, so re-referrals can be read by reason",
    ],
    "blockers": [
        {
            "what": "Agency staff turnover breaks the one-worker promise in Riverside",
            "needs": "the council's workforce board",
        }
    ],
}

VOICE = {
    "northbridge-ta": [
        (
            "2025-06-12",
            "parents' forum",
            "families in temporary accommodation",
            "We never know who to call when the boiler breaks.",
            "Named caseworker's mobile number given to every family.",
            "done",
            1,
        ),
        (
            "2025-08-02",
            "caseworker notes",
            "landlords",
            "Landlords wait weeks for a decision from the council.",
            "One landlord liaison officer from cycle 2.",
            "done",
            1,
        ),
        (
            "2025-11-20",
            "survey",
            "families in temporary accommodation",
            "Visits are helpful but the school run is hard from out-of-area placements.",
            "Asking the centre to fund travel passes.",
            "in progress",
            2,
        ),
        (
            "2026-01-15",
            "parents' forum",
            "families in temporary accommodation",
            "We want to see how the pilot is doing.",
            "This report is shared with the forum each cycle.",
            "done",
            2,
        ),
    ],
    "eastmoor-family-hub": [
        (
            "2025-03-03",
            "drop-in feedback",
            "parents",
            "The hub is too far from Oakfield.",
            "Two more sites opened in cycle 2.",
            "done",
            1,
        ),
        (
            "2025-09-10",
            "parent forum",
            "fathers",
            "Sessions are all during working hours.",
            "Saturday morning session trialled.",
            "in progress",
            2,
        ),
        (
            "2025-10-01",
            "school liaison",
            "schools",
            "We refer families but never hear what happened.",
            "Not possible to share case detail; a termly summary is sent instead.",
            "not possible",
            2,
        ),
    ],
}


SOUTHVALE_CARD = """\
# Example pilot (synthetic data made by scripts/make_example_pilots.py).
name: Named workers for families in temporary accommodation
place: Southvale
team: Southvale housing needs service
cycle: 1
theory_of_change:
  problem: Families wait too long in temporary accommodation, often in bed and breakfast
  activities: [a named worker for each family, a weekly case review]
  outcomes: [shorter stays]
  assumptions: [a named worker can speed up moves out of bed and breakfast]
learning_questions:
  - ask: Do named workers shorten stays as they did in Northbridge?
    outcomes: [days-in-temporary-accommodation]
design: did
data:
  path: data/ta_cases.csv
  unit: ref
  group: {column: service, pilot: named worker, comparison: usual service}
  period: {column: phase, post: after, pre: before}
  columns:
    placement_type:
      type: str
      required: true
      allowed: [bed and breakfast, hostel, self-contained]
outcomes:
  - column: days_in_ta
    id: days-in-temporary-accommodation
    label: Days in temporary accommodation
    unit: days
    better: lower
    min: 0
"""


WESTMERE_CARD = """\
# Example pilot (synthetic data made by scripts/make_example_pilots.py).
name: Relational practice in children's social work
place: Westmere
team: Westmere children's services
cycle: 1
theory_of_change:
  problem: Families are passed between workers and come back to children's services
  activities: [relational practice training, smaller caseloads, one worker throughout]
  outcomes: [fewer re-referrals within a year, cases closed sooner]
  assumptions: [families engage more with one worker who knows them, help sticks when it is trusted]
learning_questions:
  - ask: Do fewer families come back within a year of their case closing?
    outcomes: [re-referral-within-12-months]
  - Are cases open for less time?
design: its
data:
  path: data/closed_cases.csv
  unit: case_ref
  time: {column: closed_date, start: 2024-04, seasonality: month}
  columns:
    team:
      type: str
      required: true
      allowed: [Westmere North, Westmere South, Riverside, Children with Disabilities]
    child_age_band: {type: str, allowed: [0-4, 5-9, 10-15, 16-17]}
outcomes:
  - column: rereferred_within_12m
    id: re-referral-within-12-months
    label: Re-referred within 12 months
    type: binary
    better: lower
  - column: days_open
    label: Days the case was open
    unit: days
    better: lower
    min: 0
"""


def write_history(folder: Path, pilot: str, written: dict[str, Any] | None = None) -> None:
    """Write the pilot's closed cycle-1 log entry, its voice file and LEARNING_LOG.md."""
    written = written or CYCLE_ONE[pilot]
    entry = LogEntry.model_validate(
        {
            **written,
            "cycle": 1,
            "status": "closed",
            "revision": 3,
            "updated": written["closed"] + "T16:00:00+00:00",
        }
    )
    line = json.dumps(entry.model_dump(mode="json"), ensure_ascii=False)
    (folder / LOG_FILE).write_text(line + "\n", encoding="utf-8")
    if pilot in VOICE:
        voice = pd.DataFrame(
            VOICE[pilot], columns=["date", "source", "group", "said", "response", "status", "cycle"]
        )
        voice.to_csv(folder / "voice.csv", index=False, lineterminator="\n")
    card = load_pilot(folder)
    (folder / LOG_MARKDOWN).write_text(render_log(card, [entry]), encoding="utf-8")


def write_pilot(folder: Path, card: str, data_name: str, frame: pd.DataFrame) -> None:
    """Write a pilot's card and data."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "pilot.yaml").write_text(card, encoding="utf-8")
    frame.to_csv(folder / "data" / data_name, index=False, lineterminator="\n")


def main(pilots_dir: Path) -> None:
    """Write every example pilot under ``pilots_dir``, with a two-cycle learning history."""
    rng = np.random.default_rng(SEED)
    write_pilot(pilots_dir / "northbridge-ta", NORTHBRIDGE_CARD, "cases.csv", make_northbridge(rng))
    write_pilot(
        pilots_dir / "eastmoor-family-hub",
        EASTMOOR_CARD,
        "family_assessments.csv",
        make_eastmoor(rng),
    )
    for pilot in CYCLE_ONE:
        write_history(pilots_dir / pilot, pilot)
    southvale = pilots_dir / "southvale-ta"
    write_pilot(southvale, SOUTHVALE_CARD, "ta_cases.csv", make_southvale(rng))
    (southvale / LOG_FILE).touch()
    westmere = pilots_dir / "westmere-social-work"
    write_pilot(westmere, WESTMERE_CARD, "closed_cases.csv", make_westmere(rng))
    write_history(westmere, "westmere-social-work", WESTMERE_CLOSED)
    # the place-based pilots draw from their own stream, so the others stay as they were
    places = np.random.default_rng(SEED + 13)
    frame, card = place_pilots.make_hollins_vale(places, add_mess)
    hollins = pilots_dir / "hollins-vale-navigators"
    write_pilot(hollins, card, "six_month_survey.csv", frame)
    dunmore = pilots_dir / "dunmore-family-hubs"
    write_pilot(
        dunmore,
        place_pilots.DUNMORE_CARD,
        "ward_dashboard.csv",
        place_pilots.make_dunmore(places, add_mess),
    )
    for folder in (hollins, dunmore):
        (folder / LOG_FILE).touch()
    # one council among thirty, from its own stream too
    councils = np.random.default_rng(SEED + 29)
    harrowfield = pilots_dir / "harrowfield-prevention"
    write_pilot(
        harrowfield,
        council_pilot.HARROWFIELD_CARD,
        "council_monthly.csv",
        council_pilot.make_harrowfield(councils),
    )
    (harrowfield / LOG_FILE).touch()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("pilots"))
