"""Ticket files and Zendesk exports become one redacted Ticket; bad input is one clear line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from llm_fixtures import own_ticket

from casefile.agent.errors import UsageError
from casefile.agent.intake import TicketError, load_ticket, parse_ticket

STRIPE_LIVE = "sk_" + "live_51H8xYzAbCdEfGhIjKlMnOpQr"


def write(tmp_path: Path, content: bytes | str, name: str = "ticket.json") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


# --- own format ---------------------------------------------------------------------


def test_own_format_file(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(own_ticket(account_id="acme", updated_at="2026-11-20T11:45:00Z")))
    ticket = load_ticket(path)
    assert ticket.id == "T-1001"
    assert ticket.subject == "API calls failing with 429 since this morning"
    assert ticket.requester.email == "dana@acme-logistics.com"
    assert ticket.account_id == "acme"
    assert ticket.created_at == datetime(2026, 11, 20, 11, 40, tzinfo=UTC)
    assert ticket.source == "file"
    assert ticket.tags == ["api", "urgent"]
    assert ticket.revision == "2026-11-20T11:45:00Z"
    assert ticket.redactions == 0


def test_id_defaults_to_the_file_stem(tmp_path: Path) -> None:
    data = own_ticket()
    del data["id"]
    assert load_ticket(write(tmp_path, json.dumps(data), "acme-429.json")).id == "acme-429"


def test_created_at_offset_is_normalised_to_utc() -> None:
    ticket = parse_ticket(own_ticket(created_at="2026-11-20T12:40:00+01:00"))
    assert ticket.created_at == datetime(2026, 11, 20, 11, 40, tzinfo=UTC)


def test_private_own_format_comments_are_dropped() -> None:
    ticket = parse_ticket(
        own_ticket(
            comments=[
                {"author": "Dana", "body": "Still failing.", "created_at": "2026-11-20T12:00:00Z"},
                {"author": "agent", "body": "internal: customer is on legacy plan", "public": False},
            ]
        )
    )
    assert [c.body for c in ticket.comments] == ["Still failing."]
    assert "legacy plan" not in ticket.full_text()


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf" + json.dumps(own_ticket()).encode())
    assert load_ticket(path).id == "T-1001"


def test_default_created_at_is_only_for_callers_that_ask() -> None:
    data = own_ticket()
    del data["created_at"]
    with pytest.raises(TicketError, match=r"^ticket has no created_at: add \"created_at\""):
        parse_ticket(data)
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert parse_ticket(data, default_created_at=now, source="api").created_at == now
    assert parse_ticket(data, default_created_at=now, source="api").source == "api"


# --- redaction comes first ----------------------------------------------------------


def test_secrets_are_redacted_in_subject_body_and_comments() -> None:
    ticket = parse_ticket(
        own_ticket(
            subject=f"key {STRIPE_LIVE} rejected",
            body="curl -H 'Authorization: Bearer abcdef1234567890' https://api.relayhq.dev/v2/orders",
            comments=[{"body": "my card is 4242 4242 4242 4242, password=hunter2"}],
        )
    )
    dumped = ticket.model_dump_json()
    for secret in (STRIPE_LIVE, "abcdef1234567890", "4242 4242 4242 4242", "hunter2"):
        assert secret not in dumped
    assert ticket.subject == "key [REDACTED:stripe_key] rejected"
    assert ticket.comments[0].body == "my card is [REDACTED:card_number], password=[REDACTED:password]"
    assert ticket.redactions == 4


# --- Zendesk --------------------------------------------------------------------------


def zendesk_export() -> dict[str, Any]:
    """Shaped like GET /api/v2/tickets/{id}.json?include=users plus /tickets/{id}/comments.json."""
    return {
        "ticket": {
            "url": "https://relayhq.zendesk.com/api/v2/tickets/48213.json",
            "id": 48213,
            "external_id": None,
            "via": {
                "channel": "email",
                "source": {"from": {"address": "ops@umbrella-health.com"}, "rel": None},
            },
            "created_at": "2026-11-20T14:30:00Z",
            "updated_at": "2026-11-20T14:52:10Z",
            "type": "incident",
            "subject": "your webhooks stopped, no order.updated events since last night",
            "raw_subject": "your webhooks stopped, no order.updated events since last night",
            "description": "We have not received a single order.updated webhook since last night.\n"
            f"Our endpoint is https://hooks.umbrella-health.com/relay (key {STRIPE_LIVE} if relevant).",
            "priority": "high",
            "status": "open",
            "requester_id": 9001,
            "submitter_id": 9001,
            "assignee_id": 7001,
            "organization_id": 360001,
            "group_id": 20001,
            "tags": ["webhooks", "enterprise"],
            "custom_fields": [],
        },
        "comments": [
            {
                "id": 1,
                "type": "Comment",
                "author_id": 9001,
                "body": "We have not received a single order.updated webhook since last night.\n"
                f"Our endpoint is https://hooks.umbrella-health.com/relay (key {STRIPE_LIVE} if relevant).",
                "html_body": "<p>We have not received…</p>",
                "plain_body": "We have not received…",
                "public": True,
                "attachments": [],
                "audit_id": 501,
                "created_at": "2026-11-20T14:30:00Z",
            },
            {
                "id": 2,
                "type": "Comment",
                "author_id": 7001,
                "body": "Internal: customer admin password is Pa55word, see vault",
                "public": False,
                "attachments": [],
                "audit_id": 502,
                "created_at": "2026-11-20T14:40:00Z",
            },
            {
                "id": 3,
                "type": "Comment",
                "author_id": 9001,
                "body": "Our logs show 503 from our load balancer. password=hunter2",
                "plain_body": "Our logs show 503 from our load balancer. password=hunter2",
                "public": True,
                "attachments": [],
                "audit_id": 503,
                "created_at": "2026-11-20T14:50:00Z",
            },
        ],
        "users": [
            {"id": 9001, "name": "Priya Shah", "email": "priya@umbrella-health.com", "role": "end-user"},
            {"id": 7001, "name": "Sam (Relay Support)", "email": "sam@relayhq.dev", "role": "agent"},
        ],
    }


def test_zendesk_export() -> None:
    ticket = parse_ticket(zendesk_export())
    assert ticket.source == "zendesk"
    assert ticket.id == "48213"
    assert ticket.revision == "2026-11-20T14:52:10Z"
    assert ticket.created_at == datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
    assert ticket.requester.name == "Priya Shah"
    assert ticket.requester.email == "priya@umbrella-health.com"
    assert ticket.tags == ["webhooks", "enterprise"]
    assert ticket.body.startswith("We have not received a single order.updated webhook")
    # The first comment is the description; the private one is an agent's note.
    assert [(c.author, c.body) for c in ticket.comments] == [
        ("Priya Shah", "Our logs show 503 from our load balancer. password=[REDACTED:password]")
    ]
    dumped = ticket.model_dump_json()
    assert "Pa55word" not in dumped and "Internal:" not in dumped
    assert STRIPE_LIVE not in dumped and "hunter2" not in dumped
    assert ticket.redactions == 2


def test_zendesk_without_description_uses_first_public_comment(tmp_path: Path) -> None:
    export = zendesk_export()
    export["ticket"]["description"] = ""
    export["comments"].insert(
        0, {"id": 0, "author_id": 7001, "body": "agent-only setup note", "public": False}
    )
    ticket = load_ticket(write(tmp_path, json.dumps(export)))
    assert ticket.body.startswith("We have not received")
    assert len(ticket.comments) == 1
    assert "setup note" not in ticket.full_text()


def test_bare_zendesk_ticket_object() -> None:
    ticket = parse_ticket(zendesk_export()["ticket"])
    assert ticket.source == "zendesk"
    assert ticket.id == "48213"
    assert ticket.comments == []
    assert ticket.requester.email is None  # no sideloaded users to resolve requester_id


# --- bad input: one line naming the problem -------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe{\x00", "ticket is not UTF-8 text (byte 0xff at offset 0)"),
        (b'{"id": "x\x00"}', "ticket is binary data, not JSON text"),
        (b'{\n  "id": "T-1",\n  "body": "x"\n  "created_at": "2026-11-20T11:40:00Z"\n}',
         "ticket is not valid JSON: Expecting ',' delimiter at line 4:3"),
        (b"[1, 2]", "ticket must be a JSON object, got a list"),
        (b'"just a string"', "ticket must be a JSON object, got a string"),
        (b"   \n", "ticket is empty"),
        (json.dumps(own_ticket(body="")).encode(), "ticket has no body"),
        (json.dumps(own_ticket(body="  \n ")).encode(), "ticket has no body"),
        (json.dumps({k: v for k, v in own_ticket().items() if k != "body"}).encode(), "ticket has no body"),
        (json.dumps(own_ticket(body=42)).encode(), "ticket body must be a string, got a number"),
        (json.dumps(own_ticket(created_at="yesterday")).encode(),
         "ticket created_at is not an ISO 8601 time: 'yesterday'"),
        (json.dumps(own_ticket(created_at="2026-11-20T11:40:00")).encode(),
         "ticket created_at has no timezone: '2026-11-20T11:40:00' (add Z for UTC)"),
        (json.dumps(own_ticket(created_at=1763638800)).encode(),
         "ticket created_at must be an ISO 8601 string, got a number"),
        (json.dumps({k: v for k, v in own_ticket().items() if k != "created_at"}).encode(),
         'ticket has no created_at: add "created_at": "2026-11-20T11:40:00Z" '
         "(when the customer wrote, ISO 8601 with a timezone; relative times count from it)"),
        (json.dumps(own_ticket(requester="dana")).encode(),
         "ticket requester must be an object with name and email"),
        (json.dumps(own_ticket(tags="api")).encode(), "ticket tags must be a list of strings"),
        (json.dumps(own_ticket(id="x" * 300)).encode(), "ticket id: String should have at most 200 characters"),
        (json.dumps({"ticket": {"id": 1, "description": "", "created_at": "2026-11-20T11:40:00Z"},
                     "comments": [{"id": 1, "body": "note", "public": False}]}).encode(),
         "ticket has no body"),
    ],
)  # fmt: skip
def test_bad_ticket_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(TicketError) as info:
        load_ticket(path)
    assert str(info.value) == message
    assert "\n" not in str(info.value)
    assert isinstance(info.value, UsageError)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TicketError, match=r"^ticket file not found: .*x\.json$"):
        load_ticket(tmp_path / "x.json")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(TicketError, match=r"^ticket file is a directory: "):
        load_ticket(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(TicketError, match=r"^ticket file is empty: .*ticket\.json$"):
        load_ticket(write(tmp_path, b""))


def test_too_large_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.json"
    with path.open("wb") as fh:  # a sparse 5 MB file: cheap to create
        fh.truncate(5 * 1024 * 1024)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(Path, "open", refuse)
    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(TicketError) as info:
        load_ticket(path)
    assert str(info.value) == "ticket is 5.0 MB; the limit is 1 MB"


def test_too_large_raw_bytes() -> None:
    with pytest.raises(TicketError, match=r"^ticket is 1\.5 MB; the limit is 1 MB$"):
        parse_ticket(b" " * (1024 * 1024 * 3 // 2))
