"""voice.csv is validated like data, and summarised as "you said, we did"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from evalkit.card import load_pilot
from evalkit.contract.voice import load_voice, voice_for_cycle
from evalkit.errors import DataError


def test_example_voice_loads_with_cycles(example_pilot: Callable[[str], Path]) -> None:
    items = load_voice(load_pilot(example_pilot("northbridge-ta")))
    assert len(items) == 4
    assert {i.cycle for i in items} == {1, 2}
    assert all(i.said and i.group and i.source for i in items)
    assert [i.cycle for i in voice_for_cycle(items, 2)] == [2, 2]


def test_bad_voice_rows_are_reported_with_their_lines(example_pilot: Callable[[str], Path]) -> None:
    pilot = example_pilot("northbridge-ta")
    voice = pilot / "voice.csv"
    voice.write_text(
        "date,source,group,said,response,status,cycle\n"
        "2025-06-12,forum,families,We need help,Done,done,1\n"
        "not a date,forum,families,Something,,open,2\n"
        "2025-07-01,forum,,Something else,,maybe,2\n"
    )
    with pytest.raises(DataError) as caught:
        load_voice(load_pilot(pilot))
    text = str(caught.value)
    assert "voice.csv" in text
    assert "line 3, date: must be a date" in text
    assert "line 4, group: a value is required" in text
    assert "line 4, status" in text


def test_a_voice_file_missing_columns_says_which(example_pilot: Callable[[str], Path]) -> None:
    pilot = example_pilot("northbridge-ta")
    (pilot / "voice.csv").write_text("date,said\n2025-01-01,hello\n")
    with pytest.raises(DataError, match="lacks column"):
        load_voice(load_pilot(pilot))
