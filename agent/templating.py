"""The sandboxed Jinja2 environment runbooks and prompts are evaluated in.

Runbook authors write expressions over tool results ("errors.spike and
billing.in_good_standing"); those run in an immutable sandbox, so a runbook can
read results but cannot call methods that change anything or reach Python
internals. Missing values chain to undefined instead of raising, so a finding
over a source that was down is simply false.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from jinja2 import ChainableUndefined, FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ValidationError

from casefile import PACKAGE_DIR
from casefile.tools.base import iso, parse_ts
from casefile.tools.bugs_results import Issue
from casefile.tools.deploys_results import Deployment
from casefile.tools.sso_analysis import VENDOR_NAMES, ago, spoken_day

__all__ = [
    "PROMPTS_DIR",
    "compiled_expression",
    "compiled_template",
    "expression_env",
    "iso",
    "parse_ts",
    "prompt_env",
    "render_value",
]

PROMPTS_DIR = PACKAGE_DIR / "prompts"
_EPOCH = datetime.min.replace(tzinfo=UTC)


def _shift(value: Any, days: float = 0, hours: float = 0, minutes: float = 0) -> str:
    ts = parse_ts(value)
    if ts is None:
        return ""
    return iso(ts + timedelta(days=days, hours=hours, minutes=minutes))


def _minutes_between(a: Any, b: Any) -> float | None:
    ta, tb = parse_ts(a), parse_ts(b)
    if ta is None or tb is None:
        return None
    return (tb - ta).total_seconds() / 60


def _between(items: Iterable[Mapping[str, Any]] | None, field: str, start: Any, end: Any) -> list[Any]:
    """Items whose timestamp ``field`` lies in [start, end]."""
    lo, hi = parse_ts(start), parse_ts(end)
    if items is None or lo is None or hi is None:
        return []
    found = []
    for item in items:
        ts = parse_ts(item.get(field)) if isinstance(item, Mapping) else None
        if ts is not None and lo <= ts <= hi:
            found.append(item)
    return found


def _latest(items: Iterable[Mapping[str, Any]] | None, field: str) -> Any:
    rows = [i for i in items or [] if isinstance(i, Mapping) and parse_ts(i.get(field))]
    return max(rows, key=lambda i: parse_ts(i.get(field)) or datetime.min.replace(tzinfo=UTC), default=None)


def _percent(value: Any, digits: int = 1) -> str:
    try:
        return f"{float(value) * 100:.{digits}f}%"
    except (TypeError, ValueError):
        return "?"


def _date(value: Any) -> str:
    ts = parse_ts(value)
    return ts.strftime("%Y-%m-%d") if ts else ""


def _ago(value: Any, now: Any) -> str:
    """'4 days ago' / 'in 3 hours': ``value`` against ``now`` (the ticket's time)."""
    ts, ref = parse_ts(value), parse_ts(now)
    return ago((ts - ref).total_seconds()) if ts and ref else ""


def _day(value: Any) -> str:
    ts = parse_ts(value)
    return spoken_day(ts) if ts else ""


def _idp_name(vendor: Any) -> str:
    return VENDOR_NAMES.get(str(vendor or ""), str(vendor or "")) or "unknown"


def _hhmm(value: Any) -> str:
    ts = parse_ts(value)
    return ts.strftime("%H:%M UTC") if ts else ""


V = TypeVar("V", bound=BaseModel)


def _typed(items: Iterable[Any] | None, view: type[V]) -> list[tuple[Any, V]]:
    """Each item of a result's list that reads as ``view`` (e.g. ``bugs_results.Issue``), with its
    typed reading: filters decide on fields and hand the runbook back its own item."""
    read = []
    for item in items or []:
        try:
            read.append((item, view.model_validate(item)))
        except ValidationError:
            continue  # not one of these (a garbled row): no filter keeps it
    return read


def _open_issues(issues: Iterable[Any] | None) -> list[Any]:
    """Bug-tracker issues that are not closed (Done, Canceled, Duplicate...: ``Issue.open``)."""
    return [item for item, issue in _typed(issues, Issue) if issue.open]


def _mentioning(issues: Iterable[Any] | None, *terms: Any) -> list[Any]:
    """Issues whose title, description or workaround mentions any of ``terms`` (case-insensitive)."""
    wanted = [str(t).lower() for t in terms if t not in (None, "") and str(t).strip()]
    found = []
    for item, issue in _typed(issues, Issue):
        text = " ".join((issue.title, issue.description, issue.workaround or "")).lower()
        if any(term in text for term in wanted):
            found.append(item)
    return found


def _successful_deploys(
    deployments: Iterable[Any] | None, environment: str | None
) -> list[tuple[Any, Deployment]]:
    return [
        (item, d)
        for item, d in _typed(deployments, Deployment)
        if d.environment == environment and d.status in (None, "success") and parse_ts(d.created_at)
    ]


def _newest(deploys: list[tuple[Any, Deployment]]) -> Any:
    return max(deploys, key=lambda pair: parse_ts(pair[1].created_at) or _EPOCH, default=(None,))[0]


def _suspect_deploy(
    deployments: Iterable[Any] | None,
    ts: Any,
    minutes: float = 90,
    environment: str = "production",
) -> Any:
    """The latest successful deploy in the ``minutes`` before ``ts`` (when a problem started), or None."""
    at = parse_ts(ts)
    if at is None:
        return None
    window = [
        (item, d)
        for item, d in _successful_deploys(deployments, environment)
        if timedelta(0) <= at - (parse_ts(d.created_at) or at) <= timedelta(minutes=minutes)
    ]
    return _newest(window)


def _previous_deploy(deployments: Iterable[Any] | None, deploy: Any) -> Any:
    """The deploy of the same repository and environment just before ``deploy``, or None."""
    typed = _typed([deploy], Deployment)
    this = typed[0][1] if typed else None
    at = parse_ts(this.created_at) if this is not None else None
    if this is None or at is None:
        return None
    earlier = [
        (item, d)
        for item, d in _successful_deploys(deployments, this.environment)
        if d.repo == this.repo and (parse_ts(d.created_at) or at) < at
    ]
    return _newest(earlier)


def _in_repos(deployments: Iterable[Any] | None, repos: Iterable[str] | None) -> list[Any]:
    """Deployments of the given repositories (a catalogue role's: ``roles.webhooks.repos``).

    With no repositories (the role is unknown) every deployment is kept: narrowing to
    nothing would hide the change that matters.
    """
    wanted = {str(r).lower() for r in repos or []}
    return [item for item, d in _typed(deployments, Deployment) if not wanted or d.repo.lower() in wanted]


def _search(value: Any, pattern: str) -> bool:
    """Jinja test: ``items | select('search', 'ratelimit')`` keeps values the regex finds something in."""
    try:
        return re.search(pattern, str(value), re.IGNORECASE) is not None
    except re.error:
        return False


def _specific_code(code: Any) -> str:
    """Jinja filter: the error code when it says more than its status (``internal`` → "")."""
    from casefile.agent.differential.semantics import specific_code  # the differential imports this module

    return specific_code(str(code) if code else None)


def _install_helpers(env: ImmutableSandboxedEnvironment) -> None:
    env.filters.update(
        shift=_shift,
        between=_between,
        latest=_latest,
        percent=_percent,
        date=_date,
        hhmm=_hhmm,
        ago=_ago,
        day=_day,
        idp_name=_idp_name,
        open_issues=_open_issues,
        mentioning=_mentioning,
        suspect_deploy=_suspect_deploy,
        previous_deploy=_previous_deploy,
        in_repos=_in_repos,
        specific_code=_specific_code,
    )
    env.globals.update(minutes_between=_minutes_between, parse_ts=parse_ts)
    env.tests.update(search=_search)


def expression_env() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)
    _install_helpers(env)
    return env


