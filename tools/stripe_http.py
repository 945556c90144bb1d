"""The HTTP client the billing connector gives the Stripe SDK: GET only, bounded in size, and able
to run over a world's stand-in or a test's mock transport instead of the network."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import stripe

from casefile.tools.errors import (
    ReadOnlyViolation,
    SourceTooLarge,
)

__all__ = ["SOURCE", "ReadOnlyStripeHTTPClient"]

SOURCE = "billing"


class ReadOnlyStripeHTTPClient(stripe.HTTPXClient):
    """The SDK's httpx client, made unable to write and bounded in size.

    * Every send path (async and sync, plain and streamed) refuses a method
      other than GET with ``ReadOnlyViolation`` before a connection is used.
    * Bodies are read as a stream and cut at ``max_bytes`` (``SourceTooLarge``).
    * ``transport`` (a world emulator or a test mock) replaces the network:
      ``stripe.HTTPXClient`` builds its own ``httpx.AsyncClient`` with no way to
      pass one, so that client is swapped for one using ``transport``. The
      request hook repeats the GET-only rule on whichever client is in place.
    """

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 20.0,
        max_bytes: int = 5_000_000,
    ) -> None:
        super().__init__(timeout=timeout_s, allow_sync_methods=False)
        self.max_bytes = max_bytes
        if transport is not None:
            # The SDK's own client was never opened, so dropping it leaks nothing.
            self._client_async = httpx.AsyncClient(transport=transport)
        self._client_async.event_hooks["request"].append(self._hook)

    @staticmethod
    def _refuse_unless_get(method: str, url: str) -> None:
        if method.upper() != "GET":
            raise ReadOnlyViolation(
                SOURCE, f"{method.upper()} {url} refused: the billing connector only reads"
            )

    async def _hook(self, request: httpx.Request) -> None:
        self._refuse_unless_get(request.method, str(request.url))

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        self._refuse_unless_get(method, url)
        args, kwargs = self._get_request_args_kwargs(method, url, headers, post_data)
        # GET carries no body: don't let the SDK's empty form body through either.
        kwargs.pop("data", None)
        try:
            async with self._client_async.stream(*args, **kwargs) as response:
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise SourceTooLarge(SOURCE, f"Stripe answered {declared} bytes, over {self.max_bytes}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise SourceTooLarge(SOURCE, f"Stripe answered more than {self.max_bytes} bytes")
                    chunks.append(chunk)
                return b"".join(chunks), response.status_code, response.headers
        except httpx.HTTPError as exc:
            # The SDK's own translation: APIConnectionError, with the httpx error as cause.
            self._handle_request_error(exc)

    async def request_stream_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> Any:
        self._refuse_unless_get(method, url)
        return await super().request_stream_async(method, url, headers, post_data)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self._refuse_unless_get(method, url)
        return super().request(method, url, *args, **kwargs)

    def request_stream(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self._refuse_unless_get(method, url)
        return super().request_stream(method, url, *args, **kwargs)
