"""A binding rule binds on what the customer is asking now: a privacy question answered earlier in a
thread does not send a later, unrelated plan-limit question to security; a breach reported anywhere
in the thread (`scope: thread`) still does. Invented people and products only."""

from __future__ import annotations

from test_routing import CONFIG, NOW, diag, sig

from casefile.agent.ledger import CallLedger
from casefile.agent.routing import route
from casefile.agent.routing.ask import open_ask
from casefile.agent.ticket import Comment, Requester, Ticket

CUSTOMER = Requester(name="Ada Quill", email="ada@quillwerk.example")


def thread(opening: str, *turns: tuple[str | None, str]) -> Ticket:
    return Ticket(
        id="T-9",
        subject="A question",
        body=opening,
        requester=CUSTOMER,
        created_at=NOW,
        account_id="acme",
        comments=[Comment(author=who, body=text, created_at=NOW) for who, text in turns],
    )


ANSWERED_PRIVACY = thread(
    "Under GDPR we must erase former members after a year. Can the product do that?",
    ("Sam Helper", "Yes: Settings, then Retention."),
    ("Ada Quill", "Thanks, done. Unrelated: two new editors cannot be added, the invite is refused."),
)


def test_the_open_ask_is_what_the_requester_wrote_after_the_last_reply() -> None:
    assert (
        open_ask(ANSWERED_PRIVACY)
        == "Thanks, done. Unrelated: two new editors cannot be added, the invite is refused."
    )
    # the requester named by e-mail, comments without an author: nobody else replied, the whole thread
    alone = thread(
        "Under GDPR, erase a member please.", ("ada@quillwerk.example", "Any news?"), (None, "Hello?")
    )
    assert open_ask(alone) == alone.full_text()
    # nobody wrote since the last reply: the whole thread is still what is asked
    waiting = thread("Under GDPR, erase a member please.", ("Sam Helper", "Looking into it."))
    assert open_ask(waiting) == waiting.full_text()


async def route_thread(ticket: Ticket) -> tuple[str, str | None, str | None]:
    d = diag("billing_plan_limit", "resolve", 0.85)
    routed = await route(
        d, CallLedger.of([], NOW), ticket=ticket, signals=sig(areas=["billing"]), config=CONFIG
    )
    esc = routed.escalation
    return routed.action, esc.team if esc else None, esc.trigger if esc else None


async def test_an_answered_privacy_question_does_not_bind_the_next_request() -> None:
    action, _, _ = await route_thread(ANSWERED_PRIVACY)
    assert action == "resolve"
    # the same words in the open request bind: escalated to security whatever the diagnosis
    asked_now = thread(
        "Two new editors cannot be added.",
        ("Sam Helper", "You are at your plan's seat limit."),
        ("Ada Quill", "OK. Also, under GDPR, please erase the data of a former editor."),
    )
    assert await route_thread(asked_now) == ("escalate", "security", "privacy-request")


async def test_a_breach_reported_earlier_in_the_thread_still_binds() -> None:
    breach = thread(
        "I think our account was compromised last night.",
        ("Sam Helper", "We are looking into it."),
        ("Ada Quill", "Any news? Also two new editors cannot be added."),
    )
    assert await route_thread(breach) == ("escalate", "security", "breach")
