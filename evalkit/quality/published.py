"""The last check before anything is published: read it as a reader would, refuse what discloses.

A pilot's report.html, report.ipynb and results.json, and the centre's
comparison, are read back (page text, aria-labels, table cells under count
headings, JSON strings and count keys) after they are made and before they
replace the last ones. Publishing is refused, naming each file and phrase,
for a number below ``min_cell_count`` beside a word for people or records, a
unit id from the data, or a folder of this machine. The rules for what may be
published live in :mod:`evalkit.quality.disclosure`; this module is their
second wall.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.quality.disclosure import find_identifiers, find_small_counts, is_small

if TYPE_CHECKING:
    from evalkit.card import PilotCard
    from evalkit.contract import Validation

#: Words that make a number a count of people or records in published prose.
COUNT_NOUNS = (
    "records?|rows?|famil(?:y|ies)|people|persons?|cases?|households?|child(?:ren)?|"
    "units?|participants?|residents?|clients?|patients?|pupils?|young people|responses?|"
    "members?|adults?|tenants?|users?|referrals?"
)
_COUNT_IN_TEXT = re.compile(
    rf"(?<![\w.,\-+])(than[ \t]+)?(\d[\d,]*)[ \t\u00a0]+(?:of[ \t]+(?:the[ \t]+)?\d[\d,]*[ \t]+)?"
    rf"(?:{COUNT_NOUNS})\b|\bn[ \t]*=[ \t]*(\d[\d,]*)\b",
    re.IGNORECASE,
)
_COUNT_HEADER = re.compile(
    rf"^(?:n|count|size|0|number|records used|(?:number of )?(?:{COUNT_NOUNS}))$", re.I
)
#: A pandas Series of whole numbers as printed (``df.groupby("ward").size()``): label and
#: number lines, then its dtype line.
_PRINTED_SERIES = re.compile(
    r"((?:^[^\n]*?\S[ \t]+-?\d+[ \t]*\n)+)(?:Name: [^\n]*?, )?(?:Length: \d+, )?dtype: u?int\d*",
    re.MULTILINE,
)
#: A table printed as text whose last column is headed as a count (``   ward  n``).
_PRINTED_HEADER = re.compile(
    rf"^[ \t]*(?:\S.*?[ \t])?(?:n|count|number|{COUNT_NOUNS})[ \t]*$", re.I
)


def find_counts_in_text(text: str, threshold: int) -> list[str]:
    """Return the phrases in a published text that state a count below the threshold."""
    found = []
    for match in _COUNT_IN_TEXT.finditer(text):
        number = int((match.group(2) or match.group(3)).replace(",", ""))
        if match.group(1) and number == threshold:
            continue  # evalkit's own "fewer than 10 records"
        if is_small(number, threshold):
            found.append(match.group(0))
    return found


def find_counts_in_printed_tables(text: str, threshold: int) -> list[str]:
    """Return the lines of tables printed as text (a pandas Series or frame) with a small count.

    Two shapes are read: a Series of whole numbers (its ``dtype: int64`` line
    follows the numbers, as ``groupby(...).size()`` or ``value_counts()`` print),
    and a table whose last column is headed as a count (n, count, records, ...).
    """
    found = []
    for match in _PRINTED_SERIES.finditer(text):
        found += [
            line.strip() for line in match.group(1).splitlines() if _small_last(line, threshold)
        ]
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if not _PRINTED_HEADER.match(line):
            continue
        rows = lines[index + 1 :]
        if rows and len(rows[0].split()) == 1 and not rows[0].strip().isdigit():
            rows = rows[1:]  # the index's name, on a line of its own
        for row in rows:
            last = row.split()[-1:] if row.strip() else []
            if not last or not last[0].replace(",", "").isdigit():
                break
            if _small_last(row, threshold):
                found.append(row.strip())
    return found


def _small_last(line: str, threshold: int) -> bool:
    last = line.split()[-1:] if line.strip() else []
    return bool(last) and _small_cell(last[0], threshold)


def identifier_like(ids: Iterable[Any]) -> set[str]:
    """Return the ids worth looking for in prose: those a number in a sentence cannot be.

    Ids with letters and digits (NB-01753) and long numbers (100234) are looked
    for; short plain numbers (17, 2025) would match every count and year, and
    words (a shifted cell's "baseline") every sentence, so they are not
    (published outputs hold no record-level rows to carry them).
    """
    wanted = set()
    for value in ids:
        text = str(value).strip()
        digits = any(c.isdigit() for c in text)
        if len(text) >= 3 and digits and (any(c.isalpha() for c in text) or len(text) >= 6):
            wanted.add(text)
    return wanted


@dataclass
class _Page:
    """What a reader sees of a page: its text, each table cell under a count heading, and
    what was printed as text (``<pre>``, a notebook's text outputs), where tables may be."""

    text: list[str] = field(default_factory=list)
    counts: list[str] = field(default_factory=list)
    printed: list[str] = field(default_factory=list)

    def add_html(self, page: str) -> None:
        parser = _PageParser(self)
        parser.feed(page)
        parser.close()

    def add_markdown(self, markdown: str) -> None:
        import mistune

        self.add_html(str(mistune.create_markdown(plugins=["table"])(markdown)))


class _PageParser(HTMLParser):
    """Reads a page's text, and its tables cell by cell to find the columns that hold counts.

    A column's heading is every heading row's text at its position joined, so
    pandas' tables (the column names in one row, the index's name in the next,
    each row led by its index in a ``th``) are read as a reader sees them.
    """

    def __init__(self, page: _Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self._skip = 0
        self._pre: list[str] | None = None
        self._rows: list[tuple[bool, list[tuple[str, str]]]] = []  # (in thead, [(tag, text)])
        self._head = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in {"style", "script"}
        self.page.text += [v for k, v in attrs if v and k in {"aria-label", "title", "alt"}]
        if tag == "table":
            self._rows = []
        elif tag == "pre":
            self._pre = []
        elif tag == "thead":
            self._head = True
        elif tag == "tr":
            self._rows.append((self._head, []))
        elif tag in {"td", "th"}:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "script"} and self._skip:
            self._skip -= 1
        elif tag == "thead":
            self._head = False
        elif tag == "pre" and self._pre is not None:
            self.page.printed.append("".join(self._pre))
            self._pre = None
        elif tag in {"td", "th"} and self._cell is not None:
            if not self._rows:
                self._rows.append((self._head, []))
            self._rows[-1][1].append((tag, " ".join("".join(self._cell).split())))
            self._cell = None
        elif tag == "table":
            self.page.counts += _count_cells(self._rows)
            self._rows = []

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.page.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._pre is not None:
            self._pre.append(data)


def _count_cells(rows: list[tuple[bool, list[tuple[str, str]]]]) -> list[str]:
    """Return a table's cells that stand under a count heading (n, count, records, ...)."""
    heads = [cells for head, cells in rows if head]
    body = [cells for head, cells in rows if not head]
    if not heads:  # no thead: the leading rows made only of headings
        while body and body[0] and all(tag == "th" for tag, _ in body[0]):
            heads.append(body.pop(0))
    names: list[str] = []
    for cells in heads:
        for position, (_, text) in enumerate(cells):
            if position == len(names):
                names.append("")
            names[position] = " ".join(part for part in (names[position], text) if part)
    counted = {i for i, name in enumerate(names) if _COUNT_HEADER.match(name)}
    return [text for cells in body for i, (_, text) in enumerate(cells) if i in counted]


def read_published(path: Path) -> _Page:
    """Return what a reader of a published file (HTML, notebook, JSON) sees in it."""
    raw = path.read_text(encoding="utf-8")
    page = _Page()
    if path.suffix == ".html":
        page.add_html(raw)
    elif path.suffix == ".ipynb":
        nb = json.loads(raw)
        page.text.append(json.dumps(nb.get("metadata", {}), ensure_ascii=False))
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "markdown":
                page.add_markdown(_joined(cell.get("source", "")))
            for output in cell.get("outputs", []):
                if "text" in output:
                    page.text.append(_joined(output["text"]))
                    page.printed.append(_joined(output["text"]))
                for mime, value in output.get("data", {}).items():
                    if mime == "text/markdown":
                        page.add_markdown(_joined(value))
                    elif mime in {"text/html", "image/svg+xml"}:
                        page.add_html(_joined(value))
                    else:
                        page.text.append(_joined(value))
                        if mime == "text/plain":
                            page.printed.append(_joined(value))
    else:
        page.text += list(_strings(json.loads(raw)))
    return page


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def disclosure_problems(
    files: Iterable[Path],
    *,
    threshold: int,
    ids: Iterable[Any] = (),
    machine_paths: Iterable[str] = (),
) -> list[tuple[Path, str]]:
    """Return (file, problem) for every small count, unit id or machine path a file publishes."""
    wanted = identifier_like(ids)
    paths = sorted({p for p in machine_paths if len(p) > 1}, key=len, reverse=True)
    problems: list[tuple[Path, str]] = []
    for path in files:
        if not path.is_file():
            continue
        raw = path.read_text(encoding="utf-8")
        named = [p for p in paths if re.search(re.escape(p) + r"(?![\w.-])", raw)]
        problems += [(path, f"names a folder of this machine ({p})") for p in named][:1]
        page = read_published(path)
        text = "\n".join(page.text)
        if path.suffix == ".json":
            problems += [
                (path, f"publishes a count below {threshold} at {where}")
                for where in find_small_counts(json.loads(raw), threshold)
            ]
        small = find_counts_in_text(text, threshold)
        small += [cell for cell in page.counts if _small_cell(cell, threshold)]
        problems += [
            (path, f"states a count below {threshold}: \u201c{phrase}\u201d")
            for phrase in dict.fromkeys(small)
        ]
        printed = [
            line
            for block in page.printed
            for line in find_counts_in_printed_tables(block, threshold)
            if line not in small
        ]
        problems += [
            (path, f"prints a table with a count below {threshold}: \u201c{line}\u201d")
            for line in dict.fromkeys(printed)
        ]
        problems += [
            (path, f"names a unit id ({unit})") for unit in find_identifiers(text, wanted)[:5]
        ]
    return problems


def _small_cell(cell: str, threshold: int) -> bool:
    digits = cell.replace(",", "")
    return digits.isdigit() and is_small(int(digits), threshold)


def _strings(node: Any) -> Iterable[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


#: The files of a pilot's report that are published.
PUBLISHED_FILES = ("report.html", "report.ipynb", "results.json")


def check_publishable(folder: Path, card: PilotCard, validation: Validation) -> None:
    """Refuse, with every reason, to publish a report folder that could identify anyone.

    Runs over the finished report.html, report.ipynb and results.json: no count
    below the card's ``min_cell_count`` beside a word for people or records, no
    count key in results.json below it, no unit id from the data, no folder of
    this machine.
    """
    ids: list[Any] = []
    unit = card.data.unit
    if unit:
        for frame in (validation.valid, validation.rejected):
            if unit in frame.columns:
                ids += frame[unit].dropna().astype(str).unique().tolist()
    threshold = card.min_cell_count
    problems = disclosure_problems(
        [folder / name for name in PUBLISHED_FILES],
        threshold=threshold,
        ids=ids,
        machine_paths=this_machine(card.folder, folder),
    )
    results = folder / "results.json"
    findings = json.loads(results.read_text(encoding="utf-8")).get("findings", [])
    hint = ""
    for i, finding in enumerate(findings):
        if is_small(finding.get("n"), card.min_cell_count):
            generic = (results, f"publishes a count below {threshold} at findings[{i}].n")
            problems = [problem for problem in problems if problem != generic]
            message = (
                f"{finding.get('label', 'an outcome')}: the estimate rests on fewer than "
                f"{threshold} records, so it cannot be published without them"
            )
            problems.append((results, message))
            hint = (
                "collect more data before publishing, or lower min_cell_count in pilot.yaml only "
                "if your disclosure policy allows; "
            )
    refuse_if_disclosive(
        "report",
        folder,
        problems,
        hint=hint + "if a person typed the text named (the card, the learning log, voice.csv), "
        "reword it without the count or id; if evalkit wrote it, please report it. "
        "The previous report is still in place",
    )


def this_machine(*folders: Path) -> list[str]:
    """Return the folders of this machine a published file must not name."""
    import sys

    found = [str(folder.resolve()) for folder in folders] + [sys.prefix, str(Path.home())]
    return [path for path in dict.fromkeys(found) if path not in {"/", ""}]


def refuse_if_disclosive(
    what: str, folder: Path, problems: Sequence[tuple[Path, str]], hint: str
) -> None:
    """Raise a DataError listing every problem, naming each file, if there is any."""
    from evalkit.errors import DataError, Problem

    if problems:
        raise DataError(
            f"the {what} was not published: {len(problems)} thing(s) in it could identify "
            "a person or name this machine",
            path=folder,
            problems=[Problem(where=path.name, message=message) for path, message in problems],
            hint=hint,
        )
