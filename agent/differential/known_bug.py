"""A tracked bug as the cause: an open bug whose words match the ticket's own words, codes and the
failing endpoint, weighed against a deploy that explains the errors better and against the HTTP
statuses the bug itself describes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from casefile.agent.differential.changes import Change
from casefile.agent.differential.evidence import Evidence
from casefile.agent.differential.glossary import english
from casefile.agent.differential.model import Hypothesis, cite
from casefile.agent.differential.picture import ErrorPicture, reported_statuses
from casefile.agent.differential.queries import (
    path_words,
    product_words,
    rank_issues,
    stems,
    terms,
    ticket_names,
)
from casefile.agent.differential.semantics import specific_code
from casefile.agent.differential.sources import account_name
from casefile.agent.differential.topic import partly_read
from casefile.agent.phrasebook import reading
from casefile.agent.signals.names import name_words, quoted
from casefile.agent.signals.text import code_name, extract_areas
from casefile.tools.base import parse_ts
from casefile.tools.bugs_results import Issue
from casefile.tools.logs_results import TopError

if TYPE_CHECKING:
    from casefile.agent.models.base import LoopState

__all__ = ["DESCRIBES_ERRORS", "filed_after", "known_bug", "words_only"]

# A known bug's reason when it names the account's failing errors (their code, or their endpoint).
DESCRIBES_ERRORS = "the bug names the account's failing errors (their code or endpoint)"

# A known bug's reason when the customer asks for a known problem or its workaround.
ASKS_KNOWN = "the customer asks whether it is a known problem, or for a workaround"

# The customer asks whether this is a known problem or for a workaround (in the ticket's reading in
# English: other languages' phrases for these are in differential/languages/).
_ASKS_WORKAROUND = re.compile(r"work-?around|known (?:issue|problem|bug)", re.IGNORECASE)


def known_bug(
    state: LoopState, evidence: Evidence, picture: ErrorPicture, change: Change | None = None
) -> Hypothesis | None:
    """An open bug whose words match the ticket (its own words, codes and the failing endpoint).

    A bug filed before a deploy that touched the failing endpoint, when this account's errors
    began only after that deploy, explains them less well than the deploy does.
    """
    if not evidence.bugs:
        return None
    top = picture.top
    codes = [*state.signals.error_codes, *([top.error_code] if top and top.error_code else [])]
    said = f"{state.ticket.subject} {state.ticket.body}"
    # A bug filed after the customer wrote is not what they hit as a known bug (a world, or a case
    # investigated again later, sees the tracker as it is now).
    pool = [issue for issue, _ in evidence.bugs if not filed_after(issue, state)]
    # When nothing shares the ticket's own words (the failing endpoint's words aside), rank by their
    # English equivalents too: bugs are filed in English.
    translated = [] if rank_issues(pool, said, codes) else english(said)
    ranked = rank_issues(pool, " ".join([said, *translated, *path_words(picture.path)]), codes)
    call = {issue.identifier: call_id for issue, call_id in evidence.bugs}
    # Words of the product itself ("<Product> API") match every bug: they are not evidence.
    product = product_words(state)
    wanted = stems(terms(" ".join([said, *english(said)]))) - product
    path_stems = stems(path_words(picture.path))
    # A code that only restates its status ("internal") matches every bug about such errors.
    code_stems = stems(
        [specific_code(top.error_code).lower()] if top and specific_code(top.error_code) else []
    )
    # In a ticket we read only in part, the names it writes (SMS, FINN.no, a carrier) are words we
    # can read: shared with a bug's text they count like shared words, and a name spelt as one
    # (an acronym, a dotted name) in its title is as telling as a code.
    named = ticket_names(state) if partly_read(state) else []
    # A UI's label the customer quotes («Fora de línia», "Offline"), read in English: a bug whose title
    # writes it quotes the same screen, which is as telling as a name it shares.
    labels = stems(terms(" ".join(reading(q) for q in quoted(said)))) - product
    for i, (score, issue) in enumerate(ranked[:3]):
        if not issue.open or issue.wish:
            # An improvement or a feature request is what we may build, not what the customer hit.
            continue
        title = stems(terms(issue.title))
        in_title = name_words(issue.title)
        in_text = name_words(f"{issue.description} {issue.workaround or ''}")
        # a capitalised word may be a noun (or a page's name) of the ticket's language: in the title only
        shared = [n for n in named if n.word in in_title or (n.marked and n.word in in_text)]
        hits = (wanted & title) | {n.word for n in shared}
        # a dotted name and its first part ("freemail.hu", "freemail") are one name
        hits -= {h for h in hits if any(o.startswith(f"{h}.") for o in hits)}
        name_hit = any(n.marked and n.word in in_title for n in shared) or bool(labels & title)
        code_hit = bool(stems(c.lower() for c in state.signals.error_codes) & title)
        # The account's own failing errors are what the bug describes: their code, or their endpoint
        # together with another of the ticket's words (an endpoint's name alone is too common).
        data_hit = picture.elevated and (
            bool(code_stems & title)
            or bool(path_stems & title and (hits - path_stems))
            or _writes_code(f"{issue.title} {issue.description} {issue.workaround or ''}", top)
        )
        asks = bool(_ASKS_WORKAROUND.search(reading(state.ticket.full_text())))
        # One name alone ("not posted on FINN either") is where the trouble shows, not what it is: it
        # is the bug only when the customer asks about a known problem.
        if len(hits) < 2 and not code_hit and not data_hit and not (name_hit and asks):
            continue
        runner_up = next((s for s, other in ranked if other is not issue), 0.0)
        confidence = 0.5 + (0.1 if issue.workaround else 0.0) + 0.1 * min(len(hits) - 1, 2)
        if code_hit or data_hit:
            confidence += 0.15
        elif name_hit:
            confidence += 0.1
        if asks:
            confidence += 0.05  # the customer recognises a known problem and asks how to live with it
        if i == 0 and score >= 1.5 * runner_up:
            confidence += 0.05  # it stands out from every other candidate
        older = (
            _older_than_suspect(issue, change)
            or _other_status(issue, picture)
            or _other_symptom(issue, state)
        )
        if older:
            confidence = min(confidence, 0.85) - 0.25
        when = f" since {picture.onset}" if picture.elevated and picture.onset else ""
        return Hypothesis(
            category="known_bug",
            confidence=round(min(confidence, 0.85), 2),
            statement=f"Known bug {issue.identifier} ({issue.title}) matches what {account_name(state)} reports{when}.",
            summary=f"Known bug {issue.identifier}"
            + (" with a workaround." if issue.workaround else "; no workaround yet."),
            component=picture.path or "api",
            reasons=["an open bug's title and description match the ticket's own words and codes"]
            + (
                [f"the bug names what the ticket names: {', '.join(n.word for n in shared)}"]
                if shared
                else []
            )
            + (
                [f"the customer quotes what the bug's title names: {', '.join(sorted(labels & title))}"]
                if labels & title
                else []
            )
            + ([DESCRIBES_ERRORS] if code_hit or data_hit else [])
            + ([ASKS_KNOWN] if asks else [])
            + (["it has a workaround"] if issue.workaround else ["it has no workaround yet"])
            + ([older] if older else []),
            evidence=[
                *cite(
                    call[issue.identifier],
                    "bugs_search",
                    issue.identifier,
                    f"open bug {issue.identifier}: {issue.title}",
                ),
                *(
                    cite(
                        evidence.top.call_id,
                        "logs_top_errors",
                        top.error_code,
                        f"{top.count} requests failed with {top.error_code}",
                    )
                    if evidence.top and top and top.error_code and picture.elevated
                    else []
                ),
            ],
            action="resolve" if issue.workaround and confidence >= 0.75 else "escalate",
            reply=(
                f"Thanks for the report. This is a known issue on our side ({issue.identifier}) that our engineers are "
                "working on"
                + (f" ({issue.eta})" if issue.eta else "")
                + "."
                + (
                    f" In the meantime: {issue.workaround}"
                    if issue.workaround
                    else " We'll update you as soon as it's fixed."
                )
            ),
            note=f"Matched {issue.identifier} by the ticket's words (score {score:.1f}).",
        )
    return None


def _writes_code(text: str, top: TopError | None) -> bool:
    """Whether ``text`` (a bug's title, description and workaround) writes the account's failing code, its
    parts in order whatever separates them ("AK5 R 5" for ``AK5-R-5``, "E 4012" for ``E-4012``): a code
    with letters, that says more than its status (a bare number is any number of the text)."""
    code = code_name(specific_code(top.error_code if top else None))
    parts = [p for p in re.split(r"[\W_]+", code) if p]
    if len(code) < 3 or not any(c.isalpha() for c in code) or not parts:
        return False
    spelled = r"[\W_]{1,3}".join(re.escape(p) for p in parts)
    return bool(re.search(rf"(?<![^\W_]){spelled}(?![^\W_])", text, re.IGNORECASE))


# Causes that say what the data shows failing (not "nothing is wrong", not "we cannot tell").
_NOT_FOUND = frozenset({"known_bug", "no_issue_found", "insufficient_evidence"})
# How sure a cause the data shows must be for a bug matched on words alone to yield to it.
DATA_SHOWS = 0.75


def words_only(bug: Hypothesis | None, rivals: list[Hypothesis]) -> None:
    """A bug matched on the ticket's words alone (it names none of the account's failing errors) gives
    way, 0.1, to a cause the evidence shows failing with confidence: a plan's allowance refusing every
    SMS since yesterday, a delivery outage of everyone's with its incident record, against an open bug
    that shares "appointment" and "reminders" with the ticket. Not when the customer asks for a known
    problem or its workaround: then they describe the bug's symptom themselves."""
    # A customer who asks for a known problem's workaround names its symptom: the words are theirs.
    if bug is None or DESCRIBES_ERRORS in bug.reasons or ASKS_KNOWN in bug.reasons:
        return
    # A deploy's regression is often what the bug was filed about (the rate limiter "since v2.41.0"):
    # one story told twice, not a rival the bug must yield to (``_older_than_suspect`` weighs those two).
    shown = [
        h
        for h in rivals
        if h is not bug
        and h.category not in _NOT_FOUND
        and h.category != "deploy_regression"
        and h.confidence >= DATA_SHOWS
    ]
    if shown:
        best = max(shown, key=lambda h: h.confidence)
        bug.confidence = round(max(0.05, bug.confidence - 0.1), 2)
        bug.reasons.append(f"the bug names none of what fails; the evidence shows {best.category}")


