"""Round-8 attacks on ``logs_sql``'s allow-list: this ClickHouse version's (26.x) newer syntax.

Same harness as ``test_attack_sql.py`` (the real tool: ``Toolbox.execute`` → guard → chdb, for an
investigation of ``stark``). Refused: statements that are not a SELECT (``EXPLAIN``, ``DESCRIBE``,
``SHOW``, ``EXISTS``, ``CHECK``), the newer table functions (``loop``, ``mergeTreeIndex``,
``viewIfPermitted``, ``viewExplain``, ``fuzzQuery``, ``icebergS3``…), another database named in
full, and functions that tell the server's infrastructure or schema or hold it (``hostName``,
``version``, ``getMacro``, ``getServerSetting``, ``hasColumnInTable``, ``sleepEachRow``…). May run
and return stark's rows only: ``QUALIFY``, ``PASTE JOIN``, comma and ``ASOF`` joins, ``EXCEPT`` and
``INTERSECT``, a subquery inside a lambda, ``COLUMNS``/``EXCEPT``/``APPLY``, ``GROUP BY ALL``,
``FROM``-first queries, ``WITH TIES``, ``IN`` a table's name, query parameters.
"""

from __future__ import annotations

import pytest
import test_attack_sql_r7 as r7
from test_sql_attacks import connector, toolbox  # noqa: F401 - fixtures shared

from casefile.tools.base import Toolbox

REFUSED: list[tuple[str, str]] = [
    ("statement", "EXPLAIN SELECT * FROM system.users"),
    ("statement", "EXPLAIN AST SELECT 1"),
    ("statement", "EXPLAIN PLAN SELECT * FROM requests"),
    ("statement", "DESCRIBE TABLE system.users"),
    ("statement", "DESC requests"),
    ("statement", "SHOW TABLES FROM system"),
    ("statement", "SHOW CREATE TABLE requests"),
    ("statement", "SHOW GRANTS"),
    ("statement", "EXISTS TABLE system.users"),
    ("statement", "CHECK TABLE requests"),
    ("statement", "SET param_a = 'acme'"),
    ("statement", "USE system"),
    ("statement", "DELETE FROM requests WHERE 1"),
    ("statement", "UPDATE requests SET account_id = 'x' WHERE 1"),
    ("statement", "TRUNCATE TABLE requests"),
    ("statement", "SYSTEM FLUSH LOGS"),
    ("statement", "KILL QUERY WHERE 1"),
    ("table function", "SELECT * FROM loop(requests) LIMIT 5"),
    ("table function", "SELECT * FROM loop(system.users) LIMIT 5"),
    ("table function", "SELECT * FROM mergeTreeIndex(currentDatabase(), requests)"),
    ("table function", "SELECT * FROM viewIfPermitted(SELECT * FROM system.users ELSE null('name String'))"),
    ("table function", "SELECT * FROM viewExplain('EXPLAIN', '', (SELECT 1))"),
    ("table function", "SELECT * FROM fuzzQuery('SELECT 1', 10)"),
    ("table function", "SELECT * FROM icebergS3('http://127.0.0.1:1/x')"),
    ("table function", "SELECT * FROM deltaLake('http://127.0.0.1:1/x')"),
    ("table function", "SELECT * FROM azureBlobStorage('DefaultEndpointsProtocol=http', 'c', 'b')"),
    ("table function", "SELECT * FROM clusterAllReplicas('default', system.users)"),
    ("table function", "SELECT * FROM s3Cluster('default', 'http://127.0.0.1:1/b/k')"),
    ("table function", "SELECT * FROM zeros(10)"),
    ("table function", "SELECT * FROM requests PASTE JOIN system.users"),
    (
        "table function",
        "SELECT * FROM requests AS r PASTE JOIN (SELECT * FROM url('http://127.0.0.1:1/')) AS u",
    ),
    ("database", "SELECT * FROM default.requests"),
    ("database", "SELECT * FROM _temporary_and_external_tables.requests"),
    ("database", "SELECT * FROM system.one"),
    ("database", "SELECT account_id FROM requests WHERE account_id IN system.users"),
    ("function", "SELECT hostName() FROM requests"),
    ("function", "SELECT fqdn() FROM requests"),
    ("function", "SELECT version() FROM requests"),
    ("function", "SELECT currentUser() FROM requests"),
    ("function", "SELECT currentDatabase() FROM requests"),
    ("function", "SELECT getMacro('replica') FROM requests"),
    ("function", "SELECT getServerSetting('tcp_port') FROM requests"),
    ("function", "SELECT getMergeTreeSetting('index_granularity') FROM requests"),
    ("function", "SELECT getSettingOrDefault('readonly', 0) FROM requests"),
    ("function", "SELECT hasColumnInTable('system', 'users', 'name') FROM requests"),
    ("function", "SELECT tcpPort() FROM requests"),
    ("function", "SELECT serverUUID() FROM requests"),
    ("function", "SELECT uptime() FROM requests"),
    ("function", "SELECT filesystemAvailable() FROM requests"),
    ("function", "SELECT getClientHTTPHeader('authorization') FROM requests"),
    ("function", "SELECT globalVariable('max_allowed_packet') FROM requests"),
    ("function", "SELECT sleepEachRow(3) FROM requests"),
    ("function", "SELECT sleep(3) FROM requests"),
    ("function", "SELECT generateSerialID('casefile') FROM requests"),
    ("function", "SELECT dictGetOrDefault('secrets', 'value', 1, 'x') FROM requests"),
    ("function", "SELECT dictHas('secrets', 1) FROM requests"),
    ("function", "SELECT formatQuery('SELECT 1') FROM requests"),
    ("function", "SELECT getOSKernelVersion() FROM requests"),
    ("function", "SELECT showCertificate() FROM requests"),
    ("function", "SELECT arrayMap(x -> hostName(), [1]) FROM requests"),
    ("function", "SELECT account_id FROM requests QUALIFY version() != ''"),
]

