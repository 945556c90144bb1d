"""What the ``casefile`` commands' parsers share: command groups, ``check`` actions, common options.

Only the standard library: ``casefile --help`` must stay fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

__all__ = ["add_action", "check_action", "command_group", "database_url_option", "since_option"]

Command = Callable[[argparse.Namespace], int]
P = TypeVar("P", bound=argparse.ArgumentParser)


def command_group(
    subparsers: argparse._SubParsersAction[P], name: str, help: str, *, metavar: str = "ACTION"
) -> argparse._SubParsersAction[P]:
    """``casefile NAME ACTION …``: add the command and return what its actions are added to."""
    parser = subparsers.add_parser(name, help=help)
    return parser.add_subparsers(dest=f"{name}_command", metavar=metavar, required=True)


def add_action(actions: argparse._SubParsersAction[P], name: str, help: str, func: Command) -> P:
    """One action that runs ``func``; its own arguments are added to the parser returned."""
    parser = actions.add_parser(name, help=help)
    parser.set_defaults(func=func)
    return parser


def check_action(
    actions: argparse._SubParsersAction[P], what: str, path: str, path_help: str, func: Command
) -> None:
    """``check [PATH]``: validate ``what`` and print each problem's file, line and reason."""
    parser = add_action(actions, "check", f"validate {what}: file, line and reason for each problem", func)
    parser.add_argument(path, nargs="?", help=path_help)


def database_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", help="sqlite:///path or postgresql://… (default: $CASEFILE_DATABASE_URL)"
    )


def since_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", default="7d", help="7d (default), 24h, 2w or an ISO 8601 date")
