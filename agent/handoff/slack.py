"""Posting to Slack with the official ``slack_sdk``: the one Slack-posting function casefile has.

:func:`post_to_slack` sends one message to a channel: through the channel's incoming
webhook when one is configured (``[slack] webhooks``), else ``chat.postMessage`` with
the bot token (``SLACK_BOT_TOKEN``), Block Kit blocks with a plain-text fallback. The
hand-off uses it and so does the weekly review. Failures worth another try (Slack down,
HTTP 429 ``ratelimited`` with its ``Retry-After``, a connection error) are retried with
:mod:`casefile.tools.retry`'s policy; refusals (``channel_not_found``, ``invalid_auth``,
an archived channel) are raised at once as :class:`SlackError` with Slack's own error.

``slack_sdk``'s synchronous clients speak through ``urllib``, so each call runs in a
thread; their own retry handlers are switched off so there is one retry policy.
:func:`find_posted` reads a channel's recent history for a message carrying a delivery
key in its metadata: how a restarted sender learns that its message already went out.
"""

from __future__ import annotations

import asyncio
import urllib.error
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr

from casefile.tools.retry import RetryPolicy, parse_retry_after, run_with_retries

__all__ = [
    "METADATA_EVENT",
    "SLACK_POLICY",
    "SlackError",
    "SlackMessage",
    "SlackReceipt",
    "SlackSettings",
    "find_posted",
    "post_to_slack",
]

METADATA_EVENT = "casefile_delivery"
SLACK_POLICY = RetryPolicy(attempts=3, total_wait_s=20.0, max_wait_s=10.0)
_TRANSIENT_WEBHOOK = {429, 500, 502, 503, 504}


class SlackSettings(BaseModel):
    """``[slack]`` in casefile.toml; the environment's ``SLACK_BOT_TOKEN`` and ``CASEFILE_SLACK_WEBHOOKS`` win."""

    bot_token: SecretStr | None = Field(default=None, description="xoxb-… token with chat:write")
    webhooks: dict[str, SecretStr] = Field(
        default_factory=dict, description="channel → incoming webhook URL (a webhook posts to one channel)"
    )
    api_url: str = Field(default="https://slack.com/api/", description="the Web API's base URL")
    timeout_s: float = Field(default=10.0, gt=0)
    link_secret: SecretStr | None = Field(
        default=None, description="signs the bounce-back link in hand-off messages (none: no link)"
    )

    def can_post(self, channel: str) -> bool:
        """Whether a message to ``channel`` has a way out (its webhook, or the bot token)."""
        return self.webhook_for(channel) is not None or self.bot_token is not None

    def webhook_for(self, channel: str) -> SecretStr | None:
        want = channel.lstrip("#")
        return next((url for name, url in self.webhooks.items() if name.lstrip("#") == want), None)


class SlackMessage(BaseModel):
    """One message: fallback text (notifications, clients without blocks), Block Kit blocks, metadata."""

    channel: str
    text: str
    blocks: list[dict[str, Any]] = Field(default_factory=list)
    key: str | None = Field(default=None, description="a delivery key, carried in the message's metadata")


class SlackReceipt(BaseModel):
    channel: str = Field(description="the channel's id when Slack said it, else the channel as configured")
    ts: str | None = Field(default=None, description="the message's timestamp (chat.postMessage only)")
    via: Literal["webhook", "api"]


class SlackError(Exception):
    """Slack refused or could not be reached; ``error`` is Slack's own code (``channel_not_found``…)."""

    def __init__(self, error: str, *, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.transient = transient
        self.retry_after = retry_after


def _web_client(settings: SlackSettings) -> Any:
    from slack_sdk import WebClient

    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    return WebClient(
        token=token, base_url=settings.api_url, timeout=int(settings.timeout_s), retry_handlers=[]
    )


def _api_error(exc: Exception) -> SlackError:
    from slack_sdk.errors import SlackApiError

    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        error = str(exc.response.get("error") or f"HTTP {status}")
        retry_after = parse_retry_after(
            exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
        )
        return SlackError(error, transient=status == 429 or status >= 500, retry_after=retry_after)
    if isinstance(exc, (urllib.error.URLError, OSError, TimeoutError)):
        return SlackError(f"unreachable: {type(exc).__name__}", transient=True)
    return SlackError(f"{type(exc).__name__}: {exc}", transient=False)


def _post_once(settings: SlackSettings, message: SlackMessage) -> SlackReceipt:
    webhook = settings.webhook_for(message.channel)
    if webhook is not None:
        from slack_sdk.webhook import WebhookClient

        client = WebhookClient(webhook.get_secret_value(), timeout=int(settings.timeout_s), retry_handlers=[])
        try:
            response = client.send(text=message.text, blocks=message.blocks or None)
        except Exception as exc:
            raise _api_error(exc) from None
        if response.status_code != 200:
            retry_after = parse_retry_after(
                (response.headers or {}).get("Retry-After") or (response.headers or {}).get("retry-after")
            )
            raise SlackError(
                response.body or f"HTTP {response.status_code}",
                transient=response.status_code in _TRANSIENT_WEBHOOK,
                retry_after=retry_after,
            )
        return SlackReceipt(channel=message.channel, via="webhook")
    if settings.bot_token is None:
        raise SlackError(f"no webhook for {message.channel} and no bot token", transient=False)
    metadata = {"event_type": METADATA_EVENT, "event_payload": {"key": message.key}} if message.key else None
    try:
        response = _web_client(settings).chat_postMessage(
            channel=message.channel, text=message.text, blocks=message.blocks or None, metadata=metadata
        )
    except Exception as exc:
        raise _api_error(exc) from None
    return SlackReceipt(
        channel=str(response.get("channel") or message.channel), ts=response.get("ts"), via="api"
    )


def _retry_after(exc: BaseException) -> float | bool | None:
    if isinstance(exc, SlackError) and exc.transient:
        return exc.retry_after
    return False


async def post_to_slack(
    settings: SlackSettings, message: SlackMessage, *, policy: RetryPolicy = SLACK_POLICY
) -> SlackReceipt:
    """Post ``message`` once it gets through (retrying what is transient); :class:`SlackError` otherwise."""
    return await run_with_retries(
        lambda: asyncio.to_thread(_post_once, settings, message), policy=policy, retry_after=_retry_after
    )


def _find_once(settings: SlackSettings, channel: str, key: str, oldest: float) -> SlackReceipt | None:
    try:
        response = _web_client(settings).conversations_history(
            channel=channel, oldest=f"{oldest:.6f}", include_all_metadata=True, limit=200
        )
    except Exception as exc:
        raise _api_error(exc) from None
    for item in response.get("messages") or []:
        meta = item.get("metadata") or {}
        if meta.get("event_type") == METADATA_EVENT and (meta.get("event_payload") or {}).get("key") == key:
            return SlackReceipt(channel=channel, ts=item.get("ts"), via="api")
    return None


async def find_posted(
    settings: SlackSettings, channel: str, key: str, *, oldest: float
) -> SlackReceipt | None:
    """The message carrying delivery ``key`` posted to ``channel`` after ``oldest`` (epoch seconds), if any.

    Only the Web API can read a channel back; a webhook channel answers None (unknown)."""
    if settings.webhook_for(channel) is not None or settings.bot_token is None:
        return None
    return await run_with_retries(
        lambda: asyncio.to_thread(_find_once, settings, channel, key, oldest),
        policy=SLACK_POLICY,
        retry_after=_retry_after,
    )
