"""The error a world that cannot be loaded raises."""

from __future__ import annotations

__all__ = ["WorldError"]


class WorldError(Exception):
    """A world directory that cannot be loaded (missing or malformed file)."""
