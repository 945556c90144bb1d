"""Delivering the hand-off: plan the writes an investigation owes, then make each one exactly once.

The service calls :meth:`Handoff.deliver` in the durable job's delivery phase (after the
investigation is stored). Writes are planned into the :class:`DeliveryLedger` once; each
run makes the ones not settled yet, each with its own idempotency check:

* the ticket update (note + group/assignee/priority/tags): skipped when a comment on the
  ticket already carries the investigation's id (posted before a crash);
* the Slack message: when an earlier attempt stopped mid-write, the channel's history is
  read for the message's delivery key (Web API); a webhook channel cannot be read back,
  so such a message is marked failed as *unconfirmed* rather than risk a second post;
* a bounce note: skipped when a comment already carries the bounce's id.

Transient failures (after the in-call retries of :mod:`casefile.tools.retry`) leave the
write pending and the job is retried later with backoff; refusals (``channel_not_found``,
a 403) are settled as failed. Either way the ledger shows it (API, CLI, sidebar).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from casefile.agent.config import Settings
from casefile.agent.diagnosis import Diagnosis
from casefile.agent.handoff.config import slack_channel
from casefile.agent.handoff.helpdesk_writes import is_transient, update_ticket
from casefile.agent.handoff.ledger import Delivery, DeliveryKind, DeliveryLedger, DeliveryState
from casefile.agent.handoff.links import bounce_link
from casefile.agent.handoff.message import bounce_note, note_with_packet, slack_handoff
from casefile.agent.handoff.slack import SlackError, SlackMessage, find_posted, post_to_slack
from casefile.agent.helpdesk import Helpdesk, HelpdeskError, TicketUpdate
from casefile.agent.helpdesk.note import format_note
from casefile.agent.store import FeedbackRecord, InvestigationRecord, Store
from casefile.tools.deadline import within
from casefile.tools.retry import RetryPolicy, backoff_s

__all__ = ["DELIVERY_RETRY", "DeliveryStatus", "Handoff", "HandoffResult"]

log = logging.getLogger("casefile.handoff")

# Between delivery attempts of the durable job: 2 s, 4 s, … up to 5 minutes (with jitter).
DELIVERY_RETRY = RetryPolicy(base_wait_s=2.0, max_backoff_s=300.0)


class _Abandoned(Exception):
    """The delivery attempt this write belongs to has timed out and returned."""


class _Unreadable(Exception):
    """The write's stored row cannot be read: it is settled as failed, the others are still made."""


def _still_ours(gave_up: asyncio.Event) -> None:
    """Stop a write its attempt has given up on: the next attempt checks the target and writes it."""
    if gave_up.is_set():
        raise _Abandoned


class HandoffResult(BaseModel):
    settled: bool = Field(description="every write is done or failed for good: the job is finished")
    error: str | None = None
    retry_in_s: float = 0.0


class DeliveryStatus(BaseModel):
    """The hand-off of one investigation as the API, the CLI and the sidebar show it."""

    state: str = Field(description="none | pending | done | failed (some write failed for good)")
    deliveries: list[Delivery] = Field(default_factory=list)


def _row(inv: str, key: str, kind: DeliveryKind, target: str, payload: dict[str, Any]) -> Delivery:
    return Delivery(investigation_id=inv, key=key, kind=kind, target=target, payload=payload)


