"""Round-4 attacks on ``logs_sql``'s allow-list, beyond ``test_sql_attacks.py``'s.

Each query runs through the real tool (``Toolbox.execute`` → guard → chdb) for an investigation
of ``stark``, like the older suite: a hostile statement must be refused by the guard, and a
plain read may run but must return stark's rows only. These are the shapes that suite did not
try: other statement kinds, table expressions ClickHouse reads that are not tables, dollar
strings, lambdas and subqueries hidden in function arguments, the tenant predicate ORed or
NOTed away inside every clause, and inputs built to exhaust the parser.
"""

from __future__ import annotations

import time

import pytest
from test_sql_attacks import connector, leaked, run, toolbox  # noqa: F401 - fixtures shared

from casefile.tools.base import Toolbox

# (attack, query): refused by the guard, whatever the engine would have done.
REFUSED: list[tuple[str, str]] = [
    # other statement kinds
    ("statement", "EXPLAIN SELECT * FROM system.users"),
    ("statement", "EXPLAIN AST SELECT 1"),
    ("statement", "EXPLAIN PLAN SELECT * FROM requests"),
    ("statement", "DESCRIBE TABLE requests"),
    ("statement", "DESC system.users"),
    ("statement", "SHOW TABLES"),
    ("statement", "SHOW CREATE TABLE requests"),
    ("statement", "SHOW GRANTS"),
    ("statement", "EXISTS TABLE secrets"),
    ("statement", "CHECK TABLE requests"),
    ("statement", "KILL QUERY WHERE 1"),
    ("statement", "SYSTEM DROP DNS CACHE"),
    ("statement", "OPTIMIZE TABLE requests FINAL"),
    ("statement", "TRUNCATE TABLE requests"),
    ("statement", "ALTER TABLE requests DELETE WHERE 1"),
    ("statement", "DELETE FROM requests WHERE 1"),
    ("statement", "INSERT INTO requests SELECT * FROM requests"),
    ("statement", "CREATE TABLE x AS requests"),
    ("statement", "DROP TABLE requests"),
    ("statement", "RENAME TABLE requests TO r2"),
    ("statement", "USE system"),
    ("statement", "GRANT ALL ON *.* TO default"),
    ("statement", "WATCH requests"),
    ("statement", "SELECT * FROM (DESCRIBE TABLE secrets)"),
    ("statement", "SELECT * FROM (SHOW TABLES)"),
    ("statement", "SELECT 1 UNION ALL (SHOW DATABASES)"),
    # ; and what follows it
    ("multi", "SELECT 1; SELECT * FROM system.one"),
    ("multi", "SELECT 1;\nDROP TABLE requests"),
    ("multi", "SELECT 1 ; ; SELECT 2"),
    ("multi", "SELECT ';' AS a; SELECT * FROM system.users"),
    ("multi", "SELECT 1 -- ;\n; SELECT * FROM secrets"),
    # table functions not named in the older suite
    ("table function", "SELECT * FROM loop(requests)"),
    ("table function", "SELECT * FROM input('a String')"),
    ("table function", "SELECT * FROM format(JSONEachRow, '{\"a\": 1}')"),
    ("table function", "SELECT * FROM null('a String')"),
    ("table function", "SELECT * FROM hdfs('hdfs://h/x', CSV)"),
    ("table function", "SELECT * FROM jdbc('jdbc:x', 't')"),
    ("table function", "SELECT * FROM odbc('DSN=x', 't')"),
    ("table function", "SELECT * FROM sqlite('/tmp/x.db', 't')"),
    ("table function", "SELECT * FROM azureBlobStorage('x', 'c', 'b')"),
    ("table function", "SELECT * FROM deltaLake('https://x/y')"),
    ("table function", "SELECT * FROM iceberg('https://x/y')"),
    ("table function", "SELECT * FROM urlCluster('default', 'http://127.0.0.1/x')"),
    ("table function", "SELECT * FROM s3Cluster('default', 'https://b/x')"),
    ("table function", "SELECT * FROM fuzzJSON('{}')"),
    ("table function", "SELECT * FROM viewIfPermitted(SELECT * FROM system.users ELSE null('a String'))"),
    ("table function", "SELECT * FROM mergeTreeIndex(currentDatabase(), requests)"),
    ("table function", "SELECT * FROM requests AS r, numbers(3) AS n"),
    ("table function", "SELECT * FROM requests WHERE status IN (SELECT * FROM numbers(500))"),
    (
        "table function",
        "WITH t AS (SELECT * FROM url('http://127.0.0.1:1/', CSV, 'a String')) SELECT * FROM t",
    ),
    ("table function", "SELECT * FROM requests UNION ALL SELECT * FROM remote('127.0.0.1', db.requests)"),
    ("table function", "SELECT * FROM `url`('http://127.0.0.1:1/x', CSV, 'a String')"),
    ("table function", "SELECT * FROM URL('http://127.0.0.1:1/x', CSV, 'a String')"),
    # scalar functions that read the outside world or the server
    ("function", "SELECT url('http://127.0.0.1:1/')"),
    ("function", "SELECT currentQueryID()"),
    ("function", "SELECT initialQueryID()"),
    ("function", "SELECT tcpPort()"),
    ("function", "SELECT serverTimezone()"),
    ("function", "SELECT getOSKernelVersion()"),
    ("function", "SELECT getClientHTTPHeader('authorization')"),
    ("function", "SELECT currentRoles()"),
    ("function", "SELECT enabledRoles()"),
    ("function", "SELECT defaultProfiles()"),
    ("function", "SELECT errorCodeToName(1)"),
    ("function", "SELECT getMergeTreeSetting('index_granularity')"),
    ("function", "SELECT throwIf(1, 'x')"),
    ("function", "SELECT hasColumnInTable(currentDatabase(), 'secrets', 'v')"),
    ("function", "SELECT identity(file('/etc/passwd'))"),
    ("function", "SELECT arrayMap(x -> (SELECT count() FROM system.users), [1])"),
    ("function", "SELECT arrayFilter(x -> x IN (SELECT name FROM system.users), ['a'])"),
    (
        "function",
        "SELECT transform(path, (SELECT groupArray(name) FROM system.users), ['x'], '') FROM requests",
    ),
    ("function", "SELECT evalMLMethod(x, 1) FROM requests"),
    ("function", "SELECT joinGetOrNull('secrets', 'v', 1)"),
    ("function", "SELECT dictHas('secrets', toUInt64(1))"),
    ("function", "SELECT filesystemCapacity()"),
    ("function", "SELECT globalVariable('max_allowed_packet')"),
    ("function", "SELECT shardNum()"),
    ("function", "SELECT blockSerializedSize(file('/etc/passwd'))"),
    # settings, format, output smuggled into sub-clauses
    ("settings", "SELECT * FROM requests WHERE 1 SETTINGS additional_table_filters = {'requests': '1'}"),
    ("settings", "SELECT * FROM (SELECT 1 SETTINGS readonly = 0) AS x"),
    ("settings", "WITH x AS (SELECT * FROM requests SETTINGS max_rows_to_read = 0) SELECT * FROM x"),
    ("settings", "SELECT * FROM requests settings readonly=0"),
    ("settings", "SELECT * FROM requests\nSETTINGS\treadonly\n=\n0"),
    ("settings", "SELECT * FROM requests FORMAT Native"),
    ("settings", "SELECT * FROM requests format CSVWithNames"),
    ("settings", "SELECT * FROM requests INTO OUTFILE 'x' TRUNCATE"),
    ("settings", "SELECT * FROM requests INTO OUTFILE 'x' APPEND"),
    ("settings", "SELECT * FROM requests INTO OUTFILE 's3://b/x'"),
    # strings, comments and identifiers ClickHouse reads its own way
    ("quoting", "SELECT * FROM requests WHERE path = $$x$$ UNION ALL SELECT * FROM system.one"),
    ("quoting", "SELECT * FROM requests /* nested /* comment */ */ UNION ALL SELECT name FROM system.users"),
    ("quoting", "SELECT * FROM requests # comment\nUNION ALL SELECT name FROM system.users"),
    ("quoting", "SELECT * FROM requests #!shebang\nUNION ALL SELECT name FROM system.users"),
    ("quoting", 'SELECT * FROM "system"."users"'),
    ("quoting", "SELECT * FROM SYSTEM.ONE"),
    ("quoting", "SELECT * FROM sYsTeM.users"),
    ("quoting", "SELECT * FROM system . users"),
    ("quoting", "SELECT * FROM system/**/.users"),
    ("quoting", "SELECT * FROM `system.users`"),
    ("quoting", 'SELECT * FROM "secrets"'),
    ("quoting", "SELECT * FROM requests\u2028UNION ALL SELECT name FROM system.users"),
    ("quoting", "SELECT * FROM requеsts"),  # Cyrillic 'е'
    ("quoting", "SELECT * FROM requests\u200b"),
    ("quoting", "SELECT * FROM `requests\u200b`"),
    ("quoting", "SELECT * FROM ｒｅｑｕｅｓｔｓ"),
    ("quoting", 'SELECT * FROM requests WHERE x = "a" UNION ALL SELECT name FROM system.users'),
    ("quoting", "SELECT \\x66ile('/etc/passwd')"),
    # the scope: a CTE or alias shadowing a real table, reached from places the older suite did not
    ("scope", "WITH webhook_deliveries AS (SELECT * FROM requests) SELECT * FROM webhook_deliveries"),
    (
        "scope",
        "SELECT * FROM requests WHERE account_id IN (WITH requests AS (SELECT 1) SELECT * FROM requests)",
    ),
    ("scope", "SELECT * FROM requests FINAL WHERE account_id = 'acme'"),
    ("scope", "SELECT * FROM requests AS r FINAL"),
    ("scope", "SELECT * FROM requests SAMPLE 1/10 OFFSET 1/2"),
    ("scope", "SELECT * FROM requests ARRAY JOIN (SELECT groupArray(name) FROM system.users) AS u"),
    ("scope", "SELECT u FROM requests ARRAY JOIN (SELECT groupArray(v) FROM secrets) AS u"),
    ("scope", "SELECT u FROM requests LEFT ARRAY JOIN (SELECT groupArray(name) FROM system.tables) AS u"),
    ("scope", "SELECT u FROM requests ARRAY JOIN (SELECT groupArray(account_id) FROM db.requests) AS u"),
    (
        "scope",
        "SELECT u FROM requests AS r ARRAY JOIN (SELECT groupArray(endpoint_url) FROM webhook_deliveries) AS u",
    ),
    # a table in every clause and wrapper the older suite did not try
    ("position", "SELECT * FROM (system.tables)"),
    ("position", "SELECT * FROM ((system.tables))"),
    ("position", "SELECT * FROM requests JOIN (system.tables) ON 1"),
    ("position", "SELECT * FROM requests, (system.tables)"),
    ("position", "SELECT * FROM requests PASTE JOIN system.tables"),
    ("position", "SELECT * FROM requests NATURAL JOIN system.tables"),
    ("position", "SELECT * FROM requests ANY INNER JOIN system.tables USING name"),
    ("position", "SELECT * FROM requests SEMI LEFT JOIN system.tables USING name"),
    ("position", "SELECT * FROM requests ASOF JOIN system.tables USING name"),
    ("position", "SELECT * FROM requests AS r, LATERAL (SELECT * FROM system.tables) AS t"),
    ("position", "SELECT * FROM requests ARRAY JOIN [(SELECT groupArray(name) FROM system.tables)] AS a"),
    (
        "position",
        "SELECT * FROM requests ARRAY JOIN arrayMap(x -> x, (SELECT groupArray(name) FROM system.tables)) AS a",
    ),
    (
        "position",
        "SELECT * FROM requests ARRAY JOIN (SELECT groupArray(name) FROM (SELECT name FROM system.tables)) AS a",
    ),
    (
        "position",
        "SELECT * FROM requests ARRAY JOIN (WITH t AS (SELECT name FROM system.tables) SELECT groupArray(name) FROM t) AS a",
    ),
    ("position", "SELECT * FROM requests LIMIT (SELECT count() FROM system.tables)"),
    ("position", "SELECT * FROM requests ORDER BY (SELECT 1 FROM system.tables)"),
    ("position", "SELECT * FROM requests GROUP BY (SELECT 1 FROM system.tables)"),
    ("position", "SELECT * FROM requests LIMIT 1 BY (SELECT 1 FROM system.tables)"),
    ("position", "SELECT * FROM requests WINDOW w AS (PARTITION BY (SELECT 1 FROM system.tables))"),
    ("position", "SELECT * FROM requests QUALIFY (SELECT 1 FROM system.tables) = 1"),
    ("position", "SELECT * FROM requests WHERE path = ANY (SELECT name FROM system.tables)"),
    ("position", "SELECT * FROM requests WHERE (path, status) IN (SELECT name, 1 FROM system.tables)"),
    ("position", "SELECT * FROM requests WHERE has((SELECT groupArray(name) FROM system.tables), path)"),
    ("position", "SELECT [(SELECT 1 FROM system.tables)]"),
    ("position", "SELECT {'a': (SELECT 1 FROM system.tables)}"),
    ("position", "SELECT (1, (SELECT 1 FROM system.tables))"),
    ("position", "SELECT CAST((SELECT 1 FROM system.tables) AS String)"),
    ("position", "SELECT (SELECT 1 FROM system.tables)::String"),
    ("position", "SELECT * FROM requests INTERSECT DISTINCT SELECT * FROM system.tables"),
    # parameters: a value the engine fills in, the guard never sees
    ("parameter", "SELECT * FROM {t:Identifier}"),
    ("parameter", "SELECT * FROM requests WHERE account_id = {a:String}"),
    ("parameter", "SELECT * FROM requests WHERE account_id = $1"),
    ("parameter", "SELECT * FROM requests WHERE account_id = ?"),
]