READS: list[str] = [
    "SELECT account_id FROM requests QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY ts) = 1",
    "SELECT r.account_id, w.account_id FROM requests AS r PASTE JOIN webhook_deliveries AS w",
    "SELECT w.account_id FROM requests AS r PASTE JOIN (SELECT account_id FROM webhook_deliveries) AS w",
    "SELECT w.account_id FROM requests AS r, webhook_deliveries AS w",
    "SELECT w.account_id FROM requests AS r ASOF LEFT JOIN webhook_deliveries AS w ON r.account_id = w.account_id AND r.ts >= w.ts",
    "SELECT account_id FROM webhook_deliveries EXCEPT SELECT account_id FROM requests",
    "SELECT account_id FROM webhook_deliveries INTERSECT SELECT account_id FROM requests",
    "SELECT arrayMap(x -> (SELECT any(account_id) FROM webhook_deliveries WHERE account_id != 'stark'), [1]) FROM requests",
    "SELECT COLUMNS('account') FROM requests",
    "SELECT * EXCEPT (request_headers) FROM requests LIMIT 5",
    "SELECT COLUMNS('account') APPLY(any) FROM webhook_deliveries",
    "SELECT account_id, count() FROM requests GROUP BY ALL",
    "SELECT account_id FROM requests ORDER BY ALL LIMIT 5",
    "FROM requests SELECT account_id LIMIT 5",
    "SELECT account_id FROM requests ORDER BY account_id LIMIT 1 WITH TIES",
    "SELECT account_id FROM requests WHERE account_id IN webhook_deliveries",
    "SELECT account_id FROM requests WHERE account_id != {a:String}",
    "SELECT account_id FROM requests WHERE account_id = 'stark' OR account_id IN (SELECT account_id FROM sso_logins)",
    "SELECT account_id FROM requests LEFT ARRAY JOIN [1, 2] AS x",
    "SELECT account_id FROM requests AS r WHERE EXISTS (SELECT 1 FROM webhook_deliveries AS w WHERE w.account_id != r.account_id)",
]


def test_round_eight_attempts_are_distinct() -> None:
    statements = [sql for _, sql in REFUSED] + READS
    assert len(statements) == len(set(statements))


@pytest.mark.parametrize(("attack", "sql"), REFUSED, ids=[f"{a}-{i}" for i, (a, _) in enumerate(REFUSED)])
async def test_newer_hostile_sql_is_refused(toolbox: Toolbox, attack: str, sql: str) -> None:  # noqa: F811
    await r7.test_hostile_sql_is_refused_by_the_guard(toolbox, attack, sql)  # the same verdict as round 7


@pytest.mark.parametrize("sql", READS)
async def test_newer_syntax_reaches_no_other_account(toolbox: Toolbox, sql: str) -> None:  # noqa: F811
    await r7.test_another_account_is_not_reached(toolbox, sql)
