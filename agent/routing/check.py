"""Loading and checking the routing file: every problem with its file, line and reason
(``casefile routing check``), and a cached load that refuses a file with any problem."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

import yaml

from casefile.agent.diagnosis import CATEGORIES
from casefile.agent.packet import FIELDS
from casefile.agent.routing.facts import FACTS
from casefile.agent.routing.schema import (
    Matchers,
    RoutingConfig,
    RoutingError,
    Symptom,
    Trigger,
)
from casefile.agent.runbooks import Problem
from casefile.agent.runbooks.check import read_model

__all__ = ["check_routing", "load_routing"]


def _line_of(node: yaml.Node | None, path: Sequence[str | int]) -> int:
    from casefile.agent.runbooks.check import line_of  # the same YAML walk the runbook checker uses

    return line_of(node, path, 1)


def _parse(text: str, name: str) -> tuple[RoutingConfig | None, list[Problem]]:
    config, node, problems = read_model(
        RoutingConfig, text, name, "routing file must be a mapping (teams, decision, symptoms, triggers)"
    )
    if config is None:
        return None, problems
    return config, _semantics(config, node, name)


def _semantics(config: RoutingConfig, node: yaml.Node | None, name: str) -> list[Problem]:
    """What the schema cannot see: references between sections, names, regexes."""
    problems: list[Problem] = []

    def problem(path: Sequence[str | int], reason: str) -> None:
        problems.append(Problem(name, _line_of(node, path), reason))

    for key, team in config.teams.items():
        for i, required in enumerate(team.requires):
            if required not in FIELDS:
                problem(
                    ["teams", key, "requires", i],
                    f"unknown packet field {required!r}; known: {', '.join(sorted(FIELDS))}",
                )
    if config.decision.fallback_team not in config.teams:
        problem(
            ["decision", "fallback_team"], f"fallback team {config.decision.fallback_team!r} is not in teams"
        )
    for category, rule in config.decision.categories.items():
        for j, fact in enumerate(rule.resolve_when):
            if fact not in FACTS:
                problem(
                    ["decision", "categories", category, "resolve_when", j], f"unknown evidence fact {fact!r}"
                )
        if category not in CATEGORIES:
            problem(["decision", "categories", category], f"unknown category {category!r}")

    def check_matchers(section: str, i: int, m: Matchers, facts: Iterable[tuple[str, list[str]]]) -> None:
        for j, pattern in enumerate(m.regex):
            try:
                re.compile(pattern)
            except re.error as exc:
                problem([section, i, "regex", j], f"bad regex {pattern!r}: {exc}")
        for key, names in facts:
            for j, fact in enumerate(names):
                if fact not in FACTS:
                    problem(
                        [section, i, key, j],
                        f"unknown evidence fact {fact!r}; known: {', '.join(sorted(FACTS))}",
                    )
        for j, status in enumerate(m.statuses):
            if not 100 <= status <= 599:
                problem([section, i, "statuses", j], f"{status} is not an HTTP status")
        for j, keyword in enumerate(m.keywords):
            if not keyword.strip():
                problem([section, i, "keywords", j], "empty keyword (it would match every ticket)")

    sections: list[tuple[str, Sequence[Symptom | Trigger]]] = [
        ("symptoms", config.symptoms),
        ("triggers", config.triggers),
    ]
    for section, items in sections:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if item.id in seen:
                problem(
                    [section, i, "id"],
                    f"duplicate {section[:-1]} id {item.id!r} (first at item {seen[item.id] + 1})",
                )
            seen.setdefault(item.id, i)
            if item.team not in config.teams:
                problem([section, i, "team"], f"unknown team {item.team!r}; teams: {', '.join(config.teams)}")
            facts = [("evidence", item.evidence)]
            if isinstance(item, Trigger):
                facts.append(("unless", item.unless))
                if not any(
                    (
                        item.keywords,
                        item.regex,
                        item.statuses,
                        item.error_codes,
                        item.exceptions,
                        item.areas,
                        item.evidence,
                    )
                ):
                    problem([section, i], f"trigger {item.id!r} has no matcher, so it can never fire")
            check_matchers(section, i, item, facts)
            if isinstance(item, Symptom):
                for j, category in enumerate(item.categories):
                    if category not in CATEGORIES:
                        problem([section, i, "categories", j], f"unknown category {category!r}")
                for j, wanted in enumerate(item.collect):
                    if wanted not in FIELDS:
                        problem([section, i, "collect", j], f"unknown packet field {wanted!r}")
    return problems


def _default_file() -> Path:
    """The package's ``ROUTING_FILE``, read when called: pointing ``casefile.agent.routing.ROUTING_FILE``
    elsewhere (a test, an embedding application) moves the default for every reader."""
    from casefile.agent import routing

    return Path(routing.ROUTING_FILE)


def check_routing(path: Path | None = None) -> tuple[RoutingConfig | None, list[Problem]]:
    """Parse and validate a routing file: the config (when usable) and every problem, with its line."""
    path = Path(path or _default_file())
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), 0, f"cannot read the routing file: {exc}")]
    return _parse(text, str(path))


@cache
def _cached(path: str, mtime: float) -> RoutingConfig:
    config, problems = check_routing(Path(path))
    if problems or config is None:
        raise RoutingError(problems)
    return config


def load_routing(path: Path | None = None) -> RoutingConfig:
    """The routing config; any problem raises :class:`RoutingError`. Cached per file version."""
    path = Path(path or _default_file())
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise RoutingError([Problem(str(path), 0, f"cannot read the routing file: {exc}")]) from None
    return _cached(str(path.resolve()), mtime)
