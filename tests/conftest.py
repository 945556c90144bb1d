"""Fixtures shared by the connector tests and the model-provider tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import respx
from llm_fixtures import make_world

from casefile.tools import retry as tools_retry


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make retry waits instant and record the durations chosen."""
    chosen: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        chosen.append(seconds)

    monkeypatch.setattr(tools_retry, "sleep", fake_sleep)
    return chosen


# --- the model-provider tests (OpenAI, Anthropic): a small world and a respx router


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_world(tmp_path_factory.mktemp("world"))


@pytest.fixture
async def toolbox(world_dir: Path) -> Any:
    from casefile.tools.world.loader import World

    box = World(world_dir).toolbox()
    yield box
    await box.aclose()


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(assert_all_called=False)
