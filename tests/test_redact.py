"""Secrets and card numbers never survive intake; ordinary identifiers do."""

from __future__ import annotations

import time

import pytest
from test_redact_families import SAMPLES

from casefile.agent.redact import luhn_valid, redact

# One real-format sample of each credential family (assembled at run time so secret scanners
# do not flag them).
SECRET = {family: secret for family, _, secret in SAMPLES}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"our key is {SECRET['stripe live']}, please check",
            "our key is [REDACTED:stripe_key], please check",
        ),
        (
            f"curl -u {SECRET['stripe test']}: https://api.stripe.com/v1/charges",
            "curl -u [REDACTED:stripe_key]: https://api.stripe.com/v1/charges",
        ),
        (f"restricted {SECRET['stripe restricted']}", "restricted [REDACTED:stripe_key]"),
        (
            f"signing secret {SECRET['stripe webhook secret']}",
            "signing secret [REDACTED:stripe_webhook_secret]",
        ),
        (f"AWS_ACCESS_KEY_ID {SECRET['aws access key']}", "AWS_ACCESS_KEY_ID [REDACTED:aws_access_key]"),
        (
            f"token {SECRET['github classic pat']} and {SECRET['github fine-grained']}",
            "token [REDACTED:github_token] and [REDACTED:github_token]",
        ),
        (f"slack bot {SECRET['slack bot']}", "slack bot [REDACTED:slack_token]"),
        (f"linear {SECRET['linear']}", "linear [REDACTED:linear_api_key]"),
        (
            f"openai {SECRET['openai']} / {SECRET['openai legacy']}",
            "openai [REDACTED:openai_key] / [REDACTED:openai_key]",
        ),
        (f"anthropic {SECRET['anthropic']}", "anthropic [REDACTED:anthropic_key]"),
        (f"cookie session={SECRET['jwt']}", "cookie session=[REDACTED:jwt]"),
        (
            f"curl -H 'Authorization: Bearer {SECRET['jwt']}' https://api.relayhq.dev/v2/orders",
            "curl -H 'Authorization: Bearer [REDACTED:authorization]' https://api.relayhq.dev/v2/orders",
        ),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [REDACTED:authorization]"),
        ('{"authorization": "Token abcd1234efgh"}', '{"authorization": "Token [REDACTED:authorization]"}'),
        ("sent with Bearer a1b2c3d4e5f6g7h8", "sent with Bearer [REDACTED:authorization]"),
        (
            "DATABASE_URL=postgres://app:s3cr3t!@db.internal:5432/orders",
            "DATABASE_URL=postgres://app:[REDACTED:password]@db.internal:5432/orders",
        ),
        (
            "https://admin:hunter2@hooks.example.com/relay",
            "https://admin:[REDACTED:password]@hooks.example.com/relay",
        ),
        ("login with password=hunter2&user=bob", "login with password=[REDACTED:password]&user=bob"),
        (
            '{"user": "bob", "password": "c0rrect horse"}',
            '{"user": "bob", "password": "[REDACTED:password]"}',
        ),
        ("db:\n  pwd: 'tr0ub4dor'\n  host: db1", "db:\n  pwd: '[REDACTED:password]'\n  host: db1"),
        ("POSTGRES_PASSWORD=abc123 ./run.sh", "POSTGRES_PASSWORD=[REDACTED:password] ./run.sh"),
        ("-H 'X-Api-Key: 7f3c9e2a1b'", "-H 'X-Api-Key: [REDACTED:api_key]'"),
        ("client_secret=Zx9yW8vU7t", "client_secret=[REDACTED:secret]"),
        (
            "https://x.io/cb?access_token=abc.def.ghi&state=1",
            "https://x.io/cb?access_token=[REDACTED:token]&state=1",
        ),
        ("card 4242 4242 4242 4242 exp 12/27", "card [REDACTED:card_number] exp 12/27"),
        ("card 4242-4242-4242-4242.", "card [REDACTED:card_number]."),
        ("card 4111111111111111", "card [REDACTED:card_number]"),
        ("amex 3782 822463 10005 ok", "amex [REDACTED:card_number] ok"),
        ("my card 4242 4242 4242 4242 12/27 123", "my card [REDACTED:card_number] 12/27 123"),
    ],
)
def test_secrets_are_replaced_by_typed_placeholders(text: str, expected: str) -> None:
    redacted, count = redact(text)
    assert redacted == expected
    assert count == expected.count("[REDACTED:")


