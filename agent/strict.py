"""Catching typos in the files people maintain: unknown keys, with "did you mean", and where they are.

Pydantic's ``extra="forbid"`` says *that* a key is not allowed; people also need the closest
known key and the line. :func:`unknown_keys` walks data against a model's fields (the same
walk serves ``casefile.toml``, runbooks and ``routing.yaml``); :func:`did_you_mean` words the
suggestion; :func:`toml_line` finds a key's line in a TOML file (``tomllib`` keeps none).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "StrictModel",
    "UnknownKey",
    "did_you_mean",
    "model_at",
    "pydantic_reason",
    "toml_line",
    "unknown_keys",
]


class StrictModel(BaseModel):
    """Base of the models of files people maintain: an unknown key is an error, never dropped."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class UnknownKey:
    path: tuple[str | int, ...]
    suggestion: str | None

    @property
    def key(self) -> str:
        return str(self.path[-1])


def did_you_mean(word: str, known: Iterable[str]) -> str | None:
    """The closest known word, when one is close enough to be a typo of it."""
    found = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return found[0] if found else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The Pydantic models an annotation admits (``X``, ``X | None``, ``list[X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, tuple, typing.Annotated):
        found: list[type[BaseModel]] = []
        for arg in typing.get_args(annotation):
            found += _models_in(arg)
        return found
    return []


def _field_names(model: type[BaseModel]) -> dict[str, str]:
    """Every spelling of a field (name and alias) → the field's name."""
    names: dict[str, str] = {}
    for name, info in model.model_fields.items():
        names[name] = name
        if info.alias:
            names[info.alias] = name
    return names


def unknown_keys(
    model: type[BaseModel],
    data: Any,
    path: tuple[str | int, ...] = (),
    *,
    skip: Iterable[str] = (),
    extra_sections: Mapping[type[BaseModel], Mapping[str, type[BaseModel] | None]] | None = None,
) -> list[UnknownKey]:
    """Keys of ``data`` that ``model`` has no field for, however deep (lists of models included).

    ``skip``: top-level keys the caller fills itself. ``extra_sections``: for each model that allows
    extra keys (plug-in sections), the extra keys it knows, each with the model checking it.
    """
    found: list[UnknownKey] = []
    if isinstance(data, list):
        for i, item in enumerate(data):
            found += unknown_keys(model, item, (*path, i))
        return found
    if not isinstance(data, Mapping):
        return found
    names = _field_names(model)
    extras = (extra_sections or {}).get(model, {}) if model.model_config.get("extra") == "allow" else {}
    for key, value in data.items():
        if key in skip:
            continue
        name = names.get(str(key))
        if name is None:
            if str(key) in extras:
                section = extras[str(key)]
                if section is not None:
                    found += unknown_keys(section, value, (*path, key))
                continue
            known = list(names) + list(extras)
            found.append(UnknownKey((*path, key), did_you_mean(str(key), known)))
            continue
        for sub in _models_in(model.model_fields[name].annotation)[:1]:
            found += unknown_keys(sub, value, (*path, key), extra_sections=extra_sections)
    return found


def model_at(model: type[BaseModel], path: Sequence[str | int]) -> type[BaseModel] | None:
    """The model that holds the last key of ``path`` (for a Pydantic error's ``loc``)."""
    current: type[BaseModel] | None = model
    keyed = False  # the next key is a dict's key (``teams: {backend: …}``), not a field
    for key in path[:-1]:
        if current is None:
            return None
        if isinstance(key, int) or keyed:
            keyed = False
            continue
        info = current.model_fields.get(str(key))
        if info is None:
            return None
        annotation = info.annotation
        if typing.get_origin(annotation) is dict:
            annotation, keyed = typing.get_args(annotation)[1], True
        subs = _models_in(annotation)
        current = subs[0] if subs else None
    return current


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("\"'") for p in re.split(r"\.(?=(?:[^\"']|\"[^\"]*\"|'[^']*')*$)", dotted))


def toml_line(text: str, path: Sequence[str | int]) -> int:
    """1-based line of the key (or table) at ``path`` in a TOML document; 0 when it is not found."""
    want = tuple(str(p) for p in path if not isinstance(p, int))
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = _parts(header.group(1))
            if table == want:
                return number
            continue
        key = _KEY.match(line)
        if key and (*table, *_parts(key.group(1)))[: len(want)] == want:
            return number
    return 0


def pydantic_reason(model: type[BaseModel], err: Mapping[str, Any]) -> str:
    """A Pydantic error as a person reads it; an unknown key says which known key was probably meant."""
    loc = [p for p in err["loc"] if p != "body"]
    where = ".".join(str(p) for p in loc)
    if err.get("type") != "extra_forbidden" or not loc:
        return f"{where}: {err['msg']}"
    holder = model_at(model, loc)
    hint = ""
    if holder is not None:
        suggestion = did_you_mean(str(loc[-1]), _field_names(holder))
        hint = f" (did you mean {suggestion}?)" if suggestion else ""
    parent = ".".join(str(p) for p in loc[:-1])
    return f"unknown key {loc[-1]}" + (f" in {parent}" if parent else "") + hint
