"""``/v1/bounce/{inv}``: the bounce-back page a Slack hand-off message links to.

``GET`` shows a small form (article or snippet, and the reason); ``POST`` records the
bounce through the same rule as the API and the CLI (:mod:`casefile.agent.handoff.bounce`)
and owes the ticket a note. The signed link is the credential (no token in Slack); a
wrong or expired signature is 403, an investigation that did not escalate 409. Pages
are plain HTML with every value escaped; the form posts ``application/x-www-form-urlencoded``.
"""

from __future__ import annotations

import asyncio
import html
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from casefile.agent.handoff.bounce import InvalidBounce, NotEscalated, Verdict, record_feedback
from casefile.agent.handoff.links import verify_link

if TYPE_CHECKING:
    from casefile.agent.service.app import InvestigationService

__all__ = ["bounce_router"]

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Bounce back · casefile</title>
<style>body{{font:15px system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem}}
label{{display:block;margin-top:1rem;font-weight:600}}input,textarea{{width:100%;box-sizing:border-box}}
.error{{color:#b00020}}</style></head><body>{body}</body></html>"""


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(body=body), status_code=status)


def _form(inv: str, ticket: str, team: str, exp: str, sig: str, error: str = "") -> str:
    e = html.escape
    problem = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    return f"""<h1>Bounce back ticket {e(ticket)}</h1>
<p>Escalated to {e(team)}. Send it back to support with what solves it; the ticket gets a note
and the weekly review counts it.</p>{problem}
<form method="post" action="/v1/bounce/{e(inv)}?exp={e(exp)}&amp;sig={e(sig)}">
<label for="article">Help-center article (link)</label><input id="article" name="article" type="url">
<label for="snippet">or the snippet / macro that solves it</label><textarea id="snippet" name="snippet" rows="3"></textarea>
<label for="reason">Reason (one or two sentences)</label><textarea id="reason" name="reason" rows="3" required maxlength="500"></textarea>
<p><button type="submit">Bounce back</button></p></form>"""


def bounce_router(service: InvestigationService) -> APIRouter:
    router = APIRouter(tags=["feedback"])

    def check(inv: str, exp: str, sig: str) -> tuple[HTMLResponse | None, str, str]:
        secret = service.settings.slack.link_secret
        refused = (
            "bounce links are not configured"
            if secret is None
            else verify_link(secret.get_secret_value(), inv, exp, sig)
        )
        record = service.store.get(inv) if refused is None else None
        if refused is None and record is None:
            refused = "no such investigation"
        if refused is not None or record is None:
            return _page(f'<p class="error">{html.escape(refused or "")}</p>', 403), "", ""
        team = record.diagnosis.escalation.team if record.diagnosis and record.diagnosis.escalation else ""
        return None, record.ticket_id, team

    @router.get("/v1/bounce/{inv}", response_class=HTMLResponse, include_in_schema=False)
    def bounce_page(inv: str, exp: str = "", sig: str = "") -> HTMLResponse:  # a thread: it reads the store
        refused, ticket, team = check(inv, exp, sig)
        return refused or _page(_form(inv, ticket, team, exp, sig))

    @router.post("/v1/bounce/{inv}", response_class=HTMLResponse, include_in_schema=False)
    async def bounce_submit(inv: str, request: Request, exp: str = "", sig: str = "") -> HTMLResponse:
        body = (await request.body()).decode("utf-8", "replace")
        return await asyncio.to_thread(submit, inv, body, exp, sig)  # the store waits off the event loop

    def submit(inv: str, body: str, exp: str, sig: str) -> HTMLResponse:
        refused, ticket, team = check(inv, exp, sig)
        if refused is not None:
            return refused
        fields = {k: v[-1] for k, v in parse_qs(body).items()}
        record = service.store.get(inv)
        assert record is not None
        try:
            said = Verdict(
                bounced=True,
                article=fields.get("article"),
                snippet=fields.get("snippet"),
                note=fields.get("reason"),
            )
            entry = record_feedback(
                service.store, record, said, by=f"slack-link:{team or 'team'}", via="slack"
            )
        except InvalidBounce as exc:
            return _page(_form(inv, ticket, team, exp, sig, str(exc)), 422)
        except NotEscalated as exc:
            return _page(f'<p class="error">{html.escape(str(exc))}</p>', 409)
        service.bounced(record, entry)
        return _page(f"<h1>Bounced back</h1><p>Ticket {html.escape(ticket)} gets a note; thank you.</p>", 201)

    return router
