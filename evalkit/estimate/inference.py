"""How sure an estimate can honestly be: inference chosen from the data's structure.

Local pilots run in a handful of wards, often with one or two of them in the
pilot. Cluster-robust (CRV1) intervals assume many clusters and are far too
narrow there, so evalkit looks at the structure of the data, not at the
user's wishes, and chooses (issue #13):

- **one or two clusters in the pilot (or in the comparison)**, treatment given
  to whole clusters: randomisation inference over the clusters, each other
  set of the same size taken in turn as if it were the pilot
  (placebo-in-space; MacKinnon and Webb 2020, see :mod:`._placebo`). Its
  p-value can be no smaller than 1 / (number of sets); with fewer than 20 sets
  no 95% interval can exclude anything, and the words say so instead of
  giving a number;
- **fewer than 30 clusters, or fewer than 10 in the pilot or the comparison**:
  the restricted wild cluster bootstrap (WCR; Rademacher weights, every sign
  pattern when there are no more than the draws, else Webb weights below 12
  clusters; see :mod:`._wild`), with the CR2 Bell-McCaffrey interval kept
  beside it as a cross-check. Odds and rate ratios get the matching wild
  score bootstrap (:mod:`._score_boot`);
- otherwise the cluster-robust t interval with G - 1 degrees of freedom.

Clusters are the card's ``cluster`` or, when units repeat, the unit. How
many clusters a finding rests on is stated when they are places (wards,
schools, councils); when the cluster column's name says it holds people
(``person_id``, ``family``, ``case_ref``: see :func:`names_people`), a
number below ``min_cell_count`` is given as "fewer than N".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from evalkit.estimate._ols import Coefficient
from evalkit.estimate._placebo import placebo_inference
from evalkit.estimate._wild import bell_mccaffrey, wild_cluster_bootstrap
from evalkit.quality.disclosure import describe_count

#: Fewer clusters than this, or fewer than FEW_SIDE on either side: the wild cluster bootstrap.
FEW_CLUSTERS = 30
FEW_SIDE = 10
#: This many clusters or fewer in the pilot (or the comparison): randomisation inference.
FEW_TREATED = 2
#: Bootstrap draws for the wild cluster bootstrap (all weight vectors when fewer exist).
DRAWS = 9999
#: Fixed, so that a report is reproducible run after run.
SEED = 20261201

Method = Literal["cluster-robust", "wild bootstrap", "randomisation"]

_PEOPLE = re.compile(
    r"person|people|client|famil|household|case|patient|pupil|child|resident|participant|"
    r"tenant|user|member|adult|respondent|referral|customer|learner|student",
    re.IGNORECASE,
)


def names_people(column: str) -> bool:
    """Return True when a column's name says each value is a person or a case, not a place."""
    return bool(_PEOPLE.search(column))


@dataclass(frozen=True)
class Structure:
    """How many clusters an estimate rests on, and how many are in the pilot."""

    clusters: int
    treated: int | None  # clusters in the pilot; None when the pilot varies within clusters
    untreated: int | None
    word: str  # what a cluster is called ("ward")
    stated: bool  # whether small numbers of clusters may be stated exactly
    min_count: int

    @property
    def method(self) -> Method:
        """Return the inference this structure calls for."""
        if self.treated is not None and self.untreated is not None:
            if min(self.treated, self.untreated) <= FEW_TREATED:
                return "randomisation"
            if min(self.treated, self.untreated) < FEW_SIDE:
                return "wild bootstrap"
        return "wild bootstrap" if self.clusters < FEW_CLUSTERS else "cluster-robust"

    def count(self, number: int) -> str:
        """Return a number of clusters as it may be published."""
        if self.stated:
            return str(number)
        return describe_count(number, self.min_count)

    def phrase(self) -> str:
        """Return "only 6 wards, 3 in the pilot" (the structure in words)."""
        plural = plural_of(self.word)
        text = f"only {self.count(self.clusters)} {plural}"
        if not self.stated and self.clusters < self.min_count:
            text = f"{self.count(self.clusters)} {plural}"  # "fewer than 10 family ids"
        if self.treated is not None:
            text += f", {self.count(self.treated)} in the pilot"
        return text


@dataclass(frozen=True)
class Honest:
    """An estimate's interval and p-value from the inference its structure calls for."""

    coefficient: Coefficient
    method: Method
    words: str  # for the finding's method
    note: str  # for the report, in plain words
    record: dict[str, Any]  # results.json's ``inference``


