"""What the metrics read from the store: one :class:`HistoryRow` per finished investigation,
and the bounce-backs recorded on them.

Bounces are the store's own records (:class:`~casefile.agent.store.FeedbackRecord`), counted
by its rule (:func:`~casefile.agent.store.first_bounces`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

if TYPE_CHECKING:
    from casefile.agent.store import FeedbackRecord, Store

__all__ = ["DECISION_RULE", "HistoryRow", "load_bounces", "load_history"]

DECISION_RULE = "(decision)"
"""The rule of an escalation no trigger rule forced: routing's confidence/category decision."""


class HistoryRow(BaseModel):
    """One investigation with a diagnosis, reduced to what the metrics count."""

    id: str
    ticket_id: str
    ticket_created_at: datetime
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime
    action: Literal["resolve", "escalate"]
    team: str | None
    category: str
    rule: str | None
    runbooks: list[str]

    @property
    def escalated(self) -> bool:
        return self.action == "escalate"


def load_history(store: Store, since: datetime, until: datetime, tenant: str | None) -> list[HistoryRow]:
    """Investigations created in ``[since, until)`` that reached a diagnosis, oldest first."""
    from casefile.agent.diagnosis import Diagnosis
    from casefile.agent.store.database import db_time as _ts
    from casefile.agent.store.database import parse_db_time as _parse_ts

    sql = (
        "SELECT id, ticket_id, ticket_json, created_at, started_at, finished_at, diagnosis_json"
        " FROM investigations WHERE status = 'done' AND diagnosis_json IS NOT NULL"
        " AND created_at >= ? AND created_at < ?"
    )
    params: list[str] = [_ts(since), _ts(until)]
    if tenant is not None:
        sql += " AND tenant = ?"
        params.append(tenant)
    with store._tx() as cur:  # one read of the columns the metrics need, not a Ticket per row
        cur.execute(sql + " ORDER BY created_at, id", params)
        rows = cur.fetchall()
    out = []
    for inv, ticket_id, ticket_json, created, started, finished, diagnosis_json in rows:
        diagnosis = Diagnosis.model_validate_json(diagnosis_json)
        escalation = diagnosis.escalation if diagnosis.action == "escalate" else None
        created_at = _parse_ts(created)
        assert created_at is not None
        out.append(
            HistoryRow(
                id=inv,
                ticket_id=ticket_id,
                ticket_created_at=json.loads(ticket_json)["created_at"],
                created_at=created_at,
                started_at=_parse_ts(started),
                finished_at=_parse_ts(finished) or created_at,
                action=diagnosis.action,
                team=escalation.team if escalation else None,
                category=diagnosis.root_cause.category,
                rule=(escalation.trigger or DECISION_RULE) if escalation else None,
                runbooks=list(diagnosis.runbooks),
            )
        )
    return out


def load_bounces(store: Store, tenant: str | None) -> dict[str, FeedbackRecord]:
    """The bounced escalations by investigation id, with their first bounce (the store's rule:
    any bounce in the append-only history counts). Feedback is not limited to the window: a
    bounce recorded today on last week's escalation belongs to last week's figures."""
    from casefile.agent.store import first_bounces

    return first_bounces(store.feedback(tenant=tenant))
