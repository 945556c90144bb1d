"""Attacks on ``logs_sql``: none gets through the guard, the account scope or the engine's limits.

Each hostile query runs through the real tool (``Toolbox.execute`` → guard → chdb with the
connector's settings) for an investigation of the account ``stark``. A query is either refused
(a guard error, or ClickHouse's own limit error) or, where it is a plain read, returns only
stark's rows: other accounts' ids, e-mail domains, key hashes and webhook hosts never appear.
Legitimate analyst queries still work and return exactly what stark's rows hold.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import clickhouse_connect
import pytest
from test_logs import DB, NOW

from casefile.tools.base import CallContext, Toolbox, ToolCall, ToolOutcome
from casefile.tools.errors import ReadOnlyViolation, SourceTimeout, SourceTooLarge
from casefile.tools.logs import ClickHouseConnector, settable
from casefile.tools.settings import LogsSettings
from casefile.tools.sqlguard import SqlScope, guard_sql

ACCOUNT = "stark"
OTHERS = ("acme", "globex", "umbrella", "initech")
# The engine's budget in these tests (the mechanism is the default settings'; only the clock is shorter).
TIME_LIMIT_S = 1

# ---------------------------------------------------------------- refused: (category, query)

REFUSED: list[tuple[str, str]] = [
    # a table in every syntactic position
    ("position", "SELECT * FROM secrets"),
    ("position", "SELECT * FROM requests JOIN secrets USING (account_id)"),
    ("position", "SELECT * FROM requests, secrets"),
    ("position", "SELECT * FROM (SELECT * FROM secrets)"),
    ("position", "SELECT * FROM requests WHERE request_id IN (SELECT id FROM secrets)"),
    ("position", "SELECT * FROM requests WHERE account_id IN secrets"),
    ("position", "SELECT * FROM requests WHERE account_id GLOBAL IN secrets"),
    ("position", "SELECT * FROM requests WHERE account_id NOT IN secrets"),
    ("position", "SELECT * FROM requests WHERE account_id GLOBAL NOT IN (secrets)"),
    ("position", "SELECT * FROM requests WHERE account_id IN (secrets)"),
    ("position", "SELECT * FROM requests WHERE account_id IN ((secrets))"),
    ("position", "SELECT * FROM requests WHERE account_id IN requests"),
    ("position", "SELECT (SELECT max(x) FROM secrets) FROM requests"),
    ("position", "SELECT * FROM requests WHERE EXISTS (SELECT 1 FROM secrets)"),
    ("position", "WITH s AS (SELECT * FROM secrets) SELECT * FROM s"),
    ("position", "WITH (SELECT count() FROM secrets) AS n SELECT n"),
    ("position", "SELECT path FROM requests UNION ALL SELECT v FROM secrets"),
    ("position", "SELECT path FROM requests EXCEPT SELECT v FROM secrets"),
    ("position", "SELECT * FROM requests AS r LEFT JOIN (SELECT * FROM secrets) AS s ON r.path = s.path"),
    ("position", "WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a"),
    ("position", "WITH secrets AS (SELECT * FROM secrets) SELECT * FROM secrets"),
    ("position", "WITH g AS (SELECT account_id FROM requests) SELECT 1 FROM requests WHERE 'acme' IN g"),
    ("position", "SELECT joinGet('secrets_join', 'v', 1)"),
    ("position", "SELECT dictGet('secrets', 'v', toUInt64(1))"),
    ("position", "SELECT dictGetOrDefault('secrets', 'v', toUInt64(1), '')"),
    ("position", "SELECT hasColumnInTable('system', 'users', 'name')"),
    ("position", "SELECT notIn(1, secrets)"),
    ("position", "SELECT globalNotIn('acme', requests)"),
    # other databases
    ("database", "SELECT * FROM other.requests"),
    ("database", "SELECT * FROM default.requests"),
    ("database", 'SELECT * FROM "other"."requests"'),
    ("database", "SELECT * FROM `other`.`requests`"),
    ("database", "SELECT * FROM information_schema.tables"),
    ("database", "SELECT * FROM INFORMATION_SCHEMA.COLUMNS"),
    ("database", "SELECT * FROM cat.other.requests"),
    ("database", "SELECT * FROM requests WHERE account_id IN other.accounts"),
    ("database", "SELECT other.requests.status FROM requests"),
    # system.*
    ("system", "SELECT * FROM system.tables"),
    ("system", "SELECT * FROM system.one"),
    ("system", "SELECT 1 WHERE 0 IN system.one"),
    ("system", "SELECT 1 WHERE 0 IN (system.one)"),
    ("system", "SELECT name FROM system.databases"),
    ("system", "SELECT * FROM system.settings WHERE changed"),
    ("system", "SELECT query FROM system.query_log"),
    ("system", "SELECT * FROM requests JOIN system.users ON 1 = 1"),
    ("system", 'SELECT * FROM "system".one'),
    ("system", "SELECT * FROM `system`.`one`"),
    ("system", "SELECT * FROM requests WHERE status IN (SELECT number FROM system.numbers LIMIT 10)"),
    # server introspection
    ("introspection", "SELECT version()"),
    ("introspection", "SELECT getSetting('max_memory_usage')"),
    ("introspection", "SELECT currentDatabase()"),
    ("introspection", "SELECT displayName()"),
    ("introspection", "SELECT uptime()"),
    ("introspection", "SELECT buildId()"),
    ("introspection", "SELECT serverUUID()"),
    ("introspection", "SELECT hostName()"),
    ("introspection", "SELECT fqdn()"),
    ("introspection", "SELECT currentUser()"),
    ("introspection", "SELECT user()"),
    ("introspection", "SELECT timezone()"),
    ("introspection", "SELECT getMacro('replica')"),
    ("introspection", "SELECT getServerPort('tcp_port')"),
    ("introspection", "SELECT queryID()"),
    ("introspection", "SELECT revision()"),
    ("introspection", "SELECT filesystemAvailable()"),
    ("introspection", "SELECT currentProfiles()"),
    ("introspection", "SELECT path, VERSION() FROM requests"),
    ("introspection", "SELECT arrayMap(x -> getSetting(x), ['readonly'])"),
    # table functions
    ("table function", "SELECT * FROM numbers(10)"),
    ("table function", "SELECT * FROM numbers_mt(1000000000)"),
    ("table function", "SELECT * FROM zeros(10)"),
    ("table function", "SELECT * FROM generateRandom('a String')"),
    ("table function", "SELECT * FROM url('http://169.254.169.254/latest/meta-data', CSV, 'a String')"),
    ("table function", "SELECT * FROM s3('https://bucket.s3.amazonaws.com/x.csv')"),
    ("table function", "SELECT * FROM remote('127.0.0.1', system.users)"),
    ("table function", "SELECT * FROM remoteSecure('127.0.0.1', default.requests)"),
    ("table function", "SELECT * FROM cluster('default', system.one)"),
    ("table function", "SELECT * FROM mysql('db:3306', 'db', 't', 'u', 'p')"),
    ("table function", "SELECT * FROM postgresql('db:5432', 'db', 't', 'u', 'p')"),
    ("table function", "SELECT * FROM executable('id', TSV, 'a String')"),
    ("table function", "SELECT * FROM merge('system', '.*')"),
    ("table function", "SELECT * FROM view(SELECT * FROM system.one)"),
    ("table function", "SELECT * FROM values('a Int8', 1, 2)"),
    ("table function", "SELECT * FROM dictionary('secrets')"),
    ("table function", "SELECT * FROM requests JOIN numbers(10) AS n ON n.number = requests.status"),
    # files
    ("file", "SELECT file('/etc/passwd')"),
    ("file", "SELECT file('passwd')"),
    ("file", "SELECT FILE('/etc/passwd')"),
    ("file", "SELECT \"file\"('/etc/passwd')"),
    ("file", "SELECT `file`('/etc/passwd')"),
    ("file", "SELECT arrayMap(x -> file(x), ['/etc/passwd'])"),
    ("file", "SELECT length(file('/etc/hostname')) FROM requests"),
    ("file", "SELECT * FROM file('/etc/passwd', 'LineAsString')"),
    ("file", "SELECT * FROM url('file:///etc/passwd', LineAsString)"),
    ("file", "SELECT * FROM requests INTO OUTFILE '/tmp/out.csv'"),
    ("file", "SELECT * FROM requests FROM INFILE '/etc/passwd'"),
    ("file", "SELECT COLUMNS('path') APPLY(file) FROM requests"),
    # memory and CPU bombs the guard refuses (sizes are literal and bounded)
    ("bomb", "SELECT arrayJoin(arrayMap(x -> repeat('a', 64), range(200000000)))"),
    ("bomb", "SELECT length(arrayMap(x -> x * 2, range(100000000)))"),
    ("bomb", "SELECT length(arrayMap(x -> x * 2, range(1e8)))"),
    ("bomb", "SELECT 1 WHERE 5 IN system.numbers"),
    ("bomb", "SELECT repeat('x', 1000000) FROM requests LIMIT 1000"),
    ("bomb", "SELECT repeat('x', status * 100000) FROM requests"),
    ("bomb", "SELECT range(toUInt64(100000000))"),
    ("bomb", "SELECT range(0, 100000000, 1)"),
    ("bomb", "SELECT space(1000000000)"),
    ("bomb", "SELECT leftPad('', 1000000000, 'x')"),
    ("bomb", "SELECT arrayWithConstant(100000000, 'x')"),
    ("bomb", "SELECT arrayResize([1], 1000000000)"),
    ("bomb", "SELECT randomString(1000000000)"),
    ("bomb", "SELECT count() FROM system.numbers"),
    ("bomb", "SELECT sleepEachRow(3) FROM requests"),
    ("bomb", "SELECT sleep(3)"),
    # settings and format injection
    ("settings", "SELECT 1 SETTINGS readonly = 0"),
    ("settings", "SELECT * FROM requests SETTINGS max_memory_usage = 0"),
    ("settings", "SELECT * FROM (SELECT * FROM requests SETTINGS max_result_rows = 0)"),
    ("settings", "SELECT * FROM requests SETTINGS additional_table_filters = {}"),
    ("settings", "SELECT 1 FORMAT JSON"),
    ("settings", "SELECT * FROM requests FORMAT TabSeparatedRaw"),
    ("settings", "SET readonly = 0"),
    ("settings", "SET max_memory_usage = 0; SELECT 1"),
    ("settings", "SELECT 1; SET readonly = 0"),
    ("settings", "SELECT {x:String}"),
    # comments and quoting
    ("quoting", "SELECT 1 -- harmless\nFROM system.one"),
    ("quoting", "SELECT /* */ * FROM/**/system.one"),
    ("quoting", "SELECT * FROM requests WHERE 1 = 1 /* ; */ UNION ALL SELECT * FROM system.one"),
    ("quoting", "SELECT * FROM requests WHERE path = '/*' UNION ALL SELECT name FROM system.tables -- */'"),
    ("quoting", "SELECT * FROM `sys``tem`.one"),
    ("quoting", 'SELECT * FROM "requests"."x"'),
    ("quoting", "SELECT * FROM REQUESTS"),
    ("quoting", "SELECT * FROM rеquests"),  # Cyrillic 'е'
    ("quoting", "SELECT * FROM requests\x00 UNION ALL SELECT * FROM system.one"),
    ("quoting", "ＳＥＬＥＣＴ * FROM system.one"),
    # the account scope: a CTE may not stand in for a table, nor may FINAL/SAMPLE slip past it
    ("scope", "WITH requests AS (SELECT * FROM requests) SELECT * FROM requests"),
    ("scope", "WITH sso_logins AS (SELECT * FROM webhook_deliveries) SELECT * FROM sso_logins"),
    ("scope", "SELECT * FROM requests FINAL"),
    ("scope", "SELECT * FROM requests SAMPLE 1"),
    ("scope", "SELECT * FROM requests AS r(a, b)"),
]

# ---------------------------------------------------------------- run, but see only stark's rows

READS: list[str] = [
    "SELECT DISTINCT account_id FROM requests",
    "SELECT * FROM requests WHERE account_id = 'acme'",
    "SELECT account_id FROM requests WHERE account_id != 'stark'",
    "SELECT account_id, count() FROM requests GROUP BY account_id",
    "SELECT account_id FROM requests UNION ALL SELECT account_id FROM webhook_deliveries "
    "UNION ALL SELECT account_id FROM sso_logins",
    "SELECT * FROM (SELECT account_id FROM requests WHERE account_id = 'globex')",
    "SELECT r.account_id, g.api_key_hash FROM requests AS r JOIN requests AS g ON r.path = g.path "
    "WHERE g.account_id = 'globex'",
    "SELECT a.account_id, b.account_id FROM requests AS a, requests AS b WHERE b.account_id = 'acme' LIMIT 5",
    "WITH x AS (SELECT * FROM requests WHERE account_id = 'acme') SELECT account_id FROM x",
    "WITH x AS (SELECT * FROM requests) SELECT account_id FROM x WHERE account_id = 'globex' "
    "UNION ALL SELECT account_id FROM x",
    "SELECT account_id FROM requests AS webhook_deliveries",
    "SELECT sso_logins.account_id FROM requests AS sso_logins WHERE sso_logins.account_id = 'initech'",
    "SELECT endpoint_url FROM webhook_deliveries WHERE account_id = 'umbrella'",
    "SELECT user_email FROM sso_logins WHERE account_id = 'initech'",
    "SELECT any(api_key_hash) FROM requests WHERE account_id = 'acme'",
    "SELECT api_key_hash FROM requests WHERE request_id IN "
    "(SELECT request_id FROM requests WHERE account_id = 'acme')",
    "SELECT (SELECT any(account_id) FROM requests WHERE account_id = 'globex') AS leaked",
    "SELECT if(count() > 0, 'acme rows seen', 'none') AS seen FROM requests WHERE account_id = 'acme'",
    "SELECT api_key_hash FROM requests WHERE account_id = 'stark' OR 1 = 1",
    "SELECT api_key_hash FROM requests WHERE account_id = 'stark' OR account_id = 'acme'",
    'SELECT account_id FROM "requests"',
    f"SELECT account_id FROM {DB}.requests",
    f"SELECT account_id FROM `{DB}`.`webhook_deliveries`",
    "SELECT account_id FROM requests WHERE account_id = 'acme' UNION DISTINCT SELECT account_id FROM requests",
    "SELECT account_id FROM requests LIMIT 1 BY account_id",
    "SELECT groupUniqArray(account_id) FROM webhook_deliveries",
    "SELECT groupUniqArray(endpoint_url) FROM webhook_deliveries",
    "SELECT user_email FROM sso_logins WHERE user_email LIKE '%initech%'",
    "SELECT account_id FROM requests WHERE account_id = 'x\\\\' OR account_id != ''",
    "SELECT account_id FROM requests WHERE account_id = 'x'' OR account_id != '''",
    "SELECT w.endpoint_url FROM requests AS r RIGHT JOIN webhook_deliveries AS w ON r.account_id = w.account_id",
    "SELECT w.endpoint_url FROM requests AS r FULL OUTER JOIN webhook_deliveries AS w "
    "ON r.request_id = w.delivery_id",
    "SELECT account_id FROM requests WHERE exists(SELECT 1 FROM requests WHERE account_id = 'acme')",
    "SELECT requests.account_id FROM requests INNER JOIN sso_logins ON requests.account_id = sso_logins.account_id",
    "SELECT argMax(account_id, ts) FROM requests",
    "SELECT topK(5)(account_id) FROM requests",
    "WITH w AS (SELECT * FROM webhook_deliveries), s AS (SELECT * FROM w) SELECT endpoint_url FROM s",
    "SELECT account_id FROM (SELECT * FROM requests UNION ALL SELECT * FROM requests) WHERE account_id = 'acme'",
]

# ---------------------------------------------------------------- pass the guard, refused by the engine

ENGINE_BOMBS: list[str] = [
    "SELECT count() FROM requests AS a, requests AS b, requests AS c, requests AS d",
    "SELECT length(groupArray(repeat('x', 10000))) FROM requests AS a, requests AS b",
    "SELECT x, y, count() FROM requests ARRAY JOIN range(10000) AS x ARRAY JOIN range(10000) AS y GROUP BY x, y",
    "SELECT uniqExact(concat(a.request_id, b.request_id)) FROM requests AS a, requests AS b",
    "SELECT max(length(arrayStringConcat(arrayMap(x -> repeat(request_id, 10000), range(10000))))) FROM requests",
    "SELECT a.request_id, c.trace_id FROM requests AS a JOIN requests AS b ON a.account_id = b.account_id "
    "JOIN requests AS c ON b.account_id = c.account_id ORDER BY a.request_id, b.trace_id, c.trace_id",
    "SELECT groupArray(arrayMap(x -> repeat('a', 10000), range(10000))) FROM requests",
]

LEGIT: list[str] = [
    "SELECT path, count() AS n, countIf(status >= 400) AS errors FROM requests GROUP BY path ORDER BY path",
    "SELECT quantiles(0.5, 0.95, 0.99)(latency_ms) AS q FROM requests",
    "SELECT toStartOfInterval(ts, INTERVAL 1 HOUR) AS h, count() AS n FROM requests "
    "WHERE ts >= '2026-11-19 00:00:00' AND ts < '2026-11-20 00:00:00' GROUP BY h ORDER BY h",
    "SELECT r.path, count() AS n FROM requests AS r JOIN webhook_deliveries AS w "
    "ON r.account_id = w.account_id AND toStartOfHour(r.ts) = toStartOfHour(w.ts) GROUP BY r.path ORDER BY r.path",
    "SELECT 'requests' AS t, count() AS n FROM requests UNION ALL SELECT 'webhooks', count() FROM webhook_deliveries",
    "WITH e AS (SELECT path, status FROM requests WHERE status >= 400) SELECT path, count() FROM e GROUP BY path",
    "SELECT toString(toDate(ts, 'America/New_York')) AS day, count() AS writes FROM requests "
    "WHERE method = 'POST' AND status < 300 GROUP BY day ORDER BY day",
    "SELECT path, dateDiff('second', min(ts), max(ts)) AS span, multiIf(avg(latency_ms) > 500, 'slow', 'ok') "
    "FROM requests GROUP BY path",
    "SELECT JSONExtractString(request_headers, 'idempotency-key') AS k, count() FROM requests GROUP BY k",
    "SELECT path, row_number() OVER (ORDER BY count() DESC) AS rank FROM requests GROUP BY path",
    "SELECT outcome, count() FROM sso_logins GROUP BY outcome",
    "SELECT count() FROM requests WHERE request_id IN (SELECT request_id FROM requests WHERE status = 404)",
]


def test_there_are_at_least_70_attacks() -> None:
    assert len(REFUSED) + len(READS) + len(ENGINE_BOMBS) >= 70
    assert len(set(REFUSED)) == len(REFUSED) and len(set(READS)) == len(READS)
    assert Counter(category for category, _ in REFUSED).keys() >= {
        "position",
        "database",
        "system",
        "introspection",
        "table function",
        "file",
        "bomb",
        "settings",
        "quoting",
        "scope",
    }


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def connector(client: Any) -> ClickHouseConnector:
    # The default limits (memory, rows and bytes read, result size), a shorter clock.
    return ClickHouseConnector(LogsSettings(database=DB, max_execution_time_s=TIME_LIMIT_S), client=client)


@pytest.fixture(scope="module")
def toolbox(connector: ClickHouseConnector) -> Toolbox:
    return Toolbox([connector])


async def run(toolbox: Toolbox, sql: str, account: str | None = ACCOUNT) -> ToolOutcome:
    call = ToolCall(id="a", tool="logs_sql", arguments={"sql": sql})
    return await toolbox.execute(call, CallContext(now=NOW, account_id=account))


def leaked(outcome: ToolOutcome) -> list[str]:
    """Other accounts' names in the rows a query returned (its column names echo the query)."""
    text = repr((outcome.data or {}).get("rows", []))
    return [other for other in OTHERS if other in text]


