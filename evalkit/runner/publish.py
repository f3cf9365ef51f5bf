"""Publishing a report safely: a hidden partial folder, one swap into place, tidying after kills.

A run writes into ``reports/.cycle-<n>.partial-<pid>/`` and swaps it into
``reports/cycle-<n>/`` only when everything succeeded, so a failed or killed
run leaves the previous report in place. What a failed run produced is kept
in ``reports/cycle-<n>.failed/`` to help the person fix it; what a killed run
left (its partial folder, or a report moved aside mid-swap) is cleared, or
put back, by the next run of the pilot, which holds the pilot's lock.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
from pathlib import Path

from evalkit.errors import EvalkitError


def partial_dir(final: Path) -> Path:
    """Return the hidden folder this process writes a report into before it is swapped in."""
    return final.with_name(f".{final.name}.partial-{os.getpid()}")


def failed_dir(final: Path) -> Path:
    """Return where a failed run's output is kept, beside the report it did not replace."""
    return final.with_name(final.name + ".failed")


def leftovers(reports_dir: Path) -> list[Path]:
    """Return the hidden folders runs make while they work, of any cycle, by name."""
    return sorted(p for kind in ("partial", "old") for p in reports_dir.glob(f".*.{kind}-*"))


def tidy_after_killed_runs(final: Path) -> list[str]:
    """Clear what killed runs left behind and return what (we hold the lock: none is running).

    Any cycle's leftovers go, not only this one's: the card's cycle may have
    moved on since the run that left them.
    """
    reports = final.parent
    cleared = []
    for leftover in leftovers(reports):
        name = f"{reports.name}/{leftover.name}"
        report = reports / leftover.name[1:].rsplit(".", 1)[0]
        if ".old-" in leftover.name and not report.exists():
            # killed between the two renames of a swap: put the previous report back
            leftover.rename(report)
            cleared.append(f"{name} (put back as {reports.name}/{report.name})")
        else:
            replace_dir(leftover)
            cleared.append(name)
    return cleared


def keep_failed(partial: Path, failed: Path, exc: BaseException) -> None:
    """Keep a failed run's partial output in ``failed`` and make its error name that folder."""
    replace_dir(failed)
    partial.rename(failed)
    if isinstance(exc, EvalkitError):
        if exc.path is not None and exc.path.is_relative_to(partial):
            exc.path = failed / exc.path.relative_to(partial)
        exc.hint = (exc.hint + "; " if exc.hint else "") + f"partial output kept in {failed}"
        exc.args = (exc.render(),)


def swap_into_place(partial: Path, final: Path) -> None:
    """Put the new report in place of the old one, in one step where the system allows."""
    if final.exists() and _exchange(partial, final):
        replace_dir(partial)  # now holds the previous report
        return
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        final.rename(old)
    partial.rename(final)
    replace_dir(old)


def replace_dir(path: Path) -> None:
    """Remove a folder and everything in it, if it is there."""
    if path.exists():
        shutil.rmtree(path)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))
