"""Kernels for report runs: one fresh kernel a pilot, with private sockets, a log and a deadline.

The kernel comes from the worker's kernel factory (``evalkit.notebooks.kernel_factory``)
when it can, or is started as an ordinary new interpreter. Kernels talk over
Unix sockets in a private folder (the "ipc" transport) instead of TCP ports,
so kernels running side by side cannot clash over a port. A kernel's own
output (warnings, crashes) goes to a log file beside the report, and a kernel
still running at the pilot's deadline is killed. Either kind of kernel ends
with the process that started it (``evalkit.notebooks.kernel_factory.end_with_parent``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from evalkit.notebooks.execute import CurrentPythonKernelManager
from evalkit.notebooks.kernel_factory import (
    KernelFactoryError,
    factory_for,
    kernel_environment,
    ordinary_kernel_command,
)

#: Unix socket paths must be shorter than about 100 bytes; longer ones fall back to TCP.
_SOCKET_PATH_MAX = 90


@dataclass(frozen=True)
class KernelOptions:
    """How a pilot's kernel starts and stops."""

    fork: bool = True  # from a kernel factory; False: an ordinary new interpreter
    deadline: float | None = None  # a time.monotonic() value after which the kernel is killed
    log: Path | None = None  # where the kernel's own output goes
    preload: tuple[str, ...] = ()  # modules the factory imports once


@dataclass
class KernelWatch:
    """What happened to a run's kernel: its process id, and whether the deadline stopped it."""

    pid: int | None = None
    timed_out: bool = False
    _timer: threading.Timer | None = field(default=None, repr=False)


def kernel_manager_for(options: KernelOptions) -> tuple[type[PilotKernelManager], KernelWatch]:
    """Return a kernel manager class for one run, and the watch it reports to."""
    watch = KernelWatch()
    manager = type(
        "PilotKernelManager", (PilotKernelManager,), {"options": options, "watch": watch}
    )
    return manager, watch


class PilotKernelManager(CurrentPythonKernelManager):
    """A kernel manager for one pilot's report: private sockets, a log, a deadline."""

    options: ClassVar[KernelOptions] = KernelOptions(fork=False)
    watch: ClassVar[KernelWatch] = KernelWatch()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._socket_dir = tempfile.mkdtemp(prefix="evalkit-kernel-")
        path = os.path.join(self._socket_dir, "kernel")
        if len(path) < _SOCKET_PATH_MAX:
            self.transport = "ipc"
            self.ip = path

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
            self.provisioner = PilotProvisioner(
                kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
            )
        return await super()._async_pre_start_kernel(**kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._socket_dir, ignore_errors=True)


class PilotProvisioner(LocalProvisioner):
    """Starts a pilot's kernel from the kernel factory (or as a new process) and times it."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        manager = self.parent
        if not isinstance(manager, PilotKernelManager):
            # named as the provisioner of some other kernel manager: start it as jupyter would
            return await super().launch_kernel(cmd, **kwargs)
        options, watch = manager.options, manager.watch
        cwd = str(kwargs.get("cwd") or os.getcwd())
        env = kernel_environment(dict(kwargs.get("env") or os.environ))
        pid = None
        ipykernel = cmd[1:3] == ["-m", "ipykernel_launcher"]
        if options.fork and ipykernel:
            try:
                pid = await asyncio.to_thread(
                    _fork, options.preload, cmd[3:], env, cwd, options.log
                )
            except KernelFactoryError:
                pid = None  # no factory to be had: start an ordinary kernel instead
        if pid is not None:
            self.process = _ForkedKernel(pid)  # type: ignore[assignment]
            self.pid = self.pgid = pid
            self.cwd = cwd
            connection = self.connection_info
        else:
            log = _open_log(options.log)
            if ipykernel:
                cmd = ordinary_kernel_command(cmd)
            kwargs["env"] = env
            try:
                connection = await super().launch_kernel(cmd, stdout=log, stderr=log, **kwargs)
            finally:
                log.close()
        watch.pid = self.pid
        if options.deadline is not None:
            watch._timer = threading.Timer(
                max(options.deadline - time.monotonic(), 0.0), _stop_at_deadline, (watch,)
            )
            watch._timer.daemon = True
            watch._timer.start()
        return connection

    async def cleanup(self, restart: bool = False) -> None:
        manager = self.parent
        if isinstance(manager, PilotKernelManager) and manager.watch._timer is not None:
            manager.watch._timer.cancel()
        await super().cleanup(restart=restart)


def _fork(
    preload: tuple[str, ...], args: list[str], env: dict[str, str], cwd: str, log: Path | None
) -> int:
    return factory_for(preload).fork_kernel(args, env, cwd, log)


def _stop_at_deadline(watch: KernelWatch) -> None:
    if watch.pid is None:
        return
    watch.timed_out = True
    with contextlib.suppress(OSError):
        os.killpg(watch.pid, signal.SIGKILL)


def _open_log(path: Path | None) -> IO[bytes]:
    return open(path if path is not None else os.devnull, "ab")


class _ForkedKernel:
    """The parts of ``subprocess.Popen`` the provisioner uses, for a kernel the factory forked.

    The kernel is the factory's child, not ours, so it is watched by signal 0;
    the factory lets the system reap it, so a finished kernel's id disappears.
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            self.returncode = 0 if self.returncode is None else self.returncode
            return self.returncode
        except PermissionError:
            pass
        return None

    def wait(self, timeout: float | None = None) -> int:
        limit = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if limit is not None and time.monotonic() > limit:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0)
            time.sleep(0.05)
        return self.returncode or 0

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)