_EXPR_ENV: ImmutableSandboxedEnvironment | None = None


def _env() -> ImmutableSandboxedEnvironment:
    global _EXPR_ENV
    if _EXPR_ENV is None:
        _EXPR_ENV = expression_env()
    return _EXPR_ENV


@lru_cache(maxsize=2048)
def compiled_expression(source: str) -> Any:
    """A compiled sandboxed expression; compiling is far slower than evaluating, so cache it."""
    return _env().compile_expression(source, undefined_to_none=True)


@lru_cache(maxsize=2048)
def compiled_template(source: str) -> Any:
    return _env().from_string(source)


def render_value(template: Any, context: Mapping[str, Any]) -> Any:
    """Render one templated value from a runbook.

    A string that is exactly one ``{{ expression }}`` keeps the expression's
    type; other strings are rendered as text; lists and dicts recurse.
    """
    if isinstance(template, str):
        stripped = template.strip()
        if stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1:
            value = compiled_expression(stripped[2:-2].strip())(**context)
            return None if value is None or value == "" else value
        if "{{" in template or "{%" in template:
            return compiled_template(template).render(**context)
        return template
    if isinstance(template, list):
        return [render_value(item, context) for item in template]
    if isinstance(template, dict):
        return {key: render_value(value, context) for key, value in template.items()}
    return template


def prompt_env() -> ImmutableSandboxedEnvironment:
    """Environment for the prompt templates in ``prompts/`` (strict: a typo is an error)."""
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(PROMPTS_DIR)),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    _install_helpers(env)
    return env
