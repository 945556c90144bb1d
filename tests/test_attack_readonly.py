"""Round-4 attacks on "read-only": every client a connector holds, asked to write.

The demo world's toolbox is walked for the HTTP clients its connectors hold (``ReadOnlyHTTP``
and the raw ``httpx`` clients under them, the SSO check's own client, the Stripe SDK's HTTP
client, the IdP admin API's clients, made on first use) and each is asked for POST, PUT, PATCH
and DELETE, directly on the underlying client: nothing reaches the world's stand-ins. Stripe's
SDK is asked for its mutating calls, Linear for a mutation on its one allowed POST path, and
ClickHouse for writes below the SQL guard, at the connector's lowest query layer: no row changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from casefile.agent.config import load_settings
from casefile.agent.pipeline import Environment, open_environment
from casefile.tools.base import CallContext, ToolCall
from casefile.tools.errors import ReadOnlyViolation, ToolError
from casefile.tools.http import ReadOnlyHTTP

WRITES = ["POST", "PUT", "PATCH", "DELETE"]


@pytest.fixture(scope="module")
def world() -> Iterator[Environment]:
    environment = open_environment(load_settings(env={}))
    # The IdP admin API's clients are made on first use: make one, through a real read.
    assert environment.directory is not None
    ctx = CallContext.for_account("initech", environment.directory.as_mapping())
    call = ToolCall(id="x", tool="sso_idp_app", arguments={"account_id": "initech"})
    asyncio.run(environment.toolbox.execute(call, ctx))
    yield environment
    asyncio.run(environment.aclose())


def clients(env: Environment) -> list[tuple[str, httpx.AsyncClient]]:
    """Every httpx client a connector of the toolbox holds, named by its source."""
    found: list[tuple[str, httpx.AsyncClient]] = []
    for connector in env.toolbox.connectors:
        values = list(vars(connector).values())
        for value in list(values):
            if isinstance(value, dict):
                values.extend(value.values())
        for value in values:
            if isinstance(value, ReadOnlyHTTP):
                found.append((connector.source, value._client))
            elif isinstance(value, httpx.AsyncClient):
                found.append((connector.source, value))
    return found


def test_the_walk_finds_every_http_source(world: Environment) -> None:
    sources = {source for source, _ in clients(world)}
    assert {"bugs", "deploys", "docs", "tickets", "sso", "idp_admin"} <= sources, sources


@pytest.mark.parametrize("method", WRITES)
def test_no_client_of_any_connector_sends_a_write(world: Environment, method: str) -> None:
    transport = world.world.transport  # type: ignore[union-attr]
    for source, client in clients(world):
        before = len(transport.requests)
        with pytest.raises((ReadOnlyViolation, ToolError)):
            asyncio.run(
                client.request(method, "/api/v2/tickets/1.json", json={"ticket": {"status": "closed"}})
            )
        assert len(transport.requests) == before, (source, method)


@pytest.mark.parametrize(
    "body",
    [
        {"query": 'mutation { issueDelete(id: "REL-1") { success } }'},
        {"query": "query { a } mutation { b }", "operationName": "b"},
        {"query": "subscription { issueUpdated { id } }"},
        {"query": "{ issues { nodes { id } } }", "extensions": {"persistedQuery": {"sha256Hash": "x"}}},
    ],
    ids=["mutation", "smuggled-mutation", "subscription", "persisted"],
)
def test_linear_refuses_anything_but_one_query_on_its_post_path(
    world: Environment, body: dict[str, Any]
) -> None:
    bugs = next(c for c in world.toolbox.connectors if c.source == "bugs")
    http: ReadOnlyHTTP = bugs._http  # type: ignore[attr-defined]
    transport = world.world.transport  # type: ignore[union-attr]
    before = len(transport.requests)
    with pytest.raises(ReadOnlyViolation):
        asyncio.run(http.post_json(bugs._path, body))  # type: ignore[attr-defined]
    assert len(transport.requests) == before


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.v1.customers.update("cus_LdrOUqQ15Mnb5T", {"metadata": {"x": "1"}}),
        lambda s: s.v1.customers.delete("cus_LdrOUqQ15Mnb5T"),
        lambda s: s.v1.subscriptions.cancel("sub_x"),
        lambda s: s.v1.refunds.create({"charge": "ch_x"}),
        lambda s: s.v1.invoices.pay("in_x"),
    ],
    ids=["update", "delete", "cancel", "refund", "pay"],
)
def test_the_stripe_sdk_cannot_mutate(world: Environment, call: Any) -> None:
    billing = next(c for c in world.toolbox.connectors if c.source == "billing")
    transport = world.world.transport  # type: ignore[union-attr]
    before = len(transport.requests)
    with pytest.raises(Exception) as raised:
        call(billing.client)  # type: ignore[attr-defined]
    assert "only reads" in str(raised.value) or isinstance(raised.value, ReadOnlyViolation), raised.value
    assert len(transport.requests) == before


SQL_WRITES = [
    "INSERT INTO requests (account_id) VALUES ('x')",
    "insert into requests select * from requests limit 1",
    "/* a comment */ INSERT INTO requests (account_id) VALUES ('x')",
    "  \n INSERT INTO requests (account_id) VALUES ('x')",
    "ALTER TABLE requests DELETE WHERE 1",
    "ALTER TABLE requests UPDATE status = 0 WHERE 1",
    "TRUNCATE TABLE requests",
    "DROP TABLE requests",
    "CREATE TABLE x (a Int8) ENGINE = Memory",
    "DELETE FROM requests WHERE 1",
    "OPTIMIZE TABLE requests FINAL",
    "SET readonly = 0",
    "SYSTEM STOP MERGES",
    "SELECT 1 SETTINGS readonly = 0",
]


@pytest.mark.parametrize("sql", SQL_WRITES)
def test_clickhouse_writes_are_refused_below_the_guard(world: Environment, sql: str) -> None:
    logs = next(c for c in world.toolbox.connectors if c.source == "logs")
    database = logs.settings.database  # type: ignore[attr-defined]

    def count() -> int:
        return int(logs._query_sync(f"SELECT count() FROM {database}.requests").rows[0][0])  # type: ignore[attr-defined]

    before = count()
    qualified = sql.replace("requests", f"{database}.requests")
    try:
        logs._query_sync(qualified)  # type: ignore[attr-defined]
    except ToolError:
        pass  # refused: by the connector (not a SELECT) or by ClickHouse (readonly=1)
    else:
        assert sql.startswith("SELECT"), f"{sql} ran"
    assert count() == before
