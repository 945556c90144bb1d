"""Runbooks: Markdown files support engineers maintain, with no Python.

A runbook is ``prompts/runbooks/<name>.md``: YAML front matter between ``---``
lines, then a Markdown body that goes into the model's prompt as guidance.

Front matter::

    id: api-429                      # unique
    title: API requests rejected with 429
    team: backend                    # who gets it when escalated
    triggers:                        # any one that hits matches the runbook
      keywords: ["429", "rate limit"]
      regex: ['\\btoo many requests\\b']
      statuses: [429]
      error_codes: [rate_limit_exceeded]
      areas: [api]
    plan:                            # tool calls to run before the model's first turn
      - id: errors                   # results are reachable under this name
        tool: logs_error_summary
        args: {account_id: "{{ account.id }}", start: "{{ window.start }}", end: "{{ window.end }}"}
      - id: compare
        tool: deploys_compare
        needs: [deploys]             # runs after these steps, may use their results
        when: "deploys.deployments"  # optional condition (sandboxed Jinja2 expression)
        args: {repo: "...", base: "...", head: "..."}
    findings:                        # conditions over results → a root cause
      - id: known-bug
        when: "errors.spike and bugs.issues"
        priority: 50                 # higher wins when several hold
        category: known_bug
        statement: "..."             # templates may use every step's result
        confidence: 0.85
        action: resolve              # or escalate
        evidence:
          - {step: errors, value: "{{ errors.spike.start }}", claim: "429s began at {{ errors.spike.start }}"}
        reply: "..."
        note: "..."

A step whose rendered arguments leave a required value empty (e.g. no account
was resolved) is skipped and reported, rather than sent with a blank.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import TemplateSyntaxError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from casefile.agent.diagnosis import CATEGORIES
from casefile.agent.errors import ConfigError
from casefile.agent.strict import pydantic_reason
from casefile.agent.templating import PROMPTS_DIR, compiled_expression, expression_env, render_value
from casefile.agent.ticket import Signals, Ticket

__all__ = [
    "RUNBOOKS_DIR",
    "Finding",
    "PlanStep",
    "Problem",
    "ProblemsError",
    "Runbook",
    "RunbookError",
    "check_runbooks",
    "evaluate",
    "load_runbooks",
    "load_usable_runbooks",
    "match_runbooks",
    "runbook_context",
    "runbooks_signature",
]

RUNBOOKS_DIR = PROMPTS_DIR / "runbooks"


class ProblemsError(ConfigError):
    """A file support engineers maintain that cannot be used; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)


class RunbookError(ProblemsError):
    """A runbook file that cannot be used."""


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class Triggers(BaseModel):
    """What a ticket's own words and signals must show; runbooks and routing rules both match with it."""

    model_config = ConfigDict(extra="forbid")

    keywords: list[str] = Field(default_factory=list)
    regex: list[str] = Field(default_factory=list)
    statuses: list[int] = Field(default_factory=list)
    error_codes: list[str] = Field(default_factory=list)
    exceptions: list[str] = Field(default_factory=list)
    areas: list[str] = Field(default_factory=list)
    # Runs on every ticket (e.g. a help-center search); ranked after every runbook a trigger chose.
    always: bool = False

    def hits(self, text: str, signals: Signals | None) -> list[str]:
        """Each trigger the ticket's text and signals hit, as a reason a person can read."""
        low = text.lower()
        hits = ["every ticket"] if self.always else []
        hits += [f"keyword {k!r}" for k in self.keywords if k.lower() in low]
        # A pattern hit shows the words it matched: people read these, not regexes.
        found = (re.search(p, text, re.IGNORECASE) for p in self.regex)
        hits += [f"words {m.group(0)!r}" for m in found if m]
        if signals is None:
            return hits
        hits += [f"status {s}" for s in self.statuses if s in signals.statuses]
        codes = {c.lower() for c in signals.error_codes}
        hits += [f"error code {c}" for c in self.error_codes if c.lower() in codes]
        # An exception matches by its full name or its class name (the part after the last dot).
        exceptions = [e.lower() for e in signals.exceptions]
        hits += [
            f"exception {e}"
            for e in self.exceptions
            if any(x == e.lower() or x.endswith("." + e.lower()) for x in exceptions)
        ]
        hits += [f"area {a}" for a in self.areas if a in signals.areas]
        return hits


class PlanStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    needs: list[str] = Field(default_factory=list)
    when: str | None = None


class EvidenceTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: str
    value: str
    claim: str
    # The result field holding the value; needed when the value alone is unspecific (a small count).
    field: str | None = None


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    when: str
    priority: int = 0
    category: str
    statement: str
    component: str | None = None
    confidence: float = Field(ge=0, le=1)
    confidence_reasons: list[str] = Field(default_factory=list)
    action: Literal["resolve", "escalate"]
    team: str | None = None
    summary: str | None = None
    evidence: list[EvidenceTemplate] = Field(default_factory=list)
    reply: str
    note: str = ""

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"unknown category {value!r}; one of: {', '.join(CATEGORIES)}")
        return value


class Runbook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    team: str
    triggers: Triggers = Field(default_factory=Triggers)
    let: dict[str, str] = Field(
        default_factory=dict, description="named expressions over results, usable by later steps and findings"
    )
    plan: list[PlanStep] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    body: str = ""
    path: str = ""


# ---------------------------------------------------------------- loading and checking


def _split_front_matter(text: str) -> tuple[str, str, int]:
    """Return (yaml text, body, line number where the yaml starts)."""
    if not text.startswith("---"):
        raise ValueError("no front matter: the file must start with a '---' line")
    end = text.find("\n---", 3)
    if end < 0:
        raise ValueError("front matter is not closed by a '---' line")
    front = text[3:end].lstrip("\n")
    body = text[end + 4 :].lstrip("\n")
    return front, body, 2


def _line_of(node: yaml.Node | None, path: Sequence[str | int], base: int) -> int:
    """Line (1-based, in the file) of the YAML key or item at ``path``, as deep as it exists."""
    line = base + (node.start_mark.line if node is not None else 0)
    for key in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if getattr(k, "value", None) == key:
                    child, line = v, base + k.start_mark.line
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
            line = base + child.start_mark.line
        if child is None:
            break
        node = child
    return line


