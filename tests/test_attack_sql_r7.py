"""Round-7 attacks on ``logs_sql``'s allow-list: shapes rounds 4 and 6 did not try.

Same harness as ``test_attack_sql.py`` (the real tool: ``Toolbox.execute`` → guard → chdb, for an
investigation of ``stark``): comments and quoting ClickHouse reads its own way, look-alike and
invisible characters, CTEs shadowing names, table functions in every position (``url``, ``file``,
``remote``, ``s3``, ``executable``…), ``SETTINGS`` that would lift the read-only limits, ``FORMAT``
and ``INTO OUTFILE``, the system and information-schema tables spelt every way, and other accounts
reached through ``UNION``, subqueries, ``JOIN``, ``joinGet`` and dictionaries. A statement either
is refused by the guard or runs and returns stark's rows only.
"""

from __future__ import annotations

import pytest
from test_sql_attacks import connector, leaked, run, toolbox  # noqa: F401 - fixtures shared

from casefile.tools.base import Toolbox

# Must be refused by the guard (the engine never sees them).
REFUSED: list[tuple[str, str]] = [
    # comments and quoting
    ("comment", "SELECT/**/*/**/FROM/**/system.users"),
    ("comment", "SELECT * FROM system/* x */.users"),
    ("comment", "SELECT 1 # comment\nUNION ALL SELECT name FROM system.users"),
    ("comment", "SELECT 1 #!shebang\nUNION ALL SELECT name FROM system.tables"),
    ("comment", "SELECT 1 --\r\nUNION ALL SELECT name FROM system.databases"),
    ("quoting", 'SELECT * FROM "system"."users"'),
    ("quoting", "SELECT * FROM `system`.`tables`"),
    ("quoting", "SELECT * FROM `system.users`"),
    ("quoting", "SELECT * FROM SYSTEM.USERS"),
    ("quoting", "SELECT * FROM `INFORMATION_SCHEMA`.`TABLES`"),
    ("quoting", "SELECT * FROM information_schema.columns"),
    ("quoting", 'SELECT * FROM "requests"" UNION ALL SELECT name FROM system.users --"'),
    # look-alike and invisible characters around the names the guard checks
    ("unicode", "SELECT * FROM system\u200b.users"),
    ("unicode", "SELECT * FROM \uff53ystem.users"),  # full-width s
    ("unicode", "SELECT * FROM r\u0435quests"),  # Cyrillic e: an unknown table
    ("unicode", "SELECT * FROM requests\u00a0UNION ALL SELECT name FROM system.users"),
    ("unicode", "SELECT * FROM requests\u2028UNION ALL SELECT name FROM system.users"),
    # CTEs: a name shadowing a table, a CTE reading what the guard refuses
    ("cte", "WITH requests AS (SELECT * FROM system.users) SELECT * FROM requests"),
    ("cte", "WITH x AS (SELECT name FROM system.tables) SELECT * FROM requests, x"),
    ("cte", "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r) SELECT * FROM r"),
    ("cte", "WITH (SELECT any(name) FROM system.users) AS u SELECT u FROM requests"),
    # table functions in every position
    ("table function", "SELECT * FROM url('http://127.0.0.1:1/x', CSV, 'a String')"),
    ("table function", "SELECT * FROM file('/etc/passwd', LineAsString)"),
    ("table function", "SELECT * FROM remote('127.0.0.1', system.users)"),
    ("table function", "SELECT * FROM remoteSecure('127.0.0.1', default.requests)"),
    ("table function", "SELECT * FROM cluster('default', system.users)"),
    ("table function", "SELECT * FROM s3('http://127.0.0.1:1/b/k', CSV, 'a String')"),
    ("table function", "SELECT * FROM executable('cat /etc/passwd', TSV, 'a String')"),
    ("table function", "SELECT * FROM mysql('127.0.0.1:3306', 'db', 't', 'u', 'p')"),
    ("table function", "SELECT * FROM postgresql('127.0.0.1:5432', 'db', 't', 'u', 'p')"),
    ("table function", "SELECT * FROM merge(currentDatabase(), '.*')"),
    ("table function", "SELECT * FROM view(SELECT * FROM system.users)"),
    (
        "table function",
        "SELECT * FROM numbers(10) AS n JOIN url('http://127.0.0.1:1/', CSV, 'a String') AS u ON 1",
    ),
    (
        "table function",
        "SELECT * FROM requests WHERE account_id IN (SELECT * FROM file('x', CSV, 'a String'))",
    ),
    ("table function", "SELECT * FROM requests UNION ALL SELECT * FROM remote('h', default, requests)"),
    ("table function", "SELECT * FROM dictionary('secrets')"),
    ("table function", "SELECT * FROM generateRandom('a String') LIMIT 1"),
    ("table function", "SELECT * FROM URL('http://127.0.0.1:1/', CSV, 'a String')"),
    ("table function", "SELECT * FROM `url`('http://127.0.0.1:1/', CSV, 'a String')"),
    # scalar functions that reach outside the rows
    ("function", "SELECT dictGet('secrets', 'value', toUInt64(1)) FROM requests"),
    ("function", "SELECT joinGet('requests_join', 'account_id', 'acme') FROM requests"),
    ("function", "SELECT getSetting('readonly') FROM requests"),
    ("function", "SELECT file('/etc/passwd') FROM requests"),
    # settings and output
    ("settings", "SELECT * FROM requests SETTINGS readonly = 0"),
    ("settings", "SELECT * FROM requests SETTINGS max_result_rows = 0, result_overflow_mode = 'break'"),
    ("settings", "SELECT * FROM requests SETTINGS additional_table_filters = {'requests': '1'}"),
    ("settings", "SELECT * FROM (SELECT * FROM requests SETTINGS readonly = 0)"),
    ("format", "SELECT * FROM requests FORMAT JSONEachRow"),
    ("format", "SELECT * FROM requests INTO OUTFILE '/tmp/casefile-out.csv'"),
    ("format", "SELECT * FROM requests INTO OUTFILE '/tmp/x' FORMAT CSV"),
    # more than one statement
    ("multi", "SELECT 1;SELECT name FROM system.users"),
    ("multi", "SELECT 1/*;*/;SELECT 2"),
    ("multi", "SELECT 1;\u200bSELECT 2"),
]