def test_pem_private_key_block_is_removed_whole() -> None:
    text = (
        "here is our config:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq\nZm9vYmFy+/==\n"
        "-----END RSA PRIVATE KEY-----\nthanks"
    )
    assert redact(text) == ("here is our config:\n[REDACTED:private_key]\nthanks", 1)


def test_truncated_pem_key_is_removed_up_to_the_prose() -> None:
    text = (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nabcDEF==\nand then it stopped working"
    )
    assert redact(text) == ("[REDACTED:private_key]\nand then it stopped working", 1)


@pytest.mark.parametrize(
    "text",
    [
        "order 4242424242424241 was not shipped",  # fails Luhn: an order number
        "order ORD-4242424242424242 is stuck",  # part of an identifier
        "request_id 3f2a9c1e-8b7d-4c6e-a5f4-0e1d2c3b4a59",  # UUID
        "uuid 12345678-1234-1234-1234-123456789012",  # an all-digit UUID
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",  # SHA-1
        "at 2026-11-20T08:12:03.123Z we got HTTP 429 rate_limit_exceeded",
        "ECONNREFUSED 10.0.45.2:5432 from 192.168.1.20",
        "req_8f3kd92hf trace 4bf92f3577b34da6a3ce929d0e0e4736",
        "epoch ms 1763640000000",  # 13 digits, but no card starts with 1
        "Idempotency-Key: 6f1c2d3e-aaaa-4bbb-8ccc-123456789abc",
        "basic authentication is failing since this morning",
        "the Bearer token expired",
        "password: ********",
        "password=${DB_PASSWORD}",
        "Token: [REDACTED:stripe_key]",
        "tracking 0000000000000000",
        "Chrome/131.0.6778.86 Safari/537.36",
    ],
)
def test_non_secrets_are_kept(text: str) -> None:
    assert redact(text) == (text, 0)


def test_redaction_is_idempotent() -> None:
    text = (
        f"Authorization: Bearer {SECRET['jwt']}\npassword={SECRET['stripe live']}\ncard 4242 4242 4242 4242"
    )
    once, n = redact(text)
    assert n == 3
    assert redact(once) == (once, 0)


def test_specific_type_wins_over_key_name() -> None:
    assert redact(f"api_key={SECRET['stripe live']}") == ("api_key=[REDACTED:stripe_key]", 1)


def test_luhn() -> None:
    assert luhn_valid("4242424242424242")
    assert luhn_valid("378282246310005")
    assert not luhn_valid("4242424242424241")


# A fifth of a megabyte: a linear pass takes a fraction of a second of CPU, while a
# pattern that backtracks quadratically would take minutes on it.
ADVERSARIAL_BYTES = 200_000


def _adversarial(unit: str, tail: str = "") -> str:
    return unit * (ADVERSARIAL_BYTES // len(unit)) + tail


ADVERSARIAL = {
    "digits": _adversarial("4"),
    "grouped digits": _adversarial("4242 "),
    "jwt prefixes": _adversarial("eyJ"),
    "jwt without signature": _adversarial("eyJaaaaaaaaa."),
    "pem begins": _adversarial("-----BEGIN PRIVATE KEY-----\n"),
    "letters": _adversarial("a"),
    "snake": _adversarial("a_"),
    "password keys": _adversarial("password="),
    "schemes": _adversarial("https://"),
    "url users": _adversarial("https://u:"),
    "authorization": _adversarial("Authorization: "),
    "bearer long": "Bearer " + _adversarial("a"),
    "openai prefixes": _adversarial("sk-"),
    "key prefixes": _adversarial("x-", tail="password"),
    "dashes": _adversarial("4-"),
    "aws context": _adversarial("aws "),
    "aws near-secrets": _adversarial("aws " + "A" * 39 + " "),
    "twilio context": _adversarial("twilio "),
    "sendgrid prefixes": _adversarial("SG."),
    "sas signatures": _adversarial("sig="),
    "glued keys": _adversarial("xpassword:"),
    "escaped pem begins": _adversarial("-----BEGIN PRIVATE KEY-----\\n"),
}


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_linear_time_on_adversarial_input(name: str) -> None:
    text = ADVERSARIAL[name]
    # CPU time, not wall time: other processes on a loaded machine don't count against it.
    started = time.process_time()
    redact(text)
    elapsed = time.process_time() - started
    print(f"redact({name}, {len(text) / 1e3:.0f} kB): {elapsed * 1000:.0f} ms CPU")
    assert elapsed < 5.0
