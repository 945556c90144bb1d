"""Round-8 attacks on "an unauthenticated caller learns nothing private": ``/healthz`` needs no token
(a load balancer, Docker's HEALTHCHECK), so everything it says to anyone is public. Before round 8
it named the store's failure as the store put it (``PostgreSQL at db.internal:5432``, the SQLite
file's path), the queue's depth and each disabled runbook's file and reason: infrastructure. Now it
says up or down (the status code and ``status``) to anyone, and why only to a caller with a token.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_helpers import AUTH, scripted_factory, settings
from test_service import _client

from casefile.agent.pipeline import Environment
from casefile.agent.service.app import create_app
from casefile.agent.store import Store, StoreUnavailable

DB_PATH = "/var/lib/casefile-private/store.sqlite3"
SECRETS = (DB_PATH, "casefile-private", "db.internal", "5432", "broken.md", "queued", "running")


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store("sqlite:///:memory:")
    yield s
    s.close()


def _refusing(store: Store, message: str) -> None:
    """The store fails the way it says so (its message names where it lives)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable(message)

    store.pending = refuse  # type: ignore[method-assign]
    store.renew = refuse  # type: ignore[method-assign,assignment]


@pytest.mark.parametrize(
    "message",
    [
        f"the store ({DB_PATH}) refused the write: database or disk is full",
        "the store (PostgreSQL at db.internal:5432) did not answer within 5 s",
    ],
    ids=["sqlite-path", "postgresql-host"],
)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-the-token"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}],
    ids=["no-token", "wrong-token", "basic"],
)
def test_healthz_says_down_without_naming_the_store(
    store: Store, message: str, headers: dict[str, str]
) -> None:
    with _client(store) as client:
        _refusing(store, message)
        answer = client.get("/healthz", headers=headers)
    assert answer.status_code == 503
    assert answer.json() == {"status": "unhealthy"}
    assert not any(secret in answer.text for secret in SECRETS), answer.text


def test_healthz_tells_a_caller_with_a_token_why(store: Store) -> None:
    with _client(store) as client:
        _refusing(store, f"the store ({DB_PATH}) refused the write: database or disk is full")
        answer = client.get("/healthz", headers=AUTH)
    assert answer.status_code == 503
    assert answer.json()["status"] == "unhealthy" and DB_PATH in answer.json()["store"]


def test_healthz_says_degraded_without_naming_the_runbook(store: Store, tmp_path: Path) -> None:
    from test_strict_config import _env_with_runbooks, _runbooks_copy

    directory = _runbooks_copy(tmp_path)
    (directory / "broken.md").write_text("---\nid: broken\n: : :\n---\n")
    env: Environment = _env_with_runbooks(directory)
    app = create_app(settings(), env=env, model_factory=scripted_factory(), store=store)
    with TestClient(app) as client:
        anonymous, told = client.get("/healthz"), client.get("/healthz", headers=AUTH)
    assert anonymous.status_code == told.status_code == 200
    assert anonymous.json() == {"status": "degraded"}
    assert told.json()["runbooks"]["disabled"][0].startswith("broken.md:")
    assert told.json()["queued"] == 0 and told.json()["running"] == 0


def test_healthz_up_is_only_up(store: Store) -> None:
    with _client(store) as client:
        answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
