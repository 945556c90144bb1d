"""Provider-neutral tool definitions: the tools' JSON Schemas and the ``submit_diagnosis`` tool."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from casefile.agent.diagnosis import ModelDiagnosis
from casefile.agent.models.base import LoopState

SUBMIT_TOOL = "submit_diagnosis"


T = TypeVar("T")


# ---------------------------------------------------------------- tool definitions


@dataclass(frozen=True)
class ToolSpec:
    """A tool as every provider describes it: name, description for the model, JSON Schema of the input."""

    name: str
    description: str
    parameters: dict[str, Any]


def _clean_schema(schema: Any, defs: Mapping[str, Any], *, in_properties: bool = False) -> Any:
    """Inline ``$ref``s and drop ``title`` keywords.

    Inlining makes the schema portable (some OpenAI-compatible servers compile
    schemas to grammars and do not follow ``$defs``); titles only cost tokens.
    A *property* named ``title`` (e.g. a related item's title) is kept.
    """
    if isinstance(schema, list):
        return [_clean_schema(s, defs) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if in_properties:  # keys are property names, values are schemas
        return {name: _clean_schema(sub, defs) for name, sub in schema.items()}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = dict(defs[ref.removeprefix("#/$defs/")])
        target.update({k: v for k, v in schema.items() if k != "$ref"})
        return _clean_schema(target, defs)
    options = schema.get("anyOf")
    if (
        isinstance(options, list)
        and len(options) == 2
        and {"type": "null"} in options
        and schema.get("default", 0) is None
    ):
        # Optional[X] = None: the field is optional already (not in "required"); say just X.
        target = dict(next(o for o in options if o != {"type": "null"}))
        target.update({k: v for k, v in schema.items() if k not in ("anyOf", "default")})
        return _clean_schema(target, defs)
    cleaned: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("title", "$defs"):
            continue
        cleaned[key] = _clean_schema(value, defs, in_properties=key == "properties")
    return cleaned


def portable_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A Pydantic JSON Schema made self-contained and compact."""
    result: dict[str, Any] = _clean_schema(dict(schema), schema.get("$defs", {}))
    return result


@cache
def _submit_schema() -> str:
    schema = portable_schema(ModelDiagnosis.model_json_schema())
    schema.pop("description", None)
    return json.dumps(schema)


def submit_tool() -> ToolSpec:
    """The tool the model concludes with. Its input is a ModelDiagnosis, which the loop validates and grounds."""
    return ToolSpec(
        name=SUBMIT_TOOL,
        description=(
            "Submit the final diagnosis and end the investigation. Call it once, alone, when the evidence "
            "supports a root cause (or when told to conclude). Every evidence item cites the call_id of a "
            "tool result and a value copied exactly from it; the diagnosis is checked and sent back if not."
        ),
        parameters=json.loads(_submit_schema()),
    )


def tool_specs(state: LoopState) -> list[ToolSpec]:
    """The toolbox's tools, then ``submit_diagnosis``, in a stable order (it is the cached prefix)."""
    specs = [
        ToolSpec(tool.name, tool.description, portable_schema(tool.parameters_schema()))
        for tool in state.toolbox.catalogue()
    ]
    return [*specs, submit_tool()]


def parse_arguments(raw: Any) -> tuple[dict[str, Any] | None, str | None]:
    """A tool call's arguments (a JSON string or an already-parsed value) → (object, None) or (None, why not)."""
    value = raw
    if isinstance(raw, str):
        if not raw.strip():
            return {}, None
        try:
            value = json.loads(raw)
        except ValueError as exc:
            return None, f"the arguments are not valid JSON ({exc}); send one JSON object"
    if not isinstance(value, dict):
        return None, f"the arguments must be a JSON object, not {type(value).__name__}"
    return value, None
