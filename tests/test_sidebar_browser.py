"""The sidebar page in a real headless browser (Debian's chromium via Playwright) against a running service.

Skipped, with the reason, when Playwright or chromium is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_helpers import AUTH, TICKETS, TOKEN, scripted_factory, settings

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CASEFILE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser_available() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright; no browser download is needed)")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")


@pytest.fixture(scope="module")
def service_url(browser_available: None) -> Iterator[str]:
    """`casefile serve`'s app on a loopback port, against the demo world, with a scripted model."""
    import uvicorn

    from casefile.agent.service.app import create_app
    from casefile.agent.store import Store

    db = Path(tempfile.mkdtemp(prefix="casefile-sidebar-")) / "casefile.sqlite3"
    store = Store(f"sqlite:///{db}")
    app = create_app(settings(), store=store, model_factory=scripted_factory(latency_s=0.3))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:  # start-up loads the demo world
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the service did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        store.close()
        shutil.rmtree(db.parent, ignore_errors=True)


def test_sidebar_investigates_and_renders(service_url: str) -> None:
    from playwright.sync_api import sync_playwright

    ticket = (TICKETS / "429-spike.json").read_text()
    profile = tempfile.mkdtemp(prefix="casefile-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": 420, "height": 1100},
            )
            try:
                context.grant_permissions(["clipboard-read", "clipboard-write"], origin=service_url)
                page = context.new_page()
                failed_requests: list[str] = []
                page.on("requestfailed", lambda r: failed_requests.append(r.url))
                # The token rides in the fragment: it never reaches a server log.
                page.goto(f"{service_url}/app/iframe.html#token={TOKEN}")
                assert page.is_visible("#standalone")
                page.fill("#ticket-input", ticket)
                page.click("#investigate")

                # Progress appears while the investigation runs: tool calls, then the model turn.
                page.wait_for_selector("#progress li.ok", timeout=30_000)
                page.wait_for_selector("#progress li[data-tool]", state="attached", timeout=30_000)
                page.wait_for_selector("#diagnosis:not([hidden])", timeout=60_000)
                progress = page.inner_text("#progress")
                assert "Investigating ticket T-1001" in progress
                assert "✓ bugs_search" in progress and "Diagnosis ready" in progress

                assert "REL-482" in page.inner_text("#summary")
                assert page.inner_text("#category") == "known_bug"
                assert page.inner_text("#confidence") == "86%"
                assert page.inner_text("#action").lower() == "escalate to backend"
                evidence = page.locator("#evidence li.evidence-item")
                assert evidence.count() == 1
                link = evidence.first.locator("a.source-link")
                assert "linear.app" in (link.get_attribute("href") or "")
                assert link.get_attribute("rel") == "noopener noreferrer"
                reply = page.inner_text("#draft-reply")
                assert reply.startswith("Hi Jonas")

                page.click("#insert-reply")
                page.wait_for_function("document.getElementById('reply-box').value.length > 0")
                assert page.input_value("#reply-box") == reply

                page.click("#copy-packet")
                page.wait_for_selector("#packet-text:not([hidden])")
                packet = json.loads(page.input_value("#packet-text"))
                assert packet["ticket_id"] == "T-1001" and packet["team"].lower() == "backend"
                assert isinstance(packet["context"], dict) and "REL-482" in packet["summary"]
                assert packet["evidence"][0]["source"].startswith("https://linear.app/")
                page.wait_for_function("document.getElementById('status').textContent.includes('copied')")
                clipboard = page.evaluate("navigator.clipboard.readText()")
                assert json.loads(clipboard) == packet

                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "sidebar.png"), full_page=True)
                # The standalone page never reaches outside the service (no ZAF SDK, no CDN).
                assert [u for u in failed_requests if not u.startswith(service_url)] == []
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def test_sidebar_reports_a_bad_token(service_url: str) -> None:
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="casefile-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                page = context.new_page()
                page.goto(f"{service_url}/app/iframe.html#token=wrong")
                page.fill("#ticket-input", (TICKETS / "429-spike.json").read_text())
                page.click("#investigate")
                page.wait_for_selector("#status.error")
                assert "not valid" in page.inner_text("#status")
                assert page.is_hidden("#diagnosis")
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def test_service_fixture_is_authenticated(service_url: str) -> None:
    import httpx

    assert httpx.get(f"{service_url}/v1/investigations").status_code == 401
    assert httpx.get(f"{service_url}/v1/investigations", headers=AUTH).status_code == 200