def _parse_file(path: Path, *, semantic: bool = True) -> tuple[Runbook | None, list[Problem]]:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        front, body, base = _split_front_matter(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, [Problem(name, 1, str(exc))]
    # libyaml's C loader when available: runbooks load on every investigation.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(front, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [Problem(name, base + (mark.line if mark else 0), f"invalid YAML: {exc}")]
    if not isinstance(data, dict):
        return None, [Problem(name, base, "front matter must be a mapping")]

    def node() -> yaml.Node | None:  # composed only when a line number is needed
        return yaml.compose(front, Loader=loader)

    try:
        runbook = Runbook.model_validate({**data, "body": body.strip(), "path": name})
    except ValidationError as exc:
        tree = node()
        return None, [
            Problem(name, _line_of(tree, [p for p in err["loc"] if p != "body"], base), _pydantic_reason(err))
            for err in exc.errors()
        ]
    return runbook, (_check_semantics(runbook, node(), base) if semantic else [])


def _pydantic_reason(err: Mapping[str, Any]) -> str:
    return pydantic_reason(Runbook, err)


def _check_semantics(runbook: Runbook, node: yaml.Node | None, base: int) -> list[Problem]:
    """What Pydantic cannot see: regexes, expressions, tool names and arguments, step references."""
    from casefile.agent.runbook_fields import FieldChecker
    from casefile.tools.catalogue import tool_specs  # the tools' argument models, without building clients
    from casefile.tools.shapes import result_shapes

    problems: list[Problem] = []
    name = runbook.path
    env = expression_env()

    def problem(path: Sequence[str | int], reason: str) -> None:
        problems.append(Problem(name, _line_of(node, path, base), reason))

    for i, pattern in enumerate(runbook.triggers.regex):
        try:
            re.compile(pattern)
        except re.error as exc:
            problem(["triggers", "regex", i], f"bad regex {pattern!r}: {exc}")

    # Fields read from step results must exist in the tools' declared result shapes.
    shapes = result_shapes()
    where: list[Sequence[str | int]] = [[]]

    def unknown_field(reason: str) -> None:
        problem(where[0], reason)

    fields_checker = FieldChecker({s.id: shapes.get(s.tool) for s in runbook.plan}, unknown_field)

    def check_template(path: Sequence[str | int], text: str, expression: bool = False) -> None:
        try:
            if expression:
                env.compile_expression(text)
            else:
                env.from_string(text)
        except TemplateSyntaxError as exc:
            problem(path, f"bad expression {text!r}: {exc.message}")
            return
        where[0] = path
        fields_checker.check(text, expression=expression)

    for key, expression in runbook.let.items():
        if not re.match(r"^[a-z][a-z0-9_]*$", key):
            problem(["let", key], f"bad name {key!r}: use lower_snake_case")
        check_template(["let", key], expression, expression=True)
        fields_checker.define(key, expression)

    specs = tool_specs()
    step_ids: list[str] = []
    for i, step in enumerate(runbook.plan):
        if step.id in step_ids:
            problem(["plan", i, "id"], f"duplicate step id {step.id!r}")
        for need in step.needs:
            if need not in step_ids:
                problem(
                    ["plan", i, "needs"], f"step {step.id!r} needs {need!r}, which is not an earlier step"
                )
        step_ids.append(step.id)
        if step.when:
            check_template(["plan", i, "when"], step.when, expression=True)
        spec = specs.get(step.tool)
        if spec is None:
            problem(["plan", i, "tool"], f"unknown tool {step.tool!r}; known: {', '.join(sorted(specs))}")
            continue
        fields = spec.model_fields
        for key, value in step.args.items():
            if key not in fields:
                problem(["plan", i, "args", key], f"tool {step.tool} has no argument {key!r}")
            elif isinstance(value, str):
                check_template(["plan", i, "args", key], value)
        missing = [k for k, f in fields.items() if f.is_required() and k not in step.args]
        if missing:
            problem(["plan", i, "args"], f"tool {step.tool} needs argument(s) {', '.join(missing)}")
        # Literal (non-templated) values must already satisfy the argument model.
        literal = {
            k: v for k, v in step.args.items() if not (isinstance(v, str) and "{" in v) and k in fields
        }
        try:
            spec.model_validate(
                {**{k: _placeholder(f) for k, f in fields.items() if f.is_required()}, **literal}
            )
        except ValidationError as exc:
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else ""
                if key in literal:
                    problem(["plan", i, "args", key], f"bad argument {key}: {err['msg']}")

    for i, finding in enumerate(runbook.findings):
        check_template(["findings", i, "when"], finding.when, expression=True)
        for field_name in ("statement", "reply", "note", "summary", "component"):
            value = getattr(finding, field_name)
            if value:
                check_template(["findings", i, field_name], value)
        for j, ev in enumerate(finding.evidence):
            if ev.step not in step_ids:
                problem(["findings", i, "evidence", j, "step"], f"evidence cites unknown step {ev.step!r}")
            check_template(["findings", i, "evidence", j, "value"], ev.value)
            check_template(["findings", i, "evidence", j, "claim"], ev.claim)
    return problems


def _placeholder(field_info: Any) -> Any:
    annotation = str(field_info.annotation)
    if "int" in annotation:
        return 1
    return "x"


def load_runbooks(
    directory: Path | None = None, *, strict: bool = True, semantic: bool = False
) -> list[Runbook]:
    """Load every runbook; with ``strict`` any problem raises :class:`RunbookError`.

    Investigations load without the semantic checks (tool arguments, expression
    syntax), which ``casefile runbooks check`` and the test suite run; a runbook
    that still slips through fails visibly at its call ("no tool named …").
    """
    runbooks, problems = _load_all(directory or RUNBOOKS_DIR, semantic=semantic)
    if strict and problems:
        raise RunbookError(problems)
    return runbooks


def check_runbooks(directory: Path | None = None) -> tuple[list[Runbook], list[Problem]]:
    return _load_all(directory or RUNBOOKS_DIR)


def load_usable_runbooks(directory: Path | None = None) -> tuple[list[Runbook], list[Problem]]:
    """What investigations use: every runbook that loads, and the problems of those that do not.

    A broken runbook is left out (and reported) rather than stopping every investigation."""
    return _load_all(directory or RUNBOOKS_DIR, semantic=False)


def runbooks_signature(directory: Path | None = None) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of the runbook files: changes when any file does."""
    signature = []
    for path in sorted((directory or RUNBOOKS_DIR).glob("*.md")):
        try:
            stat = path.stat()
        except OSError:
            continue
        signature.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(signature)


def _load_all(directory: Path, *, semantic: bool = True) -> tuple[list[Runbook], list[Problem]]:
    runbooks: list[Runbook] = []
    problems: list[Problem] = []
    if not directory.is_dir():
        return [], [Problem(str(directory), 0, "runbook directory not found")]
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        runbook, found = _parse_file(path, semantic=semantic)
        problems.extend(found)
        if runbook is None:
            continue
        if runbook.id in seen:
            problems.append(Problem(str(path), 1, f"id {runbook.id!r} already used by {seen[runbook.id]}"))
            continue
        seen[runbook.id] = str(path)
        if not found:
            runbooks.append(runbook)
    return runbooks, problems


# ---------------------------------------------------------------- matching


@dataclass
class Match:
    runbook: Runbook
    score: int
    reasons: list[str] = field(default_factory=list)


def match_runbooks(runbooks: Iterable[Runbook], ticket: Ticket, signals: Signals) -> list[Match]:
    """Runbooks whose triggers hit, best first (by the number of distinct hits)."""
    text = ticket.full_text()
    matches: list[Match] = []
    for runbook in runbooks:
        reasons = runbook.triggers.hits(text, signals)
        if reasons:
            matches.append(Match(runbook, len(reasons), reasons))
    # A runbook that runs on every ticket chose nothing about this one: it never leads.
    matches.sort(key=lambda m: (m.runbook.triggers.always, -m.score, m.runbook.id))
    return matches


# ---------------------------------------------------------------- findings


@dataclass
class Holding:
    """A finding whose condition held, rendered against the results."""

    runbook: Runbook
    finding: Finding
    statement: str
    summary: str
    reply: str
    note: str
    evidence: list[dict[str, str | None]]
    component: str | None = None


def runbook_context(runbook: Runbook, base: Mapping[str, Any], results: Mapping[str, Any]) -> dict[str, Any]:
    """The names a runbook's templates see: base facts, its steps' results, then its ``let`` values."""
    context = {**base, **{s.id: None for s in runbook.plan}, **results}
    for name, expression in runbook.let.items():
        try:
            context[name] = compiled_expression(expression)(**context)
        except Exception:  # an expression over a missing result is simply undefined
            context[name] = None
    return context


def evaluate(runbook: Runbook, context: Mapping[str, Any]) -> list[Holding]:
    """Every finding of ``runbook`` whose condition holds, highest priority first.

    ``context`` is what :func:`runbook_context` returns.
    """
    held: list[Holding] = []
    for finding in sorted(runbook.findings, key=lambda f: -f.priority):
        try:
            holds = bool(compiled_expression(finding.when)(**context))
        except Exception:  # a runbook expression over a missing value is simply false
            holds = False
        if not holds:
            continue
        evidence = []
        for ev in finding.evidence:
            value = render_value(ev.value, context)
            if value in (None, ""):
                continue
            evidence.append(
                {
                    "step": ev.step,
                    "value": str(value),
                    "field": ev.field,
                    "claim": str(render_value(ev.claim, context)),
                }
            )
        statement = str(render_value(finding.statement, context))
        held.append(
            Holding(
                runbook=runbook,
                finding=finding,
                statement=statement,
                summary=str(render_value(finding.summary, context)) if finding.summary else statement,
                reply=str(render_value(finding.reply, context)).strip(),
                note=str(render_value(finding.note, context)).strip(),
                evidence=evidence,
                # The component may be a template too ("{{ hot_path.path if hot_path else 'api' }}").
                component=str(render_value(finding.component, context)).strip() or None
                if finding.component
                else None,
            )
        )
    return held
