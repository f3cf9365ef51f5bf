"""Reading numbers and yes/no as councils write them: £1,204.50, 90%, (120), Yes.

Only what cannot be read two ways is read: "1,204" is a thousands separator,
"88,5" is a decimal comma only when the card says so (``data.decimal``), and
anything else stays a failure naming the fix. Each kind of writing recognised
is counted, so the caller can say what was read and how.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TRUE_WORDS = frozenset({"true", "yes", "y", "1", "t", "1.0"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "f", "0.0"})
_NUMERIC_WORDS = frozenset({"1", "0", "1.0", "0.0"})

_CURRENCY = r"(?:£|\$|€|GBP|EUR|USD)"
_SPACES = "[ \u00a0\u202f]"
_POINT_THOUSANDS = r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$"
_COMMA_THOUSANDS = rf"^\d{{1,3}}(?:(?:\.|{_SPACES})\d{{3}})+(?:,\d+)?$"


@dataclass(frozen=True)
class Numbers:
    """A column read as numbers: values, unreadable cells, and what was recognised."""

    values: pd.Series
    bad: np.ndarray
    #: cells unreadable only because of the decimal mark: a comma where the card says a
    #: point, or a point where it says a comma (the fix is data.decimal)
    comma: np.ndarray
    #: kind of writing -> (cells, one example as written)
    seen: dict[str, tuple[int, str]]


def read_numbers(text: pd.Series, missing: np.ndarray, decimal: str = ".") -> Numbers:
    """Return cells read as numbers, allowing currency signs, separators, % and brackets."""
    text = text.astype(object).where(~missing, "").astype(str).str.strip()
    empty = np.zeros(len(text), dtype=bool)
    plain_pattern = r"^[+-]?\d+$" if decimal == "," else None
    if plain_pattern is None:
        values = pd.to_numeric(text.where(~missing), errors="coerce").astype("float64")
    else:
        whole = text.str.fullmatch(plain_pattern).to_numpy() & ~missing
        values = pd.to_numeric(text.where(whole), errors="coerce").astype("float64")
    values = values.where(np.isfinite(values))  # "inf" and "1e400" are no count of anything
    todo = values.isna().to_numpy() & ~missing
    if not todo.any():
        return Numbers(values, empty, empty.copy(), {})
    rest = text[todo]
    work = rest.copy()
    negative = pd.Series(False, index=rest.index)
    brackets = work.str.fullmatch(r"\(.*\)")
    work = work.where(~brackets, work.str.slice(1, -1).str.strip())
    negative |= brackets
    minus = work.str.match(r"^[-−]")
    work = work.where(~minus, work.str.slice(1).str.strip())
    twice = (brackets & minus).to_numpy().copy()  # "(-5)": minus twice is not guessed
    negative |= minus
    currency = work.str.contains(rf"^{_CURRENCY}\s*|\s*{_CURRENCY}$", regex=True)
    work = work.str.replace(rf"^{_CURRENCY}\s*|\s*{_CURRENCY}$", "", regex=True)
    after = work.str.match(r"^[-−]")  # "£-5"
    work = work.where(~after, work.str.slice(1).str.strip())
    twice |= ((brackets | minus) & after).to_numpy()
    twice |= work.str.match(r"^[-−+(]").to_numpy()  # "--5", "-(5)": a sign left over
    negative |= after
    percent = work.str.endswith("%")
    work = work.where(~percent, work.str.slice(0, -1).str.strip())
    thousands = pd.Series(False, index=rest.index)
    decimal_comma = pd.Series(False, index=rest.index)
    comma = pd.Series(False, index=rest.index)
    if decimal == ",":
        grouped = work.str.fullmatch(_COMMA_THOUSANDS)
        thousands |= grouped
        core = work.str.replace(rf"\.|{_SPACES}", "", regex=True).where(grouped, work)
        decimal_comma = core.str.fullmatch(r"\d+,\d+")
        # a point left over is no decimal point here: "1.500" groups, so "1.50" is not read
        number_like = core.str.fullmatch(r"\d+(?:,\d+)?")
        comma = core.str.fullmatch(r"\d*\.\d+")  # a decimal point where the card says comma
        core = core.str.replace(",", ".", regex=False)
    else:
        grouped = work.str.fullmatch(_POINT_THOUSANDS)
        thousands |= grouped
        core = work.str.replace(",", "", regex=False).where(grouped, work)
        comma = core.str.contains(",", regex=False) & core.str.fullmatch(r"[\d.,]+")
        number_like = core.str.fullmatch(r"\d*\.?\d+(?:[eE][+-]?\d+)?")
    read = pd.to_numeric(core.where(number_like), errors="coerce").astype("float64")
    read = read.where(~negative.to_numpy(), -read)
    read = read.where(np.isfinite(read) & ~twice)
    values.loc[rest.index] = read.to_numpy()
    bad = values.isna().to_numpy() & ~missing
    ok = read.notna()
    seen: dict[str, tuple[int, str]] = {}
    for kind, mask in (
        ("currency", currency),
        ("thousands", thousands),
        ("percent", percent),
        ("brackets", brackets),
        ("decimal comma", decimal_comma),
    ):
        hits = (mask & ok).to_numpy()
        if hits.any():
            seen[kind] = (int(hits.sum()), str(rest[hits].iloc[0]))
    comma_mask = empty.copy()
    comma_mask[np.flatnonzero(todo)[comma.to_numpy() & ~ok.to_numpy()]] = True
    return Numbers(values, bad, comma_mask, seen)


def read_yes_no(
    text: pd.Series, missing: np.ndarray
) -> tuple[pd.Series, np.ndarray, tuple[int, list[str]]]:
    """Return yes/no cells as True/False, unreadable cells, and the words read (count, forms).

    At most four forms are given, the commonest first, then "…" when there are more.
    """
    if pd.api.types.is_numeric_dtype(text.dtype) and not pd.api.types.is_bool_dtype(text.dtype):
        words = text.map(lambda v: f"{float(v):g}" if v == v else "")
    else:
        words = text.astype(str)
    words = words.str.strip()
    folded = words.str.lower()
    values = pd.Series(pd.NA, index=text.index, dtype="boolean")
    yes = folded.isin(TRUE_WORDS).to_numpy() & ~missing
    no = folded.isin(FALSE_WORDS).to_numpy() & ~missing
    values[yes] = True
    values[no] = False
    bad = values.isna().to_numpy() & ~missing
    worded = (yes | no) & ~folded.isin(_NUMERIC_WORDS).to_numpy()
    if pd.api.types.is_bool_dtype(text.dtype):
        worded = np.zeros(len(text), dtype=bool)  # a spreadsheet's own TRUE/FALSE is no word
    forms = [str(f) for f in words[worded].value_counts().index.tolist()]
    if len(forms) > 4:
        forms = [*forms[:4], "…"]  # the commonest forms; the sentence must not claim they are all
    return values, bad, (int(worded.sum()), forms)
