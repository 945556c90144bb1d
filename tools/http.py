"""A read-only HTTP client for connectors: GET, and POST only where a guard approved it.

:class:`ReadOnlyHTTP` wraps one ``httpx.AsyncClient`` per source and is the only
way the HTTP connectors (Linear, GitHub, the IdP metadata) reach the network:

* **Read-only in depth.** The public methods send GET, or POST to an allow-listed
  path after ``post_guard`` accepted the body (GraphQL queries ride on POST).
  The same rule is checked again by an httpx request hook, so even a direct
  ``client.delete(...)`` on the underlying client raises
  :class:`~casefile.tools.errors.ReadOnlyViolation` before a byte is sent.
* **Errors are ours.** Timeouts, refusals and garbage become the
  :mod:`casefile.tools.errors` tree; messages name the method and path, never headers
  (the credentials live there).
* **Bounded.** Bodies are streamed and reading stops at ``max_bytes``.
* **Retried once, in one place.** Timeouts, connection errors, 429 and 5xx go
  through :func:`casefile.tools.retry.retrying`, honouring Retry-After.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar
from urllib.parse import unquote

import httpx

from casefile.tools import errors
from casefile.tools.base import Connector
from casefile.tools.retry import (
    DEFAULT_ATTEMPTS,
    DEFAULT_MAX_WAIT_S,
    RetryableError,
    parse_retry_after,
    retrying,
)

if TYPE_CHECKING:
    from casefile.tools.connector_types import StandIns
    from casefile.tools.settings import ConnectorSettings

__all__ = ["APIConnector", "ReadOnlyHTTP"]

Section = TypeVar("Section")


class APIConnector(Connector, Generic[Section]):
    """A connector on one HTTP API, configured by its ``[connectors.<settings_key>]`` section.

    It is built with that section and, in a world, the world's transport in place of the network:
    the same client code either way.
    """

    def __init__(self, settings: Section, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings

    @classmethod
    def build(cls, settings: ConnectorSettings, world: StandIns | None = None) -> Self:
        section = getattr(settings, cls.settings_key or "")
        return cls(section, transport=world.transport if world is not None else None)


_SAFE_METHODS = frozenset({"GET", "HEAD"})
# Headers that carry credentials whoever set them; any other configured header is treated as one
# too unless it is known to be harmless.
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
_HARMLESS_HEADERS = frozenset(
    {"accept", "accept-encoding", "accept-language", "user-agent", "content-type", "x-github-api-version"}
)
# How much of an error body we read to explain a refusal.
_ERROR_BODY_BYTES = 65536


class ReadOnlyHTTP:
    """One source's HTTP client that can read and cannot write.

    ``base_url`` may carry a path prefix (GitHub Enterprise's ``/api/v3``);
    relative paths are resolved under it. ``allow_post_paths`` are paths as
    passed to :meth:`post_json` (resolved the same way); ``post_guard``
    receives the exact body bytes and raises ``errors.ReadOnlyViolation`` to refuse.
    ``transport`` replaces the network (a world emulator, respx, a mock).
    """

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10.0,
        max_bytes: int = 10_000_000,
        allow_post_paths: Collection[str] = frozenset(),
        post_guard: Callable[[bytes], None] | None = None,
        attempts: int = DEFAULT_ATTEMPTS,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
    ) -> None:
        self.source = source
        self.max_bytes = max_bytes
        self._retried_attempt = retrying(source, attempts=attempts, max_wait_s=max_wait_s)(self._attempt)
        self._post_guard = post_guard
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers=dict(headers or {}),
            transport=transport,
            timeout=httpx.Timeout(timeout_s),
            # A redirect could lead anywhere (a private address, a write endpoint): never follow.
            follow_redirects=False,
            event_hooks={"request": [self._check_request]},
        )
        # Resolve once so the hook compares final URL paths, whatever prefix base_url has.
        self._post_paths = frozenset(self._client.build_request("POST", p).url.path for p in allow_post_paths)
        self._origin = _origin(self._client.base_url)
        self._credentials = _CREDENTIAL_HEADERS | {
            name.lower() for name in (headers or {}) if name.lower() not in _HARMLESS_HEADERS
        }

    # --- the read-only rule, applied to every request the client sends ---------

    def _refuse_unless_allowed(self, method: str, url: httpx.URL, body: bytes) -> None:
        if method in _SAFE_METHODS:
            if url.path in self._post_paths:
                # GraphQL servers also take GET ?query=…: that would bypass the body guard.
                raise errors.ReadOnlyViolation(
                    self.source, f"{method} {url.path} refused: requests there go through POST and its guard"
                )
            return
        if method == "POST" and url.path in self._post_paths and _origin(url) == self._origin:
            if self._post_guard is None:
                raise errors.ReadOnlyViolation(self.source, f"POST {url.path} has no guard to approve it")
            self._post_guard(body)
            return
        raise errors.ReadOnlyViolation(self.source, f"{method} {url.path} refused: this connector only reads")

    async def _check_request(self, request: httpx.Request) -> None:
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = b""  # a streamed body cannot be inspected, so the guard sees nothing to approve
        self._refuse_unless_allowed(request.method, request.url, body)
        if _origin(request.url) != self._origin:
            # The source's credentials are for its own host only (an absolute URL, a redirect).
            for name in [n for n in request.headers if n.lower() in self._credentials]:
                del request.headers[name]

    # --- public API ---------------------------------------------------------------

    async def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        expect: type | tuple[type, ...] | None = None,
    ) -> Any:
        """GET ``path`` and decode JSON; ``expect`` (e.g. ``dict``) checks the top-level shape."""
        body = await self._send("GET", path, params=params)
        return self._decode(body, "GET", path, expect)

    async def post_json(
        self, path: str, payload: Any, *, expect: type | tuple[type, ...] | None = None
    ) -> Any:
        """POST a JSON payload to an allow-listed path once ``post_guard`` approved it."""
        content = json.dumps(payload, separators=(",", ":")).encode()
        # Checked here too so a refusal happens before retries or connections are set up.
        self._refuse_unless_allowed("POST", self._client.build_request("POST", path).url, content)
        body = await self._send("POST", path, content=content)
        return self._decode(body, "POST", path, expect)

    async def get_bytes(self, url_or_path: str) -> bytes:
        """GET raw bytes (an absolute URL or a path under ``base_url``), at most ``max_bytes``."""
        return await self._send("GET", url_or_path)

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- one request, with retries and error translation --------------------------

    async def _send(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, content: bytes | None = None
    ) -> bytes:
        _refuse_dot_segments(self.source, method, path)
        return await self._retried_attempt(method, path, params, content)

    async def _attempt(
        self, method: str, path: str, params: Mapping[str, Any] | None, content: bytes | None
    ) -> bytes:
        headers = {"Content-Type": "application/json"} if content is not None else None
        request = self._client.build_request(method, path, params=params, content=content, headers=headers)
        where = f"{method} {request.url.path}"
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException:
            raise RetryableError(errors.SourceTimeout(self.source, f"{where} timed out")) from None
        except httpx.TransportError as exc:
            # Connection refused, DNS, TLS, a dropped connection: the system is not reachable.
            raise RetryableError(
                errors.SourceUnavailable(self.source, f"{where} failed: {type(exc).__name__}")
            ) from None
        try:
            if response.status_code >= 300:
                raise await self._status_error(response, where)
            return await self._read_capped(response, where)
        except httpx.TimeoutException:
            raise RetryableError(
                errors.SourceTimeout(self.source, f"{where} timed out reading the body")
            ) from None
        except httpx.TransportError as exc:
            raise RetryableError(
                errors.SourceUnavailable(self.source, f"{where} broke off: {type(exc).__name__}")
            ) from None
        finally:
            await response.aclose()

    async def _read_capped(self, response: httpx.Response, where: str) -> bytes:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise errors.SourceTooLarge(
                self.source, f"{where}: body of {declared} bytes exceeds {self.max_bytes}"
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                # Stop reading here: memory stays bounded whatever the server sends.
                raise errors.SourceTooLarge(self.source, f"{where}: body exceeds {self.max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def classify_error(
        self, status: int, headers: httpx.Headers, body: Any, reason: str
    ) -> errors.ToolError | RetryableError | None:
        """Hook for vendors whose error statuses say less than their bodies.

        ``body`` is the parsed JSON of the (first 64 KB of the) error body, or
        None. Return an error to use instead of the status-based mapping, or
        None to keep it. Linear, for one, reports rate limiting as HTTP 400
        with ``extensions.code == "RATELIMITED"``.
        """
        return None

    async def _status_error(self, response: httpx.Response, where: str) -> errors.ToolError | RetryableError:
        status = response.status_code
        body = await self._error_body(response)
        detail = _error_message(body)
        reason = f"{where} returned HTTP {status}" + (f": {detail}" if detail else "")
        special = self.classify_error(status, response.headers, body, reason)
        if special is not None:
            return special
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status == 429 or (status == 403 and _looks_rate_limited(response)):
            # GitHub signals its rate limits with 403 as well as 429.
            return RetryableError(errors.SourceRateLimited(self.source, reason), retry_after=retry_after)
        if status >= 500:
            return RetryableError(errors.SourceUnavailable(self.source, reason), retry_after=retry_after)
        if status in (401, 403):
            return errors.SourceAuthError(self.source, reason)
        if status == 404:
            return errors.SourceNotFound(self.source, reason)
        if status in (400, 409, 422):
            # The request was understood and refused: the arguments need to change, not the timing.
            return errors.ToolArgumentError(self.source, reason)
        if status < 400:
            location = response.headers.get("location", "?")
            return errors.SourceUnavailable(
                self.source, f"{where} redirected to {location}; redirects are not followed"
            )
        return errors.SourceError(self.source, reason)

    async def _error_body(self, response: httpx.Response) -> Any:
        """The start of an error body: parsed JSON when it is JSON, else the text, else None."""
        data = b""
        try:
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) >= _ERROR_BODY_BYTES:
                    break
        except httpx.HTTPError:
            return None
        text = data[:_ERROR_BODY_BYTES].decode("utf-8", "replace")
        try:
            return json.loads(text)
        except ValueError:
            return text or None

    def _decode(self, body: bytes, method: str, path: str, expect: type | tuple[type, ...] | None) -> Any:
        try:
            data = json.loads(body)
        except ValueError:
            raise errors.SourceMalformed(self.source, f"{method} {path} did not return JSON") from None
        if expect is not None and not isinstance(data, expect):
            raise errors.SourceMalformed(
                self.source, f"{method} {path} returned a JSON {type(data).__name__}, not the expected shape"
            )
        return data


def _refuse_dot_segments(source: str, method: str, path: str) -> None:
    """A path built from an argument must not climb out of the endpoint it names.

    httpx resolves ``/api/v2/help_center/../../tickets/1.json`` to another endpoint of the same
    host (with the source's credentials), and servers decode ``%2e%2e`` the same way.
    """
    segments = unquote(unquote(path.split("?", 1)[0].split("#", 1)[0])).replace("\\", "/").split("/")
    if any(segment in (".", "..") for segment in segments):
        raise errors.ReadOnlyViolation(source, f"{method} {path[:120]} refused: '.' and '..' path segments")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"https": 443, "http": 80}.get(url.scheme)
    return url.scheme, url.host.lower(), url.port or default


def _looks_rate_limited(response: httpx.Response) -> bool:
    return "retry-after" in response.headers or response.headers.get("x-ratelimit-remaining") == "0"


def _error_message(body: Any) -> str:
    """A short, single-line message from an error body (REST ``message`` or GraphQL ``errors``)."""
    if isinstance(body, dict):
        for key in ("message", "error_description", "error"):
            if isinstance(body.get(key), str):
                return " ".join(body[key].split())[:200]
        problems = body.get("errors")
        if isinstance(problems, list) and problems and isinstance(problems[0], dict):
            return " ".join(str(problems[0].get("message", "")).split())[:200]
    if isinstance(body, str):
        return " ".join(body.split())[:200]
    return ""
