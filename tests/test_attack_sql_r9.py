"""Round-9 attacks on ``logs_sql``'s allow-list, against the parser a fresh install now brings
(sqlglot 30.x, whose ClickHouse dialect reads and writes some syntax differently from 26.x).

Same harness as ``test_attack_sql.py`` (the real tool: ``Toolbox.execute`` → guard → chdb, for an
investigation of ``stark``). The guard sends SQL *regenerated* from the tree it checked, so what
matters is that the regenerated text means to ClickHouse what the tree meant to the guard: string
literals, heredocs and quoted identifiers ending in a backslash or holding quotes (a
``UNION … system.tables`` smuggled in a literal would run if a quote came out unescaped; 20,000
spellings of up to four of ``\\ " ' ` $ a n x 0`` in each quoting were compared, sqlglot's reading
against chdb's, while writing this: all equal), numbers in the newer spellings (``1_000_000_000``,
``0b…``, ``0x…``, ``+n``, ``-(-n)``) as sizes of the functions that build data, function names
quoted or in another case, and the table and scalar functions ClickHouse added since round 8. And
grounding: 20 queries that write a value into their result (``REPLACE``, ``||``, ``format``, the
ternary, ``CASE``, pads, lambdas, tuples, a derived table or CTE, ``formatDateTime``'s pattern), each
value they returned cited as evidence: none grounds (with the provenance rule switched off, all 20 do).
"""

from __future__ import annotations

import pytest
import test_attack_sql_r7 as r7
from test_sql_attacks import connector, toolbox  # noqa: F401 - fixtures shared

from casefile.tools.base import Toolbox
from casefile.tools.errors import ReadOnlyViolation
from casefile.tools.sqlguard import guard_sql

REFUSED: list[tuple[str, str]] = [
    # table functions added or not named before
    ("table function", "SELECT * FROM icebergLocal('/var/lib/clickhouse/user_files/x')"),
    ("table function", "SELECT * FROM arrowFlight('127.0.0.1:1', 'dataset')"),
    ("table function", "SELECT * FROM timeSeriesData(requests)"),
    ("table function", "SELECT * FROM ytsaurus('http://127.0.0.1:1', '//t', 'token', 'a String')"),
    ("table function", "SELECT * FROM prometheusQuery(requests, 'up')"),
    ("table function", "SELECT * FROM hudi('http://127.0.0.1:1/t')"),
    ("table function", "SELECT * FROM paimon('http://127.0.0.1:1/t')"),
    ("table function", "SELECT * FROM mongodb('127.0.0.1:1', 'db', 'c', 'u', 'p', 'a String')"),
    ("table function", "SELECT * FROM redis('127.0.0.1:1', 'k', 'k String')"),
    ("table function", "SELECT * FROM primes(10)"),
    ("table function", "SELECT * FROM gcs('http://127.0.0.1:1/b/k')"),
    ("table function", "SELECT * FROM fileCluster('default', '/etc/passwd')"),
    ("table function", "SELECT * FROM mergeTreeProjection(currentDatabase(), requests, p)"),
    ("table function", "SELECT * FROM requests AS r JOIN icebergLocal('/x') AS i ON 1"),
    # server state and introspection not named before
    ("function", "SELECT zookeeperSessionUptime() FROM requests"),
    ("function", "SELECT connectionId() FROM requests"),
    ("function", "SELECT transactionID() FROM requests"),
    ("function", "SELECT currentSchemas(true) FROM requests"),
    ("function", "SELECT getTypeSerializationStreams('String') FROM requests"),
    ("function", "SELECT getSubcolumn(tuple(1), '1') FROM requests"),
    ("function", "SELECT arrayReduce('max', [1, 2]) FROM requests"),
    ("function", "SELECT arrayFold((acc, x) -> acc + x, [1, 2], 0) FROM requests"),
    ("function", "SELECT runningAccumulate(s) FROM (SELECT sumState(1) AS s FROM requests)"),
    ("function", "SELECT `hostName`() FROM requests"),
    ("function", 'SELECT "version"() FROM requests'),
    ("function", "SELECT HOSTNAME() FROM requests"),
    # sizes of the functions that build data, in the newer number spellings
    ("bomb", "SELECT repeat('a', 1_000_000_000) FROM requests"),
    ("bomb", "SELECT repeat('a', +200000000) FROM requests"),
    ("bomb", "SELECT repeat('a', -(-200000000)) FROM requests"),
    ("bomb", "SELECT range(0x10000000) FROM requests"),
    ("bomb", "SELECT range(0b1111111111111111111111111111) FROM requests"),
    ("bomb", "SELECT range(CAST(1e9 AS UInt64)) FROM requests"),
    ("bomb", "SELECT `range`(200000000) FROM requests"),
    ("bomb", "SELECT \"repeat\"('a', 200000000) FROM requests"),
    ("bomb", "SELECT LEFTPAD('a', 200000000) FROM requests"),
    ("bomb", "SELECT space(10000 + 10000) FROM requests"),
]

