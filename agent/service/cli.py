"""``casefile serve``. Registered through ``casefile.agent.cli.EXTERNAL_COMMANDS``.

Only the standard library is imported here: ``casefile --help`` must stay fast,
so FastAPI and uvicorn are imported when the command runs.
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the investigation service (HTTP API, SSE progress, Zendesk webhook and sidebar)",
        description="Serve investigations over HTTP. Tokens, Zendesk credentials, CORS origins and limits "
        "come from the [service] section of the settings file or the environment "
        "(CASEFILE_SERVICE_TOKENS, ZENDESK_*, CASEFILE_DATABASE_URL).",
    )
    p.add_argument("--host", help="address to listen on (default: service.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: service.port, 8000; 0 picks a free one)")
    p.add_argument(
        "--world", help="world directory to investigate against (default: live, or the demo world)"
    )
    p.add_argument("--model", help="offline (default), openai:<model> or anthropic:<model>")
    p.add_argument("--database-url", help="sqlite:///path or postgresql://… (default: service.database_url)")
    p.add_argument(
        "--concurrency", type=int, help="investigations running at once (default: service.concurrency)"
    )
    p.set_defaults(func=_cmd_serve)

    app = subparsers.add_parser(
        "zendesk-app",
        help="check or package the Zendesk sidebar app (integrations/zendesk) for upload",
        description="check: report everything Zendesk would refuse (manifest, translations, logos). "
        "package: write the upload zip with the service's host in domainWhitelist.",
    )
    actions = app.add_subparsers(dest="action", required=True, metavar="{check,package}")
    actions.add_parser("check", help="report what would make an upload fail").set_defaults(
        func=_cmd_app_check
    )
    package = actions.add_parser("package", help="write the zip to upload to Zendesk")
    package.add_argument("--service-url", required=True, help="https://… where `casefile serve` runs")
    package.add_argument("--out", default="dist/casefile-zendesk-app.zip", help="zip to write")
    package.set_defaults(func=_cmd_app_package)


def _cmd_app_check(args: argparse.Namespace) -> int:
    from casefile.agent.service.zendesk_app import APP_DIR, check_app

    problems = check_app()
    for problem in problems:
        print(f"{APP_DIR.name}/{problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"{APP_DIR}: ready to upload")
    return 0


def _cmd_app_package(args: argparse.Namespace) -> int:
    from pathlib import Path

    from casefile.agent.service.zendesk_app import package_app

    out = package_app(args.service_url, Path(args.out))
    print(f"wrote {out} (domainWhitelist: the host of {args.service_url})")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from casefile.agent.config import load_settings
    from casefile.agent.console import configure_logging
    from casefile.agent.errors import ConfigError
    from casefile.agent.helpdesk import helpdesk_classes
    from casefile.agent.pipeline import open_environment
    from casefile.agent.runner import run_to_end
    from casefile.agent.service.app import create_app
    from casefile.agent.service.server import run
    from casefile.agent.store import Store

    settings = load_settings(args.config)
    if args.model:
        settings = settings.model_copy(update={"model": args.model})
    updates: dict[str, object] = {}
    for name in ("host", "port", "database_url", "concurrency"):
        value = getattr(args, name)
        if value is not None:
            updates[name] = value
    if updates.get("concurrency", 1) < 1:  # type: ignore[operator]
        raise ConfigError("--concurrency must be at least 1")
    service = settings.service.model_copy(update=updates)
    settings = settings.model_copy(update={"service": service})
    if not service.tokens and service.helpdesk_settings().app_shared_secret is None:
        label = helpdesk_classes()[service.helpdesk].label()
        print(
            f"casefile: warning: no service tokens and no {label} app secret configured; every /v1 request "
            "will be refused (set CASEFILE_SERVICE_TOKENS=name=token)",
            file=sys.stderr,
        )
    configure_logging(bool(getattr(args, "debug", False) or os.environ.get("CASEFILE_DEBUG")), logging.INFO)
    # The store and the environment open here, so a store that cannot be reached or a bad world
    # is one line and an exit code, not a failed application start-up with a traceback.
    store = Store(service.database_url)
    env = open_environment(settings, args.world)
    try:
        app = create_app(settings, env=env, store=store)
        # Access logs show method, path and status; tokens travel in headers, which are never logged.
        run(app, service)
    finally:
        run_to_end(env.aclose())
        store.close()
    return 0
