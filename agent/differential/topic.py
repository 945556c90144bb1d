"""Whether the ticket's text says what is wrong: a symptom named, or nothing to go on.

A ticket names its trouble by its signals (a status, a code, an endpoint, a product area, a
runbook it triggers) or by a word of failure, in English or, read in English
(``phrasebook.reading``), in a language of ``differential/languages/``.
Without either it is *unread*: ``"vague"`` when it is written in English, the language we read
whole, and says nothing concrete ("something feels off"), ``"foreign"`` otherwise: a language we
do not read, or one whose phrase file holds only what we have met so far (a symptom may well be
there). Either way the differential then examines the account's
systems broadly and lets the evidence pick the cause, with the confidence the evidence alone
gives (``__init__.assess``), instead of guessing from words it did not find.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from casefile.agent.differential.model import Hypothesis
from casefile.agent.phrasebook import english, known_language, reading

if TYPE_CHECKING:
    from casefile.agent.models.base import LoopState

__all__ = [
    "Unread",
    "english",
    "evidence_first",
    "examine_all",
    "names_deliveries",
    "names_failure_not_slowness",
    "names_other_trouble",
    "partly_read",
    "readable",
    "success_statuses",
    "unread",
]

Unread = Literal["vague", "foreign"]

_SYMPTOM = re.compile(
    r"\b(?:fail\w*|errors?|broken|down|slow\w*|refus\w*|reject\w*|denied|time[sd]? ?out|timeout|not working"
    r"|can'?t|cannot|unable|missing|wrong|declin\w*|block\w*|stopp?\w*|crash\w*|forbidden|unauthori\w+|invalid"
    r"|gone|limit\w*|[45]\d\d|known (?:issue|problem|bug)|work-?around|bugs?|freez\w*|stuck|impossible"
    r"|outages?|no longer|never arriv\w*"
    # what should be fresh is not: a map, a board or a value that stopped moving ("stale pings",
    # "temps not updating", "positions out of date")
    r"|stale|out of date|outdated|(?:not|stopped|isn'?t|aren'?t|doesn'?t|don'?t) (?:updat|refresh)\w*)\b",
    re.IGNORECASE,
)

# A success status the text says the API answered ("HTTP 200", "200 OK", "returns 204"): a customer
# who writes it reports failures carried inside a 2xx (an error code in the body), whatever the code.
_SUCCESS = re.compile(
    r"\b(?:https?(?:/[\d.]+)?|status(?: code)?|returns?|returned|answer(?:s|ed)?|respond(?:s|ed)?|comes? back"
    r"|came back)\s*(?:with\s*)?(?:an?\s*)?(?P<a>2\d\d)\b|\b(?P<b>2\d\d)\s*OK\b",
    re.IGNORECASE,
)


def success_statuses(text: str) -> set[int]:
    """The 2xx statuses ``text`` says the API answered."""
    return {int(m.group("a") or m.group("b")) for m in _SUCCESS.finditer(text)}


def readable(text: str) -> bool:
    """Whether ``text`` is in a language we read: English, or another language of the phrasebook
    (``differential/languages/``: English by its common words, as any other)."""
    return known_language(text)


def partly_read(state: LoopState) -> bool:
    """The ticket is not in English: what we read of it is its phrases, codes and names, not all it
    says (``known_bug`` reads its names too)."""
    return not english(state.ticket.full_text())


def examine_all(state: LoopState) -> bool:
    """Every cheap source is examined (``evidence.collect``): the ticket is read only in part and
    what we read of it names no status, code or endpoint and no area but the API itself, so its
    other words may name any source. What we read of a ticket that names where it fails (a 500, the
    per-day numbers) points where to look, as an English one's words do."""
    s = state.signals
    return partly_read(state) and not (s.statuses or s.error_codes or s.endpoints or set(s.areas) - {"api"})


def unread(state: LoopState) -> Unread | None:
    """``"vague"`` or ``"foreign"`` when the ticket names no symptom we can read; else ``None``."""
    s = state.signals
    # A runbook that runs on every ticket (``always``) says nothing about this one.
    chosen = any(not m.runbook.triggers.always for m in state.matches)
    if s.areas or s.statuses or s.error_codes or s.endpoints or s.exceptions or s.browsers or chosen:
        return None
    text = state.ticket.full_text()
    # "Every call comes back HTTP 200" names the API's answers: what failed is inside them.
    if _SYMPTOM.search(reading(text)) or success_statuses(reading(text)):
        return None
    # Only English is read whole: another language's files hold the phrases met so far, so a ticket
    # in it that names nothing we read may well name its symptom in words we do not know.
    return "vague" if english(text) else "foreign"


