"""The read-only guard in front of model-written ClickHouse SQL.

A model may ask ``logs_sql`` anything, so its text is treated as hostile. The
guard parses it with sqlglot's ClickHouse dialect (never regexes alone) and
returns SQL *regenerated from the checked syntax tree*: comments, hints and
anything the parser did not understand never reach the database. Everything is
an allow-list; whatever is not named below is refused:

* exactly one statement, a ``SELECT`` (``WITH`` and ``UNION``/``INTERSECT``/
  ``EXCEPT`` included), at most :data:`MAX_SQL_CHARS` long;
* every table reference, wherever it stands (``FROM``, ``JOIN``, subqueries,
  CTE bodies, ``IN (SELECT …)``), names an allow-listed table of the
  configured database, or a CTE visible from where it stands. ``IN table`` and
  ``IN (table)`` (ClickHouse reads a table there) are refused: write
  ``IN (SELECT column FROM table …)``. CTEs may not be named like a table,
  and are renamed on the way out, so a name the engine resolved differently
  from the guard would point at no table at all;
* every function call in the regenerated SQL (checked on its tokens, the names
  the engine will see) is in :data:`ALLOWED_FUNCTIONS`, an aggregate possibly
  with a combinator (``countIf``, ``quantilesExactIf``): aggregates,
  arithmetic, string, date/time, conditional, type conversion, JSON and a few
  array functions. Server introspection (``version()``, ``getSetting``,
  ``currentDatabase``, ``hostName``, …), table and file functions
  (``file``, ``url``, ``numbers``, …), ``dict*``/``joinGet*`` and the
  ``in``/``notIn`` function forms are not on it;
* functions that build data from a number (``repeat``, ``space``,
  ``leftPad``/``rightPad``, ``range``) take literal sizes of at most
  :data:`MAX_GENERATED` (a bomb like ``range(200000000)`` never reaches the
  engine, which would refuse it anyway, see below);
* no ``SETTINGS``, ``FORMAT``, ``INTO``/``INTO OUTFILE`` clauses, no query
  parameters, no ``WITH RECURSIVE``, no ``FINAL``/``SAMPLE``;
* a ``LIMIT`` of at most ``max_rows`` on the outermost query.

With a :class:`SqlScope` (the investigation's account) every reference to a
real table is replaced by a subquery of that table filtered on the table's
account column, so the query sees that account's rows and nothing else,
however it is written (joins, unions, subqueries, CTEs, aliases).

Anything else raises :class:`~casefile.tools.errors.ReadOnlyViolation` with a
reason a model can act on. The guard is the first of several layers: the
connector runs every query with ``readonly=1`` and the engine's own limits on
memory, rows and bytes read, result size and time (see ``tools/logs/``); the allowed functions are listed in :mod:`casefile.tools.sqlfunctions`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import Token, TokenType, exp
from sqlglot.errors import ParseError, TokenError

from casefile.tools.errors import ReadOnlyViolation
from casefile.tools.sqlfunctions import ALLOWED_FUNCTIONS, first_disallowed_call

__all__ = ["ALLOWED_FUNCTIONS", "MAX_GENERATED", "MAX_SQL_CHARS", "SqlScope", "guard_sql", "scope_filter"]

_SOURCE = "logs"
_DIALECT = "clickhouse"

MAX_SQL_CHARS = 20_000
# The largest literal size repeat/space/leftPad/rightPad/range may build.
MAX_GENERATED = 10_000
# Renamed CTEs: a name no real table has, so an unresolved reference fails instead of reading one.
_CTE_PREFIX = "casefile_cte_"


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


@dataclass(frozen=True)
class SqlScope:
    """The one account a query may see: each allowed table's account column and the account id."""

    account_id: str
    columns: Mapping[str, str]

    def column(self, table: str) -> str:
        try:
            return self.columns[table]
        except KeyError:
            raise ReadOnlyViolation(_SOURCE, f"table {table!r} has no account column configured") from None


def _refuse(reason: str) -> ReadOnlyViolation:
    return ReadOnlyViolation(_SOURCE, reason)


