"""Typed views of ``deploys_list`` and ``deploys_compare`` (the ``deploys`` connector's results)."""

from __future__ import annotations

from pydantic import Field

from casefile.tools.values import ResultView

__all__ = ["Compare", "Deployment", "DeploysList"]


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
    def live(self) -> bool:
        """A production deploy that did not fail."""
        return (self.environment or "production") == "production" and self.status in (None, "success")


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
