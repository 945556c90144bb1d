"""Blocking calls on daemon threads: what a deadline left behind never holds the process' exit.

A :class:`concurrent.futures.ThreadPoolExecutor`'s threads are joined when the interpreter exits,
even after ``shutdown(wait=False)``, so one call stuck in a socket read (a database or an API that
accepted the connection and never answers) kept a finished command alive for as long as its
socket's own timeout. Here each call runs on a daemon thread of its own, which nothing joins: the
event loop's default executor (:func:`casefile.agent.runner.run_to_end`) and the logs engine's
query threads (``tests/test_attack_cli_exit.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["DaemonCalls"]


class DaemonCalls(ThreadPoolExecutor):
    """An executor running each call on a new daemon thread named ``name``; nothing is pooled, so
    neither its shutdown nor the interpreter's exit waits for a call still running."""

    def __init__(self, name: str = "casefile-call") -> None:
        super().__init__(max_workers=1)
        self._name = name

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()

        def call() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # the awaiting coroutine re-raises it
                future.set_exception(exc)

        threading.Thread(target=call, name=self._name, daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None  # nothing pooled; a call still running is left behind