def read_structure(
    groups: np.ndarray,
    pilot: np.ndarray | None,
    *,
    word: str,
    stated: bool,
    min_count: int,
) -> Structure:
    """Return the clusters behind an estimate, and how many of them are wholly in the pilot."""
    codes = pd.factorize(groups)[0]
    clusters = int(codes.max()) + 1
    treated = untreated = None
    if pilot is not None:
        in_pilot = np.bincount(codes, weights=pilot.astype("float64"), minlength=clusters)
        share = in_pilot / np.bincount(codes, minlength=clusters)
        if np.all((share == 0) | (share == 1)):
            treated = int((share == 1).sum())
            untreated = clusters - treated
    return Structure(clusters, treated, untreated, word, stated, min_count)


def honest_interval(
    usual: Coefficient,
    y: np.ndarray,
    X: np.ndarray,
    column: int,
    groups: np.ndarray,
    structure: Structure,
    *,
    pilot: np.ndarray | None = None,
    pilot_columns: np.ndarray | None = None,
) -> Honest | None:
    """Return the estimate with the inference its structure calls for; None if the usual will do.

    ``pilot`` marks the rows in the pilot and ``pilot_columns`` how each
    regressor depends on it (X = base + pilot x pilot_columns), so that a
    placebo pilot's regressors can be built; without them randomisation
    inference cannot be run and the wild bootstrap is used.
    """
    method = structure.method
    if method == "cluster-robust":
        return None
    if method == "randomisation" and pilot is not None and pilot_columns is not None:
        try:
            return _randomisation(usual, y, X, column, groups, structure, pilot, pilot_columns)
        except ValueError:
            # a placebo pilot the design cannot be estimated for (a place seen only after
            # the change, say): the wild bootstrap, which needs no placebo pilots, decides
            pass
    return _wild(usual, y, X, column, groups, structure)


def _wild(
    usual: Coefficient,
    y: np.ndarray,
    X: np.ndarray,
    column: int,
    groups: np.ndarray,
    structure: Structure,
) -> Honest:
    boot = wild_cluster_bootstrap(y, X, column, groups, draws=DRAWS, seed=SEED)
    check = bell_mccaffrey(y, X, column, groups)
    coefficient = replace(usual, ci_low=boot.ci_low, ci_high=boot.ci_high, p_value=boot.p_value)
    draws = f"all {boot.draws:,} sign patterns" if boot.enumerated else f"{boot.draws:,} draws"
    if boot.enumerated and not structure.stated:
        draws = "every sign pattern"  # 2^G would give the number of clusters away
    words = (
        f"restricted wild cluster bootstrap by {structure.word} ({structure.count(boot.clusters)} "
        f"clusters, {boot.weights} weights, {draws}; Roodman et al. 2019)"
    )
    plural = plural_of(structure.word)
    note = (
        f"This result rests on {structure.phrase()}. Results vary from {structure.word} to "
        f"{structure.word} by chance, and with so few, ordinary intervals are too narrow; so "
        f"the range and p-value come from a method that reshuffles the results "
        f"{structure.word} by {structure.word} (a wild cluster bootstrap), which allows for "
        "that."
    )
    if structure.treated is not None and min(structure.treated, structure.untreated or 0) < 4:
        note += (
            f" With so few {plural} in the pilot any honest interval is cautious: it may be "
            "wider than the real uncertainty."
        )
    if boot.unbounded:
        note += (
            f" The interval has no end: {plural} differ so much that these data cannot rule "
            "out a change of any size."
        )
    short = (
        f"These results rest on {structure.phrase()}. Results vary from {structure.word} to "
        f"{structure.word} by chance, so the ranges shown are wider to allow for that."
    )
    record = few_cluster_record(
        structure, "wild cluster bootstrap (restricted)", note, short, usual
    ) | {
        "weights": boot.weights,
        "draws": boot.draws if structure.stated or not boot.enumerated else None,
        "enumerated": boot.enumerated,
        "seed": SEED,
        "unbounded": boot.unbounded,
        "cr2_bell_mccaffrey": {
            "ci_low": check.ci_low,
            "ci_high": check.ci_high,
            "p_value": check.p_value,
            "df": check.df,
        },
    }
    return Honest(coefficient, "wild bootstrap", words, note, record)


