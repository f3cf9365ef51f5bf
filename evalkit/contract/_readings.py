"""What was recognised in a column's cells, said as sentences people can read."""

from __future__ import annotations

from evalkit.contract._sniff import Reading


def cell_readings(column: str, seen: dict[str, tuple[int, str]]) -> list[Reading]:
    """Return one Reading per kind of writing recognised in a column, with its count of cells."""
    readings = []
    for kind, (cells, example) in seen.items():
        count = f"{cells:,} cell" + ("" if cells == 1 else "s")
        what = {
            "yes/no": f"written as {example} were read as 1/0 (yes is 1, no is 0)",
            "currency": f"with a currency sign (such as {example!r}) were read as plain numbers",
            "thousands": f"with thousands separators (such as {example!r}) were read as numbers",
            "percent": f"written as percentages (such as {example!r}) were read as numbers "
            "out of 100 (90% as 90)",
            "brackets": f"in brackets (such as {example!r}) were read as negative numbers",
            "decimal comma": f"with a decimal comma (such as {example!r}) were read as numbers, "
            'as data.decimal: "," says',
        }[kind]
        readings.append(Reading(column, cells, f"Column {column!r}: {count} {what}."))
    return readings
