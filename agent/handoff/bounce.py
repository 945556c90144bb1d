"""A bounce-back: the receiving team sends an escalation back to support, with what solves it.

One rule for every way in (the API and sidebar, the CLI, the signed link in the Slack
message): a bounce names the help-center article or the snippet that solves the ticket
and gives a short reason, and it is accepted only on an investigation that escalated.
It is appended to the investigation's feedback history (:class:`FeedbackRecord`); nothing
earlier is replaced, so the weekly review counts it whatever is recorded after it.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from casefile.agent.store import FeedbackRecord, FeedbackVia, InvestigationRecord, Store

__all__ = [
    "MAX_REASON_CHARS",
    "BounceBack",
    "InvalidBounce",
    "NotEscalated",
    "Verdict",
    "escalated_team",
    "parse_bounce",
    "record_feedback",
]

# Two sentences' worth: the review quotes it, the ticket's note carries it.
MAX_REASON_CHARS = 500
_URL = re.compile(r"^https?://[^\s/]+\S*$")


class InvalidBounce(ValueError):
    """A bounce that lacks what it must carry; the message is one line, for the person sending it."""


class NotEscalated(Exception):
    """A bounce on an investigation that did not escalate (resolved, or not finished)."""


class Verdict(BaseModel):
    """What is said of an escalation: it bounced (with what solves it, and why), or it was right."""

    bounced: bool
    article: str | None = None
    snippet: str | None = None
    note: str | None = Field(default=None, description="a bounce's reason: one or two sentences")


class BounceBack(BaseModel):
    """What the receiving engineer sends: the article or snippet that solves it, and why."""

    article: str | None = Field(default=None, description="http(s) link to the help-center article")
    snippet: str | None = Field(default=None, description="or the snippet/macro text that solves it")
    reason: str = Field(description="why it bounced, in one or two sentences")

    @field_validator("article", "snippet", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return value.strip() or None if isinstance(value, str) else value

    @field_validator("article")
    @classmethod
    def _article_is_a_link(cls, value: str | None) -> str | None:
        if value is not None and not _URL.match(value):
            raise ValueError("article must be an http(s) link")
        return value

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("a reason is required (one or two sentences)")
        if len(value) > MAX_REASON_CHARS:
            raise ValueError(f"the reason is {len(value)} characters; keep it to two sentences")
        return value

    @model_validator(mode="after")
    def _solution(self) -> BounceBack:
        if self.article is None and self.snippet is None:
            raise ValueError("name the article or the snippet that solves the ticket")
        return self


def parse_bounce(article: str | None, snippet: str | None, reason: str | None) -> BounceBack:
    """A :class:`BounceBack` from form fields; :class:`InvalidBounce` says what is missing or wrong."""
    try:
        return BounceBack(article=article, snippet=snippet, reason=reason or "")
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidBounce(str(first["msg"]).removeprefix("Value error, ")) from None


def escalated_team(record: InvestigationRecord) -> str:
    """The team ``record`` escalated to; :class:`NotEscalated` when it did not escalate."""
    d = record.diagnosis
    if d is None:
        raise NotEscalated(f"investigation {record.id} has no diagnosis yet ({record.status})")
    if d.action != "escalate" or d.escalation is None:
        raise NotEscalated(f"investigation {record.id} resolved the ticket: there is no escalation to bounce")
    return d.escalation.team


def record_feedback(
    store: Store, record: InvestigationRecord, verdict: Verdict, *, by: str, via: FeedbackVia
) -> FeedbackRecord:
    """Append ``verdict`` to ``record``'s history: a bounce, or that the escalation was right.

    :class:`InvalidBounce` for a bounce lacking what it must carry (:func:`parse_bounce`) or an
    article that is no link; :class:`NotEscalated` for a bounce of an investigation that did not
    escalate. A bounce records the team it bounced from."""
    team = None
    if verdict.bounced:
        bounce = parse_bounce(verdict.article, verdict.snippet, verdict.note)
        team = escalated_team(record)
        verdict = Verdict(bounced=True, article=bounce.article, snippet=bounce.snippet, note=bounce.reason)
    elif verdict.article is not None and not _URL.match(verdict.article):
        raise InvalidBounce("article must be an http(s) link")
    said = verdict.model_dump(include=set(Verdict.model_fields))  # not a request's other fields
    return store.add_feedback(record.id, **said, team=team, via=via, by=by)
