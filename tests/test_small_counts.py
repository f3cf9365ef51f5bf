"""No count below min_cell_count can be read or worked out from what evalkit writes.

A pilot of 6 and 7 families, with a few rejected rows and missing outcomes, is
run through every step that words a number (signals, evidence reasons,
findings, power, results.json); each must say "fewer than 10", or leave the
number out, where the number would identify a handful of people. Tables
published beside a total hide a second cell when one is hidden, so the total
less the cells shown gives nothing away.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.analysis import Analysis, analyse_pilot
from evalkit.card import load_pilot
from evalkit.charts import means_chart
from evalkit.contract import validate_data
from evalkit.estimate import cell_means, estimate_effects, rate_evidence
from evalkit.estimate.power import minimum_detectable_effect, plan_pilot, power_summary
from evalkit.quality import published_rows
from evalkit.quality.attrition import attrition, baseline_equivalence
from evalkit.quality.breaks import count_breaks, share_breaks
from evalkit.quality.disclosure import describe_part, find_small_counts, is_small_share
from evalkit.quality.profile import profile_data

from .conftest import PilotFactory
from .test_power import PAIRED_CARD

#: A count from 1 to 9 beside a word for people or records ("7 records", "3 of 29 rows").
SMALL_COUNT = re.compile(
    r"(?<![\w.,])(?<!than )[1-9](?!\d)\s+(?:of\s+(?:the\s+)?[\d,]+\s+)?"
    r"(?:records?|rows?|famil(?:y|ies)|people|persons?|cases?|households?|units?|"
    r"participants?)\b",
    re.IGNORECASE,
)
PERCENT = re.compile(r"\d+(?:\.\d+)?%")

CARD = """\
name: Small pilot
place: Testford
design: did
data:
  path: {data_path}
  unit: family_id
  group: {{column: arm, pilot: pilot}}
  period: {{column: phase, post: after}}
  covariates: [household_size]
  columns:
    household_size: {{type: int, min: 1, max: 15}}
outcomes:
  - column: days
    label: Days in temporary accommodation
    unit: days
    better: lower
    min: 0
    hoped_change: -5
  - column: settled
    label: Settled within six months
    type: binary
    better: higher
