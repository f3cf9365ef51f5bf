"""Synthetic "council exports": one seeded pilot's data written the ways councils export it.

A difference-in-differences pilot of 800 families (no real people) is written
as an XLSX with a title above the header, a semicolon CSV with decimal commas,
a Windows-1252 CSV, a CSV with total rows, a password-protected XLSX, an old
.xls, and a two-sheet workbook whose header line the card names. Each variant
is a pilot folder with the pilot.yaml a team would write from the README;
:func:`write_export` makes one and returns its folder.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 16
FAMILIES = 800
PASSWORD = "Housing2026"
WARDS = ("North Bridge", "St Anne's", "Old Town", "Riverside East", "Hillcrest")
#: caseworkers' names (made up) with accents, for the Windows-1252 export
WORKERS = ("Renée Dubois", "José Martín", "Zoë Clarke", "Chloé Adams", "Sam Patel")
TITLE = "Housing options: families in temporary accommodation (export 31/03/2026)"
#: the data row (0-based) with an unreadable cell: days_in_ta in the titled XLSX, rehoused
#: in the two-sheet one
BAD_ROW = 10

CARD = """\
name: Council export pilot
place: Testford
team: Testford housing options team
cycle: 1
design: did
data:
  path: {path}
  unit: family_id
  group: {{column: arm, pilot: pilot, comparison: comparison}}
  period: {{column: phase, post: after, pre: before}}
{extra}  columns:
    ward: {{type: str, required: true}}
    rent_arrears: {{type: float, min: 0}}
    attendance: {{type: float, min: 0, max: 100}}
outcomes:
  - column: days_in_ta
    label: Days in temporary accommodation
    unit: days
    type: continuous
    better: lower
    min: 0
  - column: rehoused
    label: Rehoused within six months
    type: binary
    better: higher
