"""The weekly review on a schedule: cron slots, once per slot across restarts and replicas
(the store's leases), an injected clock, one suggestion per cause, the file and the post."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from metrics_seed import diagnosis

from casefile.agent.investigation import Investigation
from casefile.agent.metrics.deliver import deliver_review, review_path
from casefile.agent.metrics.history import load_bounces, load_history
from casefile.agent.metrics.review import cause_of, suggestions
from casefile.agent.metrics.schedule import ReviewScheduler, latest_slot, next_slot
from casefile.agent.metrics.settings import ReviewSettings
from casefile.agent.metrics.slots import MAX_ATTEMPTS, SlotLeases
from casefile.agent.store import Store
from casefile.agent.ticket import Signals, Ticket

MONDAY_8 = datetime(2026, 11, 30, 8, tzinfo=UTC)
CRON = "0 8 * * MON"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'casefile.sqlite3'}"


def _scheduler(
    url: str, clock: Clock, runs: list[datetime], **review: object
) -> tuple[ReviewScheduler, Store]:
    store = Store(url)

    async def run(slot: datetime) -> None:
        runs.append(slot)

    settings = ReviewSettings(cron=CRON, **review)  # type: ignore[arg-type]
    return ReviewScheduler(SlotLeases(store), settings, run, clock=clock, sleep=clock.sleep), store


def test_slots_are_the_cron_expression_s_times() -> None:
    assert latest_slot(CRON, MONDAY_8) == MONDAY_8
    assert latest_slot(CRON, MONDAY_8 - timedelta(seconds=1)) == MONDAY_8 - timedelta(weeks=1)
    assert next_slot(CRON, MONDAY_8) == MONDAY_8 + timedelta(weeks=1)


def test_a_bad_cron_expression_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="not a cron expression"):
        ReviewSettings(cron="0 25 * * MON")
    assert ReviewSettings(cron="  ").cron is None


async def test_a_slot_runs_once_across_restarts_and_replicas(store_url: str) -> None:
    clock, runs = Clock(MONDAY_8 + timedelta(seconds=30)), []
    first, store1 = _scheduler(store_url, clock, runs)
    replica, store2 = _scheduler(store_url, clock, runs)
    try:
        assert await first.tick() == MONDAY_8
        assert await first.tick() is None  # the same process, again
        assert await replica.tick() is None  # another replica on the same store
        restarted, store3 = _scheduler(store_url, clock, runs)  # a restart: a new owner, same store
        assert await restarted.tick() is None
        store3.close()
        clock.now += timedelta(weeks=1)
        assert await replica.tick() == MONDAY_8 + timedelta(weeks=1)
        assert await first.tick() is None
    finally:
        store1.close()
        store2.close()
    assert runs == [MONDAY_8, MONDAY_8 + timedelta(weeks=1)]


async def test_replicas_racing_for_a_slot_run_it_once(store_url: str) -> None:
    clock, runs = Clock(MONDAY_8 + timedelta(seconds=5)), []
    pairs = [_scheduler(store_url, clock, runs) for _ in range(4)]
    try:
        won = await asyncio.gather(*(s.tick() for s, _ in pairs))
    finally:
        for _, store in pairs:
            store.close()
    assert runs == [MONDAY_8] and won.count(MONDAY_8) == 1


async def test_a_slot_missed_while_down_is_skipped_not_run_late(store_url: str) -> None:
    clock, runs = Clock(MONDAY_8 + timedelta(hours=3)), []
    scheduler, store = _scheduler(store_url, clock, runs, catch_up_s=3600)
    try:
        assert await scheduler.tick() is None
    finally:
        store.close()
    assert runs == []


async def test_a_failed_run_is_retried_then_given_up(store_url: str) -> None:
    clock, attempts = Clock(MONDAY_8), []
    store = Store(store_url)

    async def run(slot: datetime) -> None:
        attempts.append(slot)
        raise ConnectionError("Slack is down")

    scheduler = ReviewScheduler(SlotLeases(store), ReviewSettings(cron=CRON), run, clock=clock)
    try:
        for _ in range(MAX_ATTEMPTS + 2):
            assert await scheduler.tick() is None
    finally:
        store.close()
    assert len(attempts) == MAX_ATTEMPTS


async def test_the_loop_sleeps_to_each_slot_on_an_injected_clock(store_url: str) -> None:
    clock, runs = Clock(MONDAY_8 - timedelta(days=2)), []
    scheduler, store = _scheduler(store_url, clock, runs, poll_s=86_400)
    task = asyncio.create_task(scheduler.run_forever())
    try:
        while clock.now < MONDAY_8 + timedelta(weeks=2, hours=1):
            await asyncio.sleep(0)
    finally:
        task.cancel()
        store.close()
    assert runs == [MONDAY_8, MONDAY_8 + timedelta(weeks=1), MONDAY_8 + timedelta(weeks=2)]


# ------------------------------------------------------------------ the review itself


def _escalate(
    store: Store, ticket_id: str, category: str, rule: str | None, runbooks: list[str], at: datetime
) -> str:
    made = diagnosis(ticket_id, category, "backend", rule).model_copy(update={"runbooks": runbooks})
    ticket = Ticket(id=ticket_id, body="b", created_at=at - timedelta(minutes=5))
    inv = store.create_investigation(ticket, source="webhook", requested_by="t")
    signals = Signals(window_start=at, window_end=at)
    store.save_result(inv, Investigation(made, signals, [], []), "t", started_at=at)
    return inv


def _history(store: Store) -> list[str]:
    now = datetime.now(UTC)
    invs = [
        # One bounce through a trigger rule, whatever runbooks and symptom it also touched.
        _escalate(store, "1", "platform_incident", "5xx-storm", ["rb-a", "rb-b", "rb-c"], now),
        # Two bounces of the same runbook (no trigger): one cause, two escalations prevented.
        _escalate(store, "2", "rate_limit", None, ["rb-limits"], now),
        _escalate(store, "3", "rate_limit", None, ["rb-limits", "rb-a"], now),
        _escalate(store, "4", "rate_limit", None, ["rb-limits"], now),  # not bounced
    ]
    store.add_feedback(invs[0], bounced=True, article="https://help.example.test/a/1", note="n", by="eng")
    for inv in invs[1:3]:
        store.add_feedback(inv, bounced=True, article="https://help.example.test/a/2", note="n", by="eng")
    return invs


def test_one_suggestion_per_cause_ranked_by_escalations_prevented(store_url: str) -> None:
    store = Store(store_url)
    try:
        _history(store)
        now = datetime.now(UTC)
        rows = load_history(store, now - timedelta(days=1), now + timedelta(minutes=1), None)
        found = suggestions([c for c in map(cause_of, rows) if c], load_bounces(store, None))
    finally:
        store.close()
    assert [(s.lever, s.name, s.prevented, s.escalations) for s in found] == [
        ("runbook", "rb-limits", 2, 3),
        ("trigger", "5xx-storm", 1, 1),
    ]
    assert found[0].articles == ["https://help.example.test/a/2"]
    assert "https://help.example.test/a/2" in found[0].text and "rate_limit" in found[0].text


async def test_a_review_is_written_and_posted_once(store_url: str, tmp_path: Path) -> None:
    store = Store(store_url)
    posted: list[tuple[str, str]] = []
    keys: list[str] = []

    async def poster(channel: str, text: str, key: str) -> None:
        posted.append((channel, text))
        keys.append(key)

    settings = ReviewSettings(cron=CRON, channel="#support-leads", directory=tmp_path / "reviews")
    slot = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    try:
        _history(store)
        review, path = await deliver_review(store, None, settings, slot, poster=poster)
    finally:
        store.close()
    assert path == review_path(tmp_path / "reviews", slot) and path.is_file()
    text = path.read_text()
    assert "| escalation rate | 100.0% (4) |" in text
    assert "1. **runbook rb-limits**: would have prevented 2 of its 3 escalation(s)." in text
    assert text.count("**trigger 5xx-storm**") == 1
    assert [c for c, _ in posted] == ["#support-leads"] and keys == [f"weekly-review:{slot.isoformat()}"]
    assert "bounce rate 75.0%" in posted[0][1] and "(prevents 2)" in posted[0][1]
    assert review.metrics.total.bounced == 3


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_replicas_claiming_at_the_same_moment_get_one_slot(
    dialect: str, store_url: str, request: pytest.FixtureRequest
) -> None:
    """Four processes' stores claim one slot from four threads: one wins, on either database."""
    from concurrent.futures import ThreadPoolExecutor

    url = store_url if dialect == "sqlite" else request.getfixturevalue("postgres_url")
    stores = [Store(url) for _ in range(4)]
    leases = [SlotLeases(s) for s in stores]
    slot = MONDAY_8
    try:
        with ThreadPoolExecutor(4) as pool:
            won = list(pool.map(lambda i: leases[i].claim("race", slot, f"r{i}", 60, slot), range(4)))
        assert won.count(True) == 1
        winner = won.index(True)
        assert leases[winner].finish("race", slot, f"r{winner}", slot)
        assert not any(lease.claim("race", slot, "late", 60, slot + timedelta(hours=1)) for lease in leases)
        assert slot in leases[0].done("race")
    finally:
        for s in stores:
            s.close()


