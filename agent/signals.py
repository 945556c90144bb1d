"""Facts read from a ticket's text before any model runs: deterministic, cheap, testable.

:func:`extract_signals` reads the (already redacted) subject, body and public
comments and returns :class:`casefile.agent.ticket.Signals`: HTTP statuses, error codes,
exception names, hosts, API endpoints, product areas, browsers, the time window
the problem lives in, and the account. Runbooks match on these, and their tool
calls are templated from them, so every extractor prefers missing a fact to
inventing one: an order number is not a status, a year is not an error.

Each extractor is a public function over plain text, so it can be tested (and
reused by runbooks) on its own.

The time window is relative to the ticket's ``created_at`` in UTC, never to the
wall clock: "since this morning" on a ticket created 2026-11-20T11:40Z starts at
2026-11-20T00:00Z whenever the investigation runs. Customers rarely say their
timezone, so day boundaries are UTC days; windows are at least one hour long
(the tools need some traffic to compare) and at most 30 days.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from casefile.agent.accounts import AccountDirectory
from casefile.agent.redact import PLACEHOLDER_RE
from casefile.agent.ticket import AccountSource, Signals, Ticket
from casefile.agent.timewords import in_english

__all__ = [
    "AREAS",
    "DEFAULT_WINDOW",
    "extract_areas",
    "extract_browsers",
    "extract_endpoints",
    "extract_error_codes",
    "extract_exceptions",
    "extract_hosts",
    "extract_signals",
    "extract_statuses",
    "extract_time_window",
    "normalise_endpoint",
    "reference_time",
    "resolve_account",
]

DEFAULT_WINDOW = timedelta(hours=24)
MIN_WINDOW = timedelta(hours=1)
MAX_WINDOW = timedelta(days=30)

AREAS = ("api", "webhook", "sso", "oauth", "export", "billing", "ui", "performance", "data")


def extract_signals(ticket: Ticket, directory: AccountDirectory | None) -> Signals:
    """Everything the ticket says about the problem, and whose problem it is."""
    # Placeholders like [REDACTED:stripe_key] must not read as error codes.
    text = PLACEHOLDER_RE.sub("[REDACTED]", ticket.full_text())
    statuses = extract_statuses(text)
    error_codes = extract_error_codes(text)
    endpoints = extract_endpoints(text)
    browsers = extract_browsers(text)
    hint, start, end = extract_time_window(text, reference_time(ticket))
    account_id, account_name, account_source = resolve_account(ticket, directory)
    return Signals(
        statuses=statuses,
        error_codes=error_codes,
        exceptions=extract_exceptions(text),
        hosts=extract_hosts(text),
        endpoints=endpoints,
        areas=extract_areas(
            text, statuses=statuses, error_codes=error_codes, endpoints=endpoints, browsers=browsers
        ),
        browsers=browsers,
        time_hint=hint,
        window_start=start,
        window_end=end,
        account_id=account_id,
        account_name=account_name,
        account_source=account_source,
    )


def reference_time(ticket: Ticket) -> datetime:
    """When the customer last described the problem: the newest public comment, else the ticket.

    In a helpdesk thread the real problem is often in a later comment ("since about an hour our
    token requests fail"); its relative times, and the window the tools look at, start from there.
    """
    stamps = [
        c.created_at
        for c in ticket.comments
        if c.public and c.created_at and c.created_at > ticket.created_at
    ]
    return max(stamps, default=ticket.created_at)


def _unique(items: Iterable[Any]) -> list[Any]:
    """Distinct items in order of first appearance (the subject's facts come first)."""
    seen: set[Any] = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


# --- HTTP statuses ------------------------------------------------------------------

_KNOWN_STATUSES = frozenset(
    [
        *range(400, 419),
        *range(421, 427),
        428,
        429,
        431,
        451,
        499,
        *range(500, 509),
        510,
        511,
        *range(520, 525),
    ]
)
_REASONS = (
    r"too many requests|internal server error|bad gateway|service unavailable|gateway time-?out|bad request"
    r"|unauthori[sz]ed|forbidden|not found|payment required|conflict|unprocessable (?:entity|content)"
    r"|request time-?out|method not allowed|not acceptable|gone|precondition (?:failed|required)"
    r"|(?:payload|content|request entity) too large|unsupported media type|not implemented"
    r"|http version not supported|request header fields too large|insufficient storage"
)
_NUM = r"(?P<code>[45]\d\d)(?!\d|[.,]\d)"
# Statuses count only where the text says they are statuses: "HTTP 502", "status
# code 500", "503 Service Unavailable", "429s", "getting 429 since …". A bare
# number ("order 5002", "500 customers") never is.
_STATUS_PATTERNS = [
    re.compile(
        r"(?:\bhttp(?:/\d(?:\.\d)?)?|\b(?:response[ _-]?)?status(?:[ _-]?code)?|\bstatuscode"
        r"|\bresponse[ _-]?code|\b(?:error[ _-]?)?code|\berror)[\"']?[ \t]*[:=]?[ \t]*[\"']?(?<![\w.#-])"
        + _NUM,
        re.IGNORECASE,
    ),
    re.compile(r"(?<![\w.#/$-])" + _NUM + r"[ \t]*(?:[-(][ \t]*)?(?:" + _REASONS + r")\b", re.IGNORECASE),
    re.compile(r"\b(?:" + _REASONS + r")[ \t]*[(:\[-]?[ \t]*" + _NUM, re.IGNORECASE),
    re.compile(
        r"(?<![\w.#/$-])" + _NUM + r"(?:s\b|[ \t]*(?:errors?|responses?|status(?:es)?|http)\b)", re.IGNORECASE
    ),
    re.compile(
        r"\b(?:return(?:s|ed|ing)?|got|get(?:s|ting)?|receiv(?:e|es|ed|ing)|see(?:s|ing)?|saw|throw(?:s|ing)?"
        r"|hit(?:s|ting)?|with|fail(?:s|ed|ing)?|respond(?:s|ed|ing)?|answer(?:s|ed|ing)?)"
        r"[ \t]+(?:an?[ \t]+|http[ \t]+)?" + _NUM + r"(?:[ \t]+(?P<next>[A-Za-z]+))?",
        re.IGNORECASE,
    ),
]
# After "getting 429 …" these words keep 429 a status; any other word ("with 500
# orders") makes it a quantity.
_STATUS_NEXT_OK = frozenset(
    (
        *("since", "on", "for", "from", "when", "back", "and", "or", "in", "at", "now", "again", "every"),
        *("each", "all", "today", "yesterday", "this", "after", "errors", "error", "response", "responses"),
        *("status", "code", "codes", "too", "sometimes", "intermittently", "while", "but", "ever", "as"),
        *("if", "randomly", "consistently", "whenever"),
    )
)


def extract_statuses(text: str) -> list[int]:
    """4xx/5xx HTTP statuses the text mentions as statuses, in order of appearance."""
    found: list[tuple[int, int]] = []
    for i, pattern in enumerate(_STATUS_PATTERNS):
        for m in pattern.finditer(text):
            code = int(m.group("code"))
            if code not in _KNOWN_STATUSES:
                continue
            if i == len(_STATUS_PATTERNS) - 1:
                following = m.group("next")
                if following is not None and following.lower() not in _STATUS_NEXT_OK:
                    continue
            found.append((m.start("code"), code))
    return _unique(code for _, code in sorted(found))


# --- error codes ----------------------------------------------------------------------

_ERRNO = (
    r"E(?:CONNREFUSED|CONNRESET|CONNABORTED|TIMEDOUT|NOTFOUND|HOSTUNREACH|NETUNREACH|PIPE|PROTO|ADDRINUSE"
    r"|ADDRNOTAVAIL|AI_AGAIN|AI_NONAME|ACCES|PERM|NOENT|MFILE|CANCELED|SOCKETTIMEDOUT|SOCKET|HOSTDOWN)"
)
_UPPER_CODE = re.compile(
    r"(?<![\w.$-])(?:net::)?(?P<c>" + _ERRNO + r"|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![\w-])"
)
_UPPER_ERRORISH = re.compile(
    r"^E[A-Z_]+$|(?:^|_)(?:ERR|ERROR|FAIL|FAILED|FAILURE|INVALID|EXPIRED|DENIED|REFUSED|TIMEOUT|TIMED|EXCEEDED"
    r"|UNAUTHORIZED|FORBIDDEN|UNABLE|NOT|CERT|UNKNOWN|MISSING|REJECTED|DECLINED|LIMIT|SELF)(?:_|$)"
)
# lowercase snake_case that is a value, not a key ("error_code": …), a call
# (create_order(…)), a file (export_v2.py), a path segment or an address.
_SNAKE_CODE = re.compile(
    r"(?<![\w./@$-])(?P<c>[a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?![\w/@-]|\.\w|\(|[\"'][ \t]*:|[ \t]*=[^=])"
)
# Field names, not error codes, whatever the context.
_FIELD_SUFFIX = re.compile(
    r"_(?:id|ids|at|url|uri|ms|hash|key|code|type|name|count|path|time|date|size|version|by|status|message|msg"
    r"|description|headers?|agent|body|details|info|data|level|email|number|params?|token|secret|ts|utc)$"
)
# Prefixed ids (req_8f3k2, ord_12345) are identifiers, not codes.
_ID_LIKE = re.compile(r"_(?=[a-z]*\d)[a-z0-9]{4,}$")
# Stack frames name functions: Python's "File "x.py", line 3, in create_order", JS's "at sync_orders (…)".
_FRAME = re.compile(r"^[ \t]*(?:File \"[^\"\n]*\", line \d+, in |at )[^\n]*$", re.MULTILINE)


def extract_error_codes(text: str) -> list[str]:
    """Error codes: rate_limit_exceeded, card_declined, ECONNREFUSED, ERR_SSL_PROTOCOL_ERROR…"""
    text = _FRAME.sub("", text)
    found: list[tuple[int, str]] = []
    for m in _SNAKE_CODE.finditer(text):
        code = m.group("c")
        if not _FIELD_SUFFIX.search(code) and not _ID_LIKE.search(code):
            found.append((m.start(), code))
    for m in _UPPER_CODE.finditer(text):
        code = m.group("c")
        if _UPPER_ERRORISH.search(code):
            found.append((m.start(), code))
    return _unique(code for _, code in sorted(found))


# --- exceptions -----------------------------------------------------------------------

_QUALIFIED_EXC = re.compile(
    r"(?<![\w.$])(?P<e>(?:[A-Za-z_][\w$]*\.)+[A-Z][\w$]*?(?:Exception|Error|Throwable|Timeout|Failure|Fault))(?![\w$])"
)
_RUBY_EXC = re.compile(
    r"(?<![\w:])(?P<e>(?:[A-Z]\w*::)+[A-Z]\w*?(?:Error|Exception|Timeout|Failed|Refused|Invalid|NotFound))(?!\w)"
)
_BARE_EXC = re.compile(r"(?<![\w.$:])(?P<e>[A-Z][A-Za-z0-9]*?[A-Za-z0-9](?:Exception|Error))(?![\w$])")


def extract_exceptions(text: str) -> list[str]:
    """Exception class names, fully qualified when the text qualifies them."""
    found: list[tuple[int, str]] = []
    tails: set[str] = set()
    for pattern, sep in ((_QUALIFIED_EXC, "."), (_RUBY_EXC, "::")):
        for m in pattern.finditer(text):
            name = m.group("e")
            found.append((m.start(), name))
            tails.add(name.rsplit(sep, 1)[-1])
    for m in _BARE_EXC.finditer(text):
        name = m.group("e")
        if name not in tails:  # already reported as java.lang.OutOfMemoryError
            found.append((m.start(), name))
    return _unique(name for _, name in sorted(found))


# --- hosts, IPs, ports ------------------------------------------------------------------

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IP = re.compile(
    r"(?<![\w.:/-])(?P<h>" + _OCTET + r"(?:\." + _OCTET + r"){3})(?::(?P<p>\d{1,5})(?!\d))?(?![\w-]|\.\d)"
)
_URL = re.compile(
    r"\b(?:https?|wss?|ftp|postgres(?:ql)?|mysql|redis|amqps?|mongodb(?:\+srv)?)://(?:[^/\s@]{1,256}@)?"
    r"(?P<h>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?)(?::(?P<p>\d{1,5}))?(?P<path>/[^\s?#\"'<>)\]]*)?",
    re.IGNORECASE,
)
_TLDS = (
    r"com|net|org|io|dev|co|app|ai|xyz|cloud|tech|health|us|uk|de|fr|eu|ca|au|in|info|biz|me|sh|so|gg"
    r"|internal|local|lan|example|test|invalid|corp|svc"
)
_BARE_HOST = re.compile(
    r"(?<![\w@./:-])(?P<h>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:" + _TLDS + r")|localhost)"
    r"(?::(?P<p>\d{1,5})(?!\d))?(?![\w-]|\.\w)",
    re.IGNORECASE,
)


def extract_hosts(text: str) -> list[str]:
    """Hosts and IP addresses, with their port when given: ``10.0.45.2:5432``, ``hooks.example.com``."""
    found: list[tuple[int, str]] = []
    for pattern in (_URL, _IP, _BARE_HOST):
        for m in pattern.finditer(text):
            host = m.group("h").lower().rstrip(".")
            port = m.group("p")
            found.append((m.start("h"), f"{host}:{port}" if port else host))
    return _unique(host for _, host in sorted(found))


# --- API endpoints ------------------------------------------------------------------------

_API_PATH = re.compile(r"(?<![\w/.-])(?P<path>/(?:v\d+|api)(?:/[A-Za-z0-9_.~{}:%@-]+)*)/?")
_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?=[a-f]*\d)[0-9a-f]{8,}"
    r"|[a-z]{2,8}_(?=[a-z]*\d)[A-Za-z0-9]{6,}|(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{16,}|\{[^}]*\}|:[a-z_]+)$",
    re.IGNORECASE,
)


