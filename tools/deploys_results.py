"""Typed views of ``deploys_list`` and ``deploys_compare`` (the ``deploys`` connector's results)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Compare", "Deployment", "DeploysList"]


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Deployment(_View):
    repo: str
    sha: str
    ref: str | None = None
    environment: str | None = None
    created_at: str
    status: str | None = None
    description: str | None = None

    @property
    def live(self) -> bool:
        """A production deploy that did not fail."""
        return (self.environment or "production") == "production" and self.status in (None, "success")


class DeploysList(_View):
    deployments: list[Deployment] = Field(default_factory=list)


class ChangedFile(_View):
    filename: str
    status: str | None = None


class Commit(_View):
    sha: str | None = None
    message: str = ""


class Compare(_View):
    repo: str
    base: str
    head: str
    commits: list[Commit] = Field(default_factory=list)
    files: list[ChangedFile] = Field(default_factory=list)