"""

VARIANTS = (
    "xlsx_title",
    "csv_semicolon",
    "csv_semicolon_no_decimal",
    "csv_cp1252",
    "csv_totals",
    "xlsx_encrypted",
    "xls",
    "xlsx_sheet_header",
)


def families(seed: int = SEED) -> pd.DataFrame:
    """Return the pilot's true values: one row per family, before or after, pilot or not."""
    rng = np.random.default_rng(seed)
    arm = np.repeat(["pilot", "comparison"], FAMILIES // 2)
    phase = np.tile(["before", "after"], FAMILIES // 2)
    treated = (arm == "pilot") & (phase == "after")
    days = np.round(rng.gamma(4.0, 30.0, FAMILIES) - 15 * treated, 1).clip(min=1.0)
    rehoused = (rng.random(FAMILIES) < 0.35 + 0.15 * treated).astype(float)
    arrears = np.round(rng.lognormal(6.3, 0.9, FAMILIES), 2)
    attendance = np.round(rng.uniform(60, 100, FAMILIES)).astype(float)
    attendance[rng.choice(FAMILIES, 12, replace=False)] = np.nan  # a few blanks
    return pd.DataFrame(
        {
            "family_id": [f"F{i:04d}" for i in range(1, FAMILIES + 1)],
            "ward": rng.choice(WARDS, FAMILIES),
            "arm": arm,
            "phase": phase,
            "days_in_ta": days,
            "rehoused": rehoused,
            "rent_arrears": arrears,
            "attendance": attendance,
            "caseworker": rng.choice(WORKERS, FAMILIES),
        }
    )


def as_exported(truth: pd.DataFrame, decimal: str = ".", seed: int = SEED) -> pd.DataFrame:
    """Return the values as text the way an export writes them: £1,204.50, 90%, Yes/yes/Y."""
    rng = np.random.default_rng(seed + 1)
    out = truth.astype(object).copy()
    yes = rng.choice(["Yes", "yes", "Y", "YES"], len(truth), p=[0.7, 0.15, 0.1, 0.05])
    no = rng.choice(["No", "no", "N"], len(truth), p=[0.8, 0.15, 0.05])
    out["rehoused"] = np.where(truth["rehoused"] == 1.0, yes, no)
    out["rent_arrears"] = [_money(v, decimal) for v in truth["rent_arrears"]]
    out["attendance"] = ["" if v != v else f"{v:.0f}%" for v in truth["attendance"]]
    days = [f"{v:.1f}" for v in truth["days_in_ta"]]
    out["days_in_ta"] = [d.replace(".", ",") for d in days] if decimal == "," else days
    return out


def _money(value: float, decimal: str) -> str:
    text = f"£{value:,.2f}"
    return text.translate(str.maketrans(",.", ".,")) if decimal == "," else text


def write_export(variant: str, folder: Path) -> Path:
    """Write the pilot folder of one variant (see :data:`VARIANTS`) in ``folder``; return it."""
    pilot = folder / variant
    (pilot / "data").mkdir(parents=True, exist_ok=True)
    writer = {
        "xlsx_title": _xlsx_title,
        "csv_semicolon": _csv_semicolon,
        "csv_semicolon_no_decimal": _csv_semicolon,
        "csv_cp1252": _csv_cp1252,
        "csv_totals": _csv_totals,
        "xlsx_encrypted": _xlsx_encrypted,
        "xls": _xls,
        "xlsx_sheet_header": _xlsx_sheet_header,
    }[variant]
    name, extra = writer(pilot / "data")
    if variant == "csv_semicolon_no_decimal":
        extra = ""  # the team forgot to say commas mark decimals
    card = CARD.format(path=f"data/{name}", extra=textwrap.indent(extra, "  "))
    (pilot / "pilot.yaml").write_text(card, encoding="utf-8")
    return pilot


def _xlsx_title(data: Path) -> tuple[str, str]:
    """A workbook with a title and a blank row above the header (line 3), a total at the end."""
    from openpyxl import Workbook

    truth = families()
    rows = as_exported(truth).drop(columns="caseworker")
    book = Workbook()
    sheet = book.active
    sheet.title = "Families"
    sheet.append([TITLE])
    sheet.append([])
    sheet.append(list(rows.columns))
    for position, row in enumerate(rows.itertuples(index=False)):
        cells: list[object] = list(row)
        cells[4] = float(truth["days_in_ta"].iat[position])  # a number; the rest is text
        if position == BAD_ROW:
            cells[4] = "see notes"
        # attendance as Excel keeps a percentage: the share 0.84, shown as 84%
        share = truth["attendance"].iat[position] / 100
        cells[7] = None if share != share else float(share)
        sheet.append([None if c == "" else c for c in cells])
        sheet.cell(row=sheet.max_row, column=8).number_format = "0%"
    sheet.append([])  # a blank row, then the system's total row
    sheet.append(["Total", None, None, None, float(truth["days_in_ta"].sum())])
    book.save(data / "families.xlsx")
    return "families.xlsx", ""


def _csv_semicolon(data: Path) -> tuple[str, str]:
    """A semicolon CSV with decimal commas (88,5) and £1.204,50, as a European Excel saves."""
    rows = as_exported(families(), decimal=",").drop(columns="caseworker")
    rows.to_csv(data / "families.csv", sep=";", index=False)
    return "families.csv", 'decimal: ","\n'


def _csv_cp1252(data: Path) -> tuple[str, str]:
    """A CSV saved as Windows-1252 ("CSV" in Excel on Windows): é and £ as single bytes."""
    rows = as_exported(families())
    text = rows.to_csv(index=False, lineterminator="\r\n")
    (data / "families.csv").write_bytes(text.encode("cp1252"))
    return "families.csv", ""


def _csv_totals(data: Path) -> tuple[str, str]:
    """A CSV sorted by arm with a "Total" row after the pilot block and two totals at the end."""
    truth = families()
    rows = as_exported(truth).drop(columns="caseworker")
    pilot = truth["arm"] == "pilot"

    def total(label: str, part: pd.Series) -> pd.DataFrame:
        sums = dict.fromkeys(rows.columns, "") | {"family_id": label}
        sums["days_in_ta"] = f"{truth['days_in_ta'][part].sum():.1f}"
        sums["rent_arrears"] = _money(truth["rent_arrears"][part].sum(), ".")
        return pd.DataFrame([sums])

    every = pd.Series(True, index=truth.index)
    blocks = [rows[pilot], total("Total", pilot), rows[~pilot]]
    blocks += [total("Total comparison", ~pilot), total("Grand total", every)]
    pd.concat(blocks).to_csv(data / "families.csv", index=False)
    return "families.csv", ""


def _xlsx_encrypted(data: Path) -> tuple[str, str]:
    """The titled workbook protected with a password (Excel's Encrypt with Password)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    _xlsx_title(data)
    plain = data / "families.xlsx"
    locked = io.BytesIO()
    with plain.open("rb") as source:
        OOXMLFile(source).encrypt(PASSWORD, locked)
    plain.write_bytes(locked.getvalue())
    return "families.xlsx", ""


def _xls(data: Path) -> tuple[str, str]:
    """An old Excel 97-2003 .xls: numbers as numbers, Yes/No and £ as text."""
    import xlwt

    rows = as_exported(families()).drop(columns="caseworker")
    book = xlwt.Workbook()
    sheet = book.add_sheet("Export")
    for column, name in enumerate(rows.columns):
        sheet.write(0, column, name)
    for line, row in enumerate(rows.itertuples(index=False), start=1):
        for column, cell in enumerate(row):
            if column == 4:
                cell = float(cell)
            if cell != "":
                sheet.write(line, column, cell)
    book.save(str(data / "families.xls"))
    return "families.xls", ""


def _xlsx_sheet_header(data: Path) -> tuple[str, str]:
    """Two sheets: notes first, then the data with its header on line 5, both named in the card."""
    rows = as_exported(families()).drop(columns="caseworker")
    rows.iat[BAD_ROW, 5] = "Maybe"  # rehoused: not a yes/no
    notes = pd.DataFrame({"About this export": ["Run by the housing system", "Filter: all"]})
    above = [[TITLE], ["Exported by: housing system"], ["Filter: all wards"], [""]]
    above = [line + [""] * (len(rows.columns) - 1) for line in above]
    grid = pd.DataFrame([*above, list(rows.columns), *rows.to_numpy().tolist()])
    with pd.ExcelWriter(data / "families.xlsx", engine="openpyxl") as writer:
        notes.to_excel(writer, sheet_name="Notes", index=False)
        grid.to_excel(writer, sheet_name="Data", index=False, header=False)
    return "families.xlsx", "sheet: 2\nheader_row: 5\n"
