"""The service's HTTP limits on a real socket: a client that never finishes its request is dropped."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from service_helpers import light_env, scripted_factory, serving, settings, wait_for

from casefile.agent.service.app import create_app
from casefile.agent.service.server import guarded_protocol
from casefile.agent.store import Store


@pytest.fixture
def server() -> Iterator[str]:
    app = create_app(
        settings(), env=light_env(), model_factory=scripted_factory(), store=Store("sqlite:///:memory:")
    )
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        http=guarded_protocol(1.0),
        timeout_keep_alive=60,  # far beyond the request limit: only the guard ends a slow request
        limit_concurrency=200,
    )
    with serving(config) as port:
        yield f"127.0.0.1:{port}"


def _closed_by_peer(sock: socket.socket) -> bool:
    """The server ended the connection (silence is not an end: it still holds the connection open)."""
    sock.settimeout(0.05)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


def test_slow_senders_are_dropped_and_health_still_answers(server: str) -> None:
    host, port = server.split(":")
    slow = []
    for _ in range(40):
        sock = socket.create_connection((host, int(port)))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        slow.append(sock)
    assert httpx.get(f"http://{server}/healthz", timeout=30).status_code == 200  # others are served meanwhile
    wait_for(lambda: all(_closed_by_peer(s) for s in slow), "every slow sender dropped")  # EOF stays EOF
    for sock in slow:
        sock.close()


def test_a_body_that_never_ends_is_dropped(server: str) -> None:
    host, port = server.split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(b"POST /v1/investigations HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
    sock.settimeout(30)  # the server's limit is 1 s; a server that never ends it raises here
    while sock.recv(65536):  # whatever it says, the server ends the connection
        pass
    sock.close()


def test_keep_alive_requests_are_not_cut(server: str) -> None:
    with httpx.Client(base_url=f"http://{server}") as client:
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
            time.sleep(0.6)  # longer together than the request timeout: each request has its own
