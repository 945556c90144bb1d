"""SSO logins: each account's users signing in through its IdP, and the failures a description adds."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from casefile.tools.world.traffic.common import EPOCH, HOUR_MS, Columns, ms, to_datetimes, window
from casefile.tools.world.traffic.draws import offsets, poisson

__all__ = ["sso_logins_rows"]


_SSO_COLUMNS = (
    "ts",
    "account_id",
    "user_email",
    "idp_entity_id",
    "outcome",
    "error",
    "clock_skew_s",
    "cert_sha1",
)
# What each SAML response said about the configuration it was made with (Destination, Audience,
# NameID Format, SignatureMethod): written only when the spec gives any of them, so worlds made
# before these columns existed load unchanged.
_SSO_RESPONSE_COLUMNS = ("acs_url", "audience", "nameid_format", "sig_alg")


_FIRST_NAMES = (
    "alex", "sam", "jordan", "taylor", "morgan", "casey", "riley", "jamie", "avery", "quinn",
    "maria", "li", "noah", "emma", "omar", "priya", "lukas", "sofia", "mateo", "hana",
)  # fmt: skip
_LAST_NAMES = ("smith", "garcia", "chen", "novak", "okafor", "silva", "kowalski", "nguyen", "muller", "rossi")


def sso_logins_rows(rng: random.Random, start: int, end: int, section: Mapping[str, Any]) -> Columns:
    anomalies = section.get("anomalies") or []
    events = section.get("events") or []
    accounts = section.get("accounts") or {}
    responses = [
        c for c in _SSO_RESPONSE_COLUMNS if any(c in part for part in [*accounts.values(), *anomalies])
    ]
    cols: dict[str, list[Any]] = {name: [] for name in (*_SSO_COLUMNS, *responses)}
    for account_id, spec in accounts.items():
        what = f"sso_logins.{account_id}"
        domain = str(spec.get("email_domain", f"{account_id}.example"))
        users = spec.get("users", 30)
        emails = list(users) if isinstance(users, list) else _emails(int(users), domain)
        entity, cert = str(spec["idp_entity_id"]), str(spec.get("cert_sha1", ""))
        said = {c: str(spec.get(c, "")) for c in responses}
        zone = ZoneInfo(str(spec.get("timezone", "UTC")))
        open_h, close_h = (float(h) for h in spec.get("business_hours", [8, 18]))
        weekend = float(spec.get("weekend_factor", 0.1))
        per_hour = float(spec.get("logins_per_hour", 5))
        own = [x for x in anomalies if x.get("account") == account_id]
        mine = [(*window(a, f"{what} anomaly {n}"), a) for n, a in enumerate(own)]

        attempts: list[tuple[int, str]] = []
        hour = start - start % HOUR_MS
        while hour < end:
            local = (EPOCH + timedelta(milliseconds=hour)).astimezone(zone)
            h = local.hour + local.minute / 60
            if open_h <= h < close_h:
                lam = per_hour * (weekend if local.weekday() >= 5 else 1.0)
                lo, hi = max(start, hour), min(end, hour + HOUR_MS)
                lam *= (hi - lo) / HOUR_MS
                for t in offsets(rng, poisson(rng, lam), lo, hi):
                    attempts.append((t, emails[int(rng.random() * len(emails))]))
            hour += HOUR_MS
        for n, event in enumerate(e for e in events if e.get("account") == account_id):
            t = ms(event.get("ts"), f"{what} event {n}.ts")
            if start <= t < end:
                attempts.append((t, str(event.get("user_email") or emails[n % len(emails)])))
        attempts.sort()

        for t, email in attempts:
            outcome, error, skew, sha1 = "success", "", int(rng.random() * 5) - 2, cert
            issuer, response = entity, said
            for lo, hi, a in mine:
                if lo <= t < hi and rng.random() < float(a.get("share", 1.0)):
                    outcome, error = "failure", str(a.get("error", "SAML response rejected"))
                    skew = int(a.get("clock_skew_s", skew))
                    sha1 = str(a.get("cert_sha1", sha1))
                    issuer = str(a.get("idp_entity_id", issuer))
                    response = {c: str(a.get(c, v)) for c, v in said.items()}
                    break
            row = (t, account_id, email, issuer, outcome, error, skew, sha1)
            for name, value in zip(_SSO_COLUMNS, row, strict=True):
                cols[name].append(value)
            for name, value in response.items():
                cols[name].append(value)
    cols["ts"] = to_datetimes(cols["ts"])
    return cols


def _emails(count: int, domain: str) -> list[str]:
    """Deterministic, distinct first.last@domain addresses (no randomness needed)."""
    out = []
    for n in range(count):
        first = _FIRST_NAMES[n % len(_FIRST_NAMES)]
        last = _LAST_NAMES[(n // len(_FIRST_NAMES) + n) % len(_LAST_NAMES)]
        out.append(f"{first}.{last}@{domain}")
    return out
