"""The shared-causes page in a real headless browser: every figure it shows equals
``GET /v1/reports/clusters``'s, each member links its helpdesk ticket and its investigation, the
period selector re-reads the endpoint, and an empty store says so instead of failing.

Skipped, with the reason, when Playwright or chromium is not installed (CI installs both).
``CLUSTERS_SCREENSHOT=path.png`` saves a full-page screenshot there as well (not a ``CASEFILE_``
variable: conftest removes those).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from service_helpers import AUTH, TOKEN, light_env, serving, settings
from test_sidebar_browser import browser, browser_available  # noqa: F401  (shared fixtures)

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.investigation import Investigation
from casefile.agent.store import Store
from casefile.agent.store.database import db_time
from casefile.agent.ticket import Signals, Ticket

pytestmark = pytest.mark.usefixtures("browser_available")

NOW = datetime.now(UTC)
# Invented names: a bug, an error code, accounts; none is a bundled world's.
RECENT = [  # (ticket, account, category, cited, hours ago)
    ("70001", "acme-kites", "known_bug", ["WIDG-77"], 2),
    ("70002", "blue-otter", "known_bug", ["WIDG-77"], 5),
    ("T-local-3", "acme-kites", "known_bug", ["WIDG-77"], 9),
    ("70004", "cobalt-bay", "platform_incident", [], 3),
    ("70005", "dune-labs", "platform_incident", [], 4),
    ("70006", "elm-works", "billing_card_declined", ["card_expired"], 6),
]
OLDER = [
    ("70011", "fjord-co", "billing_plan_limit", ["gadget_quota_exceeded"], 70),
    ("70012", "gala-inc", "billing_plan_limit", ["gadget_quota_exceeded"], 72),
    ("70013", "blue-otter", "known_bug", ["WIDG-77"], 75),
    ("70014", "hollow-io", "known_bug", ["WIDG-77"], 80),
]


def _seed(store: Store, ticket_id: str, account: str, category: str, cited: list[str], hours: int) -> None:
    diagnosis = Diagnosis.model_validate(
        {
            "ticket_id": ticket_id,
            "summary": f"{category} for {account}",
            "root_cause": {"category": category, "statement": "seeded"},
            "evidence": [{"call_id": "c1", "tool": "x", "value": v, "claim": "cited"} for v in cited],
            "confidence": {"score": 0.8},
            "customer_reply": "seeded reply",
            "action": "escalate" if category == "known_bug" else "resolve",
            "escalation": {"team": "backend", "reason": "a bug"} if category == "known_bug" else None,
            "account_id": account,
        }
    )
    at = NOW - timedelta(hours=hours)
    ticket = Ticket(id=ticket_id, body="seeded", created_at=at)
    source = "webhook" if ticket_id.isdigit() else "cli"
    inv = store.create_investigation(ticket, source=source, requested_by="seed")
    signals = Signals(window_start=at - timedelta(hours=1), window_end=at)
    store.save_result(inv, Investigation(diagnosis, signals, [], []), "seed", started_at=at)
    with store._tx() as cur:  # history: move the investigation to when it happened
        cur.execute(
            "UPDATE investigations SET created_at = ?, finished_at = ? WHERE id = ?",
            (db_time(at - timedelta(seconds=30)), db_time(at), inv),
        )


@contextmanager
def _service(root: Path, rows: list[tuple[str, str, str, list[str], int]]) -> Iterator[str]:
    from casefile.agent.service.app import create_app

    store = Store(f"sqlite:///{root / 'casefile.sqlite3'}")
    for row in rows:
        _seed(store, *row)
    app = create_app(settings(), env=light_env(), store=store)
    try:
        with serving(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        ) as port:
            yield f"http://127.0.0.1:{port}"
    finally:
        store.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _service(tmp_path_factory.mktemp("clusters"), RECENT + OLDER) as url:
        yield url


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _check_page_against(page: Any, report: dict[str, Any]) -> None:
    """Every figure on the page is the endpoint's; every member row links what the endpoint says."""
    clusters = {c["key"]: c for c in report["clusters"]}
    shown = page.eval_on_selector_all(
        "[data-figure]", "els => els.map(e => [e.dataset.figure, e.dataset.value, e.textContent])"
    )
    checked = set()
    for path, value, text in shown:
        if path in ("investigations", "clusters"):
            expected = report[path] if path == "investigations" else len(report["clusters"])
            assert int(value) == expected and text == str(expected), path
            continue
        _, rest = path.split(".", 1)
        key, field = rest.rsplit(".", 1)
        expected = clusters[key][field]
        if field.endswith("_at"):
            assert _when(value) == _when(expected), path
            assert text == _when(expected).strftime("%Y-%m-%d %H:%M UTC"), (path, text)
        else:
            assert int(value) == expected and text == str(expected), path
        checked.add((key, field))
    fields = ("size", "accounts", "escalated", "first_at", "last_at")
    assert checked == {(k, f) for k in clusters for f in fields}
    for key, cluster in clusters.items():
        card = page.locator(f'section.cluster[data-key="{key}"]')
        rows = card.locator("tr.member")
        assert rows.count() == cluster["size"] == len(cluster["members"])
        for i, member in enumerate(cluster["members"]):
            row = rows.nth(i)
            assert row.get_attribute("data-investigation") == member["investigation"]
            cells = row.locator("td")
            ticket_link = cells.nth(0).locator("a")
            if member["ticket_url"]:
                assert ticket_link.get_attribute("href") == member["ticket_url"]
            else:
                assert ticket_link.count() == 0 and cells.nth(0).inner_text() == member["ticket_id"]
            assert cells.nth(1).locator("a").get_attribute("href") == member["investigation_url"]
            assert cells.nth(2).inner_text() == member["account_id"]


