"""Reading council exports: pyarrow against pandas for CSV, calamine against openpyxl for XLSX.

Writes a synthetic export (a council's columns: family id, ward, arm, phase,
days, a Yes/No outcome, money with a pound sign) as CSV and as XLSX, then
times, in this one process and as the best of K:

- CSV: evalkit's pyarrow read (what ``read_data`` uses where the options allow)
  against its pandas read (the fallback), from the same decoded text;
- XLSX: the sheet read with ``engine="calamine"`` (what ``read_data`` tries
  first) against ``engine="openpyxl"`` (the fallback), from the same bytes;

and prints the seconds and the ratios (slower path / faster path). It checks
that each pair read the same cells, and exits 1 if they did not.

    python benchmarks/bench_read.py                      # 200,000 CSV rows, 50,000 XLSX rows
    python benchmarks/bench_read.py --csv-rows 20000 --xlsx-rows 5000 --repeats 1
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.contract import read
from evalkit.contract.read import open_sheet

WARDS = ("Abbey", "Brook Green", "Castle", "Dene Park", "Eastfield", "Fairview", "Grange")


def export(rows: int, seed: int = 16) -> pd.DataFrame:
    """Return a synthetic council export of ``rows`` families, as text cells."""
    rng = np.random.default_rng(seed)
    money = rng.gamma(2.0, 300.0, rows)
    return pd.DataFrame(
        {
            "family_id": [f"F{i:06d}" for i in range(rows)],
            "ward": rng.choice(WARDS, rows),
            "arm": rng.choice(["pilot", "comparison"], rows),
            "phase": rng.choice(["before", "after"], rows),
            "days_in_ta": rng.gamma(3.0, 30.0, rows).round(1).astype(str),
            "rehoused": rng.choice(["Yes", "No"], rows),
            "rent_arrears": [f"£{value:,.2f}" for value in money],
        }
    )


def best_of(repeats: int, work: Callable[[], pd.DataFrame]) -> tuple[float, pd.DataFrame]:
    """Return the fastest of ``repeats`` timings of ``work`` and what it returned."""
    best, result = float("inf"), pd.DataFrame()
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def same_cells(left: pd.DataFrame, right: pd.DataFrame) -> bool:
    """Return True when two reads hold the same cells, compared as text."""
    if left.shape != right.shape or list(left.columns) != list(right.columns):
        return False
    as_text = {"": ""}
    return bool(
        (left.astype(str).replace(as_text) == right.astype(str).replace(as_text)).all(axis=None)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv-rows", type=int, default=200_000)
    parser.add_argument("--xlsx-rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    lines = []
    agree = True
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "cases.csv"
        export(args.csv_rows).to_csv(csv_path, index=False)
        text = csv_path.read_bytes().decode("utf-8")
        header = text.split("\n", 1)[0].split(",")
        fast, by_arrow = best_of(args.repeats, lambda: read._csv_with_pyarrow(text, ",", 0, header))
        slow, by_pandas = best_of(
            args.repeats, lambda: read._csv_with_pandas(csv_path, text, ",", 0)
        )
        if by_arrow is None:
            print("error: pyarrow did not read the CSV (evalkit fell back to pandas)")
            return 1
        agree &= same_cells(by_arrow, by_pandas)
        size = csv_path.stat().st_size / 1e6
        lines.append(("CSV", args.csv_rows, size, "pyarrow", fast, "pandas", slow))

        xlsx_path = Path(folder) / "cases.xlsx"
        export(args.xlsx_rows).to_excel(xlsx_path, index=False, engine="openpyxl")
        content = xlsx_path.read_bytes()
        fast, by_calamine = best_of(
            args.repeats, lambda: open_sheet(xlsx_path, content, None, "calamine")
        )
        slow, by_openpyxl = best_of(
            args.repeats, lambda: open_sheet(xlsx_path, content, None, "openpyxl")
        )
        agree &= same_cells(by_calamine, by_openpyxl)
        size = len(content) / 1e6
        lines.append(("XLSX", args.xlsx_rows, size, "calamine", fast, "openpyxl", slow))

    print(f"best of {args.repeats}, seconds, in one process")
    print("| file | rows | MB | evalkit's reader | s | fallback | s | fallback / evalkit |")
    print("|---|---:|---:|---|---:|---|---:|---:|")
    for kind, rows, size, name, fast, other, slow in lines:
        print(
            f"| {kind} | {rows:,} | {size:.1f} | {name} | {fast:.3f} | {other} | {slow:.3f} "
            f"| {slow / fast:.1f} |"
        )
    if not agree:
        print("error: the two readers did not read the same cells")
        return 1
    print("Both readers read the same cells in each file.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