READS: list[str] = [
    # a literal that ends in a backslash, then a second one holding a UNION
    "SELECT $$x\\$$ AS a, ' UNION ALL SELECT account_id FROM webhook_deliveries --' AS b FROM requests",
    "SELECT 'x\\\\' AS a, ' UNION ALL SELECT account_id FROM webhook_deliveries --' AS b FROM requests",
    "SELECT $$x\\$$, $$ UNION ALL SELECT account_id FROM webhook_deliveries -- $$ FROM requests",
    "SELECT $tag$x\\$tag$ AS a, $tag$' UNION ALL SELECT account_id FROM sso_logins --$tag$ AS b FROM requests",
    "SELECT '\\x27 UNION ALL SELECT account_id FROM webhook_deliveries --' FROM requests",
    # quoted identifiers holding quotes and backticks
    'SELECT account_id AS `a"b` FROM requests',
    'SELECT account_id AS `a``" UNION ALL SELECT account_id FROM webhook_deliveries --` FROM requests',
    'SELECT account_id AS "a"" UNION ALL SELECT account_id FROM webhook_deliveries --" FROM requests',
    # another account named through heredocs and escapes
    "SELECT account_id FROM requests WHERE account_id = $$acme$$ OR account_id = $t$globex$t$",
    "SELECT account_id FROM requests WHERE account_id IN ($$acme$$, '\\x67lobex', 'umbrella')",
]


def test_round_nine_attempts_are_distinct() -> None:
    statements = [sql for _, sql in REFUSED] + READS
    assert len(statements) == len(set(statements))


@pytest.mark.parametrize(("attack", "sql"), REFUSED, ids=[f"{a}-{i}" for i, (a, _) in enumerate(REFUSED)])
async def test_hostile_sql_is_still_refused(toolbox: Toolbox, attack: str, sql: str) -> None:  # noqa: F811
    await r7.test_hostile_sql_is_refused_by_the_guard(toolbox, attack, sql)


@pytest.mark.parametrize("sql", READS)
async def test_regenerated_sql_reaches_no_other_account(toolbox: Toolbox, sql: str) -> None:  # noqa: F811
    await r7.test_another_account_is_not_reached(toolbox, sql)


def test_format_date_time_is_a_function_not_a_format_clause() -> None:
    """sqlglot 30 reads formatDateTime's pattern as a ``format`` argument; the FORMAT-clause rule refused
    every such query (an allowed function) until it looked at clauses only."""
    sql = guard_sql(
        "SELECT formatDateTime(ts, '%Y-%m-%d %H') AS hour, count() FROM requests GROUP BY hour",
        allowed_tables=["requests"],
        database="logs",
        max_rows=10,
    )
    assert "formatDateTime(" in sql
    for clause in ("SELECT 1 FROM requests FORMAT JSON", "SELECT 1 UNION ALL SELECT 2 FORMAT CSV"):
        with pytest.raises(ReadOnlyViolation, match="FORMAT"):
            guard_sql(clause, allowed_tables=["requests"], database="logs", max_rows=10)


# ---------------------------------------------------------------- grounding: a value the query wrote

# Each writes "FORGED" into a result value, on sqlglot 30's reading of the newer spellings; the value
# it returns (never its echo in the query, which is refused as such) is cited as evidence.
WRITTEN: list[str] = [
    "SELECT * REPLACE (concat(path, 'FORGED') AS path) FROM requests LIMIT 2",
    "SELECT r.* REPLACE (concat(r.path, 'FORGED') AS path) FROM requests AS r LIMIT 2",
    "SELECT path || 'FORGED' FROM requests LIMIT 2",
    "SELECT format('{}FORGED', path) FROM requests LIMIT 2",
    "SELECT replaceRegexpAll(path, '$', 'FORGED') FROM requests LIMIT 2",
    "SELECT replaceOne(path, substring(path, 1, 1), '/FORGED') FROM requests LIMIT 2",
    "SELECT multiIf(status > 0, concat(path, 'FORGED'), path) FROM requests LIMIT 2",
    "SELECT path = 'x' ? path : concat(path, 'FORGED') FROM requests LIMIT 2",
    "SELECT CASE path WHEN 'x' THEN path ELSE concat(path, 'FORGED') END FROM requests LIMIT 2",
    "SELECT leftPad(path, 40, 'FORGED') FROM requests LIMIT 2",
    "SELECT arrayStringConcat(splitByChar('/', path), 'FORGED') FROM requests LIMIT 2",
    "SELECT concatWithSeparator('FORGED', path, path) FROM requests LIMIT 2",
    "SELECT coalesce(NULL, concat(path, 'FORGED')) FROM requests LIMIT 2",
    "SELECT JSONExtractString(concat('{\"a\":\"', path, 'FORGED\"}'), 'a') FROM requests LIMIT 2",
    "SELECT arrayMap(x -> concat(x, 'FORGED'), [path]) FROM requests LIMIT 2",
    "SELECT tuple(path, concat(path, 'FORGED')) FROM requests LIMIT 2",
    "SELECT formatDateTime(ts, '%Y-FORGED') FROM requests LIMIT 2",
    "SELECT p FROM (SELECT concat(path, 'FORGED') AS p FROM requests) LIMIT 2",
    "WITH w AS (SELECT concat(path, 'FORGED') AS path FROM requests) SELECT path FROM w LIMIT 2",
    "SELECT upper(concat(path, 'forged')) AS path FROM requests LIMIT 2",
]


@pytest.mark.parametrize("sql", WRITTEN)
async def test_a_value_the_query_wrote_grounds_nothing(toolbox: Toolbox, sql: str) -> None:  # noqa: F811
    from test_sql_attacks import run

    from casefile.agent.diagnosis import Evidence
    from casefile.agent.grounding import check_evidence

    outcome = await run(toolbox, sql)
    assert outcome.ok, (sql, outcome.error)
    written = sorted({v for row in outcome.data["rows"] for v in _strings(row) if "FORGED" in v.upper()})
    assert written, f"nothing forged came back: the attack tests nothing ({outcome.data['rows'][:2]})"
    for value in written:
        cited = Evidence(call_id=outcome.call_id, value=value, claim="the logs show it")
        assert check_evidence(cited, {outcome.call_id: outcome}) is not None, (sql, value)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []
