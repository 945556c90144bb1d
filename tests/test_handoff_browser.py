"""A bounce from the sidebar, in a real browser, reaches the ticket as a note (Zendesk stand-in on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from service_helpers import TOKEN, serving_app, settings, wait_for, zendesk_desk
from test_sidebar_browser import HEIGHT, browser, browser_available  # noqa: F401  (fixtures)

from casefile.agent.store import Store
from casefile.tools.world.loopback import LoopbackServer
from casefile.tools.world.zendesk_desk import ZendeskDesk

TICKET_ID = 48500


@pytest.fixture
def desk() -> Iterator[tuple[ZendeskDesk, LoopbackServer]]:
    with zendesk_desk(TICKET_ID) as desk:
        yield desk


@pytest.fixture
def service_url(
    browser_available: None,  # noqa: F811  (the fixture, imported above)
    desk: tuple[ZendeskDesk, LoopbackServer],
    tmp_path: Path,
) -> Iterator[str]:
    from casefile.agent.service.app import create_app

    s = settings(poll_s=0.05)
    zendesk = s.service.zendesk.model_copy(
        update={"base_url": desk[1].url, "subdomain": None, "timeout_s": 5.0}
    )
    s = s.model_copy(update={"service": s.service.model_copy(update={"zendesk": zendesk})})
    store = Store(f"sqlite:///{tmp_path / 'casefile.sqlite3'}")
    try:
        with serving_app(create_app(s, store=store)) as url:
            yield url
    finally:
        store.close()


def test_a_bounce_from_the_sidebar_notes_the_ticket(
    browser: Any,  # noqa: F811
    service_url: str,
    desk: tuple[ZendeskDesk, LoopbackServer],
) -> None:
    zd, _ = desk
    context = browser.new_context(viewport={"width": 320, "height": HEIGHT})
    page = context.new_page()
    try:
        page.goto(f"{service_url}/app/#token={TOKEN}")
        page.fill("#zendesk-id", str(TICKET_ID))  # the agent's ticket, read from Zendesk by the service
        page.click("#investigate")
        page.wait_for_selector("#escalation:not([hidden])", timeout=60_000)
        page.click("#bounce > summary")
        page.fill("#bounce-snippet", "Macro 'Large exports': use the async export for over 100k rows.")
        page.fill("#bounce-note", "The limit is documented. Support can answer it with the macro.")
        with page.expect_response(lambda r: r.url.endswith("/feedback")) as answer:
            page.click("#bounce-send")
        assert answer.value.status == 201
        wait_for(lambda: zd.notes(TICKET_ID), "a note on the ticket")
        [note] = zd.notes(TICKET_ID)
        assert "Solved by the snippet: Macro 'Large exports'" in note
        assert "Reason: The limit is documented. Support can answer it with the macro." in note
        # The card shows the hand-off as the service sees it (the note pending or delivered).
        page.wait_for_selector("#handoff:not([hidden])")
        assert page.inner_text("#handoff-state").startswith("Hand-off")
    finally:
        context.close()
