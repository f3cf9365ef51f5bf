"""The pilot card: ``pilot.yaml`` loaded into a frozen, typed model.

A card says what a pilot is, what it measures and how its data are laid out.
It is owned by the pilot: local columns and their checks are declared here,
never in central code. Every mistake in a card is reported at once, each with
its key path (``outcomes[1].better``), the line in the file, what was found,
what is allowed and, for a misspelt key, the nearest valid one. A card is read
as plain YAML only (no tags, anchors or aliases, at most 1 MB), so reading any
file named pilot.yaml takes a moment and little memory.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any, Literal, NoReturn, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from evalkit.errors import ConfigError, Problem

CARD_FILE = "pilot.yaml"
#: Counts below this are never published, unless the card says otherwise.
DEFAULT_MIN_CELL_COUNT = 10
#: A card describes a pilot in a few kilobytes; a file far larger is not a card.
MAX_CARD_BYTES = 1_000_000
#: Cards nest five or six levels; the limit keeps YAML's recursive reader far from Python's.
MAX_CARD_DEPTH = 32

Scalar = bool | int | float | dt.date | str
ColumnType = Literal["str", "int", "float", "bool", "date"]
OutcomeType = Literal["continuous", "binary", "count"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TheoryOfChange(_Model):
    problem: str = ""
    activities: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()


class GroupRole(_Model):
    """Rows whose ``column`` holds a ``pilot`` value are in the pilot; the rest the comparison.

    ``pilot`` and ``comparison`` are one value or a list (a place-based pilot
    in three wards: ``pilot: [Ashfield, Bramley, Carlton]``). ``comparison``
    may be left out when the other rows are the comparison: when the column
    holds two values, or when it is the card's unit or cluster column (the
    pilot named by place, every other place compared with it).
    """

    column: str
    pilot: Scalar | tuple[Scalar, ...]
    comparison: Scalar | tuple[Scalar, ...] | None = None

    @property
    def pilot_values(self) -> tuple[Scalar, ...]:
        """Return the values that mark rows in the pilot."""
        return self.pilot if isinstance(self.pilot, tuple) else (self.pilot,)

    @property
    def comparison_values(self) -> tuple[Scalar, ...] | None:
        """Return the values that mark comparison rows, or None when every other row is."""
        if self.comparison is None or isinstance(self.comparison, tuple):
            return self.comparison
        return (self.comparison,)


class PeriodRole(_Model):
    """Rows whose ``column`` equals ``post`` are after the change; ``pre`` the rest."""

    column: str
    post: Scalar
    pre: Scalar | None = None


class TimeRole(_Model):
    """A time column and when the change started.

    ``start`` is the first period of the change for everyone; with staggered
    adoption, ``start_column`` names a column holding each unit's own first
    period in the pilot (blank for units never in it). ``seasonality`` adds
    month or quarter effects to an interrupted time series.
    """

    column: str
    start: Scalar | None = None
    start_column: str | None = None
    seasonality: Literal["none", "month", "quarter"] = "none"


class LocalColumn(_Model):
    """A pilot's own column with its own checks (permitted variation)."""

    type: ColumnType = "str"
    min: float | None = None
    max: float | None = None
    allowed: tuple[Scalar, ...] | None = None
    required: bool = False
    label: str = ""


class DataSpec(_Model):
    path: str
    sheet: str | int | None = None
    unit: str | None = None
    group: GroupRole | None = None
    period: PeriodRole | None = None
    time: TimeRole | None = None
    cluster: str | None = None
    covariates: tuple[str, ...] = ()
    columns: dict[str, LocalColumn] = Field(default_factory=dict)
    max_rejected_share: float = Field(default=0.10, ge=0.0, le=1.0)


class PlanSpec(_Model):
    """What planning the pilot's size assumes (for the minimum detectable effect)."""

    power: float = Field(default=0.8, gt=0.0, lt=1.0)
    alpha: float = Field(default=0.05, gt=0.0, lt=1.0)
    icc: float | None = Field(default=None, ge=0.0, le=1.0)  # intra-cluster correlation


class QualitySpec(_Model):
    """How the pilot's data-trust checks are set up, chosen before results are seen."""

    attrition_boundary: Literal["cautious", "optimistic"] = "cautious"
    eligible: str | None = None  # a file describing everyone eligible, to compare who is served
    pseudonymise_rejected: bool = False  # replace unit ids in rejected_rows.csv by salted hashes
    categories: tuple[str, ...] = ()  # columns whose mix over time is watched for recording breaks


class Target(_Model):
    value: float
    note: str = ""


