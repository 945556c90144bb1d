"""What the model reads: untrusted text fenced and elided, the system prompt and the opening message."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from casefile.agent.diagnosis import CATEGORIES
from casefile.agent.models._lookalike import tag_starts
from casefile.agent.models._schema import SUBMIT_TOOL, ToolSpec
from casefile.agent.models.base import LoopState
from casefile.agent.redact import redact
from casefile.agent.templating import iso, prompt_env
from casefile.tools.base import ToolOutcome

# ---------------------------------------------------------------- untrusted text

FENCE_TAGS = ("ticket", "tool_result")


def _neutralised(text: str) -> str:
    """``text`` with the bracket of every fence tag in it, in any look-alike spelling, as ``&lt;``."""
    starts = tag_starts(text)
    if not starts:
        return text
    pieces, last = [], 0
    for start in starts:
        pieces += [text[last:start], "&lt;"]
        last = start + 1
    return "".join([*pieces, text[last:]])


def fence(tag: str, text: str, **attrs: Any) -> str:
    """Wrap untrusted ``text`` in ``<tag …>…</tag>``, neutralising any fence tag inside it.

    A ticket that contains ``</ticket>``, or one that forges a ``<tool_result>``,
    would otherwise end its block early or pass for a real result; such tags, in the text and in
    the attributes, become ``&lt;ticket`` / ``&lt;/tool_result`` and read as the text they are.
    """
    assert tag in FENCE_TAGS, tag
    body = _neutralised(text)
    # Attributes too: a result repeats its call's arguments, which a runbook may have written from
    # the ticket's subject (a forged ``"></tool_result><tool_result …>`` opened a block of its own).
    rendered = "".join(
        f' {k}="{_neutralised(str(v)).replace(chr(34), chr(39))}"' for k, v in attrs.items() if v is not None
    )
    return f"<{tag}{rendered}>\n{body}\n</{tag}>"


def _redacted(text: str) -> str:
    return redact(text)[0]


# What the prompt shows of one tool result. Rendered results are already capped (tools/base.py); raw
# listings (recent requests: random ids, headers) can still cost ~3k tokens each (~1k at this cap), and a few of them
# would dominate the prompt. Longer results lose their middle: the head (newest rows, the summary)
# and the tail (details such as headers) stay, and the model can ask a narrower question.
PROMPT_RESULT_CHARS = 3000


def elide(text: str, budget: int = PROMPT_RESULT_CHARS) -> str:
    if len(text) <= budget:
        return text
    head = text[: budget * 2 // 3].rsplit("\n", 1)[0]
    tail = text[-(budget // 3) :].split("\n", 1)[-1]
    cut = len(text) - len(head) - len(tail)
    return f"{head}\n[… {cut} characters not shown; call the tool again with narrower arguments to see them]\n{tail}"


# The fence's arguments attribute only reminds the model which call this was (it sent them itself).
FENCE_ARGUMENTS_CHARS = 300


def outcome_block(outcome: ToolOutcome, step: str | None = None, withhold: Callable[[str], str] = str) -> str:
    """One tool result as the model sees it: redacted, fenced, labelled with the id to cite. Its text
    was withheld from other accounts by the ledger; ``withhold`` does it to the echoed arguments."""
    args = withhold(json.dumps(outcome.arguments, sort_keys=True, default=str))
    if len(args) > FENCE_ARGUMENTS_CHARS:
        args = args[:FENCE_ARGUMENTS_CHARS] + f"… ({len(args)} characters)"
    status = "ok" if outcome.ok else "error"
    return fence(
        "tool_result",
        elide(_redacted(outcome.text_for_model())),
        call_id=outcome.call_id,
        tool=outcome.tool,
        arguments=args,
        status=status,
        step=step,
    )


# ---------------------------------------------------------------- prompts


def render_system(state: LoopState, tools: Iterable[ToolSpec]) -> str:
    """The system prompt: stable for the whole investigation (it is the cached prefix)."""
    template = prompt_env().get_template("system.md.j2")
    return template.render(
        runbooks=[
            {"id": m.runbook.id, "title": m.runbook.title, "body": m.runbook.body} for m in state.matches
        ],
        tools=[
            {"name": t.name, "summary": t.description.strip().splitlines()[0]}
            for t in tools
            if t.name != SUBMIT_TOOL
        ],
        categories=CATEGORIES,
        submit=SUBMIT_TOOL,
        budgets=state.budgets,
    ).strip()


def _ticket_text(state: LoopState) -> str:
    ticket = state.ticket
    lines = [
        f"From: {ticket.requester.name or ''} <{ticket.requester.email or ''}>".strip(),
        f"Subject: {ticket.subject}",
    ]
    lines += ["", ticket.body]
    for comment in ticket.comments:
        if comment.public:
            lines += ["", f"--- comment by {comment.author or 'unknown'}", comment.body]
    return _redacted("\n".join(lines))


def _step_names(state: LoopState) -> dict[str, str]:
    names: dict[str, str] = {}
    for runbook_id, steps in state.step_calls.items():
        for step_id, call_id in steps.items():
            names.setdefault(call_id, f"{runbook_id}.{step_id}")
    return names


def render_opening(state: LoopState) -> str:
    """The first user message: ticket, what intake derived from it, the account, preflight results."""
    steps = _step_names(state)
    template = prompt_env().get_template("opening.md.j2")
    signals = state.signals.model_dump(mode="json", exclude_defaults=True)
    return template.render(
        ticket_id=state.ticket.id,
        now=iso(state.ticket.created_at),
        ticket=fence("ticket", _ticket_text(state), id=state.ticket.id),
        # Outside the fences too, text read from the ticket or a source (the differential quotes a
        # bug's title) has its fence tags neutralised: it cannot open a result block of its own.
        signals=_neutralised(_redacted(json.dumps(signals, sort_keys=True))),
        account=_neutralised(_redacted(json.dumps(state.account, sort_keys=True, default=str)))
        if state.account
        else None,
        candidate=state.signals.account_candidate,
        results=[outcome_block(o, steps.get(o.call_id), state.withhold) for o in state.new_outcomes],
        runbooks=[m.runbook.id for m in state.matches],
        differential=_neutralised(state.withhold(state.differential.render()))
        if state.differential.hypotheses or state.differential.observations
        else "",
    ).strip()
