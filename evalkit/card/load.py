"""Loading ``pilot.yaml``: the card checked, every mistake reported at once.

Each mistake comes with its key path (``outcomes[1].better``), the line in the
file, what was found, what is allowed and, for a misspelt key, the nearest
valid one.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from evalkit.card.model import CARD_FILE, Outcome, PilotCard
from evalkit.card.reader import parse_card, read_card_text
from evalkit.errors import ConfigError, Problem


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
    raw, lines = parse_card(read_card_text(card_path), card_path)
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
            needed = " or ".join(f"data.{role}" for role in alternatives)
            add(
                "data",
                f"design '{card.design}' needs {needed}",
                f"add {needed} saying which column holds it (see README.md, 'The pilot card')",
            )
    sheet = card.data.sheet
    if isinstance(sheet, int) and sheet < 1:
        add(
            "data.sheet",
            f"found {sheet}; a sheet's position counts from 1 (1 is the first sheet)",
            "write the sheet's name, or its position: 1 for the first",
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
    problems += _template_problems(card, lines)
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
        if outcome.type == "binary":
            problems += _binary_units(outcome, f"outcomes[{index}]", lines)
    named = {
        f"learning_questions[{index}].outcomes[{place}]": name
        for index, question in enumerate(card.learning_questions)
        for place, name in enumerate(question.outcomes)
    }
    if card.costs is not None:
        named |= {f"costs.value.{name}": name for name in card.costs.value}
    known = {name for o in card.outcomes for name in (o.measure_id, o.column)}
    for key, name in named.items():
        if name not in known:
            add(
                key,
                f"'{name}' is not one of the card's outcomes",
                "name an outcome's id or column from outcomes: "
                + ", ".join(o.measure_id for o in card.outcomes),
            )
    problems += _costs_problems(card, lines)
    roles = {role.column for role in (card.data.group, card.data.period, card.data.time) if role}
    for index, outcome in enumerate(card.outcomes):
        if outcome.column in roles:
            add(
                f"outcomes[{index}].column",
                f"'{outcome.column}' is also a group, period or time column",
                "an outcome must be its own column",
            )
    return problems


def _costs_problems(card: PilotCard, lines: dict[str, int]) -> list[Problem]:
    """Return what is wrong with the card's costs: a cost given twice or not at all, or a
    cost column not declared as a number of 0 or more (values for outcomes the card lacks
    are found with the learning questions' outcomes)."""
    costs = card.costs
    if costs is None:
        return []
    problems: list[Problem] = []

    def add(key: str, message: str, hint: str) -> None:
        problems.append(Problem(_located(key, lines), message, hint))

    if costs.per_participant is not None and costs.column is not None:
        add(
            "costs.column",
            "gives each unit's cost twice: as per_participant and as a column",
            "keep per_participant (the same extra cost for each) or column (each row's own)",
        )
    if costs.per_participant is None and costs.column is None and costs.fixed == 0:
        add(
            "costs",
            "gives no cost: fixed is 0 and there is no per_participant or column",
            "add fixed: (the pilot's own costs this cycle) and per_participant: or column:",
        )
    if costs.column is not None:
        declared = card.data.columns.get(costs.column)
        numeric = declared is not None and declared.type in ("int", "float")
        if (
            not numeric
            or declared is None
            or declared.min is None
            or declared.min < 0
            or not (declared.required)
        ):
            add(
                "costs.column",
                f"'{costs.column}' must be declared under data.columns as a number of 0 or more, "
                "given on every row",
                f"add under data.columns: {costs.column}: {{type: float, min: 0, required: true}}",
            )
    return problems


def _template_problems(card: PilotCard, lines: dict[str, int]) -> list[Problem]:
    """Return what is wrong with the card's own report template (``report.template``), if any.

    It must be a notebook (``.ipynb``) inside the pilot folder with a code cell
    tagged ``parameters``, which ``evalkit run`` fills in.
    """
    if card.report is None:
        return []
    relative = card.report.template
    where = _located("report.template", lines)
    fix = "run `evalkit adapt` on the pilot to make one, or remove the report: lines"
    path = (card.folder / relative).resolve()
    if not path.is_relative_to(card.folder.resolve()):
        return [Problem(where, f"'{relative}' points outside the pilot folder", fix)]
    if path.suffix != ".ipynb":
        return [Problem(where, f"'{relative}' is not a notebook (a .ipynb file)", fix)]
    if not path.is_file():
        return [Problem(where, f"there is no file '{relative}' in the pilot folder", fix)]
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return [Problem(where, f"'{relative}' cannot be read as a notebook", fix)]
    tagged = any(
        isinstance(cell, dict)
        and cell.get("cell_type") == "code"
        and "parameters" in (cell.get("metadata") or {}).get("tags", [])
        for cell in cells
    )
    if not tagged:
        return [
            Problem(
                where,
                f"'{relative}' has no cell tagged `parameters`, which evalkit run fills in",
                "copy the parameters cell of the shipped template (pilot_report.ipynb) "
                "with its tag, or start again with `evalkit adapt`",
            )
        ]
    return []


def _binary_units(outcome: Outcome, key: str, lines: dict[str, int]) -> list[Problem]:
    """Return the problems with a yes/no outcome's numbers, which are percentages.

    A yes/no outcome is reported as a percentage, so ``hoped_change`` is in
    percentage points and ``target`` in per cent (0 to 100). A value between
    0 and 1 is most likely a share (0.05 meant as 5 points, 0.9 as 90%):
    refused as ambiguous rather than read a hundred times too small.
    """
    problems = []
    change = outcome.hoped_change
    if change is not None and 0 < abs(change) < 1:
        problems.append(
            Problem(
                _located(f"{key}.hoped_change", lines),
                "hoped_change is in percentage points for a yes/no outcome: "
                f"{change:g} would mean {abs(change):g} points",
                # a share is the likelier meaning: 0.05 written for five points
                f"write {change * 100:g} for {abs(change) * 100:g} points "
                f"{'lower' if change < 0 else 'higher'}",
            )
        )
    elif change is not None and abs(change) > 100:
        problems.append(
            Problem(
                _located(f"{key}.hoped_change", lines),
                f"hoped_change is {change:g} percentage points; a yes/no outcome "
                "can change by 100 points at most",
                "write the change in percentage points, e.g. -5 for five points lower",
            )
        )
    target = outcome.target
    if target is not None and (not 0 <= target.value <= 100 or 0 < target.value < 1):
        problems.append(
            Problem(
                _located(f"{key}.target.value", lines),
                f"found {target.value:g}: a target for a yes/no outcome is a percentage",
                "write 90 for 90% (a number from 0 to 100)"
                + (
                    f"; {target.value:g} as a share is {target.value * 100:g}"
                    if 0 < target.value < 1
                    else ""
                ),
            )
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
            "fix the value's type (see README.md, 'The pilot card')",
        )
    if kind == "value_error":  # a card rule's own words (evalkit.card.model's validators)
        said = str(error.get("ctx", {}).get("error", error["msg"]))
        return Problem(_located(key, lines), said, "")
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