def normalise_endpoint(path: str) -> str:
    """``/v2/orders/ord_8fK2j3LmQ/`` → ``/v2/orders/{id}``: ids vary, the route does not."""
    path = path.split("?", 1)[0].split("#", 1)[0].rstrip(".,;:!/") or "/"
    segments = ["{id}" if _ID_SEGMENT.match(s) else s for s in path.split("/")]
    return "/".join(segments)


def extract_endpoints(text: str) -> list[str]:
    """API paths (``/v2/...``, ``/api/...``) from prose, logs and URLs, ids replaced by ``{id}``."""
    found: list[tuple[int, str]] = []
    for m in _URL.finditer(text):
        path = m.group("path")
        if path and re.match(r"/(?:v\d+|api)(?:/|$)", path):
            found.append((m.start("path"), normalise_endpoint(path)))
    for m in _API_PATH.finditer(text):
        found.append((m.start("path"), normalise_endpoint(m.group("path"))))
    return _unique(path for _, path in sorted(found))


# --- product areas --------------------------------------------------------------------------

_AREA_PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "api": r"\bapi\b|\bsdk\b|\bcurl\b|\brest\b|\bhttp requests?\b",
        "webhook": r"\bweb ?hooks?\b|\bcallbacks?\b|\b[a-z_]+\.[a-z_.]+ events?\b|\bevent deliver"
        r"|\bevents? (?:arriv|deliver|(?:are |were )?late|(?:are |were )?missing|stopped)|\bnot receiving events?\b"
        r"|\bmissing (?:\w+ )?events?\b|\bevents? (?:never|did not|didn'?t) (?:arrive|come)"
        # Customers outside English call them notifications (notificaciones, Benachrichtigungen).
        r"|\bnotifica(?:tions?|ciones|ci[óo]n)\b|\bbenachrichtigung(?:en)?\b",
        "sso": r"\bsaml\b|\bsso\b|single sign[- ]?on|\bokta\b|\bazure ad\b|\bentra\b|\bonelogin\b|\bidp\b"
        r"|identity provider|\blog ?ins?\b|\blogging in\b|\bsign(?:ing)?[- ]?in\b|\badfs\b|\bjumpcloud\b"
        r"|\banmeld\w*|\beinlogg\w*|\bconnexion (?:sso|saml|au |à l)|\bse connecter\b|\biniciar sesi[oó]n\b|\binicio de sesi[oó]n\b",
        "oauth": r"\boauth2?\b|\baccess tokens?\b|\brefresh tokens?\b|client[_ ]credentials"
        r"|authorization code|\binvalid_grant\b|\binvalid_client\b|\bredirect_uri\b|\bconsent screen\b",
        "export": r"\bexport(?:s|ed|ing)?\b|\bcsv\b|\bdownload(?:ing)? (?:the |a |our )?reports?\b"
        r"|\bexportier\w*|\bexporter\b|\bexportar\b",
        "billing": r"\binvoices?\b|\bcard\b|\bcredit cards?\b|\bpayments?\b|\bcharged\b|\bcharges\b"
        r"|\bsubscriptions?\b|\bbilling\b|\bbilled\b|\bpast[_ ]due\b|\brefunds?\b|\breceipts?\b"
        # the same in French, German and Spanish tickets
        r"|\bfactur\w*|\babonnement\b|\brechnung\w*|\bsuscripci[oó]n\w*|\bpr[ée]l[èe]vements?\b|\babbuchung\w*"
        r"|\bcarte bancaire\b|\bkreditkarte\b|\btarjeta\b|\bcobros?\b",
        "ui": r"\bbuttons?\b|\bpages?\b|\bbrowsers?\b|\bconsole\b|\bdashboard\b|\bscreen\b"
        r"|\bclick(?:s|ed|ing)?\b|\bui\b|\bdropdown\b|\bmodal\b|\bspinner\b"
        r"|\bnavigateur\b|\bnavegador\b|\bp[áa]gina\b|\bseite\b|\bbouton\b|\bbot[oó]n\b|\bschaltfl[äa]che\b",
        "performance": r"\bslow(?:ly|ness|er)?\b|\btimeouts?\b|\btim(?:ed|es|ing) out\b|\blatency\b"
        r"|\blag(?:gy|ging)?\b|\bsluggish\b|\bp9[059]\b|\bhang(?:s|ing)?\b|\betimedout\b"
        r"|\btakes? (?:\d+|forever|ages|minutes)"
        r"|\blangsam\w*|\bzeit[üu]berschreitung\b|\blent[aoe]?s?\b|\blenteur\b|\blentitud\b|\btarda(?:n|ndo)?\b",
        "data": r"\bwrong (?:numbers?|totals?|counts?|amounts?|data|values?|dates?|times?)\b"
        r"|\bmissing (?:orders?|records?|rows?|entries|items?|events?|data)\b|\btime ?zones?\b|\boff by\b"
        r"|\bdiscrepanc(?:y|ies)\b|\bmismatch(?:es|ed)?\b|\b(?:don'?t|doesn'?t|do not|does not) match\b"
        r"|\bduplicat(?:e|ed|es)\b|\bincorrect\b"
        r"|\bzeitzone\b|\bfuseau horaire\b|\bzona horaria\b|\bstimmen nicht\b|\bne correspondent pas\b"
        r"|\bno coincide(?:n)?\b|\bfalsche (?:zahlen|summen)\b|\bchiffres? faux\b|\bcifras? incorrectas?\b",
    }.items()
}
_BILLING_CODES = re.compile(r"card_|payment|subscription|insufficient_funds|past_due|invoice")


