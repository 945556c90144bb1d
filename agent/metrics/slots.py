"""Scheduled work that runs once per slot, across restarts and replicas: a lease per (job, slot).

A table beside the investigations, in the same store and with the same lease discipline
(``owner``, ``lease_until``; a lease that expires makes the slot claimable again, a finished
slot never is)::

    scheduled_runs  job, slot (ISO time), owner, lease_until, attempts, done_at, error

Claiming is one transaction: the first replica to insert the row holds the slot (a second
insert is a unique violation on the primary key, on SQLite and PostgreSQL alike); a slot whose
holder died is taken over once its lease has expired, at most :data:`MAX_ATTEMPTS` times.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casefile.agent.store import Store

__all__ = ["MAX_ATTEMPTS", "SlotLeases"]

MAX_ATTEMPTS = 3

_SCHEMA = """CREATE TABLE IF NOT EXISTS scheduled_runs (
    job TEXT NOT NULL,
    slot TEXT NOT NULL,
    owner TEXT,
    lease_until TEXT,
    attempts INTEGER NOT NULL,
    done_at TEXT,
    error TEXT,
    PRIMARY KEY (job, slot)
)"""


class SlotLeases:
    """Claim, finish and give back slots of scheduled jobs in ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store._tx() as cur:
            cur.execute(_SCHEMA)

    def claim(self, job: str, slot: datetime, owner: str, lease_s: float, now: datetime) -> bool:
        """Whether ``owner`` now holds ``slot`` of ``job`` (False: done, or held by a live lease)."""
        from casefile.agent.store.database import db_time as _ts

        key, until = (job, _ts(slot)), _ts(now + timedelta(seconds=lease_s))
        try:
            with self.store._tx() as cur:
                cur.execute(
                    "SELECT lease_until, attempts, done_at FROM scheduled_runs WHERE job = ? AND slot = ?",
                    key,
                )
                row = cur.fetchone()
                if row is None:
                    cur.execute(
                        "INSERT INTO scheduled_runs (job, slot, owner, lease_until, attempts) VALUES (?, ?, ?, ?, 1)",
                        (*key, owner, until),
                    )
                    return True
                lease_until, attempts, done_at = row
                if done_at is not None or int(attempts) >= MAX_ATTEMPTS:
                    return False
                if lease_until is not None and lease_until >= _ts(now):
                    return False
                cur.execute(
                    "UPDATE scheduled_runs SET owner = ?, lease_until = ?, attempts = attempts + 1"
                    " WHERE job = ? AND slot = ? AND done_at IS NULL",
                    (owner, until, *key),
                )
                return bool(cur.rowcount == 1)
        except Exception as exc:
            if self.store._is_unique_violation(exc):
                return False  # another replica inserted it first
            raise

    def finish(self, job: str, slot: datetime, owner: str, now: datetime) -> bool:
        """The slot's work is done: it never runs again. False when ``owner`` lost the lease."""
        from casefile.agent.store.database import db_time as _ts

        with self.store._tx() as cur:
            cur.execute(
                "UPDATE scheduled_runs SET done_at = ?, owner = NULL, lease_until = NULL, error = NULL"
                " WHERE job = ? AND slot = ? AND owner = ?",
                (_ts(now), job, _ts(slot), owner),
            )
            return bool(cur.rowcount == 1)

    def release(self, job: str, slot: datetime, owner: str, error: str) -> None:
        """The work failed: the slot is claimable again at once (until MAX_ATTEMPTS)."""
        from casefile.agent.store.database import db_time as _ts

        with self.store._tx() as cur:
            cur.execute(
                "UPDATE scheduled_runs SET owner = NULL, lease_until = NULL, error = ?"
                " WHERE job = ? AND slot = ? AND owner = ?",
                (error[:500], job, _ts(slot), owner),
            )

    def done(self, job: str) -> list[datetime]:
        """The finished slots of ``job``, oldest first."""
        with self.store._tx() as cur:
            cur.execute(
                "SELECT slot FROM scheduled_runs WHERE job = ? AND done_at IS NOT NULL ORDER BY slot", (job,)
            )
            return [datetime.fromisoformat(row[0]) for row in cur.fetchall()]