# ---------------------------------------------------------------- the attacks


@pytest.mark.parametrize(("category", "sql"), REFUSED, ids=[f"{c}-{i}" for i, (c, _) in enumerate(REFUSED)])
async def test_refused(toolbox: Toolbox, category: str, sql: str) -> None:
    outcome = await run(toolbox, sql)
    assert not outcome.ok, (category, sql, outcome.rendered[:200])
    assert outcome.error_kind == "read_only_violation", (sql, outcome.error)
    assert outcome.error and len(outcome.error.splitlines()) == 1


async def test_reads_see_only_the_account(toolbox: Toolbox, client: Any) -> None:
    ran = 0
    for sql in READS:
        outcome = await run(toolbox, sql)
        assert outcome.error_kind in (None, "read_only_violation", "bad_arguments"), (sql, outcome.error)
        assert not leaked(outcome), (sql, leaked(outcome), outcome.rendered[:300])
        ran += outcome.ok
    # Most of them are ordinary SQL: they ran, and saw stark's rows only.
    assert ran >= len(READS) - 3
    # And there is something to leak: the same queries, unscoped, would show other accounts.
    unscoped = ClickHouseConnector(LogsSettings(database=DB), client=client)
    raw = guard_sql(READS[0], allowed_tables=unscoped.settings.allowed_tables, database=DB, max_rows=100)
    seen = {row[0] for row in (await unscoped._query(raw)).rows}
    assert {"acme", "globex", "stark"} <= seen


