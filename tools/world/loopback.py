"""Serve a world stand-in over a real socket on 127.0.0.1, for clients that bring their own HTTP stack.

Most connectors take an httpx transport, so a world answers them in-process
(:class:`casefile.tools.world.emulator.WorldTransport`). Some official clients do
not (``slack_sdk`` speaks through ``urllib``), and end-to-end tests want the service
to reach its helpdesk over the network as it would in production. :class:`LoopbackServer`
puts the same handler functions (``httpx.Request -> httpx.Response``) behind a
threaded HTTP/1.1 server, so one stand-in serves both ways::

    with LoopbackServer(workspace.handle) as server:
        client = WebClient(token=..., base_url=server.url + "/api/")
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import httpx

from casefile.tools.world.emulator import Handler

__all__ = ["LoopbackServer"]

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class LoopbackServer:
    """``handler`` on ``http://127.0.0.1:<free port>`` (:attr:`url`) until :meth:`close`."""

    def __init__(self, handler: Handler, *, host_header: str | None = None) -> None:
        fixed_host = host_header
        requests: list[tuple[str, str, str]] = []
        lock = threading.Lock()

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                host = fixed_host or self.headers.get("Host") or "127.0.0.1"
                request = httpx.Request(
                    self.command,
                    f"http://{host}{self.path}",
                    headers=list(self.headers.items()),
                    content=body,
                )
                with lock:
                    requests.append((request.method, request.url.host, request.url.path))
                try:
                    response = handler(request)
                except Exception as exc:  # the stand-in's own bug: a 500, as a broken server would
                    response = httpx.Response(500, text=f"stand-in error: {type(exc).__name__}")
                content = response.read()
                self.send_response(response.status_code)
                for key, value in response.headers.items():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        #: (method, host, path) of every request served, in order.
        self.requests = requests
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