def extract_areas(
    text: str,
    *,
    statuses: Iterable[int] = (),
    error_codes: Iterable[str] = (),
    endpoints: Iterable[str] = (),
    browsers: Iterable[str] = (),
) -> list[str]:
    """Product areas the ticket is about, in the fixed order of :data:`AREAS`."""
    areas = {name for name, pattern in _AREA_PATTERNS.items() if pattern.search(text)}
    statuses, error_codes = list(statuses), list(error_codes)
    if list(endpoints):
        areas.add("api")
    if 402 in statuses or any(_BILLING_CODES.search(c) for c in error_codes):
        areas.add("billing")
    if any(c in ("ETIMEDOUT", "ESOCKETTIMEDOUT") for c in error_codes) or 504 in statuses:
        areas.add("performance")
    if list(browsers):
        areas.add("ui")
    return [a for a in AREAS if a in areas]


# --- browsers --------------------------------------------------------------------------------

_UA = re.compile(r"Mozilla/5\.0[^\r\n\"]{0,600}")
_UA_RULES = [
    ("Edge", re.compile(r"\bEdg(?:e|A|iOS)?/(\d+)")),
    ("Opera", re.compile(r"\bOPR/(\d+)")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/(\d+)")),
    ("Chrome", re.compile(r"\b(?:Chrome|CriOS)/(\d+)")),
    ("Safari", re.compile(r"\bVersion/(\d+(?:\.\d+)?)(?:\.\d+)*\b.*\bSafari/")),
]
_BROWSER_TEXT = re.compile(
    r"(?P<pre>Microsoft |Google |Mozilla |Mobile |iOS )?"
    r"\b(?P<b>Chrome|Chromium|Safari|Firefox|Edge|Opera|Brave)\b"
    r"(?:[ \t]+v?(?P<v>\d+(?:\.\d+)*))?"
)


def _browser_version(browser: str, version: str) -> str:
    parts = version.split(".")
    # Safari's minor version matters (17.2 vs 17.4); Chromium-based majors ship every 4 weeks.
    return ".".join(parts[:2]) if browser == "Safari" else parts[0]


def extract_browsers(text: str) -> list[str]:
    """Browsers from user-agent strings and prose: ``Safari 17.2``, ``Chrome 131``."""
    found: list[tuple[int, str]] = []
    for m in _UA.finditer(text):
        for name, rule in _UA_RULES:
            v = rule.search(m.group(0))
            if v:
                found.append((m.start(), f"{name} {_browser_version(name, v.group(1))}"))
                break
    prose = _UA.sub(lambda m: " " * len(m.group(0)), text)
    for m in _BROWSER_TEXT.finditer(prose):
        name, version = m.group("b"), m.group("v")
        if name == "Edge" and not version and m.group("pre") != "Microsoft ":
            continue  # "an edge case" / "Edge" at a sentence start
        found.append((m.start(), f"{name} {_browser_version(name, version)}" if version else name))
    names = _unique(b for _, b in sorted(found))
    versioned = {b.split(" ")[0] for b in names if " " in b}
    return [b for b in names if " " in b or b not in versioned]


# --- time window ------------------------------------------------------------------------------

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "few": 3, "a few": 3,
    "couple": 2, "a couple": 2, "a couple of": 2, "couple of": 2, "several": 3,
}  # fmt: skip
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip

