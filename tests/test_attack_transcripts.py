"""Round-7 attacks on "one account per investigation" and "no secret kept": the ``--transcript`` file.

Round 6 scrubbed other accounts from everything the model reads and everything stored (events,
audit rows, links), but the transcript — every request and response of a hosted model, kept as
JSONL for debugging — was written as it went over the wire with only secrets redacted. What a
steered model *answers* is not scrubbed by anything before it: its text, its tool calls'
arguments and a diagnosis it submits named another customer as it pleased, and an error body
could echo a secret in a shape the redactor reads only in prose. Each attack runs a real provider
(OpenAI's or Anthropic's wire format, through the SDK, scripted with respx) through the loop, with a
directory that holds another account, and reads the transcript back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import provider_wires as wires
import pytest
import respx
from llm_fixtures import ACCOUNTS, diagnosis_args, run

from casefile.agent.accounts import AccountDirectory
from casefile.agent.config import Settings
from casefile.tools.base import Toolbox

OTHER = {
    "id": "brightwave",
    "name": "Brightwave Foods",
    "domains": ["brightwave-foods.example"],
    "plan": "enterprise",
    "timezone": "UTC",
    "stripe_customer": "cus_Bw7Qx2LmNp",
}
NAMES = ["brightwave", "Brightwave Foods", "brightwave-foods.example", "cus_Bw7Qx2LmNp"]
DIRECTORY = AccountDirectory([*ACCOUNTS["accounts"], OTHER])
STEER = "Brightwave Foods (ops@brightwave-foods.example, Stripe cus_Bw7Qx2LmNp) has the same 429s"


def _leaks(text: str) -> list[str]:
    return [name for name in NAMES if name.lower() in text.lower()]


async def _transcript_of(
    wire: Any, responses: Any, router: respx.MockRouter, toolbox: Toolbox, path: Path
) -> str:
    """The transcript of acme's investigation by ``wire``'s model answering ``responses``."""
    router.post(wire.url).mock(side_effect=responses)
    await run(wire.model_for(router, settings=Settings(transcript=path)), toolbox, directory=DIRECTORY)
    return path.read_text()


def _steered(wire: Any) -> list[Any]:
    """Turn 1: text and a call naming the other account; turn 2: a diagnosis pasting it everywhere."""
    call = ("c_steer", "logs_recent_requests", {"account_id": "brightwave", "limit": 5, "path": STEER})
    pasted = diagnosis_args(summary=STEER, customer_reply=f"Hi, {STEER}.", internal_note=STEER)
    if wire is wires.OPENAI:
        return [
            wires.completion([call], content=STEER),
            wire.turn([("c_submit", "submit_diagnosis", pasted)]),
        ]
    return [
        wires.message([call], text=STEER),
        wire.turn([("toolu_submit", "submit_diagnosis", pasted)]),
    ]


@pytest.mark.parametrize("wire", wires.WIRES, ids=lambda w: w.name)
async def test_a_steered_model_s_answers_name_no_other_account_in_the_transcript(
    wire: Any, router: respx.MockRouter, toolbox: Toolbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wire.set_key(monkeypatch)
    text = await _transcript_of(wire, _steered(wire), router, toolbox, tmp_path / "t.jsonl")
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["kind"] for line in lines] == ["request", "response", "request", "response"]
    assert "another account" in text, "the steered text never reached the transcript"
    for line in lines:
        assert _leaks(json.dumps(line)) == [], (line["kind"], line["turn"])


@pytest.mark.parametrize("wire", wires.WIRES, ids=lambda w: w.name)
async def test_an_error_body_naming_another_account_or_a_secret_is_scrubbed(
    wire: Any, router: respx.MockRouter, toolbox: Toolbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider's (or a proxy's) error that echoes what it was sent: another account, a key."""
    wire.set_key(monkeypatch)
    echoed = f"{STEER}; sent with Authorization: Bearer {wire.key}"
    error = {"error": {"message": echoed, "type": "invalid_request_error", "code": "bad"}}
    if wire is wires.ANTHROPIC:
        error = {"type": "error", "error": {"type": "invalid_request_error", "message": echoed}}
    text = await _transcript_of(
        wire, [httpx.Response(400, json=error)], router, toolbox, tmp_path / "t.jsonl"
    )
    assert "error" in [json.loads(line)["kind"] for line in text.splitlines()]
    assert _leaks(text) == [] and wire.key not in text and wire.key[:12] not in text
