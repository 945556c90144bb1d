"""The read-only SQL guard: hostile queries are refused, and nothing changes either way."""

from __future__ import annotations

from typing import Any

import clickhouse_connect
import pytest
from test_logs import DB, SCHEMA, build_rows, columns, table_counts

from casefile.tools.base import CallContext, Toolbox, ToolCall
from casefile.tools.errors import ReadOnlyViolation
from casefile.tools.logs import ClickHouseConnector
from casefile.tools.settings import LogsSettings
from casefile.tools.sqlguard import guard_sql
from casefile.tools.world.chdb import embedded_client, load_tables

ALLOWED = ["requests", "webhook_deliveries", "sso_logins"]

# (query, a word the refusal's reason must contain)
HOSTILE: list[tuple[str, str]] = [
    ("INSERT INTO requests (account_id) VALUES ('x')", "SELECT"),
    ("INSERT INTO requests SELECT * FROM requests", "SELECT"),
    ("ALTER TABLE requests DELETE WHERE 1", "SELECT"),
    ("ALTER TABLE requests UPDATE status = 200 WHERE 1", "SELECT"),
    ("DROP TABLE requests", "DROP"),
    ("DrOp TaBlE requests", "DROP"),
    ("DR/**/OP TABLE requests", "parsed"),
    ("TRUNCATE TABLE requests", "SELECT"),
    ("CREATE TABLE x AS requests", "SELECT"),
    ("RENAME TABLE requests TO r2", "RENAME"),
    ("OPTIMIZE TABLE requests FINAL", "OPTIMIZE"),
    ("SYSTEM DROP MARK CACHE", "SYSTEM"),
    ("KILL QUERY WHERE 1", "parsed"),
    ("SET readonly = 0", "SELECT"),
    ("GRANT ALL ON *.* TO default", "GRANT"),
    ("ATTACH TABLE requests", "ATTACH"),
    ("DETACH TABLE requests", "SELECT"),
    ("EXCHANGE TABLES requests AND sso_logins", "EXCHANGE"),
    ("DELETE FROM requests WHERE 1", "SELECT"),
    ("UPDATE requests SET status = 1 WHERE 1", "SELECT"),
    ("USE system", "SELECT"),
    ("SELECT 1; DROP TABLE requests", "one statement"),
    ("SELECT 1;\n-- harmless\n;  DROP TABLE requests", "one statement"),
    ("SELECT 1; SELECT 2", "one statement"),
    ("SELECT * FROM file('/etc/passwd', 'LineAsString')", "table functions"),
    ("SELECT * FROM url('http://169.254.169.254/latest', CSV, 'a String')", "table functions"),
    ("SELECT * FROM remote('127.0.0.1', system.users)", "table functions"),
    ("SELECT * FROM s3('https://bucket/x.csv')", "table functions"),
    ("SELECT * FROM numbers(1000000000)", "table functions"),
    ("SELECT * FROM merge('system', '.*')", "table functions"),
    ("SELECT * FROM values('a Int8', 1, 2)", "VALUES"),
    ("SELECT file('/etc/passwd')", "file"),
    ("SELECT dictGet('secrets', 'value', toUInt64(1))", "dictGet"),
    ("SELECT joinGet('accounts_join', 'secret', 'acme')", "joinGet"),
    ("SELECT sleepEachRow(3) FROM requests", "sleepEachRow"),
    ("SELECT * FROM system.tables", "outside the logs database"),
    ('SELECT * FROM "system"."users"', "outside the logs database"),
    ("SELECT * FROM information_schema.tables", "outside the logs database"),
    ("SELECT * FROM other.requests", "outside the logs database"),
    ("SELECT * FROM secrets", "not allowed"),
    ("SELECT * FROM REQUESTS", "not allowed"),
    ("SELECT * FROM rеquests", "non-ASCII"),  # Cyrillic 'е'
    ("ＤＲＯＰ TABLE requests", "non-ASCII"),
    ("SELECT * FROM (SELECT * FROM system.tables)", "outside the logs database"),
    ("SELECT * FROM requests r JOIN system.users u ON 1 = 1", "outside the logs database"),
    (
        "SELECT * FROM requests WHERE account_id IN (SELECT name FROM system.databases)",
        "outside the logs database",
    ),
    ("WITH requests AS (SELECT * FROM system.users) SELECT * FROM requests", "CTE may not be named"),
    ("WITH secrets AS (SELECT * FROM secrets) SELECT * FROM secrets", "not allowed"),
    ("WITH RECURSIVE t AS (SELECT 1) SELECT * FROM t", "RECURSIVE"),
    ("SELECT * FROM requests INTO OUTFILE '/tmp/x'", "OUTFILE"),
    ("SELECT 1 INTO t", "INTO"),
    ("SELECT * FROM requests SETTINGS readonly = 0", "SETTINGS"),
    ("SELECT * FROM requests SETTINGS max_execution_time = 0", "SETTINGS"),
    ("SELECT * FROM requests FORMAT CSV", "FORMAT"),
    ("SELECT {x:String}", "parameters"),
    ("SELECT 1\x00; DROP TABLE requests", "control"),
    ("   ", "empty"),
    ("EXPLAIN SELECT 1", "EXPLAIN"),
]


@pytest.fixture(scope="module")
def client() -> Any:
    c = embedded_client()
    load_tables(c, DB, SCHEMA, {name: columns(r) for name, r in build_rows().items()})
    return c


def test_there_are_enough_hostile_queries() -> None:
    assert len(HOSTILE) >= 30


