"""Which columns of a model-written SELECT hold data, and which hold values the model wrote.

``SELECT 'FORGED-FACT'`` (or ``count() * 0 + 5000``, ``if(count() > 0, 'refund approved', '')``,
``WITH 'x' AS path SELECT path FROM requests``) returns a value the query's author chose;
such a value must never ground evidence. :func:`authored_columns` reads the query that
actually ran (parsed with sqlglot) and names the result columns whose values may have
been written by the query rather than read from a table.

A projection is *data* when every literal in it sits where it cannot become the value:
inside a comparison or boolean condition (``countIf(status >= 500)``), in a condition of
``if``/``CASE``, or in a parameter position (``round(x, 2)``, ``quantile(0.95)(x)``,
``INTERVAL 5 MINUTE``, a timezone of ``toDate(ts, 'Europe/Berlin')``); and it reads at
least one column or ``count()`` (``now()``, ``rand()`` read nothing). Anything the
analysis does not understand counts as authored: a table function, an ``ARRAY JOIN``,
a scalar ``WITH``, a derived table, CTE or ``UNION`` branch with an authored
projection taints every column; a query that does not parse taints them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlglot
from sqlglot import exp

__all__ = ["ALL_COLUMNS", "authored_columns", "sql_evidence"]

# Returned when nothing in the result may ground evidence.
ALL_COLUMNS: frozenset[str] = frozenset({"*"})

# Functions whose later arguments only shape the first one (a timezone, a unit, a precision).
_SHAPING_FUNCTIONS = frozenset(
    name.lower()
    for name in (
        "toDate",
        "toDate32",
        "toDateTime",
        "toDateTime64",
        "toTimeZone",
        "toTimezone",
        "toStartOfYear",
        "toStartOfQuarter",
        "toStartOfMonth",
        "toStartOfWeek",
        "toMonday",
        "toStartOfDay",
        "toStartOfHour",
        "toStartOfMinute",
        "toStartOfFiveMinutes",
        "toStartOfFiveMinute",
        "toStartOfTenMinutes",
        "toStartOfFifteenMinutes",
        "toStartOfInterval",
        "toYear",
        "toMonth",
        "toDayOfMonth",
        "toDayOfWeek",
        "toHour",
        "toMinute",
        "toYYYYMM",
        "toYYYYMMDD",
        "round",
        "floor",
        "ceil",
        "roundBankers",
    )
)
# Argument names of sqlglot's typed functions that are parameters, not values.
_PARAMETER_ARGS = frozenset({"decimals", "quantile", "unit", "zone", "to"})


def _literal_value(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal | exp.Null | exp.Boolean | exp.Placeholder | exp.Parameter)


class _Analysis:
    def __init__(self, tree: exp.Expression) -> None:
        self.tree = tree
        self.aliases: dict[str, list[exp.Expression]] = {}
        for alias in tree.find_all(exp.Alias):
            self.aliases.setdefault(alias.alias.lower(), []).append(alias.this)
        self._alias_taint: dict[str, bool] = {}

    def alias_authored(self, name: str) -> bool:
        if name in self._alias_taint:
            return self._alias_taint[name]
        self._alias_taint[name] = False  # a self-reference (``status AS status``) is the column
        authored = any(self.authored(e) for e in self.aliases.get(name, []))
        self._alias_taint[name] = authored
        return authored

    def authored(self, node: exp.Expression) -> bool:
        """True when the value of ``node`` may have been written by the query's author."""
        return self._writes(node) or not self._reads(node)

    def _writes(self, node: exp.Expression) -> bool:
        if _literal_value(node):
            return True
        if isinstance(node, exp.Predicate | exp.Connector | exp.Not | exp.Interval | exp.DataType):
            return False  # a condition yields 0/1; an interval or a type only shapes a value
        if isinstance(node, exp.Column):
            return self.alias_authored(node.name.lower())
        if isinstance(node, exp.Star):
            return False
        if isinstance(node, exp.Select):
            return any(self.authored(p) for p in node.expressions)
        if isinstance(node, exp.If):
            return any(
                self._writes(n) for n in (node.args.get("true"), node.args.get("false")) if n is not None
            )
        if isinstance(node, exp.Case):
            branches = [i.args.get("true") for i in node.args.get("ifs") or []] + [node.args.get("default")]
            return any(self._writes(b) for b in branches if b is not None)
        if isinstance(node, exp.Anonymous) and str(node.this).lower() in _SHAPING_FUNCTIONS:
            first = node.expressions[:1]
            return any(self._writes(a) for a in first) if first else True
        for key, value in node.args.items():
            if key in _PARAMETER_ARGS and node.this is not None and key != "this":
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, exp.Expression) and self._writes(child):
                    return True
        return False

    def _reads(self, node: exp.Expression) -> bool:
        """True when ``node`` depends on a table's rows (a column, ``*``, ``count()``)."""
        if isinstance(node, exp.Column):
            return not self.alias_authored(node.name.lower())
        if isinstance(node, exp.Star | exp.Count):
            return True
        return any(self._reads(child) for child in node.iter_expressions())


