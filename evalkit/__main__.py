"""``python -m evalkit``: the same as the ``evalkit`` command."""

from evalkit.cli import main

main()
