"""The sidebar page in a real headless browser (Debian's chromium via Playwright) against a running service.

The service runs the offline investigator against the demo world, so the page shows what an agent
would see. The layout is checked at Zendesk's sidebar widths (320, 360, 400 px): nothing scrolls
sideways and the diagnosis head is visible without scrolling. Screenshots are saved under each
test's temp dir (pytest prints it with ``-rA``; ``--basetemp DIR`` puts them where you like).

Skipped, with the reason, when Playwright or chromium is not installed (CI installs both).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from quiet_server import QuietHTTPServer
from service_helpers import AUTH, TICKETS, TOKEN, serving_app, settings

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
# Zendesk's ticket sidebar is 320–400 px wide; the app asks for 600 px of height.
WIDTHS = [320, 360, 400]
HEIGHT = 600

# Every visible element that sticks out to the right of the viewport, as "tag#id.class: right edge".
OVERFLOWING = """() => {
  const limit = document.documentElement.clientWidth + 0.5;
  const out = [];
  for (const node of document.querySelectorAll('body *')) {
    const box = node.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right > limit) out.push(`${node.tagName}#${node.id}.${node.className}: ${Math.round(box.right)}`);
  }
  return {scrollWidth: document.documentElement.scrollWidth,
          clientWidth: document.documentElement.clientWidth, elements: out};
}"""


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
    """`casefile serve`'s app on a loopback port: the offline investigator against the demo world."""
    from casefile.agent.service.app import create_app
    from casefile.agent.store import Store

    db = Path(tempfile.mkdtemp(prefix="casefile-sidebar-")) / "casefile.sqlite3"
    store = Store(f"sqlite:///{db}")
    app = create_app(settings(), store=store)
    try:
        with serving_app(app) as url:
            yield url
    finally:
        store.close()
        shutil.rmtree(db.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(browser_available: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


def _page(browser: Any, service_url: str, width: int) -> Any:
    context = browser.new_context(viewport={"width": width, "height": HEIGHT})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=service_url)
    return context.new_page()


@contextmanager
def _opened(browser: Any, service_url: str, width: int) -> Iterator[Any]:
    """A page of the given width in a context of its own, closed after the test."""
    page = _page(browser, service_url, width)
    try:
        yield page
    finally:
        page.context.close()


def _submit(page: Any, url: str, ticket: str) -> None:
    """Open the page at ``url``, paste ``ticket`` (JSON) and start an investigation."""
    page.goto(url)
    page.fill("#ticket-input", ticket)
    page.click("#investigate")


def _investigate(page: Any, service_url: str, ticket: str) -> None:
    # The token rides in the fragment: it never reaches a server log. /app/ is the page itself.
    page.goto(f"{service_url}/app/#token={TOKEN}")
    assert page.is_visible("#standalone")
    page.fill("#ticket-input", (TICKETS / ticket).read_text())
    page.click("#investigate")
    page.wait_for_selector("#progress-section:not([hidden])", timeout=30_000)
    page.wait_for_selector("#diagnosis:not([hidden])", timeout=60_000)


def _api_view(service_url: str) -> dict[str, Any]:
    """The newest investigation as the API serves it (what the page rendered)."""
    listing = httpx.get(f"{service_url}/v1/investigations", headers=AUTH).json()
    newest = max(listing, key=lambda r: r["created_at"])
    view: dict[str, Any] = httpx.get(f"{service_url}/v1/investigations/{newest['id']}", headers=AUTH).json()
    return view


def _in_first_screen(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT


@pytest.mark.parametrize("width", WIDTHS)
def test_sidebar_fits_the_panel(browser: Any, service_url: str, width: int, tmp_path: Path) -> None:
    """The escalated regression (long SHAs, GitHub compare links, failing-request ids) at each width."""
    with _opened(browser, service_url, width) as page:
        _investigate(page, service_url, "export-regression.json")
        page.wait_for_function("document.getElementById('app').dataset.state === 'done'")
        page.screenshot(path=str(tmp_path / f"sidebar-{width}-first-screen.png"))
        page.screenshot(path=str(tmp_path / f"sidebar-{width}-full.png"), full_page=True)

        # Nothing scrolls sideways, and no element sticks out (text that merely overflowed a box
        # would not change scrollWidth if a parent clipped it).
        layout = page.evaluate(OVERFLOWING)
        assert layout["scrollWidth"] <= layout["clientWidth"], layout
        assert layout["elements"] == [], layout

        # The diagnosis head is the first thing under the header, without scrolling.
        assert page.evaluate("window.scrollY") == 0
        for selector in ("#summary", "#action", "#confidence"):
            assert _in_first_screen(page, selector), selector
        assert page.inner_text("#action") == "Escalate to Backend"
        # Plain words for the agent, not the routing rule's id.
        reason = page.inner_text("#action-reason")
        assert reason and "trigger rule" not in reason and "http-5xx" not in reason

        # Progress is one line until asked for.
        assert page.is_visible("#progress-line") and not page.is_visible("#progress")
        assert page.locator("#progress li").count() > 5
        assert "checks" in page.inner_text("#progress-line")

        # The full commit SHA is shortened on the page, complete on hover and when copied.
        sha = "7dec52f6778705434749704d9a80be74bdae366c"
        value = page.locator(f'#evidence [data-full="{sha}"]')
        assert value.count() == 1 and value.inner_text() == "7dec52f…"
        assert sha in (value.get_attribute("title") or "")
        value.click()
        page.wait_for_function("document.getElementById('status').textContent.startsWith('Copied')")
        assert page.evaluate("navigator.clipboard.readText()") == sha
        # Page text never carries the full SHA outside attributes.
        assert sha not in page.inner_text("body")


def test_sidebar_investigates_and_renders(browser: Any, service_url: str, tmp_path: Path) -> None:
    with _opened(browser, service_url, 400) as page:
        failed_requests: list[str] = []
        page.on("requestfailed", lambda r: failed_requests.append(r.url))
        _investigate(page, service_url, "429-spike.json")
        page.wait_for_function("document.getElementById('app').dataset.state === 'done'")
        view = _api_view(service_url)
        diagnosis = view["diagnosis"]

        assert "REL-482" in page.inner_text("#summary")
        assert page.inner_text("#action") == "Resolve"
        assert page.inner_text("#confidence") == f"{round(diagnosis['confidence']['score'] * 100)}% confident"
        assert page.is_hidden("#escalation")
        # The ticket input folded away once the investigation started.
        assert page.evaluate("document.getElementById('standalone').open") is False

        # The collapsed progress line expands into the full log.
        page.click("#progress-section > summary")
        progress = page.inner_text("#progress")
        assert "Investigating ticket T-1001" in progress
        assert "✓ bugs_search" in progress and "Diagnosis ready" in progress

        # Evidence: one row per item with its claim, then labelled Value and Source.
        rows = page.locator("#evidence li.evidence-item")
        assert rows.count() == len(diagnosis["evidence"])
        for i, item in enumerate(diagnosis["evidence"]):
            row = rows.nth(i)
            assert row.locator(".claim").inner_text() == item["claim"]
            assert row.locator("dt").all_inner_texts() == ["Value", "Source"]
            assert item["call_id"] in row.locator("dd").nth(1).inner_text()
        # The other causes weighed are folded under the root cause, each with its facts for and against.
        others = diagnosis["hypotheses"][1:]
        assert others, "the demo ticket weighs more than one cause"
        assert page.evaluate("document.getElementById('alternatives-details').open") is False
        assert page.inner_text("#alternatives-summary") == f"{len(others)} other causes considered"
        page.click("#alternatives-summary")
        alternatives = page.locator("#alternatives li.alternative")
        assert alternatives.count() == len(others)
        for i, cause in enumerate(others):
            shown = alternatives.nth(i).inner_text()
            assert cause["category"].replace("_", " ") in shown
            assert all(f"against: {e['claim']}" in shown for e in cause["refuting"])
        linear = page.locator('#evidence a.source-link[href*="linear.app"]').first
        assert linear.get_attribute("rel") == "noopener noreferrer"

        reply = page.inner_text("#draft-reply")
        assert reply == diagnosis["customer_reply"]
        page.click("#insert-reply")
        page.wait_for_function("document.getElementById('reply-box').value.length > 0")
        assert page.input_value("#reply-box") == reply

        page.screenshot(path=str(tmp_path / "sidebar-429-full.png"), full_page=True)
        # The standalone page never reaches outside the service (no ZAF SDK, no CDN).
        assert [u for u in failed_requests if not u.startswith(service_url)] == []


def test_sidebar_copies_the_packet_as_markdown(browser: Any, service_url: str) -> None:
    with _opened(browser, service_url, 320) as page:
        _investigate(page, service_url, "export-regression.json")
        page.wait_for_function("document.getElementById('app').dataset.state === 'done'")
        escalation = _api_view(service_url)["diagnosis"]["escalation"]
        assert page.inner_text("#escalation-team") == "Backend"
        page.click("#copy-packet")
        page.wait_for_function("document.getElementById('status').textContent.includes('copied')")
        clipboard = page.evaluate("navigator.clipboard.readText()")
        assert clipboard == escalation["packet_markdown"]
        assert clipboard.startswith("### Escalation → Backend")
        assert page.input_value("#packet-text") == clipboard
        layout = page.evaluate(OVERFLOWING)
        assert layout["elements"] == [], layout

        # Bounce-back: recorded against this investigation, with the article that answers it.
        page.click("#bounce > summary")
        page.fill("#bounce-article", "https://support.relayhq.dev/hc/articles/42")
        page.click("#bounce-send")  # no reason yet: refused in the page, nothing sent
        page.wait_for_function(
            "document.getElementById('status').textContent.includes('one or two sentences')"
        )
        page.fill("#bounce-note", "Known export bug with a documented workaround. The article has it.")
        with page.expect_response(lambda r: r.url.endswith("/feedback")) as answer:
            page.click("#bounce-send")
        assert answer.value.status == 201
        page.wait_for_function("document.getElementById('status').textContent === 'Bounce-back recorded.'")
        assert page.evaluate(OVERFLOWING)["elements"] == []


def test_sidebar_reports_a_bad_token(browser: Any, service_url: str) -> None:
    with _opened(browser, service_url, 320) as page:
        _submit(page, f"{service_url}/app/iframe.html#token=wrong", (TICKETS / "429-spike.json").read_text())
        page.wait_for_selector("#status.error")
        assert "not valid" in page.inner_text("#status")
        assert page.is_hidden("#diagnosis")


def test_app_path_serves_the_page(service_url: str) -> None:
    page = httpx.get(f"{service_url}/app/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    scripts = ["dom.js", "backends.js", "sidebar.js"]  # in the order each needs the one before
    positions = [page.text.index(f'src="{name}"') for name in scripts]
    assert positions == sorted(positions)
    for asset in [*scripts, "sidebar.css"]:
        assert httpx.get(f"{service_url}/app/{asset}").status_code == 200


def test_service_fixture_is_authenticated(service_url: str) -> None:
    assert httpx.get(f"{service_url}/v1/investigations").status_code == 401
    assert httpx.get(f"{service_url}/v1/investigations", headers=AUTH).status_code == 200


class _Collector:
    """A loopback HTTP server standing in for an attacker's host: records every request it gets."""

    def __init__(self) -> None:
        import http.server

        seen: list[dict[str, str]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self) -> None:
                seen.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        **{k.lower(): v for k, v in self.headers.items()},
                    }
                )
                self.send_response(200)
                # Permissive CORS, as an attacker's server would answer, so fetch() would go through.
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Headers", "*")
                self.send_header("Access-Control-Allow-Methods", "*")
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"id": "inv_x", "status": "done"}')

            do_GET = do_POST = do_OPTIONS = _record

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.seen = seen
        self.server = QuietHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("param", ["#service={evil}", "#token={token}&service={evil}", "?service={evil}"])