# Areas whose trouble the account's failing deliveries do not answer (what never arrived in the
# customer's system is read as the webhook area, which comes first).
_NOT_DELIVERIES = ("api", "oauth", "sso", "billing", "performance", "ui", "export", "data")
# Areas whose trouble slowness does not answer (a slow API or page may be what "broken" means).
_NOT_SLOWNESS = ("oauth", "sso", "billing", "webhook", "export", "data")


def names_deliveries(state: LoopState) -> bool:
    """Whether the ticket speaks of deliveries (the webhook area, or a webhook runbook matched it)."""
    return _speaks_of(state, "webhook")


def names_other_trouble(state: LoopState, cleared: Sequence[str] = ()) -> str | None:
    """What the ticket names instead of deliveries (a status, a code, an endpoint, another area), or
    ``None`` when it names deliveries or nothing they could not be: data that should have reached the
    customer's own systems is told in the product's words ("the sync", "the little robot"), so the
    account's deliveries are weighed whenever the ticket names no other trouble. An area in ``cleared``
    (its own check found it sound: billing in good standing) is not another trouble."""
    if names_deliveries(state):
        return None
    return _other(state, tuple(a for a in _NOT_DELIVERIES if a not in cleared), endpoints=True)


# Words of slowness (a timeout is one): a ticket saying them may mean latency whatever else it says.
_SLOW = re.compile(r"\b(?:slow\w*|lag\w*|latenc\w*|time[sd]? ?out|timeout|hang\w*|delay\w*|wait\w*)\b", re.I)


def names_failure_not_slowness(state: LoopState) -> bool:
    """Whether the ticket says, in words we read, that something fails or errs, and nothing of slowness
    ("gives an error when I book goods in"): the account's failing requests answer it, not latency."""
    text = reading(state.ticket.full_text())
    return "performance" not in state.signals.areas and not _SLOW.search(text) and bool(_SYMPTOM.search(text))


def names_other_than_slowness(state: LoopState) -> str | None:
    """What the ticket names that slowness does not answer (an error it quotes, sign-in, billing …), or
    ``None`` when it speaks of slowness, of the API or a page, or of nothing in particular."""
    return None if _speaks_of(state, "performance", "slow") else _other(state, _NOT_SLOWNESS, endpoints=False)


def _speaks_of(state: LoopState, area: str, runbook_word: str | None = None) -> bool:
    word = runbook_word or area
    return area in state.signals.areas or any(word in m.runbook.id for m in state.matches)


def _other(state: LoopState, areas: tuple[str, ...], *, endpoints: bool) -> str | None:
    s = state.signals
    named = [
        *(f"HTTP {status}" for status in s.statuses[:1]),
        *s.error_codes[:1],
        *(s.endpoints[:1] if endpoints else []),
        *(f"the {a} area" for a in s.areas if a in areas),
    ]
    return named[0] if named else None


# What the evidence alone gives: a cause the data shows clearly (≥ 0.75 with the ticket's words) is kept
# below what the customer's own words would give; anything weaker is not known to be what they mean.
STRONG = 0.75
_ASK = (
    "Thanks for reaching out. So we can look into this properly, could you tell us what exactly feels "
    "off: which feature or endpoint, what you expected and what you saw, and roughly when (a request id "
    "or a screenshot helps)?"
)


# A cause in the account's own hands (what the differential resolves: its endpoint refusing deliveries, its
# plan's limit, its IdP's clock, its subscription), shown clearly (at least this sure with the ticket's words),
# is what the ticket we cannot read is about nearly every time; a cause of ours (an incident, a slowdown, a
# deploy) reaches other accounts too and may not be what this customer writes about.
OWN_CLEAR = 0.8
OWN_UNREAD = 0.75
OTHER_UNREAD = 0.65


def _unread_confidence(h: Hypothesis) -> float:
    """What a cause the account's data shows clearly keeps when the ticket's words are not read: below what
    the customer's words would give; a fault only the account's own side has (:data:`OWN_CLEAR`) keeps
    more (:data:`OWN_UNREAD`, measured by hiding every language file: evals/README.md, "Reading a language
    with no file") than one of ours (:data:`OTHER_UNREAD`)."""
    if h.action == "resolve" and h.confidence >= OWN_CLEAR:
        return round(min(h.confidence - 0.05, OWN_UNREAD), 2)
    return round(min(h.confidence - 0.15, OTHER_UNREAD), 2)


