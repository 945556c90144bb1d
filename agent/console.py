"""The terminal: colour when a person is watching, quiet libraries unless asked.

Colour only on a TTY and never when ``NO_COLOR`` is set (https://no-color.org) or ``TERM=dumb``.
Libraries log what they like (clickhouse-connect logs "Unexpected Http Driver Exception" for
every failed query, which casefile already reports as "logs unavailable: …"): their records stay
out of the terminal unless ``--debug`` (or ``CASEFILE_DEBUG=1``); casefile's own warnings show.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

__all__ = ["configure_logging", "paint", "use_color"]

_CODES = {"red": "31", "green": "32", "yellow": "33", "dim": "2", "bold": "1"}


def use_color(stream: TextIO | None = None, env: dict[str, str] | None = None) -> bool:
    env = dict(os.environ) if env is None else env
    stream = stream or sys.stderr
    if "NO_COLOR" in env or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, color: str, stream: TextIO | None = None) -> str:
    """``text`` in ``color`` when the stream shows colour, else unchanged."""
    if not use_color(stream):
        return text
    return f"\033[{_CODES[color]}m{text}\033[0m"


class _Stderr(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is now (tests swap it), not the one at set-up."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        return


class _OwnRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name == "casefile" or record.name.startswith("casefile.")


def configure_logging(debug: bool, level: int = logging.WARNING) -> None:
    """Debug: everything, with logger names. Otherwise casefile's own records from ``level`` up
    (warnings for commands, information for the service), one line each."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_casefile", False):
            root.removeHandler(handler)
    handler = _Stderr()
    handler._casefile = True  # type: ignore[attr-defined]
    if debug:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.setLevel(logging.DEBUG)
    else:
        timed = "%(asctime)s %(levelname)s %(name)s: %(message)s"
        handler.setFormatter(logging.Formatter(timed if level < logging.WARNING else "casefile: %(message)s"))
        handler.addFilter(_OwnRecords())
        handler.setLevel(level)
        root.setLevel(level)
    root.addHandler(handler)
