"""Open evalkit reports in headless Chromium with the network off, check them, take screenshots.

Run from the repository root:

    python scripts/check_reports_in_browser.py REPORT.html [...] [--screenshots DIR]
    python scripts/check_reports_in_browser.py --examples [--screenshots DIR] [--crops-only]
        [--only NAME ...]

``--examples`` runs copies of the example pilots in ``pilots/`` and the
central comparison in a temporary folder, then checks all their pages. Each
page's summary is printed; the exit code is 0 when every page passes and 1
when any page has a problem (a chart that did not draw, a request that left
the page, headings out of order, no main landmark, a table without headers,
chart text below AA contrast, or a serious or critical axe-core violation).
The checks live in ``tests/browser_check.py``; docs/README.md says how the
committed screenshots are made.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser_check import (
    BrowserMissing,
    check_page,
    crops_for,
    open_browser,
    render_examples,
)


def page_name(path: Path) -> str:
    """Return a name for a page's screenshots: the pilot's id for a report, else the file's stem."""
    parts = path.resolve().parts
    if path.name == "report.html" and len(parts) >= 4 and parts[-3] == "reports":
        return parts[-4]
    return path.stem


def main(argv: Sequence[str] | None = None) -> int:
    """Check the pages named on the command line (or the examples); return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=Path, help="HTML files to check")
    parser.add_argument("--examples", action="store_true", help="run and check the example pilots")
    parser.add_argument(
        "--screenshots", type=Path, help="folder for screenshots (default: a temporary one)"
    )
    parser.add_argument("--crops-only", action="store_true", help="save crops, not full pages")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="check only this page (a pilot id or 'comparison'); may be repeated",
    )
    args = parser.parse_args(argv)
    if not args.pages and not args.examples:
        parser.error("name at least one HTML file, or --examples")
    shots = args.screenshots or Path(tempfile.mkdtemp(prefix="evalkit-screenshots-"))
    with tempfile.TemporaryDirectory(prefix="evalkit-examples-") as work:
        pages = {page_name(p): p for p in args.pages}
        if args.examples:
            try:
                pages.update(render_examples(Path(work)))
            except RuntimeError as exc:
                print(exc, file=sys.stderr)
                return 1
        if args.only:
            pages = {name: path for name, path in pages.items() if name in args.only}
        try:
            with open_browser() as browser:
                checks = [
                    check_page(
                        browser,
                        path,
                        screenshots=shots,
                        name=name,
                        crops=crops_for(name),
                        full_page=not args.crops_only,
                    )
                    for name, path in pages.items()
                ]
        except BrowserMissing as exc:
            print(exc, file=sys.stderr)
            return 1
        for check in checks:
            print(check.summary())
    failing = [c for c in checks if c.problems()]
    print(f"{len(checks) - len(failing)} of {len(checks)} page(s) passed; screenshots in {shots}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
