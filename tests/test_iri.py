"""jsonschema's optional IRI grammar is built the first time it is used, not at every start."""

from __future__ import annotations

import json
import subprocess
import sys

#: Run in a fresh interpreter: import evalkit then what imports jsonschema, and report
#: whether the grammar was built, then use the IRI checks and report again.
PROBE = """
import json, sys
import evalkit, altair, nbformat, jsonschema
from evalkit._iri import PACKAGE, _Deferred
before = isinstance(sys.modules[PACKAGE], _Deferred)
checker = jsonschema.FormatChecker()
values = ["http://example.org/caf\\u00e9", "http://a/b c", "not an iri", "../relative/path", 7]
answers = {f: [checker.conforms(v, f) for v in values] for f in ("iri", "iri-reference")}
after = isinstance(sys.modules[PACKAGE], _Deferred)
import rfc3987_syntax
direct = rfc3987_syntax.is_valid_syntax("iri", "urn:isbn:0451450523")
print(json.dumps({"before": before, "after": after, "answers": answers, "direct": direct,
                  "parser": rfc3987_syntax.RFC3987_SYNTAX_PARSER_TYPE}))
"""


def _probe(code: str) -> dict[str, object]:
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    result: dict[str, object] = json.loads(ran.stdout)
    return result


def test_importing_evalkit_and_jsonschema_does_not_build_the_iri_grammar() -> None:
    result = _probe(PROBE)
    assert result["before"] is True  # imported, nothing built
    assert result["after"] is False  # the first IRI check loaded the real package
    assert result["direct"] is True and result["parser"] == "earley"


def test_the_iri_checks_answer_exactly_as_without_evalkit() -> None:
    with_evalkit = _probe(PROBE)["answers"]
    plain = _probe(
        PROBE.replace("import evalkit, altair", "import altair")
        .replace("from evalkit._iri import PACKAGE, _Deferred", "PACKAGE, _Deferred = 'x', None")
        .replace("isinstance(sys.modules[PACKAGE], _Deferred)", "False")
    )["answers"]
    assert with_evalkit == plain
    assert with_evalkit == {
        "iri": [True, False, False, False, True],
        "iri-reference": [True, False, False, True, True],
    }


def test_nothing_is_changed_when_jsonschema_came_first() -> None:
    code = (
        "import sys, jsonschema, evalkit, rfc3987_syntax\n"
        "from evalkit._iri import _Deferred, defer_iri_grammar\n"
        "print(int(isinstance(sys.modules['rfc3987_syntax'], _Deferred)), int(defer_iri_grammar()))"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["0", "0"]
