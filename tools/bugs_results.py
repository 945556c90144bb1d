"""Typed view of ``bugs_search`` / ``bugs_issue`` (the ``bugs`` connector's results)."""

from __future__ import annotations

from pydantic import Field, ValidationError

from casefile.tools.values import ResultView

__all__ = ["CLOSED_STATES", "BugSearch", "Issue", "issues_in"]

CLOSED_STATES = frozenset({"done", "canceled", "cancelled", "duplicate", "closed", "won't fix"})


class Issue(ResultView):
    identifier: str
    title: str = ""
    description: str = ""
    state: str | None = None
    url: str | None = None
    labels: list[str | None] = Field(default_factory=list)
    workaround: str | None = None
    eta: str | None = None
    created_at: str | None = None

    @property
    def open(self) -> bool:
        return str(self.state or "").lower() not in CLOSED_STATES


class BugSearch(ResultView):
    query: str = ""
    issues: list[Issue] = Field(default_factory=list)


def issues_in(tool: str, data: object) -> list[Issue]:
    """The issues a ``bugs_search`` or ``bugs_issue`` result holds, typed (none for anything else,
    or for a result that does not read as one)."""
    try:
        if tool == "bugs_search":
            return BugSearch.model_validate(data).issues
        if tool == "bugs_issue":
            return [Issue.model_validate(data)]
    except ValidationError:
        pass
    return []