def test_casefile_serve_runs_the_schedule(tmp_path: Path) -> None:
    """Inside the service: at start-up the current slot is due, so its review is written at once."""
    import time

    from fastapi.testclient import TestClient
    from service_helpers import light_env, settings

    from casefile.agent.metrics.settings import ReviewSettings
    from casefile.agent.service.app import create_app

    review = ReviewSettings(cron="* * * * *", directory=tmp_path / "reviews", catch_up_s=120)
    store = Store(f"sqlite:///{tmp_path / 'serve.sqlite3'}")
    app = create_app(settings(review=review), env=light_env(), store=store)
    try:
        with TestClient(app):
            deadline = time.monotonic() + 20
            # Until the slot is marked done (after the file is written; the slot's writes run in a
            # thread, off the service's event loop), not merely until the file exists.
            while not SlotLeases(store).done("weekly-review") and time.monotonic() < deadline:
                time.sleep(0.05)
        (written,) = (tmp_path / "reviews").glob("review-*.md")
        assert written.read_text().startswith("# Weekly support review:")
        assert len(SlotLeases(store).done("weekly-review")) == 1
    finally:
        store.close()


async def test_the_review_reaches_slack_once_through_the_hand_off_s_client(
    store_url: str, tmp_path: Path
) -> None:
    """slack_sdk against the Slack stand-in on loopback: one message, and a retried slot (a crash after
    posting, before the slot was marked done) finds it in the channel and does not post again."""
    from pydantic import SecretStr

    from casefile.agent.handoff.slack import SlackSettings
    from casefile.agent.metrics.deliver import slack_poster
    from casefile.tools.world.emulate_slack import WORLD_TOKEN, SlackWorkspace
    from casefile.tools.world.loopback import LoopbackServer

    workspace = SlackWorkspace(["#support-leads"])
    settings = ReviewSettings(cron=CRON, channel="#support-leads", directory=tmp_path / "reviews")
    store = Store(store_url)
    slot = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    try:
        _history(store)
        with LoopbackServer(workspace.handle) as server:
            slack = SlackSettings(bot_token=SecretStr(WORLD_TOKEN), api_url=server.url + "/api/")
            poster = slack_poster(slack, settings.channel)
            assert poster is not None
            await deliver_review(store, None, settings, slot, poster=poster)
            await deliver_review(store, None, settings, slot, poster=poster)  # the same slot, retried
    finally:
        store.close()
    (message,) = workspace.messages
    assert "*Weekly support review*" in message.text and "(prevents 2)" in message.text
    assert slack_poster(SlackSettings(), "#support-leads") is None  # no token, no webhook: file only
