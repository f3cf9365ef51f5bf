"""Tables for a pilot's own analyses (a subgroup, a local question), safe to publish.

A pilot's adapted template (``evalkit adapt``) may show its data by a local
column: wards, referral routes, age bands. ``subgroup_means`` gives each
group's records and mean with the same small-number protection as the
report's own tables (``evalkit.estimate.describe.cell_means``):

- a group of fewer than ``min_cell_count`` records is shown as "fewer than N"
  with no mean, and so is a yes/no outcome's group where fewer than N have
  (or do not have) it, since its percentage would give the count away;
- secondary suppression: while the records hidden add up to a small number
  (one group hidden, or two hidden that total fewer than N), the smallest
  group still shown is hidden too, so the total published elsewhere in the
  report minus the groups shown cannot give a hidden group away.

Only counts and means are returned, never rows; every label a person typed
is made plain text by ``subgroup_markdown``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from evalkit.markup import plain
from evalkit.quality.disclosure import describe_count, is_small

if TYPE_CHECKING:
    from evalkit.analysis import Analysis

__all__ = ["NOT_RECORDED", "subgroup_markdown", "subgroup_means"]

#: How a group with no value in the column is labelled.
NOT_RECORDED = "not recorded"


def subgroup_means(analysis: Analysis, by: str, outcome: str | None = None) -> pd.DataFrame:
    """Return records (and the outcome's mean) for each value of ``by``, small groups hidden.

    ``by`` is a column of the pilot's validated data (a local column such as
    ``ward``); ``outcome`` an outcome column from the card, or None for counts
    only. The table has one row a group: ``by``, ``records`` (text: "1,234" or
    "fewer than 10") and, with an outcome, its mean (a percentage for a yes/no
    outcome; blank where hidden) and ``shown`` (False where hidden).
    """
    card = analysis.card
    frame = analysis.validation.valid
    if by not in frame.columns:
        from evalkit.errors import ConfigError

        raise ConfigError(
            f"there is no column '{by}' in the pilot's data",
            hint=f"use one of: {', '.join(map(str, frame.columns))}",
        )
    found = next((o for o in card.outcomes if o.column == outcome), None)
    if outcome is not None and found is None:
        from evalkit.errors import ConfigError

        raise ConfigError(
            f"'{outcome}' is not an outcome in the card",
            hint=f"use one of: {', '.join(o.column for o in card.outcomes)}",
        )
    threshold = card.min_cell_count
    rows = frame if found is None else frame[frame[found.column].notna()]
    groups = _labels(rows[by])
    n = groups.value_counts(sort=False)
    n = n.reindex(_in_order(n.index, rows[by]))
    counts = [float(c) for c in n]
    hidden = [is_small(c, threshold) for c in counts]
    table = pd.DataFrame({by: list(n.index)})
    if found is not None:
        values = rows[found.column].astype("float64").groupby(groups).agg(["mean", "sum"])
        values = values.reindex(n.index)
        binary = found.type == "binary"
        if binary:  # a percentage gives a small number away, with it or without it
            hits = [float(h) for h in values["sum"]]
            hidden = [
                was or is_small(h, threshold) or is_small(t - h, threshold)
                for was, h, t in zip(hidden, hits, counts, strict=True)
            ]
        means = (values["mean"].to_numpy(dtype="float64") * (100.0 if binary else 1.0)).round(1)
    # the hidden groups must sum to no small number of records, nor (for a yes/no outcome)
    # of yeses or of noes, or the totals less the groups shown would give them away
    sums = [counts]
    if found is not None and binary:
        sums += [hits, [t - h for h, t in zip(hits, counts, strict=True)]]
    while True:
        before = hidden
        for each in sums:
            hidden = _secondary(each, hidden, threshold)
        if hidden == before:
            break
    table["records"] = [
        describe_count(c, threshold) if not h or is_small(c, threshold) else "not shown"
        for c, h in zip(counts, hidden, strict=True)
    ]
    if found is not None:
        label = f"{found.name} ({'%' if binary else 'mean'})"
        table[label] = [None if h else float(m) for m, h in zip(means, hidden, strict=True)]
    table["shown"] = [not h for h in hidden]
    return table


def _labels(column: pd.Series) -> pd.Series:
    """Return each row's group as text: whole numbers without ".0", blanks "not recorded"."""
    values = column
    if pd.api.types.is_float_dtype(values) and bool((values.dropna() % 1 == 0).all()):
        values = values.astype("Int64")
    return values.astype("string").fillna(NOT_RECORDED)


def _in_order(labels: pd.Index, column: pd.Series) -> list[str]:
    """Return the group labels in the column's own order (numbers as numbers), blanks last."""
    present = column.dropna()
    try:
        ordered = sorted(present.unique())
    except TypeError:  # mixed kinds: as text
        ordered = sorted(present.astype(str).unique())
    first = list(dict.fromkeys(_labels(pd.Series(ordered, dtype=column.dtype))))
    return [x for x in first if x in labels] + [x for x in labels if x not in first]


def _secondary(n: list[float], hidden: list[bool], threshold: int) -> list[bool]:
    """Return ``hidden`` with the smallest shown groups added while the hidden ones sum small."""
    hidden = list(hidden)
    while any(hidden) and not all(hidden):
        if not is_small(sum(c for c, h in zip(n, hidden, strict=True) if h), threshold):
            break
        shown = [i for i, h in enumerate(hidden) if not h]
        hidden[min(shown, key=lambda i: n[i])] = True
    return hidden


def subgroup_markdown(analysis: Analysis, by: str, outcome: str | None = None) -> str:
    """Return ``subgroup_means`` as a Markdown table, labels as plain text, with a note."""
    table = subgroup_means(analysis, by, outcome)
    columns = [c for c in table.columns if c != "shown"]
    lines = [
        "| " + " | ".join(plain(str(c)) for c in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in table.to_dict("records"):
        cells = []
        for column in columns:
            value = row[column]
            if value is None or (isinstance(value, float) and value != value):
                cells.append("not shown")
            elif isinstance(value, float):
                cells.append(f"{value:,.1f}")
            else:
                cells.append(plain(str(value)))
        lines.append("| " + " | ".join(cells) + " |")
    threshold = analysis.card.min_cell_count
    if not table["shown"].all():
        lines += [
            "",
            f"Groups of fewer than {threshold} records are not shown, and neither is the "
            "next smallest group when the others' total would give a hidden one away.",
        ]
    return "\n".join(lines)