_ONSET = (
    r"(?P<onset>\b(?:since|from|starting|started|start|began|begun|beginning|as of|after|ever since)[ \t]+)?"
)
_N = (
    r"(?P<n>\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|(?:a[ \t]+)?few|(?:a[ \t]+)?couple(?:[ \t]+of)?|several)"
)
_UNIT = r"(?P<unit>min(?:ute)?s?|h(?:ou)?rs?|hours?|days?|weeks?)"
_CLOCK = (
    r"(?P<h>[01]?\d|2[0-3])(?::(?P<m>[0-5]\d))?[ \t]*(?P<ampm>[ap]\.?m\.?)?(?=[\s,.;)]|$)"
    r"(?:[ \t]*(?:utc|gmt|z)\b)?"
)
_MONTH = r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"


@dataclass(frozen=True)
class _Candidate:
    rank: int  # 1: says when it started ("since …", "for the past …"); 2: a bare mention; 3: a log timestamp
    pos: int
    start: datetime
    phrase: str


def _day(created: datetime, days_back: int = 0, hour: int = 0, minute: int = 0) -> datetime:
    d = created.date() - timedelta(days=days_back)
    return datetime.combine(d, time(hour, minute), tzinfo=UTC)


def _clock(m: re.Match[str]) -> tuple[int, int] | None:
    if m.group("h") is None:
        return None
    hour, minute, ampm = int(m.group("h")), int(m.group("m") or 0), m.group("ampm")
    if ampm is None and m.group("m") is None:
        return None  # "at 3" could be anything
    if ampm:
        if hour > 12:
            return None
        hour = hour % 12 + (12 if ampm.lower().startswith("p") else 0)
    return hour, minute


