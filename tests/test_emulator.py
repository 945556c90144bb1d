"""The world emulator framework: host dispatch, sync and async use, request log."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from casefile.tools.world import emulator
from casefile.tools.world.emulator import WorldTransport, build_transport, json_response


def _echo(request: httpx.Request) -> httpx.Response:
    return json_response(
        200, {"method": request.method, "path": request.url.path, "body": request.content.decode()}
    )


def _broken(request: httpx.Request) -> httpx.Response:
    raise KeyError("missing")


async def test_dispatch_by_host_async_and_request_log() -> None:
    transport = WorldTransport({"a.test": _echo, "b.test": _broken})
    async with httpx.AsyncClient(transport=transport) as client:
        ok = await client.post("https://a.test/graphql", json={"q": 1})
        assert ok.json() == {"method": "POST", "path": "/graphql", "body": '{"q":1}'}
        broken = await client.get("https://b.test/x")
        assert broken.status_code == 500 and "KeyError" in broken.json()["error"]
        with pytest.raises(httpx.ConnectError):
            await client.get("https://unknown.test/")
    assert transport.requests == [
        ("POST", "a.test", "/graphql"),
        ("GET", "b.test", "/x"),
        ("GET", "unknown.test", "/"),
    ]


def test_sync_client_and_port_specific_host() -> None:
    transport = WorldTransport({"a.test": _echo, "a.test:8443": lambda r: json_response(200, {"port": 8443})})
    with httpx.Client(transport=transport) as client:
        assert client.get("https://a.test/p").json()["path"] == "/p"
        assert client.get("https://a.test:8443/p").json() == {"port": 8443}


def test_resolve_is_the_worlds_dns() -> None:
    transport = WorldTransport({"a.test": _echo, "b.test:8443": _echo})
    assert transport.resolve("A.test") == ["52.10.20.30"]
    assert transport.resolve("b.test") == ["52.10.20.30"]
    assert transport.resolve("evil.test") == []


def test_build_transport_merges_every_provider(tmp_path: Path) -> None:
    transport = build_transport(tmp_path)  # an empty world still answers, with nothing in it
    assert {"api.linear.app", "api.github.com"} <= set(transport.handlers)
    with httpx.Client(transport=transport) as client:
        assert client.get("https://api.github.com/repos/relayhq/api/deployments").status_code == 404


def test_build_transport_tolerates_a_missing_provider_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        emulator, "EMULATOR_MODULES", (*emulator.EMULATOR_MODULES, "casefile.tools.world.emulate_nothing")
    )
    assert "api.linear.app" in build_transport(tmp_path).handlers
