"""Emulated Stripe API (the read side), served from ``<world>/stripe.json``.

``stripe.json`` holds Stripe objects exactly as the API returns them::

    {"customers": [...], "subscriptions": [...], "invoices": [...],
     "charges": [...], "prices": [...], "products": [...]}

Served, for GET only:

==============================  =============================================
``/v1/customers``               list; ``email=`` filter
``/v1/customers/search``        ``query=`` in Stripe's search syntax (below)
``/v1/customers/{id}``          retrieve
``/v1/subscriptions``           list; ``customer=``, ``price=``, ``status=``
                                (``all``, a status, or by default every
                                status but ``canceled``, as Stripe does)
``/v1/subscriptions/{id}``      retrieve
``/v1/invoices``                list; ``customer=``, ``status=``, ``subscription=``
``/v1/invoices/{id}``           retrieve
``/v1/charges``                 list; ``customer=``
``/v1/charges/{id}``            retrieve
``/v1/prices[/{id}]``           list / retrieve
``/v1/products[/{id}]``         list / retrieve
==============================  =============================================

Lists are newest first, with ``limit`` (default 10, at most 100),
``starting_after`` and an honest ``has_more``, in Stripe's envelope
(``{"object": "list", "data": [...], "has_more": ..., "url": "/v1/..."}``;
search: ``{"object": "search_result", ..., "next_page": null}``).
``expand[]`` replaces an id by its object along any dotted path, including
through ``data.`` of lists. Errors use Stripe's shape and statuses
(``resource_missing`` 404, ``parameter_unknown``/bad query 400, no key 401).

Search syntax: ``field:'value'`` (exact, case-insensitive), ``field~'value'``
(substring), ``metadata['key']:'value'``, ``-`` in front to negate; clauses
joined by ``AND`` or ``OR`` (not both, as in Stripe). Fields: email, name,
phone, description, metadata.

Any method but GET is answered 405 with a Stripe-shaped error: the billing
connector never sends one, and a world must not pretend a write succeeded.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import httpx

__all__ = ["KINDS", "Kind", "SearchQueryError", "handlers", "matches_query", "parse_search_query"]

API_HOST = "api.stripe.com"


class Kind(NamedTuple):
    """One kind of Stripe object this emulator serves."""

    object: str  # its ``object`` field
    collection: str  # its list in ``stripe.json`` and its path under /v1/
    prefix: str  # the prefix of its ids (how expand[] finds objects)


KINDS = (
    Kind("customer", "customers", "cus_"),
    Kind("subscription", "subscriptions", "sub_"),
    Kind("invoice", "invoices", "in_"),
    Kind("charge", "charges", "ch_"),
    Kind("price", "prices", "price_"),
    Kind("product", "products", "prod_"),
)
COLLECTIONS = tuple(k.collection for k in KINDS)
_PREFIXES = {k.prefix: k.collection for k in KINDS}
_SINGULAR = {k.collection: k.object for k in KINDS}
_SEARCH_FIELDS = ("email", "name", "phone", "description")
_request_ids = itertools.count(1)


class SearchQueryError(ValueError):
    """A search query this emulation (or Stripe) does not accept."""


# --------------------------------------------------------------------------- search


_CLAUSE = re.compile(
    r"""^(?P<neg>-)?
        (?:metadata\[['"](?P<mkey>[^'"]+)['"]\]|(?P<field>[a-z_]+))
        (?P<op>[:~])
        (?:'(?P<sq>(?:[^'\\]|\\.)*)'|"(?P<dq>(?:[^"\\]|\\.)*)")$""",
    re.VERBOSE,
)
Clause = tuple[bool, str, str | None, str, str]  # negated, field, metadata key, op, value


