"""Bug searches in the customer's own words, and the ranking of what they find.

A known bug is filed in the words of whoever hit it first, which are closer to
the next customer's words than to our log fields. So the searches are several
phrasings: the ticket's subject, its distinctive words with its error codes,
and the account's dominant error code with the failing endpoint's words. The
union is ranked by how much of the ticket (codes count most) each issue shares.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from casefile.agent import phrasebook
from casefile.agent.differential.glossary import english
from casefile.agent.digits import clock_times
from casefile.agent.phrasebook import languages
from casefile.agent.signals.names import Name, names, other_script, split_scripts
from casefile.agent.signals.text import code_name

if TYPE_CHECKING:
    from casefile.agent.differential.evidence import Evidence
    from casefile.agent.models.base import LoopState
    from casefile.tools.bugs_results import Issue

__all__ = [
    "bug_queries",
    "docs_query",
    "names_operation",
    "path_words",
    "product_words",
    "rank_issues",
    "stems",
    "terms",
    "ticket_names",
]

# Letters of any language: "exécutions" is one word, not "ex" and "cutions".
_WORD = re.compile(r"[^\W\d_][\w.-]*[^\W_]|[^\W\d_]")
_STOP = frozenset(
    [
        "a",
        "about",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "but",
        "by",
        "can",
        "cannot",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "don't",
        "for",
        "from",
        "get",
        "gets",
        "getting",
        "got",
        "had",
        "has",
        "have",
        "having",
        "hello",
        "hi",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "not",
        "now",
        "of",
        "on",
        "once",
        "only",
        "or",
        "our",
        "out",
        "over",
        "please",
        "same",
        "since",
        "so",
        "some",
        "still",
        "than",
        "thanks",
        "thank",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "today",
        "too",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "why",
        "will",
        "with",
        "would",
        "yesterday",
        "you",
        "your",
        "team",
        "help",
        "issue",
        "issues",
        "problem",
        "problems",
        "error",
        "errors",
        "failing",
        "fail",
        "fails",
        "failed",
        "working",
        "work",
        "works",
        "broken",
        "anything",
        "something",
        "everything",
        "customer",
        "customers",
        "urgent",
        "asap",
        "hey",
        "dear",
        "regards",
        "best",
        "morning",
        "afternoon",
        "evening",
        "hours",
        "hour",
        "minutes",
        "minute",
        "day",
        "days",
        "week",
        "happen",
        "happened",
        "happening",
        "seems",
        "seem",
        "see",
        "seeing",
        "our",
        "us",
        "since",
        "around",
        "again",
        "still",
        "any",
    ]
)
_CODE = re.compile(r"^(?:[a-z]+_[a-z0-9_]+|[A-Z][A-Z0-9_]{3,}|\d{3})$")


def terms(text: str) -> list[str]:
    """Distinctive lower-case words of ``text``, in order, without stop words or ids (a name glued to
    a word of a language written without spaces is a word of its own)."""
    out = []
    for m in _WORD.finditer(split_scripts(text)):
        word = m.group(0).lower().strip(".-")
        if len(word) < 3 or word in _STOP or (any(ch.isdigit() for ch in word) and not _CODE.match(word)):
            continue
        out.append(word)
    return list(dict.fromkeys(out))


# The words of an operation named in camelCase or PascalCase: "AddRoom", "batchGet", "HTTPProxy".
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def path_words(path: str | None) -> list[str]:
    """``/v2/orders/{id}/export`` → ``['orders', 'export']`` (no versions, no placeholders)."""
    words = []
    for segment in (path or "").split("/"):
        if not segment or segment.startswith("{") or segment.startswith(":") or re.match(r"^v\d+$", segment):
            continue
        words += [w for w in re.split(r"[^a-z0-9]+", segment.lower()) if len(w) > 2]
    return words


# Verbs of operation names that are everyday English ("gets 429s", "the device list"): they tell nothing.
_PLAIN_VERBS = frozenset({"get", "set", "list", "put", "post", "has", "is", "do"})
# How close the words describing one operation stand ("adding the new location": three apart).
_OPERATION_SPAN = 4


def names_operation(text: str, path: str | None) -> bool:
    """Whether ``text`` describes the operation ``path`` names, all its words close together: "adding
    the new location" and ``/op/AddLocation``, "adding members" and ``/rpc/Members.Add``. An
    operation of one telling word (``/v1/orders``, ``/op/GetDevice``) is too common to tell."""
    last = (path or "").rstrip("/").rsplit("/", 1)[-1]
    words = {w.lower() for token in re.split(r"[^A-Za-z0-9]+", last) for w in _CAMEL.findall(token)}
    words = {w for w in words if len(w) > 2 and not w.isdigit()}
    if len(words) < 2 or words & _PLAIN_VERBS:
        return False
    said = [m.group(0).lower() for m in _WORD.finditer(text)]
    for i, token in enumerate(said):
        near = said[max(0, i - _OPERATION_SPAN) : i + _OPERATION_SPAN + 1]
        if any(token.startswith(w) for w in words) and all(any(t.startswith(w) for t in near) for w in words):
            return True
    return False


def bug_queries(state: LoopState, evidence: Evidence) -> list[str]:
    """Up to five phrasings, most specific first, each at most ~8 words."""
    ticket = state.ticket
    codes = list(state.signals.error_codes[:3])
    queries = []
    # A German, French or Spanish ticket also searches in English, the language bugs are filed in.
    translated = english(f"{ticket.subject or ''} {ticket.body or ''}")
    subject = " ".join(dict.fromkeys([*translated[:5], *terms(ticket.subject or "")[:8]]))
    if subject:
        queries.append(subject)
    # A ticket in another script than the bugs' (Greek, Japanese …) shares with them only the names it
    # writes in Latin letters (a device, a file type, a vendor): they are searched next.
    said = f"{ticket.subject or ''} {ticket.body or ''}"
    named = [n.word for n in ticket_names(state)] if other_script(said) else []
    if named:
        queries.append(" ".join(named[:8]))
    body = [w for w in terms(ticket.body or "") if w not in subject.split()][:6]
    if body or codes:
        queries.append(" ".join(dict.fromkeys([*codes, *body]))[:200])
    top = evidence.top.data.top[0] if evidence.top and evidence.top.data.top else None
    if top is not None and top.count >= 5:
        words = [top.error_code] if top.error_code else [str(top.status)]
        queries.append(" ".join([*words, *path_words(top.path)]))
    spike = evidence.summary.data.spike if evidence.summary else None
    if spike is not None and spike.path:
        queries.append(" ".join([str(spike.status or ""), *path_words(spike.path)]).strip())
    return [q for q in dict.fromkeys(_clipped(q.strip()) for q in queries) if q]


# bugs_search's query limit: a path or message read from the logs is data, whatever its length (a
# log row can carry a whole paragraph), and a longer query would lose the search, not shorten it.
MAX_BUG_QUERY_CHARS = 200


def _clipped(query: str) -> str:
    if len(query) <= MAX_BUG_QUERY_CHARS:
        return query
    cut = query[: MAX_BUG_QUERY_CHARS + 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut[:MAX_BUG_QUERY_CHARS]).strip()


def product_words(state: LoopState) -> set[str]:
    """Words of the product itself ("<Product> API"): they match every bug, so they are not evidence."""
    return stems(terms(state.catalog.product or "")) | {"api"}


def ticket_names(state: LoopState) -> list[Name]:
    """The names the ticket writes (``signals.names``), but the product's own, who writes (the
    account's and the requester's names: every statement about the account carries them) and any
    language's common words."""
    common = {w.lower() for lang in languages().values() for w in lang.words}
    product = product_words(state)
    who = f"{(state.account or {}).get('name') or ''} {state.ticket.requester.name or ''}"
    own = {n.word for n in names(who.title())} | {w.lower() for w in _WORD.findall(who)}
    said = f"{state.ticket.subject}\n{state.ticket.body}"
    found = names(said)
    # The product's own hosts (``extranet.<product>.io`` in a pasted URL) and their first parts name where
    # the customer was, which every bug about that part of the product names too: not what went wrong.
    hosts = [n.word for n in found if "." in n.word and stems(n.word.split(".")) & product]
    own |= {*hosts, *(h.split(".")[0] for h in hosts)}
    return [n for n in found if n.word not in common and n.word not in own and not stems([n.word]) & product]


