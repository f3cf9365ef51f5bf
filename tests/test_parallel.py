"""Scheduled, parallel and incremental runs: skip what is unchanged, isolate failures, stay safe.

Real notebook runs are few: most use a small template that writes what the
real one must (results.json, rejected_rows.csv); the kill test, the command
line test and the Dask test run the shipped template.
"""

from __future__ import annotations

import functools
import json
import operator
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from click.testing import CliRunner

from evalkit import learning
from evalkit.analysis import analyse_pilot
from evalkit.card import load_pilot
from evalkit.cli import cli
from evalkit.errors import EvalkitError, NotebookError
from evalkit.hashing import Fingerprint, hash_file
from evalkit.notebooks import kernel_factory
from evalkit.notebooks.kernel_factory import (
    BLAS_THREADS,
    KernelFactory,
    KernelFactoryError,
    template_modules,
)
from evalkit.notebooks.kernels import PilotKernelManager, PilotProvisioner
from evalkit.results import load_results
from evalkit.runner import run_pilot, run_pilots
from evalkit.runner.fingerprint import LOG_FILE, fingerprint_inputs, recorded_inputs
from evalkit.runner.locks import LOCK_FILE, pilot_lock
from evalkit.runner.publish import tidy_after_killed_runs
from evalkit.runner.workers import default_jobs, run_in_processes
from tests.conftest import DID_CARD, REPO, PilotFactory, evalkit_cmd
from tests.test_runner import MINIMAL_BODY, hidden_leftovers, snapshot, write_template

TEMPLATE = REPO / "evalkit" / "templates" / "pilot_report.ipynb"


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    return write_template(tmp_path / "minimal.ipynb", MINIMAL_BODY)


def copy_examples(folder: Path) -> list[Path]:
    copies = []
    for name in ("northbridge-ta", "eastmoor-family-hub", "southvale-ta"):
        target = folder / name
        shutil.copytree(REPO / "pilots" / name, target, ignore=shutil.ignore_patterns("reports"))
        copies.append(target)
    return copies


def wait_until_group_is_gone(group: int, seconds: float = 15) -> bool:
    """Return True once every process of a killed process group has ended."""
    limit = time.monotonic() + seconds
    while time.monotonic() < limit:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def wait_until_no_process_works_in(folder: Path, seconds: float = 15) -> bool:
    """Return True once no process has ``folder`` as its working folder (Linux /proc)."""
    limit = time.monotonic() + seconds
    while time.monotonic() < limit:
        busy = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and (proc / "cwd").resolve() == folder.resolve():
                    busy.append(proc.name)
            except OSError:
                continue
        if not busy:
            return True
        time.sleep(0.2)
    return False


def findings_text(report: Path) -> str:
    return json.dumps(json.loads((report / "results.json").read_text("utf-8"))["findings"])


# --- the fingerprint ---


def test_each_input_changes_the_fingerprint_and_is_named(
    make_pilot: PilotFactory, tmp_path: Path
) -> None:
    card_text = DID_CARD + "voice: voice.csv\nquality:\n  eligible: data/eligible.csv\n"
    pilot = make_pilot(card=card_text)
    for name in ("voice.csv", "data/eligible.csv", LOG_FILE):
        (pilot / name).write_text("first\n", encoding="utf-8")
    template = write_template(tmp_path / "t.ipynb", MINIMAL_BODY)
    before = fingerprint_inputs(load_pilot(pilot), template)
    assert before == fingerprint_inputs(load_pilot(pilot), template)

    for name in ("data/cases.csv", "voice.csv", "data/eligible.csv", LOG_FILE, "pilot.yaml"):
        with (pilot / name).open("a", encoding="utf-8") as handle:
            handle.write("\n# changed\n" if name == "pilot.yaml" else "changed\n")
        after = fingerprint_inputs(load_pilot(pilot), template)
        assert after.digest != before.digest, name
        assert after.changed_since(before.parts) == [name]
        before = after
    write_template(template, MINIMAL_BODY + "\n# changed")
    after = fingerprint_inputs(load_pilot(pilot), template)
    assert after.changed_since(before.parts) == ["template t.ipynb"]


