"""``casefile catalog check [FILE]``: the company catalogue's problems, as ``FILE:LINE: reason``.

Only the standard library is imported at the top: ``casefile --help`` must stay fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from casefile.agent.cli_args import check_action, command_group

__all__ = ["register"]


def _cmd_check(args: argparse.Namespace) -> int:
    from casefile.agent.catalog import CATALOG_FILE, check_catalog
    from casefile.agent.routing import RoutingError, load_routing

    try:
        teams: list[str] | None = list(load_routing().teams)
    except RoutingError:
        teams = None  # `casefile routing check` reports those problems
    path = Path(args.file) if args.file else Path(CATALOG_FILE)
    catalog, problems = check_catalog(path, teams)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems or catalog is None:
        print(f"{len(problems)} problem(s) in {path}", file=sys.stderr)
        return 1
    kinds = sorted({c.kind for c in catalog.components})
    print(
        f"{path}: {len(catalog.components)} components ({', '.join(kinds) or 'none'}), "
        f"{len(catalog.api_keys)} API keys OK"
    )
    for note in catalog.unresolved(["api", "webhooks", "dashboard"]):
        print(f"note: {note}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``catalog check`` to the ``casefile`` command."""
    actions = command_group(subparsers, "catalog", "check the company catalogue (catalog.yaml)")
    check_action(actions, "a catalogue", "file", "catalogue file (default: ./catalog.yaml)", _cmd_check)
