"""The support dashboard in a real headless browser against a service holding 200 seeded
investigations: every figure it shows equals ``GET /v1/reports/metrics``'s and
``casefile report metrics --json``'s; the charts have a mark per team, category and week.

Skipped, with the reason, when Playwright or chromium is not installed (CI installs both).
``CASEFILE_DASHBOARD_SCREENSHOT=path.png`` saves a full-page screenshot there as well.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from metrics_seed import END, START, seed_history
from service_helpers import AUTH, TOKEN, light_env, serving_app, settings
from test_sidebar_browser import browser, browser_available  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.usefixtures("browser_available")

WINDOW = {"since": START.isoformat().replace("+00:00", "Z"), "until": END.isoformat().replace("+00:00", "Z")}


@pytest.fixture(scope="module")
def seeded_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from casefile.agent.service.app import create_app
    from casefile.agent.store import Store
    from casefile.tools.world.loader import World

    root = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{root / 'casefile.sqlite3'}"
    store = Store(url)
    seeded = seed_history(store, root / "world", n=200)
    assert seeded.world is not None
    app = create_app(
        settings(), env=light_env(), store=store, helpdesk_transport=World(seeded.world).transport
    )
    try:
        with serving_app(app) as base:
            yield {"url": base, "db": url, "world": seeded.world}
    finally:
        store.close()


def _at(report: dict[str, Any], path: str) -> Any:
    """A figure's value in the report: ``total.x.y``, or ``by_team.<key>.x`` (keys may hold dots)."""
    section, rest = path.split(".", 1)
    if section == "total":
        node: Any = report["total"]
    else:
        rows = {row["key" if section != "by_trigger" else "rule"]: row for row in report[section]}
        key = next(k for k in sorted(rows, key=len, reverse=True) if rest.startswith(k + "."))
        node, rest = rows[key], rest[len(key) + 1 :]
    for part in rest.split("."):
        node = node[part]
    return node


def _shown(text: str) -> float | None:
    """The number a figure's text shows, in the report's unit (a rate, seconds, a count)."""
    if text == "–":
        return None
    m = re.fullmatch(r"(-?[\d.]+)(%| s| min| h)?", text)
    assert m, f"unexpected figure text {text!r}"
    scale = {"%": 0.01, " s": 1, " min": 60, " h": 3600, None: 1}[m.group(2)]
    return float(m.group(1)) * scale


def _tolerance(text: str) -> float:
    # What one decimal place of the shown unit can be off by.
    return (
        0.0005
        if text.endswith("%")
        else 0.05 * (3600 if text.endswith(" h") else 60 if text.endswith(" min") else 1)
    )


def test_the_dashboard_shows_the_endpoint_s_and_the_cli_s_figures(
    browser: Any,  # noqa: F811
    seeded_service: dict[str, Any],
    tmp_path: Path,
) -> None:
    base = seeded_service["url"]
    endpoint = httpx.get(f"{base}/v1/reports/metrics", params=WINDOW, headers=AUTH, timeout=30).json()
    assert endpoint["total"]["investigations"] == 200

    # The command as a user runs it (a process of its own: Playwright holds this thread's event loop).
    window = ["--since", WINDOW["since"], "--until", WINDOW["until"], "--world", str(seeded_service["world"])]
    store = ["--database-url", seeded_service["db"]]
    cli = subprocess.run(
        [sys.executable, "-m", "casefile.agent.cli", "report", "metrics", "--json", *window, *store],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout) == endpoint

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    query = "&".join(f"{k}={v}" for k, v in WINDOW.items())
    page.goto(f"{base}/dashboard?{query}#token={TOKEN}")
    page.wait_for_selector("body[data-loaded]", timeout=30_000)
    assert page.get_attribute("body", "data-loaded") == "true", page.inner_text("#status")
    assert "token" not in page.url  # the token left the address bar
    shown = page.eval_on_selector_all(
        "[data-figure]", "els => els.map(e => [e.dataset.figure, e.dataset.value, e.textContent])"
    )
    paths = {path for path, _, _ in shown}
    for path, value, text in shown:
        expected = _at(endpoint, path)
        assert (None if value == "" else float(value)) == expected, path
        number = _shown(text)
        assert (number is None) == (expected is None), (path, text)
        if expected is not None:
            assert abs(number - expected) <= _tolerance(text), (path, text, expected)
    total = {f"total.{k}" for k in ("investigations", "escalation_rate", "bounce_rate", "fcr_rate")}
    assert total <= paths
    for section, figure in (("by_team", "bounce_rate"), ("by_category", "fcr_rate"), ("by_week", "fcr_rate")):
        for row in endpoint[section]:
            assert f"{section}.{row['key']}.{figure}" in paths
    assert {f"by_trigger.{line['rule']}.bounce_rate" for line in endpoint["by_trigger"]} <= paths
    # The largest shared causes, and a link to the clusters page over the same window.
    assert endpoint["top_clusters"], "the seeded incidents share a cause"
    assert {f"top_clusters.{c['key']}.size" for c in endpoint["top_clusters"]} <= paths
    link = page.get_attribute("#clusters-link", "href")
    assert link is not None and link.startswith("/clusters?since=2026-11-02")

    # The charts: a bar per team and per category, a point per week and rate.
    bars = page.eval_on_selector_all(
        "#chart-teams rect.bar", "els => els.map(e => [e.dataset.key, +e.dataset.value])"
    )
    assert bars == [[row["key"], row["escalations"]] for row in endpoint["by_team"]]
    assert page.locator("#chart-categories rect.bar").count() == len(endpoint["by_category"])
    points = page.eval_on_selector_all(
        "#chart-weeks circle.point",
        "els => els.map(e => [e.dataset.series, e.dataset.week, +e.dataset.value])",
    )
    expected_points = [
        [series, week["key"], week[series]]
        for series in ("escalation_rate", "fcr_rate", "bounce_rate")
        for week in endpoint["by_week"]
        if week[series] is not None
    ]
    assert points == expected_points and len(points) >= 8

    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    if os.environ.get("CASEFILE_DASHBOARD_SCREENSHOT"):
        page.screenshot(path=os.environ["CASEFILE_DASHBOARD_SCREENSHOT"], full_page=True)
