"""Run a piece of CPU work in a forked child with a wall-clock limit and a memory limit.

Python-Markdown, matplotlib and Pillow each have inputs that take minutes or gigabytes, and no
validation catches them all. The child starts as a copy of the worker (fork: nothing is imported
again), runs one function, sends its result back and exits; if it runs too long it is killed, and
if it needs too much memory its allocations fail. The worker itself is never held for longer than
the limit.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
from collections.abc import Callable
from typing import Any


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


def run_bounded(
    function: Callable, argument: Any, *, seconds: float, extra_memory: int | None = None
) -> Any:
    """``function(argument)`` in a child process, stopped after ``seconds``.

    :param extra_memory: bytes the child may allocate beyond what the worker already has.
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
    try:
        if not receiver.poll(seconds):
            raise WorkTooCostly(f"took longer than {seconds:g} s")
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
