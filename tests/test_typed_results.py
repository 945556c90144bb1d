"""Tool results reach code outside the connectors only through typed views (``ToolOutcome.view``).

Two guards, each able to fail:
- ``ToolOutcome.data`` is typed ``object``, so mypy --strict (run on every merge) refuses
  ``outcome.data["x"]``, ``outcome.data.get("x")``, iterating it or assigning it to a typed name;
- mypy cannot see past the ways around that type, so this scan refuses them in ``agent/`` and
  ``evals/``: narrowing or casting a result (``isinstance(o.data, dict)``), handing it to another
  function (which may take ``Any`` and read it by key), returning it, giving it an annotation, or
  storing it in a container. The few places that hand a raw result on whole are listed below with
  the reason; none reads it by key.
"""

from __future__ import annotations

import ast
import gc
from pathlib import Path

from casefile.tools.base import ToolOutcome

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("agent", "evals")

# (file, function) → why the raw result goes on whole from there.
ALLOWED = {
    ("agent/cli.py", "_cmd_tools_call"): "`casefile tools call` prints the raw result as JSON",
    ("agent/grounding.py", "returned_data"): "grounding matches cited values against every value of "
    "the result (its connector's evidence view): values, never keys",
    ("agent/loop.py", "_preflight"): "a runbook's steps read their results in its Jinja templates, by "
    "the fields its connector's shapes file declares (`casefile runbooks check`)",
}


class _Escapes(ast.NodeVisitor):
    """Every ``<x>.data`` whose value leaves the expression it is read in, untyped."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.function = "<module>"
        self.found: list[tuple[str, int, str]] = []
        self.parents: dict[ast.AST, ast.AST] = {}

    def scan(self, tree: ast.AST) -> list[tuple[str, int, str]]:
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self.visit(tree)
        return self.found

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "data":
            how = self._leaves(node)
            if how is not None:
                self.found.append((self.function, node.lineno, how))
        self.generic_visit(node)

    def _leaves(self, node: ast.AST) -> str | None:
        value: ast.AST = node
        parent = self.parents.get(value)
        while isinstance(parent, ast.IfExp | ast.BoolOp):  # `o.data if o.ok else None`
            value, parent = parent, self.parents.get(parent)
        if isinstance(parent, ast.Call) and value is not parent.func:
            return f"passed to {ast.unparse(parent.func)}()"
        if isinstance(parent, ast.keyword):
            return f"passed as {parent.arg}="
        if isinstance(parent, ast.Return | ast.Yield | ast.Lambda):
            return "returned"
        if isinstance(parent, ast.AnnAssign):
            return "annotated"
        if isinstance(parent, ast.Assign) and any(not isinstance(t, ast.Name) for t in parent.targets):
            return "stored in a container"
        if isinstance(parent, ast.List | ast.Tuple | ast.Set | ast.Dict | ast.Starred):
            return None if self._unpacked(parent) else "stored in a container"
        return None

    def _unpacked(self, container: ast.AST) -> bool:
        """``a, b = x.data, y.data``: names, each typed on its own (as if assigned one by one)."""
        assign = self.parents.get(container)
        return (
            isinstance(container, ast.Tuple)
            and isinstance(assign, ast.Assign)
            and assign.value is container
            and all(
                isinstance(t, ast.Name)
                or (isinstance(t, ast.Tuple) and all(isinstance(e, ast.Name) for e in t.elts))
                for t in assign.targets
            )
        )


def _parse(source: str) -> ast.Module:
    """``ast.parse`` with the collector paused: on CPython 3.11.7 a finalizer that the collector runs
    while the tree is being built (a test's abandoned tracing span) raises "AST constructor
    recursion depth mismatch" (fixed in 3.11.8)."""
    gc.disable()
    try:
        return ast.parse(source)
    finally:
        gc.enable()


def escapes(source: str, path: str) -> list[str]:
    """Where a raw result leaves untyped in ``source``, except the places in :data:`ALLOWED`."""
    return [
        f"{path}:{line}: {function}: .data {how}"
        for function, line, how in _Escapes(path).scan(_parse(source))
        if (path, function) not in ALLOWED
    ]


def test_tool_results_are_typed_object_so_mypy_refuses_key_reads() -> None:
    assert ToolOutcome.model_fields["data"].annotation is object


def test_no_raw_tool_result_leaves_untyped_in_agent_or_evals() -> None:
    found = [
        hit
        for folder in SCANNED
        for file in sorted((ROOT / folder).rglob("*.py"))
        for hit in escapes(file.read_text(encoding="utf-8"), file.relative_to(ROOT).as_posix())
    ]
    assert found == [], "read results through ToolOutcome.view(<typed view>):\n" + "\n".join(found)


def test_every_allowed_place_still_exists() -> None:
    """An allowance outlives its code only as a hole: each names a function that hands .data on."""
    for path, function in ALLOWED:
        tree = _parse((ROOT / path).read_text(encoding="utf-8"))
        hits = [f for f, _, _ in _Escapes(path).scan(tree)]
        assert function in hits, f"{path}: {function} no longer hands a raw result on; drop it"


BAD = """
from typing import Any, cast

def narrowed(outcome):
    if isinstance(outcome.data, dict):
        return outcome.data.get("requests")

def cast_away(outcome):
    return cast(dict, outcome.data)["rows"]

def handed_on(outcome):
    return [row["status"] for row in rows_of(outcome.data)]

def handed_by_name(outcome):
    return render(payload=outcome.data)

def returned(outcome) -> Any:
    return outcome.data if outcome.ok else {}

def annotated(outcome):
    data: Any = outcome.data
    return data["status"]

def stored(outcome, results):
    results["step"] = outcome.data
    box = [outcome.data]
"""

GOOD = """
def typed(outcome, cited):
    summary = outcome.view(ErrorSummary)
    raw = outcome.data  # typed object: mypy refuses raw["x"]
    a, b = cited.data, other.data
    return summary.spike, cited.data.spike, raw is None, event.data.items()
"""


def test_the_scan_finds_every_way_around_the_type() -> None:
    found = escapes(BAD, "agent/example.py")
    assert [hit.split(": ", 1)[1] for hit in found] == [
        "narrowed: .data passed to isinstance()",
        "cast_away: .data passed to cast()",
        "handed_on: .data passed to rows_of()",
        "handed_by_name: .data passed as payload=",
        "returned: .data returned",
        "annotated: .data annotated",
        "stored: .data stored in a container",
        "stored: .data stored in a container",
    ]
    assert escapes(GOOD, "agent/example.py") == []
