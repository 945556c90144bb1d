"""The providers' HTTP client: the SDKs' own, with the size of an answer capped.

The SDKs read a whole response body into memory before parsing it. A provider
(or a proxy in front of it) answering 40 MB would grow every later request of
the conversation by as much, so every model client sends through
:class:`CappedTransport`: a body announced or found to be larger than
``max_bytes`` ends the read at that point with :class:`ResponseTooLarge`, which
the retry policy treats like any malformed answer (ask again, then fall back).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2

__all__ = ["MAX_RESPONSE_BYTES", "CappedTransport", "ResponseTooLarge", "capped_client"]

# A model's turn is a few kilobytes of JSON; even a long diagnosis is far below this.
MAX_RESPONSE_BYTES = 4_000_000


class ResponseTooLarge(ValueError):
    """The provider's answer is larger than :data:`MAX_RESPONSE_BYTES` (a ValueError: a malformed answer)."""


class _CappedStream(httpx2.AsyncByteStream):
    def __init__(self, inner: Any, max_bytes: int) -> None:
        self._inner = inner
        self._max = max_bytes

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._inner:
            seen += len(chunk)
            if seen > self._max:
                raise ResponseTooLarge(f"the response exceeds {self._max} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class CappedTransport(httpx2.AsyncBaseTransport):
    """Wraps a transport so no response body longer than ``max_bytes`` is read."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, max_bytes: int = MAX_RESPONSE_BYTES) -> None:
        self._inner = inner
        self._max = max_bytes

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max:
            await response.aclose()
            raise ResponseTooLarge(f"the response announces {declared} bytes, over {self._max}")
        response.stream = _CappedStream(response.stream, self._max)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def capped_client(
    transport: httpx2.AsyncBaseTransport | None, *, timeout: float, max_bytes: int = MAX_RESPONSE_BYTES
) -> httpx2.AsyncClient:
    """An SDK ``http_client`` reading at most ``max_bytes`` per answer (``transport``: tests' stand-ins)."""
    inner = transport if transport is not None else httpx2.AsyncHTTPTransport()
    return httpx2.AsyncClient(transport=CappedTransport(inner, max_bytes), timeout=timeout)
