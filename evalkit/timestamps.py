"""Time stamps: every time evalkit writes down is UTC, to the second, in one of three forms.

``iso_stamp`` is what files record (results.json, the learning log, the run
manifest, a lock file, comparison.json); ``file_stamp`` names a manifest;
``line_stamp`` opens a log line.
"""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    """Return the time now, in UTC (the stamps below keep it to the second)."""
    return dt.datetime.now(dt.UTC)


def iso_stamp(moment: dt.datetime | None = None) -> str:
    """Return a moment (now by default) as ISO 8601 in UTC: ``2026-03-01T09:30:00+00:00``."""
    return (moment or utc_now()).astimezone(dt.UTC).isoformat(timespec="seconds")


def file_stamp(moment: dt.datetime | None = None) -> str:
    """Return a moment (now by default) for a file name: ``20260301T093000Z``."""
    return (moment or utc_now()).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def line_stamp(moment: dt.datetime | None = None) -> str:
    """Return a moment (now by default) to open a log line: ``2026-03-01T09:30:00Z``."""
    return (moment or utc_now()).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
