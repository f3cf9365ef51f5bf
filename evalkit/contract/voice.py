"""Community voice: what people told the pilot and what the pilot did ("you said, we did").

``voice.csv`` is data like any other: it is read with the same readers and
validated with a pandera schema, and its failing rows are reported with their
line numbers. Columns: date, source, group, said, response, status, and an
optional cycle that links a row to a cycle's learning-log entry.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pydantic import BaseModel, ConfigDict

from evalkit.card import PilotCard
from evalkit.contract import parse_column, read_table
from evalkit.errors import DataError, Problem

VOICE_COLUMNS = ("date", "source", "group", "said", "response", "status")
STATUSES = ("open", "in progress", "done", "not possible")


class VoiceItem(BaseModel):
    """One thing people told the pilot, and the pilot's response."""

    model_config = ConfigDict(frozen=True)

    date: str
    source: str
    group: str
    said: str
    response: str = ""
    status: str = "open"
    cycle: int | None = None


def voice_schema() -> pa.DataFrameSchema:
    """Return the pandera schema a voice file must meet."""

    def text() -> pa.Column:
        return pa.Column(nullable=False, checks=pa.Check.str_length(min_value=1))

    return pa.DataFrameSchema(
        {
            "date": pa.Column(nullable=False),
            "source": text(),
            "group": text(),
            "said": text(),
            "response": pa.Column(nullable=True),
            "status": pa.Column(
                nullable=False, checks=pa.Check.isin(STATUSES, error=f"must be one of {STATUSES}")
            ),
            "cycle": pa.Column(nullable=True, required=False, checks=pa.Check.ge(1)),
        },
        strict=False,
        name="voice",
    )


def load_voice(card: PilotCard) -> list[VoiceItem]:
    """Return the pilot's voice items (none when the card names no voice file).

    Raises DataError listing every failing row, with its line, when the file
    does not meet the schema: voice is published, so it must be right.
    """
    if card.voice is None:
        return []
    path: Path = card.folder / card.voice
    raw, first_line, _ = read_table(path)
    missing = [c for c in VOICE_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(
            f"the voice file lacks column(s) {', '.join(missing)}",
            path=path,
            where="1",
            hint=f"its header must be: {','.join(VOICE_COLUMNS)} (cycle optional)",
        )
    frame = pd.DataFrame(index=raw.index)
    problems: list[Problem] = []
    dates, bad_dates = parse_column(raw["date"], "date")
    frame["date"] = dates
    for index in raw.index[bad_dates]:
        problems.append(Problem(f"line {index + first_line}, date", "must be a date"))
    for column in ("source", "group", "said", "response", "status"):
        frame[column], _ = parse_column(raw[column], "str")
    frame["status"] = frame["status"].str.lower()
    if "cycle" in raw.columns:
        cycles, bad_cycles = parse_column(raw["cycle"], "int")
        frame["cycle"] = cycles
        for index in raw.index[bad_cycles]:
            problems.append(Problem(f"line {index + first_line}, cycle", "must be a whole number"))
    try:
        voice_schema().validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        for row in cases[cases["index"].notna()].itertuples(index=False):
            rule = "a value is required" if row.check == "not_nullable" else str(row.check)
            problems.append(Problem(f"line {int(row.index) + first_line}, {row.column}", rule))
    if problems:
        raise DataError(
            f"{len(problems)} problem(s) in the voice file",
            path=path,
            problems=sorted(set(problems), key=lambda p: p.where),
            hint="fix these rows: what people told us is published as written",
        )
    return [
        VoiceItem(
            date=row["date"].date().isoformat(),
            source=row["source"],
            group=row["group"],
            said=row["said"],
            response=row["response"] if isinstance(row["response"], str) else "",
            status=row["status"],
            cycle=None if pd.isna(row.get("cycle")) else int(row["cycle"]),
        )
        for row in frame.to_dict("records")
    ]


def voice_for_cycle(items: list[VoiceItem], cycle: int) -> list[VoiceItem]:
    """Return the items linked to a cycle (items with no cycle belong to the current one)."""
    return [item for item in items if item.cycle == cycle or item.cycle is None]
