"""The read-only guard in front of model-written ClickHouse SQL.

A model may ask ``logs_sql`` anything, so its text is treated as hostile. The
guard parses it with sqlglot's ClickHouse dialect (never regexes alone) and
returns SQL *regenerated from the checked syntax tree*: comments, hints and
anything the parser did not understand never reach the database. It accepts

* exactly one statement, a ``SELECT`` (``WITH`` and ``UNION``/``INTERSECT``/
  ``EXCEPT`` included);
* table references only to the allow-listed tables of the configured database
  (qualified with it on the way out) or to CTEs in scope;
* no table functions at all (``file``, ``url``, ``remote``, ``s3``, even the
  harmless ``numbers``: one rule is easier to trust than a list);
* no ``SETTINGS``, ``FORMAT``, ``INTO``/``INTO OUTFILE`` clauses, no query
  parameters, no ``WITH RECURSIVE``;
* no functions that read outside the allowed tables or have side effects:
  ``file()`` (readable even with ``readonly=1``), every ``dict*`` and
  ``joinGet*`` function (they read dictionaries and Join tables that are not
  on the allow-list), ``sleep``, server introspection;
* a ``LIMIT`` of at most ``max_rows`` on the outermost query.

Anything else raises :class:`~casefile.tools.errors.ReadOnlyViolation` with a reason a
model can act on. The guard is the first of several layers: the connector also
runs every query with ``readonly=1``, ``max_execution_time`` and
``max_result_rows`` (see ``tools/logs.py``).
"""

from __future__ import annotations

from collections.abc import Collection

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from casefile.tools.errors import ReadOnlyViolation

__all__ = ["FORBIDDEN_FUNCTIONS", "guard_sql"]

_SOURCE = "logs"
_DIALECT = "clickhouse"

# Lower-cased names. Prefixes below catch whole families (dictGetString, ...).
FORBIDDEN_FUNCTIONS = frozenset(
    {
        # file and network access (``file`` works as a scalar even with readonly=1)
        "file",
        "url",
        "s3",
        "hdfs",
        "remote",
        "remotesecure",
        "cluster",
        "clusterallreplicas",
        "mysql",
        "postgresql",
        "jdbc",
        "odbc",
        "input",
        "executable",
        "azureblobstorage",
        "gcs",
        "catboostevaluate",
        "modelevaluate",
        # reading tables that are not on the allow-list
        "joinget",
        "joingetornull",
        "hascolumnintable",
        "merge",
        # side effects and server introspection
        "sleep",
        "sleepeachrow",
        "getmacro",
        "getserversetting",
        "getserverport",
        "hostname",
        "fqdn",
        "filesystemavailable",
        "filesystemcapacity",
        "filesystemunreserved",
        "addresstoline",
        "addresstolinewithinlines",
        "addresstosymbol",
        "demangle",
        "currentuser",
        "currentroles",
        "currentprofiles",
        "enabledroles",
        "defaultroles",
        "initialqueryid",
        "queryid",
    }
)
_FORBIDDEN_PREFIXES = ("dict",)

# Statement kinds that are refused wherever they appear in the tree.
_WRITE_NODES: tuple[type[exp.Expr], ...] = (
    exp.DDL,
    exp.DML,
    exp.Command,
    exp.Set,
    exp.Use,
    exp.Kill,
    exp.TruncateTable,
    exp.Into,
    exp.Copy,
    exp.LoadData,
    exp.Pragma,
    exp.Describe,
    exp.Values,
)


def _refuse(reason: str) -> ReadOnlyViolation:
    return ReadOnlyViolation(_SOURCE, reason)


def guard_sql(sql: str, *, allowed_tables: Collection[str], database: str, max_rows: int) -> str:
    """Check one model-written query and return the SQL that is safe to run.

    The returned SQL is regenerated from the parsed tree, with allowed tables
    qualified by ``database`` and the outermost ``LIMIT`` forced to at most
    ``max_rows``. Raises :class:`ReadOnlyViolation` with the reason otherwise.
    """
    if max_rows < 1:
        raise ValueError("max_rows must be positive")
    _check_characters(sql)
    statements = _parse(sql)
    if len(statements) != 1:
        raise _refuse(f"exactly one statement is allowed, got {len(statements)}; send one SELECT per call")
    root = statements[0]
    if not isinstance(root, exp.Select | exp.SetOperation):
        raise _refuse(f"only SELECT queries are allowed, not {_statement_name(root)}")
    for node in root.walk():
        _check_node(node)
    _check_tables(root, set(allowed_tables), database)
    limited = _force_limit(root, max_rows)
    return limited.sql(dialect=_DIALECT, comments=False)