@pytest.mark.parametrize(("sql", "reason"), HOSTILE)
def test_guard_refuses_with_a_reason(sql: str, reason: str) -> None:
    with pytest.raises(ReadOnlyViolation) as refused:
        guard_sql(sql, allowed_tables=ALLOWED, database=DB, max_rows=100)
    assert reason.lower() in refused.value.reason.lower()
    assert refused.value.source == "logs"


async def test_hostile_queries_change_nothing(client: Any) -> None:
    connector = ClickHouseConnector(LogsSettings(database=DB), client=client)
    toolbox = Toolbox([connector])
    before = table_counts(client)
    assert before["requests"] > 1000
    for index, (sql, _) in enumerate(HOSTILE):
        outcome = await toolbox.execute(
            ToolCall(id=str(index), tool="logs_sql", arguments={"sql": sql}), CallContext(account_id="acme")
        )
        assert outcome.ok is False, sql
        assert outcome.error_kind == "read_only_violation", (sql, outcome.error)
        assert table_counts(client) == before, sql
    # And the connector still works afterwards (on the account's rows only).
    ok = await toolbox.execute(
        ToolCall(id="x", tool="logs_sql", arguments={"sql": "SELECT count() FROM requests"}),
        CallContext(account_id="acme"),
    )
    acme = client.query(f"SELECT count() FROM {DB}.requests WHERE account_id = 'acme'").result_rows[0][0]
    assert ok.ok and ok.data["rows"] == [[acme]] and 0 < acme < before["requests"]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM requests", f"SELECT * FROM {DB}.requests LIMIT 100"),
        ("select status from requests limit 5000", f"SELECT status FROM {DB}.requests LIMIT 100"),
        ("SELECT status FROM requests LIMIT 7", f"SELECT status FROM {DB}.requests LIMIT 7"),
        (
            f"SELECT status FROM {DB}.requests LIMIT 3, 5",
            f"SELECT status FROM {DB}.requests LIMIT 5 OFFSET 3",
        ),
        ("SELECT 1 /* ; DROP TABLE requests */", "SELECT 1 LIMIT 100"),
        ("SELECT 1; ", "SELECT 1 LIMIT 100"),
        (
            "WITH x AS (SELECT path FROM requests) SELECT * FROM x",
            # CTEs are renamed: a reference the engine resolved otherwise would name no table at all.
            f"WITH casefile_cte_0 AS (SELECT path FROM {DB}.requests) SELECT * FROM casefile_cte_0 AS x LIMIT 100",
        ),
        (
            "SELECT path FROM requests LIMIT 2 BY path",
            f"SELECT * FROM (SELECT path FROM {DB}.requests LIMIT 2 BY path) AS guarded LIMIT 100",
        ),
        (
            "SELECT 1 UNION ALL SELECT 2 LIMIT 500",
            "SELECT * FROM (SELECT 1 UNION ALL SELECT 2 LIMIT 500) AS guarded LIMIT 100",
        ),
        ("SELECT 'DROP TABLE requests' AS s", "SELECT 'DROP TABLE requests' AS s LIMIT 100"),
        ("SELECT 'é' AS s", "SELECT 'é' AS s LIMIT 100"),
    ],
)
def test_guard_accepts_reads_and_bounds_them(sql: str, expected: str) -> None:
    assert guard_sql(sql, allowed_tables=ALLOWED, database=DB, max_rows=100) == expected


def test_typical_investigation_queries_pass() -> None:
    for sql in [
        "SELECT toStartOfInterval(ts, INTERVAL 5 MINUTE) AS b, countIf(status >= 400) FROM requests "
        "WHERE account_id = 'acme' AND ts >= '2026-11-20 00:00:00' GROUP BY b ORDER BY b",
        "SELECT quantile(0.95)(latency_ms), path FROM requests WHERE account_id = 'acme' GROUP BY path",
        "SELECT r.trace_id, w.delivery_id FROM requests AS r JOIN webhook_deliveries AS w ON "
        "r.account_id = w.account_id",
        "SELECT JSONExtractString(request_headers, 'user-agent') FROM requests WHERE status = 429",
        "SELECT * FROM sso_logins WHERE outcome = 'failure' ORDER BY ts DESC",
    ]:
        assert DB in guard_sql(sql, allowed_tables=ALLOWED, database=DB, max_rows=100)


async def test_database_refuses_writes_even_if_the_guard_were_bypassed(client: Any) -> None:
    # A separate session on the same engine: the attempt may leave *its* session read-only.
    session = clickhouse_connect.get_client(dsn="chdb://:memory:")
    connector = ClickHouseConnector(LogsSettings(database=DB), client=session)
    before = table_counts(client)
    insert = f"INSERT INTO {DB}.requests (account_id, status) SELECT 'evil', 200 FROM {DB}.requests"
    # The lowest layer sends with readonly=1 and ClickHouse itself refuses. (A result cap above the
    # dozen settings clickhouse-connect reads back around a chdb statement, or that read trips it.)
    for sql in (insert, f"DROP TABLE {DB}.requests", "SELECT * FROM file('/etc/passwd', 'LineAsString')"):
        with pytest.raises(ReadOnlyViolation, match="read-only mode"):
            connector._send(sql, None, 100)
    assert table_counts(client) == before
    # The layer above never lets a non-SELECT statement reach the client at all.
    fresh = ClickHouseConnector(LogsSettings(database=DB), client=embedded_client())
    with pytest.raises(ReadOnlyViolation, match="only SELECT"):
        fresh._query_sync(insert)
    assert table_counts(client) == before
    assert fresh._query_sync(f"SELECT count() FROM {DB}.requests").rows == [(before["requests"],)]
