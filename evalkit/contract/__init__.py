"""The data contract: read a pilot's data file and check it against its card.

What the card expects (roles the design needs, each outcome's type and range,
the pilot's local columns) becomes a list of :class:`Rule`; the rules become a
pandera schema. Checking runs in two passes over the whole file and collects
every failure before deciding anything:

1. parse: each cell is read as the type its rule asks for (a number, a whole
   number, yes/no, a date); a cell that cannot be read is a failure;
2. pandera: the parsed frame is validated lazily against the schema (required
   values, ranges, allowed values).

What was recognised on the way (a title above the header, Windows-1252
text, Yes/No, £ and % in numbers, totals at the end) is kept as
:class:`Reading` sentences, so the report can say it. Rows with any failure
are set aside with their reasons; the raw file is never
written to. Line numbers are those a spreadsheet user sees (the header is
line 1).

The rooms: :mod:`~evalkit.contract.read` (data files as they are),
:mod:`~evalkit.contract.parse` (cells as types), :mod:`~evalkit.contract.rules`
(the card's rules and their schema), :mod:`~evalkit.contract.validation`
(checking a file: :class:`Validation`), :mod:`~evalkit.contract.roles` (which
rows are pilot, which after the change) and :mod:`~evalkit.contract.voice`
(what people told us).
"""

from __future__ import annotations

from evalkit.contract._sniff import Reading
from evalkit.contract.parse import as_key, normalise, parse_column
from evalkit.contract.read import MISSING_MARKERS, Table, read_data, read_table
from evalkit.contract.roles import pilot_mask, post_mask
from evalkit.contract.rules import Rule, build_schema, rules_for
from evalkit.contract.validation import Validation, validate_data

__all__ = [
    "MISSING_MARKERS",
    "Reading",
    "Rule",
    "Table",
    "Validation",
    "as_key",
    "build_schema",
    "normalise",
    "parse_column",
    "pilot_mask",
    "post_mask",
    "read_data",
    "read_table",
    "rules_for",
    "validate_data",
]
