"""The IdP's own configuration of our app, read from its admin API: ``sso_idp_app`` (source ``idp_admin``).

IdP SAML metadata describes the IdP, never the service provider it sends assertions to, so the
ACS URL and entity ID the IdP is configured with for *our* app can only be read from the IdP's
admin API. Two vendors, read-only, in their real wire formats:

* **Okta Apps API**: ``GET {org}/api/v1/apps/{appId}`` with ``Authorization: SSWS <API token>``
  (or ``Bearer <access token>`` with scope ``okta.apps.read``); the SAML app's
  ``settings.signOn`` holds ``ssoAcsUrl`` (and ``acsEndpoints``), ``audience``, ``recipient``,
  ``destination``, ``subjectNameIdFormat`` and ``signatureAlgorithm``; ``status`` is
  ``ACTIVE``/``INACTIVE``. Errors carry ``errorCode``/``errorSummary``; a 429 carries
  ``X-Rate-Limit-Reset`` (epoch seconds).
* **Microsoft Graph**: ``GET /v1.0/servicePrincipals(appId='{appId}')`` with a bearer token
  holding ``Application.Read.All``; ``replyUrls`` are the ACS (reply) URLs,
  ``servicePrincipalNames`` hold the SAML identifier (entity ID), ``accountEnabled`` whether
  anyone can sign in. Errors carry ``error.code``/``error.message``; a 429 carries Retry-After.

Configured per account in the directory: ``idp.app_id`` (and, for Okta, ``idp.admin_url``, else
the metadata URL's origin). Tokens come from ``[connectors.idp_admin]`` or the environment
(``CASEFILE_OKTA_API_TOKEN``, ``CASEFILE_GRAPH_TOKEN``); the account's URL never comes from a
model or a ticket. The result compares what the IdP is configured with against ours
(``idp.sp_acs_url``, ``idp.sp_entity_id``) and names the source of each value.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from casefile.tools import errors
from casefile.tools.base import AccountId, CallContext, Connector, ToolArgs, ToolOutcome, operation
from casefile.tools.connector_types import LinkContext, SourceLink, StandIns
from casefile.tools.http import ReadOnlyHTTP
from casefile.tools.retry import RetryableError
from casefile.tools.settings import ConnectorSettings

__all__ = [
    "WORLD_TOKEN",
    "ConfiguredValue",
    "IdPAdminConnector",
    "IdPAdminSettings",
    "IdPApp",
    "IdPAppArgs",
]

SOURCE = "idp_admin"
W = TypeVar("W", bound=BaseModel)
API_NAMES = {"okta": "Okta Apps API", "entra": "Microsoft Graph"}
VENDOR_NAMES = {"okta": "Okta", "entra": "Microsoft Entra ID"}
OKTA_DOMAINS = ("okta.com", "oktapreview.com", "okta-emea.com", "okta-gov.com")
# A world's stand-in checks that a token is sent, not which: worlds hold no secrets.
WORLD_TOKEN = "world-idp-admin-token"
NOT_READ = ": the IdP's configuration of our app was not read"
_SCOPES = {"okta": "okta.apps.read", "entra": "Application.Read.All"}
_GRAPH_SELECT = (
    "id,appId,displayName,accountEnabled,preferredSingleSignOnMode,replyUrls,servicePrincipalNames"
)


class IdPAdminSettings(BaseModel):
    """``[connectors.idp_admin]``: read-only tokens for the IdPs' admin APIs."""

    okta_token: SecretStr | None = Field(default=None, description="Okta API token (or OAuth access token)")
    okta_auth_scheme: Literal["SSWS", "Bearer"] = Field(
        default="SSWS", description="SSWS for an API token, Bearer for an OAuth token with okta.apps.read"
    )
    graph_token: SecretStr | None = Field(
        default=None, description="Microsoft Graph access token with Application.Read.All"
    )
    graph_url: str = "https://graph.microsoft.com/v1.0"
    timeout_s: float = 10.0


class IdPAppArgs(ToolArgs):
    """Arguments of sso_idp_app. No URL or app id: both come from the account directory."""

    account_id: AccountId


class ConfiguredValue(BaseModel):
    """One value our SSO depends on: ours, what the IdP is configured with, and where that was read."""

    what: Literal["ACS URL", "SP entity ID"]
    ours: str | None = Field(description="from our account directory (idp.sp_acs_url / idp.sp_entity_id)")
    idp: list[str] = Field(description="what the IdP's app is configured with")
    source: str = Field(description="where the IdP's value was read: the IdP admin API named")
    matches: bool | None = Field(description="ours is among the IdP's values; None when either is unknown")


