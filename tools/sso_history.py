"""The IdP metadata each SSO check fetched, kept durably, so "the last working configuration" exists.

Every ``sso_check`` records the document it fetched, with the investigation's time
and whether the check found it working (signing certificate valid and the one we
trust, entity ID ours, our ACS answering). The last working snapshot is the newest
working document recorded before the current check; it needs no file configured.

Stored in casefile's own database (``sso_snapshots``, beside the investigations:
``$CASEFILE_DATABASE_URL``, SQLite or PostgreSQL), or a private in-memory SQLite
database (worlds and tests, so one world's checks never leak into another's).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["Snapshot", "SnapshotHistory"]

_TABLE = """CREATE TABLE IF NOT EXISTS sso_snapshots (
    account_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    digest TEXT NOT NULL,
    working INTEGER NOT NULL,
    document TEXT NOT NULL
)"""


@dataclass(frozen=True)
class Snapshot:
    fetched_at: str
    digest: str
    working: bool
    document: bytes


def digest_of(document: bytes) -> str:
    return hashlib.sha256(document).hexdigest()


class SnapshotHistory:
    """Recorded metadata documents per account. ``url``: ``sqlite:///path``, ``postgresql://…`` or
    None (in memory)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._mark = "?"
        self._conn: Any = None  # opened on first use: building a toolbox touches no database

    def _open(self) -> Any:
        url = self.url
        if url is None or url == "sqlite:///:memory:":
            conn: Any = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        elif url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        elif url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            import psycopg  # the store's own optional dependency (casefile[postgres])

            conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
            self._mark = "%s"
        else:
            raise ValueError(f"unsupported database URL for SSO snapshots: {url.split(':', 1)[0]!r}")
        conn.execute(_TABLE)
        return conn

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._conn is None:
                self._conn = self._open()
            cur = self._conn.execute(sql.replace("?", self._mark), params)
            return list(cur.fetchall()) if cur.description else []

    def record(self, account_id: str, fetched_at: datetime, document: bytes, *, working: bool) -> None:
        self._run(
            "INSERT INTO sso_snapshots (account_id, fetched_at, digest, working, document) VALUES (?, ?, ?, ?, ?)",
            (account_id, fetched_at.isoformat(), digest_of(document), int(working), document.decode("utf-8")),
        )

    def last_working(self, account_id: str, before: datetime) -> Snapshot | None:
        """The newest working document recorded for the account at or before ``before``."""
        rows = self._run(
            "SELECT fetched_at, digest, working, document FROM sso_snapshots "
            "WHERE account_id = ? AND working = 1 AND fetched_at <= ? ORDER BY fetched_at DESC LIMIT 1",
            (account_id, before.isoformat()),
        )
        if not rows:
            return None
        fetched_at, digest, working, document = rows[0]
        return Snapshot(str(fetched_at), str(digest), bool(working), str(document).encode("utf-8"))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