def _sources_authored(tree: exp.Expression, analysis: _Analysis) -> bool:
    """True when some row source or shared definition could inject values into every column."""
    if any(True for _ in tree.find_all(exp.WithFill)) or any(
        node.args.get("interpolate") for node in tree.find_all(exp.Order)
    ):
        return True  # WITH FILL FROM/TO/STEP makes rows, INTERPOLATE fills them with the author's values
    for node in tree.find_all(exp.CTE):
        if node.args.get("scalar") or analysis.authored(node.this):
            return True
    for join in tree.find_all(exp.Join):
        if str(join.args.get("kind") or "").upper() == "ARRAY":
            return True
    for source in [f.this for f in tree.find_all(exp.From)] + [j.this for j in tree.find_all(exp.Join)]:
        inner = source.this if isinstance(source, exp.Alias) else source
        if isinstance(inner, exp.Subquery | exp.Select | exp.Union):
            body = inner.unnest() if isinstance(inner, exp.Subquery) else inner
            if not isinstance(body, exp.Expression) or analysis.authored(body):
                return True
            continue
        if not isinstance(inner, exp.Table) or not isinstance(inner.this, exp.Identifier):
            return True  # a table function, VALUES, or something not understood
    for union in tree.find_all(exp.SetOperation):
        for branch in (union.this, union.expression):
            if analysis.authored(branch):
                return True
    return False


def authored_columns(sql: str, columns: Sequence[str]) -> frozenset[str]:
    """Names among ``columns`` (the result's) whose values the query may have written itself.

    :data:`ALL_COLUMNS` when no column can be trusted.
    """
    try:
        tree = sqlglot.parse_one(sql, read="clickhouse")
    except sqlglot.errors.SqlglotError:
        return ALL_COLUMNS
    if not isinstance(tree, exp.Select):
        return ALL_COLUMNS  # UNION and anything else at the top: no per-column mapping
    analysis = _Analysis(tree)
    if _sources_authored(tree, analysis):
        return ALL_COLUMNS
    projections = tree.expressions
    # ``t.*`` is a column whose name is a star; it expands like ``*`` (and REPLACE may write into it).
    has_star = any(_is_star(p) for p in projections)
    authored: set[str] = set()
    if not has_star and len(projections) == len(columns):
        for name, projection in zip(columns, projections, strict=True):
            if analysis.authored(projection):
                authored.add(name)
        return frozenset(authored)
    by_name = {p.alias_or_name.lower(): p for p in projections if not _is_star(p)}
    for name in columns:
        projection = by_name.get(name.lower())
        if projection is not None:
            if analysis.authored(projection):
                authored.add(name)
        elif not has_star or analysis.alias_authored(name.lower()):
            authored.add(name)
    return frozenset(authored)


def _is_star(node: exp.Expression) -> bool:
    return isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star))


def sql_evidence(data: Any) -> list[dict[str, Any]]:
    """The rows of a ``logs_sql`` result that may ground evidence: only columns read from tables.

    The echoed query and the column names (aliases the model chose) are left out.
    """
    if not isinstance(data, Mapping):
        return []
    columns = [str(c) for c in data.get("columns") or []]
    authored = authored_columns(str(data.get("sql") or ""), columns)
    if authored is ALL_COLUMNS:
        return []
    keep = [(i, name) for i, name in enumerate(columns) if name not in authored]
    return [
        {name: row[i] for i, name in keep if i < len(row)}
        for row in data.get("rows") or []
        if isinstance(row, Sequence) and not isinstance(row, str)
    ]
