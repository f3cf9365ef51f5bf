"""Text a person typed, made inert: escaped where it enters Markdown, sanitised where HTML is made.

Every report mixes two kinds of words: evalkit's own, and text a person
typed (the card, the learning log, voice.csv, data values, column and file
names). The second kind is data, never markup. Three walls keep it so:

1. ``plain`` at the point such text enters Markdown: HTML's special characters
   become entities and Markdown's become backslash escapes, so a ``<script>``
   or a ``[link](javascript:...)`` is shown as the characters typed, in
   report.ipynb, LEARNING_LOG.md and report.html alike. Bidirectional-text
   controls (which can make text read differently from what it holds) and
   other control characters are dropped; line breaks become spaces.
2. ``clean_html`` over every HTML fragment a published page is made of
   (rendered Markdown and the charts' SVG): an allowlist sanitiser (nh3, the
   Rust ammonia library) keeps only the tags and attributes evalkit's own
   reports use, only ``http``, ``https`` and ``mailto`` links, and no images
   (evalkit's charts are inline SVG, so a report never needs one).
3. ``CONTENT_SECURITY_POLICY`` in each page's head: no script runs and nothing
   is fetched, whatever got past the first two.
"""

from __future__ import annotations

import re

import nh3

#: No script, no fetch, no form, no frame: evalkit's pages are static text, inline SVG and CSS.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "base-uri 'none'; form-action 'none'"
)

# bidi embeddings, overrides and isolates, marks, and C0/C1 controls other than whitespace
_INVISIBLE = re.compile(
    "[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
)
_SPACE = re.compile(r"\s+")
_WWW = re.compile(r"(www)\.", re.IGNORECASE)
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Markdown punctuation with a meaning anywhere in a line (CommonMark and GFM, tables, math)
_INLINE = re.compile(r"([\\`*_{}\[\]()#!|~$^])")
# punctuation with a meaning only at the start of a line: lists, quotes, headings, rules
_LEADING = re.compile(r"^(\s*)([-+=]|\d+(?=[.)]))")


def visible(value: object) -> str:
    """Return text without bidi controls or control characters, line breaks as spaces."""
    return _SPACE.sub(" ", _INVISIBLE.sub("", str(value))).strip()


def plain(value: object) -> str:
    """Return a person's text as inert Markdown: it displays as typed and never as markup."""
    text = visible(value)
    text = "".join(_ENTITIES.get(ch, ch) for ch in text)
    text = _INLINE.sub(r"\\\1", text)
    # a bare web or email address would become a link (GFM autolinks): break the pattern,
    # not the text
    text = _WWW.sub(r"\1\\.", text.replace("://", "\\://").replace("@", "\\@"))
    match = _LEADING.match(text)
    if match:
        start, mark = match.end(1), match.group(2)
        if mark.isdigit():  # "1." would start a numbered list: escape the dot after it
            end = start + len(mark)
            return text[:end] + "\\" + text[end:]
        return text[:start] + "\\" + text[start:]
    return text


def plain_code(value: object) -> str:
    """Return a name (a file, a column) as inert Markdown code: `like this`, whatever it holds."""
    text = visible(value)
    # inside code spans nothing is markup; a run of backticks longer than any inside closes it
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_HTML_TAGS = {
    "a", "blockquote", "br", "caption", "code", "del", "div", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "ol", "p", "pre", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
# what vl-convert's SVG renderer writes; nothing that can load or run anything (no image, use)
_SVG_TAGS = {
    "circle", "clipPath", "defs", "desc", "ellipse", "g", "line", "linearGradient", "path",
    "polygon", "polyline", "rect", "stop", "svg", "text", "title", "tspan",
}  # fmt: skip
_SVG_ATTRIBUTES = {
    "clip-path", "cx", "cy", "d", "display", "dx", "dy", "fill", "fill-opacity", "font-family",
    "font-size", "font-style", "font-weight", "height", "offset", "opacity", "points",
    "pointer-events", "r", "rx", "ry", "stop-color", "stop-opacity", "stroke", "stroke-dasharray",
    "stroke-dashoffset", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit",
    "stroke-opacity", "stroke-width", "text-anchor", "transform", "version", "viewBox", "width",
    "x", "x1", "x2", "xmlns", "y", "y1", "y2", "dominant-baseline", "alignment-baseline",
}  # fmt: skip
_ATTRIBUTES = {
    "*": {"class", "role", "title", "lang", "dir"},
    "a": {"href"},
    "td": {"align", "colspan", "rowspan", "style"},
    "th": {"align", "colspan", "rowspan", "scope", "style"},
    **{f"h{level}": {"id"} for level in range(1, 7)},
    **{tag: _SVG_ATTRIBUTES | {"id"} for tag in _SVG_TAGS},
}


def clean_html(fragment: str) -> str:
    """Return an HTML fragment with only the tags, attributes and links a report uses."""
    return nh3.clean(
        invisible_removed(str(fragment)),
        tags=_HTML_TAGS | _SVG_TAGS,
        attributes=_ATTRIBUTES,
        generic_attribute_prefixes={"aria-"},
        url_schemes={"http", "https", "mailto"},
        filter_style_properties={"text-align"},
        strip_comments=True,
    )


def unplain(markdown: str) -> str:
    """Return the text ``plain`` made inert, as it reads (for a page title, say)."""
    text = re.sub(r"\\(.)", r"\1", markdown)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def invisible_removed(text: str) -> str:
    """Return text (markup or not) without bidi controls or control characters."""
    return _INVISIBLE.sub("", text)
