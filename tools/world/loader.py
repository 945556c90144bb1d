"""A world: a snapshot of every system as files, served to the real connectors.

Loading a world means: its ClickHouse tables go into the process's embedded chdb
engine (one database per world, named by a hash of its files, so loading twice
is free), and its HTTP systems are served in-process by
:class:`tools.world.emulator.WorldTransport`. The connectors are then built
exactly as in production, with those two stand-ins as their client and
transport.

A world directory may name a base world in ``world.json`` (``{"base": "../base"}``):
every file the overlay has replaces the base's file at the same relative path.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

__all__ = ["World", "WorldError"]


class WorldError(Exception):
    """A world directory that cannot be loaded (missing or malformed file)."""


_LOAD_LOCK = threading.Lock()


class World:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).resolve()
        if not self.path.is_dir():
            raise WorldError(f"world not found: {path}")
        self.layers = self._layers(self.path)

    @staticmethod
    def _layers(path: Path) -> list[Path]:
        """The overlay chain, most specific first."""
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

    @cached_property
    def accounts(self) -> dict[str, dict[str, Any]]:
        data = self.read_json("accounts.json", {"accounts": []})
        try:
            return {a["id"]: a for a in data["accounts"]}
        except (KeyError, TypeError) as exc:
            raise WorldError(f"accounts.json: each account needs an id ({exc})") from None

    # ------------------------------------------------------------ ClickHouse

    @cached_property
    def database(self) -> str:
        """The chdb database this world lives in: a hash of everything that feeds it."""
        digest = hashlib.sha256()
        for name, path in sorted(self.files("clickhouse", "*").items()):
            digest.update(name.encode())
            digest.update(path.read_bytes())
        return "w_" + digest.hexdigest()[:16]

    def clickhouse(self) -> Any:
        """The embedded clickhouse-connect client with this world's tables loaded.

        Generating a world's rows takes most of a second, so the loaded tables are
        also written to a cache in ClickHouse's Native format (keyed by the same
        hash as the database); later processes read them back in milliseconds.
        """
        from tools.world.chdb import embedded_client, load_tables, parse_schema

        client = embedded_client()
        with _LOAD_LOCK:
            if self.database in _LOADED:
                return client
            schema_file = self.file("clickhouse/schema.sql")
            if schema_file is None:
                raise WorldError(f"{self.path}: clickhouse/schema.sql missing")
            schema_sql = schema_file.read_text(encoding="utf-8")
            tables = [name for name, _, _ in parse_schema(schema_sql, self.database)]
            cache = _cache_dir() / self.database
            if all((cache / f"{t}.native").is_file() for t in tables):
                load_tables(client, self.database, schema_sql, {})
                for table in tables:
                    _copy_native(client, f"INSERT INTO `{self.database}`.`{table}` SELECT * FROM file('{cache / table}.native', 'Native')")
            else:
                load_tables(client, self.database, schema_sql, self._table_data())
                _write_cache(client, self.database, tables, cache)
            _LOADED.add(self.database)
        return client

    def _table_data(self) -> dict[str, dict[str, list[Any]]]:
        from tools.world.traffic import generate

        tables: dict[str, dict[str, list[Any]]] = {}
        description = self.read_json("clickhouse/traffic.json")
        if description:
            tables.update(generate(description))
        for name, path in self.files("clickhouse", "*.jsonl").items():
            rows = []
            with path.open(encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    if line.strip():
                        try:
                            rows.append(json.loads(line))
                        except ValueError as exc:
                            raise WorldError(f"{path}:{n}: not valid JSON: {exc}") from None
            table = name.removesuffix(".jsonl")
            columns = tables.setdefault(table, {})
            _append_rows(columns, rows)
        return tables

    # ------------------------------------------------------------ HTTP systems

    @cached_property
    def transport(self) -> Any:
        from tools.world.emulator import build_transport

        return build_transport(self.path)

    def toolbox(self) -> Any:
        """A Toolbox of every connector, wired to this world's stand-ins."""
        from tools.registry import build_toolbox
        from tools.settings import ConnectorSettings, GitHubSettings, LogsSettings

        github = self.read_json("github.json", {"repos": {}})
        settings = ConnectorSettings(
            logs=LogsSettings(database=self.database),
            github=GitHubSettings(repos=sorted(github.get("repos", {}))),
        )
        return build_toolbox(settings, world=self)


_LOADED: set[str] = set()


def _cache_dir() -> Path:
    """Where loaded worlds are cached: $CASEFILE_CACHE_DIR, else ~/.cache/casefile/worlds."""
    root = os.environ.get("CASEFILE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "casefile"
    )
    return Path(root) / "worlds"


def _copy_native(client: Any, sql: str) -> None:
    from tools.world.chdb import ENGINE_LOCK

    with ENGINE_LOCK:
        client.command(sql)


def _write_cache(client: Any, database: str, tables: list[str], cache: Path) -> None:
    """Best effort: a cache that cannot be written only costs the next run time."""
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for table in tables:
            tmp = cache / f"{table}.native.{os.getpid()}.tmp"
            tmp.unlink(missing_ok=True)
            _copy_native(
                client,
                f"INSERT INTO FUNCTION file('{tmp}', 'Native') SELECT * FROM `{database}`.`{table}`",
            )
            tmp.replace(cache / f"{table}.native")
    except Exception:
        return


def _append_rows(columns: dict[str, list[Any]], rows: list[dict[str, Any]]) -> None:
    """Add row dicts to column lists; ISO strings in ``ts`` and ``*_at`` columns become datetimes."""
    from agent.templating import parse_ts

    if not rows:
        return
    existing = len(next(iter(columns.values()), []))
    for row in rows:
        for name in row:
            if name not in columns:
                columns[name] = [None] * existing
    for row in rows:
        for name, values in columns.items():
            value = row.get(name)
            if name == "ts" or name.endswith("_at"):
                value = parse_ts(value) or value
            values.append(value)
