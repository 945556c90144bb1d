"""The service scopes callers to their tenant: another tenant's investigation does not exist for them.

Tenant ``helpdesk-a`` is the service's own (its Zendesk app's JWTs, its webhook, tokens naming no
tenant); ``helpdesk-b`` has a token of its own. Every read, write and stream of the other's
investigations is tried, both ways, and must be a 404 that stores nothing.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from service_helpers import APP_SECRET, TICKETS, FakeZendesk, light_env, read_sse, scripted_factory, settings

from casefile.agent.config import ServiceToken, load_settings
from casefile.agent.service.app import create_app
from casefile.agent.store import Store

TICKET = json.loads((TICKETS / "429-spike.json").read_text())
TOKEN_A = "tok_tenant_a_" + "0f1e2d3c4b5a6978"
TOKEN_B = "tok_tenant_b_" + "8796a5b4c3d2e1f0"
A = {"Authorization": f"Bearer {TOKEN_A}"}
B = {"Authorization": f"Bearer {TOKEN_B}"}


def app_jwt() -> dict[str, str]:
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": "https://relayhq.zendesk.com",
            "aud": "casefile",
            "iat": now,
            "exp": now + 300,
            "email": "sam@relayhq.dev",
        },
        APP_SECRET,
        "HS256",
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store("sqlite:///:memory:")
    yield s
    s.close()


def client_for(store: Store, zendesk: FakeZendesk | None = None, **service: Any) -> TestClient:
    tokens = {
        "agent-a": SecretStr(TOKEN_A),  # no tenant: the service's own
        "agent-b": ServiceToken(token=SecretStr(TOKEN_B), tenant="helpdesk-b"),
    }
    app = create_app(
        settings(tokens=tokens, tenant="helpdesk-a", **service),
        env=light_env(),
        model_factory=scripted_factory(),
        store=store,
        helpdesk_transport=(zendesk or FakeZendesk()).transport(),
    )
    return TestClient(app)


def investigate(client: TestClient, headers: dict[str, str], ticket: dict[str, Any] | None = None) -> str:
    created = client.post("/v1/investigations", json=ticket or TICKET, headers=headers)
    assert created.status_code == 202, created.text
    inv = str(created.json()["id"])
    assert read_sse(client, inv, headers=headers)[-1][1]["status"] == "done"
    return inv


# Every per-investigation route, as (method, path, body).
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/v1/investigations/{inv}", None),
    ("GET", "/v1/investigations/{inv}/audit", None),
    ("GET", "/v1/investigations/{inv}/events", None),
    ("GET", "/v1/investigations/{inv}/events?format=json", None),
    ("GET", "/v1/investigations/{inv}/events?after=1", None),
    ("POST", "/v1/investigations/{inv}/rerun", None),
    ("POST", "/v1/investigations/{inv}/feedback", {"bounced": True, "note": "from another tenant"}),
    ("POST", "/v1/investigations/{inv}/feedback", {"bounced": False}),
    ("POST", "/v1/investigations/{inv}/confirm-account", None),
    ("POST", "/v1/investigations/{inv}/confirm-account", {"account_id": "acme"}),
]


def snapshot(store: Store) -> tuple[int, int, int]:
    return len(store.list()), len(store.feedback()), sum(len(store.events(r.id)) for r in store.list())


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=lambda v: str(v))
@pytest.mark.parametrize("direction", ["b-reads-a", "a-reads-b", "app-jwt-reads-b"])
def test_another_tenants_investigation_is_404(
    store: Store, direction: str, method: str, path: str, body: Any
) -> None:
    with client_for(store) as client:
        owner, attacker = {
            "b-reads-a": (A, B),
            "a-reads-b": (B, A),
            "app-jwt-reads-b": (B, app_jwt()),
        }[direction]
        inv = investigate(client, owner)
        before = snapshot(store)
        url = path.format(inv=inv)
        headers = {**attacker, "Last-Event-ID": "1"} if "events" in path else attacker
        response = client.request(method, url, json=body, headers=headers)
        assert response.status_code == 404, response.text
        assert response.json() == {"error": {"code": "not_found", "message": f"no investigation {inv!r}"}}
        # Exactly what an id that never existed gets: no oracle.
        ghost = client.request(method, path.format(inv="inv_0000000000000000"), json=body, headers=headers)
        assert ghost.status_code == 404 and ghost.json()["error"]["code"] == "not_found"
        assert snapshot(store) == before  # nothing stored, nothing queued
        # The owner still sees it.
        assert client.get(f"/v1/investigations/{inv}", headers=owner).status_code == 200


def test_listing_and_the_report_show_only_the_callers_tenant(store: Store) -> None:
    with client_for(store) as client:
        mine = investigate(client, A)
        theirs = investigate(client, B, {**TICKET, "id": "T-B-1"})
        bounce = {"bounced": True, "snippet": "Macro: retry with backoff.", "note": "Documented."}
        made = client.post(f"/v1/investigations/{theirs}/feedback", json=bounce, headers=B)
        assert made.status_code == 201, made.text
        for headers, own, other in ((A, mine, theirs), (B, theirs, mine), (app_jwt(), mine, theirs)):
            for params in ({}, {"status": "done"}, {"since": "2000-01-01T00:00:00Z"}):
                listed = [
                    r["id"] for r in client.get("/v1/investigations", params=params, headers=headers).json()
                ]
                assert own in listed and other not in listed, (headers, params)
        report_a = client.get("/v1/reports/escalations", params={"since": "7d"}, headers=A).json()
        report_b = client.get("/v1/reports/escalations", params={"since": "7d"}, headers=B).json()
        assert report_a["investigations"] == 1 and report_a["bounced"] == 0
        assert report_b["investigations"] == 1 and report_b["bounced"] == 1
        record = store.get(theirs)
        assert record is not None and record.tenant == "helpdesk-b"
        assert client.get(f"/v1/investigations/{mine}", headers=A).json()["tenant"] == "helpdesk-a"


def test_the_same_ticket_from_another_tenant_is_its_own_investigation(store: Store) -> None:
    """Idempotency is per tenant: B submitting A's ticket must not be handed A's investigation id."""
    import threading

    from service_helpers import GatedModel

    gate, started = threading.Event(), list[str]()
    app = create_app(
        settings(
            tokens={
                "agent-a": SecretStr(TOKEN_A),
                "agent-b": ServiceToken(token=SecretStr(TOKEN_B), tenant="helpdesk-b"),
            },
            tenant="helpdesk-a",
        ),
        env=light_env(),
        model_factory=lambda t: GatedModel(gate, started),
        store=store,
    )
    with TestClient(app) as client:
        first = client.post("/v1/investigations", json=TICKET, headers=A).json()
        again = client.post("/v1/investigations", json=TICKET, headers=A).json()
        other = client.post("/v1/investigations", json=TICKET, headers=B).json()
        assert again["id"] == first["id"] and again["existing"] is True
        assert other["id"] != first["id"] and other["existing"] is False
        gate.set()


def test_webhook_investigations_belong_to_the_services_tenant(store: Store) -> None:
    from service_helpers import post_webhook

    zendesk = FakeZendesk()
    with client_for(store, zendesk) as client:
        made = post_webhook(client, {"ticket_id": zendesk.ticket_id})
        assert made.status_code == 202, made.text
        inv = made.json()["id"]
        assert read_sse(client, inv, headers=app_jwt())[-1][1]["status"] == "done"
        assert client.get(f"/v1/investigations/{inv}", headers=B).status_code == 404
        assert client.get("/v1/investigations", headers=B).json() == []


def test_another_tenant_cannot_read_tickets_from_the_services_zendesk(store: Store) -> None:
    zendesk = FakeZendesk()
    with client_for(store, zendesk) as client:
        refused = client.post("/v1/investigations", json={"zendesk_ticket_id": zendesk.ticket_id}, headers=B)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        assert zendesk.auth_headers == [] and store.list() == []  # Zendesk was never asked
        allowed = client.post(
            "/v1/investigations", json={"zendesk_ticket_id": zendesk.ticket_id}, headers=app_jwt()
        )
        assert allowed.status_code == 202


# --- configuration and the store's migration --------------------------------------------------


def test_tokens_carry_a_tenant_in_toml_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "casefile.toml"
    config.write_text(
        '[service]\ntenant = "relayhq"\n[service.tokens]\nci = "tok-ci-0123456789"\n'
        '[service.tokens.partner]\ntoken = "tok-partner-0123456789"\ntenant = "partner-desk"\n'
    )
    loaded = load_settings(config, env={})
    assert loaded.service.tenant == "relayhq"
    assert isinstance(loaded.service.tokens["partner"], ServiceToken)
    assert loaded.service.tokens["partner"].tenant == "partner-desk"
    from casefile.agent.service.auth import Authenticator

    auth = Authenticator(loaded.service.tokens, tenant=loaded.service.tenant)
    assert auth.authenticate("Bearer tok-ci-0123456789").tenant == "relayhq"
    assert auth.authenticate("Bearer tok-partner-0123456789").tenant == "partner-desk"

    env = load_settings(env={"CASEFILE_SERVICE_TOKENS": "ci=tok-1,partner@desk-2=tok-2"})
    auth = Authenticator(env.service.tokens, tenant="default")
    assert auth.authenticate("Bearer tok-1").tenant == "default"
    assert auth.authenticate("Bearer tok-2") == auth.authenticate("Bearer tok-2")
    assert auth.authenticate("Bearer tok-2").tenant == "desk-2"
    from casefile.agent.errors import ConfigError

    with pytest.raises(ConfigError):
        load_settings(env={"CASEFILE_SERVICE_TOKENS": "x@bad tenant!=tok"})


OLD_SCHEMA = """CREATE TABLE investigations (id TEXT PRIMARY KEY, ticket_id TEXT NOT NULL, revision TEXT,
    ticket_json TEXT NOT NULL, status TEXT NOT NULL, source TEXT NOT NULL, requested_by TEXT NOT NULL,
    priority TEXT NOT NULL, idempotency_key TEXT, rerun_of TEXT, created_at TEXT NOT NULL,
    started_at TEXT, finished_at TEXT, error TEXT, diagnosis_json TEXT)"""
OLD_ROW = (
    "INSERT INTO investigations VALUES ('inv_00000000000000aa', 'T-OLD', NULL, {p}, 'done', 'api',"
    " 'token:sidebar', 'on_demand', 'T-OLD@x', NULL, '2026-11-20T00:00:00.000000Z', NULL, NULL, NULL, NULL)"
)
OLD_TICKET = json.dumps({"id": "T-OLD", "body": "old", "created_at": "2026-11-20T00:00:00Z"})


def test_a_store_from_before_tenants_opens_and_its_rows_go_to_the_services_tenant(tmp_path: Path) -> None:
    """The old schema (no tenant column) is migrated in place; the service claims the old rows."""
    db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute(OLD_SCHEMA)
    conn.execute(OLD_ROW.format(p="?"), (OLD_TICKET,))
    conn.commit()
    conn.close()
    _migrates_and_scopes(f"sqlite:///{db}")


def test_the_same_migration_and_scoping_on_postgresql(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS investigations, events, audit, feedback")
        conn.execute(OLD_SCHEMA)
        conn.execute(OLD_ROW.format(p="%s"), (OLD_TICKET,))
    _migrates_and_scopes(postgres_url)
    store = Store(postgres_url)
    try:
        with client_for(store) as client:  # the service's tenant queries on PostgreSQL
            inv = investigate(client, B)
            assert client.get(f"/v1/investigations/{inv}", headers=A).status_code == 404
            assert inv not in [r["id"] for r in client.get("/v1/investigations", headers=A).json()]
            assert [r["id"] for r in client.get("/v1/investigations", headers=B).json()] == [inv]
    finally:
        store.close()


def _migrates_and_scopes(url: str) -> None:
    store = Store(url)
    try:
        [old] = store.list()
        assert old.tenant is None and store.get(old.id, tenant="helpdesk-a") is None
        with client_for(store) as client:
            assert client.get(f"/v1/investigations/{old.id}", headers=A).status_code == 200
            assert client.get(f"/v1/investigations/{old.id}", headers=B).status_code == 404
        assert store.get(old.id, tenant="helpdesk-a") is not None
    finally:
        store.close()
    reopened = Store(url)  # a second open migrates nothing and loses nothing
    try:
        assert [r.tenant for r in reopened.list()] == ["helpdesk-a"]
    finally:
        reopened.close()


# --- confirming a candidate account ---------------------------------------------------------


def world_client(store: Store, env: Any) -> TestClient:
    tokens = {
        "agent-a": SecretStr(TOKEN_A),
        "agent-b": ServiceToken(token=SecretStr(TOKEN_B), tenant="helpdesk-b"),
    }
    app = create_app(settings(tokens=tokens, tenant="helpdesk-a"), env=env, store=store)
    return TestClient(app)


GMAIL_GLOBEX = {
    **json.loads((TICKETS / "billing-past-due.json").read_text()),
    "requester": {"name": "Pieter", "email": "pieter.devries@gmail.com"},
}


def test_an_agent_confirms_the_candidate_and_the_reply_is_released(store: Store, env: Any) -> None:
    with world_client(store, env) as client:
        inv = investigate(client, A, GMAIL_GLOBEX)
        held = client.get(f"/v1/investigations/{inv}", headers=A).json()["diagnosis"]
        assert held["account_candidate"] is True and held["account_id"] == "globex"
        assert "invoice.stripe.com" not in held["customer_reply"]
        assert "invoice.stripe.com" not in json.dumps(held["customer_reply"])

        # Another tenant cannot confirm it (nor learn it exists).
        assert client.post(f"/v1/investigations/{inv}/confirm-account", headers=B).status_code == 404
        # A name that is no account is refused and starts nothing.
        before = len(store.list())
        bad = client.post(
            f"/v1/investigations/{inv}/confirm-account", json={"account_id": "nobody"}, headers=A
        )
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_account"
        assert len(store.list()) == before

        confirmed = client.post(f"/v1/investigations/{inv}/confirm-account", headers=A)
        assert confirmed.status_code == 202, confirmed.text
        new = confirmed.json()["id"]
        assert read_sse(client, new, headers=A)[-1][1]["status"] == "done"
        released = client.get(f"/v1/investigations/{new}", headers=A).json()
        d = released["diagnosis"]
        assert released["rerun_of"] == inv and released["tenant"] == "helpdesk-a"
        assert (d["account_id"], d["account_source"], d["account_candidate"]) == ("globex", "ticket", False)
        assert "invoice.stripe.com" in d["customer_reply"]
        events = client.get(f"/v1/investigations/{inv}/events?format=json", headers=A).json()["events"]
        assert events[-1]["event"]["kind"] == "account_confirmed"
        assert events[-1]["event"]["data"] == {"account_id": "globex", "by": "token:agent-a", "rerun": new}

        # A verified account has nothing to confirm.
        again = client.post(f"/v1/investigations/{new}/confirm-account", headers=A)
        assert again.status_code == 409 and again.json()["error"]["code"] == "account_verified"


def test_an_agent_names_the_account_when_none_was_resolved(store: Store, env: Any) -> None:
    unknown = {**GMAIL_GLOBEX, "body": "Orders fail with a 402 since yesterday.", "id": "T-UNK"}
    with world_client(store, env) as client:
        inv = investigate(client, A, unknown)
        d = client.get(f"/v1/investigations/{inv}", headers=A).json()["diagnosis"]
        assert d["account_id"] is None and d["account_source"] == "unresolved"
        missing = client.post(f"/v1/investigations/{inv}/confirm-account", headers=A)
        assert missing.status_code == 422
        named = client.post(
            f"/v1/investigations/{inv}/confirm-account", json={"account_id": " GLOBEX"}, headers=A
        )
        assert named.status_code == 202, named.text
        new = named.json()["id"]
        read_sse(client, new, headers=A)
        assert (
            client.get(f"/v1/investigations/{new}", headers=A).json()["diagnosis"]["account_id"] == "globex"
        )
