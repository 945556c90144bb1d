"""The IdP's own configuration of our app, read from its admin API (``sso_idp_app``): Okta's Apps
API and Microsoft Graph in their wire formats, served by the world stand-in
(``tools/world/emulate_idp_admin.py``) with its refusals, and what an investigation makes of it.

Names here are invented (no bundled world's); the last tests run the golden cases of the demo world.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from casefile.agent.config import load_settings
from casefile.agent.intake import load_ticket
from casefile.agent.pipeline import open_environment, run_investigation
from casefile.tools.base import CallContext
from casefile.tools.errors import SourceAuthError, SourceNotFound, SourceRateLimited, SourceUnavailable
from casefile.tools.settings import ConnectorSettings
from casefile.tools.sso_admin import IdPAdminConnector, IdPAdminSettings, IdPAppArgs
from casefile.tools.world.emulate_idp import handlers
from casefile.tools.world.emulate_idp_admin import graph_service_principal, okta_app
from casefile.tools.world.emulator import WorldTransport

ORG = "https://bramble-tools.okta.com"
OURS_ACS = "https://app.example-saas.test/sso/saml/acs/bramble"
OURS_ENTITY = "https://app.example-saas.test/sso/saml/metadata/bramble"
OKTA_APP, ENTRA_APP = "0oa1bramble2app3xyz", "3c0ffee0-1111-4222-8333-444455556666"
GOLDEN = Path(__file__).resolve().parents[1] / "evals" / "golden"


def _account(vendor: str, app_id: str) -> dict[str, Any]:
    metadata = f"{ORG}/app/exk1/sso/saml/metadata" if vendor == "okta" else "https://login.example/meta"
    return {
        "id": "bramble",
        "idp": {
            "vendor": vendor,
            "metadata_url": metadata,
            "app_id": app_id,
            "sp_acs_url": OURS_ACS,
            "sp_entity_id": OURS_ENTITY,
        },
    }


def _ctx(vendor: str, app_id: str) -> CallContext:
    return CallContext.for_account("bramble", {"bramble": _account(vendor, app_id)})


def _world(
    tmp_path: Path, okta: list[dict[str, Any]], graph: list[dict[str, Any]], **faults: Any
) -> WorldTransport:
    (tmp_path / "sso").mkdir(exist_ok=True)
    data = {"okta": {ORG: okta}, "graph": graph, "faults": faults}
    (tmp_path / "sso" / "apps.json").write_text(json.dumps(data), encoding="utf-8")
    return WorldTransport(handlers(tmp_path))


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[Any]:
    made: list[IdPAdminConnector] = []

    def build(transport: WorldTransport, **settings: Any) -> IdPAdminConnector:
        tokens = {"okta_token": SecretStr("okta-test"), "graph_token": SecretStr("graph-test")}
        connector = IdPAdminConnector(IdPAdminSettings(**{**tokens, **settings}), transport=transport)
        made.append(connector)
        return connector

    yield build
    for connector in made:
        await connector.aclose()


async def test_okta_s_app_config_is_compared_with_ours(tmp_path: Path, make: Any) -> None:
    old = "https://old.example-saas.test/saml/acs"
    transport = _world(tmp_path, [okta_app(OKTA_APP, "Example", old, OURS_ENTITY)], [])
    result = await make(transport).idp_app(IdPAppArgs(account_id="bramble"), _ctx("okta", OKTA_APP))
    assert (result.api, result.status, result.active) == ("Okta Apps API", "ACTIVE", True)
    assert result.url == f"{ORG}/api/v1/apps/{OKTA_APP}"
    assert result.acs_urls == [old] and result.entity_ids == [OURS_ENTITY]
    assert (result.nameid_format, result.signature_algorithm) == (
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        "RSA_SHA256",
    )
    acs, entity = result.values
    assert (acs.what, acs.matches, acs.source) == ("ACS URL", False, "IdP admin API (Okta Apps API)")
    assert entity.matches is True
    assert result.problems == [f"Okta sends assertions to {old}; ours is {OURS_ACS}"]
    # The API token went as Okta wants it, and only a GET of the app was sent.
    assert transport.requests == [("GET", "bramble-tools.okta.com", f"/api/v1/apps/{OKTA_APP}")]


async def test_a_bearer_token_and_an_inactive_app(tmp_path: Path, make: Any) -> None:
    app = okta_app(OKTA_APP, "Example", OURS_ACS, OURS_ENTITY, active=False)
    result = await make(_world(tmp_path, [app], []), okta_auth_scheme="Bearer").idp_app(
        IdPAppArgs(account_id="bramble"), _ctx("okta", OKTA_APP)
    )
    assert [v.matches for v in result.values] == [True, True]
    assert result.problems == ["the app is INACTIVE in Okta: nobody can sign in through it"]


async def test_entra_s_service_principal_through_graph(tmp_path: Path, make: Any) -> None:
    wrong = "https://app.example-saas.test/saml/metadata"
    sp = graph_service_principal(ENTRA_APP, "Example", OURS_ACS, wrong)
    result = await make(_world(tmp_path, [], [sp])).idp_app(
        IdPAppArgs(account_id="bramble"), _ctx("entra", ENTRA_APP)
    )
    assert result.api == "Microsoft Graph" and result.status == "enabled"
    assert result.url == f"https://graph.microsoft.com/v1.0/servicePrincipals(appId='{ENTRA_APP}')"
    assert result.acs_urls == [OURS_ACS]
    assert result.entity_ids == [wrong]  # the app's own GUID among servicePrincipalNames is not an entity ID
    assert result.problems == [
        f"Microsoft Entra ID addresses assertions to the audience {wrong}; ours is {OURS_ENTITY}"
    ]


@pytest.mark.parametrize(
    ("vendor", "status", "error", "says"),
    [
        ("okta", 403, SourceAuthError, "the Okta token lacks okta.apps.read (403 E0000006"),
        ("entra", 403, SourceAuthError, "lacks Application.Read.All (403 Authorization_RequestDenied"),
        ("okta", 503, SourceUnavailable, "Okta answered with a server error (503 E0000010"),
        (
            "entra",
            429,
            SourceRateLimited,
            "Microsoft Entra ID rate-limited the admin API (429 TooManyRequests",
        ),
        ("okta", 429, SourceRateLimited, "Okta rate-limited the admin API (429 E0000047"),
    ],
)
async def test_refusals_are_named(
    tmp_path: Path, make: Any, vendor: str, status: int, error: type[Exception], says: str
) -> None:
    app_id = OKTA_APP if vendor == "okta" else ENTRA_APP
    apps = (
        [okta_app(OKTA_APP, "E", OURS_ACS, OURS_ENTITY)],
        [graph_service_principal(ENTRA_APP, "E", OURS_ACS, OURS_ENTITY)],
    )
    transport = _world(tmp_path, *apps, **{app_id: {"status": status, "retry_after": 0}})
    with pytest.raises(error) as raised:
        await make(transport).idp_app(IdPAppArgs(account_id="bramble"), _ctx(vendor, app_id))
    assert says in str(raised.value)
    assert str(raised.value).endswith(": the IdP's configuration of our app was not read")
    retried = status in (429, 503)
    assert len(transport.requests) == (2 if retried else 1)


async def test_a_deleted_app_and_a_missing_token(tmp_path: Path, make: Any) -> None:
    transport = _world(tmp_path, [], [])
    with pytest.raises(SourceNotFound, match=r"Okta has no such app: deleted or a wrong id \(404 E0000007"):
        await make(transport).idp_app(IdPAppArgs(account_id="bramble"), _ctx("okta", OKTA_APP))
    with pytest.raises(
        SourceAuthError, match=r"no Microsoft Entra ID admin API token configured \(set CASEFILE_GRAPH_TOKEN"
    ):
        await make(transport, graph_token=None).idp_app(
            IdPAppArgs(account_id="bramble"), _ctx("entra", ENTRA_APP)
        )
    # The stand-in itself refuses a request without a token, as Okta does.
    answer = transport.handle_request(httpx.Request("GET", f"{ORG}/api/v1/apps/{OKTA_APP}"))
    assert answer.status_code == 401 and answer.json()["errorCode"] == "E0000011"


def test_the_connector_is_configured_by_token_only() -> None:
    assert IdPAdminConnector.not_configured(ConnectorSettings()) == (
        "no IdP admin API token configured (set CASEFILE_OKTA_API_TOKEN or CASEFILE_GRAPH_TOKEN)"
        ": the IdP's configuration of our app was not read"
    )
    configured = ConnectorSettings.model_validate({"idp_admin": {"okta_token": "t"}})
    assert IdPAdminConnector.not_configured(configured) is None
    assert not IdPAdminConnector.live_configured(configured)  # one IdP token does not mean "go live"
    settings = load_settings(env={"CASEFILE_GRAPH_TOKEN": "g-token"})
    section = settings.connectors.section("idp_admin", IdPAdminSettings)
    assert section.graph_token is not None and section.graph_token.get_secret_value() == "g-token"


def _investigate(case: str) -> Any:
    settings = load_settings(env={})
    env = open_environment(settings, GOLDEN / case / "world")

    async def run() -> Any:
        try:
            return await run_investigation(load_ticket(GOLDEN / case / "ticket.json"), env, settings)
        finally:
            await env.aclose()

    return asyncio.run(run())


def test_the_idp_s_app_config_is_the_cause_and_its_sources_are_named() -> None:
    d = _investigate("sso-stark-okta-app-acs").diagnosis
    assert d.root_cause.category == "sso_config"
    assert d.summary.startswith(
        "Okta sends assertions to https://app.relayhq.dev/sso/saml/acs; ours is https://app.relayhq.dev/sso/saml/acs/stark"
    )
    assert d.summary.endswith("IdP is Okta.")
    assert any(
        e.tool == "sso_idp_app" and e.value == "https://app.relayhq.dev/sso/saml/acs" for e in d.evidence
    )
    assert "ACS URL: IdP admin API (Okta Apps API): https://app.relayhq.dev/sso/saml/acs" in " ".join(
        d.confidence.reasons
    )
    assert "IdP entity ID: IdP metadata: " in " ".join(d.confidence.reasons)


def test_an_idp_admin_api_that_is_down_is_named_and_the_logs_stand_in() -> None:
    d = _investigate("sso-wayne-idp-admin-down").diagnosis
    assert d.root_cause.category == "sso_config"  # from the SAML responses in the logs
    assert any(e.tool == "logs_sso_logins" for e in d.evidence)
    [down] = [u for u in d.unavailable_sources if u.source == "idp_admin"]
    assert down.reason == (
        "Microsoft Entra ID answered with a server error (503 ServiceUnavailable: The service is temporarily "
        "unavailable.): the IdP's configuration of our app was not read"
    )
