"""The shared HTTP mechanism: the retry policy and the read-only client."""

from __future__ import annotations

import json
import random
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import respx

from casefile.tools import errors
from casefile.tools.http import ReadOnlyHTTP
from casefile.tools.retry import (
    RETRY_AFTER_CAP_S,
    RetryableError,
    backoff_s,
    call_with_retry,
    is_retryable_status,
    parse_retry_after,
    retrying,
)

BASE = "https://api.example.test"


# --- retry policy -------------------------------------------------------------------


def test_parse_retry_after_seconds_date_and_cap() -> None:
    now = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3", now=now) == 3.0
    assert parse_retry_after("Fri, 20 Nov 2026 12:00:07 GMT", now=now) == 7.0
    assert parse_retry_after("Fri, 20 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("3600", now=now) == RETRY_AFTER_CAP_S
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


def test_retryable_statuses() -> None:
    assert is_retryable_status(429) and is_retryable_status(500) and is_retryable_status(503)
    assert not any(is_retryable_status(s) for s in (400, 401, 403, 404, 422))


def test_backoff_grows_with_jitter_within_bounds() -> None:
    rng = random.Random(1)
    for attempt, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (10, 8.0)):
        wait = backoff_s(attempt, rng)
        assert ceiling / 2 <= wait <= ceiling


async def test_call_with_retry_succeeds_after_retries(waits: list[float]) -> None:
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise RetryableError(errors.SourceUnavailable("x", "HTTP 502"))
        return "ok"

    assert await call_with_retry("x", attempt) == "ok"
    assert calls == 3
    assert len(waits) == 2
    assert 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0


async def test_call_with_retry_honours_retry_after_and_unwraps(waits: list[float]) -> None:
    async def attempt() -> str:
        raise RetryableError(errors.SourceRateLimited("x", "HTTP 429"), retry_after=4.0)

    with pytest.raises(errors.SourceRateLimited):
        await call_with_retry("x", attempt, attempts=3)
    assert waits == [4.0, 4.0]


async def test_total_wait_budget_stops_early(waits: list[float]) -> None:
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        raise RetryableError(errors.SourceRateLimited("x", "HTTP 429"), retry_after=15.0)

    with pytest.raises(errors.SourceRateLimited):
        await call_with_retry("x", attempt, attempts=5, max_wait_s=20.0)
    assert waits == [15.0]  # a second 15 s wait would pass the 20 s budget
    assert calls == 2


async def test_non_retryable_errors_pass_through_at_once(waits: list[float]) -> None:
    calls = 0

    @retrying("x")
    async def attempt() -> str:
        nonlocal calls
        calls += 1
        raise errors.SourceAuthError("x", "HTTP 401")

    with pytest.raises(errors.SourceAuthError):
        await attempt()
    assert calls == 1 and waits == []


# --- the read-only client -------------------------------------------------------------


def _guard(body: bytes) -> None:
    if b"mutation" in body:
        raise errors.ReadOnlyViolation("t", "not a query")


@pytest.fixture
async def http() -> AsyncIterator[ReadOnlyHTTP]:
    client = ReadOnlyHTTP(
        "t",
        BASE,
        headers={"Authorization": "Bearer s3cret-token"},
        allow_post_paths={"/graphql"},
        post_guard=_guard,
        max_bytes=1_000_000,
    )
    yield client
    await client.aclose()


@respx.mock
async def test_get_json_sends_headers_and_params(http: ReadOnlyHTTP) -> None:
    route = respx.get(f"{BASE}/items", params={"page": "2"}).mock(
        return_value=httpx.Response(200, json=[1, 2])
    )
    assert await http.get_json("/items", {"page": 2}, expect=list) == [1, 2]
    assert route.calls.last.request.headers["authorization"] == "Bearer s3cret-token"


@respx.mock
async def test_base_url_path_prefix_is_kept() -> None:
    route = respx.get("https://ghe.example.com/api/v3/repos/a/b").mock(
        return_value=httpx.Response(200, json={})
    )
    client = ReadOnlyHTTP("t", "https://ghe.example.com/api/v3")
    try:
        assert await client.get_json("/repos/a/b") == {}
    finally:
        await client.aclose()
    assert route.called


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, errors.SourceAuthError),
        (403, errors.SourceAuthError),
        (404, errors.SourceNotFound),
        (422, errors.ToolArgumentError),
    ],
)
@respx.mock
async def test_refusals_are_mapped_without_retry(
    http: ReadOnlyHTTP, waits: list[float], status: int, error: type[Exception]
) -> None:
    route = respx.get(f"{BASE}/x").mock(return_value=httpx.Response(status, json={"message": "nope"}))
    with pytest.raises(error) as info:
        await http.get_json("/x")
    assert route.call_count == 1 and waits == []
    assert "nope" in str(info.value) and "s3cret" not in str(info.value)


