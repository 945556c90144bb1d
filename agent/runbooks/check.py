"""Loading and checking runbook files: every problem with its file, line and reason (``casefile
runbooks check``); a runbook with a problem is disabled, the others keep working."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from jinja2 import TemplateSyntaxError
from pydantic import BaseModel, ValidationError

from casefile.agent.runbooks.model import RUNBOOKS_DIR, Problem, Runbook, RunbookError
from casefile.agent.strict import pydantic_reason
from casefile.agent.templating import expression_env

__all__ = [
    "check_runbooks",
    "line_of",
    "load_runbooks",
    "load_usable_runbooks",
    "read_mapping",
    "read_model",
    "runbooks_signature",
]


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


def read_mapping(
    text: str, name: str, expected: str, *, empty_ok: bool = False
) -> tuple[yaml.Node | None, dict[str, Any], list[Problem]]:
    """A YAML file that must hold a mapping: its composed node (for line numbers), the mapping (with
    ``empty_ok``, an empty file is an empty one), or the problem; ``expected`` says what it holds."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, {}, [Problem(name, (mark.line + 1) if mark else 1, f"invalid YAML: {exc}")]
    if data is None and empty_ok:
        data = {}
    if not isinstance(data, dict):
        return node, {}, [Problem(name, 1, f"the {expected}")]
    return node, data, []


M = TypeVar("M", bound=BaseModel)


def read_model(
    model: type[M], text: str, name: str, expected: str, *, empty_ok: bool = False
) -> tuple[M | None, yaml.Node | None, list[Problem]]:
    """A YAML file holding one ``model`` (given its ``path``): the model and the composed node (for the
    semantic checks' line numbers), or every problem with its line; ``expected`` as for :func:`read_mapping`."""
    node, data, problems = read_mapping(text, name, expected, empty_ok=empty_ok)
    if problems:
        return None, node, problems
    try:
        return model.model_validate({**data, "path": name}), node, []
    except ValidationError as exc:
        return (
            None,
            node,
            [
                Problem(name, line_of(node, list(err["loc"]), 1), pydantic_reason(model, err))
                for err in exc.errors()
            ],
        )


def line_of(node: yaml.Node | None, path: Sequence[str | int], base: int) -> int:
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
            Problem(name, line_of(tree, [p for p in err["loc"] if p != "body"], base), _pydantic_reason(err))
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
        problems.append(Problem(name, line_of(node, path, base), reason))

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