# May run: must return stark's rows only.
READS: list[str] = [
    # ClickHouse nests comments: all of this after requests is one comment, to the guard too
    "SELECT account_id FROM requests /* /* nested */ UNION ALL SELECT name FROM system.users */",
    "SELECT account_id FROM requests UNION ALL SELECT account_id FROM webhook_deliveries",
    "SELECT account_id FROM requests UNION DISTINCT SELECT 'x'",
    "SELECT account_id FROM (SELECT account_id FROM requests UNION ALL SELECT account_id FROM requests)",
    "SELECT r.account_id FROM requests AS r JOIN webhook_deliveries AS w USING (account_id)",
    "SELECT w.account_id FROM requests AS r RIGHT JOIN webhook_deliveries AS w ON r.account_id = w.account_id",
    "SELECT w.account_id FROM requests AS r FULL OUTER JOIN webhook_deliveries AS w ON 1 = 1",
    "SELECT account_id FROM requests WHERE account_id GLOBAL IN (SELECT account_id FROM requests)",
    "SELECT (SELECT any(account_id) FROM requests WHERE account_id != 'stark') FROM requests",
    "SELECT account_id FROM requests WHERE account_id = 'stark' /* OR 1 */ OR 1",
    "WITH 'acme' AS a SELECT account_id FROM requests WHERE account_id = a",
    "WITH r AS (SELECT account_id FROM requests) SELECT account_id FROM r WHERE account_id != 'stark'",
    "SELECT `account_id` FROM `requests` WHERE `account_id` <> 'stark'",
    'SELECT "account_id" FROM "requests" WHERE "account_id" <> \'stark\'',
    "SELECT account_id FROM REQUESTS",
    "SELECT account_id FROM requests WHERE account_id = '\\x61cme'",
    "SELECT account_id FROM requests WHERE account_id = 'ac' || 'me'",
    "SELECT account_id FROM requests WHERE account_id = char(97, 99, 109, 101)",
    "SELECT account_id FROM requests LIMIT 1 BY account_id",
    "SELECT account_id FROM requests SAMPLE 1",
    "SELECT account_id FROM requests FINAL",
]


def test_round_seven_attempts_are_many_and_distinct() -> None:
    statements = [sql for _, sql in REFUSED] + READS
    assert len(statements) == len(set(statements)) >= 70


@pytest.mark.parametrize(("attack", "sql"), REFUSED, ids=[f"{a}-{i}" for i, (a, _) in enumerate(REFUSED)])
async def test_hostile_sql_is_refused_by_the_guard(toolbox: Toolbox, attack: str, sql: str) -> None:  # noqa: F811
    outcome = await run(toolbox, sql)
    assert not outcome.ok, (attack, sql, outcome.rendered[:200])
    assert outcome.error_kind in ("read_only_violation", "bad_arguments"), (
        sql,
        outcome.error_kind,
        outcome.error,
    )
    assert outcome.error and len(outcome.error.splitlines()) == 1


@pytest.mark.parametrize("sql", READS)
async def test_another_account_is_not_reached(toolbox: Toolbox, sql: str) -> None:  # noqa: F811
    outcome = await run(toolbox, sql)
    assert not leaked(outcome), (sql, leaked(outcome), outcome.rendered[:300])
