"""The one retry policy: every connector and every model provider waits through it.

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

A wait is never taken past the investigation's deadline
(:mod:`casefile.tools.deadline`): when the server asks for longer than the time
left, the error is raised at once, so a 429 with ``Retry-After: 3600`` costs
nothing.

Providers use the same mechanism through :func:`run_with_retries` with their
own :class:`RetryPolicy` (more attempts, longer waits) and their own idea of
what is transient; :func:`retry_after_from` reads ``retry-after-ms`` and
``Retry-After`` (seconds or an HTTP date) for both.

Tests make the waits instant by patching :data:`sleep` (``monkeypatch.setattr(
tools_retry, "sleep", fake)``), or by giving a policy its own ``sleep``, and can
assert the durations the fake received.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ParamSpec, TypeVar

from casefile.tools import deadline as deadlines
from casefile.tools.errors import ToolError

__all__ = [
    "CONNECTOR_POLICY",
    "DEFAULT_ATTEMPTS",
    "DEFAULT_MAX_WAIT_S",
    "RETRY_AFTER_CAP_S",
    "RetryPolicy",
    "RetryableError",
    "backoff_s",
    "call_with_retry",
    "is_retryable_status",
    "parse_retry_after",
    "retry_after_from",
    "retrying",
    "run_with_retries",
    "sleep",
]

log = logging.getLogger("casefile.retry")

DEFAULT_ATTEMPTS = 3
DEFAULT_MAX_WAIT_S = 20.0
# A server may ask for minutes; an investigation cannot wait that long for one source.
RETRY_AFTER_CAP_S = 30.0
BASE_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0

# The sleep every retry goes through unless its policy brings one; tests replace it (looked up at call time).
sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    ``attempts`` in all; one wait is at most ``max_wait_s`` (a longer Retry-After
    is capped); waits add up to at most ``total_wait_s`` (a wait that would pass
    it is not taken); backoff starts at ``base_wait_s`` and doubles up to
    ``max_backoff_s``, with equal jitter. ``sleep`` is injectable (tests); None
    means this module's :data:`sleep`.
    """

    attempts: int = DEFAULT_ATTEMPTS
    max_wait_s: float = RETRY_AFTER_CAP_S
    total_wait_s: float = DEFAULT_MAX_WAIT_S
    base_wait_s: float = BASE_BACKOFF_S
    max_backoff_s: float = MAX_BACKOFF_S
    sleep: Callable[[float], Awaitable[None]] | None = None


CONNECTOR_POLICY = RetryPolicy()


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


def _seconds(value: str, now: datetime | None) -> float | None:
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - (now or datetime.now(UTC))).total_seconds()


def parse_retry_after(
    value: str | None, *, now: datetime | None = None, cap: float = RETRY_AFTER_CAP_S
) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), capped at ``cap``.

    Returns None when the header is absent or unreadable, so the caller falls
    back to exponential backoff.
    """
    if value is None or not value.strip():
        return None
    seconds = _seconds(value, now)
    if seconds is None or seconds != seconds:  # NaN reads as "no usable answer"
        return None
    return min(max(seconds, 0.0), cap)


def retry_after_from(headers: Mapping[str, str] | Any, *, now: datetime | None = None) -> float | None:
    """The wait a response asks for: ``retry-after-ms`` (OpenAI, Anthropic) first, then ``Retry-After``.

    Uncapped here; :func:`run_with_retries` applies the policy's cap.
    """
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            value = float(millis) / 1000
        except ValueError:
            value = float("nan")
        if value == value:
            return max(0.0, value)
    return parse_retry_after(headers.get("retry-after"), now=now, cap=float("inf"))


def backoff_s(
    attempt: int, rng: random.Random | None = None, policy: RetryPolicy = CONNECTOR_POLICY
) -> float:
    """The wait after failed attempt number ``attempt`` (1-based): exponential, equal jitter."""
    ceiling = min(policy.base_wait_s * 2.0 ** (attempt - 1), policy.max_backoff_s)
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


async def run_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    retry_after: Callable[[BaseException], float | bool | None],
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Run ``attempt`` until it succeeds, fails for good, or the policy or the deadline says stop.

    ``retry_after(exc)`` classifies a failure: False → not transient (raised at
    once); None → transient, back off; a number → transient, the server asked
    for that many seconds. When retries run out the last error is raised as it
    is; the caller translates it. ``on_retry(attempt_number, exc, wait)`` is told
    before each wait.
    """
    waited = 0.0
    number = 0
    while True:
        number += 1
        try:
            return await attempt()
        except Exception as exc:
            asked = retry_after(exc)
            if asked is False or number >= policy.attempts:
                raise
            if asked is None or asked is True:
                wait = backoff_s(number, policy=policy)
            else:
                wait = min(max(float(asked), 0.0), policy.max_wait_s)
            left = deadlines.remaining()
            # A wait that breaks the budget, or outlasts the investigation, is not taken.
            if waited + wait > policy.total_wait_s or wait >= left:
                raise
            if on_retry is not None:
                on_retry(number, exc, wait)
            await (policy.sleep or sleep)(wait)
            waited += wait


def _connector_retry_after(exc: BaseException) -> float | bool | None:
    return exc.retry_after if isinstance(exc, RetryableError) else False


async def call_with_retry(
    source: str,
    attempt: Callable[[], Awaitable[T]],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    max_wait_s: float = DEFAULT_MAX_WAIT_S,
) -> T:
    """A connector's request with the connector policy: raises the wrapped ToolError when retries run out.

    Any error that is not a :class:`RetryableError` passes through at once.
    """

    def log_retry(number: int, exc: BaseException, wait: float) -> None:
        log.info("%s: attempt %d failed (%s); retrying in %.2f s", source, number, exc, wait)

    policy = RetryPolicy(attempts=attempts, total_wait_s=max_wait_s)
    try:
        return await run_with_retries(
            attempt, policy=policy, retry_after=_connector_retry_after, on_retry=log_retry
        )
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
