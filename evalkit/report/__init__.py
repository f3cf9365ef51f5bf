"""The report: the sections the templates display, formatting only (no estimation)."""
