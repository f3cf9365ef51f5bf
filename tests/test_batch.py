"""Running many pilots as `evalkit run` does: the manifest is written however the run ends."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evalkit.runner import Batch, RunOutcome, batch, run_batch


def test_a_run_stopped_by_sigterm_still_writes_its_manifest_and_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pilots = [tmp_path / "pilots" / name for name in ("a", "b")]

    def first_then_stopped(
        pilot_dirs: list[Path], *, on_done: Callable[[RunOutcome], None], **_: Any
    ) -> list[RunOutcome]:
        on_done(RunOutcome(pilot_dirs[0], "skipped", 0.0, note="unchanged since its last report"))
        os.kill(os.getpid(), signal.SIGTERM)  # a scheduler's timeout
        raise AssertionError("SIGTERM did not stop the run")

    monkeypatch.setattr(batch, "run_pilots", first_then_stopped)
    ended: list[Batch] = []
    before = signal.getsignal(signal.SIGTERM)

    with pytest.raises(KeyboardInterrupt):
        run_batch(pilots, jobs=1, runs_dir=tmp_path / "runs", on_end=ended.append)

    assert signal.getsignal(signal.SIGTERM) == before
    (done,) = ended
    assert done.failed is False
    assert [row[:2] for row in done.summary()] == [("a", "skipped"), ("b", "interrupted")]
    assert done.manifest is not None
    manifest = json.loads(done.manifest.read_text(encoding="utf-8"))
    assert [p["status"] for p in manifest["pilots"]] == ["skipped", "interrupted"]
    assert manifest["options"]["jobs"] == 1


def test_a_manifest_that_cannot_be_written_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "run_pilots", lambda *args, **kwargs: [])
    (tmp_path / "runs").write_text("a file where the folder should be", encoding="utf-8")

    done = run_batch([tmp_path / "pilots" / "a"], runs_dir=tmp_path / "runs")

    assert done.manifest is None
    assert done.manifest_problem
    assert done.failed
