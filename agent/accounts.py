"""The account directory: who a ticket is from, and what casefile knows about them.

Loaded from a world's ``accounts.json``::

    {"accounts": [{"id": "northwind", "name": "Northwind Traders", "domains": ["northwind.example"],
                   "plan": "...", "stripe_customer": "cus_...", "idp": {...} | null, ...}]}

``id``, ``name`` and ``domains`` are required and checked; every other field is
kept as it is for the connectors (they read it through ``as_mapping()`` and
``casefile.tools.base.CallContext.for_account``). A malformed file raises :class:`ConfigError`
with one line naming the problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from casefile.agent.errors import ConfigError

__all__ = ["FREE_MAIL_DOMAINS", "AccountDirectory", "ConfigError"]

# Addresses at these domains say nothing about the customer's company.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "hotmail.com",
        "hotmail.co.uk", "outlook.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com",
        "aol.com", "proton.me", "protonmail.com", "pm.me", "gmx.com", "gmx.de", "gmx.net", "web.de",
        "mail.com", "yandex.com", "yandex.ru", "mail.ru", "zoho.com", "fastmail.com", "hey.com",
        "tutanota.com", "qq.com", "163.com", "126.com",
    }
)  # fmt: skip

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


class AccountDirectory:
    """Customer accounts by id, by email domain and by the names tickets use for them.

    ``by_email`` matches the address's domain or any subdomain of an account's
    domain, case-insensitively; free-mail domains (gmail.com, outlook.com…)
    never match. ``by_name_mention`` finds an account named in free text.
    """

    def __init__(self, accounts: Iterable[Mapping[str, Any]], *, source: str = "accounts") -> None:
        self._source = source
        self._accounts: dict[str, dict[str, Any]] = {}
        self._by_domain: dict[str, str] = {}
        for index, raw in enumerate(accounts):
            account = self._check(raw, index)
            if account["id"] in self._accounts:
                raise ConfigError(f"{source}: account id {account['id']!r} appears twice")
            self._accounts[account["id"]] = account
            for domain in account["domains"]:
                owner = self._by_domain.get(domain)
                if owner is not None and owner != account["id"]:
                    raise ConfigError(
                        f"{source}: domain {domain!r} belongs to both {owner!r} and {account['id']!r}"
                    )
                self._by_domain[domain] = account["id"]
        self._mention_patterns = self._build_mention_patterns()

    # --- loading ----------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path) -> AccountDirectory:
        """Load ``accounts.json``; raise :class:`ConfigError` if it is missing or malformed."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"accounts file not found: {path}") from None
        except IsADirectoryError:
            raise ConfigError(f"accounts file is a directory: {path}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text") from None
        except OSError as exc:
            raise ConfigError(f"cannot read accounts file {path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
        return cls.from_data(data, source=str(path))

    @classmethod
    def from_data(cls, data: Any, *, source: str = "accounts") -> AccountDirectory:
        """Build from the parsed JSON document ``{"accounts": [...]}``."""
        if not isinstance(data, Mapping):
            raise ConfigError(f'{source}: expected an object {{"accounts": [...]}}, got {_kind(data)}')
        accounts = data.get("accounts")
        if not isinstance(accounts, list):
            raise ConfigError(f'{source}: "accounts" must be a list of accounts')
        return cls(accounts, source=source)

    def _check(self, raw: Any, index: int) -> dict[str, Any]:
        where = f"{self._source}: accounts[{index}]"
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where} must be an object, got {_kind(raw)}")
        account_id = raw.get("id")
        if not isinstance(account_id, str) or not account_id.strip():
            raise ConfigError(f'{where} has no "id"')
        where = f"{self._source}: account {account_id!r}"
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f'{where} has no "name"')
        domains = raw.get("domains", [])
        if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
            raise ConfigError(f'{where}: "domains" must be a list of strings')
        normalised = []
        for domain in domains:
            d = domain.strip().lower().rstrip(".")
            if not _DOMAIN_RE.match(d):
                raise ConfigError(f"{where}: {domain!r} is not a domain name")
            normalised.append(d)
        account = dict(raw)
        account["domains"] = normalised
        return account

    # --- lookups ----------------------------------------------------------

    def __len__(self) -> int:
        return len(self._accounts)

    def __contains__(self, account_id: object) -> bool:
        return account_id in self._accounts

    def ids(self) -> list[str]:
        return sorted(self._accounts)

    def get(self, account_id: str) -> dict[str, Any] | None:
        """The account with this id, or None."""
        return self._accounts.get(account_id)

    def by_email(self, email: str | None) -> dict[str, Any] | None:
        """The account whose domain (or a parent of the address's domain) matches, or None."""
        if not email or "@" not in email:
            return None
        domain = email.rsplit("@", 1)[1].strip().strip(">").lower().rstrip(".")
        if not domain or domain in FREE_MAIL_DOMAINS:
            return None
        # eu.mail.northwind.example → try itself, then mail.northwind.example, then northwind.example:
        # the most specific configured domain wins.
        labels = domain.split(".")
        for i in range(len(labels) - 1):
            candidate = ".".join(labels[i:])
            if candidate in FREE_MAIL_DOMAINS:
                return None
            owner = self._by_domain.get(candidate)
            if owner is not None:
                return self._accounts[owner]
        return None

    def by_name_mention(self, text: str) -> dict[str, Any] | None:
        """The one account whose name, id or domain ``text`` mentions (word-bounded), or None.

        A full name or a domain is strong evidence; a bare id ("northwind") is weaker.
        When several accounts are mentioned with the same strength the answer is
        None: guessing between customers is worse than not knowing.
        """
        if not text:
            return None
        strong: list[str] = []
        weak: list[str] = []
        for account_id, (strong_re, weak_re) in self._mention_patterns.items():
            if strong_re is not None and strong_re.search(text):
                strong.append(account_id)
            elif weak_re.search(text):
                weak.append(account_id)
        if len(strong) == 1:
            return self._accounts[strong[0]]
        if not strong and len(weak) == 1:
            return self._accounts[weak[0]]
        return None

    def as_mapping(self) -> dict[str, dict[str, Any]]:
        """Accounts by id, for ``casefile.tools.base.CallContext.for_account``."""
        return dict(self._accounts)

    def _build_mention_patterns(self) -> dict[str, tuple[re.Pattern[str] | None, re.Pattern[str]]]:
        patterns: dict[str, tuple[re.Pattern[str] | None, re.Pattern[str]]] = {}
        for account_id, account in self._accounts.items():
            name = account["name"].strip()
            # A one-word name equal to the id ("Contoso") is no stronger than the id.
            name_is_id = name.lower() == account_id.lower()
            strong = [_NAME_BOUNDARY.format(_alternation([name]))] if not name_is_id else []
            if account["domains"]:
                # A domain may appear as a subdomain or in an address: hooks.northwind.example.
                strong.append(rf"(?<![\w-]){_alternation(account['domains'])}(?![\w-]|\.\w)")
            strong_re = re.compile("|".join(strong), re.IGNORECASE) if strong else None
            weak_re = re.compile(_NAME_BOUNDARY.format(_alternation([account_id])), re.IGNORECASE)
            patterns[account_id] = (strong_re, weak_re)
        return patterns


# Word-bounded, and not part of a longer domain, path or identifier ("northwind" in "northwind-traders.example").
_NAME_BOUNDARY = r"(?<![\w.@/-])(?:{})(?![\w-]|\.\w)"


def _alternation(terms: list[str]) -> str:
    return "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )
