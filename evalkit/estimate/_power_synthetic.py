"""Planning a synthetic comparison: how large a change the fit before the change can detect.

A synthetic comparison (:mod:`evalkit.estimate.synthetic`) is tested by
placebos in space: each comparison place in turn is treated as if it had been
the pilot, and the pilot's gap is called a change when it is more extreme than
all but ``alpha`` of theirs. Planning rehearses that test on the periods before
the change alone: the last ``k`` of them are treated as if they came after it
(``k`` the periods after the change in the data, at most a third of those
before and at least one), and every place (the pilot and each comparison place)
in turn is estimated as a placebo pilot from the others. None of them had a
change there, so their estimates show how large a gap arises by chance:

- the critical value ``q`` is the half-width of the interval the placebo test
  would give (:func:`evalkit.estimate.synthetic.half_width`), infinite when
  there are too few places for any gap to be rare enough (fewer than 19
  comparison places for one pilot place at 5%);
- ``sigma`` is their standard deviation (synthdid's placebo standard error).

The pilot's estimate is taken to be normal around the true change with sd
``sigma``, so a change ``d`` is found with chance ``Phi((|d| - q) / sigma)`` and
the MDE at power ``1 - beta`` is ``q + z(1 - beta) sigma``: a normal
approximation to the power of the permutation test. In :class:`Mde` terms
``se = sigma``, ``critical = q / sigma`` and ``df = inf``, so the generic
``Phi(distance / se - critical)`` is exactly that.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.card import Outcome, PilotCard
from evalkit.contract import as_key, post_mask
from evalkit.errors import EstimationError
from evalkit.estimate import _sdid
from evalkit.estimate._common import outcome_rows
from evalkit.estimate._power_words import percent
from evalkit.estimate._synthetic_places import Places, read_places, unit_of
from evalkit.estimate.power import Mde
from evalkit.estimate.synthetic import MOST_PLACEBOS, SEED, half_width, placebo_assignments
from evalkit.estimate.wording import format_number

#: Fewer periods before the change than this and there is nothing to rehearse the test on.
MIN_PRE_PERIODS = 4


def placebo_count(n_pilot: int, n_comparison: int) -> int:
    """Return how many placebos the real test compares the pilot with (as fit_places does)."""
    return min(math.comb(n_comparison, n_pilot), MOST_PLACEBOS)


def can_reject(n_pilot: int, n_comparison: int, alpha: float) -> bool:
    """Return whether the placebo test can call any gap a change at ``alpha`` at all."""
    return int(np.floor(alpha * (placebo_count(n_pilot, n_comparison) + 1) + 1e-12)) > 0


def comparisons_needed(n_pilot: int, alpha: float) -> int | None:
    """Return the fewest comparison places with which the test can show a change (None: none)."""
    if not can_reject(n_pilot, n_pilot + MOST_PLACEBOS, alpha):
        return None  # even the most placebos tried are too few at this alpha
    needed = n_pilot + 1
    while not can_reject(n_pilot, needed, alpha):
        needed += 1
    return needed


def plan_synthetic(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> Mde:
    """Return one outcome's MDE for a synthetic comparison, rehearsing its placebo test on the
    periods before the change; EstimationError when there are too few of them."""
    places, after_seen = _read(card, frame, outcome)
    pre = places.pre if after_seen else places.Y.shape[1]
    post = places.Y.shape[1] - pre
    if pre < MIN_PRE_PERIODS:
        raise EstimationError(
            f"'{outcome.column}' has only {pre} period(s) before the change: planning a "
            f"synthetic comparison needs at least {MIN_PRE_PERIODS}, to rehearse the test on "
            "the last of them",
            path=card.card_path,
            where="data.time.start",
            hint="add earlier periods of every place to the data (8 or more are advised)",
        )
    k = max(1, min(post, pre // 3))
    everyone = np.sort(np.concatenate([places.pilot, places.donors]))
    chosen = _placebo_pilots(everyone, places.pilot.size)
    window = places.Y[:, :pre]
    problems = [
        _sdid.problem(window, "sdid", treated, np.setdiff1d(everyone, treated), pre - k, pre)
        for treated in chosen
    ]
    tau = _sdid.solve(window, problems).tau
    alpha, power = card.plan.alpha, card.plan.power
    n_pilot, n_comparison = int(places.pilot.size), int(places.donors.size)
    q = half_width(tau, alpha) if can_reject(n_pilot, n_comparison, alpha) else math.inf
    sigma = _sdid.placebo_se(tau)
    if not sigma > 0:
        raise EstimationError(
            f"'{outcome.column}' does not vary between places before the change: there is "
            "no spread to plan on",
            path=card.card_path,
            where="outcomes",
            hint="check the outcome's figures in the periods before the change",
        )
    factor = 100.0 if outcome.type == "binary" else 1.0
    z = float(stats.norm.ppf(power))
    size = (q + z * sigma) * factor
    unit = unit_of(card, outcome)
    said = _assumptions(places, pre, post, k, len(chosen), q * factor, sigma * factor, unit, power)
    spread = float(np.std(window[everyone], ddof=1)) * factor
    return Mde(
        outcome=outcome.measure_id,
        design="synthetic",
        mde=size,
        mde_standardised=size / spread if spread > 0 else math.nan,
        n=places.records,
        assumptions=(*said, *_left_out(places)),
        label=outcome.name,
        outcome_type=outcome.type,
        unit=unit,
        sample=_sample(places, pre, post),
        n_pilot=n_pilot,
        n_comparison=n_comparison,
        power=power,
        alpha=alpha,
        multiplier=q / sigma + z,
        se=sigma,
        df=math.inf,
        better=outcome.better,
        hoped_change=outcome.hoped_change,
        critical=q / sigma,
        clusters=int(everyone.size),
        cluster_word=places.word,
    )


def _read(card: PilotCard, frame: pd.DataFrame, outcome: Outcome) -> tuple[Places, bool]:
    """Return the places by periods and whether any period after the change is in the data.

    With none yet, the last period is read as if the change began then (so that
    read_places accepts the data); every period is before the change.
    """
    time = card.data.time
    rows = outcome_rows(frame, outcome)
    if time is None or time.start is None or rows.empty or post_mask(card, rows).any():
        return read_places(card, frame, outcome), True
    last = as_key(rows[time.column].max())
    moved = card.model_copy(
        update={
            "data": card.data.model_copy(update={"time": time.model_copy(update={"start": last})})
        }
    )
    return read_places(moved, frame, outcome), False


def _placebo_pilots(everyone: np.ndarray, n_pilot: int) -> list[np.ndarray]:
    """Return who plays the pilot in each rehearsal: every place in turn (with several pilot
    places, each way of choosing as many, or seeded draws when there are too many ways)."""
    chosen, _ = placebo_assignments(everyone.size, n_pilot, np.random.default_rng(SEED))
    return [everyone[c] for c in chosen]


def _sample(places: Places, pre: int, post: int) -> str:
    pilot = "the pilot" if places.pilot.size == 1 else f"{places.pilot.size} pilot {places.word}"
    after = f" and {post} after" if post else ", none after it yet"
    return (
        f"{pilot} and {places.donors.size} comparison {places.word}, {pre} periods before "
        f"the change{after}"
    )


def _left_out(places: Places) -> list[str]:
    """Return read_places' notes of places left out, as clauses that do not start with a
    name (the words lower a clause's first letter) and end without a full stop."""
    return [f"As in the estimate, {note.rstrip('.')}" for note in places.notes]


def _assumptions(
    places: Places,
    pre: int,
    post: int,
    k: int,
    rehearsals: int,
    q: float,
    sigma: float,
    unit: str,
    power: float,
) -> list[str]:
    """Return how the MDE was worked out, in plain words (q and sigma in the outcome's units)."""
    unit = f" {unit}" if unit else ""
    word, total = places.word, places.pilot.size + places.donors.size
    who = (
        f"treating each of the {total} {word} in turn as if it had been the pilot"
        if places.pilot.size == 1
        else f"treating {rehearsals}"
        + (" ways" if rehearsals == math.comb(total, places.pilot.size) else " random draws")
        + f" of {places.pilot.size} of the {total} {word} as if they had been the pilot"
    )
    said = [
        f"From the {pre} periods before the change, {who}: each compared with a synthetic "
        f"comparison made from the others, as if the change had come {k} period"
        f"{'s' if k != 1 else ''} before the real one, where there was none"
    ]
    if math.isfinite(q):
        said.append(
            f"Gaps like theirs arise by chance: a gap beyond {format_number(q)}{unit} is "
            f"what the placebo test calls a change, and such gaps vary with sd "
            f"{format_number(sigma)}{unit}"
        )
    else:
        return [*said, f"Gaps like theirs arise by chance, with sd {format_number(sigma)}{unit}"]
    said.append(
        "Power by a normal approximation to the placebo test's: the pilot's estimate taken "
        f"as normal around the true change with that sd, so the smallest change found "
        f"{percent(power)} of the time is the critical gap plus {stats.norm.ppf(power):.2f} sds"
    )
    if post > k:
        said.append(
            f"The real estimate will average {post} periods after the change rather than "
            f"{k}: more periods average out noise but give the places longer to drift apart, "
            "so its spread may be smaller or larger than this"
        )
    elif post == 0:
        said.append("No periods after the change in the data yet: one is planned for")
    return said