class Outcome(_Model):
    column: str
    id: str = ""
    label: str = ""
    type: OutcomeType = "continuous"
    better: Literal["higher", "lower"]
    unit: str = ""
    min: float | None = None
    max: float | None = None
    target: Target | None = None
    hoped_change: float | None = None  # the change the team hopes to see, for planning

    @property
    def measure_id(self) -> str:
        """Return the shared measure id used to pool this outcome across pilots."""
        return self.id or self.column

    @property
    def name(self) -> str:
        """Return the label people read, falling back to the column name."""
        return self.label or self.column.replace("_", " ").capitalize()


class PilotCard(_Model):
    id: str = ""
    name: str
    place: str
    team: str = ""
    cycle: int = Field(default=1, ge=1)
    theory_of_change: TheoryOfChange = TheoryOfChange()
    learning_questions: tuple[str, ...] = ()
    #: a design in the registry (evalkit.estimate.registry): pre_post, did, its, rct, ...
    design: str
    data: DataSpec
    outcomes: tuple[Outcome, ...] = Field(min_length=1)
    voice: str | None = None
    quality: QualitySpec = QualitySpec()
    plan: PlanSpec = PlanSpec()
    min_cell_count: int = Field(default=DEFAULT_MIN_CELL_COUNT, ge=1)
    folder: Path = Field(default=Path("."), exclude=True)

    @property
    def card_path(self) -> Path:
        """Return the path of this pilot's ``pilot.yaml``."""
        return self.folder / CARD_FILE

    @property
    def data_path(self) -> Path:
        """Return the data file's path, resolved inside the pilot folder."""
        return self.folder / self.data.path

    @property
    def reports_dir(self) -> Path:
        """Return the folder that holds this pilot's generated reports."""
        return self.folder / "reports"

    def report_dir(self, cycle: int | None = None) -> Path:
        """Return the report folder for a cycle (the current one by default)."""
        return self.reports_dir / f"cycle-{cycle if cycle is not None else self.cycle}"


def load_pilot(path: Path | str) -> PilotCard:
    """Return the pilot card in a pilot folder (or at a ``pilot.yaml`` path), checked."""
    path = Path(path)
    card_path = path if path.is_file() or path.suffix in {".yaml", ".yml"} else path / CARD_FILE
    folder = card_path.parent
    if not card_path.is_file():
        raise ConfigError(
            "no pilot card here",
            path=card_path,
            hint=f"create one with `evalkit new {folder}` or point at a folder with {CARD_FILE}",
        )
    raw, lines = _parse_card(_read_card(card_path), card_path)
    if not isinstance(raw, dict):
        raise ConfigError(
            "the card must be a set of `key: value` lines",
            path=card_path,
            hint="start from the card written by `evalkit new`",
        )
    raw.setdefault("id", folder.resolve().name)
    try:
        card = PilotCard.model_validate({**raw, "folder": folder})
    except ValidationError as exc:
        errors = exc.errors()
        problems = [_problem_from(e, lines) for e in errors if not _is_echo(e, errors)]
        raise ConfigError(
            f"{len(problems)} problem(s) in the pilot card", path=card_path, problems=problems
        ) from None
    problems = _check_card(card, lines)
    if problems:
        raise ConfigError(
            f"{len(problems)} problem(s) in the pilot card", path=card_path, problems=problems
        )
    return card


