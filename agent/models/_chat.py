"""What the OpenAI and Anthropic models share: everything except the wire format.

A provider module does three things per turn: turn the loop's state into its
API's request, send it, and turn the answer back into a :class:`ModelReply`.
Everything in between that does not depend on the vendor lives here:

* :class:`Dialogue` decides what the model is told each turn (the opening
  message with the ticket and the preflight results, each tool result under the
  call id the model must cite, rejected-diagnosis feedback, "conclude now"), and
  turns the model's tool calls into the loop's :class:`ToolCall` objects.
* :func:`render_system` renders ``prompts/system.md.j2`` (rules, runbook
  guidance, tool catalogue, output contract).
* :func:`tool_specs` and :func:`submit_tool` give provider-neutral tool
  definitions; the final answer is a ``submit_diagnosis`` tool whose schema is
  the :class:`ModelDiagnosis` JSON Schema (exactly what a model writes).
* :func:`fence` delimits untrusted text (ticket, tool output) so it cannot
  close its own tag and pose as instructions.
* :func:`call_with_retries` runs provider calls through the one retry
  mechanism (:mod:`casefile.tools.retry`, :data:`PROVIDER_RETRY`):
  408/409/429/5xx, timeouts, connection errors and malformed bodies,
  ``Retry-After`` honoured, bounded and never past the deadline; whatever still
  fails becomes :class:`ModelUnavailable`.
* :class:`Transcript` appends every request and response, redacted, as JSONL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from casefile.agent.diagnosis import CATEGORIES, ModelDiagnosis
from casefile.agent.models._http import ResponseTooLarge
from casefile.agent.models.base import LoopState, ModelMisconfigured, ModelUnavailable
from casefile.agent.redact import redact
from casefile.agent.templating import iso, prompt_env
from casefile.tools.base import ToolCall, ToolOutcome
from casefile.tools.retry import RetryPolicy, retry_after_from, run_with_retries

__all__ = [
    "PROVIDER_RETRY",
    "SUBMIT_TOOL",
    "Dialogue",
    "MalformedResponse",
    "RawCall",
    "ResultBlock",
    "RetryPolicy",
    "ToolSpec",
    "Transcript",
    "UserTurn",
    "call_with_retries",
    "dig",
    "exchange",
    "fence",
    "field_of",
    "parse_arguments",
    "render_system",
    "submit_tool",
    "tool_specs",
]

SUBMIT_TOOL = "submit_diagnosis"


T = TypeVar("T")


# ---------------------------------------------------------------- tool definitions


@dataclass(frozen=True)
class ToolSpec:
    """A tool as every provider describes it: name, description for the model, JSON Schema of the input."""

    name: str
    description: str
    parameters: dict[str, Any]


def _clean_schema(schema: Any, defs: Mapping[str, Any], *, in_properties: bool = False) -> Any:
    """Inline ``$ref``s and drop ``title`` keywords.

    Inlining makes the schema portable (some OpenAI-compatible servers compile
    schemas to grammars and do not follow ``$defs``); titles only cost tokens.
    A *property* named ``title`` (e.g. a related item's title) is kept.
    """
    if isinstance(schema, list):
        return [_clean_schema(s, defs) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if in_properties:  # keys are property names, values are schemas
        return {name: _clean_schema(sub, defs) for name, sub in schema.items()}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = dict(defs[ref.removeprefix("#/$defs/")])
        target.update({k: v for k, v in schema.items() if k != "$ref"})
        return _clean_schema(target, defs)
    options = schema.get("anyOf")
    if (
        isinstance(options, list)
        and len(options) == 2
        and {"type": "null"} in options
        and schema.get("default", 0) is None
    ):
        # Optional[X] = None: the field is optional already (not in "required"); say just X.
        target = dict(next(o for o in options if o != {"type": "null"}))
        target.update({k: v for k, v in schema.items() if k not in ("anyOf", "default")})
        return _clean_schema(target, defs)
    cleaned: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("title", "$defs"):
            continue
        cleaned[key] = _clean_schema(value, defs, in_properties=key == "properties")
    return cleaned


def portable_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A Pydantic JSON Schema made self-contained and compact."""
    result: dict[str, Any] = _clean_schema(dict(schema), schema.get("$defs", {}))
    return result


@cache
def _submit_schema() -> str:
    schema = portable_schema(ModelDiagnosis.model_json_schema())
    schema.pop("description", None)
    return json.dumps(schema)


def submit_tool() -> ToolSpec:
    """The tool the model concludes with. Its input is a ModelDiagnosis, which the loop validates and grounds."""
    return ToolSpec(
        name=SUBMIT_TOOL,
        description=(
            "Submit the final diagnosis and end the investigation. Call it once, alone, when the evidence "
            "supports a root cause (or when told to conclude). Every evidence item cites the call_id of a "
            "tool result and a value copied exactly from it; the diagnosis is checked and sent back if not."
        ),
        parameters=json.loads(_submit_schema()),
    )


def tool_specs(state: LoopState) -> list[ToolSpec]:
    """The toolbox's tools, then ``submit_diagnosis``, in a stable order (it is the cached prefix)."""
    specs = [
        ToolSpec(tool.name, tool.description, portable_schema(tool.parameters_schema()))
        for tool in state.toolbox.catalogue()
    ]
    return [*specs, submit_tool()]


def parse_arguments(raw: Any) -> tuple[dict[str, Any] | None, str | None]:
    """A tool call's arguments (a JSON string or an already-parsed value) → (object, None) or (None, why not)."""
    value = raw
    if isinstance(raw, str):
        if not raw.strip():
            return {}, None
        try:
            value = json.loads(raw)
        except ValueError as exc:
            return None, f"the arguments are not valid JSON ({exc}); send one JSON object"
    if not isinstance(value, dict):
        return None, f"the arguments must be a JSON object, not {type(value).__name__}"
    return value, None


# ---------------------------------------------------------------- untrusted text

FENCE_TAGS = ("ticket", "tool_result")
_FORGED_TAG = re.compile(rf"<(\s*/?\s*(?:{'|'.join(FENCE_TAGS)}))", re.IGNORECASE)


def fence(tag: str, text: str, **attrs: Any) -> str:
    """Wrap untrusted ``text`` in ``<tag …>…</tag>``, neutralising any fence tag inside it.

    A ticket that contains ``</ticket>``, or one that forges a ``<tool_result>``,
    would otherwise end its block early or pass for a real result; such tags
    become ``&lt;ticket`` / ``&lt;/tool_result`` and read as the text they are.
    """
    assert tag in FENCE_TAGS, tag
    body = _FORGED_TAG.sub(r"&lt;\1", text)
    rendered = "".join(
        f' {k}="{str(v).replace(chr(34), chr(39))}"' for k, v in attrs.items() if v is not None
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


def outcome_block(outcome: ToolOutcome, step: str | None = None) -> str:
    """One tool result as the model sees it: redacted, fenced, labelled with the id to cite."""
    args = json.dumps(outcome.arguments, sort_keys=True, default=str)
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
        signals=_redacted(json.dumps(signals, sort_keys=True)),
        account=_redacted(json.dumps(state.account, sort_keys=True, default=str)) if state.account else None,
        candidate=state.signals.account_candidate,
        results=[outcome_block(o, steps.get(o.call_id)) for o in state.new_outcomes],
        runbooks=[m.runbook.id for m in state.matches],
        differential=state.differential.render()
        if state.differential.hypotheses or state.differential.observations
        else "",
    ).strip()


# ---------------------------------------------------------------- the conversation, provider-neutral


@dataclass
class RawCall:
    """A tool call as a provider returned it: its own id, the name, parsed arguments or why they failed."""

    provider_id: str
    name: str
    arguments: dict[str, Any] | None
    error: str | None = None


@dataclass
class ResultBlock:
    """The answer to one of the model's tool calls, addressed by the provider's call id."""

    provider_id: str
    content: str
    is_error: bool = False


@dataclass
class UserTurn:
    """What the model is told this turn: tool results first (providers require that), then text."""

    results: list[ResultBlock] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


@dataclass
class _Pending:
    provider_id: str
    name: str
    call_id: str | None = None  # our id, when the loop was asked to run it
    note: str | None = None  # the answer to send instead of an outcome


class Dialogue:
    """The provider-neutral state of one conversation with a model.

    Call ids: the model's calls get our own ids (``c<n>``, continuing after the
    preflight's), so evidence cites the same kind of id whatever the provider,
    and a local server that reuses ids across turns cannot confuse grounding.
    Each result is returned under the provider's id *and* labelled with ours;
    evidence citing the provider's id is read as ours (``LoopState.call_aliases``).
    """

    def __init__(self, state: LoopState) -> None:
        self.tools = tool_specs(state)
        self.system = render_system(state, self.tools)
        self._pending: list[_Pending] = []
        self._last_id = 0
        self._opened = False

    def user_turn(self, state: LoopState) -> UserTurn:
        turn = UserTurn()
        feedback = list(state.feedback)
        if not self._opened:
            self._opened = True
            turn.texts.append(render_opening(state))
        new = {o.call_id: o for o in state.new_outcomes}
        for pending in self._pending:
            if pending.name == SUBMIT_TOOL and pending.call_id is None and pending.note != _SKIPPED_SUBMIT:
                problems = ([pending.note] if pending.note else []) + feedback
                feedback = []
                turn.results.append(ResultBlock(pending.provider_id, _rejection(problems), is_error=True))
            elif pending.note:
                turn.results.append(ResultBlock(pending.provider_id, pending.note, is_error=True))
            elif pending.call_id in new:
                outcome = new[pending.call_id]
                turn.results.append(ResultBlock(pending.provider_id, outcome_block(outcome), not outcome.ok))
            else:
                turn.results.append(
                    ResultBlock(pending.provider_id, "not run: the tool-call budget is spent", is_error=True)
                )
        self._pending = []
        if feedback:
            turn.texts.append(
                _rejection(feedback) if _looks_like_rejection(feedback) else "\n".join(feedback)
            )
        if state.must_conclude:
            turn.texts.append(
                f"Budget reached: no more tool calls. Conclude now: call {SUBMIT_TOOL} with the best diagnosis "
                "the results above support (use insufficient_evidence and escalate if they do not)."
            )
        else:
            turn.texts.append(
                f"[turn {state.turn} of {state.budgets.max_turns}; {state.tool_calls_left} tool calls left]"
            )
        return turn

    def accept(self, calls: list[RawCall], state: LoopState) -> tuple[list[ToolCall], dict[str, Any] | None]:
        """The model's calls → calls for the loop to run, and the raw diagnosis if one was submitted."""
        submit = next((c for c in calls if c.name == SUBMIT_TOOL), None)
        diagnosis: dict[str, Any] | None = None
        if submit is not None:
            diagnosis = submit.arguments if submit.arguments is not None else {}
        runnable: list[ToolCall] = []
        for call in calls:
            pending = _Pending(call.provider_id, call.name)
            if call is submit:
                pending.note = call.error
            elif call.name == SUBMIT_TOOL:
                pending.note = _SKIPPED_SUBMIT
            elif submit is not None:
                pending.note = f"not run: {SUBMIT_TOOL} was called in the same turn"
            elif state.must_conclude:
                pending.note = f"not run: the budget is spent; call {SUBMIT_TOOL} now"
            elif call.error is not None:
                pending.note = f"not run: {call.error}"
            else:
                self._last_id = max(self._last_id, len(state.outcomes)) + 1
                pending.call_id = f"c{self._last_id}"
                # Models cite the id they were given in the call/result pair too; a reused id is ambiguous.
                known = call.provider_id in state.call_aliases
                state.call_aliases[call.provider_id] = None if known else pending.call_id
                runnable.append(ToolCall(id=pending.call_id, tool=call.name, arguments=call.arguments or {}))
            self._pending.append(pending)
        return runnable, diagnosis


_SKIPPED_SUBMIT = f"not run: only one {SUBMIT_TOOL} per turn is read"


def _looks_like_rejection(feedback: list[str]) -> bool:
    return not (len(feedback) == 1 and feedback[0].startswith("No tool calls"))


def _rejection(problems: list[str]) -> str:
    if not problems:
        return "The diagnosis was not accepted."
    listed = "\n".join(f"- {p}" for p in problems)
    return (
        f"The diagnosis was rejected:\n{listed}\n"
        f"Fix these and call {SUBMIT_TOOL} again. Evidence must cite a call_id shown in a tool_result and a "
        "value that the tool returned (not one from your own call's arguments); a small number or a common "
        "word also needs the field holding it. Drop an item you cannot support."
    )


# ---------------------------------------------------------------- usage


def dig(obj: Any, *path: str) -> int:
    """A non-negative int at ``path`` in an SDK object or a dict; 0 when absent or null."""
    for key in path:
        if obj is None:
            return 0
        obj = obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)
    return int(obj) if isinstance(obj, int | float) and obj > 0 else 0


