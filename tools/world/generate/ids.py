"""Deterministic ids and times: every generated id is a hash of fixed strings."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime

__all__ = ["b62", "iso", "months", "node_id", "sha", "sid", "slug", "ts"]

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def ts(value: str) -> int:
    """ISO 8601 (Z) → Unix seconds, as Stripe sends times."""
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def iso(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def b62(seed: str, n: int) -> str:
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    out = ""
    for _ in range(n):
        digest, r = divmod(digest, 62)
        out += _B62[r]
    return out


def sid(prefix: str, seed: str, long: bool = True) -> str:
    """A Stripe-looking id: ``cus_`` + 14 chars, or ``sub_1Q`` + 22 chars for long ids."""
    return f"{prefix}_1Q{b62(prefix + seed, 22)}" if long else f"{prefix}_{b62(prefix + seed, 14)}"


def sha(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()


def node_id(kind: str, n: int | str) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{n}".encode()).decode()


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].rstrip("-")


def months(anchor: int, back: int) -> int:
    """The same day-of-month ``back`` months before ``anchor`` (anchors are on day <= 28)."""
    d = datetime.fromtimestamp(anchor, UTC)
    month = d.month - back
    year = d.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return int(d.replace(year=year, month=month).timestamp())
