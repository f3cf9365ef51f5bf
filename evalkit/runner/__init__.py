"""Running pilots: validate once, execute the report template, check the results, publish.

A run holds the pilot's lock (``reports/.evalkit-run.lock``), writes into a
hidden partial folder and swaps it into ``reports/cycle-<n>/`` only when
everything succeeded, so a failed or killed run leaves the previous report in
place and two runs of one pilot cannot mix their files. What a failed run
produced is kept in ``reports/cycle-<n>.failed/`` to help the person fix it;
what a killed run left (its partial folder and lock file) is cleared by the
next run of the pilot, which says so, and which runs even if the inputs are
unchanged: the last run never finished.

Many pilots run side by side in worker processes (``jobs``) or on a Dask
cluster (``executor``); a pilot whose inputs have not changed since its last
good report is skipped.

The rooms: :mod:`~evalkit.runner.run` (one pilot), :mod:`~evalkit.runner.plan`
(run or skip), :mod:`~evalkit.runner.batch` (many pilots, and the manifest
around them), :mod:`~evalkit.runner.publish` (partial folder, swap, tidying
after killed runs), :mod:`~evalkit.runner.fingerprint`,
:mod:`~evalkit.runner.template` (the shipped template or the pilot's own, and
``evalkit adapt``), :mod:`~evalkit.runner.locks`, :mod:`~evalkit.runner.workers`,
:mod:`~evalkit.runner.manifest`, and :mod:`~evalkit.runner.comparison` (the
central comparison's template, run and published the same careful way).
"""

from __future__ import annotations

from evalkit.card.folders import find_pilots, latest_report
from evalkit.runner.batch import Batch, run_batch, run_pilots
from evalkit.runner.plan import COMPLETE_REPORT, REPORT_TEMPLATE, RunOutcome
from evalkit.runner.run import KERNEL_LOG, run_pilot, warm_up_factory
from evalkit.runner.template import Adapted, ReportTemplate, adapt_pilot, choose_template

__all__ = [
    "COMPLETE_REPORT",
    "KERNEL_LOG",
    "REPORT_TEMPLATE",
    "Adapted",
    "Batch",
    "ReportTemplate",
    "RunOutcome",
    "adapt_pilot",
    "choose_template",
    "find_pilots",
    "latest_report",
    "run_batch",
    "run_pilot",
    "run_pilots",
    "warm_up_factory",
]
