"""Values every connector and result share: the account-id argument type, times as ISO 8601 UTC,
results as plain JSON, and the budget of what a model sees of one result."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "RENDER_BUDGET_CHARS",
    "AccountId",
    "GarbledResult",
    "OptionalAccountId",
    "ResultView",
    "account_fields",
    "as_utc",
    "iso",
    "parse_ts",
    "read_view",
    "same_account",
    "to_jsonable",
    "truncate",
]

# What a model sees of one tool result. Aggregates fit easily; raw rows are cut.
RENDER_BUDGET_CHARS = 6000


class _AccountArgument:
    """Marks an argument that names a customer account (see :data:`AccountId`)."""

    def __repr__(self) -> str:
        return "AccountId"


_ACCOUNT_ARGUMENT = _AccountArgument()

AccountId = Annotated[str, _ACCOUNT_ARGUMENT]
"""The type of an argument naming a customer account. :meth:`Toolbox.execute` refuses a call
whose account argument is not the investigation's account, so every such argument must use it."""

OptionalAccountId = Annotated[str | None, _ACCOUNT_ARGUMENT]
"""An account argument that may be null ("no account", e.g. a platform-wide view)."""


def account_fields(args_model: type[BaseModel]) -> tuple[str, ...]:
    """The arguments of ``args_model`` that name an account."""
    return tuple(name for name, info in args_model.model_fields.items() if _ACCOUNT_ARGUMENT in info.metadata)


def same_account(a: str, b: str) -> bool:
    """Whether two spellings name the same account id: case, width and surrounding space ignored."""
    return _fold(a) == _fold(b)


def _fold(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().casefold()


def parse_ts(value: Any) -> datetime | None:
    """ISO 8601 (with Z) or datetime → aware UTC datetime; anything else → None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_utc(value: datetime) -> datetime:
    """A datetime in UTC; a naive one is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with a Z, the form every result and prompt uses."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def to_jsonable(value: Any) -> Any:
    """Normalise a result (datetimes, Pydantic models, tuples) to plain JSON types."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 4)
    return value


def truncate(text: str, budget: int = RENDER_BUDGET_CHARS) -> str:
    if len(text) <= budget:
        return text
    return text[:budget] + f"\n… [{len(text) - budget} more characters cut; ask a narrower question]"


class ResultView(BaseModel):
    """Base of the typed views of a connector's results: fields it does not name are ignored, so a
    result from an older or differently configured source still parses to what it holds."""

    model_config = ConfigDict(extra="ignore")


V = TypeVar("V", bound=BaseModel)


class GarbledResult(ValueError):
    """A result that does not read as its typed view: wrong types, missing fields."""


def read_view(data: object, view: type[V], whose: str) -> V:
    """``data`` read through ``view``; a result that does not fit raises :class:`GarbledResult`
    naming, in one line, the first field that does not (``whose`` says whose result it is)."""
    try:
        return view.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "unreadable"}
        if not first["loc"]:  # the result as a whole is no object of the view's kind
            raise GarbledResult(f"{whose} returned {type(data).__name__}, not an object") from None
        where = ".".join(str(p) for p in first["loc"])
        raise GarbledResult(f"{whose} returned {where}: {first['msg']}") from None
