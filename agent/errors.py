"""Errors casefile reports to the person running it (not tool errors: see ``tools/errors.py``).

::

    CasefileError
    ├── UsageError        bad input from the user (a ticket file, an argument): exit code 2
    │   └── TicketError   (agent/intake.py) the ticket cannot be read or understood
    ├── ConfigError       bad configuration (settings, accounts.json): fix the setup, then retry
    └── UnavailableError  a system casefile needs (its store) cannot be reached: exit code 69

Messages are one line: what went wrong, then what to do about it, so the CLI can print them
as they are. :data:`EXIT_CODES` is the one list of the CLI's exit codes (``casefile --help``
prints it; README.md repeats it).
"""

from __future__ import annotations

__all__ = ["EXIT_CODES", "CasefileError", "ConfigError", "UnavailableError", "UsageError"]

# Exit code → meaning; sysexits.h numbers where one fits.
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "the command ran and found problems (a check failed, a tool call failed, eval cases failed)",
    2: "bad input: an argument, a ticket file, an unknown case",
    69: "a system casefile needs is unreachable (the store)",
    70: "internal error: a bug (run again with --debug for the traceback)",
    73: "the result was printed but could not be saved (investigation not recorded)",
    78: "configuration error: casefile.toml, environment variables, account directory",
    130: "interrupted (Ctrl-C)",
}


class CasefileError(Exception):
    """Base of every error casefile reports to its user rather than to a model."""

    exit_code = 1


class UsageError(CasefileError):
    """The user gave casefile something it cannot use; the CLI exits with code 2."""

    exit_code = 2


class ConfigError(CasefileError):
    """The configuration (settings file, environment, account directory) is wrong."""

    exit_code = 78  # EX_CONFIG from sysexits.h


class UnavailableError(CasefileError):
    """A system casefile itself needs (its store) cannot be reached; retry when it is back."""

    exit_code = 69  # EX_UNAVAILABLE
