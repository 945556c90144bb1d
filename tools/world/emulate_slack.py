"""A Slack workspace stand-in: the Web API's ``chat.postMessage`` and incoming webhooks, as Slack answers.

casefile writes to Slack (the hand-off message, the weekly review); it never reads it
for an investigation. This stand-in lets tests and the demo see those writes in
Slack's own wire format:

* ``POST /api/chat.postMessage`` (form or JSON, ``Authorization: Bearer xoxb-…``) →
  HTTP 200 ``{"ok": true, "channel": "C…", "ts": "1700000000.000100", "message": {…}}``;
  refusals are HTTP 200 ``{"ok": false, "error": …}``: ``not_authed`` (no token),
  ``invalid_auth`` (another token), ``channel_not_found``, ``no_text`` (neither text
  nor blocks), ``invalid_blocks``.
* ``POST /api/conversations.history`` (``channel``, ``oldest``, ``include_all_metadata``)
  → ``{"ok": true, "messages": […newest first], "has_more": false, …}``: how a
  restarted sender checks whether its message already went out.
* ``POST /services/T…/B…/<secret>`` (an incoming webhook, JSON) → HTTP 200 ``ok``
  (text); 400 ``invalid_payload`` / ``no_text``, 404 ``no_service`` (an unknown
  webhook), 410 ``channel_is_archived``.
* Rate limits as Slack sends them: HTTP 429 with ``Retry-After`` (seconds) and, for the
  Web API, ``{"ok": false, "error": "ratelimited"}``; for the webhook the text ``rate_limited``.

Tests steer it: :meth:`SlackWorkspace.fail_next` makes the next requests answer 503
(Slack down) or 429, :meth:`SlackWorkspace.archive` archives a channel, and
:attr:`SlackWorkspace.messages` holds every message accepted.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
from pydantic import BaseModel, Field

from casefile.tools.world.emulator import json_response

__all__ = ["API_HOST", "HOOKS_HOST", "SlackMessage", "SlackWorkspace", "handlers"]

API_HOST = "slack.com"
HOOKS_HOST = "hooks.slack.com"
TEAM_ID = "T0CASEFILE"
WORLD_TOKEN = "xoxb-world-0000-casefile"


class SlackMessage(BaseModel):
    """One message the workspace accepted."""

    channel: str = Field(description="the channel's id (C…)")
    channel_name: str = Field(description="its name, with '#'")
    ts: str
    text: str = ""
    blocks: list[dict[str, Any]] = Field(default_factory=list)
    metadata: dict[str, Any] | None = None
    via: str = Field(description="api (chat.postMessage) or webhook")


class SlackWorkspace:
    """Channels, a bot token, one incoming webhook per channel, and the messages posted so far."""

    def __init__(self, channels: Iterable[str] = ("#general",), *, token: str = WORLD_TOKEN) -> None:
        self.token = token
        self._lock = threading.Lock()
        self._ids: dict[str, str] = {}
        self._archived: set[str] = set()
        self._hooks: dict[str, str] = {}
        self._failures: list[tuple[int, float | None]] = []
        self._clock = 0.0
        self.messages: list[SlackMessage] = []
        for name in channels:
            self.add_channel(name)

    # ------------------------------------------------------------------ steering (tests, demo)

    def add_channel(self, name: str) -> str:
        name = "#" + name.lstrip("#")
        with self._lock:
            if name not in self._ids:
                index = len(self._ids) + 1
                self._ids[name] = f"C{index:08d}"
                self._hooks[f"/services/{TEAM_ID}/B{index:08d}/whsecret{index:04d}"] = name
            return self._ids[name]

    def webhook_path(self, name: str) -> str:
        """The path of the channel's incoming webhook (append it to the webhook host's URL)."""
        channel = self.add_channel(name)
        name = "#" + name.lstrip("#")
        return next(path for path, ch in self._hooks.items() if ch == name and self._ids[ch] == channel)

    def archive(self, name: str) -> None:
        self._archived.add("#" + name.lstrip("#"))

    def fail_next(self, count: int, *, status: int = 503, retry_after: float | None = None) -> None:
        """The next ``count`` requests answer ``status`` (503: down; 429: rate limited, with Retry-After)."""
        with self._lock:
            self._failures += [(status, retry_after)] * count

    def in_channel(self, name: str) -> list[SlackMessage]:
        name = "#" + name.lstrip("#")
        return [m for m in self.messages if m.channel_name == name]

    # ------------------------------------------------------------------ the wire

    def handle(self, request: httpx.Request) -> httpx.Response:
        hook = request.url.path.startswith("/services/")
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            status, retry_after = failure
            headers = {"Retry-After": str(int(retry_after or 1))} if status == 429 else {}
            if hook:
                body = "rate_limited" if status == 429 else "service_unavailable"
                return httpx.Response(status, text=body, headers=headers)
            error = "ratelimited" if status == 429 else "service_unavailable"
            return json_response(status, {"ok": False, "error": error}, headers)
        if request.method != "POST":
            return httpx.Response(405, text="method_not_allowed")
        if hook:
            return self._webhook(request)
        method = request.url.path.removeprefix("/api/")
        routes: dict[str, Callable[[dict[str, Any]], httpx.Response]] = {
            "chat.postMessage": self._post_message,
            "conversations.history": self._history,
        }
        route = routes.get(method)
        if route is None:
            return json_response(404, {"ok": False, "error": "unknown_method"})
        auth = request.headers.get("authorization", "")
        if not auth:
            return json_response(200, {"ok": False, "error": "not_authed"})
        if auth != f"Bearer {self.token}":
            return json_response(200, {"ok": False, "error": "invalid_auth"})
        return route(_arguments(request))

    def _channel(self, value: Any) -> str | None:
        """A channel given by id or by name (with or without '#') → its name."""
        text = str(value or "")
        for name, cid in self._ids.items():
            if text in (cid, name, name.lstrip("#")):
                return name
        return None

    def _accept(self, name: str, args: dict[str, Any], via: str) -> SlackMessage:
        with self._lock:
            # Slack's ts is the post time in epoch seconds with microseconds, unique per channel.
            self._clock = max(self._clock + 0.000001, time.time())
            message = SlackMessage(
                channel=self._ids[name],
                channel_name=name,
                ts=f"{self._clock:.6f}",
                text=str(args.get("text") or ""),
                blocks=_blocks(args.get("blocks")) or [],
                metadata=args.get("metadata") if isinstance(args.get("metadata"), dict) else None,
                via=via,
            )
            self.messages.append(message)
        return message

    def _post_message(self, args: dict[str, Any]) -> httpx.Response:
        name = self._channel(args.get("channel"))
        if name is None:
            return json_response(200, {"ok": False, "error": "channel_not_found"})
        if name in self._archived:
            return json_response(200, {"ok": False, "error": "is_archived"})
        if args.get("blocks") is not None and _blocks(args.get("blocks")) is None:
            return json_response(200, {"ok": False, "error": "invalid_blocks"})
        if not args.get("text") and not args.get("blocks"):
            return json_response(200, {"ok": False, "error": "no_text"})
        message = self._accept(name, args, "api")
        return json_response(
            200,
            {"ok": True, "channel": message.channel, "ts": message.ts, "message": _wire(message)},
        )

    def _history(self, args: dict[str, Any]) -> httpx.Response:
        name = self._channel(args.get("channel"))
        if name is None:
            return json_response(200, {"ok": False, "error": "channel_not_found"})
        oldest = float(args.get("oldest") or 0)
        found = [_wire(m) for m in reversed(self.in_channel(name)) if float(m.ts) > oldest]
        if str(args.get("include_all_metadata")).lower() not in ("true", "1"):
            for m in found:
                m.pop("metadata", None)
        return json_response(
            200,
            {
                "ok": True,
                "messages": found,
                "has_more": False,
                "pin_count": 0,
                "response_metadata": {"next_cursor": ""},
            },
        )

    def _webhook(self, request: httpx.Request) -> httpx.Response:
        name = self._hooks.get(request.url.path)
        if name is None:
            return httpx.Response(404, text="no_service")
        if name in self._archived:
            return httpx.Response(410, text="channel_is_archived")
        try:
            args = json.loads(request.content or b"{}")
        except ValueError:
            return httpx.Response(400, text="invalid_payload")
        if not isinstance(args, dict) or (args.get("blocks") is not None and _blocks(args["blocks"]) is None):
            return httpx.Response(400, text="invalid_payload")
        if not args.get("text") and not args.get("blocks"):
            return httpx.Response(400, text="no_text")
        self._accept(name, args, "webhook")
        return httpx.Response(200, text="ok", headers={"content-type": "text/html"})


def _arguments(request: httpx.Request) -> dict[str, Any]:
    """A Web API call's arguments: JSON, or form fields (JSON-encoded values such as ``blocks`` stay text)."""
    content_type = request.headers.get("content-type", "")
    body = request.content.decode("utf-8", "replace")
    if content_type.startswith("application/json"):
        try:
            data = json.loads(body or "{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
    args: dict[str, Any] = {key: values[-1] for key, values in parse_qs(body).items()}
    args.update({key: value for key, value in request.url.params.items()})
    if isinstance(args.get("metadata"), str):
        try:
            args["metadata"] = json.loads(args["metadata"])
        except ValueError:
            args["metadata"] = None
    return args


def _blocks(value: Any) -> list[dict[str, Any]] | None:
    """Block Kit blocks as a list of objects with a ``type``; None when malformed."""
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, list) or not all(isinstance(b, dict) and "type" in b for b in value):
        return None
    return value


def _wire(message: SlackMessage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "message",
        "subtype": "bot_message",
        "text": message.text,
        "ts": message.ts,
        "bot_id": "B0CASEFILE",
        "blocks": message.blocks,
    }
    if message.metadata is not None:
        out["metadata"] = message.metadata
    return out


def handlers(
    world_dir: Path, workspace: SlackWorkspace | None = None
) -> dict[str, Callable[[httpx.Request], httpx.Response]]:
    """Slack's two hosts, served by one workspace (a new one with ``#general`` unless given)."""
    workspace = workspace or SlackWorkspace()
    return {API_HOST: workspace.handle, HOOKS_HOST: workspace.handle}
