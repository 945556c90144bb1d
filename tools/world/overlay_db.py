"""An overlay world's ClickHouse database, loaded cheaply: a view per table over its base's rows
(minus the accounts the overlay describes again) and the overlay's own rows (those accounts'
regenerated traffic and its explicit ``<table>.jsonl`` rows), cached in Native format."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

from casefile.tools.world.errors import WorldError
from casefile.tools.world.native_cache import OVERLAY, cache_dir, is_cached, read_cache, write_cache
from casefile.tools.world.overlay_traffic import append_rows, merge_traffic, read_jsonl, restrict

if TYPE_CHECKING:
    from casefile.tools.world.loader import World

__all__ = ["OVERLAY_TRAFFIC", "is_cheap_overlay", "load_overlay"]

OVERLAY_TRAFFIC = "traffic.overlay.json"


def is_cheap_overlay(own: list[str], base: World) -> bool:
    """Whether an overlay's own ``clickhouse/`` files (``own``) can be loaded as views over ``base``."""
    base_files = set(base.files("clickhouse", "*"))
    return all(
        name == OVERLAY_TRAFFIC or (name.endswith((".jsonl", ".jsonl.gz")) and name not in base_files)
        for name in own
    )


def load_overlay(world: World, client: Any, base: World) -> None:
    """Copy the base's tables inside the engine, regenerate the accounts the overlay touches."""
    from casefile.tools.world.chdb import ENGINE_LOCK, load_tables, parse_schema
    from casefile.tools.world.traffic import generate

    base.clickhouse()
    schema_sql = world.schema_sql
    tables = [name for name, _, _ in parse_schema(schema_sql, world.database)]
    description = base.read_json("clickhouse/traffic.json") or {}
    patch = world.read_json(f"clickhouse/{OVERLAY_TRAFFIC}") or {}
    touched: dict[str, set[str]] = {}
    merged: dict[str, Any] = {}
    if patch:
        if not description:
            raise WorldError(f"{world.source}: {OVERLAY_TRAFFIC} needs a base world with traffic.json")
        merged, touched = merge_traffic(description, patch)
    # The overlay's own rows (generated + explicit) are cached compressed: small, and read back in ms.
    cache = cache_dir() / world.database
    listing = cache / "overlay.json"
    try:
        cached = json.loads(listing.read_text(encoding="utf-8")) if listing.is_file() else None
    except (OSError, ValueError):
        cached = None
    try:
        if isinstance(cached, list) and is_cached(cache, cached, OVERLAY):
            load_tables(client, world.database, schema_sql, {})
            read_cache(client, world.database, cached, cache, OVERLAY)
        else:
            data: dict[str, dict[str, list[Any]]] = {}
            if merged:
                try:
                    data = world.renamed(generate(restrict(merged, touched)))
                except ValueError as exc:
                    raise WorldError(f"{world.source}: {OVERLAY_TRAFFIC}: {exc}") from None
            for table, path in world.row_files().items():
                if path.parent.parent == world.layers[0]:
                    append_rows(data.setdefault(table, {}), read_jsonl(path))
            load_tables(client, world.database, schema_sql, data)
            own = sorted(t for t in data if t in tables)
            if write_cache(client, world.database, own, cache, OVERLAY):
                with contextlib.suppress(OSError):
                    listing.write_text(json.dumps(own), encoding="utf-8")
        # Each table becomes a view: the base's rows (minus the redescribed accounts) and
        # the overlay's own rows. Nothing is copied, so an overlay costs milliseconds.
        renames = world.renames()
        # the world's table → (its account column, the accounts the overlay redescribes)
        redescribed: dict[str, tuple[str, set[str]]] = {}
        for generated, accounts in touched.items():
            name, columns = renames.get(generated, (generated, {}))
            redescribed[name] = (columns.get("account_id", "account_id"), accounts)
        with ENGINE_LOCK.exclusive():
            for table in tables:
                account_column, skip = redescribed.get(table, ("account_id", set()))
                where = (
                    f" WHERE `{account_column}` NOT IN (" + ", ".join(_quote(a) for a in sorted(skip)) + ")"
                    if skip
                    else ""
                )
                db = f"`{world.database}`"
                client.command(f"RENAME TABLE {db}.`{table}` TO {db}.`_own_{table}`")
                client.command(
                    f"CREATE VIEW {db}.`{table}` AS SELECT * FROM `{base.database}`.`{table}`{where}"
                    f" UNION ALL SELECT * FROM {db}.`_own_{table}`"
                )
    except Exception as exc:
        with ENGINE_LOCK.exclusive():
            client.command(f"DROP DATABASE IF EXISTS `{world.database}`")
        if isinstance(exc, WorldError):
            raise
        raise WorldError(f"{world.source}: loading the ClickHouse overlay failed: {exc}") from None


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