# A help-center search is ranked by shared words: a long query finds more, and only an article
# labelled with the diagnosed cause is ever offered (``agent/articles.py``).
MAX_DOCS_WORDS = 24


def docs_query(state: LoopState, evidence: Evidence) -> str:
    """The help-center search for what the ticket says and what the evidence found.

    The subject alone ("Having to log in twice") shares no word with the article that explains it
    ("SSO fails on the first attempt: IdP clock drift"); the body's words, their English reading
    (articles are written in the company's language, usually English), the codes the ticket quotes
    and the words of the failures the logs hold (a login's "clock skew", an error's message) do.
    """
    ticket = state.ticket
    said = f"{ticket.subject or ''} {ticket.body or ''}"
    found: list[str] = []
    if evidence.logins is not None:
        found += [e.error or "" for e in evidence.logins.data.top_errors[:2]]
    if evidence.webhooks is not None:
        found += [e.error or "" for e in evidence.webhooks.data.by_error[:2]]
    if evidence.top is not None:
        found += [r.message or "" for r in evidence.top.data.top[:2]]
    failures = [w for text in found for w in terms(text)[:8]]
    # A ticket not in English is read in part: its own words (another script's, often) do not crowd
    # out what the logs' failures say, which is what an English article is written in.
    read = phrasebook.english(said)
    words = [
        *(w for reading in english(said) for w in terms(reading)),
        *terms(ticket.subject or ""),
        *(code_name(c) for c in state.signals.error_codes[:3]),
        *([] if read else failures),
        *terms(ticket.body or ""),
        *(failures if read else []),
    ]
    return " ".join(list(dict.fromkeys(words))[:MAX_DOCS_WORDS])


