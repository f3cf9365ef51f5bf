"""The one file-lock primitive, under the learning log's lock and a pilot's run lock."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from evalkit.filelock import file_lock, lock_file

HOLD = (
    "import sys, time; from pathlib import Path\n"
    "from evalkit.filelock import file_lock\n"
    "with file_lock(Path(sys.argv[1])):\n"
    "    print('held', flush=True); time.sleep(float(sys.argv[2]))"
)


def hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_held_lock_is_refused_without_waiting_and_freed_when_its_holder_ends(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lock"
    holder = hold(path, 60)
    try:
        with pytest.raises(BlockingIOError):
            lock_file(path)
        with pytest.raises(BlockingIOError):
            lock_file(path, shared=True, create=False)
    finally:
        holder.kill()
        holder.wait()

    handle = lock_file(path)  # the system let go of the killed holder's lock
    os.close(handle)


def test_file_lock_waits_for_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    holder = hold(path, 0.5)
    started = time.monotonic()
    try:
        with file_lock(path):
            waited = time.monotonic() - started
    finally:
        holder.wait()
    assert waited > 0.2


def test_shared_locks_go_together_and_keep_an_exclusive_one_out(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    path.touch()
    first = lock_file(path, shared=True, create=False)
    second = lock_file(path, shared=True, create=False)
    try:
        got: list[BaseException] = []

        def exclusive() -> None:  # flock locks belong to open files: another thread may try
            try:
                os.close(lock_file(path))
            except BlockingIOError as exc:
                got.append(exc)

        thread = threading.Thread(target=exclusive)
        thread.start()
        thread.join()
        assert len(got) == 1
    finally:
        os.close(first)
        os.close(second)


def test_a_missing_file_is_not_made_when_asked_not_to(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        lock_file(tmp_path / "lock", create=False)
    assert not (tmp_path / "lock").exists()