def _n(value: str | None) -> int:
    if value is None:
        return 1
    key = " ".join(value.lower().split())
    return int(key) if key.isdigit() else _NUMBER_WORDS.get(key, 1)


def _h_today(m: re.Match[str], created: datetime) -> datetime | None:
    part = (m.group("part") or m.group("part2") or "").lower()
    clock = _clock(m)
    if clock:
        return _day(created, 0, *clock)
    return _day(created, 0, {"afternoon": 12, "evening": 17, "tonight": 17}.get(part, 0))


def _h_yesterday(m: re.Match[str], created: datetime) -> datetime | None:
    clock = _clock(m)
    return _day(created, 1, *clock) if clock else _day(created, 1)


def _h_last_night(m: re.Match[str], created: datetime) -> datetime | None:
    return _day(created, 1, 18)


def _h_duration(m: re.Match[str], created: datetime) -> datetime | None:
    n, unit = _n(m.group("n")), m.group("unit").lower()
    if unit.startswith("m"):
        return created - timedelta(minutes=n)
    if unit.startswith("h"):
        return created - timedelta(hours=n)
    days = n * 7 if unit.startswith("w") else n
    return _day(created, days)


def _h_vague_days(m: re.Match[str], created: datetime) -> datetime | None:
    return _day(created, 14 if "week" in m.group(0).lower() else 3)


