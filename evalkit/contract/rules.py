"""The card's expectations as column rules, and the rules as a pandera schema.

What the card expects (roles the design needs, each outcome's type and range,
the pilot's local columns) becomes a list of :class:`Rule`; the rules become a
pandera schema for the parsed data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandera.pandas as pa

from evalkit.card import PilotCard
from evalkit.contract.parse import as_key

_ROLE_TYPES = {
    "group": "str",
    "period": "str",
    "unit": "str",
    "cluster": "str",
    "time": "time",
    "start time": "time",
    "population": "float",
}


@dataclass(frozen=True)
class Rule:
    """What one column must hold, and why (the roles it plays in the card)."""

    column: str
    type: str
    roles: tuple[str, ...]
    required: bool = False
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None

    @property
    def reads_as(self) -> str:
        """Return how the column's cells are read: a binary outcome also takes yes/no words."""
        if self.type == "float" and self.allowed == ("0", "1") and "outcome" in self.roles:
            return "binary"
        return self.type


def rules_for(card: PilotCard) -> tuple[Rule, ...]:
    """Return the column rules the card implies, one a column."""
    spec = card.data
    found: dict[str, dict[str, Any]] = {}

    def add(column: str, role: str, **what: Any) -> None:
        entry = found.setdefault(column, {"type": None, "roles": [], "required": False})
        entry["roles"].append(role)
        keeps = role in {"time", "start time"} and entry["type"] in {"date", "int", "float"}
        if role in _ROLE_TYPES and not keeps:
            entry["type"] = _ROLE_TYPES[role]  # a role's reading wins over a local declaration
        for key, value in what.items():
            if key == "required":
                entry["required"] = entry["required"] or value
            elif value is not None and entry.get(key) is None:
                entry[key] = value

    # local columns first: the pilot's own declaration of type and range wins
    for name, local in spec.columns.items():
        allowed = tuple(as_key(v) for v in local.allowed) if local.allowed is not None else None
        add(
            name,
            "local column",
            type=local.type,
            required=local.required,
            min=local.min,
            max=local.max,
            allowed=allowed,
        )
    if spec.group:
        allowed = None
        if spec.group.comparison_values is not None:
            allowed = tuple(
                as_key(v) for v in (*spec.group.pilot_values, *spec.group.comparison_values)
            )
        add(spec.group.column, "group", type="str", required=True, allowed=allowed)
    if spec.period:
        allowed = None
        if spec.period.pre is not None:
            allowed = (as_key(spec.period.post), as_key(spec.period.pre))
        add(spec.period.column, "period", type="str", required=True, allowed=allowed)
    if spec.time:
        add(spec.time.column, "time", type="time", required=True)
        if spec.time.start_column:
            # blank for units never in the pilot
            add(spec.time.start_column, "start time", type="time", required=False)
    if spec.unit:
        add(spec.unit, "unit", type="str", required=True)
    if spec.cluster:
        add(spec.cluster, "cluster", type="str", required=True)
    if spec.population:
        # a rate per 1,000 of nobody is no figure: a population is at least 1
        add(spec.population, "population", type="float", required=True, min=1)
    for covariate in spec.covariates:
        add(covariate, "covariate", type="float", required=True)
    for outcome in card.outcomes:
        if outcome.type == "binary":
            add(outcome.column, "outcome", type="float", allowed=("0", "1"))
        elif outcome.type == "count":
            add(
                outcome.column,
                "outcome",
                type="int",
                min=0 if outcome.min is None else outcome.min,
                max=outcome.max,
            )
        else:
            add(outcome.column, "outcome", type="float", min=outcome.min, max=outcome.max)
    return tuple(
        Rule(
            column=name,
            type=entry["type"] or "str",
            roles=tuple(entry["roles"]),
            required=entry["required"],
            min=entry.get("min"),
            max=entry.get("max"),
            allowed=entry.get("allowed"),
        )
        for name, entry in found.items()
    )


def build_schema(rules: Iterable[Rule]) -> pa.DataFrameSchema:
    """Return the pandera schema for parsed data: required values, ranges, allowed values."""
    columns: dict[str, pa.Column] = {}
    for rule in rules:
        checks = []
        if rule.min is not None:
            checks.append(pa.Check.ge(rule.min, error=f"must be at least {_num(rule.min)}"))
        if rule.max is not None:
            checks.append(pa.Check.le(rule.max, error=f"must be at most {_num(rule.max)}"))
        if rule.allowed is not None:
            if rule.type in {"float", "int"}:
                allowed_numbers = [float(v) for v in rule.allowed]
                checks.append(
                    pa.Check.isin(
                        allowed_numbers, error=f"must be one of {', '.join(rule.allowed)}"
                    )
                )
            else:
                checks.append(
                    pa.Check.isin(
                        list(rule.allowed), error=f"must be one of {', '.join(rule.allowed)}"
                    )
                )
        columns[rule.column] = pa.Column(
            checks=checks, nullable=not rule.required, required=True, name=rule.column
        )
    return pa.DataFrameSchema(columns, strict=False, coerce=False, name="pilot data")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
