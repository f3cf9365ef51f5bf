"""A killed run leaves nothing running and nothing stale ("Safe to publish", item 7).

``evalkit run`` is killed with SIGKILL, which no cleanup can catch: every
process it started (its worker, the worker's kernel factory, the kernel, the
multiprocessing resource tracker) must end with it and publish nothing, and
the next run must clear what it left and run, not call the pilot unchanged.
The process tree is read from Linux's /proc.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from evalkit.card import load_pilot
from evalkit.notebooks.kernel_factory import KernelFactory, KernelFactoryError
from evalkit.results import load_results
from evalkit.runner import run_pilot, run_pilots
from evalkit.runner.fingerprint import fingerprint_inputs, recorded_inputs
from evalkit.runner.locks import LOCK_FILE, hold_pilot_lock, pilot_lock, probe_lock
from evalkit.runner.plan import plan_job
from tests.conftest import REPO, PilotFactory, copy_example, evalkit_cmd
from tests.test_runner import MINIMAL_BODY, hidden_leftovers, snapshot, write_template

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the system's parent-death signal is Linux's"
)

TEMPLATE = REPO / "evalkit" / "templates" / "pilot_report.ipynb"
PR_GET_PDEATHSIG = 2
#: A process that starts a worker on a task of a minute, says so, and waits for it.
HOLD_A_WORKER = """
import functools, operator, time
from evalkit.runner.workers import run_in_processes
run_in_processes(
    operator.call, [functools.partial(time.sleep, 60)], jobs=1, lost=lambda task, why: None,
    on_start=lambda index: print("started", flush=True),
)
"""
#: Template code that writes down which signal the kernel gets when its parent ends.
RECORD_PDEATHSIG = (
    "import ctypes, json, os, pathlib\n"
    "_signal = ctypes.c_int()\n"
    f"ctypes.CDLL(None).prctl({PR_GET_PDEATHSIG}, ctypes.byref(_signal))\n"
    "pathlib.Path(output_dir, 'kernel.json').write_text("
    "json.dumps({'pdeathsig': _signal.value, 'ppid': os.getppid()}))\n"
)


# --- the process tree, from /proc ---


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    started: str  # the start time in clock ticks: a reused pid has another
    command: str


def read_process(pid: int) -> Process | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (name) "
    if fields[0] in ("Z", "X"):  # a zombie has ended; only its exit status is left
        return None
    return Process(pid, int(fields[1]), fields[19], command)


def process_tree(root: int) -> dict[int, Process]:
    """Return the process ``root`` and every process descended from it, by pid."""
    tree: dict[int, Process] = {}
    waiting = [root]
    while waiting:
        pid = waiting.pop()
        process = read_process(pid)
        if process is None:
            continue
        tree[pid] = process
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                waiting += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return tree


def still_alive(processes: dict[int, Process]) -> list[Process]:
    """Return those of ``processes`` still running (an orphan has a new parent, not a new start)."""
    alive = []
    for process in processes.values():
        now = read_process(process.pid)
        if now is not None and now.started == process.started:
            alive.append(process)
    return alive


def kind(process: Process, tree: dict[int, Process]) -> str:
    parent = tree.get(process.ppid)
    if "resource_tracker" in process.command:
        return "tracker"
    if parent is not None and "serve_kernels" in parent.command:
        return "kernel"  # a fork of the factory: it keeps the factory's command line
    if "serve_kernels" in process.command:
        return "factory"
    if "spawn_main" in process.command:
        return "worker"
    return "kernel" if "IPKernelApp" in process.command else "other"


# --- one run, killed while its kernel runs ---


@dataclass(frozen=True)
class KilledRun:
    pilot: Path
    report: Path
    before: dict[str, str]  # the previous report's files, before the kill
    tree: dict[int, Process]  # what the run had started, just before the kill
    alive: list[Process]  # of those, what was still running 5 s after the kill
    after: dict[str, str]  # the previous report's files 5 s after the kill
    left: list[str]  # the hidden files and folders the run left in reports/
    lock_pid: int | None  # the process the left lock file names


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory: pytest.TempPathFactory) -> KilledRun:
    base = tmp_path_factory.mktemp("killed")
    pilot = copy_example("southvale-ta", base)
    # a previous good report, made quickly, that counts as made from today's inputs: without
    # --force, a run would skip this pilot as unchanged
    report = run_pilot(pilot, template=write_template(base / "minimal.ipynb", MINIMAL_BODY))
    results = report / "results.json"
    raw = json.loads(results.read_text(encoding="utf-8"))
    raw["run"]["inputs"] = fingerprint_inputs(load_pilot(pilot), TEMPLATE).to_json()
    results.write_text(json.dumps(raw), encoding="utf-8")
    assert plan_job(0, pilot, None, None, False).note == "unchanged since its last report"
    before = snapshot(report)

    run = subprocess.Popen(
        [sys.executable, "-m", "evalkit", "run", str(pilot), "--force", "--jobs", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=base,
    )
    tree: dict[int, Process] = {}
    try:
        limit = time.monotonic() + 120
        while not any(kind(p, tree) == "kernel" for p in tree.values()):
            assert run.poll() is None, "the run ended before its kernel started"
            assert time.monotonic() < limit, "the run's kernel did not start"
            time.sleep(0.05)
            tree = process_tree(run.pid)
        tree = process_tree(run.pid)
        run.send_signal(signal.SIGKILL)  # the command only, as a scheduler's timeout would
        run.wait()
        del tree[run.pid]
        time.sleep(5)
        alive = still_alive(tree)
        after = snapshot(report)
    finally:
        for process in still_alive(tree):  # so a failing test leaves nothing running
            os.kill(process.pid, signal.SIGKILL)
    left = hidden_leftovers(report.parent)
    lock_file = report.parent / LOCK_FILE
    lock_pid = json.loads(lock_file.read_text())["pid"] if lock_file.exists() else None
    return KilledRun(pilot, report, before, tree, alive, after, left, lock_pid)


def test_a_killed_run_leaves_nothing_running_and_publishes_nothing(killed_run: KilledRun) -> None:
    kinds = {kind(p, killed_run.tree) for p in killed_run.tree.values()}
    assert kinds == {"worker", "factory", "kernel", "tracker"}, killed_run.tree

    assert [(kind(p, killed_run.tree), p.command) for p in killed_run.alive] == []
    assert killed_run.after == killed_run.before  # and none is left that could swap one in
    assert load_results(killed_run.report / "results.json").pilot.id == "southvale-ta"


def test_the_next_run_clears_what_the_killed_run_left_says_so_and_runs(
    killed_run: KilledRun,
) -> None:
    (partial,) = [name for name in killed_run.left if ".partial-" in name]
    assert LOCK_FILE in killed_run.left

    done = evalkit_cmd(
        "run", killed_run.pilot, "--runs-dir", killed_run.pilot.parent / "runs", timeout=240
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped" not in done.stdout
    (line,) = [line for line in done.stdout.splitlines() if "cleared what" in line]
    assert (
        f"cleared what an interrupted run left: reports/{partial}, "
        f"lock of process {killed_run.lock_pid}" in line
    )
    assert "its last run did not finish" in line
    assert hidden_leftovers(killed_run.report.parent) == []
    assert snapshot(killed_run.report) != killed_run.before  # a new report, made this time
    assert load_results(killed_run.report / "results.json").pilot.id == "southvale-ta"
    assert (killed_run.report / "report.html").stat().st_size > 0
    assert recorded_inputs(killed_run.report) is not None


# --- each kind of process asks to end with its parent ---


def test_a_worker_ends_with_the_process_that_started_it() -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_A_WORKER], stdout=subprocess.PIPE)
    tree: dict[int, Process] = {}
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"started\n"
        tree = process_tree(holder.pid)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        del tree[holder.pid]
        assert {kind(p, tree) for p in tree.values()} == {"worker", "tracker"}, tree
        time.sleep(5)

        assert still_alive(tree) == []
    finally:
        for process in still_alive(tree):
            os.kill(process.pid, signal.SIGKILL)


@pytest.mark.parametrize("forked", [True, False], ids=["forked", "ordinary"])
def test_kernels_end_with_the_process_that_started_them(
    forked: bool, make_pilot: PilotFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not forked:

        def no_factory(*_: object) -> int:
            raise KernelFactoryError("the kernel factory failed: on purpose")

        monkeypatch.setattr(KernelFactory, "fork_kernel", no_factory)
    template = write_template(tmp_path / "pdeathsig.ipynb", RECORD_PDEATHSIG + MINIMAL_BODY)

    report = run_pilot(make_pilot(), template=template)

    kernel = json.loads((report / "kernel.json").read_text())
    assert kernel["pdeathsig"] == signal.SIGKILL
    # a forked kernel's parent is the factory, which ends with this process (checked above)
    assert (kernel["ppid"] != os.getpid()) is forked


# --- a dead run's lock ---


def test_a_lock_whose_run_died_is_told_apart_from_one_held(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    assert probe_lock(reports).left_by is None
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    reports.mkdir()
    record = {"pid": dead.pid, "host": os.uname().nodename, "started": "2020-01-01T00:00:00"}
    (reports / LOCK_FILE).write_text(json.dumps(record), encoding="utf-8")

    probe = probe_lock(reports)
    assert (probe.held, probe.left_by) == (False, f"process {dead.pid}")
    with hold_pilot_lock(reports) as lock:
        assert lock.left_by == f"process {dead.pid}"
        assert probe_lock(reports).held
    assert not (reports / LOCK_FILE).exists()
    with hold_pilot_lock(reports) as lock:  # a run that ended left nothing to clear
        assert lock.left_by is None


def test_an_unchanged_pilot_whose_last_run_died_is_run_not_skipped(
    make_pilot: PilotFactory, tmp_path: Path
) -> None:
    minimal = write_template(tmp_path / "minimal.ipynb", MINIMAL_BODY)
    pilot = make_pilot()
    report = run_pilot(pilot, template=minimal)
    (outcome,) = run_pilots([pilot], template=minimal)
    assert outcome.status == "skipped"
    leftover = report.with_name(f".{report.name}.partial-99999")
    leftover.mkdir()
    with pilot_lock(report.parent):  # a live run's folder: that run will clear it itself
        (outcome,) = run_pilots([pilot], template=minimal)
        assert outcome.status == "skipped"

    (outcome,) = run_pilots([pilot], template=minimal)

    assert outcome.status == "ok", outcome.message
    assert outcome.note == (
        "unchanged, but its last run did not finish; minimal.ipynb; "  # the template given
        f"cleared what an interrupted run left: reports/{leftover.name}"
    )
    assert hidden_leftovers(report.parent) == []
