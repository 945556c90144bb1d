"""Real service processes on loopback, killed with SIGKILL, and a fake Zendesk that outlives them.

:class:`ZendeskServer` speaks the Tickets API's wire format (ticket with
``include=users``, comments, the ``PUT`` that adds the internal note and the tag)
and keeps every note it receives, so a test can count notes per ticket across
service restarts. ``put_delay_s`` holds the answer to a ``PUT`` after the note
is recorded: a service killed in that window posted its note but never heard so. It serves
from construction until :meth:`ZendeskServer.close`.

:class:`ServiceProcess` runs ``casefile``'s app under uvicorn in a child process
(a scripted model that waits ``model_latency_s`` per turn; short leases so a
killed worker's work is resumed within a second or two).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
from quiet_server import QuietHTTPServer
from service_helpers import post_webhook

TESTS = Path(__file__).resolve().parent
TOKEN = "tok_test_" + "a1b2c3d4e5f6a7b8"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ZendeskServer:
    def __init__(self, *, put_delay_s: float = 0.0) -> None:
        self.put_delay_s = put_delay_s
        self.notes: dict[int, list[str]] = {}
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = self.path.split("?")[0].split("/")
                tid = int(parts[4].removesuffix(".json"))
                if self.path.split("?")[0].endswith("/comments.json"):
                    self._send(
                        {"comments": outer.comments(tid), "users": [outer.user(tid)], "next_page": None}
                    )
                else:
                    self._send({"ticket": outer.ticket(tid), "users": [outer.user(tid)]})

            def do_PUT(self) -> None:
                tid = int(self.path.split("?")[0].split("/")[4].removesuffix(".json"))
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.notes.setdefault(tid, []).append(payload["ticket"]["comment"]["body"])
                time.sleep(outer.put_delay_s)
                self._send({"ticket": outer.ticket(tid)})

        self.server = QuietHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def user(self, tid: int) -> dict[str, Any]:
        return {"id": 7000 + tid, "name": "Jonas Weber", "email": "jonas@acme-logistics.com"}

    def ticket(self, tid: int) -> dict[str, Any]:
        tags = ["casefile_investigated"] if tid in self.notes else []
        return {
            "id": tid,
            "subject": f"API calls failing with 429 ({tid})",
            "description": "Since this morning every POST /v2/shipments returns 429.",
            "status": "new",
            "requester_id": 7000 + tid,
            "tags": tags,
            "created_at": "2026-11-20T09:14:00Z",
            "updated_at": "2026-11-20T09:14:00Z",
        }

    def comments(self, tid: int) -> list[dict[str, Any]]:
        first = {
            "id": tid * 10,
            "type": "Comment",
            "author_id": 7000 + tid,
            "body": "Since this morning every POST /v2/shipments returns 429.",
            "public": True,
            "created_at": "2026-11-20T09:14:00Z",
        }
        with self.lock:
            notes = list(self.notes.get(tid, []))
        return [first] + [
            {"id": tid * 10 + i + 1, "type": "Comment", "author_id": 1, "body": body, "public": False}
            for i, body in enumerate(notes)
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


_CHILD = """
import sys
sys.path.insert(0, {tests!r})
import uvicorn
from service_helpers import light_env, scripted_factory, settings
from casefile.agent.service.app import create_app

s = settings(database_url={db!r}, lease_s={lease_s!r}, poll_s=0.1, concurrency={concurrency!r},
             rate_limit_per_minute=100000, rate_limit_burst=10000)
zendesk = s.service.zendesk.model_copy(update={{"base_url": {zendesk!r}, "timeout_s": {zendesk_timeout_s!r}}})
s = s.model_copy(update={{"service": s.service.model_copy(update={{"zendesk": zendesk}})}})
app = create_app(s, env=light_env(), model_factory=scripted_factory(latency_s={latency!r}))
uvicorn.run(app, host="127.0.0.1", port={port!r}, log_level="warning")
"""


class ServiceProcess:
    def __init__(
        self,
        db: str,
        zendesk_url: str,
        *,
        model_latency_s: float = 0.0,
        lease_s: float = 1.5,
        concurrency: int = 8,
        zendesk_timeout_s: float = 5.0,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        code = _CHILD.format(
            tests=str(TESTS),
            db=db,
            lease_s=lease_s,
            concurrency=concurrency,
            zendesk=zendesk_url,
            zendesk_timeout_s=zendesk_timeout_s,
            latency=model_latency_s,
            port=self.port,
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], cwd=TESTS.parent, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the service exited during start-up")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("the service did not start")

    def webhook(self, ticket_id: int) -> httpx.Response:
        """A ticket.created event, signed as Zendesk signs it."""
        event = {"type": "zen:event-type:ticket.created", "detail": {"id": str(ticket_id)}}
        with httpx.Client(base_url=self.url, timeout=30) as client:
            response: httpx.Response = post_webhook(client, event)
        return response

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
