"""Hostile text typed anywhere a person types stays text in every published output.

One pilot with hostile text in its card, learning log, voice.csv, a data
value, a column name and its data file's name is run with the real
``evalkit run``; the central comparison is run over it. The pages are opened
in headless Chromium with JavaScript on and a loopback listener as the only
place a fetch could go: nothing may reach it, no dialog may open, no element
may carry an event handler or a ``javascript:`` link, and the page must carry
evalkit's Content-Security-Policy. The Markdown behind the pages is also
rendered with raw HTML allowed (as a notebook viewer might), so escaping at
the source is tested apart from the sanitiser and the policy.
"""

from __future__ import annotations

import html
import http.server
import json
import re
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from nbconvert.filters.markdown import markdown2html
from playwright.sync_api import Dialog

from evalkit.markup import CONTENT_SECURITY_POLICY, clean_html, plain, plain_code

from .browser_check import BrowserMissing, open_browser
from .conftest import evalkit_cmd
from .hostile import HOSTILE, hostile, make_hostile_pilot

#: Elements that can run, fetch or navigate; none may come from typed text.
LIVE_TAGS = {"script", "img", "iframe", "object", "embed", "link", "meta", "style", "form",
             "input", "base", "image", "use", "video", "audio", "source"}  # fmt: skip


