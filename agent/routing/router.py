"""Routing one diagnosis: facts, trigger rules, the decision, the team, then (for an escalation) the
context the team requires collected through the toolbox and the packet built and rendered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from casefile.agent.diagnosis import Diagnosis, Escalation
from casefile.agent.ledger import CallLedger
from casefile.agent.packet import (
    FillContext,
    Packet,
    PacketCall,
    Sources,
    build_fields,
    fill_calls,
    render_markdown,
)
from casefile.agent.routing.ask import open_ask
from casefile.agent.routing.check import load_routing
from casefile.agent.routing.decide import decide, match_symptoms, match_triggers, select_team
from casefile.agent.routing.facts import FACT_PROBES, compute_facts
from casefile.agent.routing.schema import UNINFORMATIVE, RoutingConfig
from casefile.agent.ticket import Signals, Ticket

__all__ = ["route"]


async def route(
    diagnosis: Diagnosis,
    calls: CallLedger,
    *,
    ticket: Ticket | None = None,
    signals: Signals | None = None,
    account: Mapping[str, Any] | None = None,
    config: RoutingConfig | None = None,
    max_calls: int = 6,
) -> Diagnosis:
    """Decide resolve/escalate, the team and the packet. Never raises for bad sources.

    Calls routing makes (facts a trigger's ``unless`` needs, the team's required
    context, similar resolved tickets) go through the investigation's call ledger,
    labelled ``routing``, within its budget (and at most ``max_calls``); they join
    its outcomes, so the audit log holds them. A ledger without a toolbox makes no
    calls: routing works from the outcomes alone.
    """
    config = config or load_routing()
    text = ticket.full_text() if ticket is not None else f"{diagnosis.summary}"
    ask = open_ask(ticket) if ticket is not None else None
    outcomes, ctx = calls.outcomes, calls.ctx
    account_id = (
        diagnosis.account_id or (account or {}).get("id") or (signals.account_id if signals else None)
    )
    end = signals.window_end if signals else ctx.now
    start = signals.window_start if signals else end - timedelta(hours=24)
    budget = [max_calls]

    def sources() -> Sources:
        return Sources(outcomes, ticket, signals, account, config.evidence.model_dump())

    async def collect(names: Sequence[str]) -> None:
        if calls.toolbox is None or budget[0] <= 0:
            return
        fill = FillContext(account_id, start, end, sources(), diagnosis)
        wanted = fill_calls(names, fill, calls.has_tool)[: budget[0]]
        budget[0] -= len(wanted)
        await calls.run(wanted, "routing")

    facts = compute_facts(outcomes, config.evidence, diagnosis, ctx.now)
    fired, silenced = match_triggers(config, text, signals, facts, ask)
    # A rule about to fire on words may be silenced by evidence nobody has collected yet: collect it.
    areas = set(signals.areas) if signals else set()
    probes = [
        FACT_PROBES[f][0]
        for hit in fired
        for f in hit.trigger.unless
        if f in FACT_PROBES and f not in facts and (not FACT_PROBES[f][1] or FACT_PROBES[f][1] & areas)
    ]
    if probes:
        await collect(probes)
        facts = compute_facts(outcomes, config.evidence, diagnosis, ctx.now)
        fired, silenced = match_triggers(config, text, signals, facts, ask)
    trigger = fired[0] if fired else None
    overruled = ""
    if trigger is not None and not trigger.binds:
        # Words (or a fact about another part of the system) add urgency; they do not overturn a
        # confident, evidenced diagnosis whose fix is the customer's or documented.
        plain = decide(config, diagnosis, facts, None)
        if plain.action == "resolve" and diagnosis.root_cause.category not in UNINFORMATIVE:
            overruled = f"Routing: {trigger.describe()}, but the diagnosis resolves it ({plain.reason})."
            trigger = None
    decision = decide(config, diagnosis, facts, trigger)
    if decision.action == "resolve":
        note = "\n".join(x for x in (diagnosis.internal_note, overruled) if x)
        return diagnosis.model_copy(update={"action": "resolve", "escalation": None, "internal_note": note})

    symptoms = match_symptoms(config, diagnosis, text, signals, facts)
    choice = select_team(config, diagnosis, symptoms, trigger)
    team = config.teams.get(choice.team) or config.teams[config.decision.fallback_team]
    symptom = next((s.symptom for s in symptoms if s.symptom.id == choice.symptom), None)
    wanted = [*team.requires, *(symptom.collect if symptom else [])]
    await collect(wanted)
    if choice.routed_by not in {"trigger", "evidence"} and symptom is not None and symptom.collect:
        # What was just collected may settle the team (e.g. slowness: one account or everyone).
        facts = compute_facts(outcomes, config.evidence, diagnosis, ctx.now)
        symptoms = match_symptoms(config, diagnosis, text, signals, facts)
        rechosen = select_team(config, diagnosis, symptoms, trigger)
        if rechosen.team != choice.team and rechosen.routed_by == "evidence":
            choice = rechosen
            team = config.teams[choice.team]
            await collect(team.requires)
            wanted = [*team.requires, *wanted]

    fields, missing = build_fields(wanted, sources())
    missing += [
        f"{u.source} unavailable: {u.reason}"
        for u in diagnosis.unavailable_sources
        if not any(u.source in m for m in missing)
    ]
    used = {s for f in fields for s in f.sources} | {e.call_id for e in diagnosis.evidence}
    packet = Packet(
        ticket_id=diagnosis.ticket_id,
        account_id=account_id,
        account_name=(account or {}).get("name") or (signals.account_name if signals else None),
        team=choice.team,
        team_name=team.name,
        channel=team.channel,
        queue=team.queue,
        reason=decision.reason,
        trigger=trigger.trigger.id if trigger else None,
        symptom=choice.symptom,
        routed_by=choice.routed_by,
        why=[*choice.why, *silenced],
        summary=diagnosis.summary,
        root_cause=diagnosis.root_cause.model_dump(),
        confidence=diagnosis.confidence.score,
        evidence=[e.model_dump() for e in diagnosis.evidence],
        fields=fields,
        missing=missing,
        calls=[
            PacketCall(
                call_id=o.call_id, tool=o.tool, arguments=o.arguments, ok=o.ok, origin=o.origin, error=o.error
            )
            for o in outcomes
            if o.call_id in used or not o.ok
        ],
    )
    escalation = Escalation(
        team=choice.team,
        reason=decision.reason,
        packet=packet.model_dump(mode="json"),
        missing=missing,
        trigger=packet.trigger,
        symptom=packet.symptom,
        channel=team.channel,
        packet_markdown=render_markdown(packet),
    )
    return diagnosis.model_copy(update={"action": "escalate", "escalation": escalation})
