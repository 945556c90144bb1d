"""Remove secrets and card numbers from ticket text before anything else reads it.

Customers paste curl commands, config files and logs into tickets. Whatever
secret those contain must never reach a model, a log line or the audit trail,
so intake calls :func:`redact` on every piece of text first.

Each secret becomes a typed placeholder such as ``[REDACTED:stripe_key]``: the
investigator still learns that the customer pasted a live Stripe key (which
may matter) without seeing it. What is not a secret stays: request ids, SHAs,
UUIDs, timestamps, HTTP statuses, error codes, IP addresses.

Placeholder types: ``private_key`` (PEM blocks of every flavour, also with
JSON-escaped line breaks), ``password`` (URL credentials, and values of password
fields), ``secret``/``token``/``api_key`` (values of such ``key=value`` /
``key: value`` fields, the key glued to what precedes it or not),
``authorization`` (Authorization headers, bearer tokens), ``stripe_key``,
``stripe_webhook_secret``, ``aws_access_key``, ``aws_secret_key`` (next to
"aws"), ``github_token``, ``gitlab_token``, ``slack_token``, ``slack_webhook``,
``sendgrid_key``, ``twilio_key`` (SK/AC ids; auth tokens next to "twilio"),
``npm_token``, ``pypi_token``, ``azure_key`` (``AccountKey=``,
``SharedAccessKey=``, ``SharedAccessSignature=``, ``sig=``), ``google_api_key``,
``google_oauth``, ``linear_api_key``, ``anthropic_key``, ``openai_key``,
``jwt``, ``card_number``.

Every pattern is linear on adversarial input: each token pattern starts only at
a token boundary (a lookbehind), uses possessive quantifiers so a failed match
never backtracks through a long run, and PEM blocks are found with ``str.find``
rather than a lazy ``.*?``. ``redact`` is idempotent: placeholders are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["PLACEHOLDER_RE", "luhn_valid", "redact", "redact_strings"]

PLACEHOLDER_RE = re.compile(r"\[REDACTED:[a-z_]+\]")


def _placeholder(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` (only 0-9) passes the Luhn checksum card numbers carry."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


class _Counter:
    """Counts replacements made by ``re.sub`` callbacks."""

    def __init__(self) -> None:
        self.n = 0


# --- PEM private keys --------------------------------------------------------

# Any private key flavour: RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP … BLOCK.
_PEM_KIND = r"(?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY(?: BLOCK)?"
_PEM_BEGIN = re.compile(r"-----BEGIN " + _PEM_KIND + "-----")
_PEM_END = re.compile(r"-----END " + _PEM_KIND + "-----")
# A truncated key (no END line) still leaks: take the base64 lines that follow, whether the
# line breaks are real or JSON-escaped (a GCP service-account file's "private_key").
_BR = r"(?:\r?\n|(?:\\r)?\\n)"
_PEM_TAIL = re.compile(
    r"(?:" + _BR + r"(?:[A-Za-z0-9+/=]++|[A-Za-z-]++: [^\r\n\\]*+)?(?=" + _BR + r"|\Z|[\"']))*+"
)


def _redact_pem(text: str, counter: _Counter) -> str:
    out: list[str] = []
    pos = 0
    end_seen = True  # becomes False once a search for an END line has failed
    while (begin := _PEM_BEGIN.search(text, pos)) is not None:
        # Once no END follows some BEGIN, none follows a later one either:
        # searching again would make the scan quadratic.
        end = _PEM_END.search(text, begin.end()) if end_seen else None
        if end is not None:
            stop = end.end()
        else:
            end_seen = False
            tail = _PEM_TAIL.match(text, begin.end())
            stop = tail.end() if tail else begin.end()
        out.append(text[pos : begin.start()])
        out.append(_placeholder("private_key"))
        counter.n += 1
        pos = stop
    out.append(text[pos:])
    return "".join(out)


# --- key: value secrets ------------------------------------------------------

_SECRET_KEYS = (
    r"password|passwd|passphrase|pwd|secret|client[_-]?secret|secret[_-]?key|secret[_-]?access[_-]?key"
    r"|api[_-]?key|api[_-]?token|access[_-]?token|auth[_-]?token|refresh[_-]?token|id[_-]?token"
    r"|private[_-]?key(?:[_-]?id)?|session[_-]?token|secret[_-]?token|access[_-]?key|account[_-]?key"
    r"|signing[_-]?(?:key|secret)|encryption[_-]?key|master[_-]?key|token|credentials?"
)
# The key, optional quote, ':' or '=', then the value. The key may be glued to what precedes
# it (DB_PASSWORD, X-Api-Key, dbpassword, //registry/:_authToken) but must end there.
_KEY_VALUE = re.compile(
    r"(?P<key>" + _SECRET_KEYS + r")(?![A-Za-z0-9_-])"
    r"(?P<sep>[\"']?[ \t]*+[:=][ \t]*+)"
    r"(?:\"(?P<dq>[^\"\r\n]{1,512}+)\"|'(?P<sq>[^'\r\n]{1,512}+)'|(?P<bare>[^\s&;,\"'<>)\]}]{1,512}+))",
    re.IGNORECASE,
)
# Values that are clearly not secrets: masks, template variables, booleans, placeholders.
_NOT_A_SECRET = re.compile(
    r"\[REDACTED|[*x•.]{3,}$|<[^>]*>$|\{\{|\$\{|\$[A-Z_]+$|(?:true|false|null|none|required|\[filtered\])$",
    re.IGNORECASE,
)


def _kind_of_key(key: str) -> str:
    key = key.lower()
    if "pass" in key or "pwd" in key:
        return "password"
    if "token" in key:
        return "token"
    if "api" in key and "key" in key:
        return "api_key"
    return "secret"


def _key_value_sub(counter: _Counter) -> Callable[[re.Match[str]], str]:
    def sub(m: re.Match[str]) -> str:
        value = m.group("dq") or m.group("sq") or m.group("bare") or ""
        if _NOT_A_SECRET.match(value.strip()):
            return m.group(0)
        counter.n += 1
        start, end = m.span()
        vstart = m.start("dq") if m.group("dq") else m.start("sq") if m.group("sq") else m.start("bare")
        vend = vstart + len(value)
        whole = m.string
        return whole[start:vstart] + _placeholder(_kind_of_key(m.group("key"))) + whole[vend:end]

    return sub


# --- simple token patterns, in the order they are applied ---------------------

# Where a token may start: never right after one of these characters, so a pattern
# never begins (or retries) inside a longer identifier.
_NOT_IN_TOKEN = r"(?<![A-Za-z0-9_-])"  # not inside a word, a dashed or an underscored token
_NOT_IN_WORD = r"(?<![A-Za-z0-9_])"
_NOT_IN_ALNUM = r"(?<![A-Za-z0-9])"


def _near(context: str, secret: str) -> re.Pattern[str]:
    """A secret shaped like an ordinary id: only within 40 characters after ``context`` on its line."""
    return re.compile(rf"(?i:(?P<keep>{context}[^\r\n]{{0,40}}?))(?P<secret>{secret})")


def _token(start: str, token: str, flags: int = 0) -> re.Pattern[str]:
    """``token`` where it may start (one of the ``_NOT_IN_*`` lookbehinds), which keeps it linear."""
    return re.compile(start + token, flags)


_TOKEN_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # user:password@host in any URL (the user name stays).
    (
        "password",
        re.compile(
            r"(?<![A-Za-z0-9+.-])(?P<keep>[A-Za-z][A-Za-z0-9+.-]{0,20}+://[^/\s:@\[\]]{0,256}+:)"
            r"(?P<secret>[^/\s@]{1,256}+)(?=@)"
        ),
    ),
    # Authorization / Proxy-Authorization headers, whatever the scheme.
    (
        "authorization",
        _token(
            _NOT_IN_TOKEN,
            r"(?P<keep>(?:proxy-)?authorization[\"']?[ \t]*+[:=][ \t]*+[\"']?"
            r"(?:(?:bearer|basic|token|digest|apikey|negotiate)[ \t]++)?)"
            r"(?P<secret>[^\s\"',;]{4,4096}+)",
            re.IGNORECASE,
        ),
    ),
    # A bare "Bearer <token>" (not prose: the token has a digit or is long).
    (
        "authorization",
        _token(
            _NOT_IN_TOKEN,
            r"(?P<keep>[Bb]earer[ \t]++)"
            r"(?P<secret>(?=[A-Za-z0-9._~+/=-]{0,4096}?\d)[A-Za-z0-9._~+/=-]{12,4096}+)",
        ),
    ),
    (
        "slack_webhook",
        re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]{10,512}+"),
    ),
    ("stripe_key", _token(_NOT_IN_WORD, r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,256}+")),
    ("stripe_webhook_secret", _token(_NOT_IN_WORD, r"whsec_[A-Za-z0-9+/=]{16,256}+")),
    ("aws_access_key", _token(_NOT_IN_ALNUM, r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])")),
    (
        "github_token",
        _token(_NOT_IN_WORD, r"(?:gh[pousr]_[A-Za-z0-9]{30,255}+|github_pat_[A-Za-z0-9_]{22,255}+)"),
    ),
    ("slack_token", _token(_NOT_IN_TOKEN, r"(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,255}+")),
    (
        "gitlab_token",
        _token(
            _NOT_IN_TOKEN,
            r"(?:gl(?:pat|dt|rt|ptt|soat|oas|cbt|imt|agent|ffct|ft|ct|ps|wt)-"
            r"[A-Za-z0-9_.-]{20,255}+|GR1348941[A-Za-z0-9_-]{20,255}+)",
        ),
    ),
    ("sendgrid_key", _token(_NOT_IN_TOKEN, r"SG\.[A-Za-z0-9_-]{16,64}+\.[A-Za-z0-9_-]{16,128}+")),
    ("twilio_key", _token(_NOT_IN_ALNUM, r"(?:SK|AC)[0-9a-f]{32}(?![A-Za-z0-9])")),
    ("npm_token", _token(_NOT_IN_WORD, r"npm_[A-Za-z0-9]{36,255}+")),
    ("pypi_token", _token(_NOT_IN_TOKEN, r"pypi-[A-Za-z0-9_-]{40,512}+")),
    (
        "azure_key",
        _token(
            _NOT_IN_ALNUM,
            r"(?P<keep>(?:AccountKey|SharedAccessKey|SharedAccessSignature|sig)=)"
            r"(?P<secret>[^;&\s\"'<>]{8,4096}+)",
            re.IGNORECASE,
        ),
    ),
    ("google_oauth", _token(_NOT_IN_TOKEN, r"(?:ya29\.|GOCSPX-)[A-Za-z0-9_.-]{20,2048}+")),
    # A bare 40-character secret access key next to "aws" (never a lowercase hex SHA).
    (
        "aws_secret_key",
        _near(
            "aws",
            r"(?<![A-Za-z0-9/+])(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])"
            r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",
        ),
    ),
    # A Twilio auth token is 32 hex digits, like a trace id, so only next to "twilio".
    ("twilio_key", _near("twilio", r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")),
    ("linear_api_key", _token(_NOT_IN_WORD, r"lin_(?:api|oauth)_[A-Za-z0-9]{20,255}+")),
    ("anthropic_key", _token(_NOT_IN_TOKEN, r"sk-ant-[A-Za-z0-9_-]{20,255}+")),
    ("openai_key", _token(_NOT_IN_TOKEN, r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,255}+")),
    ("google_api_key", _token(_NOT_IN_TOKEN, r"AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])")),
    (
        "jwt",
        _token(_NOT_IN_TOKEN, r"eyJ[A-Za-z0-9_-]{8,8192}+\.[A-Za-z0-9_-]{4,65536}+\.[A-Za-z0-9_-]{0,8192}+"),
    ),
]


def _token_sub(kind: str, counter: _Counter) -> Callable[[re.Match[str]], str]:
    def sub(m: re.Match[str]) -> str:
        groups = m.groupdict()
        if "secret" in groups:
            if groups["secret"].startswith("[REDACTED"):
                return m.group(0)
            counter.n += 1
            return groups["keep"] + _placeholder(kind)
        counter.n += 1
        return _placeholder(kind)

    return sub


# --- card numbers -------------------------------------------------------------

# 13–19 contiguous digits, or the printed groupings (4-4-4-4, Amex 4-6-5, Diners
# 4-6-4) with one consistent separator. Never inside a longer digit run, an
# identifier or a dotted/dashed number (a UUID, a version, "ORD-…"). A grouped
# card may be followed by its expiry or CVC ("4242 4242 4242 4242 12/27").
_CARD = re.compile(
    r"(?<![\w.-])(?:"
    r"[2-6]\d{12,18}+"
    r"|[2-6]\d{3}(?P<s>[ -])\d{4}(?P=s)\d{4}(?P=s)\d{4}"
    r"|3\d{3}(?P<t>[ -])\d{6}(?P=t)\d{4,5}+"
    r")(?!\d)(?!\w|[.-]\d)"
)


def _card_sub(counter: _Counter) -> Callable[[re.Match[str]], str]:
    def sub(m: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", m.group(0))
        # Luhn keeps order numbers that merely look long; a run of one digit
        # passes Luhn trivially and is never a real card.
        if not 13 <= len(digits) <= 19 or len(set(digits)) == 1 or not luhn_valid(digits):
            return m.group(0)
        counter.n += 1
        return _placeholder("card_number")

    return sub


def redact(text: str) -> tuple[str, int]:
    """Return ``text`` with secrets and card numbers replaced, and how many were replaced.

    >>> redact("curl -u sk_live_51H8abcdefGHIJ: https://api.stripe.com")
    ('curl -u [REDACTED:stripe_key]: https://api.stripe.com', 1)
    """
    if not text:
        return text, 0
    counter = _Counter()
    text = _redact_pem(text, counter)
    # Specific token shapes first, so "api_key=sk_live_…" says stripe_key, not password.
    for kind, pattern in _TOKEN_PATTERNS:
        text = pattern.sub(_token_sub(kind, counter), text)
    text = _KEY_VALUE.sub(_key_value_sub(counter), text)
    text = _CARD.sub(_card_sub(counter), text)
    return text, counter.n


def redact_strings(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with every string redacted, keys included."""
    if isinstance(value, str):
        return redact(value)[0]
    if isinstance(value, dict):
        return {redact_strings(k): redact_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_strings(v) for v in value]
    return value
