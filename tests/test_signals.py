"""Signal extraction and the account directory, on the kind of text customers really send."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from casefile.agent.accounts import AccountDirectory
from casefile.agent.errors import ConfigError
from casefile.agent.intake import parse_ticket
from casefile.agent.signals import (
    extract_areas,
    extract_browsers,
    extract_endpoints,
    extract_error_codes,
    extract_exceptions,
    extract_hosts,
    extract_signals,
    extract_statuses,
    extract_time_window,
    normalise_endpoint,
)

CURL_429 = """$ curl -i -X POST https://api.relayhq.dev/v2/shipments -H 'Idempotency-Key: 6f1c2d3e-aaaa-4bbb-8ccc-123456789abc'
HTTP/2 429
retry-after: 30
x-request-id: req_8f3kd92hf
{"error": {"code": "rate_limit_exceeded", "message": "Too many requests"}, "request_id": "req_8f3kd92hf"}"""

JAVA_TRACE = """Exception in thread "main" javax.net.ssl.SSLHandshakeException: PKIX path building failed
    at sun.security.ssl.Alert.createSSLException(Alert.java:131)
    at com.acme.relay.Client.send(Client.java:88)
Caused by: java.lang.OutOfMemoryError: Java heap space"""

PY_TRACE = """Traceback (most recent call last):
  File "/srv/sync/export_job.py", line 41, in fetch_export_page
    resp = session.get(url, timeout=30)
  File "/usr/lib/python3.11/site-packages/requests/sessions.py", line 602, in get
    return self.request("GET", url, **kwargs)
requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.relayhq.dev', port=443): Max retries exceeded"""

