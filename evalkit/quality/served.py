"""Who is served: the people a pilot reaches, compared with the people it is meant for.

A service judged on outcomes can drift, without anyone deciding it, towards
the people easiest to help ("cream-skimming"). On every column the served and
eligible files share, this compares the two populations and raises a question
where they differ by more than ``SMD_QUESTION`` standard deviations (numbers)
or by ``SHARE_QUESTION_POINTS`` percentage points or more with a chi-square
goodness-of-fit p-value below ``SHARE_QUESTION_P`` (categories).

Disclosure control: a category with fewer than ``min_count`` people in either
population is never named. Such categories are merged into one "other" group;
if "other" is itself below ``min_count`` in either population it is left out.
Each comparison says which was done (``Difference.disclosure``). A numeric
column with fewer than ``min_count`` values in either population is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd
from scipy import stats

#: A numeric column differs enough to ask about it above this standardised mean difference.
SMD_QUESTION = 0.25
#: A category's share differs enough to ask about it at this many percentage points...
SHARE_QUESTION_POINTS = 10.0
#: ...when the column's chi-square goodness-of-fit p-value is below this.
SHARE_QUESTION_P = 0.01
#: What blank values are called, so that a gap in recording is compared too.
NOT_RECORDED = "not recorded"
OTHER = "other"


@dataclass(frozen=True)
class Difference:
    """One comparison between the served and the eligible population, and its question if any."""

    column: str
    category: str | None  # None for a numeric column
    kind: Literal["numeric", "category"]
    served: float  # mean, or percent share
    eligible: float  # mean, or percent share
    difference: float  # standardised mean difference, or percentage points (served - eligible)
    p_value: float | None  # chi-square goodness of fit over the column's categories
    flagged: bool
    disclosure: str  # what was merged or left out to protect small groups, or ""
    message: str


def compare_served(
    served: pd.DataFrame, eligible: pd.DataFrame, *, min_count: int = 10
) -> tuple[Difference, ...]:
    """Return how the served population differs from the eligible one, column by column."""
    differences: list[Difference] = []
    for column in [c for c in served.columns if c in eligible.columns]:
        s, e = served[column], eligible[column]
        if _is_number(s) and _is_number(e):
            found = _compare_numbers(str(column), s, e, min_count)
            differences.extend([found] if found is not None else [])
        else:
            differences.extend(_compare_categories(str(column), s, e, min_count))
    return tuple(differences)


def _compare_numbers(
    column: str, served: pd.Series, eligible: pd.Series, min_count: int
) -> Difference | None:
    s, e = served.dropna().astype(float), eligible.dropna().astype(float)
    if len(s) < min_count or len(e) < min_count:
        return None
    spread = float(e.std(ddof=1))
    if spread == 0:
        return None
    # the eligible population is the reference, so its spread is the yardstick
    smd = (float(s.mean()) - float(e.mean())) / spread
    flagged = abs(smd) > SMD_QUESTION
    message = (
        f"The average {column} is {s.mean():.3g} among those served and {e.mean():.3g} "
        f"among those eligible (a standardised difference of {smd:+.2f})."
    )
    if flagged:
        message += (
            f" Is the service reaching people with {'lower' if smd > 0 else 'higher'} {column}?"
        )
    return Difference(
        column=column,
        category=None,
        kind="numeric",
        served=float(s.mean()),
        eligible=float(e.mean()),
        difference=smd,
        p_value=None,
        flagged=flagged,
        disclosure="",
        message=message,
    )


def _compare_categories(
    column: str, served: pd.Series, eligible: pd.Series, min_count: int
) -> list[Difference]:
    s_counts = _labels(served).value_counts()
    e_counts = _labels(eligible).value_counts()
    categories = sorted(set(s_counts.index) | set(e_counts.index))
    table = pd.DataFrame(
        {
            "served": [int(s_counts.get(c, 0)) for c in categories],
            "eligible": [int(e_counts.get(c, 0)) for c in categories],
        },
        index=categories,
    )
    small = (table["served"] < min_count) | (table["eligible"] < min_count)
    notes = []
    if small.any():
        pooled = table[small].sum()
        table = table[~small]
        merged = int(small.sum())
        things = "category" if merged == 1 else "categories"
        were = "was" if merged == 1 else "were"
        if pooled.min() >= min_count:
            table.loc[OTHER] = pooled + (table.loc[OTHER] if OTHER in table.index else 0)
            notes.append(
                f"{merged} {things} with fewer than {min_count} people {were} merged into "
                f"\u201c{OTHER}\u201d"
            )
        else:
            notes.append(
                f"{merged} {things} with fewer than {min_count} people {were} left out, "
                "even when merged"
            )
    if len(table) < 2:
        return []
    disclosure = "; ".join(notes)
    observed = table["served"].to_numpy(dtype=float)
    expected_share = table["eligible"].to_numpy(dtype=float) / table["eligible"].sum()
    expected = expected_share * observed.sum()
    p_value = float(stats.chisquare(observed, expected).pvalue)
    served_share = 100 * observed / observed.sum()
    eligible_share = 100 * expected_share
    differences = []
    for category, s_pct, e_pct in zip(table.index, served_share, eligible_share, strict=True):
        points = float(s_pct - e_pct)
        flagged = abs(points) >= SHARE_QUESTION_POINTS and p_value < SHARE_QUESTION_P
        joint = "but" if flagged else "and"
        message = (
            f"Those with {column} \u201c{category}\u201d are {e_pct:.0f}% of those eligible "
            f"{joint} {s_pct:.0f}% of those served."
        )
        if flagged:
            message += (
                " Is the service reaching them?"
                if points < 0
                else " Are others who are eligible being missed?"
            )
        differences.append(
            Difference(
                column=column,
                category=str(category),
                kind="category",
                served=float(s_pct),
                eligible=float(e_pct),
                difference=points,
                p_value=p_value,
                flagged=flagged,
                disclosure=disclosure,
                message=message,
            )
        )
    return differences


def _is_number(values: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values))


def _labels(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), NOT_RECORDED).map(str)
