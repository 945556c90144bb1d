"""The investigation's one deadline, seen by every call made on its behalf.

An investigation has ``Budgets.deadline_s`` in all: preflight, the model's
turns (with their retries and Retry-After waits), routing's calls and delivery
share what is left of it. Rather than thread a parameter through every
connector and provider, the loop binds a :class:`Deadline` to the running task
(a :mod:`contextvars` variable, which asyncio copies into the tasks a call
starts), and the places that wait read it:

* :meth:`casefile.tools.base.Toolbox.execute` gives each call
  ``min(Budgets.tool_timeout_s, remaining)`` and refuses calls once it is spent;
* :mod:`casefile.tools.retry` never sleeps past it;
* the loop gives each model turn what remains.

Outside an investigation (a test calling a connector directly) there is no
deadline and nothing changes.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Deadline", "bound", "current", "remaining", "within"]


@dataclass(frozen=True)
class Deadline:
    """A point in monotonic time, and the longest any one call may take before it."""

    at: float
    call_cap_s: float = math.inf

    @classmethod
    def after(cls, seconds: float, *, call_cap_s: float = math.inf) -> Deadline:
        return cls(time.monotonic() + seconds, call_cap_s)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def earlier(self, seconds: float) -> Deadline:
        """The same deadline, ``seconds`` sooner: a phase that must leave time for what follows."""
        return Deadline(self.at - seconds, self.call_cap_s)

    def call_timeout(self, cap: float | None = None) -> float:
        """How long one call may take: its cap (or the deadline's per-call cap), within what remains."""
        return min(self.call_cap_s if cap is None else cap, self.remaining())


_current: ContextVar[Deadline | None] = ContextVar("casefile_deadline", default=None)


def current() -> Deadline | None:
    return _current.get()


def remaining() -> float:
    """Seconds left on the bound deadline; infinite outside an investigation."""
    deadline = _current.get()
    return math.inf if deadline is None else deadline.remaining()


@contextmanager
def bound(deadline: Deadline | None) -> Iterator[Deadline | None]:
    """Make ``deadline`` the current one for this task (and the tasks it starts) while inside."""
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


T = TypeVar("T")


async def within(awaitable: Awaitable[T], timeout_s: float) -> T:
    """``awaitable``'s result, or ``TimeoutError`` after ``timeout_s``, whatever it does when cancelled.

    ``asyncio.wait_for`` waits for the cancelled work to finish: a connector or SDK that catches
    ``CancelledError`` (or hangs in its clean-up) held the investigation past its deadline. Here
    the work is cancelled and left behind; the caller gets its answer on time.
    """
    task = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait({task}, timeout=max(timeout_s, 0))
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task in done:
        return task.result()
    task.cancel()
    task.add_done_callback(_settle)
    raise TimeoutError


def _settle(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned task's outcome, so asyncio does not report it as never retrieved."""
    if not task.cancelled():
        task.exception()