def _h_weekday(m: re.Match[str], created: datetime) -> datetime | None:
    target = _WEEKDAYS.index(m.group("wd").lower())
    back = (created.weekday() - target) % 7
    # "since Monday" written on a Monday means the previous one: they would say "this morning".
    return _day(created, back or 7)


def _h_weekend(m: re.Match[str], created: datetime) -> datetime | None:
    back = (created.weekday() - 5) % 7
    return _day(created, back or 7)


def _h_week(m: re.Match[str], created: datetime) -> datetime | None:
    back = created.weekday() + (7 if "last" in m.group(0).lower() else 0)
    return _day(created, back)


def _h_clock_today(m: re.Match[str], created: datetime) -> datetime | None:
    word = (m.group("word") or "").lower()
    clock = (12, 0) if word == "noon" else (0, 0) if word == "midnight" else _clock(m)
    if clock is None:
        return None
    at = _day(created, 0, *clock)
    return at if at <= created else at - timedelta(days=1)


def _date_in_past(created: datetime, year: int | None, month: int, day: int) -> date | None:
    try:
        d = date(year or created.year, month, day)
    except ValueError:
        return None
    if year is None and d > created.date():
        try:
            d = date(created.year - 1, month, day)
        except ValueError:
            return None
    return d


def _h_iso(m: re.Match[str], created: datetime) -> datetime | None:
    d = _date_in_past(created, int(m.group("y")), int(m.group("mo")), int(m.group("d")))
    if d is None:
        return None
    clock = _clock(m) if m.group("h") else None
    seconds = int(m.group("s") or 0) if clock else 0
    return datetime.combine(d, time(*clock, seconds) if clock else time(0), tzinfo=UTC)


