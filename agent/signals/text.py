"""Extractors of facts from a ticket's text: HTTP statuses, error codes, exception names, hosts,
API endpoints, product areas and browsers. Each prefers missing a fact to inventing one."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "AREAS",
    "PROBLEM_TYPE_CODE",
    "code_key",
    "code_name",
    "extract_areas",
    "extract_browsers",
    "extract_endpoints",
    "extract_error_codes",
    "extract_exceptions",
    "extract_hosts",
    "extract_statuses",
    "normalise_endpoint",
]

AREAS = ("api", "webhook", "sso", "oauth", "export", "billing", "ui", "performance", "data")


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


# Where the text says a code follows: "error …", "code: …", "403 …", a JSON "type"/"code" value.
_SAYS_CODE = (
    r"(?:\berror|\bcode|\bfault|\bfailure|\berrno|\breason|\btype|\bproblem|(?<![\w.])[45]\d\d)"
    r"(?:[\s\"':=,(\[]{1,4}[\w-]+){0,2}?[\s\"':=,(\[]{1,4}"
)
# Vendor codes written as a prefix and a number (QRM-0317, ERR-1042) have the shape of a tracker's
# issue ids (ABC-123), and a problem type's slug ("crate-rejected") the shape of any hyphenated
# words: either counts as an error code only where the text says it is one.
_SAID_CODE = re.compile(
    _SAYS_CODE + r"(?P<c>(?-i:[A-Z]{2,6})-\d{3,6}|(?-i:[a-z][a-z0-9]*(?:-[a-z0-9]+){1,5}))(?![\w-]|\.\w|:)",
    re.IGNORECASE,
)
# A problem type (RFC 9457 ``type``) is a URL whose last segment is the code, under a path that says
# so (``/problems/``, ``/errors/``, ``/error-codes/``).
PROBLEM_TYPE_CODE = re.compile(
    r"\bhttps?://[^\s\"'<>]*/[\w-]*(?:prob|error|code|fault)[\w-]*/(?P<c>[a-z][a-z0-9]*(?:[-_][a-z0-9]+){1,5})"
    r"(?=[\s\"'<>),.;]|$)",
    re.IGNORECASE,
)
# The words a hyphenated code is made of when it names an error: "crate-rejected",
# "credits-exhausted", "session-expired"; "sign-in" or "real-time" are no codes.
_KEBAB_ERRORISH = re.compile(
    r"(?:^|-)(?:error|errors|failed|failure|invalid|expired|denied|refused|rejected|declined|exceeded|exhausted"
    r"|unavailable|unauthori[sz]ed|forbidden|missing|unknown|conflict|limit|limited|timeout|unsupported"
    r"|malformed|required|suspended|blocked|not-found|too-many-requests|internal)(?:-|$)"
)


# A protocol's code as a log keeps it, behind the name of its scheme: ``ota:9409``, ``soap:Server``,
# ``ocpp:SecurityError`` (one short name and a colon; a URN's many colons or a URL's are no scheme).
_SCHEMED = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,11}:(?P<c>[^:/\s]+)$")


def code_name(code: str) -> str:
    """A code as a customer or a help center writes it: a problem type's URI (as logs keep it) by
    its last segment, the slug (``…/problems/crate-rejected`` → ``crate-rejected``), and a protocol's
    code by itself, without the scheme a log put before it (``ota:9409`` → ``9409``)."""
    name = code.rstrip("/").rsplit("/", 1)[-1]
    schemed = _SCHEMED.match(name)
    return schemed.group("c") if schemed else name


def code_key(code: str) -> str:
    """How two codes are compared: by name, whatever the case."""
    return code_name(code).lower()


# camelCase codes (JSON:API and GraphQL errors' ``code``): ``accessTokenExpired``, ``seatsExhausted``;
# a camelCase word that names no error (``workspaceId``, ``includePath``) is a field.
_CAMEL_CODE = re.compile(r"(?<![\w./@$-])(?P<c>[a-z][a-z0-9]*(?:[A-Z][a-z0-9]+)+)(?![\w/@$-]|\.\w|\()")
_CAMEL_ERRORISH = re.compile(
    r"(?:Error|Errors|Failed|Failure|Invalid|Expired|Denied|Refused|Rejected|Declined|Exceeded|Exhausted"
    r"|Unavailable|Unauthori[sz]ed|Forbidden|Missing|Unknown|Conflict|Limit|Limited|Timeout|Unsupported"
    r"|Malformed|Required|Suspended|Blocked|NotFound|TooMany\w*|PastDue|Ended|Overdue)(?=[A-Z]|$)"
)
# A number of four to six digits is a code only where the text says so right before it ("error code
# 40217", "error 40335", a JSON ``"code": 42931``; not "zip code 10115"): a body's code whose meaning
# the help center gives.
_NUMERIC_CODE = re.compile(
    r"(?:\berror[ _-]?code|\berrno|\breason[ _-]?code|\berror|[\"']code[\"'])[ \t]*[:=]?[ \t]*[\"']?"
    r"(?P<c>(?!(?:19|20)\d\d\b)\d{4,6})(?![\w.:/-]|,\d)",
    re.IGNORECASE,
)


def extract_error_codes(text: str) -> list[str]:
    """Error codes: rate_limit_exceeded, card_declined, ECONNREFUSED, ERR_SSL_PROTOCOL_ERROR,
    accessTokenExpired, crate-rejected (a problem type's slug), QRM-0317 and 42931 (where the text
    says it is an error)…"""
    text = _FRAME.sub("", text)
    found: list[tuple[int, str]] = []
    for pattern in (PROBLEM_TYPE_CODE, _SAID_CODE):
        for m in pattern.finditer(text):
            code = m.group("c")
            if "-" not in code or code[0].isupper() or _KEBAB_ERRORISH.search(code):
                found.append((m.start("c"), code))
    for m in _SNAKE_CODE.finditer(text):
        code = m.group("c")
        if not _FIELD_SUFFIX.search(code) and not _ID_LIKE.search(code):
            found.append((m.start(), code))
    for m in _UPPER_CODE.finditer(text):
        code = m.group("c")
        if _UPPER_ERRORISH.search(code):
            found.append((m.start(), code))
    for m in _CAMEL_CODE.finditer(text):
        if _CAMEL_ERRORISH.search(m.group("c")):
            found.append((m.start(), m.group("c")))
    found += [(m.start("c"), m.group("c")) for m in _NUMERIC_CODE.finditer(text)]
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

# In English: a ticket in another language is given with its phrases read in English too
# (``phrasebook.reading``; the words are in differential/languages/).

_AREA_PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "api": r"\bapi\b|\bsdk\b|\bcurl\b|\b(?-i:REST)\b|\brest(?:ful)?[ -](?:api|endpoints?|calls?|requests?|clients?)\b"
        r"|\bhttp requests?\b",  # "the rest of us" is not an API
        "webhook": r"\bweb ?hooks?\b|\bcallbacks?\b|\b[a-z_]+\.[a-z_.]+ events?\b|\bevent deliver"
        r"|\bevents? (?:arriv|deliver|(?:are |were )?late|(?:are |were )?missing|stopped)|\bnot receiving events?\b"
        r"|\bmissing (?:\w+ )?events?\b|\bevents? (?:never|did not|didn'?t) (?:arrive|come)"
        r"|\bnotifications?\b"
        # Products name their webhooks differently (hooks, listeners, event subscriptions) and their
        # events "thing-happened"; a customer no longer receiving events means deliveries.
        r"|\bevent (?:hooks?|subscriptions?|notifications?)\b|\blisteners?\b|\bendpoint (?:url|returns|answers)\b"
        r"|\b[a-z]+[-_](?:created|completed|updated|deleted|sent|signed|failed|succeeded|declined|voided|cancell?ed)"
        r" events?\b|\b(?:stopped|stop|not|no longer|never) receiv\w* (?:[\w-]+ ){0,2}events?\b"
        # what a product pushes to the customer's system, said as what did not reach it
        r"|\b(?:alerts?|notifications?|events?|pushe?s?|messages?) (?:[\w-]+ ){0,2}(?:never|did not|didn'?t|not)"
        r" (?:reach|arriv|come|get (?:to|through))\w*|\bour (?:endpoint|listener|receiver)\b"
        # what should have arrived in the customer's own system, said as missing there ("never showed
        # up in our EHR"): a delivery question whatever the objects are called
        r"|\b(?:never|not|didn'?t|did not|haven'?t|have not|no longer) (?:\w+ )?(?:show(?:ed|n)? up|appear(?:ed)?"
        r"|c[oa]me through|made it|make it|land(?:ed)?|synced) (?:in|into|to|on) (?:our|my)\b|\bmissing (?:from|in) our\b"
        # the same said of none of them, or as what did not get over or through to a system named by its
        # own name ("none of the grades our faculty posted made it over to <SIS>", "none of the sessions
        # came through to our PMS"): a delivery question whatever the objects and the system are called
        r"|\bnone\s+of\s+(?:[\w'-]+\s+){1,10}?(?:c[oa]me\s+through|showed\s+up|synced)"
        r"\s+(?:in|into|to|on|at)\b|\bnone\s+of\s+(?:[\w'-]+\s+){1,10}?made\s+it\s+into\b"
        r"|\b(?:none\s+of|never|not|didn'?t|did\s+not|haven'?t|have\s+not|no\s+longer)\s+(?:[\w'-]+\s+){0,10}?"
        r"(?:c[oa]me|made\s+it|make\s+it)\s+(?:over|across|through)\s+to\b"
        # the same in the English reading of another language, whose word order puts what never
        # arrived between ("never arrived new appointments into our …")
        r"|\bnever arrived (?:[\w-]+ ){0,3}(?:in|into|to|at) (?:our|my)\b"
        r"|\b(?:in|into) (?:our|my) (?:[\w-]+ ){0,3}no (?:[\w-]+ ){0,4}arrived\b",
        "sso": r"\bsaml\b|\bsso\b|single sign[- ]?on|\bokta\b|\bazure ad\b|\bentra\b|\bonelogin\b|\bidp\b"
        r"|\bgoogle workspace\b|\bping ?(?:identity|federate|one)\b"
        # signing in with a consumer/work account of an IdP: "with Google", "using their Microsoft accounts"
        r"|\b(?:with|via|through|using) (?:(?:their|our|my|your|the|a|an|his|her|its) )?(?:own |work |company )?"
        r"(?:google|microsoft|github|apple|gitlab|linkedin)\b|\b(?:google|microsoft|apple) (?:work )?(?:accounts?|logins?)\b"
        r"|\bauth0\b|\bkeycloak\b|\bduo\b"
        r"|identity provider|\blog ?ins?\b|\blogging in\b|\bsign(?:ing)?[- ]?ins?\b|\badfs\b|\bjumpcloud\b",
        "oauth": r"\boauth2?\b|\baccess tokens?\b|\brefresh tokens?\b|client[_ ]credentials"
        r"|authorization code|\binvalid_grant\b|\binvalid_client\b|\bredirect_uri\b|\bconsent screen\b",
        "export": r"\bexport(?:s|ed|ing)?\b|\bcsv\b|\bdownload(?:ing)? (?:the |a |our )?reports?\b",
        "billing": r"\binvoices?\b|\bcard\b|\bcredit cards?\b|\bpayments?\b|\bcharged\b|\bcharges\b"
        r"|\bsubscriptions?\b|\bbilling\b|\bbilled\b|\bpast[_ ]due\b|\brefunds?\b|\breceipts?\b",
        "ui": r"\bbuttons?\b|\bpages?\b|\bbrowsers?\b|\bconsole\b|\bdashboard\b|\bscreen\b"
        r"|\bclick(?:s|ed|ing)?\b|\bui\b|\bdropdown\b|\bmodal\b|\bspinner\b",
        "performance": r"\bslow(?:ly|ness|er)?\b|\btimeouts?\b|\btim(?:ed|es|ing) out\b|\blatency\b"
        r"|\blag(?:gy|ging)?\b|\bsluggish\b|\bp9[059]\b|\bhang(?:s|ing)?\b|\betimedout\b"
        r"|\btakes? (?:\d+|forever|ages|minutes)",
        # Events that went missing were not delivered (the webhook area), not counted wrong.
        "data": r"\bwrong (?:numbers?|totals?|counts?|amounts?|data|values?|dates?|times?)\b"
        r"|\bmissing (?:orders?|records?|rows?|entries|items?|data)\b|\btime ?zones?\b|\boff by\b"
        r"|\bdiscrepanc(?:y|ies)\b|\bmismatch(?:es|ed)?\b|\b(?:don'?t|doesn'?t|do not|does not) (?:match|line up)\b"
        r"|\bduplicat(?:e|ed|es)\b|\bincorrect\b",
    }.items()
}
_BILLING_CODES = re.compile(r"card_|payment|subscription|insufficient_funds|past_due|invoice")
# A clock time and the zone it is given in, up to four words after it ("9:05 am (our time zone)",
# "10h30, Central time zone").
_ZONED_CLOCK = re.compile(
    r"\b\d{1,2}(?:[:.h]\d\d)\s*(?:[ap]\.?m\.?)?\s*[(,]?\s*(?:[\w'-]+\s+){0,4}?time ?zones?\b\)?",
    re.IGNORECASE,
)


def extract_areas(
    text: str,
    *,
    statuses: Iterable[int] = (),
    error_codes: Iterable[str] = (),
    endpoints: Iterable[str] = (),
    browsers: Iterable[str] = (),
) -> list[str]:
    """Product areas the ticket is about, in the fixed order of :data:`AREAS`."""
    # A zone that says when something happened ("at 9:05 (Eastern time zone)") is not a question
    # about how days are counted.
    text = _ZONED_CLOCK.sub(" ", text)
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
