"""Round-8 attacks on "one tenant" through the newest read surfaces: the clusters view, the metrics
report (the dashboard's data), the escalation review and the investigation list. Tenant A runs
escalations sharing a bug (a cluster); tenant B, on the same service and store, reads every report:
none may show A's investigations, tickets, causes or counts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from service_helpers import AUTH, read_sse
from test_service import TICKET, _client

from casefile.agent.config import ServiceToken
from casefile.agent.store import Store

TOKEN_B = "tok_tenant_b_" + "9a8b7c6d5e4f3a2b"
AUTH_B = {"Authorization": f"Bearer {TOKEN_B}"}
REPORTS = [
    "/v1/reports/clusters?since=7d",
    "/v1/reports/metrics?since=7d",
    "/v1/reports/escalations?since=7d",
    "/v1/investigations",
]


@pytest.fixture(scope="module")
def scene() -> Iterator[tuple[TestClient, list[str]]]:
    store = Store("sqlite:///:memory:")
    tokens: dict[str, SecretStr | ServiceToken] = {
        "sidebar": SecretStr(AUTH["Authorization"].removeprefix("Bearer ")),
        "agent-b": ServiceToken(token=SecretStr(TOKEN_B), tenant="tenant-b"),
    }
    with _client(store, tokens=tokens) as client:
        ids = []
        for n in range(3):  # the same bug three times: a cluster of tenant A's
            inv = client.post("/v1/investigations", json=dict(TICKET, id=f"A-{n}"), headers=AUTH).json()["id"]
            assert read_sse(client, inv)[-1][1]["status"] == "done"
            ids.append(inv)
        yield client, ids
    store.close()


@pytest.mark.parametrize("path", REPORTS)
def test_another_tenant_s_reports_show_none_of_a_s_work(
    scene: tuple[TestClient, list[str]], path: str
) -> None:
    client, ids = scene
    own = client.get(path, headers=AUTH)
    counted = '"investigations":3'  # the reports' count of the window's investigations
    assert own.status_code == 200 and (any(i in own.text for i in ids) or counted in own.text), (
        "tenant A's own report shows nothing: the attack tests nothing"
    )
    other = client.get(path, headers=AUTH_B)
    assert other.status_code == 200, other.text
    leaked = [s for s in [*ids, "A-0", "A-1", "A-2", counted] if s in other.text]
    assert leaked == [], (path, leaked, other.text[:300])