def test_the_fingerprint_hashes_the_learning_log_where_it_is_written(
    make_pilot: PilotFactory,
) -> None:
    card = load_pilot(make_pilot())
    learning.add_to_entry(card, learned="Something.")

    parts = fingerprint_inputs(card, TEMPLATE).parts

    assert parts[LOG_FILE] == hash_file(learning.log_path(card)) != "missing"


def test_the_write_step_records_the_fingerprint_with_the_log_hashed_after_its_draft(
    make_pilot: PilotFactory, tmp_path: Path
) -> None:
    card = load_pilot(make_pilot())
    before = fingerprint_inputs(card, TEMPLATE)
    assert before.parts[LOG_FILE] == "missing"

    analyse_pilot(card).write(tmp_path / "out", inputs=before.parts)

    stored = recorded_inputs(tmp_path / "out")
    after = before.with_part(LOG_FILE, hash_file(learning.log_path(card)))
    assert stored == after == fingerprint_inputs(card, TEMPLATE)
    assert stored.changed_since(before.parts) == [LOG_FILE]  # the run's own draft
    assert load_results(tmp_path / "out" / "results.json").run.inputs is not None


def test_the_write_step_without_inputs_leaves_the_log_alone(
    make_pilot: PilotFactory, tmp_path: Path
) -> None:
    card = load_pilot(make_pilot())

    analyse_pilot(card).write(tmp_path / "out")

    assert not learning.log_path(card).exists()
    assert load_results(tmp_path / "out" / "results.json").run.inputs is None
    assert recorded_inputs(tmp_path / "out") is None
    assert Fingerprint.of({"b": "2", "a": "1"}) == Fingerprint.of({"a": "1", "b": "2"})


# --- incremental runs ---


def test_unchanged_pilots_are_skipped_and_each_change_reruns(
    make_pilot: PilotFactory, minimal: Path
) -> None:
    pilot = make_pilot()
    card = load_pilot(pilot)

    def run(**options: bool) -> tuple[str, str]:
        (outcome,) = run_pilots([pilot], template=minimal, **options)
        assert outcome.status != "failed", outcome.message
        # a template that is not the shipped one is named after what changed
        assert outcome.note.endswith(f"; {minimal.name}"), outcome.note
        return outcome.status, outcome.note.removesuffix(f"; {minimal.name}")

    assert run() == ("ok", "no report yet for cycle 1")
    first = snapshot(card.report_dir())
    assert run() == ("skipped", "unchanged since its last report")
    assert snapshot(card.report_dir()) == first

    # a person's words in the log are shown by the report: a change
    learning.add_to_entry(card, learned="Families said the named worker helped.")
    assert run() == ("ok", f"changed: {LOG_FILE}")
    assert run()[0] == "skipped"

    # new data: the run also refreshes its own draft in the log, which is not a change
    with (pilot / "data" / "cases.csv").open("a", encoding="utf-8") as data:
        data.write("C999,pilot,after,W1,2,80\n")
    log_before = (pilot / LOG_FILE).read_bytes()
    assert run() == ("ok", "changed: data/cases.csv")
    assert (pilot / LOG_FILE).read_bytes() != log_before
    assert run()[0] == "skipped"

    assert run(force=True) == ("ok", "unchanged, run because of --force")
    (card.report_dir() / "report.html").unlink()  # an incomplete report is never skipped
    assert run()[0] == "ok"
    assert (card.report_dir() / "report.html").is_file()
    stored = recorded_inputs(card.report_dir())
    assert stored is not None
    assert stored.digest == fingerprint_inputs(card, minimal).digest


# --- locks ---