def parse_search_query(query: str) -> tuple[str, list[Clause]]:
    """Split a query into ("AND" | "OR", clauses); raises SearchQueryError when unsupported."""
    # Split on AND/OR outside quotes.
    tokens = re.findall(r"""(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\S)+""", query.strip())
    clauses: list[Clause] = []
    joins: set[str] = set()
    for index, token in enumerate(tokens):
        if index % 2 == 1:
            if token not in ("AND", "OR"):
                raise SearchQueryError(f"expected AND or OR, got {token!r}")
            joins.add(token)
            continue
        match = _CLAUSE.match(token)
        if not match:
            raise SearchQueryError(f"cannot parse clause {token!r}")
        field = "metadata" if match["mkey"] else match["field"]
        if field not in (*_SEARCH_FIELDS, "metadata"):
            raise SearchQueryError(f"field {field!r} is not searchable on customers")
        value = match["sq"] if match["sq"] is not None else match["dq"]
        value = re.sub(r"\\(.)", r"\1", value or "")
        if match["op"] == "~" and len(value) < 3:
            raise SearchQueryError("a substring (~) value needs at least 3 characters")
        clauses.append((bool(match["neg"]), field, match["mkey"], match["op"], value))
    if not clauses or len(tokens) % 2 == 0:
        raise SearchQueryError("empty or incomplete query")
    if len(joins) > 1:
        raise SearchQueryError("AND and OR cannot be combined in one query")
    return (joins.pop() if joins else "AND"), clauses


def matches_query(obj: dict[str, Any], join: str, clauses: list[Clause]) -> bool:
    """Whether a customer object satisfies parsed clauses."""

    def one(clause: Clause) -> bool:
        negated, field, key, op, value = clause
        raw = (obj.get("metadata") or {}).get(key or "") if field == "metadata" else obj.get(field)
        have = "" if raw is None else str(raw).lower()
        hit = value.lower() in have if op == "~" else (raw is not None and have == value.lower())
        return hit != negated

    results = [one(c) for c in clauses]
    return all(results) if join == "AND" else any(results)


# --------------------------------------------------------------------------- responses


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body, separators=(",", ":")).encode(),
        headers={
            "content-type": "application/json",
            "request-id": f"req_world{next(_request_ids):010d}",
        },
    )


def _error(status: int, message: str, *, code: str | None = None, param: str | None = None) -> httpx.Response:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if code:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    if param:
        error["param"] = param
    return _json(status, {"error": error})


class _Params:
    """Query parameters in Stripe's form encoding (``expand[]=a``, ``expand[0]=a``)."""

    def __init__(self, request: httpx.Request) -> None:
        self.single: dict[str, str] = {}
        self.expand: list[str] = []
        for key, value in parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True):
            if re.fullmatch(r"expand\[\d*\]", key):
                self.expand.append(value)
            else:
                self.single[key] = value


class _Store:
    def __init__(self, world_dir: Path) -> None:
        path = Path(world_dir) / "stripe.json"
        raw = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        self.objects: dict[str, dict[str, dict[str, Any]]] = {
            name: {o["id"]: o for o in raw.get(name, [])} for name in COLLECTIONS
        }

    def find(self, object_id: str) -> dict[str, Any] | None:
        for prefix, collection in _PREFIXES.items():
            if object_id.startswith(prefix):
                return self.objects[collection].get(object_id)
        return None

    def expand(self, obj: Any, path: list[str]) -> Any:
        """Replace the id at ``path`` (dotted, through lists' ``data``) by its object."""
        if not path:
            found = self.find(obj) if isinstance(obj, str) else None
            return found if found is not None else obj
        if isinstance(obj, list):
            return [self.expand(item, path) for item in obj]
        if not isinstance(obj, dict) or path[0] not in obj:
            return obj
        copy = dict(obj)
        copy[path[0]] = self.expand(obj[path[0]], path[1:])
        return copy

    def render(self, obj: dict[str, Any], expand: list[str]) -> dict[str, Any]:
        for dotted in expand:
            obj = self.expand(obj, dotted.split("."))
        return obj


def _page(
    items: list[dict[str, Any]], params: _Params, url: str, store: _Store, obj: str = "list"
) -> httpx.Response:
    try:
        limit = int(params.single.get("limit", "10"))
    except ValueError:
        return _error(400, "Invalid integer: limit", param="limit")
    if not 1 <= limit <= 100:
        return _error(400, "Invalid limit: must be between 1 and 100", param="limit")
    items = sorted(items, key=lambda o: (o.get("created") or 0, o["id"]), reverse=True)
    after = params.single.get("starting_after")
    if after:
        ids = [o["id"] for o in items]
        if after not in ids:
            return _error(404, f"No such object: '{after}'", code="resource_missing", param="starting_after")
        items = items[ids.index(after) + 1 :]
    # expand[] on a list names paths under data.; the envelope itself has nothing to expand.
    data = [store.render(o, [p.removeprefix("data.") for p in params.expand]) for o in items[:limit]]
    body: dict[str, Any] = {"object": obj, "data": data, "has_more": len(items) > limit, "url": url}
    if obj == "search_result":
        body["next_page"] = None
    return _json(200, body)


