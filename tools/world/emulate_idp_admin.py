"""Emulated IdP admin APIs: Okta's Apps API and Microsoft Graph's servicePrincipals, from a world's files.

``<world>/sso/apps.json`` holds the apps each IdP has configured for us, in the vendors' own
wire format, and the faults to answer instead::

    {"okta": {"https://initech.okta.com": [{"id": "0oa…", "status": "ACTIVE", "settings": {"signOn": {…}}}]},
     "graph": [{"id": "…", "appId": "…", "replyUrls": […], "servicePrincipalNames": […]}],
     "faults": {"0oa…": {"status": 503}, "…": {"status": 429, "retry_after": 2}}}

Served as the vendors serve them: ``GET /api/v1/apps/{appId}`` on each Okta org's host (beside
its SAML metadata, :mod:`emulate_idp` shares the host) and ``GET
/v1.0/servicePrincipals(appId='{appId}')`` (or ``/servicePrincipals/{id}``) on
``graph.microsoft.com``. No ``Authorization`` (``SSWS``/``Bearer`` for Okta, ``Bearer`` for
Graph): 401. An app that is not there: 404 (deleted). A fault: that status with the vendor's
error body, and on 429 Okta's ``X-Rate-Limit-*`` headers or Graph's ``Retry-After``. Any other
method: 405.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from casefile.tools.world.emulator import json_response

__all__ = ["GRAPH_HOST", "graph_handlers", "load_apps", "okta_handlers"]

GRAPH_HOST = "graph.microsoft.com"
_OKTA_APP = re.compile(r"^/api/v1/apps/([^/?]+)$")
_GRAPH_SP = re.compile(r"^/v1\.0/servicePrincipals(?:\(appId='([^']+)'\)|/([^/?]+))$")
_OKTA_ERRORS = {
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found: Resource not found: {app} (AppInstance)"),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
    500: ("E0000009", "Internal Server Error"),
    503: ("E0000010", "Service is temporarily unavailable"),
}
_GRAPH_ERRORS = {
    401: ("InvalidAuthenticationToken", "Access token is empty."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    404: (
        "Request_ResourceNotFound",
        "Resource '{app}' does not exist or one of its queried reference-property objects are not present.",
    ),
    429: ("TooManyRequests", "Too many requests."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable."),
}


def load_apps(world_dir: Path) -> dict[str, Any]:
    """``sso/apps.json`` (empty when the world has no IdP admin API)."""
    path = Path(world_dir) / "sso" / "apps.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _okta_error(status: int, app: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
    code, summary = _OKTA_ERRORS.get(status, ("E0000009", "Internal Server Error"))
    body = {
        "errorCode": code,
        "errorSummary": summary.format(app=app),
        "errorLink": code,
        "errorId": "oae" + format(abs(hash((status, app))) % 10**12, "012d"),
        "errorCauses": [],
    }
    return json_response(status, body, headers)


def _graph_error(status: int, app: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
    code, message = _GRAPH_ERRORS.get(status, ("UnknownError", "An error occurred."))
    body = {
        "error": {
            "code": code,
            "message": message.format(app=app),
            "innerError": {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "request-id": "0" * 36},
        }
    }
    return json_response(status, body, headers)


def _fault(
    faults: Mapping[str, Any], app: str, error: Callable[..., httpx.Response], okta: bool
) -> httpx.Response | None:
    fault = faults.get(app)
    if not isinstance(fault, dict):
        return None
    status = int(fault.get("status", 503))
    headers: dict[str, str] = {}
    if status == 429:
        wait = int(fault.get("retry_after", 1))
        headers = (
            {
                "X-Rate-Limit-Limit": "100",
                "X-Rate-Limit-Remaining": "0",
                "X-Rate-Limit-Reset": str(int(time.time()) + wait),
            }
            if okta
            else {"Retry-After": str(wait)}
        )
    return error(status, app, headers)


def okta_handlers(world_dir: Path) -> dict[str, Callable[[httpx.Request], httpx.Response | None]]:
    """Org host → a handler of the Apps API; None for a path that is not the Apps API."""
    data = load_apps(world_dir)
    faults = data.get("faults") or {}
    out: dict[str, Callable[[httpx.Request], httpx.Response | None]] = {}
    for org, apps in (data.get("okta") or {}).items():
        by_id = {str(app["id"]): app for app in apps}

        def handle(request: httpx.Request, by_id: dict[str, Any] = by_id) -> httpx.Response | None:
            m = _OKTA_APP.match(request.url.path)
            if m is None:
                return None
            if request.method != "GET":
                return httpx.Response(405, headers={"allow": "GET"})
            app = unquote(m.group(1))
            auth = request.headers.get("authorization", "")
            if not re.match(r"^(SSWS|Bearer) \S+$", auth):
                return _okta_error(401, app)
            return _fault(faults, app, _okta_error, True) or (
                json_response(200, by_id[app]) if app in by_id else _okta_error(404, app)
            )

        out[(urlsplit(org).hostname or "").lower()] = handle
    return out


def graph_handlers(world_dir: Path) -> dict[str, Callable[[httpx.Request], httpx.Response]]:
    """``graph.microsoft.com`` → its servicePrincipals, when the world has any."""
    data = load_apps(world_dir)
    if not data.get("graph"):
        return {}
    faults = data.get("faults") or {}
    by_app = {str(sp["appId"]): sp for sp in data["graph"]}
    by_id = {str(sp["id"]): sp for sp in data["graph"]}

    def handle(request: httpx.Request) -> httpx.Response:
        m = _GRAPH_SP.match(unquote(request.url.path))
        if m is None:
            return _graph_error(404, request.url.path)
        if request.method != "GET":
            return httpx.Response(405, headers={"allow": "GET"})
        key = m.group(1) or m.group(2)
        if not re.match(r"^Bearer \S+$", request.headers.get("authorization", "")):
            return _graph_error(401, key)
        sp = by_app.get(key) if m.group(1) else by_id.get(key)
        fault = _fault(faults, key, _graph_error, False)
        if fault is not None:
            return fault
        if sp is None:
            return _graph_error(404, key)
        select = request.url.params.get("$select")
        body = {k: v for k, v in sp.items() if not select or k in select.split(",")}
        context = "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity"
        return json_response(200, {"@odata.context": context, **body})

    return {GRAPH_HOST: handle}


def okta_app(app_id: str, label: str, acs_url: str, audience: str, *, active: bool = True) -> dict[str, Any]:
    """A SAML 2.0 app as Okta's Apps API returns it (the fields casefile reads, and their neighbours)."""
    return {
        "id": app_id,
        "name": label.lower().replace(" ", "") + "_1",
        "label": label,
        "status": "ACTIVE" if active else "INACTIVE",
        "signOnMode": "SAML_2_0",
        "features": [],
        "visibility": {"autoSubmitToolbar": False, "hide": {"iOS": False, "web": False}},
        "settings": {
            "app": {},
            "signOn": {
                "defaultRelayState": "",
                "ssoAcsUrl": acs_url,
                "idpIssuer": "http://www.okta.com/${org.externalKey}",
                "audience": audience,
                "recipient": acs_url,
                "destination": acs_url,
                "subjectNameIdTemplate": "${user.userName}",
                "subjectNameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                "responseSigned": True,
                "assertionSigned": True,
                "signatureAlgorithm": "RSA_SHA256",
                "digestAlgorithm": "SHA256",
                "honorForceAuthn": True,
                "authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                "allowMultipleAcsEndpoints": False,
                "acsEndpoints": [],
                "attributeStatements": [],
            },
        },
    }


def graph_service_principal(
    app_id: str, name: str, reply_url: str, entity_id: str, *, enabled: bool = True
) -> dict[str, Any]:
    """An enterprise app's servicePrincipal as Microsoft Graph v1.0 returns it."""
    return {
        "id": "f" + app_id[1:],
        "appId": app_id,
        "displayName": name,
        "accountEnabled": enabled,
        "servicePrincipalType": "Application",
        "preferredSingleSignOnMode": "saml",
        "replyUrls": [reply_url],
        "servicePrincipalNames": [entity_id, app_id],
        "samlSingleSignOnSettings": {"relayState": None},
        "tags": ["WindowsAzureActiveDirectoryCustomSingleSignOnApplication"],
    }
