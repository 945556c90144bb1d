"""The hand-off, end to end on this machine: ``python examples/handoff_demo.py``.

The service runs in-process against the demo world; a Zendesk desk and a Slack workspace
(the stand-ins in ``tools/world/``, in their real wire formats) listen on 127.0.0.1. A
signed webhook brings in the export-regression ticket; the offline investigator escalates
it to Backend, whose hand-off (added to a copy of ``prompts/routing.yaml``) updates the
ticket and posts to ``#eng-backend``. Slack is down for the first attempt, so the
hand-off shows ``pending`` and is retried. Then the engineer bounces it back through the
message's signed link, and the ticket gets a note. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from pydantic import SecretStr

from casefile import PACKAGE_DIR
from casefile.agent import routing
from casefile.agent.config import ServiceSettings, Settings
from casefile.agent.handoff.slack import SlackSettings
from casefile.agent.helpdesk.zendesk import signed_webhook
from casefile.agent.service.app import create_app
from casefile.agent.store import Store
from casefile.tools.world.emulate_slack import WORLD_TOKEN, SlackWorkspace
from casefile.tools.world.loopback import LoopbackServer
from casefile.tools.world.zendesk_desk import ZendeskDesk, desk_settings

TICKET_ID = 48300
SECRET = "demo-webhook-secret"
TOKEN = {"Authorization": "Bearer demo-token"}


def _wait(what: Any, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not what():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.05)


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    for name in ("httpx", "httpx2", "casefile"):  # the demo prints what happened itself
        logging.getLogger(name).setLevel(logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="casefile-handoff-demo-"))
    data = yaml.safe_load(routing.ROUTING_FILE.read_text(encoding="utf-8"))
    data["teams"]["backend"]["handoff"] = {
        "zendesk": {
            "group_id": 360001234567,
            "priority": "high",
            "tags": ["escalated_backend"],
            "packet_note": True,
        },
        "slack": {},
    }
    (work / "routing.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    routing.ROUTING_FILE = work / "routing.yaml"

    desk, workspace = ZendeskDesk(), SlackWorkspace(["#eng-backend"])
    ticket = json.loads((PACKAGE_DIR / "examples" / "tickets" / "export-regression.json").read_text())
    desk.open_ticket(ticket, TICKET_ID)
    with LoopbackServer(desk.handle) as zd, LoopbackServer(workspace.handle) as sl:
        settings = Settings(
            service=ServiceSettings(
                tokens={"demo": SecretStr("demo-token")},
                public_url="http://casefile.localhost",
                poll_s=0.1,
                zendesk=desk_settings(zd.url, SECRET),
            ),
            slack=SlackSettings(
                bot_token=SecretStr(WORLD_TOKEN), api_url=sl.url + "/api/", link_secret=SecretStr("demo-link")
            ),
        )
        store = Store(f"sqlite:///{work / 'casefile.sqlite3'}")
        workspace.fail_next(3, status=503)  # Slack is down for the first delivery
        started = time.monotonic()
        with TestClient(create_app(settings, store=store)) as client:
            body, headers = signed_webhook(SECRET, {"ticket_id": TICKET_ID})
            inv = client.post("/v1/webhooks/zendesk", content=body, headers=headers).json()["id"]
            _wait(
                lambda: (
                    client.get(f"/v1/investigations/{inv}", headers=TOKEN).json()["handoff"]["state"]
                    != "none"
                )
            )
            first = client.get(f"/v1/investigations/{inv}", headers=TOKEN).json()
            print(f"{inv}: {first['status']}, escalated to {first['diagnosis']['escalation']['team']}")
            print(f"  hand-off after the first attempt: {first['handoff']['state']}")
            for d in first["handoff"]["deliveries"]:
                print(f"    {d['key']:6} {d['status']:8} {d['error'] or ''}")
            _wait(lambda: store.delivery(inv)[1] is not None)
            print(f"  hand-off delivered {time.monotonic() - started:.1f} s after the webhook")
            [write] = desk.writes
            fields = {k: v for k, v in write.ticket.items() if k != "comment"}
            print(f"\nZendesk PUT /api/v2/tickets/{TICKET_ID}.json: {json.dumps(fields)}")
            print(
                "  internal note, first lines:\n    "
                + "\n    ".join(desk.notes(TICKET_ID)[0].splitlines()[:4])
            )
            [message] = workspace.in_channel("#eng-backend")
            print(f"\nSlack #eng-backend ({message.via}, ts {message.ts}): {message.text}")
            buttons = next(b for b in message.blocks if b["type"] == "actions")["elements"]
            for button in buttons:
                print(f"  [{button['text']['text']}] {button['url']}")

            link = buttons[-1]["url"].removeprefix("http://casefile.localhost")
            form = "snippet=Use+the+async+export+for+over+100k+rows.&reason=Documented+limit%3B+the+macro+answers+it."
            client.post(link, content=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
            _wait(lambda: len(desk.notes(TICKET_ID)) == 2)
            print(
                "\nBounced back from the Slack link; the ticket's note:\n    "
                + "\n    ".join(desk.notes(TICKET_ID)[1].splitlines())
            )
            print(f"\nSlack messages: {len(workspace.messages)}; Zendesk writes: {len(desk.writes)}")
        store.close()


if __name__ == "__main__":
    main()