def guard_sql(
    sql: str,
    *,
    allowed_tables: Collection[str],
    database: str,
    max_rows: int,
    scope: SqlScope | None = None,
) -> str:
    """Check one model-written query and return the SQL that is safe to run.

    The returned SQL is regenerated from the parsed tree: allowed tables are
    qualified by ``database`` (with ``scope``, replaced by a subquery of the
    scope's account's rows), CTEs renamed, and the outermost ``LIMIT`` forced to
    at most ``max_rows``. Raises :class:`ReadOnlyViolation` with the reason otherwise.
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
    allowed = set(allowed_tables)
    for node in root.walk():
        _check_node(node, allowed)
    _rewrite_tables(root, allowed, database, scope)
    limited = _force_limit(root, max_rows)
    out = limited.sql(dialect=_DIALECT, comments=False)
    _check_calls(out)
    return out


def scope_filter(column: str, account_id: str) -> exp.Expr:
    """``column = 'account'`` as a tree: the one predicate that scopes a table to an account."""
    return exp.EQ(
        this=exp.column(exp.to_identifier(column, quoted=True)), expression=exp.Literal.string(account_id)
    )


# ---------------------------------------------------------------- reading the text


def _check_characters(sql: str) -> None:
    if not sql.strip():
        raise _refuse("the query is empty")
    if len(sql) > MAX_SQL_CHARS:
        raise _refuse(f"the query is {len(sql)} characters long; at most {MAX_SQL_CHARS} are allowed")
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in sql):
        raise _refuse("control characters are not allowed in a query")
    for token in _tokens(sql):
        if token.token_type == TokenType.STRING:
            continue
        if not token.text.isascii():
            # Lookalike letters (Cyrillic 'е', full-width 'ＤＲＯＰ') only belong in string literals.
            raise _refuse(f"non-ASCII characters are only allowed inside string literals: {token.text!r}")
        if token.text.upper() in {"OUTFILE", "INFILE"}:
            raise _refuse("INTO OUTFILE / FROM INFILE would touch files and are not allowed")


def _tokens(sql: str) -> list[Token]:
    try:
        return sqlglot.tokenize(sql, read=_DIALECT)
    except TokenError as exc:
        raise _refuse(f"the query could not be read: {exc}") from None


def _parse(sql: str) -> list[exp.Expr]:
    try:
        parsed = sqlglot.parse(sql, read=_DIALECT, error_level=sqlglot.ErrorLevel.RAISE)
    except (ParseError, TokenError) as exc:
        first = str(exc).splitlines()[0]
        raise _refuse(f"the query could not be parsed as one ClickHouse SELECT ({first})") from None
    except RecursionError:
        raise _refuse("the query is nested too deeply") from None
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


# ---------------------------------------------------------------- the tree


def _check_node(node: exp.Expr, allowed: set[str]) -> None:
    if isinstance(node, _WRITE_NODES):
        raise _refuse(f"{_statement_name(node)} is not allowed: the logs are read-only")
    if node.args.get("settings"):
        raise _refuse("a SETTINGS clause is not allowed (query settings are fixed by the connector)")
    if node.args.get("format") and not isinstance(node, exp.Func):
        # sqlglot 30 keeps formatDateTime's pattern as a function's ``format`` argument: not a clause.
        raise _refuse("a FORMAT clause is not allowed (results come back as rows)")
    if isinstance(node, exp.With) and node.args.get("recursive"):
        raise _refuse("WITH RECURSIVE is not allowed")
    if isinstance(node, exp.Placeholder | exp.Parameter):
        raise _refuse("query parameters are not supported; write literal values")
    if isinstance(node, exp.Final | exp.TableSample):
        raise _refuse("FINAL and SAMPLE are not supported in logs_sql")
    if isinstance(node, exp.Func) and isinstance(node.parent, exp.Table) and node.parent.this is node:
        raise _refuse(f"table functions are not allowed ({_function_name(node)}); query the log tables")
    if isinstance(node, exp.From) and not isinstance(node.this, exp.Table | exp.Subquery):
        # sqlglot reads ``FROM t`` inside an ARRAY JOIN's subquery as a column: a table the
        # allow-list and the account scope would never see.
        raise _refuse(
            f"FROM {node.this.sql(dialect=_DIALECT)[:60]}: only a table or a subquery may follow FROM"
        )
    if isinstance(node, exp.In):
        _check_in(node)
    if isinstance(node, exp.Column) and node.args.get("db"):
        raise _refuse(f"{node.sql(dialect=_DIALECT)}: qualify a column with its table or alias only")
    if isinstance(node, exp.CTE) and not node.args.get("scalar") and node.alias in allowed:
        raise _refuse(f"a CTE may not be named like the table {node.alias!r}; pick another name")
    _check_generated_size(node)


def _check_in(node: exp.In) -> None:
    # ClickHouse reads a table named on the right of IN, bare or in parentheses.
    if node.args.get("field") is not None:
        raise _refuse(
            f"IN {node.args['field'].sql(dialect=_DIALECT)} names a table; "
            "write IN (SELECT column FROM table WHERE …) or IN (literal, …)"
        )
    for item in node.expressions:
        while isinstance(item, exp.Paren):
            item = item.this
        if isinstance(item, exp.Column):
            raise _refuse(
                f"IN ({item.sql(dialect=_DIALECT)}) would read a table; "
                "write IN (SELECT column FROM table WHERE …) or IN (literal, …)"
            )


def _literal_int(node: exp.Expr | None) -> int | None:
    if isinstance(node, exp.Neg):
        inner = _literal_int(node.this)
        return None if inner is None else -inner
    if isinstance(node, exp.Paren):
        return _literal_int(node.this)
    if isinstance(node, exp.Literal) and node.is_int:
        return int(node.this)
    return None


def _check_generated_size(node: exp.Expr) -> None:
    """repeat/space/leftPad/rightPad/range: literal sizes up to MAX_GENERATED."""
    sizes: list[tuple[str, exp.Expr | None]] = []
    if isinstance(node, exp.Repeat):
        sizes = [("repeat", node.args.get("times"))]
    elif isinstance(node, exp.Space):
        sizes = [("space", node.this)]
    elif isinstance(node, exp.Pad):
        sizes = [("leftPad/rightPad", node.args.get("expression"))]
    elif isinstance(node, exp.Anonymous) and str(node.name).lower() == "range":
        bounds = [_literal_int(arg) for arg in node.expressions]
        if not node.expressions or any(b is None for b in bounds):
            raise _refuse("range() takes literal integer bounds")
        values = [b for b in bounds if b is not None]
        start, stop = (0, values[0]) if len(values) == 1 else (values[0], values[1])
        step = values[2] if len(values) > 2 else 1
        if step == 0 or not 0 <= (stop - start) // step <= MAX_GENERATED:
            raise _refuse(f"range() may build at most {MAX_GENERATED} elements")
        return
    for name, size in sizes:
        value = _literal_int(size)
        if value is None or not 0 <= value <= MAX_GENERATED:
            raise _refuse(f"{name}() takes a literal size of at most {MAX_GENERATED}")


def _visible_cte(table: exp.Table) -> exp.CTE | None:
    """The CTE a bare table name refers to, if one is visible from where it is used.

    A CTE's own body does not see itself (no recursion) nor later CTEs, so
    ``WITH c AS (SELECT * FROM c)`` reads a real table ``c``, which must pass
    the allow-list like any other reference. ``WITH 1 AS x`` is an alias, not a table.
    """
    name = table.name
    parent = table.parent
    while parent is not None:
        with_ = parent.args.get("with_") if isinstance(parent, exp.Query) else None
        if isinstance(with_, exp.With):
            ctes = [c for c in with_.expressions if isinstance(c, exp.CTE)]
            visible = ctes
            for index, cte in enumerate(ctes):
                if _contains(cte, table):
                    visible = ctes[:index]
                    break
            for cte in reversed(visible):
                if cte.alias == name and not cte.args.get("scalar"):
                    return cte
        parent = parent.parent
    return None


def _contains(ancestor: exp.Expr, node: exp.Expr) -> bool:
    current: exp.Expr | None = node
    while current is not None:
        if current is ancestor:
            return True
        current = current.parent
    return False


def _rewrite_tables(root: exp.Expr, allowed: set[str], database: str, scope: SqlScope | None) -> None:
    """Qualify (or, with a scope, replace by the account's rows) every table; rename CTEs."""
    refs: list[tuple[exp.Table, exp.CTE | None]] = []
    for table in list(root.find_all(exp.Table)):
        refs.append((table, _check_table(table, allowed, database)))
    ctes = [c for c in root.find_all(exp.CTE) if not c.args.get("scalar")]
    renamed = {id(cte): f"{_CTE_PREFIX}{index}" for index, cte in enumerate(ctes)}
    scoped: list[exp.Table] = []
    for table, cte in refs:
        alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name))
        if cte is not None:
            table.set("this", exp.to_identifier(renamed[id(cte)]))
            table.set("alias", alias)
            continue
        real = exp.Table(this=exp.to_identifier(table.name), db=exp.to_identifier(database))
        scoped.append(real)
        if scope is None:
            real.set("alias", table.args.get("alias"))
            table.replace(real)
            continue
        rows = (
            exp.select("*")
            .from_(real, copy=False)
            .where(scope_filter(scope.column(table.name), scope.account_id), copy=False)
        )
        table.replace(exp.Subquery(this=rows, alias=alias))
    for cte in ctes:
        cte.set(
            "alias", exp.TableAlias(this=exp.to_identifier(renamed[id(cte)]), columns=cte.alias_column_names)
        )
    _verify_tables(root, scoped, set(renamed.values()))


