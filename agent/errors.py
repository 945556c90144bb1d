"""Errors casefile reports to the person running it (not tool errors: see ``tools/errors.py``).

::

    CasefileError
    ├── UsageError        bad input from the user (a ticket file, an argument): exit code 2
    │   └── TicketError   (agent/intake.py) the ticket cannot be read or understood
    └── ConfigError       bad configuration (settings, accounts.json): fix the setup, then retry

Messages are one line and name the problem, so the CLI can print them as they are.
"""

from __future__ import annotations

__all__ = ["CasefileError", "ConfigError", "UsageError"]


class CasefileError(Exception):
    """Base of every error casefile reports to its user rather than to a model."""

    exit_code = 1


class UsageError(CasefileError):
    """The user gave casefile something it cannot use; the CLI exits with code 2."""

    exit_code = 2


class ConfigError(CasefileError):
    """The configuration (settings file, environment, account directory) is wrong."""

    exit_code = 78  # EX_CONFIG from sysexits.h