def _by_how_much_fails(hypotheses: list[Hypothesis], clear: list[Hypothesis]) -> None:
    """Of the clear causes of a ticket we cannot read, one that breaks most of what its source carries
    (every delivery refused) is likelier what the customer writes about than a sliver of failing
    requests elsewhere: the latter loses 0.15 when it fails ten times less."""
    shares = [h.failing_share for h in clear if h.failing_share is not None]
    most = max(shares, default=0.0)
    if most < 0.2:
        return
    for h in clear:
        if h.failing_share is not None and h.failing_share * 10 < most:
            h.confidence = round(h.confidence - 0.15, 2)
            h.reasons.append(
                f"only {h.failing_share:.1%} of its traffic fails, while another cause breaks {most:.0%}"
            )


def evidence_first(
    kind: Unread,
    hypotheses: list[Hypothesis],
    over: list[Hypothesis],
    named: Sequence[Hypothesis] = (),
    timely: Sequence[Hypothesis] = (),
    agreed: Sequence[Hypothesis] = (),
) -> list[Hypothesis]:
    """The hypotheses of a ticket that does not say what is wrong, weighed by the evidence alone.

    In a language we do not read, a cause the account's data shows clearly stays first, at most
    0.65 (the customer's words would have given more). Anything else, and everything when the
    customer writes, in words we read, that nothing concrete is wrong, is capped at 0.45 ("nothing
    is wrong" too: we do not know what they looked at). "Insufficient evidence" names what the data
    shows and asks the customer what they see, at 0.6 when nothing stands out, 0.5 beside a clear cause.
    A cause that was ``over`` before the ticket (errors that ended) is not clear without its words;
    one ``timely`` (an incident of ours going on since about the time the ticket names) is, in any
    language, and so is one two sources ``agreed`` on to the minute (the refusals began the minute the
    subscription ended): the customer's words could add little to that.
    """
    clear = False
    clearly: list[Hypothesis] = []
    for h in hypotheses:
        # A cause the ticket's own names found (a tracked bug about the "freemail.hu" addresses it
        # writes) is not the data alone: it keeps its confidence.
        if any(h is n for n in named) and kind == "foreign":
            clear = True
            continue
        # A customer who says, in words we read, that nothing concrete is wrong is asked first,
        # whatever the data shows; one whose words we cannot read may have named what it shows.
        # An incident of ours going on since the time the ticket names is what that time points at,
        # whatever else the ticket says in words we do not read ("stale pings on the board"): the time is
        # the customer's own word, and it keeps its confidence.
        if any(h is t for t in timely):
            clear = True
            h.reasons.append("it began about when the ticket says the trouble did")
            continue
        if any(h is a for a in agreed):
            clear = True
            continue
        if (
            kind == "foreign"
            and h.category not in ("no_issue_found", "insufficient_evidence")
            and h.confidence >= STRONG
            and not any(h is o for o in over)
        ):
            clear = True
            clearly.append(h)
            h.confidence = _unread_confidence(h)
            h.reasons.append("the ticket does not say what is wrong: the account's data alone points here")
        else:
            h.confidence = min(h.confidence, 0.45)
    _by_how_much_fails(hypotheses, clearly)
    ranked = sorted(hypotheses, key=lambda h: -h.confidence)
    seen = "; ".join(h.summary for h in ranked[:2])
    said = (
        "The ticket names no concrete symptom (no error, endpoint, feature or time)"
        if kind == "vague"
        else "The ticket names no code, status or endpoint, and no symptom in words we read (a language we "
        "do not read, or read only in part)"
    )
    return [
        *hypotheses,
        Hypothesis(
            category="insufficient_evidence",
            confidence=0.5 if clear else 0.6,  # the chance this is right
            statement=said
            + (
                f"; the account's data shows: {seen}"
                if seen
                else "; the account's data shows nothing failing"
            )
            + ".",
            summary="Too vague to diagnose; asked the customer for a concrete example."
            if kind == "vague"
            else "Could not read the ticket; asked the customer for a concrete example.",
            reasons=[
                "the ticket names no symptom to check"
                if kind == "vague"
                else "the ticket's language is not read"
            ],
            evidence=[c for h in ranked[:1] for c in h.evidence[:2]],
            action="escalate",
            reply=_ASK,
        ),
    ]
