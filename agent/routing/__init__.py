"""Routing: resolve or escalate, to which team, with which context. Deterministic, after every diagnosis.

The rules live in ``prompts/routing.yaml``, a file support engineers maintain
(its comments document the format; ``casefile routing check`` validates it with
file, line and reason for each problem). Whatever model wrote the diagnosis,
:func:`route` then:

1. computes **evidence facts** from the tool results (billing not in good
   standing, webhook failures confined to the customer's endpoint, latency up
   across many accounts …), see :data:`FACTS`;
2. checks the **trigger rules**: signatures (exceptions, error codes, statuses,
   keywords, evidence) that bypass L1 and force an escalation to a named team.
   A rule's ``unless`` facts silence it when the evidence shows the words
   mislead; routing collects those facts first if the investigation did not;
3. applies the **decision rule**: resolve only when the confidence reaches the
   category's threshold and the fix is the customer's or documented;
4. picks the **team** by symptom: evidence from tool results beats the model's
   category, which beats the ticket's words (and the packet says so when they
   disagree);
5. for an escalation, **collects** what the team requires and the similar
   resolved tickets through the toolbox (audited like every call), then builds
   the :class:`casefile.agent.packet.Packet` from tool results and renders it.

Modules: ``schema`` (the file's model), ``check`` (loading and checking it), ``facts`` (evidence
facts), ``decide`` (trigger rules, symptoms, team, resolve or escalate), ``router`` (:func:`route`).
"""

from __future__ import annotations

from casefile.agent.routing.check import check_routing, load_routing
from casefile.agent.routing.decide import (
    Decision,
    SymptomHit,
    TeamChoice,
    TriggerHit,
    decide,
    match_symptoms,
    match_triggers,
    select_team,
)
from casefile.agent.routing.facts import BILLING_ERROR_CODES, FACT_PROBES, FACTS, Fact, compute_facts
from casefile.agent.routing.router import route
from casefile.agent.routing.schema import (
    ROUTING_FILE,
    UNINFORMATIVE,
    CategoryRule,
    DecisionRules,
    EvidenceThresholds,
    RoutingConfig,
    RoutingError,
    Symptom,
    Team,
    Trigger,
)

__all__ = [
    "BILLING_ERROR_CODES",
    "FACTS",
    "FACT_PROBES",
    "ROUTING_FILE",
    "UNINFORMATIVE",
    "CategoryRule",
    "Decision",
    "DecisionRules",
    "EvidenceThresholds",
    "Fact",
    "RoutingConfig",
    "RoutingError",
    "Symptom",
    "SymptomHit",
    "Team",
    "TeamChoice",
    "Trigger",
    "TriggerHit",
    "check_routing",
    "compute_facts",
    "decide",
    "load_routing",
    "match_symptoms",
    "match_triggers",
    "route",
    "select_team",
]
