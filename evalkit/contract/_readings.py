"""What was recognised in a column's cells, said as sentences people can read."""

from __future__ import annotations

from evalkit.contract._sniff import Reading


def cell_readings(column: str, seen: dict[str, tuple[int, str]]) -> list[Reading]:
    """Return one Reading per kind of writing recognised in a column, with its count of cells.

    The local team's sentence quotes one cell as written; the published one
    does not (a cell may be about one person).
    """
    readings = []
    for kind, (cells, example) in seen.items():
        count = f"{cells:,} cell" + ("" if cells == 1 else "s")
        such = f" (such as {example!r})"
        what = {
            "yes/no": "written as {forms} were read as 1/0 (yes is 1, no is 0)",
            "currency": "with a currency sign{such} were read as plain numbers",
            "thousands": "with thousands separators{such} were read as numbers",
            "percent": "written as percentages{such} were read as numbers out of 100 (90% as 90)",
            "brackets": "in brackets{such} were read as negative numbers",
            "decimal comma": "with a decimal comma{such} were read as numbers, "
            'as data.decimal: "," says',
        }[kind]
        text = f"Column {column!r}: {count} " + what.format(forms=example, such=such) + "."
        public = f"Column {column!r}: {count} " + what.format(forms=example, such="") + "."
        readings.append(Reading(column, cells, text, public=public))
    return readings