class Handoff:
    """The hand-off writes of one service (or CLI) over one store."""

    def __init__(self, store: Store, settings: Settings, helpdesk: Helpdesk | None = None) -> None:
        """``helpdesk`` is the one writes go to; without one (the CLI) writes are only planned."""
        self.store = store
        self.settings = settings
        self.ledger = DeliveryLedger(store)
        self.helpdesk = helpdesk

    # ------------------------------------------------------------------ planning

    def plan(self, record: InvestigationRecord, diagnosis: Diagnosis, ticket_id: str) -> None:
        """The note (+ the team's ticket fields) and the Slack message, once per investigation."""
        from casefile.agent.routing import load_routing

        service = self.settings.service
        note = format_note(diagnosis, investigation_id=record.id, public_url=service.public_url)
        update = TicketUpdate(note=note)
        rows: list[Delivery] = []
        esc = diagnosis.escalation if diagnosis.action == "escalate" else None
        team = None
        if esc is not None:
            teams = load_routing().teams
            team = teams.get(esc.team) or next(
                (t for t in teams.values() if t.name.lower() == esc.team.lower()), None
            )
        handoff = team.handoff if team is not None else None
        if handoff is not None and handoff.zendesk is not None:
            zd = handoff.zendesk
            update = TicketUpdate(
                note=note_with_packet(note, diagnosis) if zd.packet_note else note,
                group_id=zd.group_id,
                assignee_id=zd.assignee_id,
                priority=zd.priority,
                tags=zd.tags,
            )
        rows.append(_row(record.id, "note", "ticket_update", ticket_id, update.model_dump()))
        channel = slack_channel(team.channel, handoff) if team is not None else None
        if channel is not None:
            base = service.public_url.rstrip("/") if service.public_url else None
            secret = self.settings.slack.link_secret
            message = slack_handoff(
                diagnosis,
                channel=channel,
                key=f"{record.id}/slack",
                ticket_id=ticket_id,
                ticket_url=self.helpdesk.agent_url(int(ticket_id)) if self.helpdesk else None,
                investigation_url=f"{base}/v1/investigations/{record.id}" if base else None,
                bounce_url=bounce_link(base, secret.get_secret_value(), record.id)
                if base and secret
                else None,
            )
            rows.append(_row(record.id, "slack", "slack_message", channel, message.model_dump()))
        self.ledger.plan(rows)

    def bounce_ticket(self, record: InvestigationRecord) -> str | None:
        """The helpdesk ticket a bounce note goes to: the one the hand-off wrote to, or the helpdesk
        ticket the investigation was made from."""
        deliver_to, _ = self.store.delivery(record.id)
        if deliver_to:
            return deliver_to
        made_from = ("webhook", self.helpdesk.name if self.helpdesk else self.settings.service.helpdesk)
        if record.source in made_from and record.ticket_id.isdigit():
            return record.ticket_id
        return None

    def queue_bounce(self, entry: FeedbackRecord, ticket_id: str) -> None:
        """Owe the ticket a note about ``entry`` and hand the job back to the workers to post it."""
        note = {"note": bounce_note(entry)}
        self.ledger.plan([_row(entry.investigation_id, f"bounce:{entry.id}", "bounce_note", ticket_id, note)])
        with self.store._tx() as cur:
            cur.execute(
                "UPDATE investigations SET deliver_to = ?, delivered_at = NULL, attempts = 0, lease_until = NULL"
                " WHERE id = ? AND status = 'done'",
                (ticket_id, entry.investigation_id),
            )

    # ------------------------------------------------------------------ delivering

    async def deliver(self, inv: str, *, requested_by: str, timeout_s: float, attempt: int) -> HandoffResult:
        """Make every unsettled write of ``inv``; settled when none is left pending."""
        errors: list[str] = []
        gave_up = asyncio.Event()
        try:
            # ``within``, not ``asyncio.timeout``: a helpdesk client that swallows its
            # cancellation would otherwise hold the worker past the timeout. A write left
            # behind stops before writing (``gave_up``); the next attempt owns the row.
            await within(self._write_unsettled(inv, requested_by, errors, gave_up), timeout_s)
        except TimeoutError:
            gave_up.set()
            errors.append(f"delivery took longer than {timeout_s:.0f} s")
        left = [d for d in await asyncio.to_thread(self.ledger.of, inv) if d.status not in ("done", "failed")]
        if not left:
            return HandoffResult(settled=True)
        wait = backoff_s(attempt, policy=DELIVERY_RETRY)
        return HandoffResult(settled=False, error="; ".join(errors) or "not delivered yet", retry_in_s=wait)

    async def _write_unsettled(
        self, inv: str, requested_by: str, errors: list[str], gave_up: asyncio.Event
    ) -> None:
        # The journal is read and written in threads: a store that stops answering holds this
        # delivery, not the service's event loop.
        for d in await asyncio.to_thread(self.ledger.of, inv):
            if gave_up.is_set():
                return  # the attempt timed out while this one was writing: leave the rest to the next
            if d.status in ("done", "failed"):
                continue
            error = await self._one(d, requested_by, gave_up)
            if error:
                errors.append(f"{d.key}: {error}")

    async def _one(self, d: Delivery, requested_by: str, gave_up: asyncio.Event) -> str | None:
        """One write; returns why it is still pending (None when settled)."""
        interrupted = d.status == "sending"  # the previous attempt stopped mid-write
        d = await asyncio.to_thread(self.ledger.start, d)
        started = datetime.now(UTC)
        desk = self.helpdesk.name if self.helpdesk else "helpdesk"
        tool, source = (
            ("slack.chat_postMessage", "slack")
            if d.kind == "slack_message"
            else (f"{desk}.update_ticket", desk)
        )
        detail: dict[str, object] | None = None
        reason: str | None = None
        transient = False
        try:
            if d.unreadable:
                raise _Unreadable(d.unreadable)
            detail = await (
                self._slack(d, interrupted, gave_up)
                if d.kind == "slack_message"
                else self._ticket_write(d, gave_up)
            )
        except ValidationError as exc:  # a stored payload that no longer fits its message
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "payload"
            reason = f"the stored write cannot be read ({where}: {first['msg']})"
        except _Unreadable as exc:
            reason = str(exc)
        except _Abandoned:
            return None  # the attempt timed out: the next one checks and writes this row
        except (SlackError, HelpdeskError) as exc:
            transient = exc.transient if isinstance(exc, SlackError) else is_transient(exc)
            reason = str(exc)
            log.warning(
                "hand-off %s of %s: %s (%s)",
                d.key,
                d.investigation_id,
                reason,
                "will retry" if transient else "gave up",
            )
        state: DeliveryState = "done" if reason is None else "pending" if transient else "failed"
        await asyncio.to_thread(self.ledger.finish, d, state, error=reason, detail=detail)
        await asyncio.to_thread(
            self.ledger.audit,
            d,
            tool=tool,
            source=source,
            arguments=self._arguments(d),
            ok=reason is None,
            error=reason,
            started=started,
            requested_by=requested_by,
        )
        return reason if transient else None

    @staticmethod
    def _arguments(d: Delivery) -> dict[str, object]:
        if d.kind == "slack_message":
            return {"channel": d.target, "key": d.delivery_key}
        fields = {
            k: d.payload.get(k) for k in ("group_id", "assignee_id", "priority", "tags") if d.payload.get(k)
        }
        return {"ticket_id": d.target, "write": d.key, **fields}

    async def _ticket_write(self, d: Delivery, gave_up: asyncio.Event) -> dict[str, object]:
        client = self.helpdesk
        if client is None or not client.configured:
            raise HelpdeskError("no helpdesk configured")  # no status: pending, retried
        ticket_id = int(d.target)
        marker = d.investigation_id if d.key == "note" else d.key.removeprefix("bounce:")
        if await client.has_note(ticket_id, marker):
            return {"confirmed": "the note was already on the ticket"}
        update = (
            TicketUpdate.model_validate(d.payload)
            if d.kind == "ticket_update"
            else TicketUpdate.model_validate({"note": d.payload.get("note")})
        )
        _still_ours(gave_up)
        await update_ticket(client, ticket_id, update)
        return {"ticket_id": ticket_id}

    async def _slack(self, d: Delivery, interrupted: bool, gave_up: asyncio.Event) -> dict[str, object]:
        slack = self.settings.slack
        if d.attempts > 1:
            oldest = (d.started_at or datetime.now(UTC)) - timedelta(days=1)
            found = await find_posted(slack, d.target, d.delivery_key, oldest=oldest.timestamp())
            if found is not None:
                return {"channel": found.channel, "ts": found.ts, "confirmed": "already in the channel"}
            if interrupted and slack.webhook_for(d.target) is not None:
                raise SlackError(
                    f"unconfirmed: an earlier attempt stopped while posting to {d.target}; not posted again "
                    "to avoid a duplicate (a webhook channel cannot be read back)",
                    transient=False,
                )
        _still_ours(gave_up)
        receipt = await post_to_slack(slack, SlackMessage.model_validate(d.payload))
        return receipt.model_dump()

    # ------------------------------------------------------------------ reading

    def status(self, inv: str) -> DeliveryStatus:
        deliveries = self.ledger.of(inv)
        if not deliveries:
            return DeliveryStatus(state="none")
        states = {d.status for d in deliveries}
        deliver_to, _ = self.store.delivery(inv)
        unsettled = bool(states & {"pending", "sending"})
        # The job gave up (its deliver_to cleared) while writes were still unsettled: they failed.
        state = (
            "failed"
            if "failed" in states or (unsettled and deliver_to is None)
            else "pending"
            if unsettled
            else "done"
        )
        return DeliveryStatus(state=state, deliveries=deliveries)
