"""Delivering one weekly review: compute it, write the Markdown file, post to the channel.

The Slack post goes through a :data:`Poster`, so the review does not care how Slack is reached;
the service passes :func:`slack_poster`, the hand-off's Slack client (``slack_sdk``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from casefile.agent.metrics.compute import metrics_of
from casefile.agent.metrics.history import load_bounces, load_history
from casefile.agent.metrics.outcomes import OutcomeReader
from casefile.agent.metrics.review import WeeklyReview, build_review, render_markdown, render_slack
from casefile.agent.metrics.settings import ReviewSettings
from casefile.agent.store import Store

if TYPE_CHECKING:
    from casefile.agent.handoff.slack import SlackSettings

__all__ = ["Poster", "deliver_review", "review_path", "slack_poster"]

log = logging.getLogger("casefile.review")

_LOOK_BACK_S = 8 * 86400  # a slot is retried within its lease; a week and a day covers any retry

Poster = Callable[[str, str, str], Awaitable[None]]
"""Posts (channel, mrkdwn text, delivery key) to Slack, at most once per key; raises when it could not."""


def slack_poster(slack: SlackSettings, channel: str | None) -> Poster | None:
    """Posts through the hand-off's Slack client; a review already in the channel (posted before a
    crash, found by its delivery key) is not posted again. None when there is nowhere to post."""
    if channel is None:
        return None
    if not slack.can_post(channel):
        log.warning(
            "weekly review: no Slack webhook for %s and no bot token: it is written, not posted", channel
        )
        return None
    from casefile.agent.handoff.slack import SlackMessage, find_posted, post_to_slack

    async def post(channel: str, text: str, key: str) -> None:
        if await find_posted(slack, channel, key, oldest=time.time() - _LOOK_BACK_S) is not None:
            return
        await post_to_slack(slack, SlackMessage(channel=channel, text=text, key=key))

    return post


def review_path(directory: Path, slot: datetime) -> Path:
    """One file per slot: a retried slot overwrites its own file, never another's."""
    return directory / f"review-{slot:%Y-%m-%dT%H%MZ}.md"


async def deliver_review(
    store: Store,
    reader: OutcomeReader | None,
    settings: ReviewSettings,
    slot: datetime,
    *,
    poster: Poster | None,
    tenant: str | None = None,
) -> tuple[WeeklyReview, Path]:
    """The review of the ``settings.since`` window before ``slot``: written, then posted."""
    from casefile.agent.routing_cli import parse_since

    since = parse_since(settings.since, slot)
    rows, bounces = await asyncio.to_thread(  # the service runs this on its event loop
        lambda: (load_history(store, since, slot, tenant), load_bounces(store, tenant))
    )
    report = await metrics_of(rows, bounces, reader, since=since, until=slot)
    review = build_review(report, rows, bounces)
    path = review_path(settings.directory, slot)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".md.partial")
    partial.write_text(render_markdown(review), encoding="utf-8")
    os.replace(partial, path)  # a reader never sees half a review
    if settings.channel:
        if poster is None:
            log.warning(
                "weekly review written to %s; not posted to %s: Slack is not configured",
                path,
                settings.channel,
            )
        else:
            await poster(settings.channel, render_slack(review), f"weekly-review:{slot.isoformat()}")
    return review, path
