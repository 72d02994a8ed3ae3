"""Run a piece of CPU work in a forked child with a wall-clock limit and a memory limit.

Python-Markdown, matplotlib and Pillow each have inputs that take minutes or gigabytes, and no
validation catches them all. The child starts as a copy of the worker (fork: nothing is imported
again), runs one function, sends its result back and exits; if it runs too long it is killed, and
if it needs too much memory its allocations fail. The worker itself is never held for longer than
the limit.

The child never outlives its worker, nor holds what the worker held (issue 15): it is killed when
the worker dies, however the worker dies (``kill -9``, the OOM killer), and it keeps none of the
worker's descriptors but its own end of the result pipe and 0, 1, 2 — not the listening socket,
whose holder would make a restarted server fail with "Address already in use", nor the client's
connection, whose holder would keep the client waiting. The worker reads the result while it
waits, so no size of result can fill the pipe and block the child.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pickle
import resource
import select
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

CPU_POLL = 0.02  # seconds between looks at the child's processor time
PARENT_POLL = 0.25  # seconds between a child's looks at its parent, where prctl is not available
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
HEADER = struct.Struct("!Q")  # the length of the pickled result, before it on the pipe
READ_SIZE = 1024 * 1024
# What gunicorn's worker handles; the child, which is not a worker, takes their defaults.
WORKER_SIGNALS = ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGWINCH")


def _load_prctl() -> Callable | None:
    """libc's prctl, looked up once in the worker (so the child need not load ctypes)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.restype = ctypes.c_int
    return prctl


_prctl = _load_prctl()


class WorkTooCostly(RuntimeError):
    """The work took longer, or needed more memory, than allowed."""


class WorkFailed(RuntimeError):
    """The work raised an exception in the child; ``error`` is the exception it raised."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(repr(error))
        self.error = error


def _virtual_memory_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


# -- in the child ----------------------------------------------------------------------------------


def _die_with(parent: int) -> None:
    """Make sure this child ends when ``parent`` (the process that forked it) ends.

    On Linux the kernel sends SIGKILL at the parent's death (PR_SET_PDEATHSIG; strictly, at the
    death of the thread that forked, which waits in ``run_bounded`` until the child has gone). A
    parent that died before that was set has already made this process an orphan: its parent
    is then another process, and it exits now. Without prctl, a thread looks at the parent
    every PARENT_POLL seconds instead.
    """
    kill, zero = ctypes.c_ulong(signal.SIGKILL), ctypes.c_ulong(0)  # prctl takes unsigned longs
    armed = _prctl is not None and _prctl(PR_SET_PDEATHSIG, kill, zero, zero, zero) == 0
    if os.getppid() != parent:
        os._exit(1)
    if not armed:

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(PARENT_POLL)
            os._exit(1)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _let_go_of_inherited(keep: int) -> None:
    """Release every descriptor inherited from the worker but 0, 1, 2 and ``keep``.

    Each is pointed at /dev/null rather than closed: the sockets, pipes and files behind them are
    let go all the same, and a Python object of the worker's that still holds a number (a
    socket, a log file) can never write to, or close, a file this work opens under that number.
    """
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    try:
        numbers = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc: try every possible number
        numbers = list(range(3, min(os.sysconf("SC_OPEN_MAX"), 65536)))
    for fd in numbers:
        if fd in (0, 1, 2, keep, null):
            continue
        try:
            os.fstat(fd)  # skips numbers not open (listdir's own, already closed)
        except OSError:
            continue
        os.dup2(null, fd, inheritable=False)
    os.close(null)


def _child(function: Callable, argument: Any, extra_memory: int | None, pipe: int) -> None:
    # Everything the child inherited is the worker's, not garbage of this work: set it aside, or
    # a full collection falling due here walks the whole inherited heap on the work's budget
    # (seen in the tests: ~0.75 s of processor time, refusing an ordinary text).
    gc.freeze()
    try:
        if extra_memory is not None:
            limit = _virtual_memory_bytes() + extra_memory
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        result = (True, function(argument))
    except MemoryError:
        result = (False, WorkTooCostly("out of memory"))
    except BaseException as error:  # sent back to the parent, which decides what it means
        result = (False, error)
    try:
        data = pickle.dumps(result, pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        data = pickle.dumps((False, WorkTooCostly("out of memory")))
    except Exception as error:  # an exception that cannot be pickled
        data = pickle.dumps((False, RuntimeError(repr(error))))
    for part in (HEADER.pack(len(data)), data):
        view = memoryview(part)
        while view:  # a parent that died closes the pipe: BrokenPipeError, and this child exits
            view = view[os.write(pipe, view) :]


def _run_child(
    parent: int, function: Callable, argument: Any, extra_memory: int | None, pipe: int
) -> None:
    """The whole life of the child: it never returns into the worker's code."""
    code = 1
    try:
        _die_with(parent)
        for name in WORKER_SIGNALS:
            with contextlib.suppress(AttributeError, OSError, ValueError):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
        with contextlib.suppress(AttributeError, ValueError):
            signal.set_wakeup_fd(-1)
        _let_go_of_inherited(keep=pipe)
        _child(function, argument, extra_memory, pipe)
        code = 0
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


