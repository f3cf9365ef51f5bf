"""Tests for evalkit.contract: rules from the card, lazy validation, rejected rows, broken files."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.card import PilotCard, load_pilot
from evalkit.contract import (
    Validation,
    build_schema,
    pilot_mask,
    post_mask,
    rules_for,
    validate_data,
)
from evalkit.errors import DataError

from .conftest import DID_CARD, DID_ROWS, PilotFactory

HEADER = DID_ROWS.splitlines()[0]
COLUMNS = HEADER.split(",")


def _lines(rows: list[list[str]]) -> str:
    return "\n".join([HEADER, *(",".join(row) for row in rows)]) + "\n"


def _did_rows() -> list[list[str]]:
    """Return the 60 DID rows as lists of cells, in file order (row i is on line i + 2)."""
    return [line.split(",") for line in DID_ROWS.splitlines()[1:]]


def _did_frame() -> pd.DataFrame:
    """Return the DID rows with the types a spreadsheet would store."""
    return pd.read_csv(io.StringIO(DID_ROWS))


def _validate(make_pilot: PilotFactory, **kwargs: object) -> Validation:
    return validate_data(load_pilot(make_pilot(**kwargs)))


def _data_error(make_pilot: PilotFactory, **kwargs: object) -> DataError:
    folder = make_pilot(**kwargs)
    card = load_pilot(folder)
    with pytest.raises(DataError) as caught:
        validate_data(card).raise_if_too_broken()
    error = caught.value
    assert error.path == card.data_path
    assert str(card.data_path) in str(error)
    return error


def _set(rows: list[list[str]], index: int, column: str, value: str) -> None:
    rows[index][COLUMNS.index(column)] = value


# --- rules and schema from the card --------------------------------------------------------------


def test_rules_come_from_roles_outcomes_and_local_columns(make_pilot: PilotFactory) -> None:
    rules = {rule.column: rule for rule in rules_for(load_pilot(make_pilot()))}

    assert set(rules) == set(COLUMNS)
    assert rules["arm"].roles == ("group",) and rules["arm"].required
    assert rules["phase"].roles == ("period",) and rules["phase"].required
    assert rules["case_id"].roles == ("unit",) and rules["case_id"].required
    assert rules["ward"].roles == ("local column",) and rules["ward"].type == "str"
    assert not rules["ward"].required
    size = rules["household_size"]
    assert (size.type, size.min, size.max, size.required) == ("int", 1, 15, False)
    days = rules["days"]
    assert (days.roles, days.type, days.min, days.max) == (("outcome",), "float", 0, None)


def test_rules_for_the_example_pilots(example_pilot: object) -> None:
    northbridge = load_pilot(example_pilot("northbridge-ta"))  # type: ignore[operator]
    rules = {rule.column: rule for rule in rules_for(northbridge)}
    # a covariate must be present on every row; the local declaration keeps it a whole number
    assert rules["household_size"].roles == ("local column", "covariate")
    assert rules["household_size"].required and rules["household_size"].type == "int"
    assert set(rules["arm"].allowed or ()) == {"pilot", "comparison"}
    assert set(rules["phase"].allowed or ()) == {"after", "before"}
    assert rules["settled_within_6m"].allowed == ("0", "1")
    assert rules["ward"].required

    eastmoor = load_pilot(example_pilot("eastmoor-family-hub"))  # type: ignore[operator]
    rules = {rule.column: rule for rule in rules_for(eastmoor)}
    count = rules["missed_appointments"]
    assert (count.type, count.min) == ("int", 0)  # a count is never negative
    assert (rules["wellbeing"].min, rules["wellbeing"].max) == (14, 70)
    assert rules["assessment_date"].type == "date"


def test_schema_checks_required_values_ranges_and_allowed_values(make_pilot: PilotFactory) -> None:
    card = load_pilot(make_pilot())
    schema = build_schema(rules_for(card))
    good = pd.DataFrame(
        {
            "case_id": ["A", "B"],
            "arm": ["pilot", "comparison"],
            "phase": ["before", "after"],
            "ward": [None, "W1"],
            "household_size": [1.0, 15.0],
            "days": [0.0, np.nan],
        }
    )
    schema.validate(good, lazy=True)

    bad = good.assign(arm=["pilot", None], household_size=[0.0, 16.0], days=[-1.0, 5.0])
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        schema.validate(bad, lazy=True)
    cases = caught.value.failure_cases
    found = {(row.column, int(row.index)) for row in cases.itertuples()}
    assert found == {("arm", 1), ("household_size", 0), ("household_size", 1), ("days", 0)}


# --- formats -------------------------------------------------------------------------------------


def test_csv_xlsx_and_parquet_give_the_same_valid_rows(make_pilot: PilotFactory) -> None:
    frame = _did_frame()
    folder = make_pilot()
    card = load_pilot(folder)
    frame.to_excel(folder / "data" / "cases.xlsx", index=False)
    frame.to_parquet(folder / "data" / "cases.parquet", index=False)

    results = [
        validate_data(card, folder / "data" / name)
        for name in ("cases.csv", "cases.xlsx", "cases.parquet")
    ]

    for result in results:
        assert result.rows_read == len(frame)
        assert result.rejected.empty and result.failures.empty
    pd.testing.assert_frame_equal(results[0].valid, results[1].valid)
    pd.testing.assert_frame_equal(results[0].valid, results[2].valid)
    assert list(results[0].valid["case_id"]) == list(frame["case_id"])
    assert list(results[0].valid["days"]) == [float(v) for v in frame["days"]]


def test_csv_and_xlsx_reject_the_same_rows_at_the_same_lines(make_pilot: PilotFactory) -> None:
    frame = _did_frame().astype(object)
    frame.loc[3, "days"] = -3
    frame.loc[7, "household_size"] = "two"
    frame.loc[11, "arm"] = None
    folder = make_pilot(data=frame.to_csv(index=False))
    card = load_pilot(folder)
    frame.to_excel(folder / "data" / "cases.xlsx", index=False)

    from_csv = validate_data(card)
    from_xlsx = validate_data(card, folder / "data" / "cases.xlsx")

    expected = [
        (5, "days", "must be at least 0", "-3"),
        (9, "household_size", "must be a whole number", "two"),
        (13, "arm", "a value is required", ""),
    ]
    for result in (from_csv, from_xlsx):
        assert list(result.failures.itertuples(index=False, name=None)) == expected
        assert list(result.rejected["line"]) == [5, 9, 13]
    pd.testing.assert_frame_equal(from_csv.valid, from_xlsx.valid)


# --- failures: every one, with line, column, rule and the raw value ------------------------------


def test_every_failure_is_collected_with_line_column_rule_and_raw_value(
    make_pilot: PilotFactory,
) -> None:
    rows = _did_rows()
    _set(rows, 1, "days", "-3.0")  # line 3
    _set(rows, 3, "household_size", "1.50")  # line 5: two problems on one row
    _set(rows, 3, "days", "lots")
    _set(rows, 6, "arm", "")  # line 8
    _set(rows, 8, "household_size", "16")  # line 10
    _set(rows, 9, "household_size", "0")  # line 11
    data = _lines(rows)

    result = _validate(make_pilot, data=data)

    assert list(result.failures.itertuples(index=False, name=None)) == [
        (3, "days", "must be at least 0", "-3.0"),
        (5, "days", "must be a number", "lots"),
        (5, "household_size", "must be a whole number", "1.50"),
        (8, "arm", "a value is required", ""),
        (10, "household_size", "must be at most 15", "16"),
        (11, "household_size", "must be at least 1", "0"),
    ]
    summary = result.failure_summary()
    size = summary[summary["column"] == "household_size"]
    assert sorted(size["rows"]) == [1, 1, 1]
    assert set(size["example_line"]) == {5, 10, 11}


def test_rejected_rows_keep_their_values_and_every_reason(make_pilot: PilotFactory) -> None:
    rows = _did_rows()
    _set(rows, 3, "household_size", "1.50")
    _set(rows, 3, "days", "lots")
    _set(rows, 20, "days", "-7")
    data = _lines(rows)

    result = _validate(make_pilot, data=data)

    assert list(result.rejected["line"]) == [5, 22]
    first = result.rejected.iloc[0]
    assert "household_size: must be a whole number (found '1.50')" in first["reasons"]
    assert "days: must be a number (found 'lots')" in first["reasons"]
    assert result.rejected.iloc[1]["reasons"] == "days: must be at least 0 (found '-7')"
    assert list(result.rejected[COLUMNS].itertuples(index=False, name=None)) == [
        tuple(rows[3]),
        tuple(rows[20]),
    ]
    # valid + rejected = every row, in file order
    assert result.rows_read == len(rows)
    assert len(result.valid) + len(result.rejected) == len(rows)
    kept = [row[0] for index, row in enumerate(rows) if index not in {3, 20}]
    assert list(result.valid["case_id"]) == kept
    assert result.rejected_share == pytest.approx(2 / len(rows))


def test_line_numbers_stay_true_after_a_blank_line_in_a_csv(make_pilot: PilotFactory) -> None:
    lines = DID_ROWS.splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",-1"  # the 5th data row, on line 6 ...
    lines.insert(3, "")  # ... moves to line 7 when a blank line is added above it
    data = "\n".join(lines) + "\n"

    result = _validate(make_pilot, data=data)

    assert data.splitlines()[6].endswith(",-1")
    assert list(result.failures["line"]) == [7]
    assert list(result.rejected["line"]) == [7]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_raw_file_is_not_changed(make_pilot: PilotFactory, suffix: str) -> None:
    rows = _did_rows()
    _set(rows, 4, "days", "-1")
    folder = make_pilot(data=_lines(rows))
    card = load_pilot(folder)
    path = folder / "data" / f"cases{suffix}"
    if suffix == ".xlsx":
        pd.read_csv(folder / "data" / "cases.csv", dtype=str).to_excel(path, index=False)
    before = path.read_bytes()
    stat = path.stat()

    result = validate_data(card, path)

    assert len(result.rejected) == 1
    assert path.read_bytes() == before
    assert result.sha256 == hashlib.sha256(before).hexdigest()
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        {"cases.csv", path.name}
    )  # nothing written beside it


def test_missing_columns_are_reported_together_with_the_nearest_name(
    make_pilot: PilotFactory,
) -> None:
    frame = _did_frame().rename(columns={"arm": "arms"}).drop(columns=["phase"])
    error = _data_error(make_pilot, data=frame.to_csv(index=False))

    assert error.message.startswith("2 column(s)")
    assert error.where == "1"
    by_column = {problem.where: problem for problem in error.problems}
    assert set(by_column) == {"column 'arm' (group)", "column 'phase' (period)"}
    assert by_column["column 'arm' (group)"].hint.startswith("did you mean 'arms'?")
    assert "case_id" in by_column["column 'phase' (period)"].hint  # lists what is there


# --- files that cannot be read -------------------------------------------------------------------


def _xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    _did_frame().to_excel(buffer, index=False)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        ("", "data/cases.csv", "empty"),
        ("\n  \n", "data/cases.csv", "empty"),
        (HEADER + "\n", "data/cases.csv", "header but no rows"),
        (DID_ROWS + "C999,pilot,after,W1,2,5,extra\n", "data/cases.csv", "well-formed CSV"),
        (np.random.default_rng(1).bytes(2000), "data/cases.xlsx", "cannot be opened"),
        (_xlsx_bytes()[:1500], "data/cases.xlsx", "cannot be opened"),
        (b"not a workbook", "data/cases.xlsx", "cannot be opened"),
        (b"PAR1 not really", "data/cases.parquet", "Parquet file cannot be read"),
        ('{"rows": []}', "data/cases.json", "cannot read '.json' files"),
    ],
    ids=[
        "empty",
        "whitespace",
        "header-only",
        "ragged",
        "random-xlsx",
        "truncated-xlsx",
        "text-xlsx",
        "bad-parquet",
        "json",
    ],
)
def test_unreadable_files_raise_data_error_naming_the_file(
    make_pilot: PilotFactory, data: str | bytes, name: str, message: str
) -> None:
    error = _data_error(make_pilot, data=data, data_name=name)
    assert message in error.message


def test_a_windows_1252_csv_is_read_and_said(make_pilot: PilotFactory) -> None:
    rows = _did_rows()
    _set(rows, 4, "ward", "Bront\xeb")  # line 6: Excel's "CSV" on Windows writes cp1252
    validation = _validate(make_pilot, data=_lines(rows).encode("cp1252"))
    assert "Bront\xeb" in set(validation.valid["ward"].astype(str))
    assert [r.text for r in validation.readings if "Windows-1252" in r.text]


def test_a_csv_in_no_encoding_evalkit_knows_is_refused_with_the_line_of_the_bad_byte(
    make_pilot: PilotFactory,
) -> None:
    rows = _did_rows()
    _set(rows, 4, "ward", "Bront\xeb")  # line 6
    data = _lines(rows).encode("cp1252").replace(b"\xeb", b"\x81")  # 0x81: undefined in cp1252
    error = _data_error(make_pilot, data=data)
    assert "not UTF-8" in error.message and "0x81" in error.message
    assert error.where == "6"
    assert "UTF-8" in error.hint


def test_a_missing_data_file_is_refused(make_pilot: PilotFactory) -> None:
    folder = make_pilot()
    (folder / "data" / "cases.csv").unlink()
    card = load_pilot(folder)
    with pytest.raises(DataError) as caught:
        validate_data(card)
    assert caught.value.path == card.data_path
    assert "does not exist" in caught.value.message


# --- too broken to estimate on -------------------------------------------------------------------


def _rows_with_negative_days(count: int) -> str:
    rows = _did_rows()
    for index in range(4, 4 + count):  # rows 0-3 stay good: every arm and phase is kept
        _set(rows, index, "days", "-1")
    return _lines(rows)


def test_more_than_the_default_share_rejected_raises(make_pilot: PilotFactory) -> None:
    # 6 of 60 is exactly 10%: allowed
    result = _validate(make_pilot, data=_rows_with_negative_days(6), folder="six")
    result.raise_if_too_broken()
    assert len(result.rejected) == 6

    error = _data_error(make_pilot, data=_rows_with_negative_days(7), folder="seven")
    assert "7 of 60 rows" in error.message
    assert "10%" in error.message
    assert [problem.message for problem in error.problems] == ["must be at least 0"]
    assert "max_rejected_share" in error.hint


def test_too_many_rejected_is_the_one_decision(make_pilot: PilotFactory) -> None:
    # 6 of 60 is exactly the 10% the card allows; 7 is more
    six = _validate(make_pilot, data=_rows_with_negative_days(6), folder="six")
    seven = _validate(make_pilot, data=_rows_with_negative_days(7), folder="seven")
    assert not six.too_many_rejected
    assert seven.too_many_rejected
    six.raise_if_too_broken()
    with pytest.raises(DataError):
        seven.raise_if_too_broken()


def test_the_card_can_allow_a_larger_rejected_share(make_pilot: PilotFactory) -> None:
    card = DID_CARD.replace(
        "  path: {data_path}\n", "  path: {data_path}\n  max_rejected_share: 0.5\n"
    )
    result = _validate(make_pilot, card=card, data=_rows_with_negative_days(7), folder="seven")
    result.raise_if_too_broken()
    assert load_pilot(result.card.folder).data.max_rejected_share == 0.5

    error = _data_error(make_pilot, card=card, data=_rows_with_negative_days(31), folder="many")
    assert "31 of 60 rows" in error.message and "50%" in error.message


# --- roles in the data ---------------------------------------------------------------------------


def test_a_group_value_not_in_the_data_is_refused_with_a_suggestion(
    make_pilot: PilotFactory,
) -> None:
    card = DID_CARD.replace("pilot: pilot", "pilot: Pilot arm")
    error = _data_error(make_pilot, card=card)
    assert len(error.problems) == 1
    problem = error.problems[0]
    assert problem.where == "column 'arm'"
    assert "'Pilot arm'" in problem.message and "comparison, pilot" in problem.message
    assert problem.hint == "set pilot: 'pilot' in pilot.yaml"


def test_a_period_with_three_values_needs_pre(make_pilot: PilotFactory) -> None:
    rows = _did_rows()
    _set(rows, 3, "phase", "during")
    data = _lines(rows)
    error = _data_error(make_pilot, data=data, folder="no-pre")
    assert "3 different values" in error.problems[0].message
    assert "pre:" in error.problems[0].hint

    card = DID_CARD.replace("post: after}", "post: after, pre: before}")
    result = _validate(make_pilot, card=card, data=data, folder="with-pre")
    assert list(result.failures.itertuples(index=False, name=None)) == [
        (5, "phase", "must be one of after, before", "during")
    ]


def test_a_column_with_one_group_value_is_refused(make_pilot: PilotFactory) -> None:
    data = DID_ROWS.replace(",comparison,", ",pilot,")
    error = _data_error(make_pilot, data=data)
    assert "no 'comparison' rows" in error.problems[0].message


def _arms_as_numbers(frame: pd.DataFrame, pilot: object, other: object) -> pd.DataFrame:
    return frame.assign(arm=np.where(frame["arm"] == "pilot", pilot, other).tolist())


def _phases_as_dates(frame: pd.DataFrame) -> pd.DataFrame:
    dates = {"before": pd.Timestamp("2025-01-01"), "after": pd.Timestamp("2025-06-01")}
    return frame.assign(phase=frame["phase"].map(dates))


@pytest.mark.parametrize(
    ("replace", "suffix", "change"),
    [
        ("pilot: pilot", ".csv", lambda f: _arms_as_numbers(f, 1, 0)),
        ("pilot: pilot", ".xlsx", lambda f: _arms_as_numbers(f, 1, 0)),
        ("pilot: pilot", ".xlsx", lambda f: _arms_as_numbers(f, 1.0, 0.0)),
        ("pilot: pilot", ".parquet", lambda f: _arms_as_numbers(f, 1, 0)),
        ("post: after", ".csv", _phases_as_dates),
        ("post: after", ".xlsx", _phases_as_dates),
        ("post: after", ".parquet", _phases_as_dates),
    ],
    ids=["csv-1/0", "xlsx-1/0", "xlsx-1.0/0.0", "parquet-1/0", "csv-date", "xlsx-date", "pq-date"],
)
def test_card_values_match_data_values_of_another_type(
    make_pilot: PilotFactory, replace: str, suffix: str, change: object
) -> None:
    new = "pilot: 1" if replace.startswith("pilot") else "post: 2025-06-01"
    frame = change(_did_frame())  # type: ignore[operator]
    folder = make_pilot(card=DID_CARD.replace(replace, new))
    path = folder / "data" / f"typed{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    elif suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    card: PilotCard = load_pilot(folder)

    result = validate_data(card, path)

    original = _did_frame()
    assert len(result.valid) == len(original) and result.rejected.empty
    assert pilot_mask(card, result.valid).tolist() == (original["arm"] == "pilot").tolist()
    assert post_mask(card, result.valid).tolist() == (original["phase"] == "after").tolist()


# --- a property: exactly the rows with a bad cell are rejected -----------------------------------

GOOD_TEXT = st.text(alphabet="abcdefghjkmpqrsuvwxz", min_size=1, max_size=8)  # no nan/inf/na/none
BAD_KINDS = ("negative", "text-days", "text-size", "blank-case", "blank-arm", "blank-phase")


@st.composite
def damaged_rows(draw: st.DrawFn) -> tuple[list[list[str]], dict[int, set[str]]]:
    count = draw(st.integers(4, 24))
    rows = []
    for index in range(count):
        arm = ("pilot", "comparison")[index // 2 % 2]
        phase = ("before", "after")[index % 2]
        size = draw(st.integers(1, 15))
        days = draw(st.one_of(st.integers(0, 400).map(str), st.sampled_from(["0.5", "12.25"])))
        ward = draw(st.sampled_from(["Castle", "Hillfoot", "", "Riverside"]))
        rows.append([f"C{index:03d}", arm, phase, ward, str(size), days])
    # rows 0-3 stay good so that both arms and both phases are always among the valid rows
    damage = {}
    if count > 4:
        damage = draw(
            st.dictionaries(
                st.integers(4, count - 1),
                st.sets(st.sampled_from(BAD_KINDS), min_size=1, max_size=3),
            )
        )
    bad_columns: dict[int, set[str]] = {}
    for index, kinds in damage.items():
        for kind in kinds:
            if kind == "negative":
                column, value = "days", "-" + draw(st.integers(1, 500).map(str))
            elif kind.startswith("text"):
                column = "days" if kind == "text-days" else "household_size"
                value = draw(GOOD_TEXT)
            else:
                column = {"blank-case": "case_id", "blank-arm": "arm", "blank-phase": "phase"}[kind]
                value = ""
            _set(rows, index, column, value)
            bad_columns.setdefault(index, set()).add(column)
    return rows, bad_columns


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=damaged_rows())
def test_exactly_the_rows_with_a_bad_cell_are_rejected(
    make_pilot: PilotFactory, tmp_path: Path, case: tuple[list[list[str]], dict[int, set[str]]]
) -> None:
    rows, bad_columns = case
    folder = tmp_path / "test-pilot"
    if not folder.exists():
        make_pilot()
    card = load_pilot(folder)
    path = tmp_path / "generated.csv"
    path.write_text(_lines(rows), encoding="utf-8")

    result = validate_data(card, path)

    bad = sorted(bad_columns)
    assert list(result.rejected["line"]) == [index + 2 for index in bad]
    failed = {
        (line - 2, column)
        for line, column in zip(result.failures["line"], result.failures["column"], strict=True)
    }
    assert failed == {
        (index, column) for index, columns in bad_columns.items() for column in columns
    }
    for line, column, value in zip(
        result.failures["line"], result.failures["column"], result.failures["value"], strict=True
    ):
        assert value == rows[line - 2][COLUMNS.index(column)]  # the cell as written
    for (_, row), index in zip(result.rejected.iterrows(), bad, strict=True):
        written = tuple("" if pd.isna(row[c]) else row[c] for c in COLUMNS)
        assert written == tuple(rows[index])
    good = [row for index, row in enumerate(rows) if index not in bad_columns]
    assert len(result.valid) + len(result.rejected) == len(rows)
    valid = result.valid.astype(object).where(result.valid.notna(), None)
    assert list(valid.itertuples(index=False, name=None)) == [
        (case_id, arm, phase, ward or None, float(size), float(days))
        for case_id, arm, phase, ward, size, days in good
    ]
