"""Misbehaving servers on loopback, for the fault tests: they hang, drip, or answer too much.

:class:`Tarpit` is a real TCP server in a thread. Every connection reads the
request head, then, by ``mode``:

* ``hang``: never answers;
* ``drip``: sends a 200 head announcing a large body, then one byte every 0.5 s;
* ``flood``: answers 200 with ``flood_bytes`` of JSON-looking bytes, as fast as the client reads;
* ``status``: answers ``status`` with ``headers`` and ``body`` (e.g. 429 with Retry-After: 3600).

Connections are counted, so a test can show the client really tried.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Tarpit", "tarpit"]


class Tarpit:
    def __init__(
        self,
        mode: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        flood_bytes: int = 0,
    ) -> None:
        self.mode = mode
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.flood_bytes = flood_bytes
        self.connections = 0
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def start(self) -> Tarpit:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closed.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(30)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                head += chunk
            if self.mode == "hang":
                self._closed.wait(60)
            elif self.mode == "drip":
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                )
                while not self._closed.wait(0.5):
                    conn.sendall(b" ")
            elif self.mode == "flood":
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {self.flood_bytes}\r\n\r\n".encode()
                )
                conn.sendall(b'{"data": "')
                block = b"x" * 65536
                sent = 10
                while sent < self.flood_bytes - 2 and not self._closed.is_set():
                    piece = block[: self.flood_bytes - 2 - sent]
                    conn.sendall(piece)
                    sent += len(piece)
                conn.sendall(b'"}')
            else:
                lines = [f"HTTP/1.1 {self.status} X"]
                lines += [f"{k}: {v}" for k, v in {**self.headers, "Content-Length": len(self.body)}.items()]
                conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + self.body)
                time.sleep(0.05)
        except OSError:
            pass
        finally:
            conn.close()


@contextmanager
def tarpit(mode: str, **kwargs: object) -> Iterator[Tarpit]:
    server = Tarpit(mode, **kwargs).start()  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.close()