class _Listener(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]]

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def listener() -> Iterator[tuple[str, list[str]]]:
    """Yield a loopback HTTP origin and the list of paths requested from it."""
    hits: list[str] = []
    handler = type("Handler", (_Listener,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def published(
    listener: tuple[str, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Return the hostile pilot's published files and the comparison over it."""
    origin, _ = listener
    base = tmp_path_factory.mktemp("hostile")
    pilot = make_hostile_pilot(base / "pilots", origin)
    ran = evalkit_cmd("run", pilot, "--runs-dir", base / "runs")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    compared = evalkit_cmd("compare", base / "pilots", "--out", base / "central")
    assert compared.returncode == 0, compared.stdout + compared.stderr
    report = pilot / "reports" / "cycle-2"
    return {
        "pilot": pilot,
        "report.html": report / "report.html",
        "report.ipynb": report / "report.ipynb",
        "results.json": report / "results.json",
        "rejected_rows.csv": report / "rejected_rows.csv",
        "LEARNING_LOG.md": pilot / "LEARNING_LOG.md",
        "comparison.html": base / "central" / "comparison.html",
        "comparison.ipynb": base / "central" / "comparison.ipynb",
    }


class _Elements(HTMLParser):
    """Every element of a page with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))


def live_markup(page: str) -> list[str]:
    """Return every element or attribute in an HTML page that could run, fetch or navigate."""
    parser = _Elements()
    parser.feed(page)
    found = []
    for tag, attrs in parser.elements:
        if tag in LIVE_TAGS:
            found.append(f"<{tag} {attrs}>")
        found += [f"<{tag} {k}=...>" for k in attrs if k.startswith("on")]
        href = attrs.get("href", "") + attrs.get("src", "") + attrs.get("xlink:href", "")
        if re.match(r"\s*(javascript|data|vbscript):", href, re.I):
            found.append(f"<{tag} href={href}>")
        if "url(" in attrs.get("style", ""):
            found.append(f"<{tag} style={attrs['style']}>")
    return found


def markdown_outputs(notebook: Path) -> list[str]:
    """Return every Markdown output a notebook shows."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    found = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            value = output.get("data", {}).get("text/markdown")
            if value:
                found.append("".join(value) if isinstance(value, list) else value)
    return found


# --- the helper ----------------------------------------------------------------------------------

RAW_HTML_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _visible(html_text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", html_text)).strip()


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_text_renders_as_itself_with_raw_html_allowed(text: str) -> None:
    for render in (RAW_HTML_MARKDOWN.render, markdown2html):
        out = render(plain(text))
        assert re.fullmatch(r"<p>.*</p>", out.strip(), re.S), out  # one paragraph, no elements
        expected = " ".join(re.sub("[\u202a-\u202e\u2066-\u2069]", "", text).split())
        assert _visible(out) == expected


@given(st.text(max_size=60))
def test_any_text_is_shown_as_typed(text: str) -> None:
    out = markdown2html(plain(text))
    assert live_markup(out) == []
    assert "<a" not in out and "<img" not in out
    # bidi and control characters are dropped, runs of spaces and line breaks become one space;
    # everything else a person typed is shown
    kept = re.sub(
        "[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]",
        "",
        text,
    )
    assert _visible(out) == " ".join(kept.split())


def test_plain_in_a_table_cell_keeps_the_table() -> None:
    table = f"| a | b |\n|---|---|\n| {plain('x | y <b>z</b>')} | 2 |"
    out = markdown2html(table)
    assert out.count("<td>") == 2 and "<b>" not in out
    assert "x | y &lt;b&gt;z&lt;/b&gt;" in out


def test_plain_code_is_one_code_span_whatever_it_holds() -> None:
    out = markdown2html(plain_code("data/ca`s`es <b>.csv"))
    assert out.count("<code>") == 1 and "<b>" not in out
    assert _visible(out) == "data/ca`s`es <b>.csv"


def test_the_sanitiser_keeps_charts_and_tables_and_drops_what_runs() -> None:
    svg = (
        '<figure class="evalkit-chart"><svg role="img" aria-label="Days" viewBox="0 0 9 9" '
        'width="9"><g transform="translate(1,1)"><path d="M0,0h9" stroke="#000"/>'
        '<text x="1" font-size="10px">Days</text></g></svg><figcaption>c</figcaption></figure>'
    )
    kept = clean_html(svg)
    for part in ('viewBox="0 0 9 9"', 'aria-label="Days"', "<path", "<text", "<figcaption>"):
        assert part in kept
    hostile = (
        '<p onclick="x()">p</p><img src="http://h/t.png"><a href="javascript:x()">a</a>'
        '<svg onload="x()"><use href="#x"/><image href="http://h/i.png"/></svg>'
        "<script>x()</script><style>*{}</style><iframe src=http://h></iframe>"
        '<td style="background:url(http://h/c.png); text-align: right">1</td>'
    )
    assert live_markup(clean_html(hostile)) == []
    assert "x()" not in clean_html(hostile)


# --- the published pilot report ------------------------------------------------------------------


def test_published_html_has_no_live_markup_and_carries_the_policy(
    published: dict[str, Path], listener: tuple[str, list[str]]
) -> None:
    origin, _ = listener
    for name in ("report.html", "comparison.html"):
        page = published[name].read_text(encoding="utf-8")
        assert live_markup(page[page.index("<body") :]) == [], name
        head = page[: page.index("</head>")]
        assert f'content="{CONTENT_SECURITY_POLICY}"' in head.replace("&#39;", "'"), name
        # the hostile words themselves are there, as text
        shown = html.unescape(_visible(page[page.index("<body") :]))
        assert sum(hostile(i, origin) in shown for i in range(len(HOSTILE))) >= 3, name


def test_markdown_behind_the_pages_is_inert_even_with_raw_html_allowed(
    published: dict[str, Path],
) -> None:
    sources = [
        *markdown_outputs(published["report.ipynb"]),
        *markdown_outputs(published["comparison.ipynb"]),
        published["LEARNING_LOG.md"].read_text(encoding="utf-8"),
    ]
    assert len(sources) > 10
    for markdown in sources:
        rendered = RAW_HTML_MARKDOWN.render(markdown)
        assert live_markup(rendered) == [], markdown[:200]
        assert "<a " not in rendered, markdown[:200]  # typed text never becomes a link


def test_bidi_controls_never_reach_a_published_file(published: dict[str, Path]) -> None:
    for name in ("report.html", "report.ipynb", "comparison.html", "LEARNING_LOG.md"):
        text = published[name].read_text(encoding="utf-8")
        assert not re.search("[\u202a-\u202e\u2066-\u2069]", text), name
        assert "\\u202e" not in text.lower(), name


def test_published_notebooks_name_no_folder_of_this_machine(published: dict[str, Path]) -> None:
    pilot = published["pilot"].resolve()
    for name in ("report.ipynb", "comparison.ipynb", "results.json"):
        text = published[name].read_text(encoding="utf-8")
        for folder in (pilot, pilot.parent, Path.home(), Path(__file__).resolve().parents[1]):
            assert str(folder) not in text, f"{name} names {folder}"
    meta = json.loads(published["report.ipynb"].read_text(encoding="utf-8"))["metadata"]
    assert meta["papermill"]["input_path"] == "pilot_report.ipynb"
    assert meta["papermill"]["output_path"] == "report.ipynb"
    assert meta["papermill"]["parameters"]["pilot_dir"] == "."


def test_pages_in_a_browser_fetch_nothing_and_run_nothing(
    published: dict[str, Path], listener: tuple[str, list[str]]
) -> None:
    origin, hits = listener
    control = published["pilot"].parent / "control.html"
    control.write_text(f'<img src="{origin}/control.png">', encoding="utf-8")
    try:
        browser_cm = open_browser()
        browser = browser_cm.__enter__()
    except BrowserMissing as exc:
        pytest.fail(str(exc))
    try:
        # the listener hears a page that does fetch, so its silence below means something
        page = browser.new_page()
        page.goto(control.resolve().as_uri(), wait_until="load")
        page.close()
        assert hits == ["/control.png"]
        hits.clear()
        for name in ("report.html", "comparison.html"):
            context = browser.new_context(java_script_enabled=True)
            page = context.new_page()
            dialogs: list[str] = []

            def dismiss(dialog: Dialog, seen: list[str] = dialogs) -> None:
                seen.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", dismiss)
            page.goto(published[name].resolve().as_uri(), wait_until="load")
            page.wait_for_timeout(1500)
            state = page.evaluate(
                """() => ({
                    handlers: [...document.querySelectorAll('*')].flatMap(
                        el => [...el.attributes].filter(a => a.name.startsWith('on'))
                            .map(a => el.tagName + ' ' + a.name)),
                    scriptLinks: [...document.querySelectorAll('[href]')].map(
                        el => el.getAttribute('href')).filter(h => /^\\s*javascript:/i.test(h)),
                    policy: [...document.querySelectorAll(
                        'meta[http-equiv="Content-Security-Policy"]')].map(m => m.content),
                    scripts: document.scripts.length,
                    images: document.images.length,
                    frames: window.frames.length,
                    url: location.href,
                })"""
            )
            context.close()
            assert dialogs == [], name
            assert state["handlers"] == [], name
            assert state["scriptLinks"] == [], name
            assert state["policy"] == [CONTENT_SECURITY_POLICY], name
            assert state["scripts"] == 0 and state["images"] == 0 and state["frames"] == 0, name
            assert state["url"] == published[name].resolve().as_uri(), name  # no refresh
    finally:
        browser_cm.__exit__(None, None, None)
    assert hits == [], f"requests reached the listener: {hits}"
