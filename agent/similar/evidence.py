"""The identifiers two support cases can share: error codes, HTTP statuses, bug ids, deploys,
endpoints, the diagnosed category.

Read from text (a ticket, a resolution, a diagnosis' statement and cited values) with general
patterns only: no company's codes or ids are known here. Two cases sharing one of these is
stronger than any wording: "same bug", "same deploy", "same error code".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

from ..signals.text import PROBLEM_TYPE_CODE

__all__ = [
    "category_key",
    "code_tail",
    "error_code_key",
    "evidence_keys",
    "family_key",
    "identifiers",
    "mentioned",
    "shared",
    "stated_categories",
    "tag_categories",
    "tag_families",
    "value_keys",
]

# snake_case error codes (rate_limit_exceeded, test_key_in_live_mode); SCREAMING codes (APP_NOT_ASSIGNED).
# A segment of a path or URL (/v1/payment_intents) names an endpoint, and a path template's
# parameter (/v2/orders/{order_id}) a field, not an error.
_CODE = re.compile(r"(?<![/\w{])(?:[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![/\w}])")
# Issue ids as trackers write them: ABC-123 (Linear, Jira).
_BUG = re.compile(r"\b[A-Z][A-Z0-9]{1,9}-\d{1,6}\b")
# Release versions (v5.12.0, relay-2.8.1, web-2026.10.03, calendar tags r2026.45.2) and commit SHAs
# (7–40 hex with a digit and a letter).
_VERSION = re.compile(r"\b(?:v|[a-z]+-|[a-z]{1,3}(?=\d))?\d+\.\d+(?:\.\d+)?\b")
_SHA = re.compile(r"\b[0-9a-f]{7,40}\b")
# 4xx/5xx statuses where the text says so (a bare 429 or "HTTP 500"), not any three-digit number.
_STATUS = re.compile(r"(?<![\w.:/-])([45]\d\d)(?![\w.:/-])")
_NOT_CODES = frozenset({"e_g", "i_e"})
# Vendor error codes written as letters then digits (AADSTS50011, ZQ4012), not
# the names of standards, algorithms or formats that take the same shape (SHA256, RFC7231, ISO8601).
_NOT_CODE = r"(?:SHA|MD|RFC|ISO|UTF|AES|RSA|HS|RS|ES|PS|X|CVE|TLS|SSL|PKCS|IPV|FY|Q|H|P|HTTP)\d"
_ALNUM_CODE = re.compile(rf"(?<![\w./:-])(?!{_NOT_CODE})[A-Z]{{1,8}}\d{{3,6}}(?![\w/-])")


# An API path of two segments or more (/v2/shipments/{id}/labels:generate), not a URL's (a host
# precedes it) and not a file's (a dot ends it).
_PATH = re.compile(r"(?<![\w.:/])(?:/[\w{}.:-]+){2,}")
_VERSION_SEGMENT = re.compile(r"v?\d+(?:\.\d+)*")


def _operation(path: str) -> str | None:
    """The segment of an endpoint's path that names its operation: the last one that is neither a
    parameter ({id}), a number or version, nor too short to mean anything."""
    for segment in reversed(path.strip("/").split("/")):
        if len(segment) >= 4 and "{" not in segment and not _VERSION_SEGMENT.fullmatch(segment):
            return segment.lower()
    return None


def evidence_keys(text: str) -> set[str]:
    """The identifiers in ``text``, each prefixed by its kind (``code:``, ``bug:``, ``deploy:``,
    ``status:``, ``endpoint:``)."""
    keys: set[str] = set()
    for m in _CODE.finditer(text):
        code = m.group(0).lower()
        # Codes are words (rate_limit_exceeded); digit-heavy tokens are keys, hashes or ids of one customer.
        if code not in _NOT_CODES and sum(c.isdigit() for c in code) <= 2:
            keys.add(f"code:{code}")
    keys.update(f"code:{m.group(0).lower()}" for m in _ALNUM_CODE.finditer(text))
    # A problem type's URI names its code in its last segment, read as the ticket's signals read it
    # (kebab-case is not read elsewhere: "one-hour").
    keys.update(f"code:{m.group('c').lower()}" for m in PROBLEM_TYPE_CODE.finditer(text))
    keys.update(f"endpoint:{op}" for m in _PATH.finditer(text) if (op := _operation(m.group(0))))
    keys.update(f"bug:{m.group(0)}" for m in _BUG.finditer(text))
    for m in _VERSION.finditer(text):
        token = m.group(0)
        if not re.fullmatch(r"\d+\.\d+", token):  # "2.5" is a number, "v2.5" or "2.5.1" a release
            keys.add(f"deploy:{token.lower()}")
    for m in _SHA.finditer(text):
        sha = m.group(0)
        if any(c.isdigit() for c in sha) and any(c.isalpha() for c in sha):
            keys.add(f"deploy:{sha[:12]}")
    keys.update(f"status:{m.group(1)}" for m in _STATUS.finditer(text))
    return keys


# One camelCase or PascalCase word (ContractEnded, rateLimited, TypeConstraintViolation): in prose it may
# be a product or a brand; as a value a tool returned or a diagnosis cited on its own, it is a code.
_WORD_CODE = re.compile(r"[A-Za-z][a-z0-9]*(?:[A-Z][a-z0-9]+)+")


def value_keys(value: str) -> set[str]:
    """The keys of one value a tool returned or a diagnosis cited (not prose): those
    :func:`evidence_keys` reads, or, for a value that is one camelCase or PascalCase word, that word as
    an error code (an OCPP ``CALLERROR`` name, a GraphQL ``code``): where it came from says what it is."""
    keys = evidence_keys(value)
    word = value.strip()
    if not keys and _WORD_CODE.fullmatch(word):
        keys.add(f"code:{word.lower()}")
    return keys


def identifiers(text: str) -> set[str]:
    """The keys in ``text`` that name a cause (error codes, bug ids, deploys): not a status or an
    endpoint, which say where a problem shows."""
    return {k for k in evidence_keys(text) if not k.startswith(("status:", "endpoint:"))}


def mentioned(text: str, keys: Iterable[str]) -> set[str]:
    """The error codes and endpoints among ``keys`` that ``text`` names verbatim, whatever their
    shape: a code the investigation read from a structured field (``token-expired``), or an endpoint
    from a log's path (``labels:generate``), is found in a person's prose too, and a numeric code
    written in the customer's own digits (``۹۴۲۹``) as well."""
    lowered = _ascii_digits(text.lower())
    found = set()
    for key in keys:
        kind, _, value = key.partition(":")
        if (
            kind in ("code", "endpoint")
            and value in lowered
            and re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", lowered)
        ):
            found.add(key)
    return found


