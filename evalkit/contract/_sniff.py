"""Recognising how a file is laid out: its text encoding, delimiter, header row and total rows.

Each recognition is told back as a plain sentence (see :class:`Reading`); where
two readings are possible the ordinary one is kept, or the file is refused with
the card key that settles it.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evalkit.errors import DataError

#: bytes Windows-1252 leaves undefined: a file holding them is not cp1252 either
_UNDEFINED_CP1252 = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})
_DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes (|)"}
_OLE = bytes.fromhex("D0CF11E0A1B11AE1")
_ENCRYPTED = "EncryptionInfo".encode("utf-16-le")
_TOTAL = re.compile(r"^(?:grand\s+)?totals?\b.*$|^(?:sum|all)\s*:?$", re.IGNORECASE)
#: a sum as exported: "£12,345.67", "(120)", "84%", "1 204,5"
_NUMBER = re.compile(r"^[(£$€\s+−-]*\d[\d.,\s\u00a0]*%?\)?$")
#: how far down a title a header row is looked for
HEADER_SEARCH_ROWS = 20


@dataclass(frozen=True)
class Reading:
    """One thing evalkit recognised while reading the data, said as a sentence.

    ``column`` is None for what concerns the whole file (its encoding, delimiter,
    header row, total rows); ``cells`` counts the cells (or rows) read that way.
    """

    column: str | None
    cells: int
    text: str
    #: the sentence for a published report, where it differs: without a title's words or an
    #: example cell, which may be about one person or hold a small count
    public: str = ""

    @property
    def published(self) -> str:
        """Return the sentence as a published report gives it."""
        return self.public or self.text


def decode_text(path: Path, content: bytes, encoding: str | None) -> tuple[str, list[Reading]]:
    """Return a CSV's text: as declared, else UTF-8 (with or without BOM), else Windows-1252."""
    if encoding:
        try:
            return content.decode(encoding), []
        except (UnicodeDecodeError, LookupError) as exc:
            raise DataError(
                f"the file cannot be read as {encoding!r} ({type(exc).__name__})",
                path=path,
                hint="check data.encoding in pilot.yaml, or remove it so evalkit detects it",
            ) from None
    if content[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Excel's "Unicode Text" is UTF-16
        try:
            said = "The file is UTF-16 text (Excel's 'Unicode Text'), and was read as such."
            return content.decode("utf-16"), [Reading(None, 0, said)]
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: read on as the other encodings
    try:
        return content.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        undefined = [i for i, b in enumerate(content) if b in _UNDEFINED_CP1252]
        if undefined:
            at = undefined[0]
            line = content[:at].count(b"\n") + 1
            raise DataError(
                f"the file is not UTF-8 text (byte 0x{content[at]:02x} cannot be read)",
                path=path,
                where=str(line),
                hint="save it as 'CSV UTF-8' (in Excel: File > Save As > CSV UTF-8)",
            ) from exc
    reading = Reading(
        None,
        0,
        "The file is not UTF-8; it was read as Windows-1252 (Excel's 'CSV' on Windows).",
    )
    return content.decode("cp1252"), [reading]


def sniff_delimiter(text: str, declared: str | None) -> tuple[str, list[Reading]]:
    """Return the delimiter: declared, else the one that splits the first lines evenly."""
    if declared:
        return ("\t" if declared == "tab" else declared), []
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    best, best_fields = ",", 0
    for delimiter in _DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not counts:
            continue
        fields, lines_with = Counter(counts).most_common(1)[0]
        # a title above the header may differ; nearly every line from the header on must agree
        below_title = len(counts) - counts.index(fields)
        if fields >= 2 and lines_with >= 0.8 * below_title and fields > best_fields:
            best, best_fields = delimiter, fields
    if best_fields == 0:
        try:
            sniffed = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters="".join(_DELIMITERS))
            best = sniffed.delimiter
        except csv.Error:
            best = ","  # nothing settles it: the ordinary comma
    if best == ",":
        return best, []
    said = f"The file's columns are separated by {_DELIMITERS[best]}, and were read that way."
    return best, [Reading(None, 0, said)]