@pytest.mark.parametrize("sql", ENGINE_BOMBS)
async def test_bombs_that_pass_the_guard_are_refused_by_the_engine(toolbox: Toolbox, sql: str) -> None:
    started = time.perf_counter()
    outcome = await run(toolbox, sql)
    assert not outcome.ok, sql
    assert outcome.error_kind in ("too_large", "timeout"), (sql, outcome.error)
    # ClickHouse's own words: a memory, rows/bytes or time limit.
    assert any(
        word in (outcome.error or "")
        for word in ("memory limit", "Limit for", "Timeout exceeded", "TIMEOUT_EXCEEDED", "TOO_MANY")
    ), outcome.error
    assert time.perf_counter() - started < TIME_LIMIT_S + 3


async def test_no_account_no_sql(toolbox: Toolbox) -> None:
    outcome = await run(toolbox, "SELECT count() FROM requests", account=None)
    assert not outcome.ok and outcome.error_kind == "refused"
    assert "no resolved account" in (outcome.error or "")
    # A hostile query is still called what it is.
    hostile = await run(toolbox, "SELECT * FROM system.one", account=None)
    assert hostile.error_kind == "read_only_violation"


# ---------------------------------------------------------------- what still works


@pytest.mark.parametrize("sql", LEGIT)
async def test_analyst_queries_work_on_the_accounts_rows(toolbox: Toolbox, sql: str) -> None:
    outcome = await run(toolbox, sql)
    assert outcome.ok, (sql, outcome.error)
    assert outcome.data["rows"], sql
    assert not leaked(outcome)


