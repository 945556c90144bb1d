"""Durable work: leases on the investigations to run and the internal notes to deliver.

Accepted work is a row: an investigation to run (queued, or running under an expired lease),
then its internal note to deliver (done, deliver_to set, delivered_at empty). A worker takes
the next one with a lease (owner, lease_until), renews it while it works, and gives it up
when done; a lease that expires (a killed process) makes the row claimable again. Claiming is
one transaction: SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL (concurrent replicas each skip
the rows another is taking), BEGIN IMMEDIATE on SQLite (one writer at a time). A lease's times
are the store's clock (``Database._clock``): PostgreSQL's, whatever each replica's own says, so a
replica whose clock runs ahead or behind neither takes another's live work nor leaves its own
to be taken (``tests/test_attack_clocks.py``).
"""

from __future__ import annotations

import builtins
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Literal

from casefile.agent.store.database import Cursor, Database, db_time, parse_db_time, scrub
from casefile.agent.store.records import Claim

__all__ = ["Jobs"]


class Jobs(Database):
    """Leases on work (see the module docstring); part of :class:`casefile.agent.store.Store`."""

    MAX_ATTEMPTS = 3
    """Claims of one phase before it is given up (a run that kills its worker every time)."""
    MAX_DELIVERY_ATTEMPTS = 12
    """Claims of the delivery phase: a helpdesk or Slack outage is waited out (backoff up to 5 min)."""

    _CLAIMABLE = (
        "(lease_until IS NULL OR lease_until < ?) AND (status IN ('queued', 'running')"
        " OR (status = 'done' AND deliver_to IS NOT NULL AND delivered_at IS NULL))"
    )

    def claim_next(
        self, owner: str, lease_s: float, *, on_demand_only: bool = False, running: Collection[str] = ()
    ) -> Claim | None:
        """Lease the next claimable work to ``owner`` for ``lease_s``: on-demand first, then the oldest.

        ``running`` is the work ``owner`` is running now: never claimed again, even when its lease ran
        out before a late renewal (a loaded machine), for each claim counts an attempt and three give
        the work up; the renewal extends it, unless another worker took it over in between."""
        sql = f"SELECT id, status, priority, requested_by, source, deliver_to, attempts FROM investigations WHERE {self._CLAIMABLE}"
        held = list(running)
        if held:
            sql += f" AND id NOT IN ({', '.join('?' * len(held))})"
        if on_demand_only:
            sql += " AND priority = 'on_demand'"
        sql += " ORDER BY CASE priority WHEN 'on_demand' THEN 0 ELSE 1 END, created_at LIMIT 1"
        if self.dialect == "postgresql":
            sql += " FOR UPDATE SKIP LOCKED"
        while True:
            with self._tx() as cur:
                now = self._clock(cur)
                cur.execute(sql, (db_time(now), *held))
                row = cur.fetchone()
                if row is None:
                    return None
                inv, status, priority, requested_by, source, deliver_to, attempts = row
                phase: Literal["investigate", "deliver"] = "deliver" if status == "done" else "investigate"
                attempt = int(attempts or 0) + 1
                if attempt > (self.MAX_ATTEMPTS if phase == "investigate" else self.MAX_DELIVERY_ATTEMPTS):
                    self._give_up(cur, inv, phase, now)
                    continue
                until = db_time(now + timedelta(seconds=lease_s))
                if phase == "investigate":
                    cur.execute(
                        "UPDATE investigations SET owner = ?, lease_until = ?, attempts = ?, status = 'running',"
                        " started_at = ?, error = NULL WHERE id = ?",
                        (owner, until, attempt, db_time(now), inv),
                    )
                else:
                    cur.execute(
                        "UPDATE investigations SET owner = ?, lease_until = ?, attempts = ? WHERE id = ?",
                        (owner, until, attempt, inv),
                    )
                return Claim(
                    id=inv,
                    phase=phase,
                    priority=priority,
                    requested_by=requested_by,
                    source=source,
                    deliver_to=deliver_to,
                    attempt=attempt,
                )

    def _give_up(self, cur: Cursor, inv: str, phase: str, now: datetime) -> None:
        if phase == "investigate":
            error = f"gave up after {self.MAX_ATTEMPTS} attempts (each was cut off before it finished)"
            cur.execute(
                "UPDATE investigations SET status = 'failed', finished_at = ?, error = ?, owner = NULL,"
                " lease_until = NULL, deliver_to = NULL WHERE id = ?",
                (db_time(now), error, inv),
            )
        else:
            error = f"the hand-off could not be delivered in {self.MAX_DELIVERY_ATTEMPTS} attempts"
            cur.execute(
                "UPDATE investigations SET error = ?, owner = NULL, lease_until = NULL, deliver_to = NULL"
                " WHERE id = ?",
                (error, inv),
            )

    def renew(self, owner: str, lease_s: float, running: Collection[str] | None = None) -> set[str]:
        """Extend the leases ``owner`` holds (only those of ``running`` when given: work that ended
        without finishing, cut off by the store, must lapse and be claimed again, not be held for
        ever); returns the ids it still holds (others were taken over)."""
        ids = list(running or ())
        only = "" if running is None else f" AND id IN ({', '.join('?' * len(ids))})" if ids else " AND 0 = 1"
        with self._tx() as cur:
            until = db_time(self._clock(cur) + timedelta(seconds=lease_s))
            cur.execute(
                f"UPDATE investigations SET lease_until = ? WHERE owner = ?{only}", (until, owner, *ids)
            )
            cur.execute("SELECT id FROM investigations WHERE owner = ?", (owner,))
            return {row[0] for row in cur.fetchall()}

    def release(self, id: str, owner: str, *, retry_in_s: float = 0.0, error: str | None = None) -> None:
        """Give work back unfinished (a stop, a failed delivery): claimable again after ``retry_in_s``."""
        with self._tx() as cur:
            later = db_time(self._clock(cur) + timedelta(seconds=retry_in_s)) if retry_in_s > 0 else None
            cur.execute(
                "UPDATE investigations SET owner = NULL, lease_until = ?,"
                " status = CASE WHEN status = 'running' THEN 'queued' ELSE status END,"
                " error = COALESCE(?, error) WHERE id = ? AND owner = ?",
                (later, scrub(error), id, owner),
            )

    def refund(self, id: str, owner: str, *, retry_in_s: float) -> None:
        """An attempt the store cut off (it stopped answering, a full disk) was not the work's fault:
        it does not count towards ``MAX_ATTEMPTS``, or a store down three times would give the work up
        and its note with it. Held by ``owner`` still, it is claimable again after ``retry_in_s``."""
        with self._tx() as cur:
            later = db_time(self._clock(cur) + timedelta(seconds=retry_in_s))
            cur.execute(
                "UPDATE investigations SET attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,"
                " status = CASE WHEN owner = ? AND status = 'running' THEN 'queued' ELSE status END,"
                " lease_until = CASE WHEN owner = ? THEN ? ELSE lease_until END,"
                " owner = CASE WHEN owner = ? THEN NULL ELSE owner END WHERE id = ?",
                (owner, owner, later, owner, id),
            )

    def release_all(self, owner: str) -> builtins.list[str]:
        """At a clean stop: every lease ``owner`` holds is given back, so others resume at once (a stop
        is not the work's fault: the attempt does not count)."""
        with self._tx() as cur:
            cur.execute("SELECT id FROM investigations WHERE owner = ?", (owner,))
            held = [row[0] for row in cur.fetchall()]
            cur.execute(
                "UPDATE investigations SET owner = NULL, lease_until = NULL,"
                " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,"
                " status = CASE WHEN status = 'running' THEN 'queued' ELSE status END WHERE owner = ?",
                (owner,),
            )
        return held

    def mark_delivered(self, id: str, owner: str | None = None) -> bool:
        """The note is on the ticket: the work is finished. False when ``owner`` no longer holds it."""
        fence = "" if owner is None else " AND owner = ?"
        with self._tx() as cur:
            cur.execute(
                "UPDATE investigations SET delivered_at = ?, owner = NULL, lease_until = NULL"
                f" WHERE id = ?{fence}",
                (db_time(self._clock(cur)), id, *([owner] if owner is not None else [])),
            )
            return bool(cur.rowcount > 0)

    def promote(self, id: str) -> bool:
        """An agent is waiting for a queued investigation: it goes before background work everywhere."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE investigations SET priority = 'on_demand' WHERE id = ? AND status = 'queued'"
                " AND priority <> 'on_demand'",
                (id,),
            )
            return bool(cur.rowcount > 0)

    def pending(self) -> int:
        """How much accepted work no worker holds now (queued, or a note waiting to be delivered)."""
        with self._tx() as cur:
            cur.execute(
                f"SELECT COUNT(*) FROM investigations WHERE {self._CLAIMABLE}", (db_time(self._clock(cur)),)
            )
            return int(cur.fetchone()[0])

    def delivery(self, id: str) -> tuple[str | None, datetime | None]:
        """(the Zendesk ticket the note goes to, when it was delivered) for an investigation."""
        with self._tx() as cur:
            cur.execute("SELECT deliver_to, delivered_at FROM investigations WHERE id = ?", (id,))
            row = cur.fetchone()
        return (row[0], parse_db_time(row[1])) if row else (None, None)