def _stem(word: str) -> str:
    # A plural, and a verb's -ed (the bug says "cannot be tapped", the customer "can't tap").
    if len(word) > 4 and word.endswith("s"):
        return word[:-1]
    if len(word) > 5 and word.endswith("ed") and "_" not in word:
        root = word[:-2]
        return root[:-1] if len(root) > 2 and root[-1] == root[-2] and root[-1] not in "lsz" else root
    return word


def stems(words: Iterable[str]) -> set[str]:
    """The words' stems; a hyphenated word also gives its parts ("export-file" is an export and a file),
    a dotted name its first part (a board "FINN.no" is what a customer calls "FINN"; not a dotted code
    such as ``unavailable.partition_rebalance``)."""
    out: set[str] = set()
    for w in words:
        out.add(_stem(w))
        if "-" in w and "_" not in w:
            out.update(_stem(part) for part in w.split("-") if len(part) >= 3)
        head = w.split(".")[0]
        if "." in w and "_" not in w and len(head) >= 3 and head.isalpha():  # not a dotted code
            out.add(_stem(head))
    return out


def _words(text: str) -> set[str]:
    """What a ticket and an issue are compared by: the stems of their words, and their clock times."""
    return stems(terms(text)) | set(clock_times(text))


def rank_issues(
    issues: Iterable[Issue], ticket_text: str, codes: Iterable[str] = ()
) -> list[tuple[float, Issue]]:
    """Issues by relevance to the ticket, best first.

    Shared words weigh by how few of the candidates carry them (a word every
    search result shares, like "rate", says little; "multi-parcel" says a lot),
    title words twice, error codes four times; an open issue wins ties. A clock time is a word too
    (written in any script's digits: a bug quoting "30:10 for 10:30" shares them with an Arabic ticket).
    """
    pool = list(issues)
    wanted = _words(ticket_text)
    code_set = stems(c.lower() for c in codes if c)
    docs = [(_words(i.title), _words(f"{i.description} {i.workaround or ''}")) for i in pool]
    n = len(pool)

    def idf(word: str) -> float:
        df = sum(1 for title, body in docs if word in title or word in body)
        return math.log(1 + n / max(df, 1))

    ranked = []
    for issue, (title, body) in zip(pool, docs, strict=True):
        score = sum(2 * idf(w) for w in wanted & title) + sum(idf(w) for w in (wanted & body) - title)
        score += sum(4 * idf(w) for w in code_set & (title | body))
        if score:
            ranked.append((round(score + (0.25 if issue.open else 0.0), 2), issue))
    ranked.sort(key=lambda r: -r[0])
    return ranked