def test_the_clusters_page_shows_the_endpoint_s_figures_for_each_period(
    browser: Any,  # noqa: F811
    seeded: str,
    tmp_path: Path,
) -> None:
    day = httpx.get(f"{seeded}/v1/reports/clusters", params={"since": "24h"}, headers=AUTH).json()
    # The endpoint itself: the bug's three tickets today, the shared incident; one card decline is no cluster.
    assert [(c["key"], c["size"], c["accounts"]) for c in day["clusters"]] == [
        ("bug:WIDG-77", 3, 2),
        ("category:platform_incident", 2, 2),
    ]
    bug = day["clusters"][0]
    # Oldest first; a helpdesk ticket links the helpdesk, a ticket from a file links nothing.
    assert [m["ticket_id"] for m in bug["members"]] == ["T-local-3", "70002", "70001"]
    assert bug["members"][2]["ticket_url"] == "https://relayhq.zendesk.com/agent/tickets/70001"
    assert (
        bug["members"][2]["investigation_url"] == f"/app/?investigation={bug['members'][2]['investigation']}"
    )
    assert next(m for m in bug["members"] if m["ticket_id"] == "T-local-3")["ticket_url"] is None

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{seeded}/clusters#token={TOKEN}")
    page.wait_for_selector("body[data-loaded]", timeout=30_000)
    assert page.get_attribute("body", "data-loaded") == "true", page.inner_text("#status")
    assert "token" not in page.url
    assert page.is_hidden("#empty")
    _check_page_against(page, day)
    assert "3 tickets hit bug WIDG-77" in page.inner_text('section.cluster[data-key="bug:WIDG-77"] h2')

    # The period selector: the last 7 days add the older tickets and the shared error code.
    page.select_option("#since", "7d")
    page.click("#load")
    page.wait_for_selector("body[data-loaded]", timeout=30_000)
    week = httpx.get(f"{seeded}/v1/reports/clusters", params={"since": "7d"}, headers=AUTH).json()
    assert [(c["key"], c["size"]) for c in week["clusters"]] == [
        ("bug:WIDG-77", 5),
        ("code:gadget_quota_exceeded", 2),  # an error code is a stronger identifier than a category
        ("category:platform_incident", 2),
    ]
    assert "since=7d" in page.url
    _check_page_against(page, week)
    page.screenshot(path=str(tmp_path / "clusters.png"), full_page=True)
    if os.environ.get("CLUSTERS_SCREENSHOT"):
        page.screenshot(path=os.environ["CLUSTERS_SCREENSHOT"], full_page=True)

    # A member's investigation link opens it in the sidebar page (same tab: the token is this tab's).
    member = week["clusters"][0]["members"][0]
    page.goto(seeded + member["investigation_url"])
    page.wait_for_selector("#diagnosis:not([hidden])", timeout=30_000)
    assert "known_bug" in page.inner_text("#diagnosis")


def test_an_empty_store_says_no_shared_causes(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    with _service(tmp_path, []) as url:
        report = httpx.get(f"{url}/v1/reports/clusters", params={"since": "28d"}, headers=AUTH).json()
        assert report["investigations"] == 0 and report["clusters"] == []
        page = browser.new_context().new_page()
        page.goto(f"{url}/clusters?since=28d#token={TOKEN}")
        page.wait_for_selector("body[data-loaded]", timeout=30_000)
        assert page.get_attribute("body", "data-loaded") == "true", page.inner_text("#status")
        assert page.is_visible("#empty") and page.inner_text("#empty") == "No shared causes in this period."
        assert page.locator("section.cluster").count() == 0
        assert page.get_attribute('[data-figure="investigations"]', "data-value") == "0"


@pytest.mark.parametrize(
    ("path", "what"), [("/clusters", "the shared causes"), ("/dashboard", "the metrics")]
)
def test_a_report_page_says_when_the_token_is_refused(
    browser: Any,  # noqa: F811
    seeded: str,
    path: str,
    what: str,
) -> None:
    page = browser.new_context().new_page()
    page.goto(f"{seeded}{path}#token=wrong")
    page.wait_for_selector("body[data-loaded]", timeout=30_000)
    assert page.get_attribute("body", "data-loaded") == "error"
    assert f"Could not load {what}" in page.inner_text("#status")
    assert page.is_hidden("#report")
