"""The service process the load benchmark drives: started as a child, measured from /proc.

``Server`` starts this file as a child process (``python serve_process.py --port … --db …``), so the
server's RSS and CPU time are its own; :func:`run_child` configures the service for the benchmark
(a scripted model with a fixed latency, or the offline investigator; the helpdesk at ``--zendesk-url``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "bench-token-0123456789abcdef"
WEBHOOK_SECRET = "bench-webhook-secret-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ the server process


def run_child(args: argparse.Namespace) -> None:
    """The service, configured for the benchmark (this runs in the child process)."""
    import uvicorn
    from pydantic import SecretStr

    from casefile.agent.config import ServiceSettings, load_settings
    from casefile.agent.models.base import LoopState, ModelReply
    from casefile.agent.models.scripted import ScriptedModel
    from casefile.agent.pipeline import Environment
    from casefile.agent.service.app import create_app
    from casefile.tools.base import Toolbox
    from casefile.tools.world.zendesk_desk import desk_settings

    settings = load_settings(env={})
    settings = settings.model_copy(
        update={
            "model": "offline",
            "service": ServiceSettings(
                tokens={"bench": SecretStr(TOKEN)},
                database_url=args.database_url or f"sqlite:///{args.db}",
                concurrency=args.concurrency,
                on_demand_reserve=2,
                rate_limit_per_minute=100_000,
                rate_limit_burst=10_000,
                zendesk=desk_settings(args.zendesk_url, WEBHOOK_SECRET),
            ),
        }
    )

    def diagnosis(state: LoopState) -> ModelReply:
        return ModelReply(
            diagnosis={
                "ticket_id": state.ticket.id,
                "summary": "Scripted benchmark diagnosis.",
                "root_cause": {"category": "insufficient_evidence", "statement": "benchmark"},
                "confidence": {"score": 0.5, "reasons": ["scripted"]},
                "customer_reply": "Thanks, we are looking into it.",
                "action": "resolve",
            }
        )

    factory = None
    if args.model_latency is not None:
        latency = args.model_latency
        factory = lambda ticket: ScriptedModel([diagnosis], latency_s=latency)  # noqa: E731
    env = None
    if args.no_tools:
        env = Environment(
            toolbox=Toolbox([]), directory=None, runbooks=[], world=None, description="no tools"
        )
    app = create_app(settings, env=env, model_factory=factory)
    # A long keep-alive: the load client reuses idle connections between its bursts.
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, log_level="warning", backlog=2048, timeout_keep_alive=120
    )


class Server:
    """A child process running the service; measures its peak RSS from /proc."""

    def __init__(
        self,
        *,
        concurrency: int,
        zendesk_url: str,
        model_latency: float | None,
        no_tools: bool,
        database_url: str | None = None,
    ) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="casefile-bench-")
        cmd = [
            sys.executable,
            __file__,
            "--port",
            str(self.port),
            "--db",
            f"{self.dir}/casefile.sqlite3",
            "--concurrency",
            str(concurrency),
            "--zendesk-url",
            zendesk_url,
        ]
        if model_latency is not None:
            cmd += ["--model-latency", str(model_latency)]
        if no_tools:
            cmd.append("--no-tools")
        if database_url:
            cmd += ["--database-url", database_url]
        self.proc = subprocess.Popen(cmd, cwd=ROOT)
        self.url = f"http://127.0.0.1:{self.port}"

    async def wait_ready(self, client: Any) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the service process exited during start-up")
            with contextlib.suppress(Exception):
                if (await client.get(f"{self.url}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
        raise RuntimeError("the service did not start")

    def peak_rss_mb(self) -> float:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        return float("nan")

    def cpu_s(self) -> float:
        """CPU seconds (user + system, all threads) the server process has used so far."""
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description="the service process of benchmarks/serve_load.py")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--zendesk-url", required=True)
    parser.add_argument("--database-url")
    parser.add_argument("--model-latency", type=float)
    parser.add_argument("--no-tools", action="store_true")
    run_child(parser.parse_args())


if __name__ == "__main__":
    main()
