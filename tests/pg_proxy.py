"""A TCP proxy in front of the tests' PostgreSQL that can fall silent after the handshake.

:class:`SilentProxy` passes every byte both ways until :meth:`silence`. From then on, each
connection that has finished its handshake (the server's first ReadyForQuery, ``Z`` with length 5)
passes nothing more either way, yet stays open: a server stuck on a lock or a full disk, or a
firewall that stopped passing packets after the connection was made. A connection made while
silent is greeted (its startup and authentication pass) and then hears nothing, so opening the
store succeeds and its first statement waits. :meth:`speak` lets traffic through again (the
connections cut meanwhile stay dead, as after a real outage).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

__all__ = ["SilentProxy"]

_READY_FOR_QUERY = b"Z\x00\x00\x00\x05"


class SilentProxy:
    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        port = self._listener.getsockname()[1]
        self.url = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}"))
        self._silent = threading.Event()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def silence(self) -> None:
        self._silent.set()

    def speak(self) -> None:
        self._silent.clear()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self._upstream)
            except OSError:  # the server is gone (the session is ending): the client hears it closed
                client.close()
                continue
            self._sockets += [client, server]
            self.connections += 1
            greeted = threading.Event()
            threading.Thread(target=self._pipe, args=(client, server, greeted, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, greeted, True), daemon=True).start()

    def _pipe(
        self, src: socket.socket, dst: socket.socket, greeted: threading.Event, from_server: bool
    ) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if self._silent.is_set() and greeted.is_set():
                    continue  # swallowed: the other side hears nothing
                if from_server and _READY_FOR_QUERY in data:
                    greeted.set()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
