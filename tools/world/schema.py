"""The log schema of a world that names its tables differently: the canonical DDL, renamed.

Every world's log tables have the demo's columns and types (the traffic generator writes
those rows); only their names differ, as ``clickhouse/mapping.json`` declares. So a world
with a ``mapping.json`` and no ``schema.sql`` gets its DDL from here, and a world made
elsewhere with its own self-contained ``schema.sql`` keeps loading that file as it is.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp, parse

from casefile import PACKAGE_DIR
from casefile.tools.settings import LogsSettings, LogTableMap

__all__ = ["CANONICAL_SCHEMA", "MAPPED_COLUMNS", "Renames", "mapped_schema", "renames"]

# The demo's log schema is the canonical one: generated rows use its names.
CANONICAL_SCHEMA = PACKAGE_DIR / "examples" / "world" / "clickhouse" / "schema.sql"
# The LogTableMap fields that name a column (``table`` names the table).
MAPPED_COLUMNS = ("time", "account", "status", "path", "latency", "error")

# canonical table → (the world's table, {canonical column: the world's column})
Renames = dict[str, tuple[str, dict[str, str]]]


def renames(maps: Mapping[str, LogTableMap]) -> Renames:
    """What each canonical table and column is called in a world with these table maps
    (keys as in ``mapping.json``: ``requests``, ``webhooks``, ``sso``)."""
    defaults = LogsSettings()
    out: Renames = {}
    for key, mine in maps.items():
        canonical = getattr(defaults, key)
        columns = {
            getattr(canonical, f): getattr(mine, f)
            for f in MAPPED_COLUMNS
            if getattr(canonical, f) and getattr(mine, f)
        }
        out[canonical.table] = (mine.table, columns)
    return out


def mapped_schema(names: Renames, header: str, time_zone: str | None = None) -> str:
    """The canonical ``CREATE TABLE`` statements under the world's table and column names;
    with ``time_zone``, every time column is stored in that zone instead of UTC (a company
    whose log pipeline writes local time: the instants are the same, shown in its zone)."""
    statements = []
    for tree in parse(CANONICAL_SCHEMA.read_text(encoding="utf-8"), read="clickhouse"):
        if tree is None:
            continue
        table = tree.find(exp.Table)
        assert table is not None
        name, columns = names.get(table.name, (table.name, {}))
        table.set("this", exp.to_identifier(name))
        for ident in tree.find_all(exp.Identifier):
            if ident.this in columns and not isinstance(ident.parent, exp.Table):
                ident.set("this", columns[ident.this])
        if time_zone:
            for dtype in tree.find_all(exp.DataType):
                if dtype.this == exp.DataType.Type.DATETIME64:
                    dtype.set(
                        "expressions",
                        [dtype.expressions[0], exp.DataTypeParam(this=exp.Literal.string(time_zone))],
                    )
        statements.append(tree.sql(dialect="clickhouse", pretty=True, comments=False) + ";")
    return f"-- {header}\n\n" + "\n\n".join(statements) + "\n"
