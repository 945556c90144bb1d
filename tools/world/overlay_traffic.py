"""An overlay world's logs: ``traffic.overlay.json`` merged into its base's ``traffic.json`` (with
the accounts each table must generate again), and the rows of its ``<table>.jsonl`` files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from casefile.tools.world.errors import WorldError

__all__ = ["SECTION_TABLE", "append_rows", "merge_traffic", "read_jsonl", "restrict"]

# Sections of traffic.json → the table they generate.
SECTION_TABLE = {"requests": "requests", "webhooks": "webhook_deliveries", "sso_logins": "sso_logins"}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    import gzip

    rows = []
    with (
        gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8") as fh
    ):
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise WorldError(f"{path}:{n}: not valid JSON: {exc}") from None
    return rows


def deep_merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = deep_merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(patch)


def merge_traffic(
    description: dict[str, Any], patch: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, set[str]]]:
    """Merge ``traffic.overlay.json`` into a description; also return the accounts touched per table."""
    merged = copy.deepcopy(description)
    reset = set(patch.get("reset") or [])
    dropped = set(patch.get("drop_anomalies") or [])
    touched: dict[str, set[str]] = {table: set() for table in SECTION_TABLE.values()}
    if "error_codes" in patch:
        merged["error_codes"] = {**(merged.get("error_codes") or {}), **patch["error_codes"]}

    old = merged.get("request_anomalies") or []
    keep = [a for a in old if a.get("id") not in dropped and a.get("account") not in reset]
    touched["requests"] |= {str(a.get("account")) for a in old if a not in keep}
    for account, spec in (patch.get("requests") or {}).items():
        merged.setdefault("requests", {})[account] = deep_merge(
            (merged.get("requests") or {}).get(account) or {}, spec
        )
        touched["requests"].add(account)
    added = list(patch.get("request_anomalies") or [])
    merged["request_anomalies"] = keep + added
    touched["requests"] |= {str(a.get("account")) for a in added}

    for section in ("webhooks", "sso_logins"):
        part = patch.get(section) or {}
        table = SECTION_TABLE[section]
        target = merged.setdefault(section, {})
        for key in ("anomalies", "events"):
            before = target.get(key) or []
            kept = [a for a in before if a.get("account") not in reset]
            touched[table] |= {str(a.get("account")) for a in before if a not in kept}
            added = list(part.get(key) or [])
            touched[table] |= {str(a.get("account")) for a in added}
            if before or added:
                target[key] = kept + added
        for account, spec in (part.get("accounts") or {}).items():
            accounts = target.setdefault("accounts", {})
            accounts[account] = deep_merge(accounts.get(account) or {}, spec)
            touched[table].add(account)
    return merged, {table: accounts for table, accounts in touched.items() if accounts}


def restrict(description: dict[str, Any], touched: dict[str, set[str]]) -> dict[str, Any]:
    """Only the touched accounts of each section (and their anomalies), for generating just those."""
    out = {k: v for k, v in description.items() if k not in (*SECTION_TABLE, "request_anomalies")}
    mine = touched.get("requests", set())
    if mine:
        out["requests"] = {a: s for a, s in (description.get("requests") or {}).items() if a in mine}
        out["request_anomalies"] = [
            a for a in description.get("request_anomalies") or [] if a.get("account") in mine
        ]
    for section in ("webhooks", "sso_logins"):
        mine = touched.get(SECTION_TABLE[section], set())
        part = description.get(section) or {}
        if not mine or not part:
            continue
        out[section] = {
            "accounts": {a: s for a, s in (part.get("accounts") or {}).items() if a in mine},
            **{
                key: [x for x in part.get(key) or [] if x.get("account") in mine]
                for key in ("anomalies", "events")
                if key in part
            },
        }
    return out


def append_rows(columns: dict[str, list[Any]], rows: list[dict[str, Any]]) -> None:
    """Add row dicts to column lists; ISO strings in ``ts`` and ``*_at`` columns become datetimes."""
    from casefile.tools.base import parse_ts

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
