"""Typed views of ``deploys_list`` and ``deploys_compare`` (the ``deploys`` connector's results)."""

from __future__ import annotations

import re

from pydantic import Field

from casefile.tools.values import ResultView

__all__ = ["Compare", "Deployment", "DeploysList"]

# A production environment's name, alone or with the stack it reaches on either side of a separator.
_PRODUCTION = re.compile(
    r"^(?:(?P<before>[a-z0-9]+)[-_./:])?(?:production|prod)(?:[-_./:](?P<after>[a-z0-9]+))?$", re.IGNORECASE
)


class Deployment(ResultView):
    repo: str
    sha: str
    ref: str | None = None
    environment: str | None = None
    created_at: str
    creator: str | None = None
    status: str | None = None
    description: str | None = None

    @property
    def label(self) -> str:
        """How a person names the deploy: repository, release or short SHA, and the short SHA."""
        return f"{self.repo} {self.ref or self.sha[:7]} ({self.sha[:7]})"

    @property
    def production(self) -> bool:
        """Whether it reached production: the environment ``production`` (or ``prod``), or one stack of it
        named beside the word (``production-eu``, ``prod_us``, ``eu-production``: a region, a cell)."""
        return _PRODUCTION.match(self.environment or "production") is not None

    @property
    def stack(self) -> str | None:
        """The one stack of production a deploy reached, when its environment names one (``production-eu``
        → ``eu``); None for all of production."""
        found = _PRODUCTION.match(self.environment or "production")
        return ((found.group("before") or found.group("after") or "").lower() or None) if found else None

    @property
    def live(self) -> bool:
        """A production deploy that did not fail."""
        return self.production and self.status in (None, "success")


class DeploysList(ResultView):
    deployments: list[Deployment] = Field(default_factory=list)


class ChangedFile(ResultView):
    filename: str
    status: str | None = None


class Commit(ResultView):
    sha: str | None = None
    message: str = ""


class Compare(ResultView):
    repo: str
    base: str
    head: str
    html_url: str | None = None
    commits: list[Commit] = Field(default_factory=list)
    files: list[ChangedFile] = Field(default_factory=list)