def _check_table(table: exp.Table, allowed: set[str], database: str) -> exp.CTE | None:
    """Refuse a table reference that is not allowed; the CTE it names, if it names one."""
    if not isinstance(table.this, exp.Identifier):
        raise _refuse(
            f"table functions are not allowed ({table.this.sql(dialect=_DIALECT)[:60]}); "
            f"query one of: {', '.join(sorted(allowed))}"
        )
    extra = [key for key, value in table.args.items() if value and key not in {"this", "db", "alias"}]
    if extra:
        raise _refuse(
            f"{table.sql(dialect=_DIALECT)[:80]}: only a plain table name (and an alias) is allowed"
        )
    alias = table.args.get("alias")
    if isinstance(alias, exp.TableAlias) and alias.columns:
        raise _refuse("column aliases on a table (AS t(a, b)) are not supported; alias the columns")
    db = table.db
    if not db:
        cte = _visible_cte(table)
        if cte is not None:
            return cte
    if db and db != database:
        raise _refuse(
            f"{db}.{table.name} is outside the logs database; allowed tables: {', '.join(sorted(allowed))}"
        )
    if table.name not in allowed:
        raise _refuse(f"table {table.name!r} is not allowed; allowed tables: {', '.join(sorted(allowed))}")
    return None


def _verify_tables(root: exp.Expr, made: list[exp.Table], cte_names: set[str]) -> None:
    """Every table left in the tree is one the rewrite made or a renamed CTE (a second look)."""
    made_ids = {id(t) for t in made}
    for table in root.find_all(exp.Table):
        if id(table) in made_ids or (not table.db and table.name in cte_names):
            continue
        raise _refuse(f"table {table.sql(dialect=_DIALECT)[:60]} could not be checked")  # pragma: no cover


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


def _check_calls(sql: str) -> None:
    """Every ``name(`` in the SQL the engine will run is an allowed function or syntax."""
    token = first_disallowed_call(_tokens(sql))
    if token is not None:
        raise _refuse(
            f"function {token.text}() is not allowed in logs_sql (aggregates, arithmetic, string, "
            "date/time, conditional, conversion, JSON and a few array functions are)"
        )