def _check_characters(sql: str) -> None:
    if not sql.strip():
        raise _refuse("the query is empty")
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in sql):
        raise _refuse("control characters are not allowed in a query")
    try:
        tokens = sqlglot.tokenize(sql, read=_DIALECT)
    except TokenError as exc:
        raise _refuse(f"the query could not be read: {exc}") from None
    for token in tokens:
        if token.token_type == TokenType.STRING:
            continue
        if not token.text.isascii():
            # Lookalike letters (Cyrillic 'е', full-width 'ＤＲＯＰ') only belong in string literals.
            raise _refuse(f"non-ASCII characters are only allowed inside string literals: {token.text!r}")
        if token.text.upper() in {"OUTFILE", "INFILE"}:
            raise _refuse("INTO OUTFILE / FROM INFILE would touch files and are not allowed")


def _parse(sql: str) -> list[exp.Expr]:
    try:
        parsed = sqlglot.parse(sql, read=_DIALECT, error_level=sqlglot.ErrorLevel.RAISE)
    except (ParseError, TokenError) as exc:
        first = str(exc).splitlines()[0]
        raise _refuse(f"the query could not be parsed as one ClickHouse SELECT ({first})") from None
    # Empty statements (a trailing ';') parse to None and do not count.
    return [statement for statement in parsed if statement is not None]


def _statement_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    return node.key.upper()


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name)
    return node.sql_name()


def _check_node(node: exp.Expr) -> None:
    if isinstance(node, _WRITE_NODES):
        raise _refuse(f"{_statement_name(node)} is not allowed: the logs are read-only")
    if node.args.get("settings"):
        raise _refuse("a SETTINGS clause is not allowed (query settings are fixed by the connector)")
    if node.args.get("format"):
        raise _refuse("a FORMAT clause is not allowed (results come back as rows)")
    if isinstance(node, exp.With) and node.args.get("recursive"):
        raise _refuse("WITH RECURSIVE is not allowed")
    if isinstance(node, exp.Placeholder):
        raise _refuse("query parameters are not supported; write literal values")
    if isinstance(node, exp.Func) and isinstance(node.parent, exp.Table) and node.parent.this is node:
        raise _refuse(f"table functions are not allowed ({_function_name(node)}); query the log tables")
    if isinstance(node, exp.Func):
        name = _function_name(node).lower()
        if name in FORBIDDEN_FUNCTIONS or name.startswith(_FORBIDDEN_PREFIXES):
            raise _refuse(
                f"function {_function_name(node)}() is not allowed (it reads outside the log tables)"
            )


def _cte_in_scope(table: exp.Table) -> bool:
    """Whether a bare table name refers to a CTE visible from where it is used.

    A CTE's own body does not see itself (no recursion) nor later CTEs, so
    ``WITH users AS (SELECT * FROM users)`` reads the real ``users`` table and
    must pass the allow-list like any other reference.
    """
    name = table.name
    parent = table.parent
    while parent is not None:
        with_ = parent.args.get("with_") if isinstance(parent, exp.Query) else None
        if isinstance(with_, exp.With):
            ctes = list(with_.expressions)
            visible = ctes
            for index, cte in enumerate(ctes):
                if _contains(cte, table):
                    visible = ctes[:index]
                    break
            if any(cte.alias == name for cte in visible):
                return True
        parent = parent.parent
    return False


def _contains(ancestor: exp.Expr, node: exp.Expr) -> bool:
    current: exp.Expr | None = node
    while current is not None:
        if current is ancestor:
            return True
        current = current.parent
    return False


def _check_tables(root: exp.Expr, allowed: set[str], database: str) -> None:
    for table in list(root.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            raise _refuse(
                f"table functions are not allowed ({table.this.sql(dialect=_DIALECT)[:60]}); "
                f"query one of: {', '.join(sorted(allowed))}"
            )
        if table.args.get("catalog"):
            raise _refuse(f"{table.sql(dialect=_DIALECT)} is not an allowed table")
        db = table.db
        if not db and _cte_in_scope(table):
            continue
        if db and db != database:
            raise _refuse(
                f"{db}.{table.name} is outside the logs database; allowed tables: "
                f"{', '.join(sorted(allowed))}"
            )
        if table.name not in allowed:
            raise _refuse(
                f"table {table.name!r} is not allowed; allowed tables: {', '.join(sorted(allowed))}"
            )
        table.set("db", exp.to_identifier(database))


def _force_limit(root: exp.Query, max_rows: int) -> exp.Query:
    if isinstance(root, exp.Select):
        limit = root.args.get("limit")
        if limit is None:
            return root.limit(max_rows, copy=False)
        if not limit.args.get("expressions"):  # a plain LIMIT, not LIMIT n BY ...
            value = limit.expression
            if not (isinstance(value, exp.Literal) and value.is_int and 0 <= int(value.this) <= max_rows):
                limit.set("expression", exp.Literal.number(max_rows))
            return root
    # UNION (whose LIMIT belongs to its last SELECT) and LIMIT BY: bound the whole result.
    return exp.select("*").from_(root.subquery("guarded")).limit(max_rows)