# -- in the worker ---------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float | None:
    """Processor time a process has used (Linux /proc), or None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _receive(pipe: int, pid: int, *, seconds: float, cpu_seconds: float | None) -> tuple[bool, Any]:
    """Read the child's result as it comes, within the limits; the child is never left blocked.

    :raise WorkTooCostly: when time runs out, or the child dies before its result is whole.
    """
    deadline = time.monotonic() + seconds
    poller = select.poll()
    poller.register(pipe, select.POLLIN)
    received = bytearray()
    expected: int | None = None
    while expected is None or len(received) < expected:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WorkTooCostly(f"took longer than {seconds:g} s")
        wait = min(remaining, CPU_POLL) if cpu_seconds else remaining
        if poller.poll(max(1, int(wait * 1000))):
            chunk = os.read(pipe, READ_SIZE)
            if not chunk:  # every copy of the writing end is closed: the child has died
                raise WorkTooCostly("the child process died (most likely out of memory)")
            received += chunk
            if expected is None and len(received) >= HEADER.size:
                expected = HEADER.size + HEADER.unpack_from(received)[0]
            continue
        used = _cpu_seconds(pid) if cpu_seconds else None
        if used is not None and used > cpu_seconds:
            raise WorkTooCostly(f"needed more than {cpu_seconds:g} s of processor time")
    return pickle.loads(memoryview(received)[HEADER.size :])  # noqa: S301 - our own child's


def _reap(pid: int) -> None:
    """End the child if it still runs, and collect its exit status."""
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if not done:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def run_bounded(
    function: Callable,
    argument: Any,
    *,
    seconds: float,
    extra_memory: int | None = None,
    cpu_seconds: float | None = None,
) -> Any:
    """``function(argument)`` in a child process, stopped after ``seconds``.

    :param extra_memory: bytes the child may allocate beyond what the worker already has.
    :param cpu_seconds: also stop it once it has used this much processor time. Unlike wall
        time, this does not grow when the machine is busy, so a tight bound here does not refuse
        ordinary work under load; ``seconds`` stays as the outer limit.
    :raise WorkTooCostly: when the time or memory runs out.
    :raise WorkFailed: when the function raised; the original exception is ``.error``.
    """
    parent = os.getpid()
    reading, writing = os.pipe()
    with contextlib.suppress(Exception):  # what is buffered now would be written twice
        sys.stdout.flush()
        sys.stderr.flush()
    try:
        pid = os.fork()
    except BaseException:
        os.close(reading)
        os.close(writing)
        raise
    if pid == 0:
        _run_child(parent, function, argument, extra_memory, writing)  # never returns
    os.close(writing)
    try:
        ok, payload = _receive(reading, pid, seconds=seconds, cpu_seconds=cpu_seconds)
    finally:
        os.close(reading)
        _reap(pid)
    if ok:
        return payload
    if isinstance(payload, WorkTooCostly):
        raise payload
    raise WorkFailed(payload)


def run_or_refuse(
    function: Callable,
    argument: Any,
    *,
    refusal: type[Exception],
    too_costly: str,
    failed: str,
    seconds: float,
    extra_memory: int | None = None,
    cpu_seconds: float | None = None,
) -> Any:
    """``run_bounded``, with every way it can fail told to the person as one ``refusal``.

    A ``refusal`` that ``function`` raised itself comes through as it was (its message already
    says what is wrong); running out of time or memory raises ``refusal(too_costly)``; any other
    failure in the child (a crash, an exception of the library) raises ``refusal(failed)``.

    :raise refusal: in each of those cases.
    """
    try:
        return run_bounded(
            function,
            argument,
            seconds=seconds,
            extra_memory=extra_memory,
            cpu_seconds=cpu_seconds,
        )
    except WorkTooCostly:
        raise refusal(too_costly) from None
    except WorkFailed as failure:
        if isinstance(failure.error, refusal):
            raise failure.error from None
        raise refusal(failed) from None
