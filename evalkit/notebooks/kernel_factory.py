"""The kernel factory: one process that imports a template's modules once and forks kernels.

Starting a kernel the ordinary way starts a new interpreter that then imports
pandas, statsmodels, altair and evalkit before a report's first line runs:
about half of the time a small pilot's report takes. A kernel factory, one
small process per worker, imports the modules a template uses once, then
forks a new kernel for each pilot. Each pilot still gets its own kernel
process, working folder and sockets; the factory itself never runs pilot
code, so nothing one pilot does can reach another. A forked kernel gets the
environment and working folder an ordinary one would, and its own random
state.

This module uses the standard library only, so a worker can start its
factory before it loads anything else.
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import ctypes
import importlib
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

#: Forking a process that has loaded pandas and numpy is well trodden on Linux; on macOS
#: system libraries are not safe to use after a fork, so kernels start the ordinary way.
FORKING = sys.platform.startswith("linux")
#: Modules every kernel imports before it can run a cell.
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell")
FACTORY_START_SECONDS = 120.0
FORK_SECONDS = 30.0
_SERVE = "from evalkit.notebooks.kernel_factory import serve_kernels; serve_kernels()"
_LAUNCH = "from evalkit.notebooks.kernel_factory import run_ordinary_kernel; run_ordinary_kernel()"
#: prctl(2) option: the signal this process gets when its parent ends (Linux).
_PR_SET_PDEATHSIG = 1
#: How a factory hears that its parent thread ended: it then checks whether the whole
#: parent process has (a worker may start its factory from a thread that ends first).
_FACTORY_PARENT_SIGNAL = signal.SIGUSR1
#: The exit code of a process whose parent had gone before it could ask to end with it.
ORPHAN_EXIT = 3


def end_with_parent(parent: int, signum: int = signal.SIGKILL) -> bool:
    """Ask the system to send ``signum`` to this process when its parent ends; end now if it has.

    Returns False where the system cannot be asked (not Linux): the caller
    then watches its parent itself. The check after asking closes the gap in
    which the parent died before the request was made, when no signal comes.
    """
    armed = False
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    if os.getppid() != parent:
        os._exit(ORPHAN_EXIT)
    return armed


def ordinary_kernel_command(cmd: list[str]) -> list[str]:
    """Return an ordinary kernel's command line, changed so that the kernel ends with this process.

    ``cmd`` is ``python -m ipykernel_launcher ARGS``; the new one runs
    ``run_ordinary_kernel``, which asks for that before it loads ipykernel.
    """
    return [cmd[0], "-c", _LAUNCH, str(os.getpid()), *cmd[3:]]


def run_ordinary_kernel() -> None:
    """Run an ordinary kernel as ``python -m ipykernel_launcher`` would; it ends with its parent.

    The command line is the parent's process id, then the kernel's arguments.
    Asking from inside the kernel (not from ``subprocess``'s ``preexec_fn``)
    keeps Python code out of the gap between fork and exec in a parent that
    runs threads.
    """
    end_with_parent(int(sys.argv[1]))
    sys.argv = ["ipykernel_launcher", *sys.argv[2:]]
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)


def template_modules(template: Path) -> tuple[str, ...]:
    """Return the modules a notebook template imports, for a kernel factory to load once."""
    found = list(KERNEL_MODULES)
    notebook = json.loads(template.read_text(encoding="utf-8"))  # nbformat would cost 1 s
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        try:
            tree = ast.parse(source if isinstance(source, str) else "".join(source))
        except SyntaxError:  # IPython magics: the kernel will cope, the factory need not
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append(node.module)
                found += [f"{node.module}.{alias.name}" for alias in node.names]
    return tuple(dict.fromkeys(found))


#: The thread pools of the linear algebra libraries numpy and scipy use (OpenBLAS, MKL,
#: OpenMP), read once when they load.
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def kernel_environment(env: dict[str, str]) -> dict[str, str]:
    """Return ``env`` for a kernel: one linear-algebra thread, unless the user chose otherwise.

    A report's matrices are small (periods, places, a few terms), where a
    thread pool costs more than it gives, and pilots run side by side (one a
    core) would have their pools fight over the same cores: an interrupted time
    series' estimate took 0.14 s with OpenBLAS's threads on a quiet 2-core
    machine and 0.07 s with one, 0.7 s and 0.14 s with other work running.
    """
    return {**{name: "1" for name in BLAS_THREADS}, **env}


class KernelFactoryError(RuntimeError):
    """The kernel factory could not give a kernel (the run then starts an ordinary one)."""


class KernelFactory:
    """The client side of a kernel factory process: one request, one kernel, at a time."""

    def __init__(self, preload: tuple[str, ...]) -> None:
        # each kernel gets the environment jupyter_client gives it; the factory's only
        # matters to modules that read it on import, as a kernel's would be
        env = {k: v for k, v in os.environ.items() if k != "PYTHONEXECUTABLE"}
        self._process = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(os.getpid()), *preload],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=kernel_environment(env),  # its kernels are forked with its thread pools
            cwd=tempfile.gettempdir(),
        )
        self._preload = preload
        self._lock = threading.Lock()
        self._buffer = b""
        self._ready = False

    def alive(self) -> bool:
        return self._process.poll() is None

    def fork_kernel(self, args: list[str], env: dict[str, str], cwd: str, log: Path | None) -> int:
        """Return the process id of a new kernel started with ``args`` in ``cwd``."""
        with self._lock:
            try:
                if not self._ready:
                    ready = self._reply(FACTORY_START_SECONDS)
                    if ready.get("ready") is not True:
                        _unusable.add(self._preload)
                        raise KernelFactoryError(str(ready.get("why", "it is not ready")))
                    self._ready = True
                request = {"args": args, "env": env, "cwd": cwd, "log": str(log) if log else None}
                if self._process.stdin is None:
                    raise KernelFactoryError("the kernel factory has no input pipe")
                self._process.stdin.write(json.dumps(request).encode() + b"\n")
                self._process.stdin.flush()
                reply = self._reply(FORK_SECONDS)
            except (OSError, ValueError, KernelFactoryError) as exc:
                self.close()
                raise KernelFactoryError(f"the kernel factory failed: {exc}") from None
        if "pid" not in reply:
            raise KernelFactoryError(f"the kernel factory could not fork: {reply.get('error')}")
        return int(reply["pid"])

    def _reply(self, seconds: float) -> dict[str, Any]:
        if self._process.stdout is None:
            raise KernelFactoryError("the kernel factory has no output pipe")
        handle = self._process.stdout.fileno()
        limit = time.monotonic() + seconds
        while b"\n" not in self._buffer:
            left = limit - time.monotonic()
            if left <= 0 or not select.select([handle], [], [], left)[0]:
                raise KernelFactoryError(f"no answer within {seconds:.0f} seconds")
            chunk = os.read(handle, 65536)
            if not chunk:
                raise KernelFactoryError("it stopped")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        reply = json.loads(line)
        return reply if isinstance(reply, dict) else {}

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self._process.stdin is not None:
                self._process.stdin.close()
        try:
            self._process.wait(2)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


_factories: dict[tuple[str, ...], KernelFactory] = {}
_factories_lock = threading.Lock()
#: Module sets a factory cannot safely fork after loading (kernels then start the ordinary way).
_unusable: set[tuple[str, ...]] = set()


def start_factory(preload: tuple[str, ...]) -> None:
    """Start a kernel factory loading ``preload`` now, so it is ready by the first kernel."""
    with contextlib.suppress(KernelFactoryError):
        factory_for(preload)


def factory_for(preload: tuple[str, ...]) -> KernelFactory:
    """Return this process's kernel factory for ``preload``, starting one if there is none."""
    with _factories_lock:
        if not FORKING or preload in _unusable:
            raise KernelFactoryError("kernels for this template start the ordinary way")
        factory = _factories.get(preload)
        if factory is None or not factory.alive():
            if not _factories:
                atexit.register(close_factories)
            factory = _factories[preload] = KernelFactory(preload)
        return factory


def close_factories() -> None:
    """Stop this process's kernel factories (they also stop when this process ends)."""
    with _factories_lock:
        for factory in _factories.values():
            factory.close()
        _factories.clear()


# --- the factory process ---


def serve_kernels() -> None:
    """Run a kernel factory: import the modules named on the command line, then fork kernels.

    The command line is the parent's process id, then the modules. Reads one
    JSON request a line on stdin (args, env, cwd, log) and answers with the
    new kernel's process id on stdout. Stops when stdin closes or the process
    that started it ends, even while it is still importing.
    """
    parent = int(sys.argv[1])

    def parent_thread_ended(signum: int, frame: object) -> None:
        if os.getppid() != parent:  # not just the thread that started us: the whole process
            os._exit(0)

    signal.signal(_FACTORY_PARENT_SIGNAL, parent_thread_ended)
    end_with_parent(parent, _FACTORY_PARENT_SIGNAL)
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # anything an import prints must not be read as an answer
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    for name in sys.argv[2:]:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    if threading.active_count() > 1:  # a fork would copy a thread's locks, not the thread
        names = ", ".join(t.name for t in threading.enumerate()[1:])
        why = f"importing the template's modules started threads ({names})"
        replies.write(json.dumps({"ready": False, "why": why}).encode() + b"\n")
        return
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the system reaps finished kernels
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the run, which closes stdin
    replies.write(b'{"ready": true}\n')
    factory = os.getpid()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        try:
            pid = os.fork()
        except OSError as exc:
            replies.write(json.dumps({"error": str(exc)}).encode() + b"\n")
            continue
        if pid == 0:
            replies.close()
            _become_kernel(request, factory)
        replies.write(json.dumps({"pid": pid}).encode() + b"\n")


def _become_kernel(request: dict[str, Any], factory: int) -> NoReturn:
    """Turn a fresh fork of the factory into a kernel; it ends as any Python process does."""
    # the factory is single-threaded, so its death is its main thread's: SIGKILL at once
    signal.signal(_FACTORY_PARENT_SIGNAL, signal.SIG_DFL)
    end_with_parent(factory)
    os.setsid()  # its own process group, as jupyter_client gives an ordinary kernel
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    log = request.get("log")
    out = os.open(log or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()  # as a new interpreter would be: not the factory's random state
    from ipykernel.kernelapp import launch_new_instance

    args = [*request["args"], f"--IPKernelApp.parent_handle={os.getppid()}"]
    sys.argv = ["ipykernel_launcher", *args]
    launch_new_instance(argv=args)
    _leave()


def _leave() -> NoReturn:
    """End a kernel that was asked to shut down, never going back into the factory's loop.

    The exit handlers run as usual (ipykernel closes its sockets there, so its
    last messages are sent), then the process ends without tearing the
    interpreter down: freeing a heap full of pandas and altair takes half a
    second a pilot, and nothing needs it.
    """
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None:  # not CPython: leave the ordinary way
        raise SystemExit(0)
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
    os._exit(0)