# ---------------------------------------------------------------- prompt size

# Tokenisers differ by model; four characters a token is the usual rule for English and JSON.
CHARS_PER_TOKEN = 4


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """casefile's own count of a request's tokens: its serialised size over :data:`CHARS_PER_TOKEN`."""
    return len(json.dumps(body, ensure_ascii=False, default=str)) // CHARS_PER_TOKEN


# ---------------------------------------------------------------- retries

# The providers' policy; the mechanism is the one every connector uses (casefile.tools.retry).
PROVIDER_RETRY = RetryPolicy(attempts=4, max_wait_s=20.0, total_wait_s=45.0, base_wait_s=1.0)

_TRANSIENT_STATUSES = {408, 409, 429}
# Who or what we asked for does not exist or is not ours to use: fix the setup, do not fall back.
_CONFIGURATION_STATUSES = {401, 403, 404}


class MalformedResponse(Exception):
    """The provider answered 200 with something that is not its API's response (HTML, junk, a cut-off body)."""


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, ``retry-after`` in seconds or as a date)."""
    return retry_after_from(getattr(getattr(exc, "response", None), "headers", None))


def _describe(exc: BaseException) -> str:
    status = _status(exc)
    message = (
        str(getattr(exc, "message", "") or exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    )
    message = re.sub(r"^Error code: \d+ - ", "", message)  # the OpenAI SDK's prefix; we say HTTP <status>
    return f"HTTP {status}: {message}" if status else f"{type(exc).__name__}: {message}"


async def call_with_retries(
    send: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    connection_errors: tuple[type[BaseException], ...],
    status_errors: tuple[type[BaseException], ...],
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Call ``send`` until it succeeds, retrying transient failures; else raise :class:`ModelUnavailable`.

    Transient: a connection error or timeout, an HTTP 408/409/429/5xx, or a
    malformed answer (a body that is not JSON, a truncated one: asking again is
    the repair). The wait is the server's ``Retry-After`` when given (capped at
    ``policy.max_wait_s``), else exponential from ``base_wait_s``, and never past
    the investigation's deadline. Client errors (400, 401, 404...) are not
    retried: a bad key will not get better; 401, 403 and 404 (unknown model,
    bad key, no access) raise :class:`ModelMisconfigured`.
    """
    malformed: tuple[type[BaseException], ...] = (MalformedResponse, ValueError)

    def classify(exc: BaseException) -> float | bool | None:
        if isinstance(exc, ResponseTooLarge):
            return False  # asking again would only read as much again
        if isinstance(exc, (*connection_errors, *malformed)):
            return None
        status = _status(exc)
        if (
            isinstance(exc, status_errors)
            and status is not None
            and (status in _TRANSIENT_STATUSES or status >= 500)
        ):
            return _retry_after(exc)
        return False

    attempts = 0

    async def attempt() -> T:
        nonlocal attempts
        attempts += 1
        return await send()

    try:
        return await run_with_retries(attempt, policy=policy, retry_after=classify, on_retry=on_retry)
    except (*connection_errors, *status_errors, *malformed) as exc:
        if isinstance(exc, status_errors) and _status(exc) in _CONFIGURATION_STATUSES:
            raise ModelMisconfigured(_describe(exc)) from exc
        suffix = f" after {attempts} attempts" if classify(exc) is not False and attempts > 1 else ""
        raise ModelUnavailable(f"{_describe(exc)}{suffix}") from exc


