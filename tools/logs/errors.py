"""ClickHouse's errors mapped to casefile's error tree, and the settings a read-only user may send."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from clickhouse_connect.driver.exceptions import OperationalError

from casefile.tools import errors
from casefile.tools.logs.common import SOURCE

__all__ = ["settable", "translate_error"]

# ClickHouse error codes, by what they mean for the caller.
_TIMEOUT_CODES = {159, 160, 209, 394}
_AUTH_CODES = {192, 193, 194, 516, 497}
_READONLY_CODES = {164}
_TOO_LARGE_CODES = {158, 241, 396, 307}
_ARGUMENT_CODES = {6, 27, 36, 38, 41, 42, 43, 44, 46, 47, 48, 49, 53, 60, 62, 69, 70, 81, 179, 184, 215, 352}
_CODE_RE = re.compile(r"\bCode:\s*(\d+)")


def _error_code(exc: BaseException) -> int | None:
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    match = _CODE_RE.search(str(exc))
    return int(match.group(1)) if match else None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # "Code: 47. DB::Exception: Unknown expression identifier `x` ..." → the useful part.
    text = re.sub(r"^(Code: \d+\. )?(DB::Exception: )+", "", text)
    text = re.sub(r"\(version [^)]*\)", "", text)
    # Our own SETTINGS clause and FORMAT are noise to whoever reads the message.
    text = re.sub(r"\s*SETTINGS [a-z_]+ = .*?readonly = '1'", "", text)
    text = re.sub(r"\s*FORMAT Native", "", text)
    return text[:400].strip()


def translate_error(exc: BaseException) -> errors.ToolError:
    """Map a clickhouse-connect / chdb error to the casefile error tree."""
    if isinstance(exc, errors.ToolError):
        return exc
    code = _error_code(exc)
    message = _short(exc)
    lowered = message.lower()
    if code in _TIMEOUT_CODES or "timeout" in lowered or "timed out" in lowered:
        return errors.SourceTimeout(SOURCE, f"query took too long: {message}")
    if code in _AUTH_CODES:
        return errors.SourceAuthError(SOURCE, f"ClickHouse refused the credentials: {message}")
    if code in _READONLY_CODES:
        return errors.ReadOnlyViolation(SOURCE, f"the database refused a write in read-only mode: {message}")
    if code in _TOO_LARGE_CODES:
        return errors.SourceTooLarge(SOURCE, f"the query would return or read too much; narrow it: {message}")
    if code in _ARGUMENT_CODES:
        return errors.ToolArgumentError(SOURCE, message)
    if isinstance(exc, OperationalError | ConnectionError | OSError) or code is None:
        return errors.SourceUnavailable(SOURCE, f"ClickHouse unreachable: {message}")
    return errors.SourceUnavailable(SOURCE, message)


def settable(client: Any, settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` without those the server pins for this user (its profile's value governs).

    A user whose profile sets ``readonly=1`` cannot change a setting unless the profile
    marks it ``CHANGEABLE_IN_READONLY`` (docs/architecture.md); clickhouse-connect would
    refuse to send a pinned one. A profile that pins ``readonly`` to anything but 1 is
    not a read-only user, and nothing is run with it.
    """
    pinned = {
        name: definition
        for name, definition in (getattr(client, "server_settings", None) or {}).items()
        if getattr(definition, "readonly", 0)
    }
    readonly = pinned.get("readonly")
    if readonly is not None and str(getattr(readonly, "value", "")) != "1":
        raise errors.SourceUnavailable(
            SOURCE,
            "the ClickHouse user's profile pins readonly to a value other than 1; use a read-only user",
        )
    return {name: value for name, value in settings.items() if name not in pinned}
