"""The store's PostgreSQL connection, bounded in time at every step.

A PostgreSQL that accepts the connection and then never answers (a server stuck on a lock or a
full disk, a proxy or firewall that stopped passing packets) held a transaction for ever: psycopg
waits on the socket without a timeout, and the store is called from the service's event loop and
before ``casefile investigate`` prints its diagnosis. So (``tests/test_attack_store_silent.py``):

* connecting gives up after ``CONNECT_TIMEOUT_S`` (unless the URL names its own ``connect_timeout``);
* the server cancels any statement after ``ANSWER_TIMEOUT_S`` (``statement_timeout``, unless the
  URL sets ``options``), and a transaction that has still heard nothing ``ANSWER_GRACE_S`` later is
  cut on our side: its socket is shut down, which wakes psycopg with an error;
* a connection given up on is reopened by a thread of its own, every ``RETRY_S`` until the server
  answers: meanwhile every call fails at once (:class:`StoreUnavailable`), so a silent store costs
  one wait, not one per event written, and the service's event loop never waits on a reconnection.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from casefile.agent.errors import ConfigError, UnavailableError

__all__ = ["ANSWER_TIMEOUT_S", "CONNECT_TIMEOUT_S", "RETRY_S", "PgLink", "StoreUnavailable"]

# How long a PostgreSQL connection may take unless the URL says (``?connect_timeout=``): psycopg's
# default is 130 s, which a blackholed database held the service's start and a CLI run's save for.
CONNECT_TIMEOUT_S = 5.0
# How long one statement may run in the server, and how much longer a transaction may wait for an
# answer before the connection is cut (the server's own cancel arrives first when it can answer).
ANSWER_TIMEOUT_S = 5.0
ANSWER_GRACE_S = 1.0
# After a connection was given up on, how often a new one is tried (in the background).
RETRY_S = 5.0


class StoreUnavailable(UnavailableError):
    """The store did not answer in time, or is not tried again yet; nothing was written."""


class PgLink:
    """One PostgreSQL connection, reopened when lost; see the module docstring."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.host = self.url.split("@")[-1].split("/")[0]
        self._why = ""
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._reconnecting = threading.Lock()
        self._conn: Any = self._open()

    def _open(self) -> Any:
        try:
            import psycopg
        except ImportError:
            raise ConfigError(
                "a PostgreSQL database URL needs psycopg: pip install 'psycopg[binary]'"
            ) from None
        own = psycopg.conninfo.conninfo_to_dict(self.url)
        try:
            return psycopg.connect(  # a None keyword is left out: the URL's own value stands
                self.url,
                autocommit=True,
                client_encoding="utf8",
                connect_timeout=None if "connect_timeout" in own else f"{CONNECT_TIMEOUT_S:g}",
                options=None if "options" in own else f"-c statement_timeout={int(ANSWER_TIMEOUT_S * 1000)}",
            )
        except psycopg.Error as exc:
            # The message can echo the URL's password; name the host only.
            why = str(exc).split("\n")[0].replace(self.url, self.host)
            why = why if "@" not in why and "password=" not in why else type(exc).__name__
            raise UnavailableError(
                f"cannot reach the store (PostgreSQL at {self.host}): {why}; start it or fix CASEFILE_DATABASE_URL"
            ) from None

    def connection(self) -> Any:
        """The live connection; while none answers, an error at once (a thread tries to reconnect)."""
        conn = self._conn
        if conn is None:
            raise StoreUnavailable(
                f"the store (PostgreSQL at {self.host}) {self._why}; trying again every {RETRY_S:g} s"
            )
        return conn

    @contextmanager
    def answering(self) -> Iterator[Any]:
        """The connection, for one transaction that must be answered within the time limits."""
        conn = self.connection()
        try:
            with self._watched(conn):
                yield conn
        except StoreUnavailable:
            raise
        except Exception as exc:
            if conn.closed or conn.broken:
                self._give_up(self._late() if self._cut.is_set() else "dropped the connection")
                raise StoreUnavailable(f"the store (PostgreSQL at {self.host}) {self._why}") from exc
            raise

    @contextmanager
    def _watched(self, conn: Any) -> Iterator[None]:
        """Cut ``conn`` when it has not answered within the limits (the server's own statement_timeout
        means it is alive, only slow: the connection is kept)."""
        self._cut.clear()
        timer = threading.Timer(ANSWER_TIMEOUT_S + ANSWER_GRACE_S, self._cut_off, (conn,))
        timer.daemon = True
        timer.start()
        try:
            yield
        except Exception as exc:
            if type(exc).__name__ == "QueryCanceled" and not (conn.closed or conn.broken):
                raise StoreUnavailable(f"the store (PostgreSQL at {self.host}) {self._late()}") from exc
            raise
        finally:
            timer.cancel()

    def _late(self) -> str:
        return f"did not answer within {ANSWER_TIMEOUT_S:g} s"

    def _cut_off(self, conn: Any) -> None:
        """Shut the silent connection's socket: psycopg, waiting on it, wakes with an error."""
        self._cut.set()
        # Already closed: nothing is waiting on it.
        with contextlib.suppress(Exception), socket.socket(fileno=os.dup(conn.pgconn.socket)) as sock:
            sock.shutdown(socket.SHUT_RDWR)

    def _give_up(self, why: str) -> None:
        """Drop the connection and reconnect in the background: calls meanwhile fail at once, so the
        service's event loop never waits for a server that is not answering."""
        conn, self._conn, self._why = self._conn, None, why
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
        if not self._reconnecting.locked():
            threading.Thread(target=self._reconnect, name="casefile-store-reconnect", daemon=True).start()

    def _reconnect(self) -> None:
        with self._reconnecting:
            while not self._closed.wait(RETRY_S):
                try:
                    conn = self._open()
                except UnavailableError:
                    continue
                try:
                    with self._watched(conn):
                        conn.execute("SELECT 1")
                except Exception:
                    with contextlib.suppress(Exception):
                        conn.close()
                    continue
                self._conn = conn
                return

    def close(self) -> None:
        self._closed.set()
        if self._conn is not None:
            self._conn.close()
