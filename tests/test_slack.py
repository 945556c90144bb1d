"""Slack posting through the official slack_sdk against the Slack stand-in on loopback (its wire format)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from casefile.agent.handoff.slack import (
    SlackError,
    SlackMessage,
    SlackSettings,
    find_posted,
    post_to_slack,
)
from casefile.tools import retry as tools_retry
from casefile.tools.world.emulate_slack import WORLD_TOKEN, SlackWorkspace
from casefile.tools.world.loopback import LoopbackServer

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Escalation → Backend*"}}]


@pytest.fixture
def slack() -> Iterator[tuple[SlackWorkspace, LoopbackServer]]:
    workspace = SlackWorkspace(["#eng-backend", "#sre-oncall"])
    with LoopbackServer(workspace.handle) as server:
        yield workspace, server


def _bot(server: LoopbackServer, token: str = WORLD_TOKEN) -> SlackSettings:
    return SlackSettings(bot_token=SecretStr(token), api_url=server.url + "/api/")


async def test_chat_post_message_with_blocks_and_a_delivery_key(
    slack: tuple[SlackWorkspace, LoopbackServer],
) -> None:
    workspace, server = slack
    message = SlackMessage(
        channel="#eng-backend", text="Escalation → Backend", blocks=BLOCKS, key="inv_1/slack"
    )
    receipt = await post_to_slack(_bot(server), message)
    [posted] = workspace.in_channel("#eng-backend")
    assert receipt.via == "api" and receipt.channel == posted.channel and receipt.ts == posted.ts
    assert posted.blocks == BLOCKS and posted.text == "Escalation → Backend"
    assert posted.metadata == {"event_type": "casefile_delivery", "event_payload": {"key": "inv_1/slack"}}
    assert server.requests == [("POST", "127.0.0.1", "/api/chat.postMessage")]
    # A restarted sender finds it by its key in the channel's history.
    found = await find_posted(_bot(server), "#eng-backend", "inv_1/slack", oldest=0)
    assert found is not None and found.ts == posted.ts
    assert await find_posted(_bot(server), "#eng-backend", "inv_2/slack", oldest=0) is None


async def test_an_incoming_webhook_posts_to_its_channel(slack: tuple[SlackWorkspace, LoopbackServer]) -> None:
    workspace, server = slack
    url = server.url + workspace.webhook_path("#sre-oncall")
    settings = SlackSettings(webhooks={"#sre-oncall": SecretStr(url)})
    receipt = await post_to_slack(settings, SlackMessage(channel="sre-oncall", text="hi", blocks=BLOCKS))
    assert receipt.via == "webhook"
    assert [m.via for m in workspace.in_channel("#sre-oncall")] == ["webhook"]
    # A webhook channel cannot be read back: finding is "unknown", never a false "not posted".
    assert await find_posted(settings, "#sre-oncall", "k", oldest=0) is None


@pytest.mark.parametrize(
    ("channel", "token", "error"),
    [
        ("#nowhere", WORLD_TOKEN, "channel_not_found"),
        ("#eng-backend", "xoxb-someone-else", "invalid_auth"),
    ],
)
async def test_refusals_are_raised_at_once_with_slacks_error(
    slack: tuple[SlackWorkspace, LoopbackServer], channel: str, token: str, error: str
) -> None:
    workspace, server = slack
    with pytest.raises(SlackError) as caught:
        await post_to_slack(_bot(server, token), SlackMessage(channel=channel, text="x"))
    assert caught.value.error == error and not caught.value.transient
    assert len(server.requests) == 1 and workspace.messages == []


async def test_ratelimited_waits_for_retry_after_then_posts(
    slack: tuple[SlackWorkspace, LoopbackServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace, server = slack
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(tools_retry, "sleep", no_sleep)
    workspace.fail_next(1, status=429, retry_after=7)
    await post_to_slack(_bot(server), SlackMessage(channel="#eng-backend", text="x"))
    assert waits == [7.0] and len(workspace.messages) == 1 and len(server.requests) == 2


async def test_slack_down_is_transient_and_posts_nothing(
    slack: tuple[SlackWorkspace, LoopbackServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace, server = slack

    async def no_sleep(seconds: float) -> None:
        return None

    monkeypatch.setattr(tools_retry, "sleep", no_sleep)
    url = server.url + workspace.webhook_path("#eng-backend")
    for settings in (_bot(server), SlackSettings(webhooks={"#eng-backend": SecretStr(url)})):
        workspace.fail_next(3, status=503)
        with pytest.raises(SlackError) as caught:
            await post_to_slack(settings, SlackMessage(channel="#eng-backend", text="x"))
        assert caught.value.transient
    assert workspace.messages == []


async def test_webhook_errors_in_slacks_words(slack: tuple[SlackWorkspace, LoopbackServer]) -> None:
    workspace, server = slack
    url = server.url + workspace.webhook_path("#eng-backend")
    workspace.archive("#eng-backend")
    with pytest.raises(SlackError) as caught:
        await post_to_slack(
            SlackSettings(webhooks={"#eng-backend": SecretStr(url)}),
            SlackMessage(channel="#eng-backend", text="x"),
        )
    assert caught.value.error == "channel_is_archived" and not caught.value.transient
    with pytest.raises(SlackError) as caught:
        await post_to_slack(
            SlackSettings(webhooks={"#x": SecretStr(server.url + "/services/T0/B0/nope")}),
            SlackMessage(channel="#x", text="x"),
        )
    assert caught.value.error == "no_service"
