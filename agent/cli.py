"""The ``casefile`` command.

Start-up must stay fast (``casefile --help`` well under a second), so this
module imports only the standard library at the top; each command imports what
it needs when it runs. Commands that live in other packages register through
:data:`EXTERNAL_COMMANDS` ("module:function" taking the subparsers object).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

from casefile.agent.cli_args import add_action, check_action, command_group

__all__ = ["main"]

EXTERNAL_COMMANDS: list[str] = [
    "casefile.evals.cli:register",
    "casefile.agent.routing_cli:register",
    "casefile.agent.catalog_cli:register",
    "casefile.agent.service.cli:register",
    "casefile.agent.handoff.cli:register",
]


def _print_err(message: str, color: str | None = None) -> None:
    """One line on stderr; ``color`` paints the ``casefile:`` prefix (red errors, yellow warnings)."""
    if color and message.startswith("casefile:"):
        from casefile.agent.console import paint

        message = paint("casefile:", color) + message[len("casefile:") :]
    print(message, file=sys.stderr, flush=True)


def _progress_line(line: str) -> str:
    from casefile.agent.console import paint

    return line.replace("✓", paint("✓", "green")).replace("✗", paint("✗", "red"))


# ---------------------------------------------------------------- investigate


def _cmd_investigate(args: argparse.Namespace) -> int:
    from casefile.agent.config import load_settings
    from casefile.agent.events import Event, format_event
    from casefile.agent.intake import load_ticket
    from casefile.agent.pipeline import open_environment, run_investigation

    settings = load_settings(args.config)
    if args.model:
        settings = settings.model_copy(update={"model": args.model})
    if args.transcript:
        settings = settings.model_copy(update={"transcript": args.transcript})
        if settings.model == "offline":
            _print_err(
                f"casefile: --transcript: the offline model sends no requests, so {args.transcript} "
                "is not written; use --model openai:… or anthropic:…",
                "yellow",
            )
    ticket = load_ticket(args.ticket)
    env = open_environment(settings, args.world)
    for problem in env.runbook_problems:  # loudly, even with --quiet: the others still run
        _print_err(f"casefile: runbook disabled: {problem} (see `casefile runbooks check`)", "yellow")
    if not args.quiet:
        _print_err(f"casefile: {ticket.id} against {env.description}")

    def progress(event: Event) -> None:
        line = None if args.quiet else format_event(event)
        if line:
            _print_err(_progress_line(line))

    async def run() -> Any:
        try:
            return await run_investigation(ticket, env, settings, on_event=progress)
        finally:
            await env.aclose()

    from casefile.agent.runner import run_to_end

    started = datetime.now(UTC)
    result = run_to_end(run())  # not asyncio.run: it waits for whatever the deadline left behind
    diagnosis = result.diagnosis
    saved = args.no_save or _save(ticket, result, started, quiet=args.quiet)
    if args.json:
        print(diagnosis.model_dump_json(indent=2))
    else:
        from casefile.agent.render import render_diagnosis

        print(render_diagnosis(diagnosis))
    return 0 if saved else 73


def _save(ticket: Any, result: Any, started: datetime, *, quiet: bool) -> bool:
    """Record the investigation (for `casefile feedback` and the escalation report).

    A failure does not lose the diagnosis (it is still printed) but is not success either: the
    command exits 73."""
    try:
        from casefile.agent.store import Store

        store = Store()
        try:
            inv_id = store.create_investigation(
                ticket, source="cli", requested_by="cli", priority="on_demand"
            )
            store.save_result(inv_id, result, "cli", started_at=started)
        finally:
            store.close()
    except Exception as exc:
        _print_err(
            f"casefile: investigation not saved: {exc} (the diagnosis follows; --no-save skips saving)",
            "red",
        )
        return False
    if not quiet:
        _print_err(f"casefile: saved as {inv_id}")
    return True


# ---------------------------------------------------------------- schema, runbooks, tools


def _cmd_schema(args: argparse.Namespace) -> int:
    from casefile.agent.diagnosis import Diagnosis

    print(json.dumps(Diagnosis.model_json_schema(), indent=2))
    return 0


def _cmd_runbooks_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from casefile.agent.runbooks import check_runbooks

    runbooks, problems = check_runbooks(Path(args.dir) if args.dir else None)
    for problem in problems:
        print(str(problem))
    if problems:
        _print_err(f"{len(problems)} problem(s) in runbooks")
        return 1
    print(f"{len(runbooks)} runbooks OK: {', '.join(r.id for r in runbooks)}")
    return 0


def _cmd_runbooks_list(args: argparse.Namespace) -> int:
    from casefile.agent.runbooks import load_runbooks

    for runbook in load_runbooks():
        print(f"{runbook.id:28} {runbook.team:14} {runbook.title}")
    return 0


def _cmd_tools_list(args: argparse.Namespace) -> int:
    from casefile.tools.catalogue import connector_classes

    for source, cls in connector_classes().items():
        for name, (_args_model, description) in sorted(cls.operation_specs().items()):
            first_line = description.splitlines()[0] if description else ""
            print(f"{name:28} [{source}] {first_line}")
            if args.verbose:
                print(json.dumps(_args_model.model_json_schema(), indent=1))
    return 0


def _cmd_tools_call(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from casefile.agent.config import load_settings
    from casefile.agent.errors import UsageError
    from casefile.agent.pipeline import open_environment
    from casefile.agent.templating import parse_ts
    from casefile.tools.base import CallContext, ToolCall

    try:
        arguments = json.loads(args.args)
    except ValueError as exc:
        raise UsageError(f"--args is not valid JSON: {exc}") from None
    if not isinstance(arguments, dict):
        raise UsageError("--args must be a JSON object")
    now = parse_ts(args.now) if args.now else datetime.now(UTC)
    if now is None:
        raise UsageError(f"--now is not an ISO 8601 time: {args.now}")
    settings = load_settings(args.config)
    env = open_environment(settings, args.world, require_accounts=False)
    if env.toolbox.get(args.name) is None:
        raise UsageError(f"no tool named {args.name!r}; see `casefile tools list`")
    accounts = env.directory.as_mapping() if env.directory else {}
    # Scoped like an investigation: to --account, else the account the arguments name.
    account = args.account or arguments.get("account_id")
    ctx = CallContext.for_account(
        account if isinstance(account, str) else None, accounts, now=now, requested_by="cli"
    )

    async def run() -> Any:
        try:
            return await env.toolbox.execute(ToolCall(id="cli", tool=args.name, arguments=arguments), ctx)
        finally:
            await env.aclose()

    from casefile.agent.runner import run_to_end

    outcome = run_to_end(run())
    if not outcome.ok:
        print(outcome.text_for_model())
        return 1
    print("── rendered for the model ──")
    print(outcome.rendered)
    print("── raw result ──")
    print(json.dumps(outcome.data, indent=2, default=str))
    return 0


# ---------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors in casefile's style: one line, what and what to do (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    from casefile.agent.errors import EXIT_CODES

    codes = "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items())
    parser = _Parser(
        prog="casefile",
        description="Investigate a support ticket with read-only tools and print a grounded diagnosis.",
        epilog=f"exit codes:\n{codes}\n\nEvery error is one line on stderr: what went wrong, then what to do.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="TOML settings file (default: $CASEFILE_CONFIG or ./casefile.toml)")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show library logs and, on an internal error, the traceback (also CASEFILE_DEBUG=1)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("completion", help="print a shell completion script (bash, zsh or fish)")
    p.add_argument("shell", choices=["bash", "zsh", "fish"])
    p.set_defaults(func=_cmd_completion)

    p = sub.add_parser("investigate", help="investigate one ticket file")
    p.add_argument("ticket", help="ticket JSON: casefile's format or a Zendesk ticket export")
    p.add_argument("--json", action="store_true", help="print the Diagnosis as JSON")
    p.add_argument(
        "--world", help="world directory to investigate against (default: live, or the demo world)"
    )
    p.add_argument("--model", help="offline (default), openai:<model> or anthropic:<model>")
    p.add_argument("--transcript", help="write every model request and response (redacted) as JSONL")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    p.add_argument("--no-save", action="store_true", help="do not record the investigation in the store")
    p.set_defaults(func=_cmd_investigate)

    p = sub.add_parser("schema", help="print the Diagnosis JSON Schema")
    p.set_defaults(func=_cmd_schema)

    actions = command_group(sub, "runbooks", "list or check the runbooks")
    check_action(
        actions, "every runbook", "dir", "runbook directory (default: prompts/runbooks)", _cmd_runbooks_check
    )
    add_action(actions, "list", "list runbooks", _cmd_runbooks_list)

    actions = command_group(sub, "tools", "list tools, or call one by hand")
    c = add_action(actions, "list", "every tool a model can call", _cmd_tools_list)
    c.add_argument("--verbose", "-v", action="store_true", help="print argument schemas")
    c = add_action(actions, "call", "run one tool and print its rendered and raw result", _cmd_tools_call)
    c.add_argument("name")
    c.add_argument("--args", default="{}", help="JSON object of arguments")
    c.add_argument("--world", help="world directory (default: live, or the demo world)")
    c.add_argument("--now", help="the investigation's 'now' (ISO 8601; default: the current time)")
    c.add_argument(
        "--account",
        help="the account the call is scoped to, as in an investigation (default: the arguments' account_id)",
    )

    for target in EXTERNAL_COMMANDS:
        module_name, _, function = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue  # a command whose package is absent is simply not offered
        getattr(module, function)(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("casefile")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _cmd_completion(args: argparse.Namespace) -> int:
    from casefile.agent.completion import script

    print(script(build_parser(), args.shell), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    import os

    from casefile.agent.console import configure_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False) or os.environ.get("CASEFILE_DEBUG"))
    configure_logging(debug)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from casefile.agent.errors import CasefileError
    from casefile.tools.tracing import configure_tracing

    configure_tracing()  # off unless an OTLP endpoint variable is set

    try:
        code: int = args.func(args)
        return code
    except CasefileError as exc:
        _print_err(f"casefile: {exc}", "red")
        return exc.exit_code
    except KeyboardInterrupt:
        _print_err("casefile: interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # never a traceback for the user; --debug shows it
        if debug:
            raise
        _print_err(
            f"casefile: internal error: {type(exc).__name__}: {exc} "
            "(a bug: run again with --debug for the traceback, and report it)",
            "red",
        )
        return 70


if __name__ == "__main__":
    sys.exit(main())
