"""Round-6 attacks on "always finishes" through the store: a PostgreSQL that never answers.

A blackholed database (a firewall dropping the packets, a server stuck before its greeting) kept
``Store(url)`` waiting psycopg's default of 130 s before this round, and the service's start, a CLI
run's save and every ``cases_similar`` (which opens the store) with it. The store now gives up after
``CONNECT_TIMEOUT_S`` unless the URL names its own ``connect_timeout``, with the one-line error that
names the host and never the password.

libpq (and psycopg) never wait less than 2 s; the tests lift that floor so they stay fast, and a
store that passed no timeout would still wait 130 s (the test gives up on it at 60 s and fails; the
bounds are for that, not for how fast a loaded machine runs a 0.3 s timeout).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg.connection
import pytest

from casefile.agent.errors import UnavailableError
from casefile.agent.store import Store, pglink


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word (a stuck or blackholed server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


@pytest.fixture
def fast_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """psycopg's timeout as the connection string says it, without libpq's 2 s floor."""

    def exact(params: Any) -> float:
        value = params.get("connect_timeout")
        return float(value) if value not in (None, "", "0") else 130.0

    monkeypatch.setattr(psycopg.connection, "timeout_from_conninfo", exact)
    monkeypatch.setattr(pglink, "CONNECT_TIMEOUT_S", 0.3)


HANG_S = 60.0  # psycopg's own default is 130 s


def _open(url: str) -> tuple[BaseException | None, float]:
    """Store(url) in a thread: (what it raised, seconds); a store still waiting after HANG_S fails the test."""
    result: list[BaseException | None] = []

    def attempt() -> None:
        try:
            Store(url).close()
            result.append(None)
        except BaseException as exc:  # the test reports whatever it was
            result.append(exc)

    t0 = time.monotonic()
    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(HANG_S)
    assert result, f"Store() was still waiting for a silent PostgreSQL after {HANG_S:g} s"
    return result[0], time.monotonic() - t0


@pytest.mark.usefixtures("fast_timeouts")
@pytest.mark.parametrize(
    "url",
    [
        "postgresql://casefile:s3cret-pw@127.0.0.1:{port}/casefile",
        "postgres://casefile:s3cret-pw@127.0.0.1:{port}/casefile?sslmode=disable",
        "postgresql+psycopg://casefile:s3cret-pw@127.0.0.1:{port}/casefile",
    ],
    ids=["postgresql", "postgres", "postgresql+psycopg"],
)
def test_a_silent_database_is_given_up_on(silent_port: int, url: str) -> None:
    error, took = _open(url.format(port=silent_port))
    assert isinstance(error, UnavailableError), error
    assert took < HANG_S / 2, took
    message = str(error)
    assert "127.0.0.1" in message and "s3cret-pw" not in message and "\n" not in message


@pytest.mark.usefixtures("fast_timeouts")
def test_the_url_s_own_connect_timeout_is_kept(silent_port: int) -> None:
    error, took = _open(f"postgresql://u:p@127.0.0.1:{silent_port}/db?connect_timeout=0.9")
    assert isinstance(error, UnavailableError), error
    assert took >= 0.8, took  # the URL's 0.9 s, not the store's 0.3 s
