"""A command's event loop: run one coroutine to its end, and leave behind what it abandoned.

An investigation ends on time: a call or a model turn that will not end is cancelled and left behind
at the deadline (:func:`casefile.tools.deadline.within`). ``asyncio.run`` would then hold the
*process*: it cancels what is left and waits for it to finish (a plug-in that swallows its
cancellation never does), and it waits for every thread of the default executor (a blocking SDK
call that never returns), as the interpreter's exit does for executor threads. Here the leftovers
get ``LEFTOVER_GRACE_S`` to finish once cancelled, and each blocking call runs on a daemon thread of
its own, so a command prints its result and exits (``tests/test_attack_cli_exit.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from casefile.tools.daemon import DaemonCalls

__all__ = ["LEFTOVER_GRACE_S", "run_to_end"]

T = TypeVar("T")

# How long what a command left running gets to end once cancelled (a connector's clean-up).
LEFTOVER_GRACE_S = 0.25


def run_to_end(main: Coroutine[Any, Any, T], *, grace_s: float = LEFTOVER_GRACE_S) -> T:
    """``main``'s result (or exception), on a new event loop that is closed before returning, without
    waiting more than ``grace_s`` for tasks left running and never for a blocking call's thread."""
    loop = asyncio.new_event_loop()
    loop.set_default_executor(DaemonCalls())
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            _cancel_leftovers(loop, grace_s)
            loop.run_until_complete(_within(loop.shutdown_asyncgens(), grace_s))
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop, grace_s: float) -> None:
    left = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in left:
        task.cancel()
    if left:
        loop.run_until_complete(asyncio.wait(left, timeout=grace_s))
    for task in left:
        if task.done():
            if not task.cancelled() and task.exception() is not None:
                loop.call_exception_handler(
                    {
                        "message": "a task failed while the command ended",
                        "exception": task.exception(),
                        "task": task,
                    }
                )
        else:
            task._log_destroy_pending = False  # type: ignore[attr-defined]  # left behind on purpose: no warning


async def _within(work: Coroutine[Any, Any, None], grace_s: float) -> None:
    try:
        await asyncio.wait_for(work, grace_s)
    except TimeoutError:
        return
