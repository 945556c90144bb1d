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
from collections.abc import Mapping
from typing import Any

from casefile.agent.diagnosis import Diagnosis

__all__ = ["EVENT_RECORD_KEYS", "OTHER_ACCOUNT", "OtherAccounts", "withhold_other_accounts"]

OTHER_ACCOUNT = "[another account]"

# Fields that are the investigation's own record, not text: the account it was scoped to, ids.
_RECORD_KEYS = frozenset({"account_id", "ticket_id", "call_id", "tool", "model", "runbooks"})
_PACKET_KEYS = _RECORD_KEYS - {"account_id"}
# An event's own record: its ``account_id`` may be what a model asked for (a tool's arguments), so
# it is scrubbed like text (the investigation's own account is never replaced).
EVENT_RECORD_KEYS = _RECORD_KEYS - {"account_id"}
# An identity shorter than this ("ab") would match ordinary words.
_MIN_LENGTH = 3
# A run of host or address characters: its host part is looked up label by label against their
# domains (no nested quantifiers: linear on adversarial text).
_RUN = re.compile(r"(?<![\w.+@-])[\w.+@-]+")
# Where a word-bounded identity may start (not inside a domain, an address or a path).
_WORD = re.compile(r"(?<![\w.@/-])\w[\w-]*")
_CHUNK = re.compile(r"\S+")


def _identities(entry: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(words, domains) naming one account: id, name, Stripe customer, IdP app id; its domains."""
    words = [entry.get("id"), entry.get("name"), entry.get("stripe_customer")]
    idp = entry.get("idp")
    if isinstance(idp, Mapping):
        words.append(idp.get("app_id"))
    domains = entry.get("domains") or []
    return (
        [" ".join(w.split()).lower() for w in words if isinstance(w, str) and len(w.strip()) >= _MIN_LENGTH],
        [d.strip().lower().rstrip(".") for d in domains if isinstance(d, str) and d.strip()],
    )


def _ends_word(text: str, end: int) -> bool:
    """Nothing word-like continues ``text`` at ``end`` (a full stop ending a sentence is fine)."""
    if end >= len(text):
        return True
    after = text[end]
    if after.isalnum() or after in "_-":
        return False
    return not (after == "." and end + 1 < len(text) and (text[end + 1].isalnum() or text[end + 1] == "_"))


class OtherAccounts:
    """The identities of every account but one, looked up word by word: linear in the text however
    large the directory (one alternation of every name took seconds per diagnosis at 5,000 accounts).
    """

    def __init__(self, accounts: Mapping[str, Mapping[str, Any]], own: str | None) -> None:
        mine_words, mine_domains = _identities(accounts.get(own) or {}) if own else ([], [])
        mine = [f" {w} " for w in mine_words]
        self._domains: set[str] = set()
        # An identity's first word → its length in words → the identities.
        self._words: dict[str, dict[int, set[str]]] = {}
        for account_id, entry in accounts.items():
            if account_id == own:
                continue
            theirs_words, theirs_domains = _identities(entry)
            self._domains |= {d for d in theirs_domains if d not in mine_domains}
            for word in theirs_words:
                first = _WORD.match(word)
                # Another account's name inside our own ("Traders" of "Northwind Traders") is ours.
                if first is None or any(f" {word} " in m for m in mine):
                    continue
                by_length = self._words.setdefault(first.group(), {})
                by_length.setdefault(len(word.split()), set()).add(word)

    def scrub(self, text: str) -> str:
        if self._domains:
            text = _RUN.sub(self._host, text)
        if not self._words:
            return text
        out: list[str] = []
        done = 0
        for match in _WORD.finditer(text):
            start = match.start()
            if start < done:
                continue
            end = self._identity_end(text, start, self._words.get(match.group().lower()))
            if end is not None:
                out += [text[done:start], OTHER_ACCOUNT]
                done = end
        return "".join([*out, text[done:]])

    def _identity_end(self, text: str, start: int, by_length: dict[int, set[str]] | None) -> int | None:
        """Where the longest identity starting at ``start`` ends, or None."""
        if not by_length:
            return None
        chunks: list[re.Match[str]] = []
        for chunk in _CHUNK.finditer(text, start):
            chunks.append(chunk)
            if len(chunks) == max(by_length):
                break
        for length in sorted(by_length, reverse=True):
            if length > len(chunks):
                continue
            head = " ".join(c.group().lower() for c in chunks[: length - 1])
            last = chunks[length - 1]
            # The last word may carry punctuation ("Retail's", "Retail,"): the longest prefix that is one.
            for cut in range(len(last.group()), 0, -1):
                candidate = f"{head} {last.group()[:cut]}".strip().lower()
                if candidate in by_length[length] and _ends_word(text, last.start() + cut):
                    return last.start() + cut
        return None

    def _host(self, match: re.Match[str]) -> str:
        run = match.group()
        core = run.rstrip(".")
        host = core.rsplit("@", 1)[-1].lower()
        labels = host.split(".")
        # Only the last few labels can be one of their domains (a host of 100,000 labels is not).
        theirs = any(".".join(labels[-n:]) in self._domains for n in range(2, min(len(labels), 16) + 1))
        return OTHER_ACCOUNT + run[len(core) :] if theirs else run

    def scrub_strings(self, value: Any, key: str | None = None, keep: frozenset[str] = _RECORD_KEYS) -> Any:
        """``value`` (JSON-like) with every string scrubbed, except the fields named in ``keep`` (by
        default a diagnosis' own record: its account, ticket, call ids, tools, model, runbooks)."""
        if isinstance(value, str):
            return value if key in keep else self.scrub(value)
        if isinstance(value, dict):
            return {k: self.scrub_strings(v, k, keep) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_strings(v, key, keep) for v in value]
        return value


def withhold_other_accounts(diagnosis: Diagnosis, others: OtherAccounts) -> Diagnosis:
    """``diagnosis`` with every other account's identity replaced by ``[another account]``."""
    data = others.scrub_strings(diagnosis.model_dump(mode="json"))
    escalation = data.get("escalation") or {}
    if escalation.get("packet") is not None:
        # The packet is free-form (its call list carries what a model asked for, a refused call's
        # ``account_id`` too): only its ids are record, not an ``account_id`` anywhere inside it.
        packet = diagnosis.escalation.packet if diagnosis.escalation else None
        escalation["packet"] = others.scrub_strings(packet, keep=_PACKET_KEYS)
    return Diagnosis.model_validate(data)