class IdPApp(BaseModel):
    """How the customer's IdP is configured to sign users into our app."""

    account_id: str
    vendor: Literal["okta", "entra"]
    api: str = Field(description="Okta Apps API or Microsoft Graph")
    url: str = Field(description="the admin API resource read")
    app_id: str
    name: str | None = None
    status: str = Field(description="Okta: ACTIVE/INACTIVE; Entra: enabled/disabled (accountEnabled)")
    active: bool
    acs_urls: list[str] = Field(description="Okta ssoAcsUrl (+ acsEndpoints); Entra replyUrls")
    entity_ids: list[str] = Field(description="Okta audience; Entra servicePrincipalNames that are URIs")
    recipient: str | None = None
    destination: str | None = None
    nameid_format: str | None = None
    signature_algorithm: str | None = None
    values: list[ConfiguredValue] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)


class _AdminHTTP(ReadOnlyHTTP):
    """Okta's and Graph's error bodies say more than their statuses; Okta's 429 has no Retry-After."""

    def __init__(self, vendor: str, base_url: str, **kwargs: Any) -> None:
        super().__init__(SOURCE, base_url, **kwargs)
        self.vendor = vendor

    def classify_error(
        self, status: int, headers: httpx.Headers, body: Any, reason: str
    ) -> errors.ToolError | RetryableError | None:
        name = VENDOR_NAMES[self.vendor]
        detail = f"{status} {_vendor_error(body)}".strip()
        if status == 401:
            return errors.SourceAuthError(SOURCE, f"{name} refused the API token ({detail}){NOT_READ}")
        if status == 403:
            return errors.SourceAuthError(
                SOURCE, f"the {name} token lacks {_SCOPES[self.vendor]} ({detail}){NOT_READ}"
            )
        if status == 404:
            return errors.SourceNotFound(SOURCE, f"{name} has no such app: deleted or a wrong id ({detail})")
        if status == 429 or status >= 500:
            what = "rate-limited the admin API" if status == 429 else "answered with a server error"
            error_cls = errors.SourceRateLimited if status == 429 else errors.SourceUnavailable
            return RetryableError(
                error_cls(SOURCE, f"{name} {what} ({detail}){NOT_READ}"), retry_after=_retry_after(headers)
            )
        return None


