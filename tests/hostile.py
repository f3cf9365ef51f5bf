"""A pilot whose every typed text is hostile: the card, the log, voice.csv, data values, names.

Each string tries one way text could become live in a published page: a
script, an event handler, a link or image to another site, a frame, a style
that fetches, a refresh, and bidi controls that make a name read backwards.
Network targets point at ``{origin}``, a loopback listener the browser test
runs, so a fetch that got through would be counted.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import yaml

from .conftest import copy_example

HOSTILE = (
    "<script>alert('script')</script>",
    "<img src=x onerror=alert('img')>",
    "<svg onload=alert('svg')></svg>",
    "<iframe src='{origin}/frame'></iframe>",
    "[a link](javascript:alert('link'))",
    "![a picture]({origin}/markdown.png)",
    "<img src='{origin}/remote.png'>",
    '<div style="background:url({origin}/style.png)">styled</div>',
    "<style>body {{ background: url({origin}/sheet.png) }}</style>",
    "<meta http-equiv=refresh content='0;url={origin}/refresh'>",
    "<link rel=stylesheet href='{origin}/link.css'>",
    "<a href='javascript:alert(1)' onclick=alert('click')>click</a>",
    "Caseworker\u202e\u2066 txt.exe\u2069",
    "$x$ *bold* `code` | pipe # hash",
    "mail evil@example.org or see WWW.example.org",
)


def hostile(index: int, origin: str) -> str:
    """Return hostile string ``index`` (wrapping round), aimed at ``origin``."""
    return HOSTILE[index % len(HOSTILE)].format(origin=origin)


def make_hostile_pilot(base: Path, origin: str = "http://127.0.0.1:9") -> Path:
    """Return a copy of the Northbridge example with hostile text everywhere a person types."""
    pilot = copy_example("northbridge-ta", base)
    say = iter(range(1000))

    def next_text() -> str:
        return hostile(next(say), origin)

    card = yaml.safe_load((pilot / "pilot.yaml").read_text(encoding="utf-8"))
    card["name"] = "Named caseworkers " + next_text()
    card["place"] = "Northbridge " + next_text()
    card["team"] = next_text()
    toc = card["theory_of_change"]
    toc["problem"] = next_text()
    for key in ("activities", "outcomes", "assumptions"):
        toc[key] = [next_text() for _ in toc[key]]
    card["learning_questions"] = [next_text() for _ in range(len(HOSTILE))]
    days, settled = card["outcomes"]
    days["label"] = "Days " + next_text()
    days["unit"] = "days " + next_text()
    days["target"]["note"] = next_text()
    settled["label"] = "Settled " + next_text()
    # a data value the card allows and the report lists, and a hostile column and file name
    sources = card["data"]["columns"]["referral_source"]["allowed"]
    odd_source = "eviction " + next_text()
    sources.append(odd_source)
    odd_column = "notes " + next_text()
    card["data"]["columns"][odd_column] = {"type": "str"}
    card["quality"] = {"categories": ["referral_source"]}
    old_data = pilot / card["data"]["path"]
    new_data = old_data.with_name("cases [x](javascript:alert(1)) <b>.csv")
    card["data"]["path"] = f"data/{new_data.name}"
    (pilot / "pilot.yaml").write_text(yaml.safe_dump(card, allow_unicode=True), encoding="utf-8")

    rows = list(csv.DictReader(io.StringIO(old_data.read_text(encoding="utf-8"))))
    for i, row in enumerate(rows):
        row[odd_column] = hostile(i, origin)
        if i % 7 == 0 and row["referral_source"] == "eviction":
            row["referral_source"] = odd_source
    rows[3]["household_size"] = next_text()  # a rejected cell, listed by value
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    new_data.write_text(out.getvalue(), encoding="utf-8")
    old_data.unlink()

    voice = list(csv.DictReader(io.StringIO((pilot / "voice.csv").read_text(encoding="utf-8"))))
    for row in voice:
        row["said"], row["response"], row["source"] = next_text(), next_text(), next_text()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(voice[0]))
    writer.writeheader()
    writer.writerows(voice)
    (pilot / "voice.csv").write_text(out.getvalue(), encoding="utf-8")

    log_add = [sys.executable, "-m", "evalkit", "log", "add", str(pilot)]
    for flag in ("--participant", "--assumption", "--did", "--learned", "--reasons", "--next"):
        log_add += [flag, next_text()]
    log_add += ["--blocker", f"{next_text()} | {next_text()}"]
    subprocess.run(log_add, check=True, capture_output=True, text=True, timeout=120)
    return pilot
