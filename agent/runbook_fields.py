"""Runbook expressions read fields that exist: ``subscription.stauts`` is an error, not a finding
that silently never fires.

Each plan step's result has the shape its tool declares (``casefile.tools.shapes``). The check
follows attribute and index chains rooted at a step (``errors.spike.start``) or at a ``let`` name
whose expression picks from a step (``(billing.subscriptions | first) if … else none``), and
reports the first field the shape does not have, with the closest one. What it cannot follow
(loop variables, filters it does not know, values without a declared shape) is not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from casefile.agent.strict import did_you_mean
from casefile.agent.templating import expression_env

__all__ = ["FieldChecker"]

_UNKNOWN = object()
# Filters that keep a list's items as they are, and those that pick one item.
_KEEPS_LIST = {"selectattr", "rejectattr", "sort", "unique", "list", "reverse", "batch_free"}
_PICKS_ITEM = {"first", "last", "random", "min", "max"}
# Methods and attributes Jinja allows on dicts and lists: reading them is not a field access.
_METHODS = {"get", "items", "keys", "values"}


class FieldChecker:
    """Checks one runbook's expressions; ``report(reason)`` is called for each unknown field."""

    def __init__(self, steps: Mapping[str, Any], report: Callable[[str], None]) -> None:
        self.scope: dict[str, Any] = {name: shape for name, shape in steps.items() if shape is not None}
        self.report = report
        self.env = expression_env()

    def define(self, name: str, expression: str) -> None:
        """A ``let`` name: its shape, when it can be inferred, is usable by later expressions."""
        tree = self._parse(expression, expression=True)
        if tree is None:
            return
        shape = self._infer(tree)
        if shape is not _UNKNOWN:
            self.scope[name] = shape
        else:
            self.scope.pop(name, None)

    def check(self, text: str, *, expression: bool = False) -> None:
        tree = self._parse(text, expression=expression)
        if tree is None:
            return
        # Inner chains are visited again on their own: report each unknown field once per text.
        report, said = self.report, set()

        def once(reason: str) -> None:
            if reason not in said:
                said.add(reason)
                report(reason)

        self.report = once
        try:
            for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.CondExpr)):
                self._infer(node)
        finally:
            self.report = report

    def _parse(self, text: str, *, expression: bool) -> nodes.Node | None:
        try:
            template = self.env.parse("{{ " + text + " }}" if expression else text)
        except TemplateSyntaxError:
            return None  # syntax is reported by the caller's own check
        if expression:
            node: nodes.Node = template.body[0].nodes[0]  # type: ignore[attr-defined]
            return node
        return template

    def _infer(self, node: nodes.Node) -> Any:
        """The shape of ``node``'s value, reporting unknown fields on the way; _UNKNOWN if it cannot tell."""
        if isinstance(node, nodes.Name):
            return self.scope.get(node.name, _UNKNOWN)
        if isinstance(node, nodes.Getattr):
            return self._field(self._infer(node.node), node.attr, node)
        if isinstance(node, nodes.Getitem):
            base = self._infer(node.node)
            if isinstance(node.arg, nodes.Const):
                return self._field(base, node.arg.value, node)
            return base[0] if isinstance(base, list) and base else _UNKNOWN
        if isinstance(node, nodes.Filter) and node.node is not None:
            base = self._infer(node.node)
            if not isinstance(base, list):
                return _UNKNOWN
            if node.name in _KEEPS_LIST:
                return base
            if node.name in _PICKS_ITEM:
                return base[0] if base else _UNKNOWN
            return _UNKNOWN
        if isinstance(node, nodes.CondExpr):
            self._infer(node.test)
            chosen = self._infer(node.expr1)
            if node.expr2 is not None:
                other = self._infer(node.expr2)
                if chosen is _UNKNOWN or chosen is None:
                    chosen = other
            return chosen
        if isinstance(node, (nodes.And, nodes.Or)):
            self._infer(node.left)
            return self._infer(node.right)
        return _UNKNOWN

    def _field(self, base: Any, key: Any, node: nodes.Node) -> Any:
        if isinstance(base, list):
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                return base[0] if base else _UNKNOWN
            return _UNKNOWN
        if not isinstance(base, dict) or not base:
            return _UNKNOWN  # a plain value, or one whose inside is not described
        if key in base:
            return base[key]
        if key in _METHODS or not isinstance(key, str):
            return _UNKNOWN
        chain = _describe(node)
        hint = did_you_mean(key, base)
        self.report(
            f"{chain}: no field {key!r} in this result" + (f" (did you mean {hint}?)" if hint else "")
        )
        return _UNKNOWN


def _describe(node: nodes.Node) -> str:
    """``a.b.c`` for an attribute chain, as written (roughly)."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_describe(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        arg = node.arg.value if isinstance(node.arg, nodes.Const) else "…"
        return f"{_describe(node.node)}[{arg!r}]"
    if isinstance(node, nodes.Filter) and node.node is not None:
        return f"({_describe(node.node)} | {node.name})"
    return "…"
