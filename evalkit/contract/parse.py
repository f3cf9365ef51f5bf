"""Parsing cells as the types rules ask for, and the text keys card values are compared by.

A cell that cannot be read as its type is reported, never guessed: "1,204"
is not a number here, and 31/02/2025 is not a date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from evalkit.card import Scalar
from evalkit.contract.read import MISSING_MARKERS

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


def parse_column(series: pd.Series, kind: str) -> tuple[pd.Series, np.ndarray]:
    """Return a column read as ``kind`` and a mask of cells that could not be read."""
    missing = _is_missing(series)
    if kind in {"float", "int"}:
        values = _to_number(series)
        bad = values.isna().to_numpy() & ~missing
        if kind == "int":
            fractional = (
                values.notna().to_numpy()
                & (np.floor(values.fillna(0)) != values.fillna(0)).to_numpy()
            )
            bad |= fractional
            values = values.where(~fractional)
        return values.astype("float64"), bad
    if kind == "bool":
        text = series.astype(str).str.strip().str.lower()
        values = pd.Series(pd.NA, index=series.index, dtype="boolean")
        values[text.isin(_TRUE).to_numpy() & ~missing] = True
        values[text.isin(_FALSE).to_numpy() & ~missing] = False
        return values, values.isna().to_numpy() & ~missing
    if kind == "date":
        values = _to_date(series)
        return values, values.isna().to_numpy() & ~missing
    if kind == "time":
        numbers = _to_number(series)
        if numbers.notna().to_numpy().sum() == (~missing).sum():
            return numbers.astype("float64"), np.zeros(len(series), dtype=bool)
        values = _to_date(series)
        return values, values.isna().to_numpy() & ~missing
    values = normalise(series).where(~missing)
    return values, np.zeros(len(series), dtype=bool)


def _is_missing(series: pd.Series) -> np.ndarray:
    missing: np.ndarray = np.asarray(series.isna().to_numpy(), dtype=bool)
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        text = series.astype(str).str.strip()
        missing = missing | text.isin(MISSING_MARKERS).to_numpy()
    return missing


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
