"""The plan in plain words: what each outcome's pilot can detect, and the test it is planned for."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from evalkit.estimate._power_layout import MAX_PLANNED_CLUSTERS
from evalkit.estimate.wording import format_number, in_sentence

if TYPE_CHECKING:
    from evalkit.estimate.power import Mde


def cluster_test(clusters: int, pilot_clusters: int | None, alpha: float) -> tuple[int | None, str]:
    """Return the ways to choose the pilot's clusters (when randomisation decides) and words."""
    if pilot_clusters is not None:
        fewest = min(pilot_clusters, clusters - pilot_clusters)
        if fewest <= 2:
            ways = math.comb(clusters, pilot_clusters)
            words = (
                f"With {pilot_clusters} of the {clusters} clusters in the pilot, evalkit tests "
                f"by randomisation over clusters: {ways:,} ways to choose them"
            )
            if ways < 1 / alpha:
                words += (
                    f", so even the largest change could arise by chance 1 time in {ways} "
                    f"and none can be shown at {percent(alpha)} significance"
                )
            return ways, words
    if clusters < 30 or (
        pilot_clusters is not None and min(pilot_clusters, clusters - pilot_clusters) < 10
    ):
        return None, (
            "With so few clusters evalkit tests by a wild cluster bootstrap; planned here as "
            "a t test on the clusters, whose power is close to it"
        )
    return None, "Tested with cluster-robust errors, as evalkit does with many clusters"


def percent(share: float) -> str:
    """Return a share as a percentage, to one decimal at most: "5%", "2.5%"."""
    return f"{100 * share:.1f}".rstrip("0").rstrip(".") + "%"


def _too_few_places(mde: Mde, label: str) -> str:
    """Return why a synthetic comparison with too few places cannot show any change."""
    from evalkit.estimate._power_synthetic import comparisons_needed, placebo_count

    pilot, others = mde.n_pilot, mde.n_comparison or 0
    ways = placebo_count(pilot, others)
    turn = (
        f"each of the {others} comparison {mde.cluster_word} in turn as if it had been"
        if pilot == 1
        else f"each of {ways:,} ways of choosing {pilot} comparison {mde.cluster_word} as if "
        "they had been"
    )
    text = (
        f"With {mde.sample}, no change in {label} can be shown at {percent(mde.alpha)} "
        f"significance, however large. The pilot's gap is compared with the gap found by "
        f"treating {turn} the pilot, and with so few of them even the largest gap would "
        f"arise by chance 1 time in {ways + 1}."
    )
    needed = comparisons_needed(pilot, mde.alpha)
    if needed is None:
        return text + " No number of comparison places is enough at this significance."
    return text + (
        f" At least {needed} comparison {mde.cluster_word} ({needed + pilot} in all) are "
        f"needed, rather than {others}."
    )


def describe_mde(mde: Mde) -> str:
    """Return what one outcome's pilot can detect, and whether that covers the hoped change."""
    label = in_sentence(mde.label)
    unit = f" {mde.unit}" if mde.unit else ""
    change = f"a change in {label} of about {format_number(mde.mde)}{unit} or more"
    if mde.outcome_type == "binary":
        change = change.replace("a change", "a fall" if mde.better == "lower" else "a rise")
    if mde.rate_ratio is not None and mde.baseline is not None:
        fall = mde.better == "lower"
        share = (1 - 1 / mde.rate_ratio) if fall else (mde.rate_ratio - 1)
        change = (
            f"a {'fall' if fall else 'rise'} in {label} of about "
            f"{format_number(100 * share)}% or more, about {format_number(mde.mde)}{unit} "
            f"from an average of {format_number(mde.baseline)}"
        )
    text = (
        f"With {mde.sample}, this pilot can expect to detect {change} "
        f"({percent(mde.power)} power, {percent(mde.alpha)} significance)."
    )
    if not math.isfinite(mde.mde):
        text = (
            f"With {mde.sample}, this pilot is too small to expect to detect even the largest "
            f"possible change in {label} ({percent(mde.power)} power, "
            f"{percent(mde.alpha)} significance)."
        )
    never = mde.design == "synthetic" and not math.isfinite(mde.mde)
    if never:
        text = _too_few_places(mde, label)
    if mde.hoped_change is not None and never:
        text += (
            f" The team hopes for {format_number(abs(mde.hoped_change))}{unit}, but with this "
            f"many {mde.cluster_word} no change of any size can be shown."
        )
    elif mde.hoped_change is not None:
        chance = mde.power_to_detect(mde.hoped_change)
        hoped = f"The team hopes for {format_number(abs(mde.hoped_change))}{unit}"
        if chance >= mde.power - 1e-9:
            text += f" {hoped}: the pilot is big enough."
        elif chance >= 0.5:
            text += (
                f" {hoped}: the pilot is a little small for that: a real change of that size "
                f"would be picked up about {percent(round(chance, 2))} of the time, short of "
                f"the {percent(mde.power)} planned for."
            )
        else:
            text += (
                f" {hoped}: the pilot is probably too small to detect it: a real change of "
                "that size would be missed more often than not."
            )
    if mde.design == "synthetic":
        if not never and mde.detectable() is False:
            text += (
                f" More comparison {mde.cluster_word} that moved as the pilot did, or a longer "
                "run of periods before and after the change, would make the smallest "
                "detectable change smaller."
            )
    elif mde.clusters_needed is not None:
        text += (
            f" To expect to detect it, about {mde.clusters_needed} clusters would be needed "
            f"rather than {mde.clusters}, each as large as now and split between pilot and "
            "comparison the same way."
        )
    elif mde.clusters is not None and mde.detectable() is False:
        text += (
            f" Even {MAX_PLANNED_CLUSTERS} clusters like these would not be enough: the "
            "change hoped for is small beside how much clusters differ."
        )
    if mde.assumptions:
        text += (
            " How this was worked out: "
            + "; ".join(in_sentence(note) for note in mde.assumptions)
            + "."
        )
    return text
