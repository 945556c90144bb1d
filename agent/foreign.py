"""Other accounts' identities never leave an investigation in its diagnosis.

Tools are scoped to the investigation's account, but some sources are history across
customers by purpose: resolved helpdesk tickets (their subject and resolution), help-center
articles, bug descriptions, past diagnoses. Their text may name another customer, and a model
(or a runbook template, or the escalation packet quoting a similar ticket) can carry that name
into the draft reply or the internal note. The loop therefore replaces, in every string of the
finished diagnosis, each identity the account directory holds for another account with
``[another account]``: its id, its name, its domains (and any address or host at them), its
Stripe customer id and its IdP app id. The investigation's own identities are kept, even when
another account's contains them. Matching is word-bounded and case-insensitive, like the name
mentions that resolve an account (``agent/accounts.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from casefile.agent.diagnosis import Diagnosis

__all__ = ["OTHER_ACCOUNT", "OtherAccounts", "withhold_other_accounts"]

OTHER_ACCOUNT = "[another account]"

# Fields that are the investigation's own record, not text: the account it was scoped to, ids.
_RECORD_KEYS = frozenset({"account_id", "ticket_id", "call_id", "tool", "model", "runbooks"})
# An identity shorter than this ("ab") would match ordinary words.
_MIN_LENGTH = 3
_BOUNDARY = r"(?<![\w.@/-])(?:{})(?![\w-]|\.\w)"


def _identities(entry: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(words, domains) naming one account: id, name, Stripe customer, IdP app id; its domains."""
    words = [entry.get("id"), entry.get("name"), entry.get("stripe_customer")]
    idp = entry.get("idp")
    if isinstance(idp, Mapping):
        words.append(idp.get("app_id"))
    domains = entry.get("domains") or []
    return (
        [w.strip() for w in words if isinstance(w, str) and len(w.strip()) >= _MIN_LENGTH],
        [d.strip().lower() for d in domains if isinstance(d, str) and d.strip()],
    )


def _alternation(terms: Iterable[str]) -> str:
    return "|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True))


class OtherAccounts:
    """The identities of every account but one, as one pattern."""

    def __init__(self, accounts: Mapping[str, Mapping[str, Any]], own: str | None) -> None:
        mine_words, mine_domains = _identities(accounts.get(own) or {}) if own else ([], [])
        mine = {w.lower() for w in mine_words} | set(mine_domains)
        words: set[str] = set()
        domains: set[str] = set()
        for account_id, entry in accounts.items():
            if account_id == own:
                continue
            theirs_words, theirs_domains = _identities(entry)
            words |= {w for w in theirs_words if w.lower() not in mine and not _inside(w, mine)}
            domains |= {d for d in theirs_domains if d not in mine}
        parts = []
        if domains:
            # An address or any host at one of their domains, whole: ap@billing.globex.example.
            parts.append(rf"(?<![\w.+-])(?:[\w.+-]+@)?(?:[\w-]+\.)*(?:{_alternation(domains)})(?![\w-]|\.\w)")
        if words:
            parts.append(_BOUNDARY.format(_alternation(words)))
        self._pattern = re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def scrub(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(OTHER_ACCOUNT, text)

    def scrub_strings(self, value: Any, key: str | None = None) -> Any:
        """``value`` (JSON-like) with every string scrubbed, except the record's own fields."""
        if isinstance(value, str):
            return value if key in _RECORD_KEYS else self.scrub(value)
        if isinstance(value, dict):
            return {k: self.scrub_strings(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub_strings(v, key) for v in value]
        return value


def _inside(word: str, mine: set[str]) -> bool:
    """True when ``word`` is part of one of our own identities ("Northwind" of "Northwind Traders")."""
    pattern = re.compile(_BOUNDARY.format(re.escape(word)), re.IGNORECASE)
    return any(pattern.search(m) for m in mine)


def withhold_other_accounts(
    diagnosis: Diagnosis, accounts: Mapping[str, Mapping[str, Any]], own: str | None
) -> Diagnosis:
    """``diagnosis`` with every other account's identity replaced by ``[another account]``."""
    others = OtherAccounts(accounts, own)
    return Diagnosis.model_validate(others.scrub_strings(diagnosis.model_dump(mode="json")))