"""


def _small_rows() -> str:
    """Return 6 pilot and 7 comparison families before and after, with gaps and bad rows."""
    lines = ["family_id,arm,phase,household_size,days,settled"]
    families = [(f"P{i}", "pilot") for i in range(6)] + [(f"C{i}", "comparison") for i in range(7)]
    for k, (family, arm) in enumerate(families):
        for phase in ("before", "after"):
            days = 100 + (7 * k + (k * k if phase == "after" else 0)) % 23
            days -= 15 if (arm, phase) == ("pilot", "after") else 0
            size = 1 + k % 4
            # one of 6 pilot and two of 7 comparison families have no outcome after
            missing = phase == "after" and family in {"P0", "C0", "C1"}
            settled = int(family in {"P1", "C2", "C4"}) if phase == "before" else int(k % 2 == 0)
            lines.append(f"{family},{arm},{phase},{size},{'' if missing else days},{settled}")
    # two rows that fail their checks (7% of rows): negative days, household size out of range
    lines += ["X1,pilot,after,2,-4,0", "X2,comparison,before,40,90,1"]
    return "\n".join(lines) + "\n"


@pytest.fixture
def small(make_pilot: PilotFactory) -> Analysis:
    return analyse_pilot(make_pilot(CARD, data=_small_rows()))


def _published_text(analysis: Analysis) -> list[str]:
    """Return every sentence the run words for a report or results.json."""
    card, frame = analysis.card, analysis.validation.valid
    texts = [signal.message for signal in analysis.signals]
    texts += list(analysis.evidence.why)
    for finding in analysis.findings:
        texts += [finding.summary, finding.method, *finding.notes]
    texts.append(power_summary(plan_pilot(card, frame)))
    quality = analysis.quality
    if quality.attrition is not None:
        texts.append(quality.attrition.message)
    texts += [eq.message for eq in quality.equivalence.values()]
    texts += list(quality.skipped)
    return texts


def test_the_small_pilot_is_as_small_as_it_should_be(small: Analysis) -> None:
    assert len(small.validation.rejected) == 2
    frame = small.validation.valid
    assert frame.groupby("arm")["family_id"].nunique().to_dict() == {"comparison": 7, "pilot": 6}


def test_no_sentence_states_a_count_below_the_threshold(small: Analysis) -> None:
    texts = _published_text(small)
    found = [match for text in texts for match in SMALL_COUNT.findall(text)]
    assert found == [], found
    joined = "\n".join(texts)
    # what the old wording said, now worded safely
    assert "fewer than 10 families in the pilot and fewer than 10 in the comparison" in joined
    assert "fewer than 10 records in the smallest group or period" in joined
    assert "Fewer than 10 rows failed their checks" in joined
    assert "fewer than 10 rows failed their checks and were left out, which may bias" in joined


def test_records_a_model_leaves_out_are_not_counted_when_few(make_pilot: PilotFactory) -> None:
    card = load_pilot(make_pilot(CARD, data=_small_rows()))
    frame = validate_data(card).valid.copy()
    frame.loc[frame.index[:3], "household_size"] = np.nan  # a covariate blank in 3 records
    notes = [note for finding in estimate_effects(card, frame) for note in finding.notes]
    assert "fewer than 10 records without a value for every covariate were left out" in notes
    assert not any(SMALL_COUNT.search(note) for note in notes)


def test_no_share_of_a_small_group_is_given(small: Analysis) -> None:
    kinds = {"attrition", "missing-outcome", "rejected-rows", "baseline-equivalence"}
    for signal in small.signals:
        assert signal.kind not in kinds or not PERCENT.search(signal.message), signal.message
    signals = {s.kind: s for s in small.signals}
    settled = small.quality.equivalence["Settled within six months"]
    assert not settled.shown and not PERCENT.search(settled.message)
    assert "fewer than 10 of the pilot group" in signals["attrition"].message
    assert signals["attrition"].numbers["overall_percent"] is None
    assert signals["attrition"].numbers["differential_points"] is None
    assert signals["missing-outcome"].numbers["missing_share"] is None
    assert signals["missing-outcome"].numbers["pilot"] is None
    assert signals["rejected-rows"].numbers == {"rejected": None, "rows": None}
    assert "baseline rate not shown" in power_summary(
        plan_pilot(small.card, small.validation.valid)
    )
    assert not any(PERCENT.search(reason) for reason in small.evidence.why)


def test_results_withhold_the_rows_when_the_rejected_count_is_withheld(
    small: Analysis, tmp_path: Path
) -> None:
    path = small.write(tmp_path / "out")
    published = json.loads(path.read_text(encoding="utf-8"))
    assert published["schema_version"] == 1
    assert published["data"]["rejected_rows"] is None
    assert published["data"]["rows"] is None  # else rows - n would give the rejected back
    assert find_small_counts(published, 10) == []
    assert all(finding["n"] >= 10 for finding in published["findings"])


def _did_rows(cells: dict[tuple[str, str], int], missing: int = 0, bad: int = 0) -> str:
    lines = ["family_id,arm,phase,household_size,days,settled"]
    k = 0
    for (arm, phase), size in cells.items():
        for _ in range(size):
            days = "" if k < missing else str(100 + k % 17)
            lines.append(f"F{k},{arm},{phase},{1 + k % 3},{days},{k % 2}")
            k += 1
    lines += [f"B{i},pilot,before,1,-1,0" for i in range(bad)]
    return "\n".join(lines) + "\n"


LARGE = {("pilot", "before"): 40, ("pilot", "after"): 40}
LARGE |= {("comparison", "before"): 40, ("comparison", "after"): 40}
PLAIN_CARD = CARD.replace("  covariates: [household_size]\n", "").replace(
    "    hoped_change: -5\n", ""
)


def test_results_withhold_the_rows_when_rows_less_n_is_small(make_pilot: PilotFactory) -> None:
    # 12 rejected (published) and 3 outcomes missing: rows - rejected - n = 3
    analysis = analyse_pilot(make_pilot(PLAIN_CARD, data=_did_rows(LARGE, missing=3, bad=12)))
    results = analysis.results()
    assert results.data.rejected_rows == 12
    assert results.data.rows is None
    rejected = next(s for s in results.signals if s.kind == "rejected-rows")
    assert rejected.numbers["rows"] is None and "172" not in rejected.message


def test_results_keep_the_rows_when_nothing_can_be_worked_out(make_pilot: PilotFactory) -> None:
    analysis = analyse_pilot(make_pilot(PLAIN_CARD, data=_did_rows(LARGE, missing=15, bad=12)))
    assert analysis.results().data.rows == 172
    assert published_rows(analysis.validation, [165]) is None  # 172 - 165 = 7
    assert published_rows(analysis.validation, [100]) == 172


def test_a_table_with_one_small_cell_hides_a_second(make_pilot: PilotFactory) -> None:
    sizes = {**LARGE, ("pilot", "before"): 6, ("comparison", "after"): 30}
    card = load_pilot(make_pilot(PLAIN_CARD, data=_did_rows(sizes)))
    frame = validate_data(card).valid
    table = cell_means(card, frame, card.outcomes[0]).set_index(["group", "period"])
    assert table["suppressed"].sum() == 2
    assert table.loc[("pilot", "before"), "suppressed"]
    # the next smallest goes too, so the total n less the cells shown hides both
    assert table.loc[("comparison", "after"), "suppressed"]
    assert table["n"].isna().sum() == 2 and table["mean"].isna().sum() == 2
    chart = means_chart(table.reset_index(), label="Days").to_dict()
    assert "fewer than 10 records are not shown" not in json.dumps(chart)
    assert "2 group(s) not shown" in json.dumps(chart)


def test_a_table_hides_cells_that_differ_from_the_total_by_a_small_count(
    make_pilot: PilotFactory,
) -> None:
    card = load_pilot(make_pilot(PLAIN_CARD, data=_did_rows(LARGE)))
    frame = validate_data(card).valid
    # every cell is large, but the finding's n is 3 fewer than they add up to: one count is
    # withheld, so the 3 cannot be worked out; every mean is still shown (each rests on 40)
    table = cell_means(card, frame, card.outcomes[0], published_n=157)
    assert table["n_withheld"].sum() == 1 and table["n"].isna().sum() == 1
    assert not table["suppressed"].any() and table["mean"].notna().all()
    whole = cell_means(card, frame, card.outcomes[0], published_n=160)
    assert not whole["suppressed"].any() and not whole["n_withheld"].any()


def test_a_yes_no_cell_with_few_yes_is_hidden(make_pilot: PilotFactory) -> None:
    rows = _did_rows(LARGE).splitlines()
    # 4 settled among the 40 pilot families before the change: 10% would be 4 people
    fixed = [rows[0]]
    for i, line in enumerate(rows[1:]):
        settled = int(i % 13 == 0) if i < 40 else i % 2
        fixed.append(f"{line.rsplit(',', 1)[0]},{settled}")
    card = load_pilot(make_pilot(PLAIN_CARD, data="\n".join(fixed) + "\n"))
    frame = validate_data(card).valid
    table = cell_means(card, frame, card.outcomes[1]).set_index(["group", "period"])
    assert table.loc[("pilot", "before"), "suppressed"]
    assert table["suppressed"].sum() == 2


def test_attrition_of_small_groups_is_rated_without_its_rates() -> None:
    frame = pd.DataFrame({"id": range(13)})
    pilot = np.arange(13) < 6
    kept = ~np.isin(np.arange(13), [0, 6, 7])
    plain = attrition(frame, in_pilot=pilot, has_outcome=kept)
    assert "16.7% of the pilot group and 28.6% of the comparison group" in plain.message
    safe = attrition(frame, in_pilot=pilot, has_outcome=kept, min_count=10)
    assert not safe.shown and not PERCENT.search(safe.message)
    assert "fewer than 10 of the pilot group and fewer than 10 of the comparison" in safe.message
    assert f"Attrition is {safe.rating.level} under the WWC cautious boundary" in safe.message
    big = attrition(
        pd.DataFrame({"id": range(400)}),
        in_pilot=np.arange(400) < 200,
        has_outcome=np.arange(400) % 10 != 0,
        min_count=10,
    )
    assert big.shown and "10% of the pilot group" in big.message


def test_baseline_shares_of_small_groups_are_left_out() -> None:
    pilot = np.array([1.0] + [0.0] * 5)
    comparison = np.array([1.0, 1.0] + [0.0] * 5)
    plain = baseline_equivalence(pilot, comparison, binary=True)
    assert "17% of the pilot group" in plain.message
    safe = baseline_equivalence(pilot, comparison, binary=True, min_count=10)
    assert not safe.shown and not PERCENT.search(safe.message)
    assert safe.difference == plain.difference


def test_shares_are_given_only_when_no_small_count_hides_in_them() -> None:
    assert describe_part(1, 7, 10) == "fewer than 10"
    assert describe_part(0, 7, 10) == "none" and describe_part(7, 7, 10) == "all"
    assert describe_part(95, 100, 10) == "all but fewer than 10"
    assert describe_part(50, 100, 10) == "50%"
    assert is_small_share(5, 100, 10) and is_small_share(3, 5, 10)
    assert not is_small_share(0, 100, 10) and not is_small_share(100, 100, 10)


def test_power_sizes_below_the_threshold_are_words() -> None:
    hidden = minimum_detectable_effect(
        design="rct", n_pilot=6, n_comparison=7, sd=1, noun="families", min_count=10
    )
    assert (
        hidden.sample
        == "fewer than 10 families in the pilot and fewer than 10 in the comparison group"
    )
    one = minimum_detectable_effect(
        design="rct", n_pilot=6, n_comparison=40, sd=1, noun="families", min_count=10
    )
    # 40 exactly beside a published total would give the 6 back
    assert (
        one.sample == "fewer than 10 families in the pilot and 10 or more in the comparison group"
    )
    cells = minimum_detectable_effect(
        design="did", n_pilot=(6, 30), n_comparison=(30, 30), sd=1, min_count=10
    )
    assert not SMALL_COUNT.search(cells.sample) and "36" not in cells.sample
    clustered = minimum_detectable_effect(
        design="rct", n_pilot=40, n_comparison=40, sd=1, clusters=16, icc=0.05, min_count=10
    )
    assert "fewer than 10 records each" in power_summary([clustered])
    assert "= 1 + (" not in power_summary([clustered])
    # a plan made from no data (no min_count) keeps its numbers
    planned = minimum_detectable_effect(design="rct", n_pilot=6, n_comparison=7, sd=1)
    assert planned.sample == "6 records in the pilot and 7 in the comparison group"


def test_evidence_reasons_state_no_small_count() -> None:
    facts = {"smallest_group": 7.0, "rejected_share": 0.1, "rejected_rows": 3.0}
    why = rate_evidence("did", {**facts, "min_cell_count": 10.0}).why
    assert "fewer than 10 records in the smallest group or period (level lowered)" in why
    assert any(reason.startswith("fewer than 10 rows failed") for reason in why)
    assert not any(SMALL_COUNT.search(reason) for reason in why)
    bigger = rate_evidence("did", {"smallest_group": 15.0, "min_cell_count": 10.0}).why
    assert "only 15 records in the smallest group or period (level lowered)" in bigger


def test_recording_breaks_below_the_threshold_are_words() -> None:
    periods = [f"2025-{m:02d}" for m in range(1, 13)]
    counts = [40, 42, 39, 41, 40, 43, 4, 3, 5, 4, 3, 4]
    (found,) = count_breaks(periods, counts, min_count=10)
    assert "fewer than 10" in found.message and found.hidden == ("after",)
    assert not SMALL_COUNT.search(found.message)
    labels, values = [], []
    for month, period in enumerate(periods):
        rare = 1 if month < 6 else 30
        labels += [period] * 60
        values += ["unknown"] * rare + ["known"] * (60 - rare)
    found_shares = share_breaks(labels, values, column="ethnicity", min_count=10)
    (shift,) = [b for b in found_shares if b.category == "unknown"]
    assert "from fewer than 10 records to about 50%" in shift.message
    assert shift.hidden == ("before",)
    (other,) = [b for b in found_shares if b.category == "known"]
    assert "from all but fewer than 10 records to about 50%" in other.message


def test_the_profile_gives_missing_counts_beside_the_shares(make_pilot: PilotFactory) -> None:
    card = load_pilot(make_pilot(PLAIN_CARD, data=_did_rows(LARGE, missing=3)))
    profile = profile_data(validate_data(card))
    shares, counts = profile.missing, profile.missing_counts
    assert list(counts.columns) == list(shares.columns) and len(counts) == len(shares)
    row = counts.set_index("column").loc["days"]
    assert row["all"] == 3 and row["pilot, before"] == 3 and row["comparison, after"] == 0
    assert profile.cell_rows == {
        "all": 160,
        "pilot, before": 40,
        "pilot, after": 40,
        "comparison, before": 40,
        "comparison, after": 40,
    }


def test_units_seen_once_are_not_counted_when_few(make_pilot: PilotFactory) -> None:
    rows = ["family_id,timepoint,score"]
    rows += [f"F{i},baseline,{40 + i % 7}" for i in range(30)]
    rows += [f"F{i},follow-up,{43 + i % 5}" for i in range(27)]
    analysis = analyse_pilot(make_pilot(PAIRED_CARD, data="\n".join(rows) + "\n"))
    (finding,) = analysis.findings
    assert finding.n == 27
    assert finding.notes == (
        "fewer than 10 units were seen in only one period and are not in the paired estimate",
    )
    # 30 before, beside n = 27, would say 3 were seen once: both counts are withheld, the
    # means (of 30 and 27 records) are shown
    cells = analysis.cells["score"]
    assert cells["n_withheld"].all() and cells["n"].isna().all()
    assert not cells["suppressed"].any() and cells["mean"].notna().all()


def test_the_paired_note_never_gives_the_units_seen(make_pilot: PilotFactory) -> None:
    rows = ["family_id,timepoint,score"]
    rows += [f"F{i},baseline,{40 + i % 7}" for i in range(60)]
    rows += [f"F{i},follow-up,{43 + i % 5}" for i in range(48)]
    analysis = analyse_pilot(make_pilot(PAIRED_CARD, data="\n".join(rows) + "\n"))
    (finding,) = analysis.findings
    # "12 of 60 units": 60 beside the 48 records after would say how many were seen only before
    assert finding.notes == (
        "12 units were seen in only one period and are not in the paired estimate",
    )


def test_missing_value_shares_are_not_given_where_a_count_is_small(
    make_pilot: PilotFactory,
) -> None:
    from evalkit.report.trust import trust_markdown

    # 3 of the first cell's 40 have no days: that cell's shares would give its rows, and with
    # its means table's records, the 3
    analysis = analyse_pilot(make_pilot(PLAIN_CARD, data=_did_rows(LARGE, missing=3)))
    text = trust_markdown(analysis)
    table = text[text.index("### Missing values") : text.index("Rows whose unit id")]
    days = next(line for line in table.splitlines() if line.startswith("| days"))
    assert days.count("not shown") == 2  # "all" and the pilot-before cell
    assert "fewer than 10 missing values for some column" in table
    assert not SMALL_COUNT.search(text)


def test_what_was_recognised_is_said_without_a_small_count(make_pilot: PilotFactory) -> None:
    from evalkit.report.trust import trust_markdown

    # 3 'settled' cells written as Yes/No among 157 written 1/0, and days with a £-free "1,204"
    rows = _did_rows(LARGE).splitlines()
    for k in (1, 2, 3):
        cells = rows[k].split(",")
        cells[-1] = "Yes" if cells[-1] == "1" else "No"
        rows[k] = ",".join(cells)
    analysis = analyse_pilot(make_pilot(PLAIN_CARD, data="\n".join(rows) + "\n"))
    said = [r for r in analysis.validation.readings if r.column == "settled"]
    assert [r.cells for r in said] == [3]
    assert "3 cells written as" in said[0].text  # the local team's console sees the count

    text = trust_markdown(analysis)
    section = text[text.index("How the file was read") :]
    assert "fewer than 10 cells written as" in section and "were read as 1/0" in section
    assert "3 cells" not in text
