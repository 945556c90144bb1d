"""Agents' feedback on investigations: a bounced escalation, the article that should have prevented it."""

from __future__ import annotations

import builtins
from datetime import datetime

from casefile.agent.store.database import Database, db_time, new_id, parse_db_time, scrub, utc_now
from casefile.agent.store.records import FeedbackRecord, FeedbackVia

__all__ = ["Feedback"]


class Feedback(Database):
    """The store's feedback table; part of :class:`casefile.agent.store.Store`."""

    def add_feedback(
        self,
        id: str,
        *,
        bounced: bool,
        article: str | None,
        note: str | None,
        by: str,
        snippet: str | None = None,
        team: str | None = None,
        via: FeedbackVia = "api",
    ) -> FeedbackRecord:
        """Append an entry to investigation ``id``'s feedback history (never replacing one) and return
        it; KeyError when there is no such investigation."""
        entry_id, created = new_id("fb"), utc_now()
        with self._tx() as cur:
            cur.execute("SELECT ticket_id FROM investigations WHERE id = ?", (id,))
            row = cur.fetchone()
            if row is None:
                raise KeyError(id)
            cur.execute(
                "INSERT INTO feedback (id, investigation_id, bounced, article, snippet, note, team, via,"
                " by_whom, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry_id,
                    id,
                    1 if bounced else 0,
                    article,
                    scrub(snippet),
                    scrub(note),
                    team,
                    via,
                    by,
                    db_time(created),
                ),
            )
        return FeedbackRecord(
            id=entry_id,
            investigation_id=id,
            ticket_id=row[0],
            bounced=bounced,
            article=article,
            snippet=scrub(snippet),
            note=scrub(note),
            team=team,
            via=via,
            by=by,
            created_at=created,
        )

    def feedback(
        self, since: datetime | None = None, tenant: str | None = None, investigation: str | None = None
    ) -> builtins.list[FeedbackRecord]:
        """Feedback recorded at or after ``since`` (all when None), oldest first; with ``tenant``,
        only on that tenant's investigations; with ``investigation``, that one's history."""
        sql = (
            "SELECT f.id, f.investigation_id, i.ticket_id, f.bounced, f.article, f.note, f.by_whom, f.created_at,"
            " f.snippet, f.team, f.via"
            " FROM feedback f JOIN investigations i ON i.id = f.investigation_id WHERE 1 = 1"
        )
        since_at = db_time(since) if since is not None else None
        filters = [
            ("f.created_at >= ?", since_at),
            ("i.tenant = ?", tenant),
            ("f.investigation_id = ?", investigation),
        ]
        rows = self._rows(sql, filters, "f.created_at, f.id")
        return [
            FeedbackRecord(
                id=r[0],
                investigation_id=r[1],
                ticket_id=r[2],
                bounced=bool(r[3]),
                article=r[4],
                note=r[5],
                by=r[6],
                created_at=parse_db_time(r[7]) or utc_now(),
                snippet=r[8],
                team=r[9],
                via=r[10] or "api",
            )
            for r in rows
        ]
