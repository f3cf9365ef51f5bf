"""Take the review screenshots of one example report, on a desktop screen and on a 400 px phone.

Run from the repository root:

    python scripts/screenshots.py [--report REPORT.html] [--name NAME] [--out docs/screenshots]

Without ``--report`` it runs a copy of the example pilot ``--name`` (default
northbridge-ta) in a temporary folder; nothing in ``pilots/`` is touched.
It writes ``NAME-summary.png``, ``NAME-chart.png`` and ``NAME-learning.png``
1000 CSS pixels wide (the crops tests/browser_check.py chooses), and the
same three as ``NAME-phone-*.png`` 400 CSS pixels wide, all at scale 1 and
with the network off. docs/README.md lists the committed files.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser_check import PAGE_JS, REPORT_CROPS, BrowserMissing, open_browser  # noqa: E402

#: (suffix, width in CSS pixels) of each set of screenshots.
SCREENS = (("", 1000), ("-phone", 400))


def run_example(name: str, work: Path) -> Path:
    """Return the report.html of a copy of one example pilot, run in ``work``."""
    from evalkit.runner import find_pilots, run_pilots

    copy = work / "pilots" / name
    shutil.copytree(REPO / "pilots" / name, copy, ignore=shutil.ignore_patterns("reports"))
    (outcome,) = run_pilots(find_pilots(work / "pilots"), jobs=1)
    if outcome.status != "ok" or outcome.report_dir is None:
        raise RuntimeError(f"{name} did not run: {outcome.message}")
    return outcome.report_dir / "report.html"


def take_screenshots(report: Path, name: str, out: Path) -> tuple[list[Path], list[str]]:
    """Save each crop of ``report`` at each screen width into ``out``.

    Return the files written and the crops with nothing on the page to show.
    """
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    missing: list[str] = []
    with open_browser() as browser:
        for suffix, width in SCREENS:
            context = browser.new_context(
                offline=True,
                java_script_enabled=True,
                viewport={"width": width, "height": 900},
                device_scale_factor=1,
            )
            try:
                page = context.new_page()
                page.goto(report.resolve().as_uri(), wait_until="load")
                for crop in REPORT_CROPS:
                    box = page.evaluate(
                        f"arg => ({PAGE_JS}).cropBox(arg)",
                        {
                            "selector": crop.selector,
                            "heading": crop.heading,
                            "maxHeight": crop.max_height,
                        },
                    )
                    if box is None:
                        missing.append(f"{name}{suffix}-{crop.name}")
                        continue
                    target = out / f"{name}{suffix}-{crop.name}.png"
                    page.screenshot(path=str(target), clip=box, full_page=True)
                    saved.append(target)
            finally:
                context.close()
    return saved, missing


def main(argv: Sequence[str] | None = None) -> int:
    """Take the screenshots; return the exit code (1 when anything could not be taken)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="a report.html (default: run the example)")
    parser.add_argument("--name", default="northbridge-ta", help="the example pilot to show")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="evalkit-screenshots-") as work:
        try:
            report = args.report or run_example(args.name, Path(work))
            files, missing = take_screenshots(report, args.name, args.out)
        except (BrowserMissing, RuntimeError) as exc:
            print(exc, file=sys.stderr)
            return 1
    for path in files:
        print(f"wrote {path}")
    for crop in missing:
        print(f"no screenshot {crop}: nothing on the page for it (a heading renamed?)")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
