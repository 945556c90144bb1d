"""Providers live as long as the environment; conversations as long as one investigation.

The service runs many investigations through one :class:`Environment`: they must share
one SDK client (one connection pool) while none of them sees another's conversation.
"""

from __future__ import annotations

import pytest
import respx
from llm_fixtures import DIRECTORY, RUNBOOK, RespxBridge, make_ticket, request_json
from provider_wires import OPENAI

from casefile.agent.config import Settings
from casefile.agent.models import get_model, get_provider
from casefile.agent.models import openai as openai_provider
from casefile.agent.models.offline import OfflineModel, OfflineProvider
from casefile.agent.pipeline import Environment, run_investigation
from casefile.tools.base import Toolbox

URL = OPENAI.url
SPEC = OPENAI.spec


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    OPENAI.set_key(monkeypatch)


def _environment(toolbox: Toolbox) -> Environment:
    return Environment(toolbox, DIRECTORY, [RUNBOOK], None, "test")


async def test_investigations_share_one_client_but_not_a_conversation(
    router: respx.MockRouter, toolbox: Toolbox
) -> None:
    router.post(URL).mock(return_value=OPENAI.submit())
    settings = Settings(model=SPEC)
    env = _environment(toolbox)
    provider = openai_provider.connect("gpt-4.1", settings, transport=RespxBridge(router))
    env.providers[SPEC] = provider

    await run_investigation(make_ticket(), env, settings)
    first_run_requests = len(router.calls)
    assert first_run_requests >= 1
    assert not provider.client.is_closed(), "an investigation closed the shared client"

    await run_investigation(make_ticket("Every webhook since noon is missing."), env, settings)
    assert env.providers == {SPEC: provider}, "a second provider was built for the same model"
    opening = request_json(router, first_run_requests)["messages"]
    assert [m["role"] for m in opening] == ["system", "user"], (
        "the second investigation saw the first's turns"
    )
    assert "webhook" in opening[1]["content"]

    await env.release_providers()
    assert provider.client.is_closed() and env.providers == {}


async def test_the_environment_builds_a_provider_once_per_model(toolbox: Toolbox) -> None:
    env = _environment(toolbox)
    first = env.conversation(Settings(model=SPEC))
    second = env.conversation(Settings(model=SPEC))
    assert first is not second
    assert isinstance(first, openai_provider.OpenAIModel) and isinstance(second, openai_provider.OpenAIModel)
    assert first.client is second.client
    offline = env.conversation(Settings(model="offline"))
    assert isinstance(offline, OfflineModel)
    assert set(env.providers) == {SPEC, "offline"}
    await env.aclose()
    assert first.client.is_closed() and env.providers == {}


async def test_a_one_off_model_owns_and_closes_its_client() -> None:
    model = get_model(SPEC, Settings())
    assert isinstance(model, openai_provider.OpenAIModel)
    await model.aclose()
    assert model.client.is_closed()


async def test_a_shared_conversation_leaves_the_client_open() -> None:
    provider = get_provider(SPEC, Settings())
    model = provider.conversation()
    await model.aclose()
    assert isinstance(provider, openai_provider.OpenAIProvider)
    assert not provider.client.is_closed()
    await provider.aclose()
    assert provider.client.is_closed()


def test_offline_is_a_provider_too() -> None:
    provider = get_provider("offline")
    assert isinstance(provider, OfflineProvider)
    assert isinstance(provider.conversation(), OfflineModel)