def filed_after(issue: Issue, state: LoopState) -> bool:
    """Whether ``issue`` was created after the ticket's latest word (its newest public comment)."""
    created = parse_ts(issue.created_at)
    said = max(state.ticket.created_at, state.signals.window_end)
    return created is not None and created > said


# An HTTP status as issue text states one ("returns `500 internal`", "HTTP 413"), not "450 items".
_STATUS = re.compile(r"(?:\bhttp|\bstatus|\breturns?|\banswers?|\bwith|`)\s*`?([45]\d\d)\b", re.IGNORECASE)


def _other_status(issue: Issue, picture: ErrorPicture) -> str:
    """Why ``issue`` does not describe the account's errors: it names other HTTP statuses, or ''."""
    top = picture.top
    text = f"{issue.title} {issue.description}"
    described = {int(s) for s in _STATUS.findall(text)} | reported_statuses(issue.title)
    if not picture.elevated or top is None or not described or top.status in described:
        return ""
    shown = ", ".join(str(s) for s in sorted(described))
    return f"the bug describes HTTP {shown}, while the account's errors are {top.status} {top.error_code}".rstrip()


# Areas that say what is wrong (slow, can't sign in, not delivered, wrong numbers), not where.
_SYMPTOM_AREAS = frozenset({"performance", "sso", "oauth", "webhook", "data", "billing", "export"})


def _other_symptom(issue: Issue, state: LoopState) -> str:
    """Why ``issue`` is about another trouble than the ticket's, or '': its title says a symptom (slow,
    not delivered …) the ticket does not, while the ticket says one of its own. Sharing a page's or an
    object's name ("pipeline board") is not sharing the symptom."""
    said = set(state.signals.areas)
    bug = set(extract_areas(issue.title)) & _SYMPTOM_AREAS
    if not said or not bug or bug & said:
        return ""
    return f"the bug describes another symptom ({', '.join(sorted(bug))}) than the ticket's"


def _older_than_suspect(issue: Issue, change: Change | None) -> str:
    """Why a deploy explains the errors better than ``issue``, or ''."""
    suspect = change.suspect if change else None
    filed, deployed = parse_ts(issue.created_at), parse_ts(suspect.deploy.created_at) if suspect else None
    if (
        suspect is None
        or suspect.relevance != "touched"
        or filed is None
        or deployed is None
        or filed >= deployed
    ):
        return ""
    return f"the bug was filed before {suspect.label}, which touched the failing endpoint just before the errors began"
