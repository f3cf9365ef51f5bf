"""A new pilot folder: a commented card, a data template (CSV and XLSX) and an empty log.

The data template holds the design's header and one example row, so a team
sees what each column looks like; :func:`is_example_data` tells that row apart
from a team's own records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.card import CARD_FILE
from evalkit.errors import ConfigError
from evalkit.estimate.registry import Scaffold, design_names, get_design

if TYPE_CHECKING:
    import pandas as pd

    from evalkit.card import PilotCard

#: The data templates ``evalkit new`` writes, inside the pilot folder: the card reads the CSV.
DATA_TEMPLATES = (Path("data") / "cases.csv", Path("data") / "cases.xlsx")

CARD_TEMPLATE = """\
# The pilot card: what this pilot is, what it measures, and how its data are laid out.
# The pilot owns this file. Add local columns and checks under data.columns.
# Full reference: README.md, "The pilot card".

name: {name}                 # what the pilot tries, in a few words
place: {place}               # the council, partnership or area
team: {team}     # who runs it
cycle: 1                     # the current test-learn-grow cycle

theory_of_change:
  problem: What is not working for people now
  activities: [what the pilot does differently]
  outcomes: [what should change for people]
  assumptions: [what has to be true for that to happen]

learning_questions:
  - Does the new way of working change the outcome?

design: {design}             # {designs}

data:
  path: data/cases.csv       # CSV, XLSX or Parquet, inside this folder; never changed by evalkit
  # path: data/cases.xlsx    # or the same template as a spreadsheet: use it instead if you like
  # sheet: 1                 # a workbook's sheet: its name, or its position (1 is the first)
  # header_row: 3            # the line the column names are on (by default found: the first
  #                          #   row holding the card's columns, below any title)
  # decimal: ","             # if numbers are written 88,5 (a decimal comma)
  # delimiter: ";"           # a CSV's delimiter (by default found: , ; tab or |)
  # encoding: cp1252         # a CSV's encoding (by default UTF-8, else Windows-1252)
  unit: {unit}
{roles}  # cluster: ward            # cluster standard errors by this column
  # covariates: [household_size]
  columns:                   # your own columns and their checks (permitted variation)
    ward: {{type: str}}
  # max_rejected_share: 0.10 # stop if more than this share of rows fail their checks

outcomes:
  - column: days_in_ta
    label: Days in temporary accommodation
    unit: days
    type: continuous         # continuous | binary | count
    better: lower            # higher | lower
    min: 0
    # target: {{value: 90, note: national expectation}}   # context only, never pass/fail
    # hoped_change: -10      # the change you hope for, for planning, in the outcome's unit
    #                        #   (for a binary outcome, percentage points: -5 is 40% to 35%)
    #                        # a yes/no outcome: type: binary, written 1/0, Yes/No, Y/N or
    #                        #   True/False; its target is a percentage (90 is 90%)
"""


def create_pilot(folder: Path, *, name: str = "", place: str = "", design: str = "did") -> Path:
    """Create a pilot folder with a card, the data templates and an empty log; return the card.

    The templates (:data:`DATA_TEMPLATES`: the design's header and one example
    row) are written only where no file of that name is there already: like
    the card, data a team has put in place is never overwritten.
    """
    entry = get_design(design)
    scaffolded = [n for n in design_names() if (d := get_design(n)) and d.scaffold]
    if entry is None or entry.scaffold is None:
        raise ConfigError(
            f"evalkit new cannot scaffold design '{design}' yet",
            hint=f"use one of: {', '.join(scaffolded)}",
        )
    card_path = folder / CARD_FILE
    if card_path.exists():
        raise ConfigError(
            "a pilot card already exists here; evalkit new never overwrites one",
            path=card_path,
            hint="choose a new folder, or edit the existing card",
        )
    (folder / "data").mkdir(parents=True, exist_ok=True)
    pretty = folder.resolve().name.replace("-", " ").replace("_", " ").strip() or "pilot"
    card_path.write_text(
        CARD_TEMPLATE.format(
            # JSON strings are YAML strings: a colon or # in a name stays part of it
            name=json.dumps(name or pretty.capitalize(), ensure_ascii=False),
            place=json.dumps(place or "Our area", ensure_ascii=False),
            team=json.dumps(f"{place or 'Our area'} pilot team", ensure_ascii=False),
            design=design,
            designs=" | ".join(design_names()),
            unit=entry.scaffold.unit,
            roles=entry.scaffold.roles,
        ),
        encoding="utf-8",
    )
    csv_path, xlsx_path = (folder / relative for relative in DATA_TEMPLATES)
    if not csv_path.exists():
        _write_csv(csv_path, entry.scaffold)
    if not xlsx_path.exists():
        _write_xlsx(xlsx_path, entry.scaffold)
    (folder / "learning_log.jsonl").touch()
    return card_path


def is_example_data(card: PilotCard, frame: pd.DataFrame) -> bool:
    """Return whether the data are only the example row ``evalkit new`` wrote for this design.

    ``frame`` is the validated data (``validate_data(card).valid``); see
    :func:`example_rows` for how the example row is recognised.
    """
    return len(frame) == 1 and example_rows(card, frame) == [0]


def example_rows(card: PilotCard, frame: pd.DataFrame) -> list[int]:
    """Return the positions of the rows that are the example row ``evalkit new`` wrote.

    A row is the example when each of the design's template columns holds the
    example's value, compared as text keys (:func:`evalkit.contract.parse.as_key`),
    so a row read from the XLSX (numbers, dates) matches as one read from the CSV does.
    """
    from evalkit.contract.parse import as_key

    entry = get_design(card.design)
    scaffold = entry.scaffold if entry is not None else None
    if scaffold is None or not scaffold.example:
        return []
    if not set(scaffold.columns) <= set(frame.columns):
        return []
    found = []
    # the example's first value (its id) narrows the rows to compare before the rest
    first, first_value = scaffold.columns[0], scaffold.example[0]
    candidates = (frame[first].astype(str).str.strip() == first_value).to_numpy().nonzero()[0]
    for position in candidates.tolist():
        row = frame.iloc[position]
        if all(
            as_key(row[column]) == as_key(_read_like(example, row[column]))
            for column, example in zip(scaffold.columns, scaffold.example, strict=True)
        ):
            found.append(position)
    return found


def _read_like(example: str, value: object) -> object:
    """Return an example value read as the data's was: "2025-03" is a date in a date column."""
    import pandas as pd

    if isinstance(value, pd.Timestamp):
        try:
            return pd.Timestamp(example)
        except ValueError:
            return example
    return example


def _write_csv(path: Path, scaffold: Scaffold) -> None:
    import pandas as pd

    from evalkit.safe_csv import write_csv

    rows = [list(scaffold.example)] if scaffold.example else []
    write_csv(pd.DataFrame(rows, columns=list(scaffold.columns), dtype=object), path)


def _write_xlsx(path: Path, scaffold: Scaffold) -> None:
    import pandas as pd

    # numbers as numbers (openpyxl writes the workbook), so the sheet reads as a team's own would
    rows = [[_typed(value) for value in scaffold.example]] if scaffold.example else []
    pd.DataFrame(rows, columns=list(scaffold.columns)).to_excel(
        path, index=False, sheet_name="cases", engine="openpyxl"
    )


def _typed(text: str) -> str | int | float:
    """Return an example value as a spreadsheet holds it: a number when it is one, else text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text
