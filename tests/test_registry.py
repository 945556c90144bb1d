"""The registry builds every connector through the connector's own classmethods."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel, SecretStr

from casefile.tools.base import Connector
from casefile.tools.catalogue import built_in, connector_classes
from casefile.tools.registry import build_toolbox
from casefile.tools.settings import ConnectorSettings, LinearSettings, StripeSettings

DEMO_WORLD = Path(__file__).resolve().parents[1] / "examples" / "world"


def test_every_connector_says_how_it_is_built() -> None:
    for source, cls in connector_classes().items():
        assert cls.build.__func__ is not Connector.build.__func__, source  # type: ignore[attr-defined]


def test_live_without_settings_every_source_says_what_to_set() -> None:
    toolbox = build_toolbox(ConnectorSettings())
    assert set(toolbox.unavailable) == set(built_in()) - {"sso", "cases"}  # sso and our own store need none
    assert toolbox.unavailable["logs"] == "not configured (set CLICKHOUSE_DSN)"
    assert toolbox.unavailable["bugs"] == "not configured (set LINEAR_API_KEY)"
    assert toolbox.unavailable["billing"] == "not configured (set STRIPE_API_KEY, a restricted read-only key)"
    assert toolbox.unavailable["deploys"] == "not configured (set GITHUB_REPOS)"
    assert toolbox.unavailable["tickets"] == (
        "not configured (set ZENDESK_SUBDOMAIN, ZENDESK_EMAIL, ZENDESK_API_TOKEN)"
    )
    # Their tools stay listed, so a model can see what it could not use.
    assert {"logs_error_summary", "bugs_search", "billing_account"} <= set(toolbox.tools)


class _PagerSettings(BaseModel):
    region: str | None = None
    api_token: str | None = None
    base_url: str | None = None


class _Pager(Connector):
    """A plug-in that declares which settings reach its live system instead of writing not_configured."""

    source: ClassVar[str] = "pager"
    settings_key: ClassVar[str | None] = "pager"
    settings_model: ClassVar[type[BaseModel] | None] = _PagerSettings
    env_vars: ClassVar[Mapping[str, str]] = {"PAGER_TOKEN": "api_token", "PAGER_URL": "base_url"}
    configured_by: ClassVar[tuple[str, ...]] = ("api_token", "base_url")


def test_a_connector_is_configured_by_any_field_it_declares() -> None:
    assert _Pager.not_configured(ConnectorSettings()) == "not configured (set PAGER_TOKEN or PAGER_URL)"
    # A field outside configured_by does not count; either declared one does.
    assert _Pager.not_configured(ConnectorSettings.model_validate({"pager": {"region": "eu"}})) is not None
    assert (
        _Pager.not_configured(ConnectorSettings.model_validate({"pager": {"base_url": "https://p"}})) is None
    )
    assert _Pager.live_configured(ConnectorSettings.model_validate({"pager": {"api_token": "t"}}))


def test_configured_sources_are_available() -> None:
    settings = ConnectorSettings(
        linear=LinearSettings(api_key=SecretStr("lin_api_x")),
        stripe=StripeSettings(api_key=SecretStr("rk_test_x")),
    )
    unavailable = build_toolbox(settings).unavailable
    assert "bugs" not in unavailable and "billing" not in unavailable
    assert "logs" in unavailable


def test_a_connector_that_fails_to_build_does_not_stop_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    billing = connector_classes()["billing"]

    def broken(cls: type[Connector], settings: ConnectorSettings, world: object = None) -> Connector:
        raise RuntimeError("stripe SDK misconfigured")

    monkeypatch.setattr(billing, "build", classmethod(broken))
    from casefile.tools.world.loader import World

    toolbox = build_toolbox(ConnectorSettings(), world=World(DEMO_WORLD))
    assert toolbox.unavailable == {"billing": "could not start: stripe SDK misconfigured"}
    assert "logs_error_summary" in toolbox.tools and "deploys_list" in toolbox.tools


def test_built_in_connectors_are_found_by_scanning_the_tools_package() -> None:
    # No list names them: each module of casefile.tools defining a Connector with a source is one.
    assert (
        built_in().items()
        >= {
            "billing": "casefile.tools.billing:StripeConnector",
            "bugs": "casefile.tools.bugs:LinearConnector",
            "cases": "casefile.tools.cases:CasesConnector",
            "deploys": "casefile.tools.deploys:GitHubConnector",
            "docs": "casefile.tools.docs:HelpCenterConnector",
            "logs": "casefile.tools.logs:ClickHouseConnector",
            "sso": "casefile.tools.sso:SSOConnector",
            "tickets": "casefile.tools.tickets:ZendeskConnector",
        }.items()
    )