def error_code_key(code: str) -> str:
    """An error code read from a structured field (an error_code column) as a key, whatever its shape;
    a code behind its protocol's or family's name (``ota:9429``, ``RESOURCE_EXHAUSTED/RATE_LIMITED``,
    ``unavailable.partition_rebalance``) by its own last part, which is what people write ("Error 9429")."""
    return f"code:{code_tail(code.strip()).lower()}"


# The part of a structured code after its namespace's separator, where that part is a code on its own:
# a number of two digits or more, words joined by _ or -, camelCase, or letters then digits (not a plain
# word: ``soap:Server``'s "Server" is any server).
_SEPARATED = re.compile(r"(?P<ns>[A-Za-z]\S*?[A-Za-z0-9])[:/.](?P<tail>[^:/.\s]+)")
_TAIL_CODE = re.compile(
    r"\d{2,}|[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)+|[A-Za-z][a-z0-9]*(?:[A-Z][a-z0-9]+)+|[A-Za-z]+\d+"
)


def code_tail(code: str) -> str:
    """``code`` without its namespace when what follows the namespace is itself a code, else ``code``."""
    m = _SEPARATED.fullmatch(code)
    return m.group("tail") if m and _TAIL_CODE.fullmatch(m.group("tail")) else code


def _ascii_digits(text: str) -> str:
    """``text`` with every decimal digit of any script as its ASCII digit (Persian ``۹`` is 9)."""
    return text if text.isascii() else _OTHER_DIGIT.sub(lambda m: str(int(m.group(0))), text)


