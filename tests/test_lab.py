"""`evalkit lab`: arguments passed to JupyterLab, root, and no server left running when stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from evalkit.notebooks.lab import LabCommand, lab_command

from .conftest import REPO, evalkit_cmd

#: A stand-in for `python -m jupyter`: records its pid and arguments, then waits to be stopped.
FAKE_JUPYTER = """\
import json, os, signal, sys, time
from pathlib import Path

record = Path(os.environ["FAKE_JUPYTER_RECORD"])
ignore = os.environ.get("FAKE_JUPYTER_IGNORE_TERM") == "1"


def stopped(signum, frame):
    with record.with_suffix(".signals").open("a") as out:
        out.write(f"{{signum}}\\n")
    if not ignore:
        sys.exit(0)


signal.signal(signal.SIGTERM, stopped)
signal.signal(signal.SIGINT, stopped)
record.write_text(json.dumps({{"pid": os.getpid(), "args": sys.argv[1:]}}))
while True:
    time.sleep(0.05)
"""


def fake_jupyter(tmp_path: Path) -> Path:
    """Write a `jupyter` package that `python -m jupyter` finds before the real one."""
    package = tmp_path / "fake" / "jupyter"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(FAKE_JUPYTER.format())
    return package.parent


def wait_for(path: Path, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not (path.is_file() and path.read_text()):
        assert time.monotonic() < deadline, f"{path} was never written"
        time.sleep(0.05)


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by an orphan's new parent) is not running
    status = Path(f"/proc/{pid}/status")
    return not (status.is_file() and "State:\tZ" in status.read_text())


def start_evalkit(tmp_path: Path, *args: str, ignore_term: bool = False) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(fake_jupyter(tmp_path)), str(REPO)]),
        "FAKE_JUPYTER_RECORD": str(tmp_path / "jupyter.json"),
        "FAKE_JUPYTER_IGNORE_TERM": "1" if ignore_term else "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "evalkit", "lab", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def recorded(tmp_path: Path) -> dict[str, object]:
    import json

    wait_for(tmp_path / "jupyter.json")
    found: dict[str, object] = json.loads((tmp_path / "jupyter.json").read_text())
    return found


def jupyter_args(tmp_path: Path, *args: str) -> list[str]:
    """Return the arguments `evalkit lab ARGS` started JupyterLab with, then stop it."""
    evalkit = start_evalkit(tmp_path, *args)
    try:
        passed = recorded(tmp_path)["args"]
    finally:
        evalkit.send_signal(signal.SIGTERM)
        evalkit.communicate(timeout=20)
    assert isinstance(passed, list)
    return [str(arg) for arg in passed]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_stopping_evalkit_stops_jupyterlab_and_leaves_no_server(
    tmp_path: Path, stop: signal.Signals
) -> None:
    evalkit = start_evalkit(tmp_path, "--no-browser", "--", "--port", "8899")
    child = recorded(tmp_path)
    pid = int(str(child["pid"]))
    assert is_running(pid)

    evalkit.send_signal(stop)
    _, stderr = evalkit.communicate(timeout=20)

    assert evalkit.returncode == 0, stderr
    assert not is_running(pid)
    # passed on as SIGTERM: JupyterLab's clean shutdown, with no "are you sure?" prompt
    signals = (tmp_path / "jupyter.signals").read_text().split()
    assert signals and set(signals) == {str(int(signal.SIGTERM))}


def test_a_server_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    script = tmp_path / "stubborn.py"
    script.write_text(FAKE_JUPYTER.format())
    os.environ["FAKE_JUPYTER_RECORD"] = str(tmp_path / "jupyter.json")
    os.environ["FAKE_JUPYTER_IGNORE_TERM"] = "1"
    driver = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from evalkit.notebooks.lab import LabCommand
        command = LabCommand((sys.executable, {str(script)!r}), Path({str(tmp_path)!r}))
        sys.exit(command.run(grace=1.0))
        """
    )
    try:
        evalkit = subprocess.Popen(
            [sys.executable, "-c", driver],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        pid = int(str(recorded(tmp_path)["pid"]))
        started = time.monotonic()
        evalkit.send_signal(signal.SIGTERM)
        _, stderr = evalkit.communicate(timeout=20)
    finally:
        del os.environ["FAKE_JUPYTER_RECORD"], os.environ["FAKE_JUPYTER_IGNORE_TERM"]

    assert time.monotonic() - started >= 1.0
    assert evalkit.returncode == 128 + int(signal.SIGKILL), stderr
    assert not is_running(pid)


def test_arguments_after_the_folder_are_passed_to_jupyterlab(tmp_path: Path) -> None:
    import shutil

    pilot = tmp_path / "northbridge-ta"
    shutil.copytree(
        REPO / "pilots" / "northbridge-ta", pilot, ignore=shutil.ignore_patterns("reports")
    )
    args = jupyter_args(tmp_path, str(pilot), "--no-browser", "--", "--port", "8899")

    assert args[:2] == ["lab", f"--notebook-dir={pilot.resolve()}"]
    assert "--no-browser" in args
    assert args[args.index("--port") + 1] == "8899"
    # the templates were copied in for the team to adapt
    assert sorted(p.name for p in (pilot / "notebooks").glob("*.ipynb")) == [
        "central_comparison.ipynb",
        "learning_review.ipynb",
        "pilot_report.ipynb",
    ]


def test_a_folder_after_jupyterlabs_options_is_still_the_folder(tmp_path: Path) -> None:
    pilot = tmp_path / "pilot"
    assert evalkit_cmd("new", pilot).returncode == 0

    args = jupyter_args(tmp_path, "--port=8899", str(pilot))

    assert args[1] == f"--notebook-dir={pilot.resolve()}"
    assert "--port=8899" in args and str(pilot) not in args
    assert (pilot / "notebooks" / "pilot_report.ipynb").is_file()


def test_jupyter_options_without_a_folder_are_not_taken_for_one(tmp_path: Path) -> None:
    args = jupyter_args(tmp_path, "--port", "8899")

    assert args[1] == f"--notebook-dir={tmp_path.resolve()}"
    assert args[args.index("--port") + 1] == "8899"


def test_as_root_allow_root_is_added_and_said(tmp_path: Path) -> None:
    command = lab_command(None, open_browser=False, as_root=True)

    assert command.args[-1] == "--allow-root"
    assert command.notes == (
        "Running as root: adding --allow-root, which JupyterLab needs to start.",
    )


@pytest.mark.parametrize(
    ("as_root", "extra"), [(True, ("--allow-root",)), (False, ()), (True, ("--allow-root=True",))]
)
def test_allow_root_is_not_added_twice_nor_when_not_root(
    as_root: bool, extra: tuple[str, ...]
) -> None:
    command = lab_command(None, extra_args=extra, as_root=as_root)

    assert sum(a.startswith("--allow-root") for a in command.args) == len(extra)
    assert command.notes == ()


def test_run_returns_jupyterlabs_exit_code(tmp_path: Path) -> None:
    command = LabCommand((sys.executable, "-c", "raise SystemExit(3)"), tmp_path)

    assert command.run() == 3
