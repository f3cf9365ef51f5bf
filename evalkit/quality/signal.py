"""A signal: something about the data the local team should look at, never a penalty."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["info", "question", "concern"]


class Signal(BaseModel):
    """Something about the data the team should look at, in plain words, with its numbers."""

    model_config = ConfigDict(frozen=True)

    kind: str
    level: Level
    message: str
    numbers: dict[str, Any] = Field(default_factory=dict)