def find_header(
    rows: Sequence[Sequence[object]], needed: Sequence[str], declared: int | None
) -> int:
    """Return the 0-based position of the header row: declared, else the first holding `needed`.

    When no row within the first :data:`HEADER_SEARCH_ROWS` holds every column
    needed, the row holding most of them (at least half) is taken, else the
    first, so the columns missing from it are reported.
    """
    if declared is not None:
        return declared - 1
    wanted = {name.strip() for name in needed}
    held = []
    for position, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        cells = {header_text(cell).strip() for cell in row if not _blank(cell)}
        if wanted <= cells:
            return position
        held.append(len(wanted & cells))
    # none holds them all (a column renamed): the row holding most of them, so the
    # columns missing from it are named, rather than the title's words
    most = max(held, default=0)
    if most >= 2 and most * 2 >= len(wanted):
        return held.index(most)
    return 0


def header_text(cell: object) -> str:
    """Return a header cell as its column name: a workbook's 2024.0 is the column '2024'."""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def header_reading(position: int, rows: Sequence[Sequence[object]]) -> list[Reading]:
    """Return the sentence saying which line the header was found on, when not the first."""
    if position == 0:
        return []
    above = [str(cell).strip() for row in rows[:position] for cell in row if not _blank(cell)]
    starting = f" (starting {above[0][:60]!r})" if above else ""
    lines = "line" if position == 1 else f"{position} lines"

    def said(starting: str) -> str:
        if position > 1:
            header = f"The header is on line {position + 1}"
            return f"{header}; the {lines} above it{starting} were left out."
        return f"The header is on line 2; the line above it{starting} was left out."

    return [Reading(None, 0, said(starting), public=said(""))]


def drop_totals(frame: pd.DataFrame, first_line: int) -> tuple[pd.DataFrame, list[Reading]]:
    """Return the frame without the total rows at its end, and the sentence saying so.

    Only rows at the very end count: a "Total" row among the data is data to check.
    """
    cut = len(frame)
    values = frame.to_numpy(dtype=object)
    while cut > 0 and _is_total(values[cut - 1]):
        cut -= 1
    dropped = len(frame) - cut
    if not dropped:
        return frame, []
    lines = frame.index[cut:] + first_line
    where = f"line {lines[0]}" if dropped == 1 else f"lines {lines[0]}-{lines[-1]}"
    # no count in the sentence: a published report states no count of rows below the
    # disclosure threshold, and the line numbers already say how many
    said = (
        f"The last row ({where}) was a total and was left out."
        if dropped == 1
        else f"The rows at the end ({where}) were totals and were left out."
    )
    return frame.iloc[:cut], [Reading(None, dropped, said)]


def refuse_encrypted(path: Path, content: bytes) -> None:
    """Raise DataError when a workbook is protected with a password (an encrypted OLE2 file)."""
    if content[:8] == _OLE and _ENCRYPTED in content:
        raise_password(path)


def raise_password(path: Path) -> None:
    """Raise the DataError for a workbook protected with a password."""
    raise DataError(
        "the workbook is protected with a password, so evalkit cannot read it",
        path=path,
        hint="open it in Excel, remove the password (File > Info > Protect Workbook > "
        "Encrypt with Password, clear it) and save it, or export the sheet as CSV UTF-8",
    )


def _is_total(row: Sequence[object]) -> bool:
    """Return True for a row labelled as a total whose other cells are only sums or blanks.

    A record whose first cell merely starts with the word ("Total Family Support",
    a team's name) still has text in its other columns (an arm, a ward), so it is kept.
    """
    label = _first_text(row)
    if label is None or not _TOTAL.match(label):
        return False
    texts = [c for c in row if isinstance(c, str) and c.strip() and not _NUMBER.match(c.strip())]
    return len(texts) == 1


def _first_text(row: Sequence[object]) -> str | None:
    for cell in row:
        if _blank(cell):
            continue
        if not isinstance(cell, str):
            return None  # a number or date first: not a labelled total
        text = cell.strip()
        try:
            float(text.replace(",", ""))
        except ValueError:
            return text
        return None
    return None


def _blank(cell: object) -> bool:
    if cell is None:
        return True
    if isinstance(cell, float) and cell != cell:
        return True
    return isinstance(cell, str) and not cell.strip()
