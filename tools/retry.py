"""The one retry policy every connector uses.

A connector runs one *attempt* of a request and translates what went wrong into
:mod:`casefile.tools.errors`. When the failure is worth another try (a timeout, a
connection error, HTTP 429 or 5xx) it raises :class:`RetryableError` wrapping
the error it would otherwise raise, with the server's ``Retry-After`` if any.
:func:`call_with_retry` (or the :func:`retrying` decorator) then waits and tries
again, a bounded number of times and for a bounded total wait, and when it
gives up raises the wrapped error itself (``SourceRateLimited``,
``SourceTimeout``...), never the wrapper::

    async def attempt() -> dict:
        ...
        if resp.status_code == 429:
            raise RetryableError(SourceRateLimited("bugs", "HTTP 429"),
                                 retry_after=parse_retry_after(resp.headers.get("retry-after")))
        ...

    data = await call_with_retry("bugs", attempt)

Any other exception (a 401, a 404, a read-only violation) passes through at
once: retrying a refusal only makes the refusal slower.

Waits are exponential with jitter (0.5 s, 1 s, 2 s... each between half and
all of that), or exactly what Retry-After asked, capped at
:data:`RETRY_AFTER_CAP_S`. A wait that would take the total past ``max_wait_s``
is not taken: the error is raised instead, so a tool call never sleeps longer
than the investigation can afford.

Tests make the waits instant by patching :data:`sleep` (``monkeypatch.setattr(
tools_retry, "sleep", fake)``) and can assert the durations the fake received.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import ParamSpec, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from casefile.tools.errors import ToolError

__all__ = [
    "DEFAULT_ATTEMPTS",
    "DEFAULT_MAX_WAIT_S",
    "RETRY_AFTER_CAP_S",
    "RetryableError",
    "backoff_s",
    "call_with_retry",
    "is_retryable_status",
    "parse_retry_after",
    "retrying",
    "sleep",
]

log = logging.getLogger("casefile.retry")

DEFAULT_ATTEMPTS = 3
DEFAULT_MAX_WAIT_S = 20.0
# A server may ask for minutes; an investigation cannot wait that long for one source.
RETRY_AFTER_CAP_S = 30.0
BASE_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0

# The sleep every retry goes through; tests replace it (looked up at call time).
sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

P = ParamSpec("P")
T = TypeVar("T")


class RetryableError(Exception):
    """A failed attempt worth repeating; carries the error to raise if retries run out.

    ``retry_after`` is the server's requested wait in seconds (already parsed,
    see :func:`parse_retry_after`), or None to use exponential backoff.
    """

    def __init__(self, error: ToolError, *, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def is_retryable_status(status: int) -> bool:
    """429 and 5xx deserve another try; every other 4xx is a refusal that will not change."""
    return status == 429 or 500 <= status <= 599


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), capped.

    Returns None when the header is absent or unreadable, so the caller falls
    back to exponential backoff.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_S)


def backoff_s(attempt: int, rng: random.Random | None = None) -> float:
    """The wait after failed attempt number ``attempt`` (1-based): exponential, equal jitter."""
    ceiling = min(BASE_BACKOFF_S * 2 ** (attempt - 1), MAX_BACKOFF_S)
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def _wait(retry_state: RetryCallState) -> float:
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    if isinstance(exc, RetryableError) and exc.retry_after is not None:
        return exc.retry_after
    return backoff_s(retry_state.attempt_number)


def _stop(attempts: int, max_wait_s: float) -> Callable[[RetryCallState], bool]:
    def stop(retry_state: RetryCallState) -> bool:
        # Evaluated after the next wait is chosen: refuse a wait that would break the budget.
        return (
            retry_state.attempt_number >= attempts
            or retry_state.idle_for + retry_state.upcoming_sleep > max_wait_s
        )

    return stop


async def _sleep(seconds: float) -> None:
    await sleep(seconds)


async def call_with_retry(
    source: str,
    attempt: Callable[[], Awaitable[T]],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    max_wait_s: float = DEFAULT_MAX_WAIT_S,
) -> T:
    """Run ``attempt`` until it succeeds, raises a non-retryable error, or the budget is spent.

    When retries run out the last :class:`RetryableError`'s wrapped
    :class:`~casefile.tools.errors.ToolError` is raised.
    """

    def log_retry(retry_state: RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        log.info(
            "%s: attempt %d failed (%s); retrying in %.2f s",
            source,
            retry_state.attempt_number,
            exc,
            retry_state.upcoming_sleep,
        )

    retryer = AsyncRetrying(
        stop=_stop(attempts, max_wait_s),
        wait=_wait,
        retry=retry_if_exception_type(RetryableError),
        sleep=_sleep,
        before_sleep=log_retry,
        reraise=True,
    )

    async def run() -> T:
        # tenacity only awaits coroutine *functions*; this accepts any callable returning an awaitable.
        return await attempt()

    try:
        return await retryer(run)
    except RetryableError as exc:
        raise exc.error from None


def retrying(
    source: str, *, attempts: int = DEFAULT_ATTEMPTS, max_wait_s: float = DEFAULT_MAX_WAIT_S
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Decorator form of :func:`call_with_retry` for an async function that is one attempt."""

    def decorate(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            return await call_with_retry(
                source, lambda: func(*args, **kwargs), attempts=attempts, max_wait_s=max_wait_s
            )

        return wrapper

    return decorate
