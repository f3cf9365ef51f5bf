"""Checking one data file against its card: every failure collected, with its line.

Checking runs in two passes over the whole file and collects every failure
before deciding anything: parse (each cell read as the type its rule asks
for), then pandera (the parsed frame validated lazily against the schema).
Rows with any failure are set aside with their reasons; the raw file is never
written to.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from evalkit.card import PilotCard
from evalkit.contract._readings import cell_readings
from evalkit.contract._sniff import Reading
from evalkit.contract.parse import as_key, read_column
from evalkit.contract.read import Table, read_data
from evalkit.contract.rules import Rule, build_schema, rules_for
from evalkit.errors import DataError, Problem

_TYPE_WORDS = {
    "float": "a number",
    "int": "a whole number",
    "bool": "yes/no (Yes/No, Y/N, True/False or 1/0)",
    "binary": "yes/no (Yes/No, Y/N, True/False or 1/0)",
    "date": "a date (for example 2025-04-30 or 30/04/2025)",
    "str": "text",
    "time": "a number or a date",
}


@dataclass(frozen=True)
class Validation:
    """The outcome of checking one data file: valid rows, rejected rows, every failure."""

    card: PilotCard
    path: Path
    sha256: str
    rows_read: int
    valid: pd.DataFrame
    rejected: pd.DataFrame
    failures: pd.DataFrame
    rules: tuple[Rule, ...] = field(default=())
    #: what was recognised while reading (encoding, header row, Yes/No, £, ...), as sentences
    readings: tuple[Reading, ...] = field(default=())

    @property
    def rejected_share(self) -> float:
        """Return the share of rows read that failed a check (0 to 1)."""
        return len(self.rejected) / self.rows_read if self.rows_read else 0.0

    @property
    def too_many_rejected(self) -> bool:
        """Return True when more rows failed than the card allows (``data.max_rejected_share``).

        The one place this is decided: with too many, nothing is estimated.
        """
        return self.rejected_share > self.card.data.max_rejected_share

    def failure_summary(self) -> pd.DataFrame:
        """Return failures counted by column and rule, the commonest first."""
        if self.failures.empty:
            return pd.DataFrame(columns=["column", "rule", "rows", "example_line"])
        grouped = self.failures.groupby(["column", "rule"], sort=False)
        summary = grouped.agg(rows=("line", "size"), example_line=("line", "min")).reset_index()
        return summary.sort_values("rows", ascending=False, kind="stable").reset_index(drop=True)

    def raise_if_too_broken(self) -> None:
        """Raise DataError when more rows failed than the card allows."""
        if self.rows_read and not self.too_many_rejected:
            return
        limit = self.card.data.max_rejected_share
        problems = [
            Problem(
                f"{row.column} ({row.rows} rows, first at line {row.example_line})",
                str(row.rule),
            )
            for row in self.failure_summary().head(12).itertuples()
        ]
        if not self.rows_read:
            raise DataError(
                "the data file has a header but no rows",
                path=self.path,
                hint="add the pilot's records below the header line",
            )
        raise DataError(
            f"{len(self.rejected)} of {self.rows_read} rows ({self.rejected_share:.0%}) failed "
            f"their checks, more than the {limit:.0%} the card allows; nothing was estimated",
            path=self.path,
            problems=problems,
            hint="fix the rows listed in rejected_rows.csv, or raise data.max_rejected_share "
            "in pilot.yaml if these rows can safely be left out",
        )


def validate_data(card: PilotCard, path: Path | None = None, *, roles: bool = True) -> Validation:
    """Return the pilot's data checked against its card: valid rows, rejected rows, failures.

    With ``roles`` (the default) a DataError is raised when the valid rows
    cannot be split as the design needs (no comparison rows, say); pass False
    to check that later with :func:`check_roles`.
    """
    path = path or card.data_path
    spec = card.data
    rules = rules_for(card)
    table = read_data(
        path,
        sheet=spec.sheet,
        needed=[rule.column for rule in rules],
        header_row=spec.header_row,
        delimiter=spec.delimiter,
        encoding=spec.encoding,
    )
    raw, first_line, sha = table.frame, table.first_line, table.sha256
    _require_columns(table, rules, path, declared=spec.header_row is not None)

    parsed = pd.DataFrame(index=raw.index)
    failure_parts: list[pd.DataFrame] = []
    readings = list(table.readings)
    for rule in rules:
        kind = rule.reads_as
        column = read_column(raw[rule.column], kind, spec.decimal)
        parsed[rule.column] = column.values
        readings += cell_readings(rule.column, column.seen)
        bad = column.bad
        if bad.any():
            words = f"must be {_TYPE_WORDS[kind]}"
            comma_fix = (
                f'{words} (set data.decimal: "," in pilot.yaml if commas mark decimals)'
                if spec.decimal == "."
                else f'{words} (the card says commas mark decimals, data.decimal: ",", so a '
                "point only groups thousands: 88.5 is written 88,5)"
            )
            failure_parts.append(
                pd.DataFrame(
                    {
                        "index": raw.index[bad],
                        "column": rule.column,
                        "rule": np.where(column.comma[bad], comma_fix, words),
                        "value": raw[rule.column][bad].astype(str).to_numpy(),
                    }
                )
            )
    parse_failed = {(i, part["column"].iat[0]) for part in failure_parts for i in part["index"]}
    try:
        build_schema(rules).validate(parsed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["index"].notna()]
        for row in cases.itertuples(index=False):
            if (int(row.index), row.column) in parse_failed:
                continue  # already reported as unreadable; do not report it twice
            rule_text = "a value is required" if row.check == "not_nullable" else str(row.check)
            # show the cell as the file has it, not as it was parsed
            value = "" if row.check == "not_nullable" else as_key(raw.at[row.index, row.column])
            failure_parts.append(
                pd.DataFrame(
                    {
                        "index": [int(row.index)],
                        "column": row.column,
                        "rule": rule_text,
                        "value": value,
                    }
                )
            )

    for rule in rules:
        if rule.type == "str" and set(rule.roles) & {"group", "period", "unit", "cluster"}:
            # categories make the comparisons and groupings estimators do on them fast
            parsed[rule.column] = parsed[rule.column].astype("category")
    failures = _failures_frame(failure_parts, first_line)
    bad_index = pd.Index(failures["index"].unique()) if not failures.empty else pd.Index([])
    keep = ~raw.index.isin(bad_index)
    others = [c for c in raw.columns if c not in parsed.columns]
    valid = pd.concat([parsed.loc[keep], raw.loc[keep, others]], axis=1)[list(raw.columns)]
    valid = valid.reset_index(drop=True)
    rejected = _rejected_frame(raw, failures, first_line)
    validation = Validation(
        card=card,
        path=path,
        sha256=sha,
        rows_read=len(raw),
        valid=valid,
        rejected=rejected,
        failures=failures.drop(columns="index"),
        rules=rules,
        readings=tuple(readings),
    )
    if roles and not validation.too_many_rejected:
        check_roles(validation)  # too many failures is the first thing to report
    return validation


def check_roles(validation: Validation) -> None:
    """Raise DataError when a design role cannot be told apart in the valid rows."""
    card, frame = validation.card, validation.valid
    problems: list[Problem] = []
    roles: list[tuple[str, tuple[Any, ...], tuple[Any, ...] | None, str, str]] = []
    group, period = card.data.group, card.data.period
    if group is not None:
        # a place column needs no comparison value: every other place is compared
        by_place = group.column in (card.data.unit, card.data.cluster)
        others = group.comparison_values or (None if not by_place else ())
        roles.append((group.column, group.pilot_values, others, "pilot", "comparison"))
    if period is not None:
        pre = (period.pre,) if period.pre is not None else None
        roles.append((period.column, (period.post,), pre, "post", "pre"))
    for column, named, declared_other, key_value, other in roles:
        if frame.empty:
            continue
        values = sorted(str(v) for v in frame[column].dropna().unique())
        wanted = [as_key(v) for v in named]
        absent = [w for w in wanted if w not in values]
        if absent:
            near = difflib.get_close_matches(absent[0], values, n=1, cutoff=0.5)
            problems.append(
                Problem(
                    f"column '{column}'",
                    f"no row has the value '{absent[0]}' named by {key_value}; values found: "
                    f"{', '.join(values[:10])}",
                    (
                        f"set {key_value}: {near[0]!r} in pilot.yaml"
                        if near and len(wanted) == 1
                        else f"write {near[0]!r} in the {key_value} list in pilot.yaml"
                        if near
                        else ""
                    ),
                )
            )
        elif declared_other is None and len(values) > len(wanted) + 1:
            problems.append(
                Problem(
                    f"column '{column}'",
                    f"has {len(values)} different values ({', '.join(values[:10])}), so it is "
                    f"unclear which rows are '{other}'",
                    f"name the other value(s) with `{other}:` under data in pilot.yaml",
                )
            )
        elif len(values) <= len(wanted):
            problems.append(
                Problem(
                    f"column '{column}'",
                    f"every valid row has a value named by {key_value}; there are no "
                    f"'{other}' rows",
                    "the design needs both; check the export or the card's design",
                )
            )
    if problems:
        raise DataError(
            "the data cannot be split the way the card's design needs",
            path=validation.path,
            problems=problems,
        )


def _require_columns(table: Table, rules: Iterable[Rule], path: Path, declared: bool) -> None:
    present = list(table.frame.columns)
    problems = []
    for rule in rules:
        if rule.column in present:
            continue
        near = difflib.get_close_matches(rule.column, present, n=1, cutoff=0.6)
        problems.append(
            Problem(
                f"column '{rule.column}' ({', '.join(rule.roles)})",
                "is missing from the file",
                f"did you mean '{near[0]}'? rename it in the file or the card"
                if near
                else f"columns present: {', '.join(present[:20])}",
            )
        )
    if problems:
        held = ", ".join(repr(cell) for cell in table.first_row[:12] if cell.strip())
        hint = (
            "check data.header_row in pilot.yaml: it names the line the column names are on"
            if declared
            else "if the column names are not on the first row, set data.header_row in "
            f"pilot.yaml to the line they are on (row 1 holds: {held or 'nothing'})"
        )
        if len(table.sheets) > 1:
            hint += (
                f"; if the data are on another sheet than the one read ({table.sheet_read}), "
                f"set data.sheet to its name or position (the sheets: {', '.join(table.sheets)})"
            )
        raise DataError(
            f"{len(problems)} column(s) the card needs are not in the file",
            path=path,
            where=str(table.first_line - 1),
            problems=problems,
            hint=hint,
        )


def _failures_frame(parts: list[pd.DataFrame], first_line: int) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(
            {
                "index": pd.Series(dtype="int64"),
                "line": pd.Series(dtype="int64"),
                "column": pd.Series(dtype=object),
                "rule": pd.Series(dtype=object),
                "value": pd.Series(dtype=object),
            }
        )
    failures = pd.concat(parts, ignore_index=True)
    failures["index"] = failures["index"].astype("int64")
    failures.insert(1, "line", failures["index"] + first_line)
    return failures.sort_values(["line", "column"], kind="stable").reset_index(drop=True)


def _rejected_frame(raw: pd.DataFrame, failures: pd.DataFrame, first_line: int) -> pd.DataFrame:
    """Return each rejected row as it was in the file, with its line and every reason.

    evalkit's two columns come first, named ``line`` and ``reasons`` unless the
    file has columns of those names, which are kept as they are.
    """
    line, why = _free_name("line", raw.columns), _free_name("reasons", raw.columns)
    if failures.empty:
        return pd.DataFrame(columns=[line, why, *raw.columns])
    text = failures["column"] + ": " + failures["rule"]
    text = text.where(failures["value"].eq(""), text + " (found '" + failures["value"] + "')")
    reasons = text.groupby(failures["index"]).agg("; ".join)
    rows = raw.loc[reasons.index].copy()
    rows.insert(0, why, reasons.to_numpy())
    rows.insert(0, line, reasons.index.to_numpy() + first_line)
    return rows.reset_index(drop=True)


def _free_name(name: str, taken: Iterable[object]) -> str:
    """Return ``name``, or ``evalkit_name`` (then ``evalkit_name_2``, ...) if a column has it."""
    used = {str(column).strip().casefold() for column in taken}
    candidate, n = name, 1
    while candidate.casefold() in used:
        n += 1
        candidate = f"evalkit_{name}" if n == 2 else f"evalkit_{name}_{n - 1}"
    return candidate
