"""The validated data a run hands its kernel: read back as they were, from a private file."""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import pandas as pd
import pytest

from evalkit.card import load_pilot
from evalkit.contract import validate_data
from evalkit.contract.handover import handed_over, read_validation
from evalkit.errors import NotebookError
from tests.conftest import PilotFactory


def test_a_handed_over_validation_reads_back_as_the_kernel_would_see_it(
    make_pilot: PilotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    pilot = make_pilot()
    monkeypatch.chdir(pilot.parent)
    validation = validate_data(load_pilot(Path(pilot.name)))

    with handed_over(validation, pilot) as path:
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700  # this user's only
        monkeypatch.chdir(pilot)  # where the kernel runs
        back = read_validation(str(path))

    assert not path.exists() and not path.parent.exists()
    assert back is not None
    # the paths are relative to the kernel's folder, as it would have found them itself
    assert back.card.folder == Path(".")
    assert back.path == Path("data/cases.csv")
    assert back.path.is_file()
    assert back.card.model_copy(update={"folder": validation.card.folder}) == validation.card
    pd.testing.assert_frame_equal(back.valid, validation.valid)
    assert (back.sha256, back.rows_read) == (validation.sha256, validation.rows_read)


def test_without_a_file_there_is_no_validation() -> None:
    assert read_validation(None) is None


def test_a_file_that_holds_no_validation_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.pickle"
    other.write_bytes(pickle.dumps({"not": "a validation"}))
    gone = tmp_path / "gone.pickle"

    with pytest.raises(NotebookError, match="holds no validated data"):
        read_validation(other)
    with pytest.raises(NotebookError, match="cannot be read") as caught:
        read_validation(gone)
    assert "leave validation_file None" in caught.value.render()


def test_the_file_is_removed_when_the_run_fails(make_pilot: PilotFactory) -> None:
    validation = validate_data(load_pilot(make_pilot()))

    with pytest.raises(RuntimeError), handed_over(validation, validation.card.folder) as path:
        raise RuntimeError("the kernel failed")

    assert not path.parent.exists()
    assert os.path.isdir(path.parent.parent)
