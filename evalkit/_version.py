"""evalkit's version: one low module, so no part of the package imports its face for it."""

__version__ = "0.1.0"
