"""Central comparison: pooling reproduces a published meta-analysis; no pilot dropped or ranked."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.compare import (
    Comparison,
    PilotEstimate,
    SharedOutcome,
    build_comparison,
    load_results,
    pool_effects,
)
from evalkit.compare.report import outcome_markdown
from evalkit.estimate.evidence import Evidence
from evalkit.estimate.finding import Finding
from evalkit.learning import LOG_FILE, Blocker, LogEntry
from evalkit.results import DataInfo, PilotInfo, Results, RunInfo, write_results

#: BCG vaccine trials (Colditz et al. 1994, JAMA 271:698-702), as metafor's `dat.bcg`:
#: (trial, vaccinated TB+, vaccinated TB-, control TB+, control TB-).
BCG = [
    ("Aronson", 4, 119, 11, 128),
    ("Ferguson & Simes", 6, 300, 29, 274),
    ("Rosenthal 1960", 3, 228, 11, 209),
    ("Hart & Sutherland", 62, 13536, 248, 12619),
    ("Frimodt-Moller", 33, 5036, 47, 5761),
    ("Stein & Aronson", 180, 1361, 372, 1079),
    ("Vandiviere", 8, 2537, 10, 619),
    ("TPT Madras", 505, 87886, 499, 87892),
    ("Coetzee & Berjak", 29, 7470, 45, 7232),
    ("Rosenthal 1961", 17, 1699, 65, 1600),
    ("Comstock 1974", 186, 50448, 141, 27197),
    ("Comstock & Webster", 5, 2493, 3, 2338),
    ("Comstock 1976", 27, 16886, 29, 17825),
]

CARD = """\
name: {name}
place: {place}
design: did
cycle: {cycle}
data:
  path: data/x.csv
  group: {{column: arm, pilot: 1}}
  period: {{column: after, post: 1}}
outcomes:
  - column: y
    id: {outcome}
    better: lower