def _h_month_day(m: re.Match[str], created: datetime) -> datetime | None:
    # Two spellings share the rule: "18 November" (mon, d) and "Nov 18th" (mon2, d2).
    month = (m.group("mon") or m.group("mon2")).lower()[:3]
    day = int(m.group("d") or m.group("d2"))
    year = int(m.group("y")) if m.group("y") else None
    d = _date_in_past(created, year, _MONTHS[month], day)
    return datetime.combine(d, time(0), tzinfo=UTC) if d else None


_Handler = Callable[[re.Match[str], datetime], datetime | None]
_TIME_RULES: list[tuple[re.Pattern[str], _Handler, bool]] = [
    # (pattern, handler, inherently an onset: durations and "… ago" say when it began)
    (
        re.compile(
            _ONSET + r"\b(?:(?:early[ \t]+)?this[ \t]+(?P<part>morning|afternoon|evening)|earlier[ \t]+today"
            r"|(?P<part2>today|tonight))(?:[ \t]+(?:at|around|about|from|since)[ \t]+(?:~[ \t]*)?"
            + _CLOCK
            + ")?",
            re.IGNORECASE,
        ),
        _h_today,
        False,
    ),
    (
        re.compile(
            _ONSET + r"\byesterday(?:[ \t]+(?:morning|afternoon|evening|night))?"
            r"(?:[ \t]+(?:at|around|about|from)[ \t]+(?:~[ \t]*)?" + _CLOCK + ")?",
            re.IGNORECASE,
        ),
        _h_yesterday,
        False,
    ),
    (re.compile(_ONSET + r"\b(?:last[ \t]+night|overnight)\b", re.IGNORECASE), _h_last_night, False),
    (
        re.compile(
            r"\b(?:(?:for|in|over|during|within)[ \t]+)?(?:the[ \t]+)?(?:past|last)[ \t]+(?:"
            + _N
            + r"[ \t]+)?"
            + _UNIT
            + r"\b",
            re.IGNORECASE,
        ),
        _h_duration,
        True,
    ),
    (re.compile(r"\b" + _N + r"[ \t]+" + _UNIT + r"[ \t]+ago\b", re.IGNORECASE), _h_duration, True),
    (
        re.compile(r"\bfor[ \t]+(?:about[ \t]+|over[ \t]+)?" + _N + r"[ \t]+" + _UNIT + r"\b", re.IGNORECASE),
        _h_duration,
        True,
    ),
    (re.compile(r"\b(?:for|since)[ \t]+(?:days|weeks|a[ \t]+while)\b", re.IGNORECASE), _h_vague_days, True),
    (
        re.compile(
            r"(?P<onset>\b(?:since|from|starting|started|began|as of|after|on|last|this past)[ \t]+)?"
            r"\b(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b",
            re.IGNORECASE,
        ),
        _h_weekday,
        False,
    ),
    (re.compile(_ONSET + r"\b(?:over[ \t]+)?the[ \t]+weekend\b", re.IGNORECASE), _h_weekend, False),
    (re.compile(_ONSET + r"\b(?:this|last)[ \t]+week\b", re.IGNORECASE), _h_week, False),
    (
        re.compile(
            r"(?P<onset>\b(?:since|from|starting(?:[ \t]+at)?|started[ \t]+at|began[ \t]+at|after|as of)"
            r"[ \t]+)"
            r"(?:about[ \t]+|around[ \t]+|~[ \t]*)?(?:(?P<word>noon|midnight)|" + _CLOCK + ")",
            re.IGNORECASE,
        ),
        _h_clock_today,
        True,
    ),
    (
        re.compile(
            r"(?P<onset>\b(?:since|from|starting|started|began|as of|after|on)[ \t]+)?"
            r"(?<![\w.:/-])(?P<y>20\d\d)-(?P<mo>[01]\d)-(?P<d>[0-3]\d)"
            r"(?:[T \t](?:" + _CLOCK.replace("(?=[\\s,.;)]|$)", "(?::(?P<s>\\d\\d)(?:\\.\\d+)?)?") + r"))?",
            re.IGNORECASE,
        ),
        _h_iso,
        False,
    ),
    (
        re.compile(
            r"(?P<onset>\b(?:since|from|starting|started|began|as of|after|on)[ \t]+)"
            r"(?:(?:the[ \t]+)?(?P<d>[0-3]?\d)(?:st|nd|rd|th)?(?:[ \t]+of)?[ \t]+"
            + _MONTH.replace("(?P<mon>", "(?P<mon>")
            + r"|"
            + _MONTH.replace("(?P<mon>", "(?P<mon2>")
            + r"[ \t]+(?P<d2>[0-3]?\d)(?:st|nd|rd|th)?)"
            r"(?:,?[ \t]+(?P<y>20\d\d))?\b",
            re.IGNORECASE,
        ),
        _h_month_day,
        False,
    ),
]