# Reads that may run: the tenant predicate ORed, NOTed or joined away must still see stark only.
READS: list[str] = [
    # a backslash-escaped quote: one string literal to the guard and to ClickHouse alike
    "SELECT account_id FROM requests WHERE path = 'a\\' UNION ALL SELECT name FROM system.users -- '",
    "SELECT account_id FROM requests PREWHERE account_id = 'acme'",
    "SELECT account_id FROM requests PREWHERE account_id != 'stark' OR 1 = 1",
    "SELECT account_id FROM requests WHERE NOT (account_id = 'stark')",
    "SELECT account_id FROM requests WHERE account_id = 'stark' OR TRUE",
    "SELECT account_id FROM requests WHERE account_id = 'stark' OR NOT 0",
    "SELECT account_id FROM requests WHERE 1 OR account_id = 'acme'",
    "SELECT account_id FROM requests HAVING account_id = 'acme' OR 1",
    "SELECT account_id FROM requests WHERE account_id ILIKE '%'",
    "SELECT account_id FROM requests WHERE match(account_id, '.*')",
    "SELECT account_id FROM requests WHERE account_id IN ('acme', 'globex', 'umbrella', 'initech')",
    "SELECT account_id FROM requests WHERE lower(account_id) = 'acme'",
    "SELECT account_id FROM requests ORDER BY account_id = 'acme' DESC LIMIT 5",
    "SELECT arrayJoin([account_id, 'x']) AS a FROM requests WHERE a != 'stark'",
    "SELECT arrayJoin(groupUniqArray(account_id)) FROM requests",
    "SELECT groupArray(account_id) FROM requests ARRAY JOIN [1, 2] AS n",
    "SELECT account_id FROM requests AS r ARRAY JOIN [r.account_id] AS a WHERE a = 'acme'",
    "SELECT account_id FROM requests INTERSECT SELECT account_id FROM requests WHERE account_id = 'acme'",
    "SELECT account_id FROM requests EXCEPT SELECT 'stark'",
    "SELECT a.account_id FROM requests AS a CROSS JOIN requests AS b WHERE a.account_id != b.account_id",
    "SELECT b.account_id FROM requests AS a LEFT ANTI JOIN requests AS b ON a.account_id = b.account_id",
    "SELECT b.endpoint_url FROM requests AS a ASOF LEFT JOIN webhook_deliveries AS b "
    "ON a.account_id = b.account_id AND a.ts >= b.ts",
    "SELECT b.user_email FROM requests AS a GLOBAL ANY LEFT JOIN sso_logins AS b ON 1 = 1",
    "SELECT x.account_id FROM (SELECT account_id FROM requests) AS x WHERE x.account_id = 'acme' OR 1",
    "SELECT account_id FROM requests WHERE account_id IN (SELECT account_id FROM webhook_deliveries)",
    "SELECT * FROM (SELECT * FROM (SELECT * FROM (SELECT account_id FROM requests)))",
    "WITH (SELECT groupArray(account_id) FROM requests) AS ids SELECT arrayJoin(ids)",
    "SELECT account_id FROM requests WINDOW w AS (PARTITION BY account_id) ORDER BY account_id LIMIT 5",
    "SELECT account_id, count() OVER (PARTITION BY account_id) FROM requests WHERE account_id = 'acme'",
    "SELECT anyLast(account_id) FROM requests GROUP BY account_id WITH ROLLUP",
    "SELECT account_id FROM requests GROUP BY account_id WITH TOTALS",
    "SELECT DISTINCT ON (account_id) account_id FROM requests",
    "SELECT account_id FROM requests LIMIT 100 WITH TIES",
    "SELECT account_id FROM requests ORDER BY ts WITH FILL LIMIT 5",
    "SELECT COLUMNS('.*') FROM requests WHERE account_id = 'acme'",
    "SELECT * EXCEPT (request_id) FROM requests WHERE account_id = 'globex'",
    "SELECT requests.* FROM requests WHERE account_id = 'umbrella'",
]


