"""The exceptions every connector raises, and nothing else.

Foreign errors (httpx, stripe, clickhouse-connect) are translated at the
connector boundary into this tree, so the loop can report
"billing unavailable: timeout" instead of crashing::

    ToolError
    ├── ToolArgumentError        the caller (model or runbook) asked something malformed
    ├── ReadOnlyViolation        the request would change something; refused before it left
    ├── ScopeViolation           the request names another account than the investigation's
    ├── DeadlinePassed           not run: the investigation's deadline had passed
    └── SourceError              the system could not answer
        ├── SourceTimeout
        ├── SourceRateLimited
        ├── SourceAuthError
        ├── SourceNotFound
        ├── SourceMalformed      it answered garbage
        ├── SourceTooLarge       it answered more than the size budget
        └── SourceUnavailable    5xx, connection refused, not configured
"""

from __future__ import annotations

__all__ = [
    "DeadlinePassed",
    "ReadOnlyViolation",
    "ScopeViolation",
    "SourceAuthError",
    "SourceError",
    "SourceMalformed",
    "SourceNotFound",
    "SourceRateLimited",
    "SourceTimeout",
    "SourceTooLarge",
    "SourceUnavailable",
    "ToolArgumentError",
    "ToolError",
]


class ToolError(Exception):
    """Base of every error a tool call can end with."""

    kind = "error"

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class ToolArgumentError(ToolError):
    kind = "bad_arguments"


class ReadOnlyViolation(ToolError):
    """Raised before any byte leaves the process when a request could write."""

    kind = "read_only_violation"


class ScopeViolation(ToolError):
    """Raised before anything runs when a call reaches outside the investigation's account."""

    kind = "refused"


class DeadlinePassed(ToolError):
    """The call was not started: the investigation had no time left for it."""

    kind = "deadline"


class SourceError(ToolError):
    """The system behind a tool could not give an answer."""

    kind = "unavailable"


class SourceTimeout(SourceError):
    kind = "timeout"


class SourceRateLimited(SourceError):
    kind = "rate_limited"


class SourceAuthError(SourceError):
    kind = "auth"


class SourceNotFound(SourceError):
    kind = "not_found"


class SourceMalformed(SourceError):
    kind = "malformed"


class SourceTooLarge(SourceError):
    kind = "too_large"


class SourceUnavailable(SourceError):
    kind = "unavailable"
