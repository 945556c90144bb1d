"""The guards every test runs under (tests/conftest.py): own directories, no credentials, loopback only."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import httpx
import pytest
from conftest import _REFUSED, _SCRUBBED_PREFIXES

from casefile.agent.config import load_settings
from casefile.agent.store import Store


def test_no_credentials_or_settings_of_the_user_reach_a_test(isolated_environment: Path) -> None:
    ours = {"CASEFILE_CONFIG", "CASEFILE_DATABASE_URL", "CASEFILE_CACHE_DIR"}
    leaked = [k for k in os.environ if k.startswith(_SCRUBBED_PREFIXES) and k not in ours]
    assert leaked == []
    for name in ours:
        assert os.environ[name].find(str(isolated_environment)) >= 0, name
    settings = load_settings()
    assert not settings.connectors.logs.dsn and settings.connectors.github.token is None
    store = Store()
    try:
        assert str(isolated_environment) in store.url
    finally:
        store.close()


def _refused_by_the_guard() -> list[str]:
    found = list(_REFUSED)
    _REFUSED.clear()  # this test tripped the guard on purpose
    return found


def test_non_loopback_connections_and_lookups_are_refused() -> None:
    with pytest.raises(ConnectionRefusedError, match="only connect to loopback"):
        socket.create_connection(("192.0.2.10", 443), timeout=1)
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("api.openai.com", 443)
    with pytest.raises(httpx.ConnectError):
        httpx.get("https://api.anthropic.com/v1/messages", timeout=1)
    assert _refused_by_the_guard() == [
        "connect to 192.0.2.10",
        "resolve api.openai.com",
        "resolve api.anthropic.com",
    ]


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
    assert socket.getaddrinfo("localhost", 80) and _REFUSED == []