def _vendor_error(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    if isinstance(body.get("errorCode"), str):  # Okta
        return f"{body['errorCode']}: {body.get('errorSummary', '')}".strip(": ")
    inner = body.get("error")
    if isinstance(inner, dict):  # Microsoft Graph
        return f"{inner.get('code', '')}: {inner.get('message', '')}".strip(": ")
    return ""


def _retry_after(headers: httpx.Headers) -> float | None:
    if headers.get("retry-after", "").isdigit():
        return float(headers["retry-after"])
    reset = headers.get("x-rate-limit-reset", "")
    return max(0.0, float(reset) - time.time()) if reset.isdigit() else None


def _compare(
    what: Literal["ACS URL", "SP entity ID"], ours: Any, idp: list[str], api: str
) -> ConfiguredValue:
    mine = str(ours) if ours else None
    known = bool(mine) and bool(idp)
    return ConfiguredValue(
        what=what,
        ours=mine,
        idp=idp,
        source=f"IdP admin API ({api})",
        matches=(mine in idp) if known else None,
    )


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _AcsEndpoint(_Wire):
    url: str


class _OktaSignOn(_Wire):
    sso_acs_url: str | None = Field(default=None, alias="ssoAcsUrl")
    acs_endpoints: list[_AcsEndpoint] = Field(default_factory=list, alias="acsEndpoints")
    audience: str | None = None
    recipient: str | None = None
    destination: str | None = None
    subject_name_id_format: str | None = Field(default=None, alias="subjectNameIdFormat")
    signature_algorithm: str | None = Field(default=None, alias="signatureAlgorithm")


class _OktaSettings(_Wire):
    sign_on: _OktaSignOn = Field(default_factory=_OktaSignOn, alias="signOn")


class _OktaApp(_Wire):
    """An Okta app (``GET /api/v1/apps/{appId}``): the fields a SAML 2.0 app's sign-on depends on."""

    name: str | None = None
    label: str | None = None
    status: str = "UNKNOWN"
    settings: _OktaSettings = Field(default_factory=_OktaSettings)


class _ServicePrincipal(_Wire):
    """A Microsoft Graph servicePrincipal: reply URLs and names (one of which is the SAML identifier)."""

    display_name: str | None = Field(default=None, alias="displayName")
    account_enabled: bool | None = Field(default=None, alias="accountEnabled")
    reply_urls: list[str] = Field(default_factory=list, alias="replyUrls")
    service_principal_names: list[str] = Field(default_factory=list, alias="servicePrincipalNames")


def _okta_app(data: Mapping[str, Any]) -> dict[str, Any]:
    app = _parse(_OktaApp, data, "Okta")
    sign_on = app.settings.sign_on
    acs = ([sign_on.sso_acs_url] if sign_on.sso_acs_url else []) + [e.url for e in sign_on.acs_endpoints]
    return {
        "name": app.label or app.name,
        "status": app.status,
        "active": app.status == "ACTIVE",
        "acs_urls": list(dict.fromkeys(acs)),
        "entity_ids": [sign_on.audience] if sign_on.audience else [],
        "recipient": sign_on.recipient,
        "destination": sign_on.destination,
        "nameid_format": sign_on.subject_name_id_format,
        "signature_algorithm": sign_on.signature_algorithm,
    }


def _graph_app(data: Mapping[str, Any]) -> dict[str, Any]:
    sp = _parse(_ServicePrincipal, data, "Microsoft Graph")
    enabled = sp.account_enabled is not False
    return {
        "name": sp.display_name,
        "status": "enabled" if enabled else "disabled",
        "active": enabled,
        "acs_urls": sp.reply_urls,
        # The app's own GUID is always listed; the SAML identifier is the URI beside it.
        "entity_ids": [n for n in sp.service_principal_names if "://" in n or n.startswith("urn:")],
    }


def _parse(model: type[W], data: Mapping[str, Any], vendor: str) -> W:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise errors.SourceMalformed(
            SOURCE, f"{vendor} answered an app of another shape: {exc.errors()[0]['msg']}"
        ) from None


class IdPAdminConnector(Connector):
    """The customer's IdP app for us, as its admin API describes it (Okta, Microsoft Entra)."""

    source: ClassVar[str] = SOURCE
    settings_key: ClassVar[str | None] = "idp_admin"
    settings_model: ClassVar[type[BaseModel] | None] = IdPAdminSettings
    env_vars: ClassVar[Mapping[str, str]] = {
        "CASEFILE_OKTA_API_TOKEN": "okta_token",
        "CASEFILE_GRAPH_TOKEN": "graph_token",
    }
    configured_by: ClassVar[tuple[str, ...]] = ("okta_token", "graph_token")
    not_configured_message: ClassVar[str] = "no IdP admin API token configured (set {wanted})" + NOT_READ

    @classmethod
    def live_configured(cls, settings: ConnectorSettings) -> bool:
        return False  # one customer's IdP token must not switch casefile to the live systems

    @classmethod
    def build(cls, settings: ConnectorSettings, world: StandIns | None = None) -> IdPAdminConnector:
        section = settings.section("idp_admin", IdPAdminSettings)
        if world is None:
            return cls(section)
        token = SecretStr(WORLD_TOKEN)
        stand_in = section.model_copy(
            update={"okta_token": section.okta_token or token, "graph_token": section.graph_token or token}
        )
        return cls(stand_in, transport=world.transport)

    @classmethod
    def source_link(cls, outcome: ToolOutcome, context: LinkContext) -> SourceLink | None:
        """The admin API resource that was read."""
        data = outcome.data if isinstance(outcome.data, dict) else {}
        return (
            SourceLink(label=str(data.get("api") or "IdP admin API"), url=data["url"])
            if data.get("url")
            else None
        )

    def __init__(
        self, settings: IdPAdminSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._clients: dict[str, _AdminHTTP] = {}

    def _client(self, vendor: str, base_url: str) -> _AdminHTTP:
        if base_url not in self._clients:
            if vendor == "okta":
                token = self.settings.okta_token
                auth = f"{self.settings.okta_auth_scheme} {token.get_secret_value()}" if token else None
            else:
                token = self.settings.graph_token
                auth = f"Bearer {token.get_secret_value()}" if token else None
            if auth is None:
                variable = "CASEFILE_OKTA_API_TOKEN" if vendor == "okta" else "CASEFILE_GRAPH_TOKEN"
                raise errors.SourceAuthError(
                    SOURCE, f"no {VENDOR_NAMES[vendor]} admin API token configured (set {variable}){NOT_READ}"
                )
            self._clients[base_url] = _AdminHTTP(
                vendor,
                base_url,
                headers={"Authorization": auth, "Accept": "application/json"},
                transport=self._transport,
                timeout_s=self.settings.timeout_s,
                attempts=2,
                max_wait_s=5.0,
            )
        return self._clients[base_url]

    @operation("sso_idp_app", IdPAppArgs)
    async def idp_app(self, args: IdPAppArgs, ctx: CallContext) -> IdPApp:
        """Read how the customer's IdP is configured to sign users into our app (Okta, Microsoft Entra).

        Use on SSO tickets when the account's IdP app is known: returns the ACS (reply) URLs and
        SP entity ID (audience) the IdP sends assertions to, the recipient, destination, NameID
        format and signature algorithm, whether the app is active, and whether each matches ours,
        naming the admin API each value was read from. SAML metadata cannot tell this.
        """
        account = ctx.account_for(SOURCE, args.account_id)
        idp = account.get("idp") or {}
        vendor, app_id = str(idp.get("vendor") or ""), str(idp.get("app_id") or "")
        if not app_id:
            raise errors.SourceNotFound(SOURCE, f"account {args.account_id} has no IdP app id configured")
        if vendor == "okta":
            org = str(idp.get("admin_url") or "") or _origin(str(idp.get("metadata_url") or ""))
            if not org.startswith("https://"):
                raise errors.SourceNotFound(SOURCE, f"account {args.account_id}: no https Okta org URL")
            if not _okta_org(org):
                # The token is ours, for every org that granted it: it goes to Okta's hosts only,
                # never to a host an account's metadata URL or admin_url names.
                raise errors.SourceNotFound(
                    SOURCE,
                    f"account {args.account_id}: {org[:80]} is not an Okta org; the admin token is not sent",
                )
            path = f"/api/v1/apps/{quote(app_id, safe='')}"
            data = await self._client(vendor, org).get_json(path, expect=dict)
            fields, url = _okta_app(data), f"{org}{path}"
        elif vendor == "entra":
            base = self.settings.graph_url.rstrip("/")
            path = f"/servicePrincipals(appId='{quote(app_id, safe='')}')"
            data = await self._client(vendor, base).get_json(path, {"$select": _GRAPH_SELECT}, expect=dict)
            fields, url = _graph_app(data), f"{base}{path}"
        else:
            raise errors.SourceNotFound(
                SOURCE, f"no admin API is read for IdP vendor {vendor or 'unknown'} (Okta and Entra are)"
            )
        api = API_NAMES[vendor]
        values = [
            _compare("ACS URL", idp.get("sp_acs_url"), fields["acs_urls"], api),
            _compare("SP entity ID", idp.get("sp_entity_id"), fields["entity_ids"], api),
        ]
        return IdPApp(
            account_id=args.account_id,
            vendor=vendor,  # type: ignore[arg-type]
            api=api,
            url=url,
            app_id=app_id,
            values=values,
            problems=_problems(VENDOR_NAMES[vendor], fields, values),
            **fields,
        )

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()


def _okta_org(org: str) -> bool:
    """An Okta org's origin: https, no port or user info, a host under one of Okta's domains."""
    parts = urlsplit(org)
    host = (parts.hostname or "").lower().rstrip(".")
    plain = parts.netloc.lower().rstrip(".") == host and not parts.path.strip("/")
    return parts.scheme == "https" and plain and any(host.endswith(f".{d}") for d in OKTA_DOMAINS)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _problems(name: str, fields: Mapping[str, Any], values: list[ConfiguredValue]) -> list[str]:
    problems = []
    for value in values:
        if value.matches is False:
            verb = (
                "sends assertions to" if value.what == "ACS URL" else "addresses assertions to the audience"
            )
            problems.append(f"{name} {verb} {', '.join(value.idp)}; ours is {value.ours}")
    if not fields["active"]:
        problems.append(f"the app is {fields['status']} in {name}: nobody can sign in through it")
    return problems