def _filter(items: list[dict[str, Any]], params: _Params, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    for field in fields:
        wanted = params.single.get(field)
        if wanted is None:
            continue
        items = [o for o in items if _ref(o.get(field)) == wanted]
    return items


def _ref(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def _invoice_subscription(invoice: dict[str, Any]) -> Any:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return _ref(details.get("subscription")) or invoice.get("subscription")


def _price_of(sub: dict[str, Any]) -> set[str]:
    return {_ref(i.get("price") or {}) for i in (sub.get("items") or {}).get("data", [])}


_LIST_FILTERS: dict[str, tuple[str, ...]] = {
    "customers": ("email",),
    "subscriptions": ("customer",),
    "invoices": ("customer", "status"),
    "charges": ("customer", "payment_intent"),
    "prices": ("product", "currency"),
    "products": (),
}


def _list(store: _Store, collection: str, params: _Params) -> httpx.Response:
    allowed = {"limit", "starting_after", "ending_before", "created", *_LIST_FILTERS[collection]}
    allowed |= {"subscriptions": {"status", "price"}, "invoices": {"subscription"}}.get(collection, set())
    unknown = sorted(k for k in params.single if k not in allowed and not k.startswith("created["))
    if unknown:
        return _error(
            400, f"Received unknown parameter: {unknown[0]}", code="parameter_unknown", param=unknown[0]
        )
    items = _filter(list(store.objects[collection].values()), params, _LIST_FILTERS[collection])
    if collection == "invoices" and "subscription" in params.single:
        # Since API 2025-03-31 an invoice names its subscription under parent.subscription_details.
        wanted = params.single["subscription"]
        items = [o for o in items if _invoice_subscription(o) == wanted]
    if collection == "subscriptions":
        status = params.single.get("status")
        if status is None:
            items = [o for o in items if o.get("status") != "canceled"]
        elif status != "all":
            items = [o for o in items if o.get("status") == status]
        if "price" in params.single:
            items = [o for o in items if params.single["price"] in _price_of(o)]
    return _page(items, params, f"/v1/{collection}", store)


def _search(store: _Store, params: _Params) -> httpx.Response:
    query = params.single.get("query")
    if not query:
        return _error(400, "Missing required param: query.", code="parameter_missing", param="query")
    try:
        join, clauses = parse_search_query(query)
    except SearchQueryError as exc:
        return _error(400, f"Invalid search query: {exc}", code="parameter_invalid_string", param="query")
    hits = [c for c in store.objects["customers"].values() if matches_query(c, join, clauses)]
    return _page(hits, params, "/v1/customers/search", store, obj="search_result")


def handlers(world_dir: Path) -> dict[str, Callable[[httpx.Request], httpx.Response]]:
    """The Stripe API host of this world."""
    store = _Store(world_dir)

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.rstrip("/")
        if request.method != "GET":
            return _error(
                405,
                f"This Stripe emulation is read-only: {request.method} {path} is not served.",
                code="method_not_allowed",
            )
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return _json(
                401,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "message": "You did not provide an API key.",
                    }
                },
            )
        params = _Params(request)
        parts = path.split("/")[1:]  # "", "v1", collection, id -> ["v1", collection, id]
        if len(parts) < 2 or parts[0] != "v1" or parts[1] not in COLLECTIONS:
            return _error(404, f"Unrecognized request URL (GET: {path}).")
        collection = parts[1]
        if len(parts) == 2:
            return _list(store, collection, params)
        if len(parts) == 3 and parts[2] == "search" and collection == "customers":
            return _search(store, params)
        if len(parts) == 3:
            obj = store.objects[collection].get(parts[2])
            if obj is None:
                return _error(
                    404, f"No such {_SINGULAR[collection]}: '{parts[2]}'", code="resource_missing", param="id"
                )
            return _json(200, store.render(obj, params.expand))
        return _error(404, f"Unrecognized request URL (GET: {path}).")

    return {API_HOST: handle}
