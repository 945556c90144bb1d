"""Round-6 attacks on note durability: one unreadable row of the delivery ledger.

A ``deliveries`` row is the journal of one write the hand-off owes (the note, the Slack message, a
bounce note). A row cut short by a full disk, edited by hand or written by a version whose message
shape has since changed must cost that one write, said so, and nothing else: before this round it
made every read of the investigation's deliveries fail (``json.loads``), so its other writes were
never made, the job failed at every claim and the investigation's hand-off status could not be read;
a payload that parsed but no longer fit its message failed the whole attempt the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from test_handoff_delivery import TICKET_ID, _note_row, _setup, _slack_row, no_waits, world  # noqa: F401 - fixtures

from casefile.agent.handoff.deliver import Handoff
from casefile.agent.handoff.slack import SlackSettings
from casefile.agent.helpdesk import TicketUpdate
from casefile.agent.store import Store
from casefile.tools.world.emulate_slack import WORLD_TOKEN, SlackWorkspace
from casefile.tools.world.zendesk_desk import ZendeskDesk

World = tuple[ZendeskDesk, SlackWorkspace, str, str]
# (column, stored text) of the note's row.
CORRUPTIONS = [
    ("payload_json", '{"note": "Investigated: the gateway rate li'),  # cut short by a full disk
    ("payload_json", "not json at all"),
    ("payload_json", "[1, 2, 3]"),  # JSON, not an object
    ("payload_json", '{"nothing": "a message would need"}'),  # an object of another shape
    ("payload_json", '{"note": 42, "priority": "whenever"}'),
]
# What the helpdesk answered, cut short: the write itself is still owed and made.
DETAIL = '{"ticket_id": 4'


Scene = tuple[World, Store, Handoff, str]


@pytest.fixture
async def scene(tmp_path: Path, world: World) -> AsyncIterator[Scene]:  # noqa: F811
    _desk, _workspace, zd_url, sl_url = world
    slack = SlackSettings(bot_token=SecretStr(WORLD_TOKEN), api_url=sl_url + "/api/")
    store, handoff, client, inv = _setup(tmp_path, zd_url, slack)
    handoff.ledger.plan([_note_row(inv, TicketUpdate(note=f"Investigated ({inv})")), _slack_row(inv)])
    yield world, store, handoff, inv
    await client.aclose()
    store.close()


@pytest.mark.parametrize(("column", "text"), CORRUPTIONS, ids=[f"{c}:{t[:12]}" for c, t in CORRUPTIONS])
async def test_one_unreadable_row_costs_its_own_write_only(scene: Scene, column: str, text: str) -> None:
    (desk, workspace, _, _), store, handoff, inv = scene
    with store._tx() as cur:
        cur.execute(f"UPDATE deliveries SET {column} = ? WHERE key = 'note'", (text,))

    result = await handoff.deliver(inv, requested_by="w", timeout_s=10, attempt=1)

    assert result.settled, result
    assert len(workspace.messages) == 1, "the Slack message was not sent"
    rows = {d.key: d for d in handoff.ledger.of(inv)}
    assert rows["slack"].status == "done"
    assert rows["note"].status == "failed" and "cannot be read" in (rows["note"].error or "")
    status = handoff.status(inv)
    assert status.state == "failed" and len(status.deliveries) == 2
    # Another attempt (a re-claim) changes nothing and writes nothing.
    assert (await handoff.deliver(inv, requested_by="w", timeout_s=10, attempt=2)).settled
    assert len(workspace.messages) == 1
    assert TICKET_ID and desk is not None


async def test_an_unreadable_answer_does_not_cost_the_write(scene: Scene) -> None:
    (desk, workspace, _, _), store, handoff, inv = scene
    with store._tx() as cur:
        cur.execute("UPDATE deliveries SET detail_json = ? WHERE key = 'note'", (DETAIL,))
    assert (await handoff.deliver(inv, requested_by="w", timeout_s=10, attempt=1)).settled
    rows = {d.key: d for d in handoff.ledger.of(inv)}
    assert rows["note"].status == "done" and rows["slack"].status == "done"
    assert len(workspace.messages) == 1 and sum(inv in n for n in desk.notes(TICKET_ID)) == 1
