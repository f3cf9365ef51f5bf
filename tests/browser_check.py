"""Opening evalkit's HTML reports in headless Chromium with the network off, and checking them.

Test and development tooling, not part of the evalkit package: the browser
tests use it, and ``scripts/check_reports_in_browser.py`` is its command line.

For each page it checks that every chart drew (an svg, canvas or image of
non-zero size, with JavaScript on and off), that no request left the page
(only file: and data: addresses are allowed; everything else is aborted and
recorded), that headings do not skip levels, that there is one ``main``
landmark, that tables have header cells and that text in charts has WCAG AA
contrast (axe-core cannot judge svg text), and runs axe-core (the copy
bundled with axe-playwright-python). It saves full-page and cropped
screenshots.

Chromium is Debian's ``chromium`` at /usr/bin/chromium (``scripts/install_chromium.sh``
installs it), or the browser named by ``$EVALKIT_CHROMIUM``. Never ``playwright
install``: it downloads a browser from the network.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Route,
    ViewportSize,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from evalkit.notebooks import CHROMIUM_FLAGS

if TYPE_CHECKING:
    import pytest

REPO = Path(__file__).resolve().parents[1]

DEFAULT_CHROMIUM = "/usr/bin/chromium"
# CHROMIUM_FLAGS (evalkit.notebooks): Playwright adds --headless and a fresh profile itself.
ALLOWED_SCHEMES = ("file:", "data:", "about:", "blob:")
FAILING_IMPACTS = ("serious", "critical")
#: Screenshots are 1000 CSS pixels wide at scale 1, which keeps each PNG small.
VIEWPORT: ViewportSize = {"width": 1000, "height": 900}


#: Facts read inside the page; each method is called as ``arg => (PAGE_JS).method(arg)``.
PAGE_JS = (Path(__file__).with_name("browser_check.js")).read_text(encoding="utf-8")


def _in_page(page: Page, method: str, arg: Any = None) -> Any:
    """Return what one PAGE_JS method gives back when run in ``page``."""
    return page.evaluate(f"arg => ({PAGE_JS}).{method}(arg)", arg)


class BrowserMissing(RuntimeError):
    """Chromium is not installed where the checker looks for it."""


@dataclass(frozen=True)
class Crop:
    """A part of a page to save as its own screenshot.

    With ``selector``, the first element matching it; with ``heading``, the
    section under the first heading whose text matches that regular
    expression (case-insensitive), down to the next heading of the same or
    a higher level; with neither, the top of the page.
    """

    name: str
    selector: str | None = None
    heading: str | None = None
    max_height: int = 1200


CHART_SELECTOR = "figure.evalkit-chart, .vega-embed"
REPORT_CROPS = (
    Crop("summary", max_height=900),
    Crop("chart", selector=CHART_SELECTOR),
    Crop("learning", heading=r"^(what we learned|the learning log)"),
)
COMPARISON_CROPS = (
    Crop("summary", max_height=900),
    Crop("forest", selector=CHART_SELECTOR),
    Crop("learning", heading=r"^what (the )?pilots are learning"),
)


@dataclass(frozen=True)
class Chart:
    """One chart as drawn: what holds the picture, its size and its description."""

    index: int
    kind: str | None  # svg, canvas or img; None when nothing was drawn
    width: float
    height: float
    marks: int  # drawn shapes and text in an svg; 1 for a decoded image or a canvas
    description: str

    @property
    def rendered(self) -> bool:
        """Return True when the chart has a visible picture with something in it."""
        return self.kind is not None and self.width > 0 and self.height > 0 and self.marks > 0


@dataclass(frozen=True)
class Violation:
    """One axe-core rule the page breaks, with the elements that break it."""

    rule: str
    impact: str
    help: str
    help_url: str
    nodes: tuple[tuple[str, str], ...]  # (CSS target, HTML snippet)

    def describe(self, limit: int = 3) -> str:
        """Return the rule, its impact and the first few elements, one line each."""
        lines = [f"{self.rule} ({self.impact}): {self.help} [{len(self.nodes)}] {self.help_url}"]
        lines += [f"    {target}: {snippet[:160]}" for target, snippet in self.nodes[:limit]]
        return "\n".join(lines)


@dataclass(frozen=True)
class PageCheck:
    """What the browser saw on one page, and the screenshots it saved."""

    path: Path
    title: str
    charts: tuple[Chart, ...]
    charts_without_js: tuple[Chart, ...]
    requests: tuple[str, ...]
    blocked: tuple[str, ...]
    page_errors: tuple[str, ...]
    headings: tuple[tuple[int, str], ...]
    main_landmarks: int
    tables_without_headers: tuple[str, ...]
    low_contrast_chart_text: tuple[str, ...]
    violations: tuple[Violation, ...]
    needs_review: tuple[str, ...]  # axe rules it could not decide, e.g. contrast of svg text
    screenshots: tuple[Path, ...] = ()
    missing_crops: tuple[str, ...] = ()

    def heading_problems(self) -> list[str]:
        """Return each place where the headings skip a level or do not start at h1."""
        problems = []
        previous = 0
        for level, text in self.headings:
            if level > previous + 1:
                problems.append(f"h{level} '{text}' follows h{previous or '(none)'}")
            previous = level
        return problems

    def violations_by_impact(self, *impacts: str) -> list[Violation]:
        """Return the axe violations whose impact is one of ``impacts``."""
        return [v for v in self.violations if v.impact in impacts]

    def problems(self, failing_impacts: Sequence[str] = FAILING_IMPACTS) -> list[str]:
        """Return every reason the page fails, in plain words; empty when it passes."""
        found = []
        for mode, charts in (("", self.charts), (" with JavaScript off", self.charts_without_js)):
            for chart in charts:
                if not chart.rendered:
                    found.append(f"chart {chart.index + 1} did not draw{mode}: {chart}")
        found += [
            f"chart {c.index + 1} has no text description" for c in self.charts if not c.description
        ]
        found += [f"request left the page: {url}" for url in self.blocked]
        found += [f"script error: {error}" for error in self.page_errors]
        found += [f"heading order: {p}" for p in self.heading_problems()]
        if self.main_landmarks != 1:
            found.append(f"expected one main landmark, found {self.main_landmarks}")
        found += [f"table without header cells: {t}" for t in self.tables_without_headers]
        found += [f"chart text below WCAG AA contrast: {t}" for t in self.low_contrast_chart_text]
        found += [f"axe {v.describe()}" for v in self.violations_by_impact(*failing_impacts)]
        found += [f"no screenshot: nothing on the page for crop '{c}'" for c in self.missing_crops]
        return found

    def summary(self) -> str:
        """Return a short report of the page: counts, then every problem and minor issue."""
        drawn = sum(c.rendered for c in self.charts)
        lines = [
            f"{self.path}: {self.title!r}",
            f"  charts drawn: {drawn}/{len(self.charts)} (JavaScript off: "
            f"{sum(c.rendered for c in self.charts_without_js)}/{len(self.charts_without_js)})",
            f"  requests: {len(self.requests)}, blocked: {len(self.blocked)}; "
            f"headings: {len(self.headings)}; main landmarks: {self.main_landmarks}",
            "  axe violations: "
            + (", ".join(f"{v.rule} ({v.impact})" for v in self.violations) or "none")
            + (f"; needs review: {', '.join(self.needs_review)}" if self.needs_review else ""),
        ]
        lines += [f"  PROBLEM {p}" for p in self.problems()]
        lines += [
            f"  note axe {v.describe()}" for v in self.violations_by_impact("moderate", "minor")
        ]
        lines += [f"  screenshot {p}" for p in self.screenshots]
        return "\n".join(lines)


def chromium_path() -> Path:
    """Return the Chromium to use; raise BrowserMissing, saying how to install it, if absent."""
    named = os.environ.get("EVALKIT_CHROMIUM") or DEFAULT_CHROMIUM
    found = shutil.which(named) or (
        shutil.which("chromium") if "EVALKIT_CHROMIUM" not in os.environ else None
    )
    if not found:
        raise BrowserMissing(
            f"Chromium is not installed (looked for {named}). The browser checks need Debian's "
            "chromium: `bash scripts/install_chromium.sh` installs it when missing (the README's "
            "test command runs it), or set EVALKIT_CHROMIUM to a Chromium or Chrome binary. "
            "Do not run `playwright install` (it downloads a browser from the network)."
        )
    return Path(found)


@contextmanager
def open_browser(executable: Path | None = None) -> Iterator[Browser]:
    """Yield headless Chromium started by Playwright; it is closed when the block ends."""
    path = executable if executable is not None else chromium_path()
    if not path.exists():
        raise BrowserMissing(
            f"Chromium is not installed at {path}; scripts/install_chromium.sh installs it"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(path), headless=True, args=list(CHROMIUM_FLAGS)
        )
        try:
            yield browser
        finally:
            browser.close()


def _offline_context(
    browser: Browser, *, javascript: bool
) -> tuple[BrowserContext, list[str], list[str]]:
    """Return a context with networking off, the list of requests seen and the list blocked."""
    context = browser.new_context(
        offline=True,
        java_script_enabled=javascript,
        viewport=VIEWPORT,
        device_scale_factor=1,
        service_workers="block",
    )
    seen: list[str] = []
    blocked: list[str] = []

    def guard(route: Route) -> None:
        url = route.request.url
        if url.startswith(ALLOWED_SCHEMES):
            route.continue_()
        else:
            if url not in blocked:
                blocked.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", guard)
    context.on("request", lambda request: seen.append(request.url))
    context.on("websocket", lambda socket: blocked.append(socket.url))
    return context, seen, blocked


def _load(page: Page, path: Path) -> None:
    page.goto(path.resolve().as_uri(), wait_until="load", timeout=60_000)
    with suppress(PlaywrightTimeout):  # a page still trying the network shows in `blocked`
        page.wait_for_load_state("networkidle", timeout=5_000)


def _charts(page: Page) -> tuple[Chart, ...]:
    facts = _in_page(page, "charts", CHART_SELECTOR)
    return tuple(Chart(**fact) for fact in facts)


def _wait_for_charts(page: Page) -> None:
    script = f"s => ({PAGE_JS}).charts(s).every(c => c.kind && c.marks > 0)"
    with suppress(PlaywrightTimeout):  # the check after this names the chart that did not draw
        page.wait_for_function(script, arg=CHART_SELECTOR, timeout=3_000)


def _run_axe(page: Page) -> tuple[tuple[Violation, ...], tuple[str, ...]]:
    from axe_playwright_python.base import AXE_SCRIPT

    page.evaluate(AXE_SCRIPT)
    response: dict[str, Any] = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    violations = tuple(
        Violation(
            rule=v["id"],
            impact=v.get("impact") or "unknown",
            help=v["help"],
            help_url=v["helpUrl"],
            nodes=tuple((", ".join(map(str, n["target"])), n["html"]) for n in v["nodes"]),
        )
        for v in response["violations"]
    )
    return violations, tuple(sorted(i["id"] for i in response["incomplete"]))


def _save_crops(
    page: Page, crops: Sequence[Crop], folder: Path, name: str
) -> tuple[list[Path], list[str]]:
    saved: list[Path] = []
    missing: list[str] = []
    for crop in crops:
        box = _in_page(
            page,
            "cropBox",
            {"selector": crop.selector, "heading": crop.heading, "maxHeight": crop.max_height},
        )
        if box is None:
            missing.append(crop.name)
            continue
        target = folder / f"{name}-{crop.name}.png"
        page.screenshot(path=str(target), clip=box, full_page=True)
        saved.append(target)
    return saved, missing


def check_page(
    browser: Browser,
    path: Path,
    *,
    screenshots: Path | None = None,
    name: str | None = None,
    crops: Sequence[Crop] = (),
    full_page: bool = True,
) -> PageCheck:
    """Return what Chromium saw opening ``path`` offline; save screenshots into ``screenshots``.

    The page is opened twice: with JavaScript, for the checks and axe-core,
    and without, to see that every chart still shows.
    """
    name = name or path.stem
    context, seen, blocked = _offline_context(browser, javascript=True)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        _load(page, path)
        _wait_for_charts(page)
        charts = _charts(page)
        facts = _in_page(page, "structure")
        violations, needs_review = _run_axe(page)
        saved: list[Path] = []
        missing: list[str] = []
        if screenshots is not None:
            screenshots.mkdir(parents=True, exist_ok=True)
            saved, missing = _save_crops(page, crops, screenshots, name)
            if full_page:
                full = screenshots / f"{name}-full.png"
                page.screenshot(path=str(full), full_page=True)
                saved.append(full)
        title = page.title()
    finally:
        context.close()

    quiet, seen_off, blocked_off = _offline_context(browser, javascript=False)
    try:
        page = quiet.new_page()
        _load(page, path)
        charts_off = _charts(page)
    finally:
        quiet.close()

    return PageCheck(
        path=path,
        title=title,
        charts=charts,
        charts_without_js=charts_off,
        requests=tuple(dict.fromkeys(seen + seen_off)),
        blocked=tuple(dict.fromkeys(blocked + blocked_off)),
        page_errors=tuple(errors),
        headings=tuple((int(h["level"]), str(h["text"])) for h in facts["headings"]),
        main_landmarks=int(facts["mains"]),
        tables_without_headers=tuple(facts["tablesWithoutHeaders"]),
        low_contrast_chart_text=tuple(facts["lowContrastText"]),
        violations=violations,
        needs_review=needs_review,
        screenshots=tuple(saved),
        missing_crops=tuple(missing),
    )


def render_examples(workdir: Path, pilots_dir: Path = REPO / "pilots") -> dict[str, Path]:
    """Return the report.html of each example pilot and comparison.html, run on copies.

    The example pilots are copied (without their reports) into ``workdir``
    so nothing is written into the repository's ``pilots/``.
    """
    from evalkit.runner import find_pilots, run_pilots
    from evalkit.runner.comparison import run_comparison

    copies = workdir / "pilots"
    for pilot in find_pilots(pilots_dir):
        shutil.copytree(pilot, copies / pilot.name, ignore=shutil.ignore_patterns("reports"))
    outcomes = run_pilots(find_pilots(copies), jobs=2)
    failed = [f"{o.pilot.name}: {o.message}" for o in outcomes if o.status != "ok"]
    if failed:
        raise RuntimeError("example pilots failed to run:\n" + "\n".join(failed))
    pages = {o.pilot.name: o.report_dir / "report.html" for o in outcomes if o.report_dir}
    out, _ = run_comparison(copies, workdir / "comparison")
    pages["comparison"] = out / "comparison.html"
    return pages


def shared_examples(factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Return :func:`render_examples`'s pages, rendered once for the whole test session.

    The test files that only read the example reports (the browser checks, the phone and
    print checks, the report's story) share one rendering: the first to ask renders it
    under a lock, in the session's own temporary folder (shared by pytest-xdist's
    workers), and the rest read what it wrote. Readers must not change the files.
    """
    base = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, above each worker's own
    root = base / "shared-examples"
    root.mkdir(exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        index = root / "pages.json"
        if not index.is_file():
            pages = render_examples(root / "work")
            index.write_text(json.dumps({k: str(v) for k, v in pages.items()}), "utf-8")
        return {k: Path(v) for k, v in json.loads(index.read_text("utf-8")).items()}


def crops_for(name: str) -> tuple[Crop, ...]:
    """Return the screenshots worth keeping for a page: the comparison's or a pilot report's."""
    return COMPARISON_CROPS if name.startswith("comparison") else REPORT_CROPS
