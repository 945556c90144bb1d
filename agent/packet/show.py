"""How the packet shows a typed result: the fields a collector names, as JSON, as the connector sent
them (a view's default for a field the result did not carry is not data, so it shows as null)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

__all__ = ["as_json", "given", "show"]


def as_json(value: Any) -> Any:
    """A typed value as JSON; nested views keep only the fields the result carried."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    return value


def show(
    view: BaseModel,
    names: Sequence[str],
    *,
    cuts: Mapping[str, slice] | None = None,
    carried_only: bool = False,
) -> dict[str, Any]:
    """``names`` of ``view`` in that order; a field the result lacked is null, or left out with
    ``carried_only``; the lists named in ``cuts`` are cut (empty when not carried). A name the
    view does not declare is a programming error, never a silent null."""
    unknown = [n for n in names if n not in type(view).model_fields]
    if unknown:
        raise AttributeError(f"{type(view).__name__} has no field {', '.join(unknown)}")
    cuts = cuts or {}
    carried = view.model_fields_set
    return {
        n: as_json(getattr(view, n)[cuts[n]] if n in cuts else getattr(view, n))
        if n in carried or n in cuts
        else None
        for n in names
        if n in carried or n in cuts or not carried_only
    }


def given(view: BaseModel, name: str) -> Any:
    """One field of ``view`` as :func:`show` shows it (null when the result did not carry it)."""
    return show(view, (name,))[name]
