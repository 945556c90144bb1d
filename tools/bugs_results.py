"""Typed view of ``bugs_search`` / ``bugs_issue`` (the ``bugs`` connector's results)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from casefile.tools.values import GarbledResult, ResultView

if TYPE_CHECKING:
    from casefile.tools.base import ToolOutcome

__all__ = ["CLOSED_STATES", "BugSearch", "Issue", "issues_in"]

CLOSED_STATES = frozenset({"done", "canceled", "cancelled", "duplicate", "closed", "won't fix"})
# Labels trackers give a wish, not a defect (Linear's, Jira's and GitHub's usual ones).
WISH_LABELS = frozenset(
    {
        "improvement",
        "feature",
        "feature request",
        "feature-request",
        "enhancement",
        "idea",
        "suggestion",
        "wish",
    }
)


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

    @property
    def wish(self) -> bool:
        """An improvement or feature request, not a defect: labelled as one, and not also as a bug."""
        names = {str(label or "").strip().lower() for label in self.labels}
        return bool(names & WISH_LABELS) and "bug" not in names


class BugSearch(ResultView):
    query: str = ""
    issues: list[Issue] = Field(default_factory=list)


def issues_in(outcome: ToolOutcome) -> list[Issue]:
    """The issues a successful ``bugs_search`` or ``bugs_issue`` call returned, typed (none for
    another tool, a failed call, or a result that does not read as one)."""
    try:
        if outcome.ok and outcome.tool == "bugs_search":
            return outcome.view(BugSearch).issues
        if outcome.ok and outcome.tool == "bugs_issue":
            return [outcome.view(Issue)]
    except GarbledResult:
        pass
    return []
