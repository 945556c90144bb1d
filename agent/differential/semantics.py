"""What an error means, from its HTTP status, its error code and its message.

General knowledge of HTTP, OAuth 2.0 and common API conventions, not one
company's codes: ``invalid_client`` is a credentials problem everywhere, a 410
is a removed endpoint everywhere, ``subscription_past_due`` is billing
everywhere. The code and the message decide before the status, because a 403
means "wrong permission" on one API and "plan does not include this" on another,
and the code says which.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["CUSTOMER_SIDE", "OUR_SIDE", "ErrorClass", "classify", "describe", "specific_code", "worded"]

ErrorClass = Literal[
    "customer_system",
    "credentials",
    "test_key",
    "permission",
    "billing",
    "plan_limit",
    "rate_limit",
    "validation",
    "not_found",
    "gone",
    "server",
    "timeout",
    "other",
]

# Ordered: the first pattern that finds something in the code (or, failing that, the message) wins.
_BY_WORDS: tuple[tuple[ErrorClass, re.Pattern[str]], ...] = tuple(
    (cls, re.compile(pattern, re.IGNORECASE))  # type: ignore[misc]
    for cls, pattern in (
        # The customer's own system (the database we read from, the destination we write to) refusing us.
        (
            "customer_system",
            r"(?:source|destination|target|warehouse|database|upstream[_ -]?host)[_ -]?(?:connection[_ -]?)?"
            r"(?:refused|unreachable|reset|timed[_ -]?out)|connection[_ -]?refused|econnrefused|host[_ -]?unreachable",
        ),
        ("test_key", r"test[_ -]?(?:mode|key)|live[_ -]?mode|(?:key|mode)[_ -]?mismatch|sandbox[_ -]?key"),
        (
            "billing",
            r"subscription|past[_ -]?due|payment[_ -]?(?:required|overdue|failed)|overdue|unpaid|delinquent"
            r"|account[_ -]?suspended"
            r"|billing|trial[_ -]?(?:expired|ended)|invoice|card[_ -]?declined|inactive[_ -]?account",
        ),
        (
            "plan_limit",
            r"plan[_ -]?limit|quota|usage[_ -]?limit|limit[_ -]?reached|seat|over[_ -]?limit"
            # a batch or bulk request over its size: not a batch that failed for another reason
            r"|(?:bulk|batch)[\w -]*?(?:max|limit|too[_ -]?(?:large|big|many)|size|exceed)"
            r"|(?:max|limit|too[_ -]?(?:large|big|many)|size|exceed)[\w -]*?(?:bulk|batch)"
            r"|max(?:imum)?[_ -]?(?:items|records|size|batch)|too[_ -]?many[_ -]?(?:items|records|rows|objects)"
            r"|upgrade|not[_ -]?(?:included|available)[_ -]?(?:in|on)[_ -]?(?:your[_ -]?)?plan|feature[_ -]?not"
            r"|concurren\w*[_ -]?limit|max[_ -]?concurren\w*"
            # what a plan grants for a period: an allowance, allotment or entitlement used up
            r"|allowance|allotment|entitlement|credits?[_ -]?(?:exhausted|exceeded|used[_ -]?up)"
            r"|(?:monthly|daily|annual|per[_ -]?(?:month|day|year))[_ -]?(?:limit|cap|quota)|cap[_ -]?reached"
            r"|(?:not[_ -]?|un)available[_ -]?(?:in|on|for)[_ -]?(?:your[_ -]?|this[_ -]?|the[_ -]?|current[_ -]?)?plan"
            r"|requires?[_ -]?(?:an?[_ -]?)?(?:higher|paid|premium|business|enterprise)[_ -]?(?:plan|tier)"
            # an article's title: "editor and workspace limits of your plan"
            r"|limits?[_ -]of[_ -](?:your[_ -]|the[_ -]|this[_ -])?(?:plan|subscription|tier)",
        ),
        ("rate_limit", r"rate[_ -]?limit|throttl|too[_ -]?many[_ -]?requests|slow[_ -]?down"),
        (
            "credentials",
            r"invalid[_ -]?(?:client|api[_ -]?key|key|token|grant|credentials|signature|secret)"
            r"|unauthori[sz]ed|unauthenticated|authentication|(?:key|token|credentials?)[_ -]?(?:revoked|expired"
            r"|invalid|missing|disabled)|expired[_ -]?token|revoked|bad[_ -]?credentials|not[_ -]?authenticated"
            r"|missing[_ -]?(?:api[_ -]?key|token|credentials?|authorization)|no[_ -]?(?:api[_ -]?key|token)[_ -]?provided",
        ),
        (
            "permission",
            r"forbidden|permission|not[_ -]?allowed|allow[_ -]?list|allowlist|whitelist|ip[_ -]?(?:not|block"
            r"|restrict|denied)|insufficient[_ -]?scope|access[_ -]?denied|scope|not[_ -]?permitted|denied",
        ),
        (
            "gone",
            r"\bgone\b|deprecated|removed|sunset|retired|no[_ -]?longer[_ -]?(?:supported|available)"
            r"|endpoint[_ -]?removed|version[_ -]?(?:retired|unsupported)",
        ),
        ("timeout", r"time[_ -]?out|timed[_ -]?out|deadline"),
        (
            "server",
            r"internal|server[_ -]?error|unavailable|upstream|bad[_ -]?gateway|unexpected|panic|exception"
            # a protocol's "system error" (retry later) is the receiving system's fault, not the message's
            r"|system[_ -]?(?:error|failure|fault)",
        ),
        (
            "not_found",
            r"not[_ -]?found|no[_ -]?such|unknown[_ -]?(?:id|object|resource)|does[_ -]?not[_ -]?exist"
            r"|resource[_ -]?missing|missing[_ -]?resource",
        ),
        (
            "validation",
            r"invalid|missing|validation|malformed|required|unprocessable|bad[_ -]?request|parameter"
            r"|conflict|duplicate|idempoten|unsupported|too[_ -]?large|format",
        ),
    )
)

_BY_STATUS: dict[int, ErrorClass] = {
    400: "validation",
    401: "credentials",
    402: "billing",
    403: "permission",
    404: "not_found",
    405: "validation",
    408: "timeout",
    409: "validation",
    410: "gone",
    413: "validation",
    415: "validation",
    422: "validation",
    429: "rate_limit",
    500: "server",
    501: "server",
    502: "server",
    503: "server",
    504: "timeout",
}

# Classes the customer fixes on their side, and classes only we can fix.
CUSTOMER_SIDE: frozenset[str] = frozenset(
    {
        "customer_system",
        "credentials",
        "test_key",
        "permission",
        "validation",
        "not_found",
        "gone",
        "rate_limit",
    }
)
OUR_SIDE: frozenset[str] = frozenset({"server", "timeout"})

_DESCRIPTIONS: dict[str, str] = {
    "customer_system": "the customer's own system (their database, source or destination) refusing our connections",
    "credentials": "rejected credentials (a revoked, expired or wrong API key or OAuth client)",
    "test_key": "a test-mode key used against live (or the reverse)",
    "permission": "refused permission (scope, role or IP allow-list)",
    "billing": "refused for the account's billing status",
    "plan_limit": "a limit of the account's plan",
    "rate_limit": "rate limiting",
    "validation": "rejected request payloads (validation)",
    "not_found": "requests for objects or routes that do not exist",
    "gone": "calls to a removed or retired endpoint",
    "server": "server errors on our side",
    "timeout": "timeouts on our side",
    "other": "errors",
}


# Words of a server-side fault: a code naming them is ours, whatever limit it also names.
_OURS = re.compile(
    r"internal|unavailable|upstream|time[_ -]?out|timed[_ -]?out|server|backend", re.IGNORECASE
)


def classify(status: int | None, code: str | None = None, message: str | None = None) -> ErrorClass:
    """The class of one error: its code first, then its message, then its status."""
    for text in (code, message):
        if not text:
            continue
        for cls, pattern in _BY_WORDS:
            if pattern.search(text):
                # A 5xx whose code merely says "invalid…" is still a server error; one whose code names
                # a limit of the plan (507 with a storage quota) and nothing of ours is that limit.
                if status is not None and status >= 500 and cls == "plan_limit" and not _OURS.search(text):
                    return cls
                if status is not None and status >= 500 and cls not in OUR_SIDE:
                    return "timeout" if status == 504 else "server"
                if _refused_as_sent(status, cls):
                    # A 4xx is the request refused as sent: "…_TIME_OUT_OF_RANGE" is a time outside the
                    # accepted range, not our timeout; the code's other words, or its status, say what.
                    return _not_ours(status, text)
                return cls
    if status is None:
        return "other"
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 400:
        return "server" if status >= 500 else "validation"
    # A success status that carries an error (a batch answered 200, its refused items' codes in the
    # body): the request went through, what it asked for was refused as sent.
    return "validation" if code or message else "other"


def _refused_as_sent(status: int | None, cls: ErrorClass) -> bool:
    """Whether a class of our side read in a code's words contradicts its 4xx status: the request was
    refused as sent (a 408 is the one 4xx that is a timeout)."""
    return cls == "timeout" and status is not None and 400 <= status < 500 and status != 408


def _not_ours(status: int | None, text: str) -> ErrorClass:
    """The class of a 4xx whose code reads as a timeout: the first customer-side class its words name,
    else its status's."""
    for cls, pattern in _BY_WORDS:
        if cls not in OUR_SIDE and pattern.search(text):
            return cls
    return _BY_STATUS.get(status or 400, "validation")


def worded(text: str) -> bool:
    """Whether ``text`` (a code, a message) says by its words what kind of error it is."""
    return any(pattern.search(text) for _, pattern in _BY_WORDS)


def describe(cls: str) -> str:
    return _DESCRIPTIONS.get(cls, "errors")


# Codes that only restate their status: every bug about errors of that status "matches" them.
_GENERIC_CODE = re.compile(
    r"(?:internal(?:[_ -]server)?|server|unknown|unexpected)?[_ -]?(?:error|failure)?|internal|bad[_ -]?request"
    r"|not[_ -]?found|unprocessable(?:[_ -]entity)?|(?:service[_ -]?)?unavailable|bad[_ -]?gateway"
    r"|(?:gateway[_ -]?)?time[_ -]?out|forbidden|unauthori[sz]ed|too[_ -]?many[_ -]?requests|conflict"
    r"|invalid[_ -]?request",
    re.IGNORECASE,
)


def specific_code(code: str | None) -> str:
    """``code`` when it says more than its HTTP status (``source_schema_error``), else ``""`` (``internal``)."""
    return "" if not code or _GENERIC_CODE.fullmatch(code.strip()) else code
