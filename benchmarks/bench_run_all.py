"""`evalkit run --all` against a naive papermill loop, on 20 pilots made from the examples.

Prints, from one run on the same pilots:

1. the naive loop: the ``papermill`` command line once per pilot, one after
   another, on the report template with ``pilot_dir`` and ``output_dir`` (no
   HTML export, no learning log: less work than evalkit does);
2. ``evalkit run --all PILOTS --jobs 2``, and the ratio evalkit / naive;
3. an unchanged re-run (every pilot skipped), in seconds;
4. where evalkit's time went in one pilot (medians from the run manifest);
5. whether every pilot's findings are the same both ways.

It exits with status 1 if evalkit takes more than half the naive time, if the
re-run takes 3 seconds or more, or if any findings differ.

    python benchmarks/bench_run_all.py [--pilots 20] [--jobs 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = ("northbridge-ta", "eastmoor-family-hub", "southvale-ta")
TEMPLATE = REPO / "evalkit" / "templates" / "pilot_report.ipynb"


def make_pilots(folder: Path, count: int) -> list[Path]:
    """Write ``count`` pilots: copies of the examples, each with its own name and fewer rows."""
    sys.path.insert(0, str(REPO))
    from evalkit.card import load_pilot

    pilots = []
    for index in range(count):
        example = EXAMPLES[index % len(EXAMPLES)]
        pilot = folder / f"{example}-{index:02d}"
        shutil.copytree(REPO / "pilots" / example, pilot, ignore=shutil.ignore_patterns("reports"))
        card = pilot / "pilot.yaml"
        text = card.read_text(encoding="utf-8")
        card.write_text(text.replace("\nname: ", f"\nname: (variant {index}) ", 1), "utf-8")
        data = load_pilot(pilot).data_path
        if data.suffix == ".csv":  # a variant's data: the same file less a few rows
            lines = data.read_text(encoding="utf-8").splitlines(keepends=True)
            data.write_text("".join(lines[: len(lines) - index % 7]), encoding="utf-8")
        pilots.append(pilot)
    return pilots


def run_naive(pilots: list[Path], out: Path) -> float:
    """Return the seconds a loop of `papermill` commands takes over the pilots."""
    started = time.perf_counter()
    for pilot in pilots:
        target = out / pilot.name
        target.mkdir(parents=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "papermill",
                str(TEMPLATE),
                str(target / "report.ipynb"),
                "-p",
                "pilot_dir",
                str(pilot),
                "-p",
                "output_dir",
                str(target),
                "-k",
                "python3",
                "--cwd",
                str(pilot),
                "--no-progress-bar",
                "--log-level",
                "ERROR",
            ],
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - started


def run_evalkit(pilots_dir: Path, jobs: int) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Return the seconds `evalkit run --all` takes, and what it printed."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "evalkit", "run", "--all", str(pilots_dir), "--jobs", str(jobs)],
        capture_output=True,
        text=True,
        cwd=pilots_dir.parent,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout, done.stderr, sep="\n", file=sys.stderr)
        raise SystemExit(f"evalkit run failed with exit code {done.returncode}")
    return seconds, done


def latest_manifest(runs: Path) -> dict[str, object]:
    newest = max(runs.glob("*.json"), key=lambda p: p.stat().st_mtime)
    manifest: dict[str, object] = json.loads(newest.read_text(encoding="utf-8"))
    return manifest


def findings(results: Path) -> str:
    return json.dumps(json.loads(results.read_text(encoding="utf-8"))["findings"], sort_keys=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilots", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep the files")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-run-all-"))
    pilots_dir = work / "pilots"
    pilots = make_pilots(pilots_dir, args.pilots)
    print(f"{len(pilots)} pilots in {pilots_dir}")

    naive = run_naive(pilots, work / "naive")
    print(f"naive papermill loop       {naive:7.1f} s  ({naive / len(pilots):.2f} s a pilot)")
    evalkit, _ = run_evalkit(pilots_dir, args.jobs)
    ratio = evalkit / naive
    print(f"evalkit run --all --jobs {args.jobs} {evalkit:7.1f} s  ({ratio:.2f} of naive)")
    rerun, _ = run_evalkit(pilots_dir, args.jobs)
    counts = latest_manifest(work / "runs")["counts"]
    skipped = counts.get("skipped", 0) if isinstance(counts, dict) else 0
    print(f"unchanged re-run           {rerun:7.2f} s  ({skipped} of {len(pilots)} skipped)")

    first = sorted((work / "runs").glob("*.json"))[0]
    ran = json.loads(first.read_text(encoding="utf-8"))["pilots"]
    steps = ("check", "kernel", "cells", "html", "publish")
    medians = {s: statistics.median(p["timings"].get(s, 0.0) for p in ran) for s in steps}
    print(
        "evalkit, one pilot (median s): "
        + ", ".join(f"{step} {value:.2f}" for step, value in medians.items())
    )
    same = sum(
        findings(work / "naive" / p.name / "results.json")
        == findings(p / "reports" / f"cycle-{_cycle(p)}" / "results.json")
        for p in pilots
    )
    print(f"findings identical both ways: {same} of {len(pilots)}")

    failures = []
    if ratio > 0.5:
        failures.append(f"evalkit took {ratio:.2f} of the naive time (must be at most 0.50)")
    if rerun >= 3.0 or skipped != len(pilots):
        failures.append(f"the unchanged re-run took {rerun:.2f} s / skipped {skipped}")
    if same != len(pilots):
        failures.append("findings differ between the naive loop and evalkit")
    for failure in failures:
        print(f"FAIL: {failure}")
    if not failures:
        print("PASS")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


def _cycle(pilot: Path) -> int:
    from evalkit.card import load_pilot

    return load_pilot(pilot).cycle


if __name__ == "__main__":
    sys.exit(main())