"""


def _finding(outcome: str, estimate: float, se: float, scale: str = "difference") -> Finding:
    return Finding(
        outcome=outcome,
        label=outcome.replace("-", " ").capitalize(),
        estimate=estimate,
        se=se,
        ci_low=estimate - 1.96 * se,
        ci_high=estimate + 1.96 * se,
        p_value=0.5,
        n=500,
        method="test",
        better="lower",
        summary="test",
        scale=scale,
    )


def write_pilot(
    root: Path,
    name: str,
    place: str,
    findings: list[Finding],
    *,
    cycle: int = 1,
    results_cycle: int | None = 1,
    level: int = 3,
) -> Path:
    """Write a registered pilot folder with a card and (unless None) a results.json."""
    folder = root / name
    (folder / "data").mkdir(parents=True)
    outcome = findings[0].outcome if findings else "y"
    (folder / "pilot.yaml").write_text(
        CARD.format(name=name, place=place, cycle=cycle, outcome=outcome)
    )
    if results_cycle is not None:
        results = Results(
            pilot=PilotInfo(id=name, name=name, place=place, team="t", cycle=results_cycle),
            design="did",
            evidence=Evidence(level=level, why=("test",)),
            data=DataInfo(rows=1000, rejected_rows=0, sha256="0" * 64),
            findings=tuple(findings),
            run=RunInfo(evalkit_version="test", started="", finished=""),
        )
        write_results(results, folder / "reports" / f"cycle-{results_cycle}" / "results.json")
    return folder


def _drop_p_value(pilot: Path) -> None:
    """Rewrite a pilot's results.json as another tool might: the finding's p_value null."""
    path = pilot / "reports" / "cycle-1" / "results.json"
    raw = json.loads(path.read_text())
    raw["findings"][0]["p_value"] = None
    path.write_text(json.dumps(raw))


def test_pooling_reproduces_the_published_bcg_meta_analysis(tmp_path: Path) -> None:
    """Viechtbauer (2010) J. Stat. Softw. 36(3), section 4 (metafor, `rma(yi, vi)` on dat.bcg,
    log risk ratios): REML estimate -0.7145 (SE 0.1798), 95% CI -1.0669 to -0.3622,
    tau^2 = 0.3132, I^2 = 92.22%, Q(df = 12) = 152.2330. DerSimonian-Laird: -0.7141,
    tau^2 = 0.3088, I^2 = 92.12%. The published interval is metafor's `test="knha"` one
    (metafor's README): -1.1084 to -0.3206, p = 0.0019; the normal one above is kept as
    `wald_low`, `wald_high`."""
    for trial, tpos, tneg, cpos, cneg in BCG:
        log_rr = math.log((tpos / (tpos + tneg)) / (cpos / (cpos + cneg)))
        se = math.sqrt(1 / tpos - 1 / (tpos + tneg) + 1 / cpos - 1 / (cpos + cneg))
        name = re.sub(r"[^a-z0-9]+", "-", trial.lower())
        write_pilot(tmp_path, name, trial, [_finding("tb-log-risk-ratio", log_rr, se, "log RR")])
    comparison = build_comparison(tmp_path)
    (outcome,) = comparison.outcomes
    pooled = outcome.pooled
    assert pooled is not None and pooled.k == 13
    assert round(pooled.estimate, 4) == -0.7145
    assert round(pooled.se, 4) == 0.1798
    assert (round(pooled.wald_low, 4), round(pooled.wald_high, 4)) == (-1.0669, -0.3622)
    assert (round(pooled.ci_low, 4), round(pooled.ci_high, 4)) == (-1.1084, -0.3206)
    assert round(pooled.p_value, 4) == 0.0019
    assert round(pooled.tau2, 4) == 0.3132
    assert round(pooled.i2, 2) == 92.22
    assert round(pooled.q, 4) == 152.2330
    dl = build_comparison(tmp_path, method="DL").outcomes[0].pooled
    assert dl is not None
    assert (round(dl.estimate, 4), round(dl.tau2, 4), round(dl.i2, 2)) == (-0.7141, 0.3088, 92.12)
    pm = pool_effects([-0.5, -0.1, -0.9], [0.1, 0.1, 0.1], method="PM")
    assert pm.tau2 > 0 and pm.pi_low is not None and pm.pi_low < pm.ci_low


def test_pooling_recovers_no_heterogeneity_when_there_is_none() -> None:
    pooled = pool_effects([1.0, 1.0, 1.0, 1.0], [0.5, 0.4, 0.3, 0.6])
    assert pooled.tau2 == 0.0 and pooled.i2 == 0.0
    assert pooled.estimate == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least two"):
        pool_effects([1.0], [0.1])


def test_a_finding_without_a_p_value_is_pooled_and_shown_as_not_given(tmp_path: Path) -> None:
    write_pilot(tmp_path, "a", "Aford", [_finding("days", -12.0, 4.0)])
    _drop_p_value(write_pilot(tmp_path, "b", "Bford", [_finding("days", -7.0, 5.0)]))
    write_pilot(tmp_path, "c", "Cford", [_finding("days", -15.0, 3.0)])
    comparison = build_comparison(tmp_path)
    assert [p.status for p in comparison.pilots] == ["current"] * 3
    (outcome,) = comparison.outcomes
    assert outcome.estimates[1].finding.p_value is None
    expected = pool_effects([-12.0, -7.0, -15.0], [4.0, 5.0, 3.0])
    assert outcome.pooled == expected
    data = json.loads(json.dumps(comparison.to_json()))
    assert [e["p_value"] for e in data["outcomes"][0]["estimates"]] == [0.5, None, 0.5]
    rows = {line.split(" | ")[0]: line for line in outcome_markdown(outcome).splitlines()}
    assert "| not given |" in rows["| Bford"] and "| 0.500 |" in rows["| Aford"]


def test_an_interval_without_an_end_is_said_so_and_written_as_null() -> None:
    """A pilot with too few places may give an interval with no end (infinite): the
    comparison says so in words and comparison.json holds strict JSON (null)."""
    open_ended = _finding("days", -18.0, 4.0).model_copy(update={"ci_high": math.inf})
    outcome = SharedOutcome(
        outcome="days",
        label="Days",
        scale="difference",
        unit="days",
        better="lower",
        estimates=(PilotEstimate("a", "Aford", 3, open_ended, stale=False),),
        pooled=None,
    )
    assert "| Aford | \u221218 (the interval has no end) |" in outcome_markdown(outcome)
    data = Comparison(pilots=(), outcomes=(outcome,), generated="now").to_json()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["outcomes"][0]["estimates"][0]["ci_high"] is None


def test_pilots_are_listed_by_place_never_by_effect(tmp_path: Path) -> None:
    # the biggest effect is in the place that comes last alphabetically
    write_pilot(tmp_path, "a", "Zedford", [_finding("days", -30.0, 3.0)])
    write_pilot(tmp_path, "b", "Abbeytown", [_finding("days", 2.0, 3.0)])
    write_pilot(tmp_path, "c", "Millbrook", [_finding("days", -10.0, 3.0)])
    comparison = build_comparison(tmp_path)
    assert [p.place for p in comparison.pilots] == ["Abbeytown", "Millbrook", "Zedford"]
    assert [e.place for e in comparison.outcomes[0].estimates] == [
        "Abbeytown",
        "Millbrook",
        "Zedford",
    ]
    text = json.dumps(comparison.to_json())
    assert "rank" not in text.lower()


def test_estimates_on_different_scales_are_never_pooled(tmp_path: Path) -> None:
    write_pilot(tmp_path, "a", "Aford", [_finding("missed", -0.4, 0.1)])
    write_pilot(tmp_path, "b", "Bford", [_finding("missed", 0.8, 0.05, "rate ratio")])
    write_pilot(tmp_path, "c", "Cford", [_finding("missed", -0.2, 0.1)])
    outcomes = {o.scale: o for o in build_comparison(tmp_path).outcomes}
    assert set(outcomes) == {"difference", "rate ratio"}
    assert outcomes["rate ratio"].pooled is None
    assert outcomes["difference"].pooled is not None and outcomes["difference"].pooled.k == 2


def test_missing_stale_and_broken_results_are_listed_with_reasons(tmp_path: Path) -> None:
    write_pilot(tmp_path, "ok", "Aford", [_finding("days", -5.0, 2.0)])
    write_pilot(tmp_path, "none", "Bford", [_finding("days", -5.0, 2.0)], results_cycle=None)
    write_pilot(tmp_path, "old", "Cford", [_finding("days", -3.0, 2.0)], cycle=2)
    broken = write_pilot(tmp_path, "broken", "Dford", [_finding("days", -1.0, 2.0)])
    (broken / "reports" / "cycle-1" / "results.json").write_text('{"schema_version": 1, "pil')
    newer = write_pilot(tmp_path, "newer", "Eford", [_finding("days", -1.0, 2.0)])
    path = newer / "reports" / "cycle-1" / "results.json"
    path.write_text(path.read_text().replace('"schema_version": 1', '"schema_version": 9'))
    (tmp_path / "badcard").mkdir()
    (tmp_path / "badcard" / "pilot.yaml").write_text("name: [unclosed\n")
    statuses = {p.id: p for p in load_results(tmp_path)}
    assert {k: v.status for k, v in statuses.items()} == {
        "ok": "current",
        "none": "missing",
        "old": "stale",
        "broken": "invalid",
        "newer": "invalid",
        "badcard": "invalid",
    }
    assert "not been run" in statuses["none"].reason
    assert "cycle 1" in statuses["old"].reason and "cycle 2" in statuses["old"].reason
    assert "cannot be read" in statuses["broken"].reason
    assert "schema_version 9" in statuses["newer"].reason
    assert "card" in statuses["badcard"].reason
    comparison = build_comparison(tmp_path)
    assert len(comparison.pilots) == 6
    estimates = comparison.outcomes[0].estimates
    assert [(e.place, e.stale) for e in estimates] == [("Aford", False), ("Cford", True)]
    assert len(comparison.warnings) == 4


def test_blockers_are_grouped_by_who_must_act(tmp_path: Path) -> None:
    for name, place, needs in (("a", "Aford", "DWP"), ("b", "Bford", "DWP"), ("c", "Cford", "")):
        folder = write_pilot(tmp_path, name, place, [_finding("days", -5.0, 2.0)])
        entry = LogEntry(
            id=f"{name}-1",
            cycle=1,
            opened="2025-01-01",
            updated="x",
            decision="adapt",
            blockers=(Blocker(what=f"cap in {place}", needs=needs),),
        )
        (folder / LOG_FILE).write_text(entry.model_dump_json() + "\n")
    blockers = build_comparison(tmp_path).blockers()
    assert blockers == {
        "DWP": [("Aford", "cap in Aford"), ("Bford", "cap in Bford")],
        "not said": [("Cford", "cap in Cford")],
    }


def test_evalkit_compare_lists_the_missing_and_the_broken_and_exits_0(tmp_path: Path) -> None:
    pilots = tmp_path / "pilots"
    write_pilot(pilots, "ok", "Aford", [_finding("days", -5.0, 2.0)])
    write_pilot(pilots, "twin", "Bford", [_finding("days", -7.0, 2.5)])
    write_pilot(pilots, "none", "Cford", [_finding("days", -5.0, 2.0)], results_cycle=None)
    broken = write_pilot(pilots, "broken", "Dford", [_finding("days", -1.0, 2.0)])
    (broken / "reports" / "cycle-1" / "results.json").write_text("not json")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "evalkit", "compare", str(pilots), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "warning: none: missing" in done.stderr
    assert "warning: broken: invalid" in done.stderr
    assert "Traceback" not in done.stderr
    data = json.loads((out / "comparison.json").read_text())
    assert [p["place"] for p in data["pilots"]] == ["Aford", "Bford", "Cford", "Dford"]
    assert [p["status"] for p in data["pilots"]] == ["current", "current", "missing", "invalid"]
    html = (out / "comparison.html").read_text()
    assert "Cford" in html and "Dford" in html and "not been run" in html
    assert "every place's estimate" in html  # the forest plot
    headers = [h.strip().lower() for h in re.findall(r"<th[^>]*>([^<]*)</th>", html)]
    assert "place" in headers
    assert not [h for h in headers if "rank" in h or "position" in h or "score" in h]
    visible = re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", " ", html, flags=re.S))
    assert not re.search(r"\b(RAG|red|amber|green)\b", visible)
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=[\"']?https?:", html)


def test_evalkit_compare_pools_two_pilots_when_one_gives_no_p_value(tmp_path: Path) -> None:
    pilots = tmp_path / "pilots"
    write_pilot(pilots, "north", "Northbridge", [_finding("days", -15.0, 7.0)])
    _drop_p_value(write_pilot(pilots, "south", "Southvale", [_finding("days", -11.2, 8.4)]))
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "evalkit", "compare", str(pilots), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    data = json.loads((out / "comparison.json").read_text())
    assert [p["status"] for p in data["pilots"]] == ["current", "current"]
    (outcome,) = data["outcomes"]
    assert [e["p_value"] for e in outcome["estimates"]] == [0.5, None]
    pooled = outcome["pooled"]
    assert pooled["k"] == 2 and pooled["df"] == 1
    assert (round(pooled["ci_low"]), round(pooled["ci_high"])) == (-82, 55)
    html = (out / "comparison.html").read_text()
    visible = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "not given" in visible
    assert "pooling two places tells little" in visible
    assert "cannot be estimated" in visible


def test_a_place_too_few_to_bound_is_shown_but_not_pooled_and_few_ward_places_weigh_less(
    tmp_path: Path,
) -> None:
    """#13: a finding with no interval end is not weighed in the pool; a few-ward finding is
    pooled on the spread of its own (bootstrap) interval, not on its narrower cluster-robust se."""
    rests = {"note": "", "short": "", "cluster_word": "wards"}
    few_wards = _finding("days", -10.0, 1.0).with_parts(
        **{"ci_low": -30.0, "ci_high": 10.0, "inference": {"method": "wild", **rests}}
    )
    unbounded = _finding("days", -50.0, 1.0).with_parts(
        **{"ci_low": -math.inf, "ci_high": math.inf, "inference": {"method": "ri", **rests}}
    )
    write_pilot(tmp_path, "a", "Ashby", [few_wards])
    write_pilot(tmp_path, "b", "Brent", [_finding("days", -5.0, 2.0)])
    write_pilot(tmp_path, "c", "Colne", [_finding("days", -8.0, 2.0)])
    write_pilot(tmp_path, "d", "Dent", [unbounded])
    shared = build_comparison(tmp_path).outcomes[0]
    assert len(shared.estimates) == 4  # every place is shown
    assert shared.pooled is not None and shared.pooled.k == 3  # the unbounded one is not pooled
    read_back = {e.place: e.finding for e in shared.estimates}
    assert not read_back["Dent"].bounded  # null ends in results.json read back as no end
    plain = pool_effects([-10.0, -5.0, -8.0], [40 / (2 * 1.959963984540054), 2.0, 2.0])
    assert shared.pooled.estimate == pytest.approx(plain.estimate)