async def test_results_equal_the_accounts_own_rows(
    toolbox: Toolbox, rows: dict[str, list[dict[str, Any]]]
) -> None:
    mine = [r for r in rows["requests"] if r["account_id"] == ACCOUNT]
    by_path = await run(toolbox, LEGIT[0])
    expected = sorted(
        (
            path,
            sum(1 for r in mine if r["path"] == path),
            sum(1 for r in mine if r["path"] == path and r["status"] >= 400),
        )
        for path in {r["path"] for r in mine}
    )
    assert [tuple(row) for row in by_path.data["rows"]] == expected
    union = await run(toolbox, LEGIT[4])
    webhooks = sum(1 for r in rows["webhook_deliveries"] if r["account_id"] == ACCOUNT)
    assert sorted(map(tuple, union.data["rows"])) == [("requests", len(mine)), ("webhooks", webhooks)]
    other = await run(toolbox, "SELECT count() FROM requests", account="acme")
    assert other.data["rows"] == [[sum(1 for r in rows["requests"] if r["account_id"] == "acme")]]


# ---------------------------------------------------------------- the engine alone (guard bypassed)


async def test_the_engine_filter_alone_scopes_rows(connector: ClickHouseConnector) -> None:
    """The second layer: ``additional_table_filters``, set by the connector, scopes an unscoped query."""
    scope = SqlScope(ACCOUNT, connector._account_columns())
    sql = guard_sql(READS[4], allowed_tables=connector.settings.allowed_tables, database=DB, max_rows=1000)
    assert "'stark'" not in sql  # no rewrite: only the engine's filter is left
    result = await connector._query(sql, extra={"additional_table_filters": connector._row_filters(scope)})
    assert result.rows and {row[0] for row in result.rows} == {ACCOUNT}


