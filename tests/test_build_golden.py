"""The demo world's golden cases are what ``golden.cases.yaml`` builds, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from casefile.evals.build_golden import ROOT, GoldenCase, load_cases, write_all


def test_the_committed_cases_are_what_the_case_file_builds(tmp_path: Path) -> None:
    count = write_all(tmp_path)
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert count == len(load_cases().cases) == len({p.parts[0] for p in built})
    for rel in built:
        assert (tmp_path / rel).read_bytes() == (ROOT / rel).read_bytes(), (
            f"{rel} differs: rerun build_golden"
        )


def test_an_overlay_edit_must_name_a_known_edit() -> None:
    with pytest.raises(ValidationError, match="an overlay edit is one of"):
        GoldenCase(
            id="x", at="2026-11-20T10:00:00Z", subject="s", body="b", expected={}, overlay=[{"nope": {}}]
        )


def test_a_case_has_exactly_one_body() -> None:
    with pytest.raises(ValidationError, match="give body or body_from"):
        GoldenCase(id="x", at="2026-11-20T10:00:00Z", subject="s", expected={})
