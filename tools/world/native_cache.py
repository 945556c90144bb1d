"""The cache of loaded worlds' tables, as ClickHouse Native files (one a table) that load in
milliseconds where generating the rows again takes about a second a world."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["FULL", "OVERLAY", "cache_dir", "is_cached", "read_cache", "write_cache"]


def cache_dir() -> Path:
    """Where loaded worlds are cached: $CASEFILE_CACHE_DIR, else ~/.cache/casefile/worlds."""
    root = os.environ.get("CASEFILE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "casefile"
    )
    return Path(root) / "worlds"


def copy_native(client: Any, sql: str) -> None:
    from casefile.tools.world.chdb import ENGINE_LOCK

    with ENGINE_LOCK.exclusive():
        client.command(sql)


# Cache file suffixes: a world's full tables, and an overlay's own rows (zstd, because they
# are rewritten per case; ClickHouse picks the compression from the name).
FULL = ".native"
OVERLAY = ".native.zst"


def is_cached(cache: Path, tables: list[str], suffix: str) -> bool:
    return all((cache / f"{t}{suffix}").is_file() for t in tables)


def read_cache(client: Any, database: str, tables: list[str], cache: Path, suffix: str) -> None:
    for table in tables:
        copy_native(
            client,
            f"INSERT INTO `{database}`.`{table}` SELECT * FROM file('{cache / table}{suffix}', 'Native')",
        )


def write_cache(client: Any, database: str, tables: list[str], cache: Path, suffix: str) -> bool:
    """Best effort (a cache that cannot be written only costs the next run time); True if written."""
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for table in tables:
            # Written beside, then renamed: a concurrent reader never sees half a file.
            tmp = cache / f"tmp{os.getpid()}.{table}{suffix}"
            tmp.unlink(missing_ok=True)
            copy_native(
                client, f"INSERT INTO FUNCTION file('{tmp}', 'Native') SELECT * FROM `{database}`.`{table}`"
            )
            tmp.replace(cache / f"{table}{suffix}")
    except Exception:
        return False
    return True
