"""Attacks on the network edges: SSRF through IPv4-embedding IPv6, GraphQL bodies that smuggle a
mutation past the guard, and credentials following a request to another host."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from casefile.tools.bugs import query_only_guard
from casefile.tools.errors import ReadOnlyViolation
from casefile.tools.http import ReadOnlyHTTP
from casefile.tools.sso import check_public_address

# ------------------------------------------------------------------ SSO address check

REFUSED_ADDRESSES = [
    "2002:7f00:1::",  # 6to4 of 127.0.0.1 (the reported bypass)
    "2002:a9fe:a9fe::1",  # 6to4 of the cloud metadata address
    "2002:808:808::",  # 6to4 of a public address: still refused, the relay decides where it goes
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::808:808",  # NAT64 of a public address
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001::1",  # Teredo prefix
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:8.8.8.8",  # IPv4-mapped public
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible (deprecated) loopback
    "::8.8.8.8",  # IPv4-compatible public
    "::ffff:0:a00:1",  # IPv4-translated
    "::1",
    "::",
    "fe80::1%eth0",  # link-local with a zone
    "fd12:3456::1",  # unique local
    "fc00::1",
    "ff02::1",  # multicast
    "ff0e::1",  # global-scope multicast
    "2001:db8::1",  # documentation
    "100::1",  # discard-only
    "4000::1",  # outside global unicast 2000::/3
    "127.0.0.1",
    "127.1.2.3",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",  # shared address space (CGNAT)
    "0.0.0.0",
    "192.0.0.8",
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "192.88.99.1",  # 6to4 relay anycast
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_non_global_and_ipv4_embedding_addresses_are_refused(address: str) -> None:
    assert check_public_address(address) is not None


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"]
)
def test_public_addresses_pass(address: str) -> None:
    assert check_public_address(address) is None


def test_six_to_four_names_its_reason() -> None:
    assert "6to4" in (check_public_address("2002:7f00:1::") or "")


# ------------------------------------------------------------------ the GraphQL guard

QUERY = "query { issues { nodes { id } } }"
MUTATION = 'mutation { issueDelete(id: \\"1\\") { success } }'
SMUGGLED = [
    ('{"query": "' + QUERY + '", "query": "' + MUTATION + '"}').encode(),
    ('{"query": "' + MUTATION + '", "query": "' + QUERY + '"}').encode(),
    json.dumps(
        {"query": QUERY, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}}}
    ).encode(),
    json.dumps({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}}}).encode(),
    json.dumps([{"query": QUERY}, {"query": "mutation { a }"}]).encode(),  # a batch
    json.dumps({"query": QUERY, "variables": "mutation { a }"}).encode(),
    json.dumps({"query": QUERY, "operationName": {"x": 1}}).encode(),
    json.dumps({"query": QUERY, "mutation": "issueDelete"}).encode(),
    json.dumps({"query": 'mutation { issueDelete(id: "1") { success } }'}).encode(),
    json.dumps({"query": QUERY + " mutation M { a }"}).encode(),
    json.dumps({"query": "subscription { issues { id } }"}).encode(),
    json.dumps({"query": {"kind": "Document"}}).encode(),
    b'{"query": "' + QUERY.encode() + b'"',  # truncated
    b"not json",
]


@pytest.mark.parametrize("body", SMUGGLED)
def test_graphql_bodies_that_are_not_one_plain_query_are_refused(body: bytes) -> None:
    with pytest.raises(ReadOnlyViolation):
        query_only_guard(body)


def test_a_plain_query_with_variables_passes() -> None:
    query_only_guard(json.dumps({"query": QUERY, "variables": {"a": 1}, "operationName": None}).encode())


# ------------------------------------------------------------------ ReadOnlyHTTP

BASE = "https://api.example.test"
SECRET = "Bearer s3cret-token"


@pytest.fixture
async def http() -> AsyncIterator[ReadOnlyHTTP]:
    client = ReadOnlyHTTP(
        "t",
        BASE,
        headers={"Authorization": SECRET, "Linear-Api-Key": "lin-secret", "User-Agent": "casefile"},
        allow_post_paths={"/graphql"},
        post_guard=query_only_guard,
    )
    yield client
    await client.aclose()


@pytest.mark.parametrize(
    "url",
    [
        f"{BASE}/graphql?query=mutation%20%7B%20a%20%7D",
        f"{BASE}/graphql?query=query%20%7B%20a%20%7D",
        "https://elsewhere.test/graphql?query=mutation%20%7B%20a%20%7D",
    ],
)
@respx.mock
async def test_get_queries_on_the_graphql_endpoint_are_refused(http: ReadOnlyHTTP, url: str) -> None:
    route = respx.route().mock(return_value=httpx.Response(200, json={}))
    with pytest.raises(ReadOnlyViolation):
        await http.get_bytes(url)
    with pytest.raises(ReadOnlyViolation):
        await http._client.get(url)
    assert not route.called


@pytest.mark.parametrize(
    "url",
    [
        "https://attacker.test/steal",
        "http://api.example.test/items",  # same host, plain http
        "https://api.example.test:8443/items",  # same host, another port
        "https://api.example.test.attacker.test/items",  # a look-alike host
        "https://169.254.169.254/latest/meta-data",
    ],
)
@respx.mock
async def test_credentials_never_follow_a_request_to_another_origin(http: ReadOnlyHTTP, url: str) -> None:
    route = respx.route().mock(return_value=httpx.Response(200, content=b"{}"))
    await http.get_bytes(url)
    sent = route.calls.last.request.headers
    assert "authorization" not in sent and "linear-api-key" not in sent
    assert sent["user-agent"] == "casefile"  # harmless headers still go


@respx.mock
async def test_credentials_go_to_the_configured_host(http: ReadOnlyHTTP) -> None:
    route = respx.route().mock(return_value=httpx.Response(200, content=b"{}"))
    await http.get_bytes("/items")
    await http.get_bytes(f"{BASE}/items")
    assert all(c.request.headers["authorization"] == SECRET for c in route.calls)


@respx.mock
async def test_an_allowed_post_path_on_another_host_is_refused(http: ReadOnlyHTTP) -> None:
    route = respx.route().mock(return_value=httpx.Response(200, json={"data": {}}))
    with pytest.raises(ReadOnlyViolation):
        await http._client.post("https://attacker.test/graphql", json={"query": QUERY})
    assert not route.called


@respx.mock
async def test_a_redirect_is_not_followed_and_carries_nothing(http: ReadOnlyHTTP) -> None:
    respx.get(f"{BASE}/items").mock(
        return_value=httpx.Response(302, headers={"Location": "https://attacker.test/x"})
    )
    attacker = respx.get("https://attacker.test/x").mock(return_value=httpx.Response(200, json={}))
    with pytest.raises(Exception, match="redirect"):
        await http.get_json("/items")
    assert not attacker.called