async def exchange(
    send: Callable[[], Awaitable[Any]],
    body: Mapping[str, Any],
    *,
    state: LoopState,
    transcript: Transcript,
    policy: RetryPolicy,
    connection_errors: tuple[type[BaseException], ...],
    status_errors: tuple[type[BaseException], ...],
) -> Any:
    """One provider call with retries, every request, retry and response written to the transcript.

    The prompt's size is counted here, by casefile, from the body it sends (the
    provider's reported usage is not trusted for budgets): it accumulates in
    ``state.sent_tokens``, and a single request larger than the whole input
    budget is not sent at all.
    """
    tokens = prompt_tokens(body)
    state.sent_tokens += tokens
    if tokens > state.budgets.max_input_tokens:
        raise ModelUnavailable(
            f"the prompt would be ~{tokens} tokens, over max_input_tokens ({state.budgets.max_input_tokens})"
        )
    transcript.write("request", body, state=state)

    def retried(attempt: int, exc: BaseException, delay: float) -> None:
        transcript.write("retry", {"attempt": attempt, "error": _describe(exc), "wait_s": delay}, state=state)

    async def checked() -> Any:
        response = await send()
        # An SDK hands back the raw text when a 200 body is not its JSON (an HTML error page, say).
        if isinstance(response, str | bytes) or response is None:
            raise MalformedResponse("the response body is not the API's JSON")
        return response

    try:
        response = await call_with_retries(
            checked,
            policy=policy,
            connection_errors=connection_errors,
            status_errors=status_errors,
            on_retry=retried,
        )
    except ModelMisconfigured as exc:
        transcript.write("error", {"error": str(exc)}, state=state)
        raise ModelMisconfigured(
            f"{transcript.provider}:{transcript.model} cannot be used: {exc} (check the model name, the key "
            "and the base URL)"
        ) from exc
    except ModelUnavailable as exc:
        transcript.write("error", {"error": str(exc)}, state=state)
        raise
    dump = getattr(response, "model_dump", None)
    transcript.write("response", dump(mode="json", exclude_unset=True) if dump else response, state=state)
    return response


