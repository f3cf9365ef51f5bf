"""Did last cycle's changes happen? Each change the team promised, checked where the data can.

A closed cycle's entry lists what the team will change next (``next_changes``).
This cycle's data can show some of those: fewer rows failing their checks
after "record ward at referral", fewer families lost to follow-up after "phone
families who miss follow-up", records from the new sites a change names, an
outcome the team said it would start counting. Each change is matched to what
evalkit measures by the words the team used; a change nothing in the data
measures says so plainly, so the team's own account fills the gap rather than
a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from evalkit.analysis import Analysis
from evalkit.learning import LogEntry
from evalkit.learning.draft import lost_percent
from evalkit.quality.disclosure import describe_count, is_small
from evalkit.report.matching import overlap, words

#: Words that say a change is about how the data are recorded.
_RECORDING = {"record", "recorded", "recording", "reject", "rejected", "data", "form"}
#: Words that say a change is about keeping in touch with people (loss to follow-up).
_FOLLOW_UP = {"follow", "followup", "lost", "drop", "chase"}
#: Words that say a change adds an outcome.
_MEASURE = {"count", "measure", "outcome", "track", "collect"}
#: Words in a place's name too common to say which place a change means.
_GENERIC = {
    "hub", "centre", "center", "road", "street", "school", "children's", "ward", "team",
    "site", "house", "family", "east", "west", "north", "south", "pilot", "comparison",
    "usual", "service", "before", "after", "with", "from", "more", "fewer", "than",
}  # fmt: skip
#: Words in a column's name that say it names places.
_PLACE_WORDS = {"site", "hub", "ward", "place", "area", "locality", "centre", "office", "venue"}
#: A text column with more distinct values than this names people or cases, not places.
_MAX_PLACES = 60


@dataclass(frozen=True)
class PromiseCheck:
    """One change the team promised last cycle, and what this cycle's data show of it."""

    change: str
    shown: bool  # False: the data hold no measure of this change
    text: str


def check_promises(analysis: Analysis, previous: LogEntry | None) -> list[PromiseCheck]:
    """Return each of ``previous``'s next changes checked against this cycle's data."""
    if previous is None:
        return []
    return [_check(analysis, previous, change) for change in previous.next_changes]


def _check(analysis: Analysis, previous: LogEntry, change: str) -> PromiseCheck:
    said = set(words(change, stem=False)) | set(words(change))
    cycle = previous.cycle
    found: list[str] = []
    if said & _RECORDING:
        found.append(_rejected_text(analysis, previous))
    if said & _FOLLOW_UP:
        found.append(_follow_up_text(analysis, previous))
    if said & _MEASURE:
        found += _measured_text(analysis, previous, change)
    found += _places_text(analysis, change)
    if not found:
        return PromiseCheck(
            change,
            False,
            "The data cannot show whether this happened: they hold no measure of it, so the "
            "team's own account is what tells.",
        )
    return PromiseCheck(change, True, " ".join(found).replace("{cycle}", str(cycle)))


def _rejected_text(analysis: Analysis, previous: LogEntry) -> str:
    threshold = analysis.card.min_cell_count
    before = previous.seen
    if before.rejected_rows is None:
        then = f"fewer than {threshold} in cycle {{cycle}}"
    else:
        then = f"{before.rejected_rows:,}"
        if before.rows:
            then += f" of {before.rows:,} ({before.rejected_rows / before.rows:.1%})"
        then += " in cycle {cycle}"
    rejected = len(analysis.validation.rejected)
    rows = analysis.published_rows()
    now = describe_count(rejected, threshold)
    if not is_small(rejected, threshold) and rows:
        now += f" of {rows:,} ({rejected / rows:.1%})"
    return f"Rows that failed the data checks: {then}; {now} this cycle."


def _follow_up_text(analysis: Analysis, previous: LogEntry) -> str:
    now = lost_percent(analysis.signals)
    then = previous.seen.lost_percent
    then_text = (
        f"{then:.0f}% in cycle {{cycle}}"
        if then is not None
        else "not recorded in cycle {cycle}'s log"
    )
    now_text = f"{now:.0f}% this cycle" if now is not None else "not measured this cycle"
    return f"Share with no outcome at follow-up: {then_text}; {now_text}."


def _measured_text(analysis: Analysis, previous: LogEntry, change: str) -> list[str]:
    before = {f.outcome for f in previous.seen.findings}
    best = max(
        analysis.card.outcomes,
        key=lambda o: overlap(change, f"{o.name} {o.measure_id} {o.column}"),
    )
    if overlap(change, f"{best.name} {best.measure_id} {best.column}") == 0:
        return ["No outcome on the card measures this yet."]
    if best.measure_id in before:
        return [f"{best.name} was already measured in cycle {{cycle}}."]
    measured = any(f.outcome == best.measure_id for f in analysis.findings)
    return [
        f"{best.name} is measured this cycle for the first time."
        if measured
        else f"{best.name} is on the card but has no estimate this cycle."
    ]


def _place_columns(analysis: Analysis) -> list[str]:
    """Return the columns that name places (sites, hubs, wards), never people or free text.

    The card's cluster, and local columns named as places are: only these are read for
    the places a change names, as their values may be published beside their records.
    """
    data = analysis.card.data
    named = [data.cluster] if data.cluster else []
    named += [c for c in data.columns if _PLACE_WORDS & set(re.split(r"[^a-z]+", c.lower()))]
    return [c for c in dict.fromkeys(named) if c in analysis.validation.valid.columns]


def _places_text(analysis: Analysis, change: str) -> list[str]:
    """Return how many records each place the change names has in this cycle's data."""
    frame = analysis.validation.valid
    threshold = analysis.card.min_cell_count
    said = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z']{3,}", change)} - _GENERIC
    named: dict[str, int] = {}
    for column in _place_columns(analysis):
        values = frame[column]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        counts = values.dropna().astype(str).value_counts()
        if len(counts) > _MAX_PLACES:
            continue
        for value, count in counts.items():
            own = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z']{3,}", str(value))} - _GENERIC
            if own & said:
                named[str(value)] = int(count)
    if not named:
        return []
    shown = "; ".join(f"{value}: {describe_count(n, threshold)}" for value, n in named.items())
    return [f"Records this cycle from the places it names: {shown}."]