def extract_time_window(text: str, created_at: datetime) -> tuple[str | None, datetime, datetime]:
    """``(phrase, window_start, window_end)``: when the problem started, relative to ``created_at``.

    Phrases that say when it began ("since this morning", "for the past 3 hours",
    "2 hours ago") beat bare mentions ("yesterday"), which beat timestamps pasted
    from logs; among equals the first in the text wins (the subject comes first).
    Without any, the window is the 24 hours before the ticket.
    """
    created = created_at.astimezone(UTC)
    text = in_english(text)  # "seit gestern Abend", "il y a 2 heures", "desde el lunes" read as English
    candidates: list[_Candidate] = []
    for pattern, handler, inherent_onset in _TIME_RULES:
        for m in pattern.finditer(text):
            start = handler(m, created)
            if start is None or start >= created:
                continue
            onset = inherent_onset or bool(m.groupdict().get("onset"))
            is_log_stamp = handler is _h_iso and not onset
            rank = 3 if is_log_stamp else 1 if onset else 2
            candidates.append(_Candidate(rank, m.start(), start, " ".join(m.group(0).split())))
    if not candidates:
        return None, created - DEFAULT_WINDOW, created
    if all(c.rank == 3 for c in candidates):
        best = min(candidates, key=lambda c: (c.start, c.pos))  # the earliest logged moment
    else:
        best = min(candidates, key=lambda c: (c.rank, c.pos))
    start = min(best.start, created - MIN_WINDOW)
    start = max(start, created - MAX_WINDOW)
    return best.phrase, start, created


# --- account ------------------------------------------------------------------------------------


def resolve_account(
    ticket: Ticket, directory: AccountDirectory | None
) -> tuple[str | None, str | None, AccountSource]:
    """``(account_id, account_name, account_source)``: the ticket's own account id, else the
    requester's email domain, else an account the text names, else unresolved."""
    if ticket.account_id:
        account = directory.get(ticket.account_id) if directory else None
        return ticket.account_id, account["name"] if account else None, "ticket"
    if directory is None:
        return None, None, "unresolved"
    account = directory.by_email(ticket.requester.email)
    if account is not None:
        return account["id"], account["name"], "email_domain"
    account = directory.by_name_mention(PLACEHOLDER_RE.sub("[REDACTED]", ticket.full_text()))
    if account is not None:
        return account["id"], account["name"], "name_mention"
    return None, None, "unresolved"
