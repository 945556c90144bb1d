"""The service's OpenAPI description, made true where FastAPI's generated one is not.

FastAPI cannot see what the service does by hand: authentication is read from
headers in a dependency (no security scheme appears), every error is
``{"error": {"code", "message"}}`` (FastAPI documents its own 422 validation
body, which the service never sends), and ``POST /v1/investigations`` reads its
body itself. :func:`install` replaces ``app.openapi`` with the generated
document corrected: security schemes, the error responses each operation can
give, the create body as a ``oneOf`` whose branches exclude each other, and the
events route's two media types. ``tests/test_openapi.py`` checks real requests
and responses against it with schemathesis.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI

from casefile.agent.helpdesk import Helpdesk

__all__ = ["create_body", "install", "security_schemes"]

_ERROR = {"$ref": "#/components/schemas/Error"}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error the service answers, 4xx and 5xx alike.",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "examples": ["not_found"]},
                "message": {"type": "string"},
            },
        }
    },
}


def security_schemes(helpdesk: type[Helpdesk]) -> dict[str, Any]:
    """Bearer tokens (or the helpdesk app's JWTs), and the helpdesk's webhook signature."""
    return {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": f"A configured service token, or an HS256 JWT signed with the {helpdesk.label()} "
            "app's shared secret (with exp and iat).",
        },
        f"{helpdesk.name}Webhook": {
            "type": "apiKey",
            "in": "header",
            "name": helpdesk.webhook_signature_header,
            "description": helpdesk.webhook_signature_scheme,
        },
    }


def create_body(helpdesk: type[Helpdesk]) -> dict[str, Any]:
    """A ticket, or a reference to one of the helpdesk's tickets (``zendesk_ticket_id``)."""
    key, label = helpdesk.ticket_id_key(), helpdesk.label()
    return {
        "oneOf": [
            {
                "type": "object",
                "title": "Ticket",
                "description": "a ticket: casefile's format (id, subject, body, requester, created_at, "
                f"comments) or a {label} export",
                "not": {"required": [key]},
            },
            {
                "type": "object",
                "title": f"{label}TicketReference",
                "description": f"a {label} ticket the service reads from {label} itself",
                "required": [key],
                "properties": {key: {"type": "integer", "minimum": 1}},
                "additionalProperties": False,
            },
        ]
    }


_DESCRIPTIONS = {
    "400": "malformed request (not JSON, a bad header or value)",
    "401": "missing or invalid credentials",
    "403": "the caller's tenant may not do this",
    "404": "no such investigation (or helpdesk ticket)",
    "409": "the investigation is still active, its account needs no confirming, or (a bounce) it did not escalate",
    "413": "request body too large",
    "422": "well-formed but invalid values",
    "429": "rate limited (see Retry-After)",
    "502": "the helpdesk could not be read",
    "503": "the store could not record the work (retry later)",
}


def _errors(codes: Iterable[str]) -> dict[str, Any]:
    return {
        code: {"description": _DESCRIPTIONS[code], "content": {"application/json": {"schema": _ERROR}}}
        for code in codes
    }


def _error_codes(method: str, path: str) -> list[str]:
    if path == "/healthz":
        return []
    if path.startswith("/v1/webhooks/"):
        return ["400", "401", "404", "413", "422", "429", "502", "503"]
    codes = ["400", "401", "413", "422", "429"]
    if "{inv}" in path or (path == "/v1/investigations" and method == "post"):
        codes.append("404")
    if path.endswith(("/rerun", "/confirm-account", "/feedback")):
        codes.append("409")
    if path == "/v1/investigations" and method == "post":
        codes += ["403", "409", "502", "503"]
    if path.endswith("/confirm-account"):
        codes.append("403")
    return sorted(set(codes))


def _correct(spec: dict[str, Any], helpdesk: type[Helpdesk]) -> dict[str, Any]:
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Error"] = ERROR_SCHEMA
    components["securitySchemes"] = security_schemes(helpdesk)
    paths = spec.get("paths", {})
    # The webhook route takes any name and answers only its helpdesk's: document that one URL.
    webhook = paths.pop("/v1/webhooks/{helpdesk}", None)
    if webhook is not None:
        for op in webhook.values():
            op.pop("parameters", None)
        paths[f"/v1/webhooks/{helpdesk.name}"] = webhook
    for path, operations in paths.items():
        for method, op in operations.items():
            responses = op.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's validation body: never sent
            responses.update(_errors(_error_codes(method, path)))
            if path.startswith("/v1/webhooks/"):
                op["security"] = [{f"{helpdesk.name}Webhook": []}]
            elif path.startswith("/v1/"):
                op["security"] = [{"bearer": []}]
    health = spec["paths"]["/healthz"]["get"]
    health["responses"] = {
        "200": {"description": "up", "content": {"application/json": {"schema": {"type": "object"}}}},
        "503": {
            "description": "the store refuses writes: accepted work cannot be recorded",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    }
    create = spec["paths"]["/v1/investigations"]["post"]
    body = create_body(helpdesk)
    create["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    events = spec["paths"]["/v1/investigations/{inv}/events"]["get"]
    events["responses"]["200"] = {
        "description": "progress events: Server-Sent Events, or with ?format=json the events stored so far",
        "content": {
            "text/event-stream": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["id", "status", "events"],
                    "properties": {
                        "id": {"type": "string"},
                        "status": {"type": "string"},
                        "events": {"type": "array", "items": {"type": "object"}},
                    },
                }
            },
        },
    }
    return spec


def install(app: FastAPI, helpdesk: type[Helpdesk]) -> None:
    """Serve the corrected description at ``/openapi.json`` (generated once, on first use)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _correct(generate(), helpdesk)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
