"""Golden cases: a ticket, a world and what the diagnosis must say.

Layout (see ``evals/README.md``)::

    evals/golden/<case-id>/
      ticket.json      the ticket, in any format ``casefile investigate`` reads
      expected.json    category, action, team, must_cite, must_not_claim, tags, ...
      world/           optional overlay world (world.json names its base)

The world is ``world/`` when present, else ``expected.json``'s ``"world"`` (a
path relative to the case directory), else the default world (``evals/golden/_base``
when it exists, else the demo world).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from casefile import PACKAGE_DIR
from casefile.agent.errors import UsageError

__all__ = ["GOLDEN_DIR", "CaseError", "Expected", "GoldenCase", "load_case", "load_cases"]

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
_DEMO_WORLD = PACKAGE_DIR / "examples" / "world"


class CaseError(UsageError):
    """A golden case that cannot be loaded (missing or malformed file), or an unknown case id."""


class Expected(BaseModel):
    """What a correct diagnosis of the case looks like."""

    model_config = ConfigDict(extra="forbid")

    category: str = Field(description="the root-cause category (agent.diagnosis.Category)")
    action: Literal["resolve", "escalate"]
    team: str | None = Field(default=None, description="the escalation team, when escalated")
    must_cite: list[str] = Field(
        default_factory=list,
        description="facts that must appear in the diagnosis (evidence values or text), case-insensitive",
    )
    must_not_claim: list[str] = Field(
        default_factory=list, description="phrases that must not appear anywhere in the diagnosis' text"
    )
    tags: list[str] = Field(default_factory=list)
    needs_tools: bool = Field(default=True, description="the answer is not in the ticket text")
    world: str | None = Field(default=None, description="world directory, relative to the case directory")
    notes: str = ""


@dataclass(frozen=True)
class GoldenCase:
    id: str
    directory: Path
    ticket_path: Path
    world: Path
    expected: Expected

    @property
    def tags(self) -> list[str]:
        return self.expected.tags


def _default_world(root: Path) -> Path:
    base = root / "_base"
    return base if base.is_dir() else _DEMO_WORLD


def load_case(directory: Path, root: Path | None = None) -> GoldenCase:
    directory = Path(directory)
    root = root or directory.parent
    ticket = directory / "ticket.json"
    if not ticket.is_file():
        raise CaseError(f"{directory.name}: ticket.json missing")
    try:
        expected = Expected.model_validate(json.loads((directory / "expected.json").read_text("utf-8")))
    except FileNotFoundError:
        raise CaseError(f"{directory.name}: expected.json missing") from None
    except ValueError as exc:  # JSON or validation
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            detail = f"{'.'.join(str(p) for p in first['loc']) or 'file'}: {first['msg']}"
        else:
            detail = str(exc)
        raise CaseError(f"{directory.name}: expected.json: {detail}") from None
    if (directory / "world").is_dir():
        world = directory / "world"
    elif expected.world:
        world = (directory / expected.world).resolve()
    else:
        world = _default_world(root)
    return GoldenCase(directory.name, directory, ticket, world.resolve(), expected)


def uses_world(case: GoldenCase, world: Path) -> bool:
    """Whether the case runs against ``world`` itself or an overlay of it."""
    from casefile.tools.world.loader import World, WorldError

    try:
        return Path(world).resolve() in World.layers_of(case.world)
    except WorldError:
        return False


def load_cases(
    root: Path | None = None,
    *,
    ids: Sequence[str] = (),
    tags: Sequence[str] = (),
    world: Path | None = None,
) -> list[GoldenCase]:
    """Every case under ``root`` (directories not starting with ``_``), filtered by id, tag and world."""
    root = Path(root or GOLDEN_DIR)
    if not root.is_dir():
        raise CaseError(f"golden directory not found: {root}")
    dirs = [d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(("_", "."))]
    if ids:  # only the chosen cases are loaded: a broken one elsewhere does not stop them
        unknown = [i for i in ids if i not in {d.name for d in dirs}]
        if unknown:
            raise CaseError(f"unknown case(s) in {root}: {', '.join(unknown)}")
        dirs = [d for d in dirs if d.name in ids]
    found = [load_case(d, root) for d in dirs]
    if tags:
        found = [c for c in found if set(tags) & set(c.tags)]
    if world is not None:
        found = [c for c in found if uses_world(c, world)]
    return found


def case_ids(cases: Iterable[GoldenCase]) -> list[str]:
    return [c.id for c in cases]
