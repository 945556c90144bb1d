"""The fields of each tool's result, declared beside its connector, so runbooks can be checked.

Results are JSON-like dicts. A connector declares their shape in ``<module>.results.json``
beside its module (or in a ``result_shapes`` class attribute, for plug-ins): tool name → shape,
where a shape is

* ``{"field": shape, …}`` for an object,
* ``[shape]`` for a list of objects (``[]``: a list of plain values),
* ``null`` for a plain value (or one whose inside is not described).

``casefile runbooks check`` reports an expression that reads a field no shape has. The shapes
are kept true by a test that runs the demo tickets and requires every field they return to be
declared; ``python -m casefile.tools.shapes`` rewrites them from the demo world and the golden
cases (adding fields, never dropping declared ones).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["merge", "result_shapes", "shape_of", "shapes_file", "undeclared"]


def shape_of(value: Any) -> Any:
    """The shape of one result value."""
    if isinstance(value, Mapping):
        return {str(k): shape_of(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items: Any = None
        for item in value:
            items = merge(items, shape_of(item))
        return [items] if isinstance(items, (dict, list)) else []
    return None


def merge(a: Any, b: Any) -> Any:
    """The shape that admits both (a value null in one result and an object in another: the object)."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for key, value in b.items():
            out[key] = merge(out.get(key), value)
        return out
    if isinstance(a, list) and isinstance(b, list):
        inner = merge(a[0] if a else None, b[0] if b else None)
        return [inner] if inner is not None else []
    return a


def undeclared(declared: Any, observed: Any, path: str = "") -> list[str]:
    """Field paths ``observed`` has that ``declared`` lacks."""
    if isinstance(observed, dict):
        if not isinstance(declared, dict):
            return [path or "(result)"] if observed else []
        missing = []
        for key, value in observed.items():
            where = f"{path}.{key}" if path else key
            if key not in declared:
                missing.append(where)
            else:
                missing += undeclared(declared[key], value, where)
        return missing
    if isinstance(observed, list) and observed:
        inner = declared[0] if isinstance(declared, list) and declared else None
        return undeclared(inner, observed[0], f"{path}[]")
    return []


def shapes_file(cls: type) -> Path:
    """Where a connector class's shapes are declared: ``<module>.results.json`` beside it."""
    return Path(inspect.getfile(cls)).with_suffix(".results.json")


@cache
def result_shapes() -> dict[str, Any]:
    """Tool name → declared result shape, for every connector that declares them."""
    from casefile.tools.catalogue import connector_classes

    shapes: dict[str, Any] = {}
    for cls in connector_classes().values():
        declared = getattr(cls, "result_shapes", None)
        if declared is None:
            path = shapes_file(cls)
            declared = json.loads(path.read_text("utf-8")) if path.is_file() else {}
        shapes.update(declared)
    return shapes


def _observed(outcomes: Iterable[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for outcome in outcomes:
        if outcome.ok and isinstance(outcome.data, dict):
            found[outcome.tool] = merge(found.get(outcome.tool), shape_of(outcome.data))
    return found


def _write_from_examples() -> None:  # pragma: no cover - a maintainer's tool
    import asyncio

    from casefile import PACKAGE_DIR
    from casefile.agent.config import load_settings
    from casefile.agent.intake import load_ticket
    from casefile.agent.pipeline import open_environment, run_investigation
    from casefile.evals.cases import load_cases
    from casefile.tools.catalogue import connector_classes

    settings = load_settings(env={})
    runs: list[tuple[Path, Path | None]] = [
        (t, None) for t in sorted((PACKAGE_DIR / "examples" / "tickets").glob("*.json"))
    ]
    runs += [(c.ticket_path, c.world) for c in load_cases()]

    async def collect() -> dict[str, Any]:
        envs: dict[Any, Any] = {}
        observed: dict[str, Any] = {}
        for ticket_path, world in runs:
            if world not in envs:
                envs[world] = open_environment(settings, world)
            result = await run_investigation(load_ticket(ticket_path), envs[world], settings)
            for tool, shape in _observed(result.outcomes).items():
                observed[tool] = merge(observed.get(tool), shape)
        for env in envs.values():
            await env.aclose()
        return observed

    observed = asyncio.run(collect())
    for cls in connector_classes().values():
        path = shapes_file(cls)
        if not str(path).startswith(str(PACKAGE_DIR)):
            continue  # a plug-in declares its own
        current = json.loads(path.read_text("utf-8")) if path.is_file() else {}
        for tool in cls.operation_specs():
            if tool in observed:
                current[tool] = merge(current.get(tool), observed[tool])
        path.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n", "utf-8")
        print(f"{path}: {', '.join(sorted(current))}")


if __name__ == "__main__":  # pragma: no cover
    _write_from_examples()
