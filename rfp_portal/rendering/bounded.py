"""Run a piece of CPU work in a forked child with a wall-clock limit and a memory limit.

Python-Markdown, matplotlib and Pillow each have inputs that take minutes or gigabytes, and no
validation catches them all. The child starts as a copy of the worker (fork: nothing is imported
again), runs one function, sends its result back and exits; if it runs too long it is killed, and
if it needs too much memory its allocations fail. The worker itself is never held for longer than
the limit.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import resource
import time
from collections.abc import Callable
from typing import Any

CPU_POLL = 0.02  # seconds between looks at the child's processor time


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


def _child(function: Callable, argument: Any, extra_memory: int | None, sender) -> None:
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
        sender.send(result)
    except Exception as error:  # an exception that cannot be pickled
        sender.send((False, RuntimeError(repr(error))))


def _cpu_seconds(pid: int) -> float | None:
    """Processor time a process has used (Linux /proc), or None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child, args=(function, argument, extra_memory, sender), daemon=True
    )
    child.start()
    sender.close()
    deadline = time.monotonic() + seconds
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkTooCostly(f"took longer than {seconds:g} s")
            if receiver.poll(min(remaining, CPU_POLL) if cpu_seconds else remaining):
                break
            used = _cpu_seconds(child.pid) if cpu_seconds else None
            if used is not None and used > cpu_seconds:
                raise WorkTooCostly(f"needed more than {cpu_seconds:g} s of processor time")
        ok, payload = receiver.recv()
    except EOFError:
        raise WorkTooCostly("the child process died (most likely out of memory)") from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
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