RAW_BOMBS = [
    "SELECT arrayJoin(arrayMap(x -> repeat('a', 64), range(200000000))) LIMIT 10",
    "SELECT length(arrayMap(x -> x * 2, range(100000000)))",
    "SELECT 1 WHERE 5 IN system.numbers",
    "SELECT repeat('x', 1000000) FROM system.numbers LIMIT 1000",
    "SELECT count() FROM numbers(1000000000000)",
    "SELECT uniqExact(number) FROM numbers(90000000)",
]


@pytest.mark.parametrize("sql", RAW_BOMBS)
async def test_the_engine_alone_refuses_memory_bombs(connector: ClickHouseConnector, sql: str) -> None:
    with pytest.raises((SourceTooLarge, SourceTimeout)) as refused:
        await connector._query(sql)
    assert any(w in refused.value.reason for w in ("memory limit", "Limit for", "Timeout")), refused.value


async def test_the_engine_alone_refuses_table_functions_but_not_scalar_file(
    connector: ClickHouseConnector,
) -> None:
    """readonly=1 refuses file()/url() as tables; chdb still runs the scalar file() (it skips
    the user_files_path check in its embedded mode), so the guard's function allow-list is what
    stops it on an embedded engine. Recorded here so a chdb that starts refusing it is noticed.
    """
    for sql in (
        "SELECT * FROM file('/etc/hostname', 'LineAsString')",
        "SELECT * FROM url('http://127.0.0.1:9/')",
    ):
        with pytest.raises(ReadOnlyViolation, match="read-only mode"):
            await connector._query(sql)
    read = await connector._query("SELECT length(file('/etc/hostname')) AS n")
    assert read.rows[0][0] > 0
    with pytest.raises(ReadOnlyViolation, match="file"):
        guard_sql(
            "SELECT length(file('/etc/hostname'))", allowed_tables=["requests"], database=DB, max_rows=10
        )


# ---------------------------------------------------------------- a server's profile governs what it pins


class _Setting:
    def __init__(self, value: str, readonly: int) -> None:
        self.value, self.readonly = value, readonly


class _Server:
    def __init__(self, **pinned: tuple[str, int]) -> None:
        self.server_settings = {name: _Setting(*v) for name, v in pinned.items()}


def test_settings_pinned_by_the_servers_profile_are_not_sent() -> None:
    wanted = {"max_memory_usage": 1, "additional_table_filters": {"a": "b"}, "readonly": 1}
    profile = _Server(
        readonly=("1", 1), max_memory_usage=("268435456", 1), additional_table_filters=("{}", 0)
    )
    assert settable(profile, wanted) == {"additional_table_filters": {"a": "b"}}
    assert settable(_Server(), wanted) == wanted
    with pytest.raises(Exception, match="read-only user"):
        settable(_Server(readonly=("0", 1)), wanted)


def test_chdb_sessions_pin_nothing() -> None:
    session = clickhouse_connect.get_client(dsn="chdb://:memory:")
    wanted = {"max_memory_usage": 1, "readonly": 1}
    assert settable(session, wanted) == wanted
