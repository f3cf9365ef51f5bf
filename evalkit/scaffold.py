"""A new pilot folder: a commented card, a data template and an empty learning log."""

from __future__ import annotations

import json
from pathlib import Path

from evalkit.card import CARD_FILE
from evalkit.errors import ConfigError
from evalkit.estimate.registry import design_names, get_design

CARD_TEMPLATE = """\
# The pilot card: what this pilot is, what it measures, and how its data are laid out.
# The pilot owns this file. Add local columns and checks under data.columns.
# Full reference: DESIGN.md, "The pilot card".

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
"""


def create_pilot(folder: Path, *, name: str = "", place: str = "", design: str = "did") -> Path:
    """Create a pilot folder with a card, an empty data template and an empty log."""
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
    header = list(entry.scaffold.columns)
    data = folder / "data" / "cases.csv"
    if not data.exists():
        data.write_text(",".join(header) + "\n", encoding="utf-8")
    (folder / "learning_log.jsonl").touch()
    return card_path
