"""Credential families, one real-format sample each, and the identifiers evidence relies on.

Samples are assembled at run time (prefix + body) so secret scanners do not flag this file.
Each must be gone after :func:`redact`, in ticket text, tool errors, stored events and the
diagnosis; each near-miss must come through untouched.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from outcomes import tool_outcome

from casefile.agent.events import Event
from casefile.agent.redact import redact, redact_strings
from casefile.agent.store import Store
from casefile.agent.ticket import Ticket

B62 = "a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ012345"
HEX32 = "9f86d081884c7d659a2feaa0c55ad015"
B64_40 = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
JWT = "eyJ" + "hbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAtMTIzIiwiaWF0IjoxNzAwMDAwMDAwfQ.c2lnbmF0dXJlLWJ5dGVzLWhlcmU"

# (family, text containing the secret, the secret itself)
SAMPLES: list[tuple[str, str, str]] = [
    ("github classic pat", "token {s}", "ghp_" + B62[:36]),
    ("github oauth", "GITHUB_TOKEN={s}", "gho_" + B62[:36]),
    ("github user-to-server", "using {s} for the app", "ghu_" + B62[:36]),
    ("github server-to-server", "x-access-token:{s}@github.com", "ghs_" + B62[:36]),
    ("github refresh", "refresh {s}", "ghr_" + B62[:36]),
    ("github fine-grained", "pat {s}", "github_pat_11ABCDEFG0" + B62[:12] + "_" + B62 + B62[:17]),
    ("gitlab pat", "PRIVATE-TOKEN: {s}", "glpat-" + B62[:20]),
    ("gitlab deploy token", "deploy with {s}", "gldt-" + B62[:20]),
    ("gitlab runner token", "runner {s}", "glrt-" + B62[:20]),
    ("gitlab trigger token", "trigger {s}", "glptt-" + B62[:20]),
    ("slack bot", "SLACK_BOT_TOKEN {s}", "xoxb-" + "123456789012-1234567890123-" + B62[:24]),
    ("slack user", "user token {s}", "xoxp-" + "123456789012-1234567890123-1234567890123-" + HEX32),
    ("slack app-level", "app token {s}", "xapp-" + "1-A0123456789-1234567890123-" + HEX32 + HEX32),
    ("slack webhook", "post to {s}", "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/" + B62[:24]),
    ("stripe live", "key {s}", "sk_" + "live_51H8" + B62[:40]),
    ("stripe test", "curl -u {s}:", "sk_" + "test_4eC3" + B62[:20]),
    ("stripe restricted", "rk {s}", "rk_" + "live_51H8" + B62[:30]),
    ("stripe webhook secret", "whsec {s}", "whsec_" + B62[:32]),
    ("aws access key", "AWS_ACCESS_KEY_ID={s}", "AKIA" + "IOSFODNN7EXAMPLE"),
    ("aws session key", "key id {s}", "ASIA" + "Y34FZKBOKMUTVV7A"),
    ("aws secret in env", "AWS_SECRET_ACCESS_KEY={s}", B64_40),
    ("aws secret in prose", "our aws secret is {s} fyi", B64_40),
    ("aws credentials file", "[default]\naws_secret_access_key = {s}\n", B64_40),
    ("gcp api key", "maps key {s}", "AIza" + "SyA" + B62[:32]),
    ("gcp oauth token", "Authorization header was ya29.{s}", B62[:30]),
    ("gcp oauth client secret", "client {s}", "GOCSPX-" + B62[:28]),
    (
        "gcp service account private_key",
        '{{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\n{s}\\n-----END PRIVATE KEY-----\\n"}}',
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" + B62,
    ),
    (
        "gcp truncated private_key",
        '"private_key": "-----BEGIN PRIVATE KEY-----\\n{s}\\nMIIEpAIBAAKCAQEA',
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" + B62,
    ),
    ("gcp private_key_id", '"private_key_id": "{s}",', HEX32 + "abcd1234"),
    (
        "azure storage connection string",
        "DefaultEndpointsProtocol=https;AccountName=relaydata;AccountKey={s};EndpointSuffix=core.windows.net",
        B62 + "AbCd+/ef==",
    ),
    (
        "azure service bus",
        "Endpoint=sb://relay.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={s}",
        B62[:43] + "=",
    ),
    (
        "azure sas url",
        "https://relay.blob.core.windows.net/x?sv=2022-11-02&sr=b&sig={s}&se=2026",
        "aBc%2BdEf" + B62[:30],
    ),
    ("azure sas header", "SharedAccessSignature={s}", "sr=x&sig=" + B62[:20]),
    ("sendgrid", "SENDGRID_API_KEY={s}", "SG." + B62[:22] + "." + B62 + "x"),
    ("sendgrid bare", "sg key {s} in curl", "SG." + B62[:22] + "." + B62 + "x"),
    ("twilio api key sid", "key {s}", "SK" + HEX32),
    ("twilio account sid", "account {s}", "AC" + HEX32),
    ("twilio auth token", "TWILIO_AUTH_TOKEN={s}", HEX32),
    ("twilio auth token in prose", "twilio token is {s}", HEX32),
    ("npm token", "npm token {s}", "npm_" + B62[:36]),
    ("npmrc authToken", "//registry.npmjs.org/:_authToken={s}", "abc-" + HEX32),
    ("pypi token", "twine upload -p {s}", "pypi-AgEIcHlwaS5vcmc" + B62 + B62[:20]),
    ("jwt", "cookie session={s}", JWT),
    (
        "pem rsa",
        "-----BEGIN RSA PRIVATE KEY-----\n{s}\n-----END RSA PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEA7bq" + B62,
    ),
    (
        "pem openssh",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{s}\n-----END OPENSSH PRIVATE KEY-----",
        "b3BlbnNzaC1rZXkt" + B62,
    ),
    (
        "pem pgp",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{s}\n-----END PGP PRIVATE KEY BLOCK-----",
        "lQOYBF" + B62,
    ),
    (
        "pem encrypted",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{s}\n-----END ENCRYPTED PRIVATE KEY-----",
        "MIIFHDBO" + B62,
    ),
    ("password in url", "DATABASE_URL=postgres://app:{s}@db.internal:5432/orders", "s3cr3t!pw"),
    ("password in redis url", "redis://:{s}@cache:6379/0", "Zq8v2wR4"),
    ("password key", "password={s}&user=bob", "hunter2xyz"),
    ("password glued", "dbpassword={s}", "hunter2xyz"),
    ("password glued to a word", "SMTPpassword: {s}", "hunter2xyz"),
    ("secret glued", "appsecret={s}", "Zx9yW8vU7t"),
    ("token glued", "mytoken:{s}", "tok_9f8e7d6c5b"),
    ("api key glued", "stagingapi_key={s}", "7f3c9e2a1b"),
    ("yaml secret", "client_secret: '{s}'", "Zx9yW8vU7tQ"),
    ("json token", '{{"access_token": "{s}"}}', "at-" + B62[:20]),
    ("header api key", "-H 'X-Api-Key: {s}'", "7f3c9e2a1b"),
    ("authorization bearer", "Authorization: Bearer {s}", "opaque-" + B62[:20]),
    ("authorization basic", "Authorization: Basic {s}", "dXNlcjpwYXNzd29yZA=="),
    ("openai", "OPENAI_API_KEY={s}", "sk-" + "proj-" + B62[:30]),
    ("openai legacy", "openai {s}", "sk-" + B62[:40]),
    ("anthropic", "key {s}", "sk-" + "ant-api03-" + B62[:30]),
    ("linear", "linear {s}", "lin_api_" + B62[:32]),
]


@pytest.mark.parametrize(("text", "secret"), [s[1:] for s in SAMPLES], ids=[s[0] for s in SAMPLES])
def test_every_family_is_redacted(text: str, secret: str) -> None:
    sample = text.replace("{s}", secret).replace("{{", "{").replace("}}", "}")
    redacted, count = redact(sample)
    assert secret not in redacted, redacted
    assert count >= 1 and "[REDACTED:" in redacted
    assert redact(redacted) == (redacted, 0)  # idempotent


# Identifiers the evidence relies on: none of these may be touched.
NEAR_MISSES = [
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 deployed",
    "deploy c72d4320384f7a5320d7415ef5f0ae61bc5b15e2 by aws-codedeploy",
    "aws region eu-west-1 commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "request_id 3f2a9c1e-8b7d-4c6e-a5f4-0e1d2c3b4a59",
    "req_55b5e16933857852f6f8d268 and trace 8cfb33b1cca45256cad3c473a9e9fc04",
    "twilio delivery trace 8cfb33b1cca45256cad3c473a9e9fc0",
    "api_key_hash kh_e97dd33181a9145a",
    '{"api_key_hash": "kh_e97dd33181a9145a", "status": 429}',
    "invoice in_1QbgbcshE1Y9xeiB0xgJmLwo for cus_9fQ2xYz, subscription sub_1QxAbC",
    "charge ch_3PqRsTuVwXyZ declined: card_declined",
    "fingerprint 57:5D:A4:4D:83:F5:C9:C3:BD:90:9B:CB:B7:DB:46:DC:DC:A1:30:D4",
    "bug REL-482 and ENG-1234",
    "idempotency-key 438ab2ac-db4b-4aa4-92a8-4c2000c154e3",
    "-----BEGIN CERTIFICATE-----\nMIIC8DCCAdigAwIBAgIQ\n-----END CERTIFICATE-----",
    "max_tokens: 2000, input_tokens: 1200",
    "token_type: bearer, tokens: 48",
    "Passwords must be 12 characters",
    "signature valid; sig_alg RS256",
    "the webhook endpoint https://hooks.umbrella-health.com/relay answered 503",
    "AccountName=relaydata;EndpointSuffix=core.windows.net",
    "SG-1 ticket group, ACME-42 account",
    "the SK team and AC units",
    "npm install casefile@1.2.3 --registry https://registry.npmjs.org/",
    "pypi-simple index at https://pypi.org/simple/",
    "glpat is what GitLab calls a personal access token",
    "version v1.19.1 (2026-11-19T22:00:25.420Z)",
]


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_identifiers_survive(text: str) -> None:
    assert redact(text) == (text, 0)


def test_a_credential_echoed_in_an_error_never_survives() -> None:
    secret = "sk_" + "live_51H8" + B62[:30]
    error = f"GET /v1/customers returned HTTP 401: Invalid API Key provided: {secret}"
    outcome = tool_outcome("c1", "billing_account", ok=False, error=error)
    assert (
        outcome.error is not None and secret not in outcome.error and "[REDACTED:stripe_key]" in outcome.error
    )
    assert secret not in outcome.text_for_model()


def test_stored_events_are_redacted(tmp_path: Path) -> None:
    secret = "glpat-" + B62[:20]
    store = Store(f"sqlite:///{tmp_path}/s.sqlite3")
    ticket = Ticket(id="T-1", subject="s", body="b", created_at=datetime(2026, 11, 20, tzinfo=UTC))
    inv = store.create_investigation(ticket, source="api", requested_by="t")
    event = Event(
        kind="tool_started", data={"call_id": "c1", "tool": "bugs_search", "arguments": {"query": secret}}
    )
    store.add_event(inv, event)
    [(_, stored)] = store.events(inv)
    assert secret not in stored.model_dump_json() and "[REDACTED:gitlab_token]" in stored.model_dump_json()


def test_redact_strings_walks_json() -> None:
    secret = "npm_" + B62[:36]
    value = {"a": [secret, 3, None, {"npmrc": f"_authToken={secret}"}], secret: True}
    assert secret not in json.dumps(redact_strings(value))
