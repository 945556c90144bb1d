"""``casefile handoff status INV``: where an investigation's hand-off stands (each write, its state).

Only the standard library is imported at the top: ``casefile --help`` must stay fast.
"""

from __future__ import annotations

import argparse

from casefile.agent.cli_args import add_action, command_group, database_url_option

__all__ = ["register"]


def _cmd_status(args: argparse.Namespace) -> int:
    from casefile.agent.config import load_settings
    from casefile.agent.errors import UsageError
    from casefile.agent.handoff.deliver import Handoff
    from casefile.agent.store import Store

    store = Store(args.database_url)
    try:
        if store.get(args.investigation) is None:
            raise UsageError(f"no investigation {args.investigation!r} in {store.url}")
        status = Handoff(store, load_settings(getattr(args, "config", None))).status(args.investigation)
    finally:
        store.close()
    if args.json:
        print(status.model_dump_json(indent=2))
        return 0
    print(f"{args.investigation}: hand-off {status.state}")
    for d in status.deliveries:
        line = f"  {d.key:<24} {d.status:<8} {d.kind} → {d.target} ({d.attempts} attempt(s))"
        if d.error:
            line += f": {d.error}"
        print(line)
    return 0 if status.state in ("none", "done") else 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = command_group(
        subparsers, "handoff", "the hand-off of an escalation (ticket update, Slack, bounce notes)"
    )
    c = add_action(actions, "status", "each write of an investigation's hand-off and its state", _cmd_status)
    c.add_argument("investigation", help="investigation id (inv_…)")
    c.add_argument("--json", action="store_true", help="print the status as JSON")
    database_url_option(c)
