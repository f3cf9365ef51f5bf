"""Honest intervals for an outcome resting on few events or few clusters.

Score intervals and exact tests for yes/no outcomes with few events; the wild
score bootstrap for ratios resting on few clusters.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import stats

from evalkit.card import Outcome, PilotCard
from evalkit.estimate._models import Model, Ratio
from evalkit.estimate._ols import Coefficient
from evalkit.estimate._proportions import (
    TwoProportions,
    compare_paired_proportions,
    compare_proportions,
)
from evalkit.estimate._ratios import (
    glm_words,
)
from evalkit.estimate._score_boot import Family, score_bootstrap
from evalkit.estimate.evidence import FEW_EVENTS
from evalkit.estimate.inference import DRAWS, SEED, Honest, honest_interval, read_structure


def few_events_note(card: PilotCard) -> str:
    # never a number below the pilot's own threshold beside "people"
    fewer = max(FEW_EVENTS, card.min_cell_count)
    return f"A group had fewer than {fewer} people with (or without) this outcome,"


def exact_p(table: tuple[int, int, int, int], paired: bool) -> float:
    """Return the exact p-value of "no difference": Fisher's, or the binomial one when paired."""
    if paired:
        _, after_only, before_only, _ = table
        discordant = after_only + before_only
        return float(stats.binomtest(after_only, discordant).pvalue) if discordant else 1.0
    events_1, n_1, events_2, n_2 = table
    two_by_two = [[events_1, n_1 - events_1], [events_2, n_2 - events_2]]
    return float(stats.fisher_exact(two_by_two).pvalue)


def on_scale(record: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
    """Return the inference record with its comparison numbers on the finding's scale."""
    scale = {"binary": 100.0}.get(outcome.type, 1.0)
    if scale == 1.0 and outcome.type != "count":
        return record
    shown = dict(record)
    for key in ("cluster_robust", "cr2_bell_mccaffrey"):
        if key in shown:
            numbers = dict(shown[key])
            for end in ("ci_low", "ci_high"):
                numbers[end] = numbers[end] * scale
            shown[key] = numbers
    shown["scale"] = (
        "percentage points" if outcome.type == "binary" else "difference in mean counts"
    )
    return shown


def few_events(model: Model) -> bool:
    """Return True when a yes/no comparison has fewer than FEW_EVENTS events in a group."""
    if model.y.ndim != 1 or not np.isin(model.y, (0.0, 1.0)).all():
        return False
    indicator = model.X[:, model.column]
    if not np.isin(indicator, (0.0, 1.0)).all():
        return False
    for level in (0.0, 1.0):
        values = model.y[indicator == level]
        if values.size and min(values.sum(), values.size - values.sum()) < FEW_EVENTS:
            return True
    return False


def score_interval(table: tuple[int, int, int, int], paired: bool) -> TwoProportions:
    """Return the score interval for a two-group (or paired) table."""
    if paired:
        return compare_paired_proportions(*table)
    return compare_proportions(*table)


def score_bootstrapped(
    ratio: Ratio, model: Model, family: Family, honest: Honest
) -> tuple[Ratio, str]:
    """Return the ratio with the score bootstrap's p-value and interval, and words for them.

    Used when the clusters are too few for cluster-robust errors; a negative
    binomial fit is tested on its Poisson score, which its mean model shares.
    When the difference was judged by randomisation and no interval exists,
    the ratio has none either: the same places cannot bound one scale and
    not the other.
    """
    groups = model.errors.groups
    if groups is None:
        return ratio, glm_words(model.errors, None)
    if honest.record.get("unbounded") and honest.method == "randomisation":
        open_ratio = replace(
            ratio, ci_low=0.0, ci_high=math.inf, p_value=honest.coefficient.p_value
        )
        return open_ratio, f"{honest.words}; no interval for the ratio either"
    test = score_bootstrap(
        model.y,
        model.X,
        model.column,
        groups,
        family,
        estimate=ratio.log_estimate,
        se=ratio.log_se,
        draws=DRAWS,
        seed=SEED,
    )
    draws = f"all {test.draws:,} sign patterns" if test.enumerated else f"{test.draws:,} draws"
    if test.enumerated and not model.errors.stated:
        draws = "every sign pattern"  # 2^G would give the number of clusters away
    words = (
        f"wild score bootstrap by {model.errors.name or 'cluster'} (Kline and Santos 2012; "
        f"{test.weights} weights, {draws})"
    )
    bootstrapped = replace(
        ratio,
        ci_low=math.exp(test.log_low),
        ci_high=math.exp(test.log_high),
        p_value=test.p_value,
    )
    return bootstrapped, words


def honest_for(card: PilotCard, model: Model, usual: Coefficient) -> Honest | None:
    """Return the interval the clusters' structure calls for, or None if the usual one will do."""
    errors = model.errors
    if errors.cov != "cluster" or errors.groups is None:
        return None
    structure = read_structure(
        errors.groups,
        model.pilot,
        word=errors.name or "cluster",
        stated=errors.stated,
        min_count=card.min_cell_count,
    )
    return honest_interval(
        usual,
        model.y,
        model.X,
        model.column,
        errors.groups,
        structure,
        pilot=model.pilot,
        pilot_columns=model.pilot_columns,
    )
