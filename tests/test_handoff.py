"""The hand-off end to end: the demo world acting as live, Zendesk and Slack stand-ins on loopback.

A signed webhook creates an investigation; the offline investigator escalates the
export regression to Backend, whose ``handoff:`` (in a routing file beside the test)
sets the group, priority and tags, puts the packet in the note and posts to Slack.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import SecretStr
from service_helpers import AUTH, post_webhook, settings, wait_for, zendesk_desk

from casefile.agent import routing
from casefile.agent.handoff.slack import SlackSettings
from casefile.agent.service.app import create_app
from casefile.agent.store import Store
from casefile.tools import retry as tools_retry
from casefile.tools.world.emulate_slack import WORLD_TOKEN, SlackWorkspace
from casefile.tools.world.loopback import LoopbackServer
from casefile.tools.world.zendesk_desk import ZendeskDesk

TICKET_ID = 48300
GROUP = 360001234567
LINK_SECRET = "bounce-link-secret-for-tests-0123456789"


@pytest.fixture
def routing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = yaml.safe_load(routing.ROUTING_FILE.read_text(encoding="utf-8"))
    data["teams"]["backend"]["handoff"] = {
        "zendesk": {
            "group_id": GROUP,
            "priority": "high",
            "tags": ["escalated_backend"],
            "packet_note": True,
        },
        "slack": {},
    }
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    monkeypatch.setattr(routing, "ROUTING_FILE", path)
    return path


@pytest.fixture
def desk() -> Iterator[tuple[ZendeskDesk, LoopbackServer]]:
    with zendesk_desk(TICKET_ID) as desk:
        yield desk


@pytest.fixture
def slack() -> Iterator[tuple[SlackWorkspace, LoopbackServer]]:
    workspace = SlackWorkspace(["#eng-backend"])
    with LoopbackServer(workspace.handle) as server:
        yield workspace, server


@pytest.fixture
def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instant(seconds: float) -> None:
        return None

    monkeypatch.setattr(tools_retry, "sleep", instant)


def _client(store: Store, desk_url: str, slack_url: str) -> TestClient:
    s = settings(public_url="https://casefile.example.test", poll_s=0.05)
    zendesk = s.service.zendesk.model_copy(update={"base_url": desk_url, "subdomain": None, "timeout_s": 5.0})
    s = s.model_copy(
        update={
            "service": s.service.model_copy(update={"zendesk": zendesk}),
            "slack": SlackSettings(
                bot_token=SecretStr(WORLD_TOKEN),
                api_url=slack_url + "/api/",
                link_secret=SecretStr(LINK_SECRET),
            ),
        }
    )
    return TestClient(create_app(s, store=store))


def test_an_escalating_webhook_investigation_hands_off_once(
    tmp_path: Path,
    routing_file: Path,
    desk: tuple[ZendeskDesk, LoopbackServer],
    slack: tuple[SlackWorkspace, LoopbackServer],
    no_waits: None,
) -> None:
    zd, zd_server = desk
    workspace, slack_server = slack
    store = Store(f"sqlite:///{tmp_path / 'casefile.sqlite3'}")
    # Slack and Zendesk's ticket updates are down for the first delivery (3 tries each, in the call).
    workspace.fail_next(3, status=503)
    zd.fail_next(3, status=503, methods=("PUT",))
    try:
        with _client(store, zd_server.url, slack_server.url) as client:
            made = post_webhook(client, {"ticket_id": TICKET_ID})
            assert made.status_code == 202, made.text
            inv = made.json()["id"]
            wait_for(lambda: store.get(inv) is not None and store.get(inv).status == "done")  # type: ignore[union-attr]
            # Done, but the hand-off is pending, shown in the investigation, and retried later.
            wait_for(
                lambda: (
                    client.get(f"/v1/investigations/{inv}", headers=AUTH).json()["handoff"]["state"] != "none"
                )
            )
            view = client.get(f"/v1/investigations/{inv}", headers=AUTH).json()
            assert view["status"] == "done"
            assert view["diagnosis"]["escalation"]["team"] == "backend"
            wait_for(lambda: store.delivery(inv)[1] is not None)
            view = client.get(f"/v1/investigations/{inv}", headers=AUTH).json()
            handoff = view["handoff"]
            assert handoff["state"] == "done"
            assert {d["key"]: (d["status"], d["attempts"] > 1) for d in handoff["deliveries"]} == {
                "note": ("done", True),
                "slack": ("done", True),
            }

            # One ticket update: group, priority, tags and the packet in the internal note.
            [write] = zd.writes
            assert write.ticket["group_id"] == GROUP and write.ticket["priority"] == "high"
            assert write.ticket["additional_tags"] == ["casefile_investigated", "escalated_backend"]
            ticket = zd.ticket(TICKET_ID)
            assert ticket["group_id"] == GROUP and "escalated_backend" in ticket["tags"]
            [note] = zd.notes(TICKET_ID)
            packet = view["diagnosis"]["escalation"]["packet_markdown"]
            assert packet.rstrip() in note and inv in note and write.ticket["comment"]["public"] is False

            # Exactly one Slack message, linking back to the ticket, the investigation and a bounce.
            [message] = workspace.in_channel("#eng-backend")
            links = [e["url"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
            assert links[0] == f"{zd_server.url}/agent/tickets/{TICKET_ID}"
            assert links[1] == f"https://casefile.example.test/v1/investigations/{inv}"
            assert links[2].startswith(f"https://casefile.example.test/v1/bounce/{inv}?exp=")
            assert message.metadata == {
                "event_type": "casefile_delivery",
                "event_payload": {"key": f"{inv}/slack"},
            }

            # Each write is in the audit log, failed attempts too.
            writes = [
                r
                for r in client.get(f"/v1/investigations/{inv}/audit", headers=AUTH).json()
                if r["origin"] == "handoff"
            ]
            assert {(r["tool"], r["ok"]) for r in writes} == {
                ("zendesk.update_ticket", True),
                ("zendesk.update_ticket", False),
                ("slack.chat_postMessage", True),
                ("slack.chat_postMessage", False),
            }

            # Zendesk resends the webhook: the ticket is tagged, nothing new starts, nothing is posted.
            again = post_webhook(client, {"ticket_id": TICKET_ID})
            assert again.status_code == 200 and "already tagged" in again.json()["skipped"]

            # A bounce from the sidebar: recorded, and its note reaches the ticket.
            bounce = {
                "bounced": True,
                "article": "https://help.example.test/hc/articles/360-export-limits",
                "note": "Exports over 100k rows need the async export. The article explains it.",
                "via": "sidebar",
            }
            assert (
                client.post(f"/v1/investigations/{inv}/feedback", json=bounce, headers=AUTH).status_code
                == 201
            )
            wait_for(lambda: len(zd.notes(TICKET_ID)) == 2)
            bounce_note = zd.notes(TICKET_ID)[1]
            assert "bounced back by backend" in bounce_note and bounce["article"] in bounce_note
            wait_for(lambda: store.delivery(inv)[1] is not None)
            [entry] = store.feedback(investigation=inv)
            assert entry.via == "sidebar" and entry.team == "backend"

            # The Slack message's signed link: a page for the engineer, the same rule, its own note.
            link = links[2].removeprefix("https://casefile.example.test")
            page = client.get(link)
            assert page.status_code == 200 and f"Bounce back ticket {TICKET_ID}" in page.text
            forged = link[: -len("0" * 4)] + "0000"
            assert client.get(forged).status_code == 403
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            missing = client.post(link, content="article=&snippet=&reason=dup", headers=form)
            assert missing.status_code == 422 and "name the article or the snippet" in missing.text
            posted = client.post(
                link, content="snippet=Use+the+async+export+macro.&reason=Documented+limit.", headers=form
            )
            assert posted.status_code == 201
            wait_for(lambda: len(zd.notes(TICKET_ID)) == 3)
            assert "Solved by the snippet: Use the async export macro." in zd.notes(TICKET_ID)[2]
            assert [f.via for f in store.feedback(investigation=inv)] == ["sidebar", "slack"]
            wait_for(lambda: store.delivery(inv)[1] is not None)
    finally:
        store.close()
    assert len(workspace.messages) == 1 and len(zd.notes(TICKET_ID)) == 3
