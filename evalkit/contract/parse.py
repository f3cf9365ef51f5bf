"""Parsing cells as the types rules ask for, and the text keys card values are compared by.

A cell that cannot be read as its type is reported, never guessed: "1,204"
and "£1,204.50" are numbers (see :mod:`~evalkit.contract._numbers`), "88,5"
is one only when the card says commas mark decimals, and 31/02/2025 is not a date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evalkit.card import Scalar
from evalkit.contract._numbers import Numbers, read_numbers, read_yes_no
from evalkit.contract.read import MISSING_MARKERS


@dataclass(frozen=True)
class Parsed:
    """A column read as its type: values, unreadable cells, and what was recognised."""

    values: pd.Series
    bad: np.ndarray
    #: unreadable cells whose fix is ``data.decimal: ","`` (a comma that may mark decimals)
    comma: np.ndarray
    #: kind of writing recognised ("yes/no", "currency", "percent", ...) -> (cells, example)
    seen: dict[str, tuple[int, str]] = field(default_factory=dict)


def parse_column(series: pd.Series, kind: str, decimal: str = ".") -> tuple[pd.Series, np.ndarray]:
    """Return a column read as ``kind`` and a mask of cells that could not be read."""
    parsed = read_column(series, kind, decimal)
    return parsed.values, parsed.bad


def read_column(series: pd.Series, kind: str, decimal: str = ".") -> Parsed:
    """Return a column read as ``kind`` ("binary" is 1/0 or yes/no), with what was recognised.

    ``decimal`` is the card's ``data.decimal``: with "," a comma marks decimals
    and "." or a space separates thousands.
    """
    missing = _is_missing(series)
    none = np.zeros(len(series), dtype=bool)
    if kind == "binary":
        # plain 1/0 (or any plain number, for the range check to refuse): "£1" or "0%" is
        # no yes/no, so the readings of money and percentages do not apply here
        plain = _to_number(series)
        words, unread, (cells, forms) = read_yes_no(series, missing)
        values = plain.where(plain.notna(), words.astype("float64"))
        bad = unread & plain.isna().to_numpy() & ~missing
        seen = {"yes/no": (cells, "/".join(forms))} if cells else {}
        return Parsed(values.astype("float64"), bad, none, seen)
    if kind in {"float", "int"}:
        numbers = _to_numbers(series, missing, decimal)
        values, bad = numbers.values, numbers.bad
        if kind == "int":
            fractional = (
                values.notna().to_numpy()
                & (np.floor(values.fillna(0)) != values.fillna(0)).to_numpy()
            )
            bad = bad | fractional
            values = values.where(~fractional)
        return Parsed(values.astype("float64"), bad, numbers.comma & bad, numbers.seen)
    if kind == "bool":
        flags, bad, (cells, forms) = read_yes_no(series, missing)
        return Parsed(flags, bad, none, {"yes/no": (cells, "/".join(forms))} if cells else {})
    if kind == "date":
        values = _to_date(series)
        return Parsed(values, values.isna().to_numpy() & ~missing, none)
    if kind == "time":
        plain = _to_number(series)
        if plain.notna().to_numpy().sum() == (~missing).sum():
            return Parsed(plain.astype("float64"), none, none)
        values = _to_date(series)
        return Parsed(values, values.isna().to_numpy() & ~missing, none)
    values = normalise(series).where(~missing)
    return Parsed(values, none, none)


def _is_missing(series: pd.Series) -> np.ndarray:
    missing: np.ndarray = np.asarray(series.isna().to_numpy(), dtype=bool)
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        text = series.astype(str).str.strip()
        missing = missing | text.isin(MISSING_MARKERS).to_numpy()
    return missing


def _to_numbers(series: pd.Series, missing: np.ndarray, decimal: str) -> Numbers:
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        values = series.astype("float64")
        values = values.where(np.isfinite(values))  # an infinity is no measurement
        none = np.zeros(len(series), dtype=bool)
        return Numbers(values, values.isna().to_numpy() & ~missing, none, {})
    return read_numbers(series, missing, decimal)


def _to_number(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("float64")
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64")
    text = series.astype(str).str.strip()
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _to_date(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    first = pd.to_datetime(series, errors="coerce", format="ISO8601")
    retry = first.isna() & series.notna()
    if retry.any():
        # UK data: 03/04/2025 is the 3rd of April
        first[retry] = pd.to_datetime(series[retry], errors="coerce", dayfirst=True, format="mixed")
    return first


def as_key(value: Scalar | Any) -> str:
    """Return a value from the card or the data as the text both are compared by."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, dt.datetime | pd.Timestamp):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def normalise(series: pd.Series) -> pd.Series:
    """Return a column as text keys comparable with card values (see :func:`as_key`)."""
    if series.dtype == object and not series.map(lambda v: isinstance(v, str)).all():
        return series.map(lambda v: None if v is None or v is pd.NA else as_key(v)).astype(object)
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(
        series.dtype
    ):
        return series.map(as_key).astype(object)
    return series.astype(str).str.strip().astype(object)
