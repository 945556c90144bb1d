"""Sending one request: the one retry policy for providers, usage and prompt-size counting."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from casefile.agent.models._http import ResponseTooLarge
from casefile.agent.models._transcript import Transcript
from casefile.agent.models.base import LoopState, ModelMisconfigured, ModelUnavailable
from casefile.tools.retry import RetryPolicy, retry_after_from, run_with_retries

T = TypeVar("T")


# ---------------------------------------------------------------- usage


def dig(obj: Any, *path: str) -> int:
    """A non-negative int at ``path`` in an SDK object or a dict; 0 when absent or null."""
    for key in path:
        if obj is None:
            return 0
        obj = obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)
    return int(obj) if isinstance(obj, int | float) and obj > 0 else 0


# ---------------------------------------------------------------- prompt size

# Tokenisers differ by model; four characters a token is the usual rule for English and JSON.
CHARS_PER_TOKEN = 4


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """casefile's own count of a request's tokens: its serialised size over :data:`CHARS_PER_TOKEN`."""
    return len(json.dumps(body, ensure_ascii=False, default=str)) // CHARS_PER_TOKEN


# ---------------------------------------------------------------- retries

# The providers' policy; the mechanism is the one every connector uses (casefile.tools.retry).
PROVIDER_RETRY = RetryPolicy(attempts=4, max_wait_s=20.0, total_wait_s=45.0, base_wait_s=1.0)

_TRANSIENT_STATUSES = {408, 409, 429}
# Who or what we asked for does not exist or is not ours to use: fix the setup, do not fall back.
_CONFIGURATION_STATUSES = {401, 403, 404}


class MalformedResponse(Exception):
    """The provider answered 200 with something that is not its API's response (HTML, junk, a cut-off body)."""


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, ``retry-after`` in seconds or as a date)."""
    return retry_after_from(getattr(getattr(exc, "response", None), "headers", None))


def _describe(exc: BaseException) -> str:
    status = _status(exc)
    message = (
        str(getattr(exc, "message", "") or exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    )
    message = re.sub(r"^Error code: \d+ - ", "", message)  # the OpenAI SDK's prefix; we say HTTP <status>
    return f"HTTP {status}: {message}" if status else f"{type(exc).__name__}: {message}"


async def call_with_retries(
    send: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    connection_errors: tuple[type[BaseException], ...],
    status_errors: tuple[type[BaseException], ...],
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Call ``send`` until it succeeds, retrying transient failures; else raise :class:`ModelUnavailable`.

    Transient: a connection error or timeout, an HTTP 408/409/429/5xx, or a
    malformed answer (a body that is not JSON, a truncated one: asking again is
    the repair). The wait is the server's ``Retry-After`` when given (capped at
    ``policy.max_wait_s``), else exponential from ``base_wait_s``, and never past
    the investigation's deadline. Client errors (400, 401, 404...) are not
    retried: a bad key will not get better; 401, 403 and 404 (unknown model,
    bad key, no access) raise :class:`ModelMisconfigured`.
    """
    malformed: tuple[type[BaseException], ...] = (MalformedResponse, ValueError)

    def classify(exc: BaseException) -> float | bool | None:
        if isinstance(exc, ResponseTooLarge):
            return False  # asking again would only read as much again
        if isinstance(exc, (*connection_errors, *malformed)):
            return None
        status = _status(exc)
        if (
            isinstance(exc, status_errors)
            and status is not None
            and (status in _TRANSIENT_STATUSES or status >= 500)
        ):
            return _retry_after(exc)
        return False

    attempts = 0

    async def attempt() -> T:
        nonlocal attempts
        attempts += 1
        return await send()

    try:
        return await run_with_retries(attempt, policy=policy, retry_after=classify, on_retry=on_retry)
    except (*connection_errors, *status_errors, *malformed) as exc:
        if isinstance(exc, status_errors) and _status(exc) in _CONFIGURATION_STATUSES:
            raise ModelMisconfigured(_describe(exc)) from exc
        suffix = f" after {attempts} attempts" if classify(exc) is not False and attempts > 1 else ""
        raise ModelUnavailable(f"{_describe(exc)}{suffix}") from exc


async def exchange(
    send: Callable[[], Awaitable[Any]],
    body: Mapping[str, Any],
    *,
    state: LoopState,
    transcript: Transcript,
    policy: RetryPolicy,
    connection_errors: tuple[type[BaseException], ...],
    status_errors: tuple[type[BaseException], ...],
) -> Any:
    """One provider call with retries, every request, retry and response written to the transcript.

    The prompt's size is counted here, by casefile, from the body it sends (the
    provider's reported usage is not trusted for budgets): it accumulates in
    ``state.sent_tokens``, and a single request larger than the whole input
    budget is not sent at all.
    """
    tokens = prompt_tokens(body)
    state.sent_tokens += tokens
    if tokens > state.budgets.max_input_tokens:
        raise ModelUnavailable(
            f"the prompt would be ~{tokens} tokens, over max_input_tokens ({state.budgets.max_input_tokens})"
        )
    transcript.write("request", body, state=state)

    def retried(attempt: int, exc: BaseException, delay: float) -> None:
        transcript.write("retry", {"attempt": attempt, "error": _describe(exc), "wait_s": delay}, state=state)

    async def checked() -> Any:
        response = await send()
        # An SDK hands back the raw text when a 200 body is not its JSON (an HTML error page, say).
        if isinstance(response, str | bytes) or response is None:
            raise MalformedResponse("the response body is not the API's JSON")
        return response

    try:
        response = await call_with_retries(
            checked,
            policy=policy,
            connection_errors=connection_errors,
            status_errors=status_errors,
            on_retry=retried,
        )
    except ModelMisconfigured as exc:
        transcript.write("error", {"error": str(exc)}, state=state)
        raise ModelMisconfigured(
            f"{transcript.provider}:{transcript.model} cannot be used: {exc} (check the model name, the key "
            "and the base URL)"
        ) from exc
    except ModelUnavailable as exc:
        transcript.write("error", {"error": str(exc)}, state=state)
        raise
    dump = getattr(response, "model_dump", None)
    transcript.write("response", dump(mode="json", exclude_unset=True) if dump else response, state=state)
    return response


def field_of(obj: Any, key: str) -> Any:
    """``obj[key]`` or ``obj.key``: SDK objects and plain dicts (from tests, transcripts) read alike."""
    if obj is None:
        return None
    return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)
