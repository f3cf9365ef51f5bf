"""Reading ``pilot.yaml`` safely: plain YAML only, and the line of every key.

A card is read as plain YAML only (no tags, anchors or aliases, at most 1 MB),
so reading any file named pilot.yaml takes a moment and little memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from evalkit.errors import ConfigError

#: A card describes a pilot in a few kilobytes; a file far larger is not a card.
MAX_CARD_BYTES = 1_000_000
#: Cards nest five or six levels; the limit keeps YAML's recursive reader far from Python's.
MAX_CARD_DEPTH = 32


def read_card_text(card_path: Path) -> str:
    """Return the card's text, refusing a file too large to be a card or not UTF-8."""
    try:
        with card_path.open("rb") as handle:
            content = handle.read(MAX_CARD_BYTES + 1)  # never more, whatever the file holds
    except OSError as exc:
        raise ConfigError(
            f"the card cannot be read ({exc.strerror})",
            path=card_path,
            hint="check the file exists and you may read it",
        ) from None
    if len(content) > MAX_CARD_BYTES:
        raise ConfigError(
            f"the card is larger than {MAX_CARD_BYTES // 1_000_000} MB; a pilot card is a few "
            "kilobytes",
            path=card_path,
            hint="keep the card to what the pilot is and measures; data belong in data.path",
        )
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"the card is not UTF-8 text (byte {exc.start})",
            path=card_path,
            hint="save the file as UTF-8",
        ) from None


def parse_card(text: str, card_path: Path) -> tuple[Any, dict[str, int]]:
    """Return the card's values and the line of each key path, from one reading of the YAML."""
    loader = _CardLoader(text, card_path)
    try:
        root = loader.get_single_node()
        return (loader.construct_document(root) if root is not None else None), _key_lines(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"the card is not valid YAML: {getattr(exc, 'problem', exc)}",
            path=card_path,
            where=str(mark.line + 1) if mark is not None else "",
            hint="check indentation and that each `key: value` is on its own line",
        ) from None
    finally:
        loader.dispose()


def _key_lines(root: yaml.Node | None) -> dict[str, int]:
    """Return the 1-based line of each key path in the card, for messages."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
                lines[key] = key_node.start_mark.line + 1
                walk(value_node, key)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                key = f"{prefix}[{index}]"
                lines[key] = item.start_mark.line + 1
                walk(item, key)

    if root is not None:
        walk(root, "")
    return lines


class _CardLoader(Composer, SafeConstructor, Resolver):
    """PyYAML's safe loader, refusing anchors, aliases and deep nesting as they are met.

    Ten lines of aliases ("billion laughs") stand for billions of values, and a card never
    needs one. Events come from libyaml where PyYAML has it: several times faster.
    """

    def __init__(self, text: str, card_path: Path) -> None:
        self._events: Any = (
            yaml.CSafeLoader(text) if yaml.__with_libyaml__ else yaml.SafeLoader(text)
        )
        self._path = card_path
        self._depth = 0
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    def check_event(self, *choices: type[yaml.Event]) -> Any:
        return self._events.check_event(*choices)

    def peek_event(self) -> Any:
        return self._events.peek_event()

    def get_event(self) -> Any:
        return self._events.get_event()

    def dispose(self) -> None:
        self._events.dispose()

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()
        if event.anchor is not None:
            sign = "alias *" if isinstance(event, yaml.AliasEvent) else "anchor &"
            self._refuse(
                event.start_mark,
                f"the card uses a YAML {sign}{event.anchor}",
                "write the value out in full; pilot cards may not use YAML anchors (&) "
                "or aliases (*)",
            )
        if getattr(event, "tag", None) is not None:
            self._refuse(
                event.start_mark,
                f"the card uses a YAML tag {event.tag}",
                "write the value as plain text, a number, a date, a list or a set of "
                "`key: value` lines; pilot cards may not use YAML tags (!!)",
            )
        if self._depth >= MAX_CARD_DEPTH:
            self._refuse(
                event.start_mark,
                f"the card nests more than {MAX_CARD_DEPTH} levels deep",
                "a card needs a few levels at most; check every [ and { is closed",
            )
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key, _ in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue  # a list or mapping as a key fails the card's own checks
                if key.value in seen:  # YAML would keep the last silently: ambiguous, refused
                    self._refuse(
                        key.start_mark,
                        f"'{key.value}' is given twice in the same place",
                        "keep one of them (the card would otherwise use the last silently)",
                    )
                seen.add(key.value)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            # YAML reads 2025-13-01 as a date, and a 5,000-digit number as a number, then fails
            shown = str(node.value)
            self._refuse(
                node.start_mark,
                f"'{shown[:40]}{'...' if len(shown) > 40 else ''}' cannot be read: {exc}",
                "write dates as YYYY-MM-DD and numbers in plain digits, or put the value in "
                "quotes to keep it as text",
            )

    def _refuse(self, mark: Any, message: str, hint: str) -> NoReturn:
        raise ConfigError(message, path=self._path, where=str(mark.line + 1), hint=hint)
