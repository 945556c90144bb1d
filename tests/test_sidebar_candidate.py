"""The sidebar's candidate-account block in a real browser: shown, withheld reply, confirm, released reply.

A gmail requester names another company: the page shows the candidate and the neutral draft; the
agent confirms and the page follows the new investigation to the full reply. Same service and
browser fixtures as test_sidebar_browser.py (skipped there, with the reason, without chromium).
"""

from __future__ import annotations

import json
from typing import Any

from service_helpers import TICKETS, TOKEN
from test_sidebar_browser import OVERFLOWING, _opened, _submit, browser, browser_available, service_url

__all__ = ["browser", "browser_available", "service_url"]  # fixtures, imported for pytest

GMAIL_GLOBEX = {
    **json.loads((TICKETS / "billing-past-due.json").read_text()),
    "id": "T-CANDIDATE",
    "requester": {"name": "Pieter", "email": "pieter.devries@gmail.com"},
}


def test_candidate_account_is_shown_and_confirmed(browser: Any, service_url: str) -> None:
    with _opened(browser, service_url, 320) as page:
        _submit(page, f"{service_url}/app/#token={TOKEN}", json.dumps(GMAIL_GLOBEX))
        page.wait_for_function("document.getElementById('app').dataset.state === 'done'", timeout=60_000)

        assert page.is_visible("#candidate")
        assert "globex" in page.inner_text("#candidate-text")
        assert page.input_value("#candidate-account") == "globex"
        draft = page.inner_text("#draft-reply")
        assert "invoice.stripe.com" not in draft and "Globex" not in draft and "confirm" in draft
        layout = page.evaluate(OVERFLOWING)
        assert layout["elements"] == [], layout

        # A name that is no account: the error is shown and the diagnosis stays.
        page.fill("#candidate-account", "no-such-account")
        page.click("#confirm-account")
        page.wait_for_selector("#status.error")
        assert "no account" in page.inner_text("#status")
        assert page.is_visible("#candidate") and page.inner_text("#draft-reply") == draft

        page.fill("#candidate-account", "globex")
        page.click("#confirm-account")
        page.wait_for_function(
            "document.getElementById('app').dataset.state === 'done' && "
            "document.getElementById('candidate').hidden",
            timeout=60_000,
        )
        assert "invoice.stripe.com" in page.inner_text("#draft-reply")
        page.click("#progress-section > summary")
        assert "Account: globex" in page.inner_text("#progress")


def test_a_verified_account_shows_no_candidate_block(browser: Any, service_url: str) -> None:
    with _opened(browser, service_url, 320) as page:
        _submit(page, f"{service_url}/app/#token={TOKEN}", (TICKETS / "billing-past-due.json").read_text())
        page.wait_for_function("document.getElementById('app').dataset.state === 'done'", timeout=60_000)
        assert page.is_hidden("#candidate")
        assert "invoice.stripe.com" in page.inner_text("#draft-reply")