def test_a_crafted_link_cannot_send_the_token_elsewhere(browser: Any, service_url: str, param: str) -> None:
    """A link to the page naming another service must not make it send the stored bearer token there."""
    evil = _Collector()
    with _opened(browser, service_url, 400) as page:
        _investigate(page, service_url, "429-spike.json")  # the agent's token, kept for the session
        page.wait_for_function("document.getElementById('app').dataset.state === 'done'")
        page.goto("about:blank")  # the crafted link is a new page load in the same tab
        _submit(
            page,
            f"{service_url}/app/" + param.format(evil=evil.url, token=TOKEN),
            (TICKETS / "429-spike.json").read_text(),
        )
        page.wait_for_function("['done', 'failed'].includes(document.getElementById('app').dataset.state)")
        assert evil.seen == [], evil.seen
        assert page.evaluate("document.getElementById('app').dataset.state") == "done", page.inner_text(
            "#status"
        )
        evil.close()


# A stand-in for Zendesk's app framework: records what the page asks the proxy to send.
FAKE_ZAF = """
window.__requests = [];
window.ZAFClient = { init: function () { return {
  invoke: function () { return Promise.resolve(); },
  metadata: function () { return Promise.resolve({ appId: 42, settings: { service_url: window.__serviceUrl } }); },
  context: function () { return Promise.resolve({ account: { subdomain: 'relayhq' } }); },
  get: function (what) {
    if (what === 'currentUser') return Promise.resolve({ currentUser: { id: 7, email: 'sam@relayhq.dev' } });
    return Promise.resolve({ 'ticket.id': 48213 });
  },
  request: function (options) {
    window.__requests.push(options);
    return Promise.reject({ responseJSON: { error: { message: 'stopped by the test' } } });
  },
}; } };
"""


