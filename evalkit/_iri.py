"""Two seconds off every interpreter's start: jsonschema's IRI grammar, built on first use.

jsonschema (imported by altair, nbformat and papermill) imports the optional
``rfc3987-syntax`` package for its "iri" and "iri-reference" format checks,
and that package builds its Earley parsers when it is imported: about 2 s of
every process that imports evalkit (the command line, each kernel, each
worker), for checks evalkit and the schemas it validates never use
(python-jsonschema/jsonschema#1428). :func:`defer_iri_grammar`, called before
anything imports jsonschema, puts a stand-in under that package's name whose
``is_valid_syntax`` imports the real package the first time it is called and
then does exactly what it does; any other name is read from the real package.
Nothing changes when jsonschema is already imported, or the package is missing.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

#: The package jsonschema reads ``is_valid_syntax`` from.
PACKAGE = "rfc3987_syntax"

_loading = threading.Lock()


class _Deferred(types.ModuleType):
    """Stands in for the package until something needs it, then hands over to it."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the import system's questions (``__path__``...) load nothing
            raise AttributeError(name)
        return getattr(_real(), name)


def is_valid_syntax(term: str, value: str) -> bool:
    """Return what the real package's ``is_valid_syntax`` returns (loading it the first time)."""
    return bool(_real().is_valid_syntax(term, value))


def _real() -> types.ModuleType:
    """Return the real package, importing it in place of the stand-in the first time."""
    with _loading:
        module = sys.modules.get(PACKAGE)
        if isinstance(module, _Deferred):
            del sys.modules[PACKAGE]
            module = importlib.import_module(PACKAGE)
        if module is None:
            raise ImportError(PACKAGE)
        return module


def defer_iri_grammar() -> bool:
    """Put the stand-in in place; return whether it was (False: too late, or not installed)."""
    if PACKAGE in sys.modules or "jsonschema" in sys.modules:
        return False
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None:
        return False
    stand_in = _Deferred(PACKAGE, __doc__)
    stand_in.__spec__ = spec  # what importlib.util.find_spec answers for it meanwhile
    stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    sys.modules[PACKAGE] = stand_in
    return True
