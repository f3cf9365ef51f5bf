"""The reports read on a 400 px phone and print on A4: nothing runs off, no chart text is tiny.

The example pilots and the central comparison are run once on copies (a
module fixture, as tests/test_browser.py does) and every page is opened in
one headless Chromium, at 400 CSS pixels wide and in print emulation at the
width of an A4 page between 15 mm margins; each page is also printed to PDF
by evalkit's own ``export_pdf``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from evalkit.charts import MIN_FONT_PX
from evalkit.notebooks.export import export_pdf

from .browser_check import chromium_path, shared_examples
from .test_browser import PAGES
from .test_browser import browser as browser  # one Chromium per module, as there

PHONE = 400
#: 180 mm (A4 less two 15 mm margins) in CSS pixels.
A4_TEXT_WIDTH = 680
#: A4 in PDF points (1/72 inch): 210 mm x 297 mm.
A4_POINTS = (595.28, 841.89)

#: What a reader sees of each page at the current viewport and media.
FACTS_JS = """() => {
  const page = document.documentElement;
  const charts = [];
  for (const svg of document.querySelectorAll('figure.evalkit-chart svg')) {
    if (svg.parentElement.closest('svg') || !svg.checkVisibility()) continue;
    const box = svg.getBoundingClientRect();
    const scale = box.width / svg.width.baseVal.value;
    let smallest = Infinity, text = '';
    for (const t of svg.querySelectorAll('text')) {
      if (!t.textContent.trim()) continue;
      const size = parseFloat(getComputedStyle(t).fontSize) * scale;
      if (size < smallest) { smallest = size; text = t.textContent.trim().slice(0, 40); }
    }
    charts.push({label: (svg.getAttribute('aria-label') || '').slice(0, 60), right: box.right,
                 smallest, text});
  }
  const tables = [...document.querySelectorAll('table')].map(t => {
    const holder = t.parentElement;
    return {text: t.textContent.trim().slice(0, 50), right: t.getBoundingClientRect().right,
            scroll: t.scrollWidth, client: t.clientWidth,
            holderScroll: holder.scrollWidth, holderClient: holder.clientWidth};
  });
  return {scrollWidth: page.scrollWidth, width: page.clientWidth, charts, tables};
}"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Return each example report and the comparison, run on copies."""
    found = shared_examples(tmp_path_factory)
    assert sorted(found) == sorted(PAGES)
    return found


@pytest.fixture(scope="module")
def seen(browser: Browser, pages: dict[str, Path]) -> dict[tuple[str, str], dict[str, Any]]:
    """Return what each page shows on a phone and in print, keyed by (page, "phone"/"print")."""
    facts: dict[tuple[str, str], dict[str, Any]] = {}
    for media, width in (("phone", PHONE), ("print", A4_TEXT_WIDTH)):
        context = browser.new_context(
            offline=True, viewport={"width": width, "height": 900}, device_scale_factor=1
        )
        try:
            page = context.new_page()
            if media == "print":
                page.emulate_media(media="print")
            for name, path in pages.items():
                page.goto(path.resolve().as_uri(), wait_until="load")
                facts[(name, media)] = page.evaluate(FACTS_JS)
        finally:
            context.close()
    return facts


def pdf_page_sizes(pdf: Path) -> list[tuple[float, float]]:
    """Return each page's size in points, read from the PDF's MediaBox entries."""
    data = pdf.read_bytes().decode("latin-1")
    boxes = re.findall(r"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    return [(float(x1) - float(x0), float(y1) - float(y0)) for x0, y0, x1, y1 in boxes]


@pytest.mark.parametrize("name", PAGES)
def test_nothing_runs_off_a_400px_screen(
    seen: dict[tuple[str, str], dict[str, Any]], name: str
) -> None:
    facts = seen[(name, "phone")]
    assert facts["scrollWidth"] <= PHONE, facts["scrollWidth"]
    assert facts["tables"], "the page has tables to check"
    wide = [t for t in facts["tables"] if t["right"] > facts["width"] or t["scroll"] > t["client"]]
    assert wide == [], wide  # every column is on the screen: no table scrolls or runs off
    assert [c for c in facts["charts"] if c["right"] > facts["width"] + 0.5] == []


@pytest.mark.parametrize("name", PAGES)
def test_chart_text_is_at_least_11px_on_a_400px_screen_and_in_print(
    seen: dict[tuple[str, str], dict[str, Any]], name: str
) -> None:
    for media in ("phone", "print"):
        charts = seen[(name, media)]["charts"]
        assert charts, f"no chart drew ({media})"
        small = [c for c in charts if c["smallest"] < MIN_FONT_PX - 0.05]
        assert small == [], (media, small)


@pytest.mark.parametrize("name", PAGES)
def test_tables_and_charts_fit_the_width_of_an_a4_page(
    seen: dict[tuple[str, str], dict[str, Any]], name: str
) -> None:
    facts = seen[(name, "print")]
    clipped = [
        t
        for t in facts["tables"]
        if t["right"] > A4_TEXT_WIDTH
        or t["scroll"] > t["client"]
        or t["holderScroll"] > t["holderClient"]
    ]
    assert clipped == [], clipped
    assert [c for c in facts["charts"] if c["right"] > A4_TEXT_WIDTH + 0.5] == []


def test_every_example_prints_on_a4(pages: dict[str, Path], tmp_path: Path) -> None:
    for name, path in pages.items():
        pdf = export_pdf(path, tmp_path / f"{name}.pdf", browser=str(chromium_path()))
        sizes = pdf_page_sizes(pdf)
        assert len(sizes) >= 2, (name, sizes)  # every report runs to more than one page
        for width, height in sizes:
            assert abs(width - A4_POINTS[0]) < 2 and abs(height - A4_POINTS[1]) < 2, (name, sizes)
