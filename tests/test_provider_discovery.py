"""Providers are found by name: ``<prefix>:<model>`` is ``casefile.agent.models.<prefix>.connect``,
else a plug-in's ``casefile.providers`` entry point. No list names them."""

from __future__ import annotations

import importlib.machinery
import sys
import types
from importlib.metadata import EntryPoint

import pytest

from casefile.agent import models
from casefile.agent.errors import UsageError
from casefile.agent.models import get_provider
from casefile.agent.models.offline import OfflineProvider


def test_a_provider_is_found_by_its_module_or_its_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    built_in = types.ModuleType("casefile.agent.models.toyai")
    built_in.__spec__ = importlib.machinery.ModuleSpec(built_in.__name__, None)
    built_in.connect = lambda name, settings: OfflineProvider()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, built_in.__name__, built_in)
    assert isinstance(get_provider("toyai:m1"), OfflineProvider)

    plugin = types.ModuleType("toyai_plugin")
    plugin.connect = lambda name, settings: OfflineProvider()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "toyai_plugin", plugin)
    entry = EntryPoint(name="plugai", value="toyai_plugin:connect", group=models.ENTRY_POINT_GROUP)
    monkeypatch.setattr(
        models, "entry_points", lambda group, name=None: [e for e in [entry] if name in (None, e.name)]
    )
    assert isinstance(get_provider("plugai:m1"), OfflineProvider)
    assert "plugai" in models.providers() and "openai" in models.providers()
    for spec in ("nope:m", "scripted:m", "openai"):  # not a provider, a module without connect, no model
        with pytest.raises(UsageError, match=r"unknown model .*; use offline or .*openai:<model>"):
            get_provider(spec)
