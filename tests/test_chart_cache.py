"""Charts are drawn once: the same spec is read back from the cache, never rendered again."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import vl_convert

from evalkit.charts import _render

SPEC: dict[str, Any] = {
    "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
    "data": {"values": [{"x": 1, "y": 2}, {"x": 2, "y": 3}]},
    "mark": "point",
    "encoding": {"x": {"field": "x", "type": "quantitative"}},
}


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Return the specs vl-convert is asked to draw, as they are drawn."""
    drawn: list[dict[str, Any]] = []
    real = vl_convert.vegalite_to_svg

    def counted(spec: dict[str, Any], **options: Any) -> str:
        drawn.append(spec)
        return str(real(spec, **options))

    monkeypatch.setattr(vl_convert, "vegalite_to_svg", counted)
    return drawn


def test_the_same_spec_is_drawn_once_and_a_changed_one_again(
    renders: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(_render.CACHE_VARIABLE, str(tmp_path / "charts"))
    first = _render.render_svg(SPEC)
    assert _render.render_svg(SPEC) == first and len(renders) == 1
    changed = {**SPEC, "mark": "bar"}
    assert _render.render_svg(changed) != first and len(renders) == 2
    folder = tmp_path / "charts"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # its owner's only
    assert sorted(p.suffix for p in folder.iterdir()) == [".svg", ".svg"]  # no half-written


def test_an_empty_setting_turns_the_cache_off_and_an_unwritable_one_is_not_used(
    renders: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(_render.CACHE_VARIABLE, "")
    _render.render_svg(SPEC)
    _render.render_svg(SPEC)
    assert len(renders) == 2
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv(_render.CACHE_VARIABLE, str(blocked / "charts"))
    assert _render.cache_folder() is None
    assert "<svg" in _render.render_svg(SPEC) and len(renders) == 3
