"""Fixtures shared by the connector tests."""

from __future__ import annotations

import pytest

import tools.retry


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make retry waits instant and record the durations chosen."""
    chosen: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        chosen.append(seconds)

    monkeypatch.setattr(tools.retry, "sleep", fake_sleep)
    return chosen
