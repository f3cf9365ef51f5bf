"""Time stamps: UTC, to the second, in the three forms evalkit writes."""

from __future__ import annotations

import datetime as dt

from evalkit.timestamps import file_stamp, iso_stamp, line_stamp, utc_now

MOMENT = dt.datetime(2026, 3, 1, 9, 30, 5, 123456, tzinfo=dt.UTC)


def test_each_form_of_one_moment() -> None:
    assert iso_stamp(MOMENT) == "2026-03-01T09:30:05+00:00"
    assert file_stamp(MOMENT) == "20260301T093005Z"
    assert line_stamp(MOMENT) == "2026-03-01T09:30:05Z"


def test_a_moment_elsewhere_is_written_in_utc() -> None:
    paris = MOMENT.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert iso_stamp(paris) == iso_stamp(MOMENT)


def test_now_is_utc() -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    now = dt.datetime.fromisoformat(iso_stamp())
    assert now.utcoffset() == dt.timedelta(0)
    assert before <= now <= utc_now()