@respx.mock
async def test_429_retry_after_then_success(http: ReadOnlyHTTP, waits: list[float]) -> None:
    route = respx.get(f"{BASE}/x").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    assert await http.get_json("/x") == {"ok": True}
    assert route.call_count == 2 and waits == [2.0]


@respx.mock
async def test_429_forever_is_rate_limited(http: ReadOnlyHTTP, waits: list[float]) -> None:
    route = respx.get(f"{BASE}/x").mock(return_value=httpx.Response(429, headers={"Retry-After": "1"}))
    with pytest.raises(errors.SourceRateLimited):
        await http.get_json("/x")
    assert route.call_count == 3 and waits == [1.0, 1.0]


@respx.mock
async def test_github_403_rate_limit_is_rate_limited(http: ReadOnlyHTTP, waits: list[float]) -> None:
    respx.get(f"{BASE}/x").mock(return_value=httpx.Response(403, headers={"x-ratelimit-remaining": "0"}))
    with pytest.raises(errors.SourceRateLimited):
        await http.get_json("/x")
    assert len(waits) == 2


@respx.mock
async def test_5xx_storm_and_connect_errors_are_unavailable(http: ReadOnlyHTTP, waits: list[float]) -> None:
    route = respx.get(f"{BASE}/x").mock(return_value=httpx.Response(503))
    with pytest.raises(errors.SourceUnavailable):
        await http.get_json("/x")
    assert route.call_count == 3
    respx.get(f"{BASE}/y").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(errors.SourceUnavailable):
        await http.get_json("/y")


@respx.mock
async def test_timeout_is_retried_then_reported(http: ReadOnlyHTTP, waits: list[float]) -> None:
    route = respx.get(f"{BASE}/x").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(errors.SourceTimeout):
        await http.get_json("/x")
    assert route.call_count == 3


@respx.mock
async def test_malformed_and_wrong_shape(http: ReadOnlyHTTP) -> None:
    respx.get(f"{BASE}/html").mock(return_value=httpx.Response(200, text="<html>oops</html>"))
    respx.get(f"{BASE}/list").mock(return_value=httpx.Response(200, json=[1]))
    with pytest.raises(errors.SourceMalformed):
        await http.get_json("/html")
    with pytest.raises(errors.SourceMalformed):
        await http.get_json("/list", expect=dict)


@respx.mock
async def test_oversized_body_stops_reading_at_the_cap(http: ReadOnlyHTTP) -> None:
    produced = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal produced
        for _ in range(200):  # would be 12.8 MB if fully read
            produced += 65536
            yield b"x" * 65536

    respx.get(f"{BASE}/big").mock(return_value=httpx.Response(200, stream=_AsyncStream(endless())))
    tracemalloc.start()
    try:
        with pytest.raises(errors.SourceTooLarge):
            await http.get_bytes("/big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert produced < 2_000_000
    assert peak < 5_000_000


@respx.mock
async def test_declared_oversized_body_is_refused_before_reading(http: ReadOnlyHTTP) -> None:
    respx.get(f"{BASE}/big").mock(return_value=httpx.Response(200, headers={"content-length": "99999999"}))
    with pytest.raises(errors.SourceTooLarge):
        await http.get_bytes("/big")


@respx.mock
async def test_post_only_to_allowed_path_after_guard(http: ReadOnlyHTTP) -> None:
    route = respx.post(f"{BASE}/graphql").mock(return_value=httpx.Response(200, json={"data": {}}))
    assert await http.post_json("/graphql", {"query": "query { a }"}) == {"data": {}}
    assert json.loads(route.calls.last.request.content) == {"query": "query { a }"}
    with pytest.raises(errors.ReadOnlyViolation):
        await http.post_json("/graphql", {"query": "mutation { a }"})
    with pytest.raises(errors.ReadOnlyViolation):
        await http.post_json("/other", {"query": "query { a }"})
    assert route.call_count == 1


@respx.mock
async def test_writes_through_the_raw_client_are_refused_before_sending(http: ReadOnlyHTTP) -> None:
    route = respx.route(host="api.example.test").mock(return_value=httpx.Response(200))
    client = http._client
    for send in (
        lambda: client.delete(f"{BASE}/x"),
        lambda: client.put(f"{BASE}/x", json={}),
        lambda: client.patch(f"{BASE}/x", json={}),
        lambda: client.post(f"{BASE}/x", json={}),
        lambda: client.post(f"{BASE}/graphql", json={"query": "mutation { a }"}),
    ):
        with pytest.raises(errors.ReadOnlyViolation):
            await send()
    assert not route.called


class _AsyncStream(httpx.AsyncByteStream):
    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            yield chunk
