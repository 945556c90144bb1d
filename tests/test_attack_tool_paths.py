"""Round-4 attacks that steer a read-only call to another endpoint or another host.

* ``docs_article``'s ``locale`` is a segment of the article URL: ``../../tickets/1.json?`` made
  it ``GET /api/v2/tickets/1.json`` on the helpdesk, with its credentials.
* Every connector path built from an argument: ``.``/``..`` segments (plain or percent-encoded)
  are refused by ``ReadOnlyHTTP`` before anything is sent.
* ``sso_idp_app`` sends casefile's Okta admin token to the org an account's directory entry
  names (``idp.admin_url``, else its metadata URL's origin): a metadata URL on any other host
  (the customer's own, a private address) received the token. Only Okta's domains get it now.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_sso_admin import OKTA_APP, OURS_ACS, OURS_ENTITY, _world, make  # noqa: F401 - fixture

from casefile.agent.config import load_settings
from casefile.agent.pipeline import Environment
from casefile.tools.base import CallContext, ToolCall, ToolOutcome, parse_ts
from casefile.tools.errors import ReadOnlyViolation, SourceNotFound
from casefile.tools.http import ReadOnlyHTTP
from casefile.tools.sso_admin import IdPAppArgs
from casefile.tools.world.emulate_idp_admin import okta_app

NOW = parse_ts("2026-11-20T10:15:00Z")


def run(env: Environment, tool: str, **arguments: Any) -> ToolOutcome:
    assert env.directory is not None
    ctx = CallContext.for_account("acme", env.directory.as_mapping(), now=NOW, requested_by="test")
    return asyncio.run(env.toolbox.execute(ToolCall(id="x", tool=tool, arguments=arguments), ctx))


LOCALES = [
    "../../../api/v2/tickets/1.json?x=",
    "en-us/../../../../api/v2/users",
    "..",
    "%2e%2e",
    "en-us?x=",
    "en-us#",
    "en us",
    "en-us/",
    "/api/v2/users",
    "http://127.0.0.1:9/x",
    "en-us\n",
    "é",
]


@pytest.mark.parametrize("locale", LOCALES, ids=repr)
@pytest.mark.parametrize("tool", ["docs_article", "docs_search"])
def test_a_locale_that_is_not_a_locale_is_refused_before_a_request(
    env: Environment, tool: str, locale: str
) -> None:
    transport = env.world.transport  # type: ignore[union-attr]
    before = len(transport.requests)
    arguments: dict[str, Any] = {"article_id": 1} if tool == "docs_article" else {"query": "invoice"}
    outcome = run(env, tool, locale=locale, **arguments)
    assert not outcome.ok and outcome.error_kind == "bad_arguments", outcome.error
    assert len(transport.requests) == before


@pytest.mark.parametrize("locale", ["en-us", "de", "pt-br", "es-419", "zh-hant-tw"])
def test_real_locales_still_read_articles(env: Environment, locale: str) -> None:
    outcome = run(env, "docs_search", query="rate limit 429", locale=locale)
    assert outcome.error_kind != "bad_arguments", outcome.error


PATHS = [
    "/api/v2/help_center/../../tickets/1.json",
    "/repos/../../user",
    "/repos/a/b/%2e%2e/%2e%2e/user",
    "/repos/a/b/%2E%2E/x",
    "/repos/a/b/%252e%252e/x",
    "/x/./y",
    "/x/..\\..\\y",
    "/x/..?q=1",
]


@pytest.mark.parametrize("path", PATHS)
def test_dot_segments_never_leave_the_client(path: str) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    async def go() -> None:
        http = ReadOnlyHTTP("t", "https://api.example.test/base", transport=httpx.MockTransport(handler))
        try:
            with pytest.raises(ReadOnlyViolation, match="path segments"):
                await http.get_json(path)
        finally:
            await http.aclose()

    asyncio.run(go())
    assert sent == []


def test_an_ordinary_path_with_dots_in_names_is_sent() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, json={})

    async def go() -> None:
        http = ReadOnlyHTTP("t", "https://api.example.test", transport=httpx.MockTransport(handler))
        try:
            await http.get_json("/repos/org/my.repo/compare/v1.2.3...v1.2.4")
        finally:
            await http.aclose()

    asyncio.run(go())
    assert sent == ["/repos/org/my.repo/compare/v1.2.3...v1.2.4"]


# --- the Okta admin token goes to Okta only ------------------------------------------------------

ORGS = [
    "https://evil.example",  # the customer's own host, named by its metadata URL
    "https://10.0.0.5",
    "https://169.254.169.254",
    "https://okta.com.evil.example",
    "https://evilokta.com",
    "https://bramble.okta.com.evil.example",
    "https://user@bramble.okta.com",
    "https://bramble.okta.com:8443",
    "http://bramble.okta.com",
]


def _ctx(metadata_url: str, admin_url: str | None = None) -> CallContext:
    idp = {
        "vendor": "okta",
        "metadata_url": metadata_url,
        "app_id": OKTA_APP,
        "sp_acs_url": OURS_ACS,
        "sp_entity_id": OURS_ENTITY,
    }
    if admin_url is not None:
        idp["admin_url"] = admin_url
    return CallContext.for_account("bramble", {"bramble": {"id": "bramble", "idp": idp}})


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("where", ["metadata_url", "admin_url"])
async def test_the_okta_token_never_goes_to_a_host_outside_okta(
    tmp_path: Path,
    make: Any,  # noqa: F811
    org: str,
    where: str,
) -> None:
    transport = _world(tmp_path, [okta_app(OKTA_APP, "Example", OURS_ACS, OURS_ENTITY)], [])
    ctx = (
        _ctx(f"{org}/app/exk1/sso/saml/metadata")
        if where == "metadata_url"
        else _ctx("https://bramble.okta.com/app/exk1/sso/saml/metadata", admin_url=org)
    )
    with pytest.raises(SourceNotFound, match=r"not an Okta org|no https Okta org"):
        await make(transport).idp_app(IdPAppArgs(account_id="bramble"), ctx)
    assert transport.requests == []


@pytest.mark.parametrize(
    "org", ["https://bramble-tools.okta.com", "https://x.oktapreview.com", "https://x.okta-emea.com"]
)
def test_okta_orgs_are_still_read(org: str) -> None:
    from casefile.tools.sso_admin import _okta_org

    assert _okta_org(org)


def test_the_demo_worlds_okta_accounts_still_read_their_apps() -> None:
    from casefile.agent.pipeline import open_environment

    env = open_environment(load_settings(env={}))
    try:
        assert env.directory is not None
        ctx = CallContext.for_account("initech", env.directory.as_mapping(), now=NOW)
        call = ToolCall(id="x", tool="sso_idp_app", arguments={"account_id": "initech"})
        outcome = asyncio.run(env.toolbox.execute(call, ctx))
        assert outcome.ok, outcome.error
    finally:
        asyncio.run(env.aclose())
