"""The signed bounce-back link in a Slack hand-off message.

A receiving engineer clicks it from Slack, where they have no casefile token: the link
itself is the credential, for one investigation and for :data:`LINK_TTL_S`. It is
``{public_url}/v1/bounce/{inv}?exp=<unix time>&sig=<hex>`` with ``sig`` the HMAC-SHA256
of ``"{inv}.{exp}"`` under ``[slack] link_secret``; without a secret or a public URL the
message has no bounce button (the sidebar and the CLI still bounce).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

__all__ = ["LINK_TTL_S", "bounce_link", "link_signature", "verify_link"]

LINK_TTL_S = 14 * 24 * 3600  # an escalation is bounced within days, not months


def link_signature(secret: str, inv: str, exp: int) -> str:
    return hmac.new(secret.encode(), f"{inv}.{exp}".encode(), hashlib.sha256).hexdigest()


def bounce_link(public_url: str, secret: str, inv: str, *, now: float | None = None) -> str:
    exp = int((now if now is not None else time.time()) + LINK_TTL_S)
    query = urlencode({"exp": exp, "sig": link_signature(secret, inv, exp)})
    return f"{public_url.rstrip('/')}/v1/bounce/{inv}?{query}"


def verify_link(secret: str, inv: str, exp: str, sig: str, *, now: float | None = None) -> str | None:
    """None when the link is genuine and current; else why it is refused (one line)."""
    if not exp.isascii() or not exp.isdigit() or len(exp) > 12:
        return "the link is malformed"
    if not hmac.compare_digest(link_signature(secret, inv, int(exp)), sig):
        return "the link's signature does not match"
    if int(exp) < (now if now is not None else time.time()):
        return "the link has expired; bounce from the ticket's sidebar instead"
    return None