def _check_card(card: PilotCard, lines: dict[str, int]) -> list[Problem]:
    """Return the problems no single field can see: design roles, duplicates, paths."""
    problems: list[Problem] = []

    def add(key: str, message: str, hint: str) -> None:
        problems.append(Problem(_located(key, lines), message, hint))

    # the card asks the registry what its design needs; the registry loads no estimator
    from evalkit.estimate.registry import design_names, get_design

    design = get_design(card.design)
    if design is None:
        names = design_names()
        near = difflib.get_close_matches(card.design, names, n=1, cutoff=0.5)
        add(
            "design",
            f"found {card.design!r}; allowed: {', '.join(repr(n) for n in names)}",
            f"did you mean '{near[0]}'?" if near else "use one of those",
        )
    for alternatives in design.needs if design is not None else ():
        if all(getattr(card.data, role) is None for role in alternatives):
            names = " or ".join(f"data.{role}" for role in alternatives)
            add(
                "data",
                f"design '{card.design}' needs {names}",
                f"add {names} saying which column holds it (see DESIGN.md, the pilot card)",
            )
    time = card.data.time
    if (
        time is not None
        and time.start is None
        and time.start_column is None
        and (card.data.period is None)
    ):
        add(
            "data.time",
            "data.time needs `start` (the first period of the change) when there is no data.period",
            "add start: with the first period after the change, e.g. start: 2025-04",
        )
    group = card.data.group
    if group is not None:
        if not group.pilot_values:
            add("data.group.pilot", "names no pilot value", "list the pilot's values, e.g. [A, B]")
        overlap = set(map(str, group.pilot_values)) & set(map(str, group.comparison_values or ()))
        if overlap:
            add(
                "data.group.comparison",
                f"'{sorted(overlap)[0]}' is named as both pilot and comparison",
                "name each value once, under pilot or under comparison",
            )
    paths = (
        ("data.path", card.data.path),
        ("voice", card.voice),
        ("quality.eligible", card.quality.eligible),
    )
    for key, relative in paths:
        if relative is None:
            continue
        resolved = (card.folder / relative).resolve()
        if not resolved.is_relative_to(card.folder.resolve()):
            add(
                key,
                f"'{relative}' points outside the pilot folder",
                "keep the pilot's files inside its own folder, e.g. data/cases.csv",
            )
    seen: dict[str, int] = {}
    for index, outcome in enumerate(card.outcomes):
        for value, field in ((outcome.column, "column"), (outcome.measure_id, "id")):
            key = f"{field}:{value}"
            if key in seen:
                add(
                    f"outcomes[{index}].{field}",
                    f"'{value}' is used by outcomes[{seen[key]}] already",
                    "give each outcome its own column and id",
                )
            seen.setdefault(key, index)
        if outcome.min is not None and outcome.max is not None and outcome.min > outcome.max:
            add(f"outcomes[{index}].min", "min is larger than max", "swap min and max")
    roles = {role.column for role in (card.data.group, card.data.period, card.data.time) if role}
    for index, outcome in enumerate(card.outcomes):
        if outcome.column in roles:
            add(
                f"outcomes[{index}].column",
                f"'{outcome.column}' is also a group, period or time column",
                "an outcome must be its own column",
            )
    return problems


# --- turning pydantic's errors into plain problems ---------------------------------------------


def _dotted(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _located(key: str, lines: dict[str, int]) -> str:
    line = lines.get(key) or lines.get(key.rsplit(".", 1)[0]) if key else None
    return f"line {line}, {key}" if line else key


def _problem_from(error: Any, lines: dict[str, int]) -> Problem:
    loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
    key = _dotted(loc)
    found = error.get("input")
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        valid = sorted(_fields_at(loc[:-1]))
        near = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
        hint = f"did you mean '{near[0]}'?" if near else f"valid keys here: {', '.join(valid)}"
        return Problem(_located(key, lines), f"unknown key '{name}'", hint)
    if kind == "missing":
        return Problem(
            _located(_dotted(loc[:-1]), lines),
            f"required key '{loc[-1]}' is missing",
            f"add `{loc[-1]}:` here",
        )
    if kind in {"literal_error", "enum"}:
        expected = error.get("ctx", {}).get("expected", "")
        return Problem(
            _located(key, lines), f"found {found!r}; allowed: {expected}", "use one of those"
        )
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "model_type":
        return Problem(
            _located(key, lines),
            f"found {found!r}; {error['msg'].lower()}",
            "fix the value's type (see DESIGN.md, the pilot card)",
        )
    return Problem(_located(key, lines), f"found {found!r}; {error['msg'].lower()}", "")


def _is_echo(error: Any, errors: list[Any]) -> bool:
    """Return True for pydantic's "too short" on a list whose items failed (not a real problem)."""
    loc = error["loc"]
    return error["type"] == "too_short" and any(
        len(other["loc"]) > len(loc) and other["loc"][: len(loc)] == loc for other in errors
    )


def _is_union_tag(part: int | str) -> bool:
    # pydantic adds the member type's name to the location of a union's error
    return isinstance(part, str) and (
        part in {"bool", "int", "float", "date", "str", "none"} or "[" in part
    )


def _fields_at(loc: tuple[int | str, ...]) -> set[str]:
    """Return the keys allowed at a location in the card."""
    model: Any = PilotCard
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return set()
        field = model.model_fields.get(str(part))
        if field is None:
            # inside a mapping such as data.columns.<name>
            model = _inner_model(model)
            continue
        model = _inner_model(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return {name for name, f in model.model_fields.items() if not f.exclude}
    return set()


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


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


# --- reading the YAML safely -----------------------------------------------------------------


def _read_card(card_path: Path) -> str:
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


def _parse_card(text: str, card_path: Path) -> tuple[Any, dict[str, int]]:
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