def test_a_second_run_of_a_pilot_is_refused_while_the_first_holds_it(
    make_pilot: PilotFactory, minimal: Path
) -> None:
    pilot = make_pilot()
    reports = load_pilot(pilot).reports_dir
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from evalkit.runner.locks import pilot_lock\n"
            "with pilot_lock(Path(sys.argv[1])):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(reports),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"

        (outcome,) = run_pilots([pilot], template=minimal)

        assert outcome.status == "failed"
        assert "another evalkit run is running this pilot" in outcome.message
        assert f"process {holder.pid}" in outcome.message
        assert not load_pilot(pilot).report_dir().exists()
        with pytest.raises(EvalkitError, match="wait for that run to finish"), pilot_lock(reports):
            pass
    finally:
        holder.kill()
        holder.wait()
    with pilot_lock(reports):  # its process is gone, so is its lock
        pass
    assert not (reports / LOCK_FILE).exists()


def test_a_lock_file_left_by_a_dead_process_does_not_block(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    reports = tmp_path / "reports"
    reports.mkdir()
    stale = {"pid": dead.pid, "host": os.uname().nodename, "started": "2020-01-01T00:00:00+00:00"}
    (reports / LOCK_FILE).write_text(json.dumps(stale), encoding="utf-8")

    with pilot_lock(reports) as path:
        assert json.loads(path.read_text(encoding="utf-8"))["pid"] == os.getpid()
    assert not path.exists()


# --- isolation ---


def test_a_crashing_worker_loses_only_its_own_task() -> None:
    # tasks made of standard-library calls, so the worker processes start quickly
    tasks = [
        functools.partial(str.upper, "a"),
        functools.partial(os._exit, 3),  # the worker running this one dies at once
        functools.partial(str.upper, "c"),
        functools.partial(str.upper, "d"),
    ]
    seen: list[tuple[int, str]] = []

    results = run_in_processes(
        operator.call,
        tasks,
        jobs=2,
        lost=lambda task, reason: f"lost: {reason}",
        on_done=lambda index, result: seen.append((index, result)),
    )

    assert [results[i] for i in (0, 2, 3)] == ["A", "C", "D"]
    assert results[1].startswith("lost: the process running this pilot stopped unexpectedly")
    assert sorted(seen) == sorted(results.items())


def test_kernels_get_private_sockets_not_tcp_ports() -> None:
    first, second = PilotKernelManager(), PilotKernelManager()
    try:
        assert first.transport == second.transport == "ipc"
        assert first.ip != second.ip
        assert Path(first.ip).parent.name.startswith("evalkit-kernel-")
    finally:
        for manager in (first, second):
            shutil.rmtree(manager._socket_dir, ignore_errors=True)


def test_parallel_pilots_run_in_their_own_kernel_and_folder(
    make_pilot: PilotFactory, tmp_path: Path
) -> None:
    pilots = [make_pilot(folder=name) for name in ("a", "b")]
    template = write_template(
        tmp_path / "where.ipynb",
        "import os, pathlib\n"
        "pathlib.Path(output_dir, 'where.json').write_text("
        "__import__('json').dumps([os.getcwd(), os.getpid()]))\n" + MINIMAL_BODY,
    )
    started: list[Path] = []

    outcomes = run_pilots(pilots, template=template, jobs=2, on_start=started.append)

    assert [o.status for o in outcomes] == ["ok", "ok"], [o.message for o in outcomes]
    where = [
        json.loads((o.report_dir / "where.json").read_text()) for o in outcomes if o.report_dir
    ]
    assert [Path(cwd) for cwd, _ in where] == [p.resolve() for p in pilots]
    assert where[0][1] != where[1][1] != os.getpid()
    assert sorted(started) == sorted(pilots)


def test_kernels_use_one_linear_algebra_thread_unless_the_user_chose(
    make_pilot: PilotFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in BLAS_THREADS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # a user's own choice is kept
    pilots = [make_pilot(folder=name) for name in ("a", "b")]
    template = write_template(
        tmp_path / "threads.ipynb",
        "import os, pathlib, json\n"
        "pathlib.Path(output_dir, 'threads.json').write_text(json.dumps("
        f"[os.environ.get(n) for n in {list(BLAS_THREADS)!r}]))\n" + MINIMAL_BODY,
    )

    outcomes = run_pilots(pilots, template=template, jobs=2)

    assert [o.status for o in outcomes] == ["ok", "ok"], [o.message for o in outcomes]
    for outcome in outcomes:
        assert outcome.report_dir is not None
        seen = json.loads((outcome.report_dir / "threads.json").read_text())
        assert dict(zip(BLAS_THREADS, seen, strict=True)) == {
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "3",
            "OMP_NUM_THREADS": "1",
        }


def test_the_timeout_is_for_the_whole_report_not_each_cell(
    make_pilot: PilotFactory, tmp_path: Path
) -> None:
    pilot = make_pilot()
    template = write_template(tmp_path / "slow.ipynb", "import time")
    notebook = nbformat.read(template, as_version=4)
    for _ in range(4):  # each cell is well inside the timeout; together they are not
        notebook.cells.append(nbformat.v4.new_code_cell("time.sleep(0.7)"))
    nbformat.write(notebook, template)

    started = time.perf_counter()
    with pytest.raises(NotebookError, match=r"longer than 1\.5 seconds"):
        run_pilot(pilot, template=template, timeout=1.5)

    assert time.perf_counter() - started < 8
    assert not load_pilot(pilot).report_dir().exists()
    assert hidden_leftovers(load_pilot(pilot).reports_dir) == []


def test_a_kernel_that_does_not_start_is_tried_once_more(
    make_pilot: PilotFactory, minimal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launch = PilotProvisioner.launch_kernel
    tries: list[bool] = []

    async def fails_once(self: PilotProvisioner, cmd: list[str], **kwargs: Any) -> Any:
        tries.append(self.parent.options.fork)
        if len(tries) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return await launch(self, cmd, **kwargs)

    monkeypatch.setattr(PilotProvisioner, "launch_kernel", fails_once)
    pilot = make_pilot()

    report = run_pilot(pilot, template=minimal)

    assert tries == [True, False]  # then as an ordinary kernel, in case forking is the trouble
    assert load_results(report / "results.json").pilot.id == "test-pilot"
    assert not (report / "kernel.log").exists()


def test_without_a_kernel_factory_kernels_start_the_ordinary_way(
    make_pilot: PilotFactory, minimal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_fork(*_: object) -> int:
        raise KernelFactoryError("the kernel factory failed: on purpose")

    monkeypatch.setattr(KernelFactory, "fork_kernel", broken_fork)

    report = run_pilot(make_pilot(), template=minimal)

    assert load_results(report / "results.json").pilot.id == "test-pilot"


def test_a_factory_whose_imports_start_threads_is_not_forked_from(
    make_pilot: PilotFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "starts_a_thread.py").write_text(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(modules))
    template = write_template(tmp_path / "threads.ipynb", "import starts_a_thread\n" + MINIMAL_BODY)

    report = run_pilot(make_pilot(), template=template)

    assert load_results(report / "results.json").pilot.id == "test-pilot"
    assert template_modules(template) in kernel_factory._unusable


def test_a_killed_run_leaves_the_previous_report_readable_and_does_not_block_the_next(
    example_pilot: Callable[[str], Path], minimal: Path
) -> None:
    pilot = example_pilot("southvale-ta")
    report = run_pilot(pilot, template=minimal)
    previous = snapshot(report)

    run = subprocess.Popen(
        [sys.executable, "-m", "evalkit", "run", str(pilot), "--force", "--jobs", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    reports = report.parent
    limit = time.monotonic() + 120
    while not any(reports.glob(f".{report.name}.partial-*/report.ipynb")):
        assert run.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < limit
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert wait_until_group_is_gone(run.pid), "the killed run's processes did not end"
    # the orphaned kernel notices its parent is gone and stops, writing nothing more
    assert wait_until_no_process_works_in(pilot), "a kernel outlived the killed run"

    assert snapshot(report) == previous
    assert load_results(report / "results.json").pilot.id == "southvale-ta"
    assert hidden_leftovers(reports)  # the killed run's partial folder is still there

    (outcome,) = run_pilots([pilot], template=minimal, force=True)

    assert outcome.status == "ok", outcome.message
    assert hidden_leftovers(reports) == []
    assert load_results(report / "results.json").pilot.id == "southvale-ta"


def test_a_report_moved_aside_by_a_killed_swap_is_put_back(
    make_pilot: PilotFactory, minimal: Path
) -> None:
    pilot = make_pilot()
    report = run_pilot(pilot, template=minimal)
    previous = snapshot(report)
    report.rename(report.with_name(f".{report.name}.old-99999"))  # killed mid-swap, the slow way

    with pilot_lock(report.parent):
        tidy_after_killed_runs(report)

    assert snapshot(report) == previous
    assert hidden_leftovers(report.parent) == []


# --- the command line, as a scheduler runs it ---


def test_run_all_in_parallel_reports_every_pilot_and_fails_for_the_broken_one(
    make_pilot: PilotFactory, tmp_path: Path
) -> None:
    good = [make_pilot(folder=f"pilots/{name}") for name in ("alpha", "gamma")]
    broken = make_pilot(
        card=DID_CARD.replace("better: lower", "beter: lower"), folder="pilots/beta"
    )

    result = evalkit_cmd("run", "--all", "pilots", "--jobs", "2", cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    for pilot in good:
        assert (pilot / "reports" / "cycle-1" / "report.html").is_file()
    assert "unknown key 'beter'" in result.stderr
    assert not (broken / "reports").exists()
    # one plain line a pilot, with a time stamp, for a log file
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "Z " in line]
    assert sorted(re.sub(r"^\S+Z (\w+)\s+(\S+).*", r"\2 \1", line) for line in lines) == [
        "alpha ok",
        "beta failed",
        "gamma ok",
    ]
    assert "\x1b[" not in result.stdout + result.stderr
    manifests = sorted((tmp_path / "runs").glob("*.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text(encoding="utf-8"))
    entries = {entry["pilot"]: entry for entry in manifest["pilots"]}
    assert {name: e["status"] for name, e in entries.items()} == {
        "alpha": "ok",
        "beta": "failed",
        "gamma": "ok",
    }
    assert manifest["counts"] == {"ok": 2, "failed": 1}
    assert manifest["options"]["jobs"] == 2
    assert "unknown key 'beter'" in entries["beta"]["error"]
    for pilot in good:
        stored = recorded_inputs(pilot / "reports" / "cycle-1")
        assert stored is not None
        assert entries[pilot.name]["fingerprint"] == stored.digest
        assert set(entries[pilot.name]["timings"]) == {
            "check",
            "kernel",
            "cells",
            "html",
            "publish",
        }
    assert str(manifests[0]) in result.stdout

    again = evalkit_cmd("run", "--all", "pilots", "--jobs", "2", cwd=tmp_path)

    assert again.returncode == 1
    assert again.stdout.count("skipped") >= 2
    assert len(list((tmp_path / "runs").glob("*.json"))) == 2


def test_jobs_must_be_at_least_one() -> None:
    result = CliRunner().invoke(cli, ["run", "--all", "--jobs", "0"])
    assert result.exit_code == 2
    assert default_jobs() >= 1


def test_a_dask_cluster_gives_the_same_findings_as_local_workers(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    local = copy_examples(tmp_path / "local" / "pilots")
    remote = copy_examples(tmp_path / "remote" / "pilots")

    outcomes = run_pilots(local)
    assert [o.status for o in outcomes] == ["ok"] * 3, [o.message for o in outcomes]
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        result = evalkit_cmd(
            "run", "--all", "pilots", "--dask-scheduler", cluster.scheduler_address,
            cwd=tmp_path / "remote",
        )  # fmt: skip

    assert result.returncode == 0, result.stderr
    for here, there in zip(outcomes, remote, strict=True):
        assert here.report_dir is not None
        theirs = load_pilot(there).report_dir()
        assert findings_text(theirs) == findings_text(here.report_dir)
        assert {p.name for p in theirs.iterdir()} == {p.name for p in here.report_dir.iterdir()}
    manifest = json.loads(next((tmp_path / "remote" / "runs").glob("*.json")).read_text())
    assert manifest["options"]["dask_scheduler"] == cluster.scheduler_address
