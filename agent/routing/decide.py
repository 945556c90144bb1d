"""Deciding from facts: which trigger rules fire (or an ``unless`` fact silences), which symptoms
match and how strongly, which team, and resolve or escalate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.routing.facts import Fact
from casefile.agent.routing.schema import UNINFORMATIVE, CategoryRule, RoutingConfig, Symptom, Trigger
from casefile.agent.ticket import Signals

__all__ = [
    "Decision",
    "SymptomHit",
    "TeamChoice",
    "TriggerHit",
    "decide",
    "match_symptoms",
    "match_triggers",
    "select_team",
]


@dataclass
class TriggerHit:
    trigger: Trigger
    hits: list[str]
    by_evidence: bool
    shown_by: list[str] = field(default_factory=list)  # the facts' details, in plain words
    answered: bool = False
    """Its words occur only in a part of the thread someone already answered, not in the open ask."""

    @property
    def binds(self) -> bool:
        """A binding rule binds on what the customer is asking now; words of an earlier, answered
        question ("under GDPR we need…", then "Unrelated: …") add urgency like any other rule."""
        return self.trigger.binding and not self.answered

    def describe(self) -> str:
        """Why the ticket skips L1, in words a support agent reads (the rule's id is ``Escalation.trigger``)."""
        what = (self.trigger.description or f"Escalation rule {self.trigger.id}").rstrip(".")
        words = [
            h.removeprefix("words ").removeprefix("keyword ")
            for h in self.hits
            if not h.startswith("evidence ")
        ]
        because = []
        if self.shown_by:
            because.append("the tool results show " + "; ".join(self.shown_by))
        if words:
            because.append("the ticket mentions " + _and(words))
        return f"{what}: {' and '.join(because)}" if because else what


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def match_triggers(
    config: RoutingConfig,
    text: str,
    signals: Signals | None,
    facts: Mapping[str, Fact],
    ask: str | None = None,
) -> tuple[list[TriggerHit], list[str]]:
    """Rules that fire (best first) and, separately, rules an ``unless`` fact silenced (as notes).
    ``ask``: the part of ``text`` still open (``open_ask``); a binding rule whose words and evidence
    are all outside it is ``answered``."""
    fired: list[tuple[tuple[int, int, int], TriggerHit]] = []
    silenced: list[str] = []
    for order, trigger in enumerate(config.triggers):
        hits = trigger.hits(text, signals)
        evidence = [f"evidence {f} ({facts[f].call_id})" for f in trigger.evidence if f in facts]
        if not hits and not evidence:
            continue
        blockers = [f for f in trigger.unless if f in facts]
        if blockers:
            silenced.append(
                f"trigger rule {trigger.id} ({', '.join(hits + evidence)}) was silenced by the evidence: "
                + "; ".join(f"{facts[f].detail} ({facts[f].call_id})" for f in blockers)
            )
            continue
        shown_by = [facts[f].detail for f in trigger.evidence if f in facts]
        answered = (
            ask is not None
            and trigger.binding
            and trigger.scope == "ask"
            and not evidence
            and not trigger.hits(ask, signals)
        )
        hit = TriggerHit(
            trigger, evidence + hits, by_evidence=bool(evidence), shown_by=shown_by, answered=answered
        )
        fired.append(((-trigger.priority, 0 if evidence else 1, order), hit))
    fired.sort(key=lambda item: item[0])
    return [hit for _, hit in fired], silenced


@dataclass
class SymptomHit:
    symptom: Symptom
    level: Literal["evidence", "category", "words"]
    hits: list[str]
    order: int
    words: list[str] = field(default_factory=list)
    """What the ticket's words match of this symptom, whatever level it matched at."""

    def rank(self) -> tuple[int, int, int]:
        strength = {"evidence": 0, "category": 1, "words": 2}[self.level]
        return (strength, -len(self.hits), self.order)


def match_symptoms(
    config: RoutingConfig, diagnosis: Diagnosis, text: str, signals: Signals | None, facts: Mapping[str, Fact]
) -> list[SymptomHit]:
    """Every symptom with its strongest kind of match, best first."""
    found: list[SymptomHit] = []
    for order, symptom in enumerate(config.symptoms):
        words = symptom.hits(text, signals)
        evidence = [f"{f}: {facts[f].detail} ({facts[f].call_id})" for f in symptom.evidence if f in facts]
        if evidence:
            found.append(SymptomHit(symptom, "evidence", evidence, order, words))
        elif diagnosis.root_cause.category in symptom.categories:
            found.append(
                SymptomHit(symptom, "category", [f"category {diagnosis.root_cause.category}"], order, words)
            )
        elif words:
            found.append(SymptomHit(symptom, "words", words, order, words))
    found.sort(key=SymptomHit.rank)
    return found


@dataclass
class TeamChoice:
    team: str
    routed_by: str
    symptom: str | None
    why: list[str] = field(default_factory=list)


def select_team(
    config: RoutingConfig,
    diagnosis: Diagnosis,
    symptoms: Sequence[SymptomHit],
    trigger: TriggerHit | None,
) -> TeamChoice:
    """Trigger > evidence > the model's named team > category > words > fallback; explain disagreements."""
    best = symptoms[0] if symptoms else None
    # Where the ticket's words alone would send it: the symptom they match most.
    worded = sorted((s for s in symptoms if s.words), key=lambda s: (-len(s.words), s.order))
    words = worded[0] if worded else None
    named = (
        diagnosis.escalation.team
        if diagnosis.escalation and diagnosis.escalation.team in config.teams
        else None
    )
    category = diagnosis.root_cause.category
    # The symptom of the diagnosed category, however strongly it matched otherwise.
    by_category = next((s for s in symptoms if category in s.symptom.categories), None)
    threshold, _ = config.decision.rule(category)
    # A confident diagnosis of a cause decides; a weak or causeless one lets rules and evidence decide.
    decides = category not in UNINFORMATIVE and diagnosis.confidence.score >= min(threshold, 0.7)
    if trigger is not None and trigger.binds:
        choice = TeamChoice(trigger.trigger.team, "trigger", best.symptom.id if best else None)
    elif decides and named:
        # The diagnosed cause and its owner (the catalogue's, through the diagnosis) decide the team.
        choice = TeamChoice(named, "model", by_category.symptom.id if by_category else None)
        choice.why.append(f"the diagnosis ({category}) names its owner {named}")
    elif decides and by_category is not None:
        choice = TeamChoice(by_category.symptom.team, "category", by_category.symptom.id)
        choice.why.append(f"symptom {by_category.symptom.id} matched by the diagnosed category {category}")
    elif trigger is not None:
        choice = TeamChoice(trigger.trigger.team, "trigger", best.symptom.id if best else None)
    elif named and category in UNINFORMATIVE:
        # No cause found: the investigator's choice (the matched runbook's team, or L2 to ask the
        # customer) stands; evidence about another part of the system does not name a cause either.
        choice = TeamChoice(named, "model", best.symptom.id if best else None)
        choice.why.append(f"the diagnosis found no cause and names team {named}")
    elif best is not None and best.level == "evidence":
        choice = TeamChoice(best.symptom.team, "evidence", best.symptom.id)
        choice.why.append(f"symptom {best.symptom.id} matched by evidence: {'; '.join(best.hits)}")
    elif named:
        choice = TeamChoice(named, "model", best.symptom.id if best else None)
        choice.why.append(f"the diagnosis names team {named}")
    elif best is not None:
        choice = TeamChoice(best.symptom.team, best.level, best.symptom.id)
        choice.why.append(f"symptom {best.symptom.id} matched by {best.level}: {'; '.join(best.hits)}")
    else:
        choice = TeamChoice(config.decision.fallback_team, "fallback", None)
        choice.why.append("no symptom matched; sent to the fallback team")
    if trigger is not None and choice.routed_by != "trigger":
        choice.why.append(
            f"{trigger.describe()} (team {trigger.trigger.team}); the diagnosed {category} decides the team"
        )
    if choice.routed_by in {"evidence", "trigger"}:
        # Say so when the ticket's words, or the model's category, pointed somewhere else.
        if words is not None and words.symptom.team != choice.team:
            choice.why.append(
                f"the ticket's words point to {words.symptom.id} ({words.symptom.team}: {', '.join(words.words)}), "
                f"but the evidence wins and points to {choice.team}"
            )
        if by_category is not None and by_category.symptom.team != choice.team:
            choice.why.append(
                f"the diagnosis' category {diagnosis.root_cause.category} suggests {by_category.symptom.team}, "
                f"but the evidence points to {choice.team}"
            )
        if named and named != choice.team:
            choice.why.append(
                f"the diagnosis named {named}; routed to {choice.team} by the {choice.routed_by}"
            )
    return choice


@dataclass
class Decision:
    action: Literal["resolve", "escalate"]
    reason: str


def decide(
    config: RoutingConfig, diagnosis: Diagnosis, facts: Mapping[str, Fact], trigger: TriggerHit | None
) -> Decision:
    """The explicit resolve/escalate rule (see ``decision:`` in routing.yaml)."""
    if trigger is not None:
        return Decision("escalate", trigger.describe())
    category = diagnosis.root_cause.category
    threshold, fix = config.decision.rule(category)
    score = diagnosis.confidence.score
    # Reasons are read by support agents in the sidebar: plain words, percentages, no ids.
    kind = category.replace("_", " ")
    if diagnosis.action == "escalate" and config.decision.model_may_escalate:
        return Decision("escalate", f"The investigation recommends escalating ({score:.0%} confident)")
    if score < threshold:
        return Decision(
            "escalate", f"Only {score:.0%} confident; resolving a {kind} diagnosis needs {threshold:.0%}"
        )
    over = [
        f for f in (config.decision.categories.get(category) or CategoryRule()).resolve_when if f in facts
    ]
    if fix == "ours" and over:
        # A fix of ours that is already in place (the errors stopped): the reply explains, nothing to page.
        return Decision("resolve", f"{score:.0%} confident and it is over: {facts[over[0]].detail}")
    if fix == "ours":
        return Decision("escalate", f"This kind of problem ({kind}) needs a fix on our side")
    if fix == "workaround" and "known_bug_with_workaround" not in facts:
        return Decision(
            "escalate",
            f"This kind of problem ({kind}) is resolved only with a known bug's workaround; none was found",
        )
    how = {"customer": "the fix is on the customer's side", "documented": "the fix is documented"}.get(
        fix, f"{facts['known_bug_with_workaround'].detail}" if "known_bug_with_workaround" in facts else fix
    )
    return Decision("resolve", f"{score:.0%} confident (resolving needs {threshold:.0%}) and {how}")
