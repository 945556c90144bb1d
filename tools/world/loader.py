"""A world: a snapshot of every system as files, served to the real connectors.

Loading a world means: its ClickHouse tables go into the process's embedded chdb
engine (one database per world, named by a hash of its files, so loading twice
is free), and its HTTP systems are served in-process by
:class:`casefile.tools.world.emulator.WorldTransport`. The connectors are then built
exactly as in production, with those two stand-ins as their client and
transport.

A world directory may name a base world in ``world.json`` (``{"base": "../base"}``):
every file the overlay has replaces the base's file at the same relative path.
The HTTP emulators and the SSO snapshots read one directory, so an overlay world
is served from a *merged view*: a cached directory holding the most specific copy
of every file (``World.path`` points to it; ``World.source`` is the overlay).

ClickHouse overlays are cheap, because regenerating a week of logs costs about a
second per world:

* an overlay without ``clickhouse/`` files shares its base's database;
* an overlay whose ``clickhouse/`` holds only ``traffic.overlay.json`` and/or
  ``<table>.jsonl`` files the base does not have gets a database built by
  copying the base's tables inside the engine (tens of milliseconds), minus the
  rows of the accounts the overlay redescribes, plus the rows generated for
  those accounts and the overlay's explicit rows;
* an overlay with its own ``traffic.json`` or ``schema.sql`` is generated in full.

A world whose log tables or columns are named differently from the demo's declares
them in ``clickhouse/mapping.json``, in the shape of ``[connectors.logs.requests]``
(:class:`~casefile.tools.settings.LogTableMap`)::

    {"requests": {"table": "api_calls", "time": "event_time", "account": "tenant_id",
                  "status": "http_status", "path": "route", "latency": "duration_ms",
                  "error": "error_type"},
     "webhooks": {...}, "sso": {...}}          # each key optional; the demo's names otherwise

The logs connector queries those names, and the rows ``traffic.json`` generates
(named like the demo's) are stored under them. Such a world needs no ``schema.sql``:
its tables are the demo's under the mapped names (``tools/world/schema.py``). A world
with its own ``schema.sql`` loads that file as it is; a mapped column that its table
does not have is a :class:`WorldError` naming the column and the mapping key.

``traffic.overlay.json`` is merged into the base's ``traffic.json``::

    {"requests": {"<account>": {...}},          # deep-merged into the base's spec (or a new account)
     "request_anomalies": [...],                # added
     "webhooks": {"accounts": {...}, "anomalies": [...]},
     "sso_logins": {"accounts": {...}, "anomalies": [...], "events": [...]},
     "drop_anomalies": ["<request anomaly id>"],# base request anomalies to remove
     "reset": ["<account>"]}                    # drop every base anomaly/event of these accounts

Every account an overlay section names (or whose anomalies change) is generated
again for that table; the others keep the base's rows unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casefile.tools.world.errors import WorldError
from casefile.tools.world.native_cache import FULL, cache_dir, is_cached, read_cache, write_cache
from casefile.tools.world.overlay_db import OVERLAY_TRAFFIC, is_cheap_overlay, load_overlay
from casefile.tools.world.overlay_traffic import (
    append_rows,
    merge_traffic,
    read_jsonl,
)

if TYPE_CHECKING:
    from casefile.tools.settings import LogsSettings, LogTableMap
    from casefile.tools.world.schema import Renames

__all__ = ["World", "WorldError"]


# Re-entrant: an overlay's load first loads its base world.
_LOAD_LOCK = threading.RLock()

MAPPING = "clickhouse/mapping.json"
SCHEMA = "clickhouse/schema.sql"
# mapping.json keys → the logs settings' field of the same name.
_MAPPED = ("requests", "webhooks", "sso")


class World:
    """A world directory (and its overlay chain), ready to serve the connectors.

    ``source`` is the directory given; ``path`` is the directory holding every
    file of the world: ``source`` itself, or for an overlay the merged view.
    """

    def __init__(self, path: str | Path) -> None:
        self.layers = self.layers_of(path)
        self.source = self.layers[0]
        self.path = self.source if len(self.layers) == 1 else self._merged_view()

    @staticmethod
    def layers_of(world: str | Path) -> list[Path]:
        """The overlay chain of the world directory ``world``, most specific first (resolved), without
        building an overlay's merged view: which worlds a case runs against, cheaply."""
        path = Path(world).resolve()
        if not path.is_dir():
            raise WorldError(f"world not found: {world}")
        layers = [path]
        seen = {path}
        while True:
            meta = layers[-1] / "world.json"
            if not meta.is_file():
                return layers
            try:
                base = json.loads(meta.read_text(encoding="utf-8")).get("base")
            except (OSError, ValueError) as exc:
                raise WorldError(f"{meta}: {exc}") from None
            if not base:
                return layers
            parent = (layers[-1] / base).resolve()
            if parent in seen or not parent.is_dir():
                raise WorldError(f"{meta}: base world {base!r} not found or circular")
            seen.add(parent)
            layers.append(parent)

    def file(self, relative: str) -> Path | None:
        """The most specific layer's copy of a world file, or None."""
        for layer in self.layers:
            candidate = layer / relative
            if candidate.exists():
                return candidate
        return None

    def read_json(self, relative: str, default: Any = None) -> Any:
        path = self.file(relative)
        if path is None:
            return default
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise WorldError(f"{path}: not valid JSON: {exc}") from None

    def files(self, directory: str, pattern: str) -> dict[str, Path]:
        """Relative name → file, over all layers (the specific layer wins)."""
        found: dict[str, Path] = {}
        for layer in reversed(self.layers):
            base = layer / directory
            if base.is_dir():
                for item in sorted(base.glob(pattern)):
                    found[item.name] = item
        return found

    def row_files(self) -> dict[str, Path]:
        """Table → its explicit rows file (``clickhouse/<table>.jsonl``, or ``.jsonl.gz`` compressed)."""
        found = {n.removesuffix(".gz"): p for n, p in self.files("clickhouse", "*.jsonl.gz").items()}
        found.update(self.files("clickhouse", "*.jsonl"))
        return {name.removesuffix(".jsonl"): path for name, path in found.items()}

    def _merged_view(self) -> Path:
        """A directory with the most specific copy of every non-ClickHouse file, cached by content."""
        chosen: dict[str, Path] = {}
        for layer in reversed(self.layers):
            for item in layer.rglob("*"):
                relative = item.relative_to(layer).as_posix()
                if item.is_file() and relative != "world.json" and not relative.startswith("clickhouse/"):
                    chosen[relative] = item
        digest = hashlib.sha256()
        for relative, item in sorted(chosen.items()):
            digest.update(relative.encode() + b"\0")
            digest.update(item.read_bytes())
        view = cache_dir().parent / "views" / digest.hexdigest()[:20]
        if view.is_dir():
            return view
        tmp = view.with_name(f"{view.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            for relative, item in chosen.items():
                target = tmp / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(item, target)  # same file system: free
                except OSError:
                    shutil.copyfile(item, target)
            try:
                tmp.rename(view)
            except OSError:  # another process built the same view first
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise WorldError(f"{self.source}: cannot build the merged view: {exc}") from None
        return view

    @cached_property
    def accounts(self) -> dict[str, dict[str, Any]]:
        data = self.read_json("accounts.json", {"accounts": []})
        try:
            return {a["id"]: a for a in data["accounts"]}
        except (KeyError, TypeError) as exc:
            raise WorldError(f"accounts.json: each account needs an id ({exc})") from None

    # ------------------------------------------------------------ ClickHouse

    @cached_property
    def _table_maps(self) -> dict[str, LogTableMap]:
        """``mapping.json``'s table maps, the demo's names for any section it leaves out."""
        from casefile.tools.settings import LogsSettings, LogTableMap

        defaults = LogsSettings()
        raw = self.read_json(MAPPING, {})
        if not isinstance(raw, dict) or set(raw) - set(_MAPPED):
            raise WorldError(f"{MAPPING}: expected an object with keys among {', '.join(_MAPPED)}")
        maps: dict[str, LogTableMap] = {}
        for key in _MAPPED:
            try:
                maps[key] = LogTableMap.model_validate(raw[key]) if key in raw else getattr(defaults, key)
            except ValueError as exc:
                raise WorldError(f"{MAPPING}: {key}: {exc}") from None
        return maps

    @cached_property
    def log_settings(self) -> LogsSettings:
        """The logs connector's settings for this world: its database and table mapping.

        Raises :class:`WorldError` when a mapped column is not in its own ``schema.sql``'s table.
        """
        from casefile.tools.settings import LogsSettings

        maps = self._table_maps
        schema_file = self.file(SCHEMA)
        if schema_file is not None:
            _check_mapping(maps, schema_file, declared=bool(self.read_json(MAPPING, {})))
        return LogsSettings(
            database=self.database,
            requests=maps["requests"],
            webhooks=maps["webhooks"],
            sso=maps["sso"],
            allowed_tables=[m.table for m in maps.values()],
        )

    def renames(self) -> Renames:
        """What each canonical table and column is called in this world (``mapping.json``)."""
        from casefile.tools.world.schema import renames

        return renames(self._table_maps)

    @cached_property
    def schema_sql(self) -> str:
        """The log tables' DDL: the world's own ``schema.sql``, else the demo's under mapping.json's names."""
        from casefile.tools.world.schema import mapped_schema

        schema_file = self.file(SCHEMA)
        if schema_file is not None:
            return schema_file.read_text(encoding="utf-8")
        if not self.files("clickhouse", "*"):
            raise WorldError(f"{self.source}: {SCHEMA} missing")
        return mapped_schema(self.renames(), f"Derived from the demo's schema and {MAPPING}.")

    def renamed(self, data: dict[str, dict[str, list[Any]]]) -> dict[str, dict[str, list[Any]]]:
        """Generated rows (by the demo's names) under this world's table and column names."""
        renames = self.renames()
        out: dict[str, dict[str, list[Any]]] = {}
        for table, columns in data.items():
            name, mapping = renames.get(table, (table, {}))
            out[name] = {mapping.get(c, c): values for c, values in columns.items()}
        return out

    @cached_property
    def database(self) -> str:
        """The chdb database this world lives in: a hash of everything that feeds it."""
        digest = hashlib.sha256()
        # The generator's own source is an input too: a change to it must not reuse a stale cache.
        for source in sorted((Path(__file__).parent / "traffic").glob("*.py")):
            digest.update(source.read_bytes())
        for name, path in sorted(self.files("clickhouse", "*").items()):
            digest.update(name.encode())
            digest.update(path.read_bytes())
        if self.file(SCHEMA) is None:  # derived: the canonical schema feeds it too
            from casefile.tools.world.schema import CANONICAL_SCHEMA

            digest.update(CANONICAL_SCHEMA.read_bytes())
        return "w_" + digest.hexdigest()[:16]

    def clickhouse(self) -> Any:
        """The embedded clickhouse-connect client with this world's tables loaded.

        Generating a world's rows takes most of a second, so the loaded tables are
        also written to a cache in ClickHouse's Native format (keyed by the same
        hash as the database); later processes read them back in milliseconds.
        """
        from casefile.tools.world.chdb import embedded_client, load_tables, parse_schema

        client = embedded_client()
        self.log_settings  # noqa: B018  (a bad mapping fails here, before anything loads)
        with _LOAD_LOCK:
            if self.database in _LOADED:
                return client
            if len(self.layers) > 1:
                own = _clickhouse_files(self.layers[0])
                base = World(self.layers[1])
                if not own:  # same files as the base, same database
                    base.clickhouse()
                    _LOADED.add(self.database)
                    return client
                if is_cheap_overlay(own, base):
                    load_overlay(self, client, base)
                    _LOADED.add(self.database)
                    return client
            schema_sql = self.schema_sql
            tables = [name for name, _, _ in parse_schema(schema_sql, self.database)]
            cache = cache_dir() / self.database
            if is_cached(cache, tables, FULL):
                load_tables(client, self.database, schema_sql, {})
                read_cache(client, self.database, tables, cache, FULL)
            else:
                load_tables(client, self.database, schema_sql, self._table_data())
                write_cache(client, self.database, tables, cache, FULL)
            _LOADED.add(self.database)
        return client

    def traffic_description(self) -> dict[str, Any] | None:
        """The effective traffic description: ``traffic.json`` with ``traffic.overlay.json`` merged in."""
        description = self.read_json("clickhouse/traffic.json")
        patch = self.read_json(f"clickhouse/{OVERLAY_TRAFFIC}")
        if not description or not patch:
            return description or None
        return merge_traffic(description, patch)[0]

    def _table_data(self) -> dict[str, dict[str, list[Any]]]:
        from casefile.tools.world.traffic import generate

        tables: dict[str, dict[str, list[Any]]] = {}
        description = self.traffic_description()
        if description:
            tables.update(self.renamed(generate(description)))
        for table, path in self.row_files().items():
            rows = read_jsonl(path)
            columns = tables.setdefault(table, {})
            append_rows(columns, rows)
        return tables

    # ------------------------------------------------------------ HTTP systems

    @cached_property
    def transport(self) -> Any:
        from casefile.tools.world.emulator import build_transport

        return build_transport(self.path)

    def toolbox(self) -> Any:
        """A Toolbox of every connector, wired to this world's stand-ins."""
        from casefile.tools.registry import build_toolbox
        from casefile.tools.settings import ConnectorSettings, GitHubSettings

        github = self.read_json("github.json", {"repos": {}})
        settings = ConnectorSettings(
            logs=self.log_settings,
            github=GitHubSettings(repos=sorted(github.get("repos", {}))),
        )
        return build_toolbox(settings, world=self)


_LOADED: set[str] = set()


def _check_mapping(maps: dict[str, LogTableMap], schema_file: Path, *, declared: bool) -> None:
    """Every mapped column of a table in ``schema.sql`` must be one of its columns."""
    from casefile.tools.world.chdb import parse_schema
    from casefile.tools.world.schema import MAPPED_COLUMNS

    try:
        schema = {name: columns for name, _, columns in parse_schema(schema_file.read_text("utf-8"), "w")}
    except ValueError as exc:
        raise WorldError(f"{schema_file}: {exc}") from None
    for key, mapping in maps.items():
        columns = schema.get(mapping.table)
        if columns is None:
            if key == "requests" and schema:  # a world may lack webhooks or SSO, never API requests
                hint = "" if declared else f"; declare the world's table and column names in {MAPPING}"
                raise WorldError(
                    f"{MAPPING}: {key}.table names table {mapping.table!r}, which {schema_file.name} does "
                    f"not have (tables: {', '.join(schema)}){hint}"
                )
            continue
        for field in MAPPED_COLUMNS:
            column = getattr(mapping, field)
            if column is not None and column not in columns:
                hint = "" if declared else f"; declare the world's column names in {MAPPING}"
                raise WorldError(
                    f"{MAPPING}: {key}.{field} names column {column!r}, which table {mapping.table!r} "
                    f"of {schema_file.name} does not have (columns: {', '.join(columns)}){hint}"
                )


def _clickhouse_files(layer: Path) -> list[str]:
    directory = layer / "clickhouse"
    return sorted(p.name for p in directory.iterdir() if p.is_file()) if directory.is_dir() else []