_OTHER_DIGIT = re.compile(r"(?![0-9])\d")


def category_key(category: str) -> str:
    """A diagnosed category as a key: two cases diagnosed alike share it."""
    return f"category:{category}"


# A category's first word when it names a family of causes ("billing" in billing_past_due): a tag
# may leave it out ("past-due"), unless what remains is itself that broad ("platform", "account").
_FAMILIES = frozenset({"billing", "sso", "webhook", "data", "ui", "performance", "deploy", "platform"})
_TOO_BROAD = _FAMILIES | {"account"}


def _forms(category: str) -> list[str]:
    """How a person may name a category: whole, or without its family word (``past_due``)."""
    family, _, rest = category.partition("_")
    short = rest if family in _FAMILIES and rest and rest not in _TOO_BROAD else None
    return [category] if short is None else [category, short]


def stated_categories(text: str, categories: Iterable[str]) -> set[str]:
    """The ``categories`` a resolution states in words of two or more (``certificate mismatch``,
    ``past due``): where a helpdesk's tags name no cause (``rotated``), the person who solved it
    still wrote one down."""
    phrases = _phrases(tuple(categories))
    spaced = re.sub(r"[\s_-]+", " ", text.lower())
    return {phrases.names[m.group(0)] for m in phrases.pattern.finditer(spaced)}


class _Phrases(NamedTuple):
    pattern: re.Pattern[str]
    names: dict[str, str]


@lru_cache(maxsize=4)
def _phrases(categories: tuple[str, ...]) -> _Phrases:
    """One pattern for every category's forms of two words or more (a resolution is read once)."""
    names = {f.replace("_", " "): c for c in categories for f in _forms(c) if "_" in f}
    alternatives = "|".join(re.escape(p) for p in sorted(names, key=len, reverse=True))
    return _Phrases(re.compile(rf"\b(?:{alternatives})\b"), names)


def family_key(category: str) -> str | None:
    """The key of a category's narrower family (``family:sso_certificate`` for
    sso_certificate_mismatch): what a case tagged ``sso`` and ``certificate``, without the word
    that tells expired from rotated, shares with it. None for a category of two words or less."""
    words = category.split("_")
    return f"family:{'_'.join(words[:-1])}" if len(words) >= 3 else None


def tag_families(tags: Iterable[str], categories: Iterable[str], named: Iterable[str] = ()) -> set[str]:
    """The family keys whose words the ``tags`` all carry, for families none of whose categories is
    already ``named`` (a ticket tagged with the whole cause carries that instead)."""
    words = {w for t in tags for w in re.split(r"[\s_-]+", t.strip().lower()) if w}
    known = {family_key(c) for c in named}
    families = {f for c in categories if (f := family_key(c))}
    return {f for f in families if f not in known and set(f.partition(":")[2].split("_")) <= words}


def tag_categories(tags: Iterable[str], categories: Iterable[str]) -> set[str]:
    """The ``categories`` a helpdesk's own tags name: ``past-due`` or ``billing_past_due`` names
    billing_past_due, ``customer-error`` customer_error, ``regression`` deploy_regression; tags that
    spell one out a word each (``sso``, ``certificate``, ``expired``: helpdesk tags are single words
    more often than not), and a tag of two words or more that begins exactly one (``no-issue``)."""
    names = {re.sub(r"[\s-]+", "_", t.strip().lower()) for t in tags}
    words = {w for name in names for w in name.split("_") if w}
    categories = list(categories)
    found = set()
    for category in categories:
        if any(f in names or ("_" in f and set(f.split("_")) <= words) for f in _forms(category)):
            found.add(category)
    for name in names:
        begun = [c for c in categories if "_" in name and c.startswith(name + "_")]
        if len(begun) == 1:
            found.update(begun)
    return found


def shared(a: Iterable[str], b: Iterable[str]) -> list[str]:
    """Keys in both, identifiers first, then the category, endpoints and statuses last (where a
    problem shows, or a shared 500, says least about why)."""
    common = set(a) & set(b)
    return sorted(
        common,
        key=lambda k: (
            k.startswith("status:"),
            k.startswith("endpoint:"),
            k.startswith(("category:", "family:")),
            k,
        ),
    )