def field_of(obj: Any, key: str) -> Any:
    """``obj[key]`` or ``obj.key``: SDK objects and plain dicts (from tests, transcripts) read alike."""
    if obj is None:
        return None
    return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)


# ---------------------------------------------------------------- transcripts

_SECRET_KEYS = re.compile(r"(api[_-]?key|authorization|x-api-key|secret|token)$", re.IGNORECASE)


def _scrub(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: "[REDACTED]" if _SECRET_KEYS.search(str(k)) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


class Transcript:
    """Appends model requests and responses as JSONL lines, redacted; a no-op without a path.

    Lines: ``{"ts", "provider", "model", "ticket_id", "turn", "kind", "body"}`` with
    kind ``request``, ``retry``, ``response`` or ``error``. Bodies are what went over the
    wire minus credentials (never in a body; keys named like secrets are masked
    anyway) and with :func:`casefile.agent.redact.redact` applied to the whole line.
    """

    def __init__(self, path: str | Path | None, *, provider: str, model: str) -> None:
        self.path = Path(path) if path else None
        self.provider = provider
        self.model = model

    def write(self, kind: str, body: Any, *, state: LoopState | None = None) -> None:
        if self.path is None:
            return
        record = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "provider": self.provider,
            "model": self.model,
            "ticket_id": state.ticket.id if state else None,
            "turn": state.turn if state else None,
            "kind": kind,
            "body": _scrub(body),
        }
        line = _redacted(json.dumps(record, ensure_ascii=False, default=str))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