@pytest.mark.parametrize(
    ("service_setting", "sent_to"),
    [
        ("https://casefile.relayhq.dev/", "https://casefile.relayhq.dev/v1/investigations"),
        ("http://casefile.relayhq.dev", None),
    ],
)
def test_in_zendesk_the_service_comes_from_the_installation_settings(
    browser: Any, service_url: str, service_setting: str, sent_to: str | None
) -> None:
    with _opened(browser, service_url, 320) as page:
        page.add_init_script(f"window.__serviceUrl = {service_setting!r};")
        page.route(
            "https://static.zdassets.com/**",
            lambda route: route.fulfill(body=FAKE_ZAF, content_type="application/javascript"),
        )
        page.goto(
            f"{service_url}/app/?origin=https://relayhq.zendesk.com&app_guid=g1#service=https://evil.example"
        )
        if sent_to is None:  # an http service URL is refused before anything is sent
            page.wait_for_selector("#status.error")
            assert "https" in page.inner_text("#status")
            assert page.evaluate("window.__requests.length") == 0
            return
        page.wait_for_function("document.getElementById('app').dataset.mode === 'zendesk'")
        page.click("#investigate")
        page.wait_for_function("window.__requests.length > 0")
        sent = page.evaluate("window.__requests[0]")
        assert sent["url"] == sent_to and sent["secure"] is True
        assert sent["jwt"]["claims"]["iss"] == "https://relayhq.zendesk.com"
        assert sent["jwt"]["claims"]["aud"] == "casefile"
        assert "evil" not in str(sent)
