"""The delivery ledger: each hand-off write once, across an interrupted attempt, a refusal, a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from llm_fixtures import diagnosis_body
from pydantic import SecretStr
from service_helpers import zendesk_desk

from casefile.agent.config import Settings
from casefile.agent.handoff.deliver import Handoff
from casefile.agent.handoff.ledger import Delivery
from casefile.agent.handoff.slack import SlackMessage, SlackSettings, post_to_slack
from casefile.agent.helpdesk import TicketUpdate
from casefile.agent.helpdesk.zendesk import ZendeskHelpdesk, ZendeskSettings
from casefile.agent.store import Store
from casefile.agent.ticket import Ticket
from casefile.tools import retry as tools_retry
from casefile.tools.world.emulate_slack import WORLD_TOKEN, SlackWorkspace
from casefile.tools.world.loopback import LoopbackServer
from casefile.tools.world.zendesk_desk import ZendeskDesk

TICKET_ID = 48400


@pytest.fixture(autouse=True)
def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instant(seconds: float) -> None:
        return None

    monkeypatch.setattr(tools_retry, "sleep", instant)


@pytest.fixture
def world() -> Iterator[tuple[ZendeskDesk, SlackWorkspace, str, str]]:
    workspace = SlackWorkspace(["#eng-backend"])
    with zendesk_desk(TICKET_ID) as (desk, zd), LoopbackServer(workspace.handle) as sl:
        yield desk, workspace, zd.url, sl.url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'casefile.sqlite3'}"


def _setup(
    tmp_path: Path, zendesk_url: str, slack: SlackSettings, url: str | None = None
) -> tuple[Store, Handoff, ZendeskHelpdesk, str]:
    store = Store(url or f"sqlite:///{tmp_path / 'casefile.sqlite3'}")
    inv = store.create_investigation(
        Ticket(id=str(TICKET_ID), body="b", created_at="2026-11-20T10:00:00Z"),  # type: ignore[arg-type]
        source="webhook",
        requested_by="zendesk:webhook",
        deliver_to=str(TICKET_ID),
    )
    zendesk = ZendeskSettings(base_url=zendesk_url, email="casefile@example.test", api_token=SecretStr("t"))
    client = ZendeskHelpdesk(zendesk)
    handoff = Handoff(store, Settings(slack=slack), client)
    return store, handoff, client, inv


def _note_row(inv: str, note: TicketUpdate) -> Delivery:
    return Delivery(
        investigation_id=inv,
        key="note",
        kind="ticket_update",
        target=str(TICKET_ID),
        payload=note.model_dump(),
    )


def _slack_row(inv: str, channel: str = "#eng-backend") -> Delivery:
    message = SlackMessage(channel=channel, text="Escalation → Backend", key=f"{inv}/slack")
    return Delivery(
        investigation_id=inv, key="slack", kind="slack_message", target=channel, payload=message.model_dump()
    )


async def test_a_message_posted_before_a_crash_is_found_not_posted_again(
    tmp_path: Path, world: tuple[ZendeskDesk, SlackWorkspace, str, str], store_url: str
) -> None:
    _desk, workspace, zd_url, sl_url = world
    slack = SlackSettings(bot_token=SecretStr(WORLD_TOKEN), api_url=sl_url + "/api/")
    store, handoff, client, inv = _setup(tmp_path, zd_url, slack, store_url)
    row = _slack_row(inv)
    handoff.ledger.plan([row])
    # The first attempt got the message out, then the process died before recording it.
    handoff.ledger.start(handoff.ledger.of(inv)[0])
    await post_to_slack(slack, SlackMessage.model_validate(row.payload))
    result = await handoff.deliver(inv, requested_by="w", timeout_s=10, attempt=2)
    assert result.settled and len(workspace.messages) == 1
    [done] = handoff.ledger.of(inv)
    assert done.status == "done" and done.detail["confirmed"] == "already in the channel"
    # Planning again (a re-run of the job) adds nothing; delivering again writes nothing.
    handoff.ledger.plan([_slack_row(inv)])
    assert (await handoff.deliver(inv, requested_by="w", timeout_s=10, attempt=3)).settled
    assert len(workspace.messages) == 1 and len(handoff.ledger.of(inv)) == 1
    await client.aclose()
    store.close()


async def test_an_interrupted_webhook_post_is_failed_as_unconfirmed_never_doubled(
    tmp_path: Path, world: tuple[ZendeskDesk, SlackWorkspace, str, str]
) -> None:
    _desk, workspace, zd_url, sl_url = world
    url = sl_url + workspace.webhook_path("#eng-backend")
    store, handoff, client, inv = _setup(
        tmp_path, zd_url, SlackSettings(webhooks={"#eng-backend": SecretStr(url)})
    )
    handoff.ledger.plan([_slack_row(inv)])
    handoff.ledger.start(handoff.ledger.of(inv)[0])  # stopped mid-post: did Slack get it? unknown
    assert (await handoff.deliver(inv, requested_by="w", timeout_s=10, attempt=2)).settled
    [row] = handoff.ledger.of(inv)
    assert row.status == "failed" and row.error is not None and "unconfirmed" in row.error
    assert workspace.messages == [] and handoff.status(inv).state == "failed"
    await client.aclose()
    store.close()


async def test_a_refused_channel_settles_as_failed_and_a_note_already_there_is_kept(
    tmp_path: Path, world: tuple[ZendeskDesk, SlackWorkspace, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    desk, workspace, zd_url, sl_url = world
    slack = SlackSettings(bot_token=SecretStr(WORLD_TOKEN), api_url=sl_url + "/api/")
    store, handoff, client, inv = _setup(tmp_path, zd_url, slack)
    note = TicketUpdate(note=f"casefile diagnosis …\n\nInvestigation: {inv}", priority="high")
    handoff.ledger.plan(
        [
            _note_row(inv, note),
            _slack_row(inv, "#gone"),
        ]
    )
    # The note reached the ticket before a crash: the check on the ticket's comments finds it.
    await client.update_ticket(TICKET_ID, note)
    result = await handoff.deliver(inv, requested_by="w", timeout_s=10, attempt=2)
    assert result.settled
    by_key = {d.key: d for d in handoff.ledger.of(inv)}
    assert by_key["note"].status == "done" and by_key["note"].detail["confirmed"]
    assert by_key["slack"].status == "failed" and by_key["slack"].error == "channel_not_found"
    assert len(desk.writes) == 1 and workspace.messages == []
    audit = [(r.tool, r.ok, r.origin) for r in store.audit(inv)]
    assert audit == [("zendesk.update_ticket", True, "handoff"), ("slack.chat_postMessage", False, "handoff")]
    await client.aclose()
    store.close()
    # The CLI shows it: exit 1 while something failed or is pending.
    from casefile.agent.cli import main

    assert (
        main(["handoff", "status", inv, "--database-url", f"sqlite:///{tmp_path / 'casefile.sqlite3'}"]) == 1
    )
    out = capsys.readouterr().out
    assert f"{inv}: hand-off failed" in out
    assert "slack                    failed   slack_message → #gone (1 attempt(s)): channel_not_found" in out


def test_routing_check_names_a_slack_channel_with_no_way_to_post(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from casefile.agent.cli import main
    from casefile.agent.routing import ROUTING_FILE

    text = ROUTING_FILE.read_text(encoding="utf-8").replace(
        "    requires: [sso_metadata, sso_failures, similar_tickets]\n",
        "    requires: [sso_metadata, sso_failures, similar_tickets]\n"
        "    handoff:\n"
        "      zendesk: {priority: urgent, tags: [Escalated Identity]}\n"
        "      slack: {}\n",
    )
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("      slack: {}") + 1
    assert main(["routing", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:{line}: team identity: Slack channel #eng-identity has no incoming webhook" in out
    assert f"{path}:{line - 1}: tag 'Escalated Identity': Zendesk tags are lowercase" in out
    # With a webhook for the channel (or a bot token) and a valid tag, the file is fine.
    monkeypatch.setenv("CASEFILE_SLACK_WEBHOOKS", "#eng-identity=https://hooks.slack.com/services/T0/B0/x")
    path.write_text(text.replace("Escalated Identity", "escalated_identity"), encoding="utf-8")
    assert main(["routing", "check", str(path)]) == 0
    # An unknown key in the section is a typo with its line, like everywhere else in the file.
    path.write_text(text.replace("slack: {}", "slak: {}"), encoding="utf-8")
    assert main(["routing", "check", str(path)]) == 1
    assert f"{path}:{line}:" in capsys.readouterr().out


def test_a_bounce_from_the_cli_queues_its_note_for_the_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from casefile.agent.cli import main
    from casefile.agent.diagnosis import Diagnosis
    from casefile.agent.investigation import Investigation
    from casefile.agent.ticket import Signals

    url = f"sqlite:///{tmp_path / 'casefile.sqlite3'}"
    store = Store(url)
    when = datetime(2026, 11, 20, 10, tzinfo=UTC)
    inv = store.create_investigation(
        Ticket(id=str(TICKET_ID), body="b", created_at=when),
        source="webhook",
        requested_by="zendesk:webhook",
        deliver_to=str(TICKET_ID),
    )
    diagnosis = Diagnosis.model_validate(
        diagnosis_body("known_bug", "escalate", team="backend", ticket_id=str(TICKET_ID))
    )
    store.save_result(inv, Investigation(diagnosis, Signals(window_start=when, window_end=when), [], []), "w")
    store.mark_delivered(inv)
    store.close()
    monkeypatch.setenv("ZENDESK_SUBDOMAIN", "example-desk")
    args = ["feedback", inv, "--bounced", "--snippet", "Macro: async export.", "--note", "Documented."]
    assert main([*args, "--database-url", url]) == 0
    assert f"queued for the service (ticket {TICKET_ID})" in capsys.readouterr().out
    store = Store(url)
    try:
        [row] = Handoff(store, Settings()).ledger.of(inv)
        assert (row.kind, row.status, row.target) == ("bounce_note", "pending", str(TICKET_ID))
        assert "Solved by the snippet: Macro: async export." in row.payload["note"]
        assert store.delivery(inv) == (str(TICKET_ID), None)  # the job is claimable again
        claim = store.claim_next("worker-1", 30)
        assert claim is not None and claim.id == inv and claim.phase == "deliver"
    finally:
        store.close()


async def test_a_helpdesk_that_swallows_its_cancellation_does_not_hold_delivery(
    tmp_path: Path, world: tuple[ZendeskDesk, SlackWorkspace, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    desk, _workspace, zd_url, _sl_url = world
    store, handoff, client, inv = _setup(tmp_path, zd_url, SlackSettings())
    note = TicketUpdate(note=f"casefile diagnosis …\n\nInvestigation: {inv}")
    handoff.ledger.plan([_note_row(inv, note)])
    release = asyncio.Event()

    async def stuck(ticket_id: int, marker: str) -> bool:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # a badly written client: it ignores being cancelled
        return False

    monkeypatch.setattr(client, "has_note", stuck)
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await handoff.deliver(inv, requested_by="w", timeout_s=0.2, attempt=1)
    elapsed = loop.time() - started
    release.set()
    assert elapsed < 3, f"delivery returned after {elapsed:.1f} s"
    assert not result.settled and result.error is not None and "longer than" in result.error
    monkeypatch.undo()
    # The next attempt writes the note once, whatever the abandoned one did.
    assert (await handoff.deliver(inv, requested_by="w", timeout_s=10, attempt=2)).settled
    assert sum(inv in note for note in desk.notes(TICKET_ID)) == 1
    await client.aclose()
    store.close()