NODE_LOG = """Error: connect ECONNREFUSED 10.0.45.2:5432
    at TCPConnectWrapper.afterConnect [as oncomplete] (node:net:1595:16) {
  errno: -111, code: 'ECONNREFUSED', syscall: 'connect', address: '10.0.45.2', port: 5432 }
TypeError: Cannot read properties of undefined (reading 'map')"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("API calls failing with 429 since this morning", [429]),
        (CURL_429, [429]),
        ("the gateway answers HTTP 502 and sometimes status code 500", [502, 500]),
        ("< HTTP/1.1 503 Service Unavailable", [503]),
        ('{"status": 404, "statusCode": 401}', [404, 401]),
        ("we are getting 429s and a few 500 errors", [429, 500]),
        ("export endpoint returning 500 since yesterday afternoon", [500]),
        ("Too Many Requests (429)", [429]),
        ("POST https://app.relayhq.dev/sso/saml/acs/initech 403 (Forbidden)", [403]),
        ("402 Payment Required on every POST", [402]),
        # negatives: quantities, ids, years, ports, versions
        ("order #4291 and order 500123 were not shipped in 2026", []),
        ("we shipped 500 orders with 404 parcels", []),
        ("with 500 orders in the queue", []),
        ("ECONNREFUSED 10.0.45.2:5432", []),
        ("our account has 450 users", []),
        ("v2.41.0 deployed, ticket 502 in your tracker", []),
        ("status 200 OK for GETs", []),  # not an error status
    ],
)
def test_statuses(text: str, expected: list[int]) -> None:
    assert extract_statuses(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CURL_429, ["rate_limit_exceeded"]),
        ('{"error":{"code":"subscription_past_due","type":"invalid_request_error"}}',
         ["subscription_past_due", "invalid_request_error"]),
        ("charge failed: card_declined (insufficient_funds)", ["card_declined", "insufficient_funds"]),
        (NODE_LOG, ["ECONNREFUSED"]),
        ("curl: (28) Operation timed out ETIMEDOUT", ["ETIMEDOUT"]),
        ("Chrome shows net::ERR_CERT_DATE_INVALID then ERR_CONNECTION_RESET", ["ERR_CERT_DATE_INVALID", "ERR_CONNECTION_RESET"]),
        ("node says UNABLE_TO_VERIFY_LEAF_SIGNATURE", ["UNABLE_TO_VERIFY_LEAF_SIGNATURE"]),
        ("OAuth error=invalid_grant", ["invalid_grant"]),
        # negatives: field names, ids, functions, files, env vars, paths, emails
        ('{"request_id": "req_8f3kd92hf", "created_at": "2026-11-20", "api_key_hash": "ab12"}', []),
        (PY_TRACE, []),
        ("see src/orders/export_v2.py and call create_order(payload)", []),
        ("we set RELAY_API_KEY and DATABASE_URL", []),
        ("https://api.relayhq.dev/v2/shipping_labels", []),
        ("mail first_last@acme-logistics.com", []),
        ("the key was [REDACTED:stripe_key]", []),
    ],
)  # fmt: skip
def test_error_codes(text: str, expected: list[str]) -> None:
    from casefile.agent.redact import PLACEHOLDER_RE

    assert extract_error_codes(PLACEHOLDER_RE.sub("[REDACTED]", text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (JAVA_TRACE, ["javax.net.ssl.SSLHandshakeException", "java.lang.OutOfMemoryError"]),
        (PY_TRACE, ["requests.exceptions.ConnectionError"]),
        (NODE_LOG, ["TypeError"]),
        ("Faraday::ConnectionFailed and Net::ReadTimeout in our Rails app", ["Faraday::ConnectionFailed", "Net::ReadTimeout"]),
        ("System.Net.Http.HttpRequestException: 503", ["System.Net.Http.HttpRequestException"]),
        ("we hit an OutOfMemoryError and a KeyError", ["OutOfMemoryError", "KeyError"]),
        ("500 Internal Server Error, error in the dashboard", []),
    ],
)  # fmt: skip
def test_exceptions(text: str, expected: list[str]) -> None:
    assert extract_exceptions(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NODE_LOG, ["10.0.45.2:5432", "10.0.45.2"]),
        ("Our endpoint https://hooks.umbrella-health.com/relay times out", ["hooks.umbrella-health.com"]),
        ("postgres://app:[REDACTED]@db.internal:5432/orders", ["db.internal:5432"]),
        ("curl http://localhost:8080/health and api.relayhq.dev", ["localhost:8080", "api.relayhq.dev"]),
        # negatives: files, versions in user agents, emails
        ("see export.py, config.json and README.md", []),
        ("Mozilla/5.0 Chrome/131.0.0.0 Safari/537.36", []),
        ("reply to dana@acme-logistics.com", []),
    ],
)
def test_hosts(text: str, expected: list[str]) -> None:
    assert extract_hosts(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CURL_429, ["/v2/shipments"]),
        ("GET /v2/orders/export returns 500", ["/v2/orders/export"]),
        ("GET https://api.relayhq.dev/v2/orders/ord_8fK2j3LmQ9?expand=items.", ["/v2/orders/{id}"]),
        ("PATCH /v2/orders/12345/items/3f2a9c1e-8b7d-4c6e-a5f4-0e1d2c3b4a59", ["/v2/orders/{id}/items/{id}"]),
        ("our docs say /api/webhooks/{webhook_id}/test", ["/api/webhooks/{id}/test"]),
        ("log at /var/log/relay/app.log and src/v2/orders.py", []),
    ],
)
def test_endpoints(text: str, expected: list[str]) -> None:
    assert extract_endpoints(text) == expected


def test_normalise_endpoint_keeps_words() -> None:
    assert normalise_endpoint("/v2/orders/export/") == "/v2/orders/export"
    assert normalise_endpoint("/v2/shipments/shp_1a2b3c4d/labels") == "/v2/shipments/{id}/labels"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("API calls failing with 429", ["api"]),
        ("your webhooks stopped, no order.updated events since last night", ["webhook"]),
        ("nobody can log in with SSO, Okta says SAML response invalid", ["sso"]),
        ("OAuth refresh token returns invalid_grant", ["oauth"]),
        ("the CSV export is empty", ["export"]),
        ("we were charged twice and the invoice shows the wrong plan", ["billing"]),
        ("the Save button does nothing on the settings page", ["ui"]),
        ("the dashboard is very slow, requests take 30 seconds and then time out", ["ui", "performance"]),
        ("the totals are off by one day, maybe a timezone issue", ["data"]),
        # a zone that says when something happened is not a question about how days are counted
        ("nothing came through between 9:05 and 9:50 am (Eastern time zone)", []),
        ("at 10h30, Central time zone, the sync stopped; our time zone is set right", ["data"]),
        ("hello, quick question about our account", []),
    ],
)
def test_areas(text: str, expected: list[str]) -> None:
    assert extract_areas(text) == expected


def test_areas_from_other_signals() -> None:
    assert extract_areas("can't create orders", statuses=[402], error_codes=["subscription_past_due"]) == [
        "billing"
    ]
    assert extract_areas("it fails", endpoints=["/v2/orders"], browsers=["Safari 17.2"]) == ["api", "ui"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("broken in Safari 17.2, fine in Chrome 131", ["Safari 17.2", "Chrome 131"]),
        ("User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/17.2 Safari/605.1.15", ["Safari 17.2"]),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
         "Safari/537.36", ["Chrome 131"]),
        ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
         ["Edge 131"]),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", ["Firefox 133"]),
        ("it happens in Safari but not in Firefox", ["Safari", "Firefox"]),
        ("Safari 17.2 ... also Safari", ["Safari 17.2"]),
        ("that is an edge case. Edge of the screen", []),
    ],
)  # fmt: skip
def test_browsers(text: str, expected: list[str]) -> None:
    assert extract_browsers(text) == expected


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


CREATED = utc("2026-11-20T11:40:00Z")  # a Friday


@pytest.mark.parametrize(
    ("text", "hint", "start"),
    [
        ("API calls failing with 429 since this morning", "since this morning", "2026-11-20T00:00:00Z"),
        ("export returning 500 since yesterday afternoon", "since yesterday afternoon", "2026-11-19T00:00:00Z"),
        ("broken since yesterday", "since yesterday", "2026-11-19T00:00:00Z"),
        ("no order.updated events since last night", "since last night", "2026-11-19T18:00:00Z"),
        ("failing for the past 3 hours", "for the past 3 hours", "2026-11-20T08:40:00Z"),
        ("failing for the past two days", "for the past two days", "2026-11-18T00:00:00Z"),
        ("it started an hour ago", "an hour ago", "2026-11-20T10:40:00Z"),
        ("it started 5 minutes ago", "5 minutes ago", "2026-11-20T10:40:00Z"),  # at least one hour
        ("broken since Monday", "since Monday", "2026-11-16T00:00:00Z"),
        ("broken since Friday", "since Friday", "2026-11-13T00:00:00Z"),  # today is Friday: the previous one
        ("broken since 2026-11-18", "since 2026-11-18", "2026-11-18T00:00:00Z"),
        ("errors since 2026-11-18T14:07:00Z", "since 2026-11-18T14:07:00Z", "2026-11-18T14:07:00Z"),
        ("broken since Nov 18th", "since Nov 18th", "2026-11-18T00:00:00Z"),
        ("broken since 18 November", "since 18 November", "2026-11-18T00:00:00Z"),
        ("broken since the last few days", "the last few days", "2026-11-17T00:00:00Z"),
        ("failing since about 8:15 UTC", "since about 8:15 UTC", "2026-11-20T08:15:00Z"),
        ("failing since 9am", "since 9am", "2026-11-20T09:00:00Z"),
        ("failing since 2pm", "since 2pm", "2026-11-19T14:00:00Z"),  # later than now today: yesterday
        ("yesterday at 3pm it began", "yesterday at 3pm", "2026-11-19T15:00:00Z"),
        ("it was fine yesterday, but since this morning every call fails", "since this morning",
         "2026-11-20T00:00:00Z"),
        ("broken since December 1st", "since December 1st", "2025-12-01T00:00:00Z"),  # clamped below
        ("[2026-11-20T08:12:03Z] 429\n[2026-11-20T08:12:09Z] 429", "2026-11-20T08:12:03Z", "2026-11-20T08:12:03Z"),
    ],
)  # fmt: skip
def test_time_window(text: str, hint: str, start: str) -> None:
    got_hint, got_start, got_end = extract_time_window(text, CREATED)
    assert got_hint == hint
    expected = max(utc(start), utc("2026-10-21T11:40:00Z"))  # windows are at most 30 days
    assert got_start == expected
    assert got_end == CREATED


def test_time_window_default_is_24_hours() -> None:
    assert extract_time_window("our orders are not syncing, order 4821 in 2026", CREATED) == (
        None,
        utc("2026-11-19T11:40:00Z"),
        CREATED,
    )


def test_time_window_ignores_the_future() -> None:
    hint, start, _ = extract_time_window("planned maintenance on 2026-12-01 is fine", CREATED)
    assert (hint, start) == (None, utc("2026-11-19T11:40:00Z"))


def test_time_window_is_relative_to_created_at_in_utc() -> None:
    created = datetime.fromisoformat("2026-11-20T01:30:00+05:00")  # 2026-11-19T20:30Z
    _, start, end = extract_time_window("since this morning", created)
    assert start == utc("2026-11-19T00:00:00Z")
    assert end == utc("2026-11-19T20:30:00Z")


# --- account directory ---------------------------------------------------------------------

ACCOUNTS: dict[str, Any] = {
    "accounts": [
        {"id": "acme", "name": "Acme Logistics", "domains": ["acme-logistics.com"], "plan": "scale",
         "stripe_customer": "cus_Acme0001", "idp": None},
        {"id": "globex", "name": "Globex Retail", "domains": ["globex.example"]},
        {"id": "initech", "name": "Initech", "domains": ["initech.io"]},
        {"id": "umbrella", "name": "Umbrella Health", "domains": ["umbrella-health.com"]},
        {"id": "hooli", "name": "Hooli", "domains": ["hooli.xyz"]},
        {"id": "stark", "name": "Stark Industries", "domains": ["stark-industries.com"]},
        {"id": "freemail", "name": "Free Mail Co", "domains": ["gmail.com"]},
    ]
}  # fmt: skip


@pytest.fixture
def directory() -> AccountDirectory:
    return AccountDirectory.from_data(ACCOUNTS)


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("dana@acme-logistics.com", "acme"),
        ("Dana@ACME-Logistics.COM", "acme"),
        ("ops@eu.mail.acme-logistics.com", "acme"),
        ("x@globex.example", "globex"),
        ("someone@gmail.com", None),  # free mail never matches, even if an account lists it
        ("someone@notacme-logistics.com", None),
        ("someone@acme-logistics.com.evil.io", None),
        ("not an email", None),
        (None, None),
    ],
)
def test_by_email(directory: AccountDirectory, email: str | None, expected: str | None) -> None:
    account = directory.by_email(email)
    assert (account["id"] if account else None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We at Acme Logistics cannot ship", "acme"),
        ("our endpoint https://hooks.umbrella-health.com/relay", "umbrella"),
        ("account: hooli", "hooli"),
        ("INITECH users cannot log in", "initech"),
        ("acme-logistics-tools is our repo name", None),  # not word-bounded
        ("Acme Logistics and Globex Retail both", None),  # ambiguous
        ("a stark contrast to last week", "stark"),  # ids are weaker than names but still count alone
        ("Acme Logistics; also stark differences", "acme"),  # a full name beats a bare id
        ("nothing here", None),
    ],
)
def test_by_name_mention(directory: AccountDirectory, text: str, expected: str | None) -> None:
    account = directory.by_name_mention(text)
    assert (account["id"] if account else None) == expected


def test_directory_lookups(directory: AccountDirectory) -> None:
    acme = directory.get("acme")
    assert acme is not None and acme["stripe_customer"] == "cus_Acme0001"
    assert directory.get("nope") is None
    assert set(directory.as_mapping()) == {
        "acme",
        "globex",
        "initech",
        "umbrella",
        "hooli",
        "stark",
        "freemail",
    }
    assert "acme" in directory and len(directory) == 7


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "invalid JSON at line 1, column 2"),
        ("[]", 'expected an object {"accounts": [...]}, got a list'),
        ('{"accounts": {}}', '"accounts" must be a list of accounts'),
        ('{"accounts": [{"name": "x", "domains": []}]}', 'accounts[0] has no "id"'),
        ('{"accounts": [{"id": "a", "domains": []}]}', "account 'a' has no \"name\""),
        ('{"accounts": [{"id": "a", "name": "A", "domains": "a.com"}]}', "\"domains\" must be a list of strings"),
        ('{"accounts": [{"id": "a", "name": "A", "domains": ["not a domain"]}]}', "'not a domain' is not a domain"),
        ('{"accounts": [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]}', "account id 'a' appears twice"),
        ('{"accounts": [{"id": "a", "name": "A", "domains": ["x.com"]}, {"id": "b", "name": "B", "domains": ["X.com"]}]}',
         "domain 'x.com' belongs to both 'a' and 'b'"),
    ],
)  # fmt: skip
def test_bad_accounts_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        AccountDirectory.from_file(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_accounts_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^accounts file not found: "):
        AccountDirectory.from_file(tmp_path / "accounts.json")


# --- end to end ---------------------------------------------------------------------------


def ticket_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "T-1",
        "subject": "API calls failing with 429 since this morning",
        "body": CURL_429,
        "requester": {"name": "Dana", "email": "dana@acme-logistics.com"},
        "created_at": "2026-11-20T11:40:00Z",
    }
    data.update(overrides)
    return data


def test_extract_signals_acme_scenario(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(ACCOUNTS))
    signals = extract_signals(parse_ticket(ticket_data()), AccountDirectory.from_file(path))
    assert signals.statuses == [429]
    assert signals.error_codes == ["rate_limit_exceeded"]
    assert signals.endpoints == ["/v2/shipments"]
    assert signals.hosts == ["api.relayhq.dev"]
    assert signals.areas == ["api"]
    assert signals.time_hint == "since this morning"
    assert signals.window_start == utc("2026-11-20T00:00:00Z")
    assert signals.window_end == utc("2026-11-20T11:40:00Z")
    assert (signals.account_id, signals.account_name, signals.account_source) == (
        "acme",
        "Acme Logistics",
        "email_domain",
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"account_id": "globex"}, ("globex", "Globex Retail", "ticket")),
        ({"account_id": "unknown"}, ("unknown", None, "ticket")),
        ({"requester": {"email": "it@gmail.com"}, "body": "We are Hooli, exports fail"}, ("hooli", "Hooli", "name_mention")),
        ({"requester": {"email": "it@gmail.com"}}, (None, None, "unresolved")),
    ],
)  # fmt: skip
def test_account_resolution(
    directory: AccountDirectory, overrides: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    signals = extract_signals(parse_ticket(ticket_data(**overrides)), directory)
    assert (signals.account_id, signals.account_name, signals.account_source) == expected


def test_no_directory_leaves_account_unresolved() -> None:
    signals = extract_signals(parse_ticket(ticket_data()), None)
    assert signals.account_source == "unresolved"


def test_redaction_placeholders_are_not_signals() -> None:
    key = "sk_" + "live_51H8xYzAbCdEfGhIjKlMnOpQr"
    signals = extract_signals(
        parse_ticket(ticket_data(subject="401", body=f"our key {key} gets HTTP 401")), None
    )
    assert signals.statuses == [401]
    assert signals.error_codes == []
