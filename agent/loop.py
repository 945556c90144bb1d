"""The investigation loop: ticket → signals → runbooks → preflight → model turns → Diagnosis.

Every model goes through the same loop. Tool calls run concurrently through
the toolbox; budgets (turns, tool calls, tokens, deadline) are enforced here,
and when one runs out the model is asked once to conclude. A diagnosis is
validated (Pydantic) and grounded (every evidence item checked against the
cited result); a failure goes back to the model with the errors, a bounded
number of times, after which the offline investigator's diagnosis stands in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from casefile.agent.articles import link_article
from casefile.agent.candidate import mark_account
from casefile.agent.catalog import Catalog
from casefile.agent.config import Budgets
from casefile.agent.diagnosis import Diagnosis, ModelDiagnosis, Usage, recorded
from casefile.agent.differential import assess, collect
from casefile.agent.events import Event, EventSink, Stopwatch
from casefile.agent.foreign import EVENT_RECORD_KEYS, OtherAccounts, withhold_other_accounts
from casefile.agent.grounding import ground, with_call_ids
from casefile.agent.investigation import Investigation
from casefile.agent.ledger import CallLedger
from casefile.agent.models.base import LoopState, Model, ModelMisconfigured, ModelUnavailable
from casefile.agent.models.offline import offline_diagnosis
from casefile.agent.redact import redact_strings
from casefile.agent.routing import route
from casefile.agent.runbooks import Runbook, match_runbooks, runbook_context
from casefile.agent.templating import iso, render_value
from casefile.agent.ticket import Signals, Ticket
from casefile.tools import deadline as deadlines
from casefile.tools.base import CallContext, Toolbox, ToolCall
from casefile.tools.catalogue import tool_specs
from casefile.tools.deadline import Deadline

__all__ = ["Investigation", "investigate"]

log = logging.getLogger("casefile.loop")

# Shares of the deadline: preflight must leave the model half of it, and the model must leave
# routing (the escalation packet's calls) the last tenth.
_PREFLIGHT_SHARE = 0.5
_ROUTING_SHARE = 0.1


class _Recorder:
    """Collects events and forwards them to the caller's sink.

    An event holds what happened (a call's tool, arguments, whether it worked and why not, a turn's
    summary, a rejection's reasons), never a result's data, and names no other account: every
    string of it passes ``others`` first (the store then redacts secrets from what it keeps).
    """

    def __init__(self, sink: EventSink | None, others: OtherAccounts) -> None:
        self.sink = sink
        self.others = others
        self.events: list[Event] = []
        self.clock = Stopwatch()

    def emit(self, kind: str, **data: Any) -> None:
        data = self.others.scrub_strings(data, keep=EVENT_RECORD_KEYS)
        event = Event(kind=kind, elapsed_ms=self.clock.ms(), data=data)  # type: ignore[arg-type]
        self.events.append(event)
        if self.sink:
            self.sink(event)

    def tool_event(self, kind: str, data: dict[str, Any]) -> None:
        self.emit(kind, **data)


def _signals_summary(signals: Signals) -> str:
    parts = []
    if signals.statuses:
        parts.append("status " + ",".join(map(str, signals.statuses)))
    if signals.error_codes:
        parts.append(",".join(signals.error_codes[:3]))
    if signals.exceptions:
        parts.append(",".join(signals.exceptions[:2]))
    if signals.areas:
        parts.append("areas " + ",".join(signals.areas))
    if signals.time_hint:
        parts.append(f"since {iso(signals.window_start)} ({signals.time_hint!r})")
    return "; ".join(parts)


def _base_context(
    ticket: Ticket, signals: Signals, account: Mapping[str, Any] | None, catalog: Catalog, toolbox: Toolbox
) -> dict[str, Any]:
    return {
        # The company's own names for its systems (its log tables' columns), by source: ``logs.requests.time``.
        **{c.source: names for c in toolbox.connectors if (names := c.runbook_names())},
        "ticket": {"id": ticket.id, "subject": ticket.subject, "created_at": iso(ticket.created_at)},
        "signals": signals.model_dump(mode="json"),
        "account": dict(account or {}),
        "window": {"start": iso(signals.window_start), "end": iso(signals.window_end)},
        "now": iso(ticket.created_at),
        # The company's roles (catalogue, completed from the configured repositories): runbooks
        # name "roles.webhooks.repos", never a repository of one company.
        "roles": catalog.roles(),
        "product": catalog.product or "",
        "steps": {},
    }


async def _preflight(state: LoopState, calls: CallLedger, skipped: list[str]) -> None:
    """Run the matched runbooks' plans: dependency waves, each wave concurrent; the ledger shares
    identical calls across runbooks and keeps the budget."""
    specs = tool_specs()
    pending: dict[str, list[Any]] = {m.runbook.id: list(m.runbook.plan) for m in state.matches}
    finished: dict[str, set[str]] = {rb: set() for rb in pending}
    results: dict[str, dict[str, Any]] = state.context["steps"]
    while any(pending.values()):
        if deadlines.remaining() <= 0:
            skipped += [
                f"{rb}.{s.id}: the deadline left no time for it" for rb, st in pending.items() for s in st
            ]
            break
        wave: list[tuple[str, dict[str, Any]]] = []
        scheduled: list[tuple[str, str, int | None]] = []  # runbook, step, index in the wave
        for rb_id, steps in pending.items():
            results.setdefault(rb_id, {})
            runbook = next(m.runbook for m in state.matches if m.runbook.id == rb_id)
            ready = [s for s in steps if all(n in finished[rb_id] for n in s.needs)]
            context = runbook_context(runbook, state.context, results[rb_id]) if ready else {}
            for step in ready:
                steps.remove(step)
                if step.when and not render_value("{{ " + step.when + " }}", context):
                    scheduled.append((rb_id, step.id, None))
                    continue
                args = {k: v for k, v in render_value(step.args, context).items() if v is not None}
                spec = specs.get(step.tool)
                missing = (
                    [k for k, f in spec.model_fields.items() if f.is_required() and k not in args]
                    if spec
                    else []
                )
                if missing:
                    skipped.append(f"{rb_id}.{step.id}: no value for {', '.join(missing)}")
                    scheduled.append((rb_id, step.id, None))
                    continue
                scheduled.append((rb_id, step.id, len(wave)))
                wave.append((step.tool, args))
        if not scheduled:  # only steps waiting on something that will never finish
            break
        answers = await calls.run(wave, "preflight")
        for rb_id, step_id, index in scheduled:
            finished[rb_id].add(step_id)
            outcome = answers[index] if index is not None else None
            if index is not None and outcome is None:
                skipped.append(f"{rb_id}.{step_id}: tool-call budget spent")
            results[rb_id][step_id] = outcome.data if outcome is not None and outcome.ok else None
            if outcome is not None:
                state.step_calls.setdefault(rb_id, {})[step_id] = outcome.call_id


def _finalise(
    raw: Mapping[str, Any], state: LoopState, model_name: str, *, fallback_reason: str | None = None
) -> tuple[Diagnosis | None, list[str]]:
    """Validate a submission as a :class:`ModelDiagnosis`, record the run's provenance with it
    (ticket, account, runbooks, model, fallback, unavailable sources) and ground it; return the
    diagnosis or the errors to send back."""
    try:
        diagnosis = recorded(
            ModelDiagnosis.model_validate(raw),
            ticket_id=state.ticket.id,
            account_id=(state.account or {}).get("id"),
            account_source=state.signals.account_source,
            account_candidate=state.signals.account_candidate,
            runbooks=[m.runbook.id for m in state.matches],
            model=model_name,
            fallback_reason=fallback_reason,
            unavailable_sources=[{"source": s, "reason": r} for s, r in state.unavailable_sources().items()],
        )
    except ValidationError as exc:
        return None, [
            f"{'.'.join(str(p) for p in err['loc']) or 'diagnosis'}: {err['msg']}"
            for err in exc.errors()[:20]
        ]
    grounded, rejected = ground(with_call_ids(diagnosis, state.call_aliases), state.outcomes)
    return grounded, rejected


async def investigate(
    ticket: Ticket,
    *,
    signals: Signals,
    account: Mapping[str, Any] | None,
    accounts: Mapping[str, Mapping[str, Any]],
    toolbox: Toolbox,
    model: Model,
    runbooks: list[Runbook],
    budgets: Budgets | None = None,
    on_event: EventSink | None = None,
    prices: Mapping[str, Mapping[str, float]] | None = None,
    catalog: Catalog | None = None,
    deadline: Deadline | None = None,
    disabled_runbooks: Sequence[str] = (),
    differential: bool = True,
    tenant: str | None = None,
    helpdesk_tenant: str | None = None,
) -> Investigation:
    """Investigate one ticket to a validated, grounded, routed Diagnosis. Never raises for bad sources.

    Everything shares one ``deadline`` (by default ``budgets.deadline_s`` from now): each call's
    timeout derives from it, and when it passes the investigation concludes with what it has.

    ``differential=False`` skips the general differential's evidence collection (only runbook
    plans run before the model): for tests that script a model against exact call ids.

    ``tenant``: the service tenant the investigation belongs to (its calls read that tenant's history);
    ``helpdesk_tenant``: the tenant whose helpdesk the connectors read (another's is refused it).
    """
    budgets = budgets or Budgets()
    deadline = deadline or Deadline.after(budgets.deadline_s, call_cap_s=budgets.tool_timeout_s)
    # Other accounts' identities: out of what the model reads, the events, the audit and the diagnosis.
    others = OtherAccounts(accounts, signals.account_id)
    recorder = _Recorder(on_event, others)
    with deadlines.bound(deadline):
        started = time.perf_counter()
        phases: dict[str, float] = {}
        recorder.emit("investigation_started", ticket_id=ticket.id, model=model.name)
        recorder.emit(
            "signals_extracted",
            account_id=signals.account_id,
            account_source=signals.account_source,
            account_candidate=signals.account_candidate,
            summary=_signals_summary(signals),
        )

        t = time.perf_counter()
        matches = match_runbooks(runbooks, ticket, signals)
        recorder.emit(
            "runbooks_matched",
            runbooks=[m.runbook.id for m in matches],
            reasons={m.runbook.id: m.reasons for m in matches},
            **({"disabled": list(disabled_runbooks)} if disabled_runbooks else {}),
        )
        state = LoopState(
            ticket=ticket,
            signals=signals,
            account=dict(account) if account else None,
            matches=matches,
            toolbox=toolbox,
            budgets=budgets,
            context=_base_context(ticket, signals, account, catalog or Catalog(), toolbox),
            catalog=catalog or Catalog(),
            withhold=others.scrub,
        )
        # Every call of this investigation is scoped to its account, whatever the model asks for.
        ctx = CallContext.for_account(
            signals.account_id,
            accounts,
            now=ticket.created_at,
            requested_by=model.name,
            tenant=tenant,
            helpdesk_tenant=helpdesk_tenant,
        )
        # Preflight, the differential, model turns and routing all call tools through this one ledger.
        calls = CallLedger(
            toolbox,
            ctx,
            budget=budgets.max_tool_calls,
            on_event=recorder.tool_event,
            record=state.outcomes,
            withhold=others.scrub,
        )
        state.calls = calls
        skipped: list[str] = []
        with deadlines.bound(deadline.earlier(budgets.deadline_s * _PREFLIGHT_SHARE)):
            await _preflight(state, calls, skipped)
            # The general differential: the account's own errors, billing, deploys and their compares,
            # the sources the ticket touches, in two more waves (reusing the runbooks' identical calls).
            if differential:
                evidence = await collect(state, ctx, recorder.tool_event)
                state.differential = assess(state, evidence)
        phases["preflight_ms"] = round((time.perf_counter() - t) * 1000, 1)

        usage = Usage()
        t = time.perf_counter()
        state.new_outcomes = list(state.outcomes)
        model_deadline = deadline.earlier(budgets.deadline_s * _ROUTING_SHARE)
        with deadlines.bound(model_deadline):
            diagnosis, fallback_reason = await _turns(
                state, model, calls, recorder, usage, started, model_deadline
            )
        phases["model_ms"] = round((time.perf_counter() - t) * 1000, 1)

        if diagnosis is None:
            if model.name != "offline":
                recorder.emit("fallback", reason=fallback_reason)
            raw = offline_diagnosis(state)
            candidate, errors = _finalise(
                raw, state, "offline", fallback_reason=fallback_reason if model.name != "offline" else None
            )
            assert candidate is not None, errors  # the offline investigator's output is valid by construction
            diagnosis = candidate

        # Routing may collect what an escalation lacks, in the time left; its calls join state.outcomes
        # (and the audit). Calls the deadline left no time for are refused and listed as missing.
        diagnosis = await route(diagnosis, calls, ticket=ticket, signals=signals, account=account)
        diagnosis = link_article(diagnosis, state.outcomes)
        # Whatever model wrote it: a candidate account's data never reaches the customer reply.
        diagnosis = mark_account(diagnosis, signals, ticket)
        # Whatever a similar ticket, an article or a model wrote: no other account is named in it.
        diagnosis = withhold_other_accounts(diagnosis, others)
        usage.tool_calls = len(state.outcomes)
        usage.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        usage.phases_ms = phases
        usage.cost_usd = _cost(model.name, usage, prices or {})
        unavailable = list(diagnosis.unavailable_sources)
        diagnosis = diagnosis.model_copy(update={"usage": usage, "unavailable_sources": unavailable})
        # Whatever a model wrote or a tool returned into the diagnosis, no credential leaves the loop.
        diagnosis = Diagnosis.model_validate(redact_strings(diagnosis.model_dump(mode="json")))
        recorder.emit(
            "diagnosis_ready",
            category=diagnosis.root_cause.category,
            action=diagnosis.action,
            confidence=diagnosis.confidence.score,
            team=diagnosis.escalation.team if diagnosis.escalation else None,
        )
        # The audit log keeps each call's arguments: what a model asked for names no other account either.
        outcomes = [
            o.model_copy(update={"arguments": others.scrub_strings(o.arguments, keep=frozenset())})
            for o in state.outcomes
        ]
        return Investigation(diagnosis, signals, matches, outcomes, recorder.events, skipped)


async def _turns(
    state: LoopState,
    model: Model,
    calls: CallLedger,
    recorder: _Recorder,
    usage: Usage,
    started: float,
    deadline: Deadline,
) -> tuple[Diagnosis | None, str | None]:
    """The model's turns until a valid, grounded diagnosis, or the reason to fall back."""
    budgets = state.budgets
    diagnosis: Diagnosis | None = None
    fallback_reason: str | None = None
    repairs_left = budgets.max_repairs
    for turn in range(1, budgets.max_turns + 1):
        state.turn = turn
        state.tool_calls_left = calls.left
        elapsed = time.perf_counter() - started
        if (
            turn == budgets.max_turns
            or state.tool_calls_left == 0
            or elapsed > budgets.deadline_s * 0.8
            or max(usage.input_tokens, state.sent_tokens) >= budgets.max_input_tokens
            or usage.output_tokens >= budgets.max_output_tokens
        ):
            state.must_conclude = True
        left = deadline.remaining()
        if left <= 0:
            fallback_reason = f"the deadline of {budgets.deadline_s:g} s left no time for another turn"
            break
        try:
            reply = await deadlines.within(model.turn(state), left)
        except ModelUnavailable as exc:
            fallback_reason = f"{model.name} unavailable: {exc}"
            break
        except TimeoutError:
            fallback_reason = f"{model.name} did not answer within the deadline of {budgets.deadline_s:g} s"
            break
        except ModelMisconfigured:
            raise  # a setup mistake, not an outage: the run stops (see ModelMisconfigured)
        except Exception as exc:  # a malformed answer is the provider's fault, never the investigation's end
            log.warning("%s: turn %d failed", model.name, turn, exc_info=True)
            fallback_reason = f"{model.name} gave a malformed response: {type(exc).__name__}: {exc}"[:300]
            break
        usage.turns += 1
        usage.input_tokens += reply.usage.input_tokens
        usage.output_tokens += reply.usage.output_tokens
        usage.cached_tokens += reply.usage.cached_tokens
        recorder.emit(
            "model_turn",
            turn=turn,
            tool_calls=[c.tool for c in reply.tool_calls],
            concluded=reply.diagnosis is not None,
            summary=(
                "diagnosis submitted"
                if reply.diagnosis is not None
                else f"{len(reply.tool_calls)} tool call(s)"
                if reply.tool_calls
                else (reply.refusal or "no action")
            ),
        )
        state.feedback = []
        if reply.diagnosis is not None:
            candidate, errors = _finalise(reply.diagnosis, state, model.name)
            if candidate is not None and not errors:
                diagnosis = candidate
                break
            recorder.emit(
                "diagnosis_rejected", reason="; ".join(errors[:3]), errors=errors, sent_back=repairs_left > 0
            )
            if repairs_left == 0:
                fallback_reason = f"{model.name} gave no valid, grounded diagnosis: {'; '.join(errors[:3])}"
                break
            repairs_left -= 1
            state.feedback = errors
            state.new_outcomes = []
            continue
        if reply.refusal and not reply.tool_calls:
            fallback_reason = f"{model.name} refused: {reply.refusal}"
            break
        if state.must_conclude and not reply.tool_calls:
            fallback_reason = f"{model.name} did not conclude within its budget"
            break
        if not reply.tool_calls:
            state.feedback = ["No tool calls and no diagnosis: call tools or submit the diagnosis."]
            state.new_outcomes, state.answers = [], []
            continue
        if deadline.expired:
            fallback_reason = f"deadline of {budgets.deadline_s:g} s passed"
            break
        state.answers = await calls.run([(c.tool, c.arguments) for c in reply.tool_calls], "model")
        state.new_outcomes = list({id(o): o for o in state.answers if o is not None}.values())
        _alias(state, reply.tool_calls)
    else:
        fallback_reason = fallback_reason or f"{model.name} used all {budgets.max_turns} turns"
    return diagnosis, fallback_reason


def _alias(state: LoopState, requested: Sequence[ToolCall]) -> None:
    """The model may cite its own id for a call (``call_…``, ``toolu_…``): map it to ours. An id
    the provider reused names no call (None)."""
    for call, answer in zip(requested, state.answers, strict=True):
        if answer is None:
            continue
        known = call.id in state.call_aliases and state.call_aliases[call.id] != answer.call_id
        state.call_aliases[call.id] = None if known else answer.call_id


def _cost(model_name: str, usage: Usage, prices: Mapping[str, Mapping[str, float]]) -> float:
    name = model_name.split(":", 1)[-1]
    price = prices.get(model_name) or prices.get(name)
    if not price:
        # dated snapshots ("claude-haiku-4-5-20251001") take the price of their family name
        family = max((key for key in prices if name.startswith(key)), key=len, default=None)
        price = prices[family] if family else None
    if not price:
        return 0.0
    fresh_input = max(0, usage.input_tokens - usage.cached_tokens)
    total = (
        fresh_input * price.get("input", 0.0)
        + usage.cached_tokens * price.get("cached", price.get("input", 0.0))
        + usage.output_tokens * price.get("output", 0.0)
    ) / 1_000_000
    return round(total, 6)
