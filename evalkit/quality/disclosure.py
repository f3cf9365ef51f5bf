"""Disclosure control: published outputs never identify a person.

Reports and results.json are published. They hold no record-level rows and no
unit identifiers, and any count below the pilot's threshold (``min_cell_count``,
10 by default) is shown as "fewer than 10" or left out; so is a share of a
group when the part or the rest is such a count (14% of 7 is one person).
Unit ids in the rejected-rows file (kept for the local team, not published) may be replaced by
salted hashes, so a row can be traced by the team that holds the salt and by
no one else.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

SALT_ENV = "EVALKIT_SALT"
SALT_FILE = ".evalkit-salt"
#: Keys in results.json that hold counts of records or people.
COUNT_KEYS = frozenset({"n", "rows", "rejected_rows", "rejected", "count", "records", "missing"})


def is_small(n: float | None, threshold: int) -> bool:
    """Return True for a count that must not be published (0 < n < threshold)."""
    return n is not None and 0 < n < threshold


def suppress_count(n: int, threshold: int) -> int | None:
    """Return the count, or None when it is too small to publish."""
    return None if is_small(n, threshold) else n


def describe_count(n: float | None, threshold: int) -> str:
    """Return a count for a published table: "1,234", "0", or "fewer than 10"."""
    if n is None or n != n:  # None or NaN: already suppressed upstream
        return f"fewer than {threshold}"
    return f"fewer than {threshold}" if is_small(n, threshold) else f"{int(n):,}"


def is_small_share(count: float, total: float, threshold: int) -> bool:
    """Return True when ``count`` of ``total`` as a share would let a reader work out a small count.

    That is when the part or the rest of the group is a count below the
    threshold (0 < x < threshold); a group smaller than the threshold always is.
    """
    return is_small(count, threshold) or is_small(total - count, threshold)


def describe_part(count: float, total: float, threshold: int, *, digits: int = 0) -> str:
    """Return a part of a group for prose: "14%", or "none", "all", "fewer than 10", ...

    A share is given only when :func:`is_small_share` allows it; otherwise the
    part is described in words that state no count below the threshold.
    """
    if not total:
        return "none"
    if not is_small_share(count, total, threshold):
        return f"{100 * count / total:.{digits}f}%"
    if count == 0:
        return "none"
    if count == total:
        return "all"
    if is_small(count, threshold):
        return f"fewer than {threshold}"
    return f"all but fewer than {threshold}"


def pilot_salt(folder: Path) -> str:
    """Return the pilot's secret salt: $EVALKIT_SALT, else a salt file made once in the folder."""
    from_env = os.environ.get(SALT_ENV)
    if from_env:
        return from_env
    path = folder / SALT_FILE
    if not path.exists():
        # written once and never published; keep it out of version control
        path.write_text(secrets.token_hex(16) + "\n", encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def pseudonymise(values: pd.Series, salt: str) -> pd.Series:
    """Return ids replaced by salted SHA-256 hashes (12 hex digits), blanks kept blank."""

    def one(value: Any) -> Any:
        if value is None or (isinstance(value, float) and value != value):
            return value
        digest = hashlib.sha256(f"{salt}\x1f{value}".encode()).hexdigest()
        return f"id-{digest[:12]}"

    return values.map(one)


def find_identifiers(text: str, ids: Iterable[Any]) -> list[str]:
    """Return the unit ids that appear as whole words in a published text."""
    wanted = {str(i) for i in ids if str(i).strip()}
    tokens = set(re.findall(r"[\w][\w\-/.]*[\w]|\w", text))
    return sorted(wanted & tokens)


def find_small_counts(results: dict[str, Any] | list[Any], threshold: int) -> list[str]:
    """Return the paths in a results.json document of counts below the threshold."""
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                where = f"{path}.{key}" if path else str(key)
                if (
                    key in COUNT_KEYS
                    and isinstance(value, int | float)
                    and not isinstance(value, bool)
                ):
                    if is_small(value, threshold):
                        found.append(where)
                else:
                    walk(value, where)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]")

    walk(results, "")
    return found


def load_json(path: Path) -> Any:
    """Return a JSON file's content (for checks over published results)."""
    return json.loads(path.read_text(encoding="utf-8"))