def _randomisation(
    usual: Coefficient,
    y: np.ndarray,
    X: np.ndarray,
    column: int,
    groups: np.ndarray,
    structure: Structure,
    pilot: np.ndarray,
    pilot_columns: np.ndarray,
) -> Honest:
    base = X - pilot[:, None] * pilot_columns
    in_pilot = pd.unique(groups[pilot])
    flipped = structure.treated is not None and structure.treated > (structure.untreated or 0)
    if flipped:
        # one or two comparison places: the same test, choosing the comparison instead
        in_pilot = pd.unique(groups[~pilot])

    def design(mask: np.ndarray) -> np.ndarray:
        chosen = ~mask if flipped else mask
        regressors: np.ndarray = base + chosen[:, None] * pilot_columns
        return regressors

    test = placebo_inference(y, design, column, groups, list(in_pilot), seed=SEED)
    plural = plural_of(structure.word)
    # how many sets there are, C(G, k), would give the number of clusters away
    sets = f"{test.assignments:,}"
    low = test.ci_low if test.ci_low is not None else -math.inf
    high = test.ci_high if test.ci_high is not None else math.inf
    coefficient = replace(usual, ci_low=low, ci_high=high, p_value=test.p_value)
    sampled = "" if test.enumerated else ", a seeded sample"
    counted = f", {sets} sets" if structure.stated else ""
    words = (
        f"randomisation inference over {structure.word} (placebo-in-space: each other set of "
        f"{structure.word} taken as the pilot{counted}{sampled}; MacKinnon and Webb 2020)"
    )
    side = "comparison" if flipped else "pilot"
    choices = f" ({sets} choices)" if structure.stated else ""
    note = (
        f"This result rests on {structure.phrase()}. Ordinary intervals cannot be trusted "
        f"with so few in the {side}, so every other choice of {plural} was taken in turn as "
        f"if it had been the {side}{choices}, and the {side}'s difference compared with theirs."
    )
    if test.ci_low is not None and test.ci_high is not None and test.treated == 2:
        few = "two" if structure.stated else "so few"
        note += (
            f" With only {few} {plural} in the {side} the interval is cautious: it may be "
            "wider than the real uncertainty."
        )
    if test.ci_low is None or test.ci_high is None:
        note += (
            f" With so few choices, even the largest difference would arise by chance "
            f"more than 1 time in 20, so these data cannot show a change with 95% confidence, "
            f"whatever its size. What they can show is the direction and size of the "
            f"difference, and how it compares with each other {structure.word}'s."
        )
    short = (
        f"These results rest on {structure.phrase()}: each other choice of {plural} was "
        "tried as if it were the pilot, to see how often chance gives a difference this size."
    )
    if test.ci_low is None or test.ci_high is None:
        short = (
            f"These results rest on {structure.phrase()}: too few for any 95% interval, so "
            "they cannot show whether the pilot made a difference."
        )
    method = "randomisation inference (placebo-in-space)"
    record = few_cluster_record(structure, method, note, short, usual) | {
        "assignments": test.assignments if structure.stated else None,
        "enumerated": test.enumerated,
        "smallest_p": test.smallest_p if structure.stated else None,
        "unbounded": test.ci_low is None or test.ci_high is None,
    }
    return Honest(coefficient, "randomisation", words, note, record)


def few_cluster_record(
    structure: Structure, method: str, note: str, short: str, usual: Coefficient | None = None
) -> dict[str, Any]:
    """Return what every few-cluster finding records in results.json's ``inference``.

    ``usual`` is the cluster-robust result the method replaced, kept for comparison.
    """
    record: dict[str, Any] = {
        "note": note,
        "short": short,
        "method": method,
        "cluster_word": plural_of(structure.word),
        "clusters": structure.clusters if structure.stated else None,
        "treated_clusters": structure.treated if structure.stated else None,
    }
    if usual is not None:
        record["cluster_robust"] = _plain(usual)
    return record


def _plain(coefficient: Coefficient) -> dict[str, float]:
    return {
        "ci_low": coefficient.ci_low,
        "ci_high": coefficient.ci_high,
        "p_value": coefficient.p_value,
    }


def plural_of(word: str) -> str:
    """Return what several of a cluster column's values are called: ward -> wards."""
    word = word.replace("_", " ")
    return word if word.endswith("s") else f"{word}s"
