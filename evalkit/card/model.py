"""The pilot card as a frozen, typed model: what a pilot is, measures, and how its data look.

A card is owned by the pilot: local columns and their checks are declared
here, never in central code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

CARD_FILE = "pilot.yaml"
#: Counts below this are never published, unless the card says otherwise.
DEFAULT_MIN_CELL_COUNT = 10

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
    #: a workbook's sheet: its name, or its position counted from 1 (sheet: 1 is the first)
    sheet: str | int | None = None
    #: the spreadsheet line the column names are on; by default the first row holding them
    header_row: int | None = Field(default=None, ge=1)
    #: what marks decimals in numbers: "," reads 88,5 as 88.5 (then "." and spaces group)
    decimal: Literal[".", ","] = "."
    #: a CSV's delimiter (",", ";", "tab" or "|"); by default detected from the first lines
    delimiter: Literal[",", ";", "|", "tab", "\t"] | None = None
    #: a CSV's text encoding (e.g. "utf-8", "cp1252"); by default UTF-8, else Windows-1252
    encoding: str | None = None
    unit: str | None = None
    group: GroupRole | None = None
    period: PeriodRole | None = None
    time: TimeRole | None = None
    cluster: str | None = None
    #: a count outcome is read as a rate per 1,000 of this column (a synthetic comparison)
    population: str | None = None
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
    #: context only, never pass/fail; in the outcome's unit, and for a binary (yes/no)
    #: outcome a percentage from 0 to 100 (90 is 90%), as the report shows it
    target: Target | None = None
    #: the change the team hopes to see, for planning; in the outcome's unit, and for a binary
    #: outcome in percentage points (-5 is five points lower: from 40% to 35%)
    hoped_change: float | None = None

    @property
    def measure_id(self) -> str:
        """Return the shared measure id used to pool this outcome across pilots."""
        return self.id or self.column

    @property
    def name(self) -> str:
        """Return the label people read, falling back to the column name."""
        return self.label or self.column.replace("_", " ").capitalize()


class LearningQuestion(_Model):
    """A question the pilot wants answered, and the outcomes (ids or columns) that answer it.

    Written on the card as plain text, or as ``{ask: ..., outcomes: [...]}`` to say which
    outcomes answer it; without ``outcomes`` the report matches it to outcomes by their words.
    """

    ask: str
    outcomes: tuple[str, ...] = ()


class CostsSpec(_Model):
    """What the pilot costs over usual service this cycle, and what a unit of outcome is worth.

    ``fixed`` is the pilot's own cost this cycle (staff, set-up); each unit it
    serves adds ``per_participant``, or its own extra cost in the data's
    ``column``. ``value`` gives, for an outcome's id or column, what one unit
    of it is worth (one day, or one more family with a yes outcome), in ``currency``.
    """

    currency: str  # ISO 4217: GBP, EUR, USD
    fixed: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    per_participant: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    column: str | None = None
    value: dict[str, float] = Field(default_factory=dict)

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 3 or not code.isascii() or not code.isalpha():
            raise ValueError(
                f"'{value}' is not a currency code; write its three letters, such as GBP, EUR "
                "or USD"
            )
        return code

    @field_validator("value")
    @classmethod
    def _values_are_worth_something(cls, value: dict[str, float]) -> dict[str, float]:
        for name, worth in value.items():
            if not (worth >= 0 and worth < float("inf")):
                raise ValueError(f"the value of one unit of '{name}' must be a number, 0 or more")
        return value


class ReportSpec(_Model):
    """The pilot's own report template (permitted variation), instead of the shipped one.

    ``template`` is a notebook inside the pilot folder, relative to it, with a
    papermill ``parameters`` cell (``evalkit adapt`` makes one from the shipped template).
    """

    template: str


class PilotCard(_Model):
    id: str = ""
    name: str
    place: str
    team: str = ""
    cycle: int = Field(default=1, ge=1)
    theory_of_change: TheoryOfChange = TheoryOfChange()
    learning_questions: tuple[LearningQuestion, ...] = ()
    #: a design in the registry (evalkit.estimate.registry): pre_post, did, its, rct, ...
    design: str
    data: DataSpec
    outcomes: tuple[Outcome, ...] = Field(min_length=1)
    voice: str | None = None
    quality: QualitySpec = QualitySpec()
    plan: PlanSpec = PlanSpec()
    min_cell_count: int = Field(default=DEFAULT_MIN_CELL_COUNT, ge=1)
    #: the pilot's own report template; None runs the shipped one
    report: ReportSpec | None = None
    #: what the pilot costs and what its outcomes are worth; None: no value-for-money section
    costs: CostsSpec | None = None
    folder: Path = Field(default=Path("."), exclude=True)

    @field_validator("learning_questions", mode="before")
    @classmethod
    def _questions_as_text(cls, value: Any) -> Any:
        """Read a question written as plain text as one with no outcomes named."""
        if isinstance(value, list | tuple):
            return [{"ask": item} if isinstance(item, str) else item for item in value]
        return value

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
