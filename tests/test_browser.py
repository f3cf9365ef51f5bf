"""The reports in a real browser: headless Chromium with the network off, axe-core, screenshots.

The example pilots and the central comparison are run once on copies (a
module fixture) and each page is opened once; the checks themselves live in
tests/browser_check.py, which scripts/check_reports_in_browser.py also uses.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from .browser_check import (
    CHART_SELECTOR,
    BrowserMissing,
    Crop,
    PageCheck,
    check_page,
    chromium_path,
    crops_for,
    open_browser,
    shared_examples,
)
from .conftest import REPO

PILOTS = (
    "dunmore-family-hubs",
    "eastmoor-family-hub",
    "harrowfield-prevention",
    "hollins-vale-navigators",
    "northbridge-ta",
    "southvale-ta",
    "westmere-social-work",
)
PAGES = (*PILOTS, "comparison")

BROKEN_PAGE = """<!doctype html><html><head><title>Broken</title>
<script src="https://cdn.example.invalid/vega.js"></script></head>
<body><h1>Report</h1><h3>A level skipped</h3>
<figure class="evalkit-chart"><div></div><figcaption>A chart that never drew</figcaption></figure>
<figure class="evalkit-chart"><svg width="200" height="50" role="img" aria-label="Faint">
<text x="5" y="20" fill="#bbbbbb" font-size="10">faint label</text></svg></figure>
<table><tr><td>1</td><td>2</td></tr></table>
<img src="http://example.invalid/logo.png">
<script>notDefinedAnywhere();</script>
</body></html>
"""

CLEAN_PAGE = """<!doctype html><html lang="en"><head><title>Clean</title></head>
<body><main><h1>Report</h1><h2>What we found</h2>
<figure class="evalkit-chart"><svg width="300" height="60" role="img" aria-label="One bar">
<rect width="100" height="20" fill="#0072B2"></rect>
<text x="5" y="45" fill="#000" font-size="10">label</text></svg>
<figcaption>One bar, 100 wide</figcaption></figure>
<table><caption>Counts</caption><tr><th scope="col">Group</th><th scope="col">Rows</th></tr>
<tr><td>Pilot</td><td>12</td></tr></table>
<h3>Detail</h3><p>Some words.</p><h2>Targets</h2><p>Context only.</p></main></body></html>
"""


def png_size(path: Path) -> tuple[int, int]:
    """Return a PNG file's width and height in pixels, read from its header."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Yield one headless Chromium for the module; fail (never skip) when it is missing."""
    try:
        with open_browser() as opened:
            yield opened
    except BrowserMissing as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def checks(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> dict[str, PageCheck]:
    """Return what the browser saw on each example report and on the comparison."""
    work = tmp_path_factory.mktemp("browser")
    pages = shared_examples(tmp_path_factory)
    assert sorted(pages) == sorted(PAGES)
    shots = work / "screenshots"
    return {
        name: check_page(browser, path, screenshots=shots, name=name, crops=crops_for(name))
        for name, path in pages.items()
    }


def test_chromium_is_installed() -> None:
    try:
        path = chromium_path()
    except BrowserMissing as exc:
        pytest.fail(str(exc))
    assert path.is_file()


def test_a_missing_chromium_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EVALKIT_CHROMIUM", str(tmp_path / "no-chromium-here"))
    with pytest.raises(BrowserMissing, match=r"scripts/install_chromium\.sh`? installs it"):
        chromium_path()


@pytest.mark.parametrize("name", PAGES)
def test_every_chart_draws_with_and_without_javascript(
    checks: dict[str, PageCheck], name: str
) -> None:
    check = checks[name]
    assert len(check.charts) >= (2 if name in PILOTS else 1), check.summary()
    assert [c for c in check.charts if not c.rendered] == []
    assert len(check.charts_without_js) == len(check.charts)
    assert [c for c in check.charts_without_js if not c.rendered] == []
    assert all(c.description for c in check.charts), check.summary()
    assert check.page_errors == ()


def test_the_synthetic_example_shows_its_three_charts_and_its_checks_in_words(
    checks: dict[str, PageCheck],
) -> None:
    check = checks["harrowfield-prevention"]
    html = check.path.read_text(encoding="utf-8")
    for label in (
        "Households in temporary accommodation (per 1,000 households)",
        "Prevention duties ending with the home kept or a new one found (%)",
    ):
        drawn = [c for c in check.charts if c.rendered and c.description.startswith(label)]
        kinds = [
            "and its synthetic comparison, a weighted mix",
            "the gap between the pilot and its synthetic comparison",
            "the places that make up the synthetic comparison",
        ]
        for kind in kinds:
            assert [c for c in drawn if kind in c.description], (label, kind, check.summary())
    for words in (
        "The same change estimated three ways",
        "Checks of the comparison for households in temporary accommodation",
        "Fit before the change",
        "Within reach of the comparison places",
        "Leaving one place out",
        "Pretending the change began 12 periods earlier",
    ):
        assert words in html, words


@pytest.mark.parametrize("name", PAGES)
def test_no_request_leaves_the_page(checks: dict[str, PageCheck], name: str) -> None:
    check = checks[name]
    assert check.path.resolve().as_uri() in check.requests  # requests were being recorded
    assert check.blocked == ()
    assert all(url.startswith(("file:", "data:")) for url in check.requests), check.requests


@pytest.mark.parametrize("name", PAGES)
def test_no_serious_or_critical_accessibility_violations(
    checks: dict[str, PageCheck], name: str
) -> None:
    check = checks[name]
    for violation in check.violations_by_impact("moderate", "minor"):
        print(f"{name}: axe {violation.describe()}")
    serious = check.violations_by_impact("serious", "critical")
    assert serious == [], "\n".join(v.describe(limit=5) for v in serious)
    assert check.low_contrast_chart_text == ()


@pytest.mark.parametrize("name", PAGES)
def test_headings_in_order_one_main_landmark_and_table_headers(
    checks: dict[str, PageCheck], name: str
) -> None:
    check = checks[name]
    assert check.headings and check.headings[0][0] == 1, check.headings
    assert check.heading_problems() == []
    assert check.main_landmarks == 1
    assert check.tables_without_headers == ()


@pytest.mark.parametrize("name", PAGES)
def test_screenshots_are_saved_for_review(checks: dict[str, PageCheck], name: str) -> None:
    check = checks[name]
    assert check.missing_crops == ()
    expected = [f"{name}-{crop.name}.png" for crop in crops_for(name)] + [f"{name}-full.png"]
    assert [p.name for p in check.screenshots] == expected
    print(f"screenshots for review in {check.screenshots[0].parent}")
    for shot in check.screenshots:
        width, height = png_size(shot)
        assert width == 1000 and height > 50, (shot, width, height)


def test_the_checker_finds_each_kind_of_problem(browser: Browser, tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(BROKEN_PAGE, encoding="utf-8")
    check = check_page(browser, page)
    assert [c.rendered for c in check.charts] == [False, True]
    assert [c.rendered for c in check.charts_without_js] == [False, True]
    assert set(check.blocked) == {
        "https://cdn.example.invalid/vega.js",
        "http://example.invalid/logo.png",
    }
    assert any("notDefinedAnywhere" in e for e in check.page_errors)
    assert check.heading_problems() == ["h3 'A level skipped' follows h1"]
    assert check.main_landmarks == 0
    assert check.tables_without_headers == ("12",)
    assert len(check.low_contrast_chart_text) == 1
    assert "needs 4.5:1" in check.low_contrast_chart_text[0]
    rules = {v.rule: v.impact for v in check.violations}
    assert rules["image-alt"] == "critical" and rules["html-has-lang"] == "serious"
    problems = "\n".join(check.problems())
    for words in ("chart 1 did not draw", "request left the page", "script error", "heading order"):
        assert words in problems
    assert "main landmark" in problems and "axe image-alt (critical)" in problems


def test_a_clean_page_passes_and_its_crops_follow_the_sections(
    browser: Browser, tmp_path: Path
) -> None:
    page = tmp_path / "clean.html"
    page.write_text(CLEAN_PAGE, encoding="utf-8")
    crops = (
        Crop("top", max_height=300),
        Crop("chart", selector=CHART_SELECTOR),
        Crop("found", heading="^what we found"),
        Crop("absent", heading="^no such heading"),
    )
    check = check_page(browser, page, screenshots=tmp_path / "shots", crops=crops)
    assert check.missing_crops == ("absent",)
    assert check.problems() == ["no screenshot: nothing on the page for crop 'absent'"]
    assert check.headings == ((1, "Report"), (2, "What we found"), (3, "Detail"), (2, "Targets"))
    shots = {p.stem.removeprefix("clean-"): png_size(p) for p in check.screenshots}
    assert set(shots) == {"top", "chart", "found", "full"}
    assert shots["top"] == (1000, 300)
    # a section runs to the next heading of its level: "What we found" holds "Detail", not more
    assert shots["chart"][1] < shots["found"][1] < shots["full"][1]


def test_the_script_prints_the_problems_and_exits_1(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(BROKEN_PAGE, encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "scripts/check_reports_in_browser.py",
            str(page),
            "--screenshots",
            str(tmp_path / "shots"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "PROBLEM request left the page: https://cdn.example.invalid/vega.js" in done.stdout
    assert "0 of 1 page(s) passed" in done.stdout
    assert (tmp_path / "shots" / "broken-full.png").is_file()


@pytest.mark.parametrize(
    "shot",
    [
        "northbridge-ta-summary",
        "northbridge-ta-chart",
        "northbridge-ta-learning",
        "comparison-summary",
        "comparison-forest",
        "comparison-learning",
    ],
)
def test_committed_screenshots_show_the_summary_a_chart_learning_and_the_forest_plot(
    shot: str,
) -> None:
    path = REPO / "docs" / "screenshots" / f"{shot}.png"
    width, height = png_size(path)
    assert width == 1000 and 50 < height <= 1200
    assert path.stat().st_size < 300_000
