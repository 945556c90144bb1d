"""Where investigations, their events, the tool-call audit log and agents' feedback are kept.

SQLite by default, with no setup (``sqlite:///.casefile/casefile.sqlite3``
relative to the working directory, or ``$CASEFILE_DATABASE_URL``);
PostgreSQL by URL (``postgresql://user@host/db``, through psycopg 3).

There is one SQL code path for both: the statements use a portable subset
(``TEXT``/``INTEGER``/``REAL`` columns, times as ISO 8601 UTC text that sorts
as it reads, JSON as text, no auto-increment) and ``?`` placeholders, which
are rewritten to ``%s`` for psycopg. Each table's sequence numbers are computed
per investigation inside the writing transaction, so no dialect-specific
identity column is needed.

Tables::

    investigations  one row per investigation: tenant, ticket (already redacted), status, diagnosis JSON
    events          every progress Event, numbered per investigation (the SSE stream replays them)
    audit           one row per tool call: tool, arguments, duration, outcome, who asked
    feedback        agents' verdicts on a diagnosis (bounced escalations, the article that solved it)

Every investigation belongs to one tenant (the helpdesk or team whose caller created
it); the service reads and lists only its caller's tenant's. Rows stored before
tenants existed have none until the service claims them for its own tenant
(:meth:`Store.claim_untenanted`).

Secrets are never stored: tickets are redacted at intake, and tool arguments and
error texts pass through :func:`casefile.agent.redact.redact` again before they are written.

The store is synchronous (each call is one short transaction) and thread-safe;
the service calls it from its event loop, which is fine for the millisecond
writes SQLite in WAL mode makes.

Modules: ``database`` (the connection, the schema and its migrations), ``pglink`` (PostgreSQL
bounded in time), ``records`` (what the store
returns), ``investigations`` (with their events and audit log), ``jobs`` (leases on durable
work), ``feedback``.
"""

from __future__ import annotations

from casefile.agent.store import records
from casefile.agent.store.database import DEFAULT_DATABASE_URL
from casefile.agent.store.feedback import Feedback
from casefile.agent.store.investigations import Investigations
from casefile.agent.store.jobs import Jobs
from casefile.agent.store.pglink import StoreUnavailable
from casefile.agent.store.records import *  # noqa: F403  (the package's surface: see __all__)

__all__ = [*records.__all__, "DEFAULT_DATABASE_URL", "Store", "StoreUnavailable"]


class Store(Investigations, Jobs, Feedback):
    """Persistent record of investigations; see the module docstring for the layout.

    ``Store(url)`` opens (and creates, if needed) the database. ``url`` defaults to
    ``$CASEFILE_DATABASE_URL``, then ``sqlite:///.casefile/casefile.sqlite3``.
    ``sqlite:///:memory:`` gives a private in-memory database (tests).
    """