def test_round_four_attempts_are_many_and_distinct() -> None:
    assert len(REFUSED) + len(READS) >= 180
    assert len({q for _, q in REFUSED}) == len(REFUSED) and len(set(READS)) == len(READS)


@pytest.mark.parametrize(("attack", "sql"), REFUSED, ids=[f"{a}-{i}" for i, (a, _) in enumerate(REFUSED)])
async def test_hostile_sql_is_refused_by_the_guard(toolbox: Toolbox, attack: str, sql: str) -> None:  # noqa: F811
    outcome = await run(toolbox, sql)
    assert not outcome.ok, (attack, sql, outcome.rendered[:200])
    assert outcome.error_kind == "read_only_violation", (sql, outcome.error)  # the guard, not the engine
    assert outcome.error and len(outcome.error.splitlines()) == 1


@pytest.mark.parametrize("sql", READS)
async def test_a_tenant_predicate_ored_away_still_sees_one_account(toolbox: Toolbox, sql: str) -> None:  # noqa: F811
    outcome = await run(toolbox, sql)
    # The engine may refuse what the rewrite makes of it (PREWHERE on a subquery): no rows, no leak.
    assert not leaked(outcome), (sql, leaked(outcome), outcome.rendered[:300])


# ---------------------------------------------------------------- inputs built to exhaust the parser


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT " + "(" * 5000 + "1" + ")" * 5000,
        "SELECT " + " + ".join(["1"] * 20000),
        "SELECT 1 FROM requests WHERE " + " OR ".join(f"status = {i}" for i in range(5000)),
        "SELECT " + "-" * 20000 + "1",
        "SELECT '" + "\\'" * 20000 + "'",
        "SELECT " + "arrayMap(x -> " * 2000 + "x" + ", [1])" * 2000,
        "SELECT 1 " + "UNION ALL SELECT 1 " * 3000,
        "SELECT * FROM " + "(SELECT * FROM " * 1000 + "requests" + ")" * 1000,
    ],
    ids=["parens", "sum", "ors", "negations", "escapes", "lambdas", "unions", "subqueries"],
)
async def test_a_query_built_to_exhaust_the_parser_is_refused_quickly(toolbox: Toolbox, sql: str) -> None:  # noqa: F811
    started = time.perf_counter()
    outcome = await run(toolbox, sql)
    took = time.perf_counter() - started
    assert not outcome.ok or not leaked(outcome)
    assert outcome.error_kind != "error" or "RecursionError" not in (outcome.error or ""), outcome.error
    assert took < 10.0, (took, outcome.error)  # a pathological parse would take minutes; slack for load
