"""``casefile eval similar``: precision@3 of similar-case ranking on each world's labelled set.

Labels (``evals/similar_labels/<world>.yaml``) group a world's golden tickets and resolved
helpdesk tickets by their true cause. The queries are the labelled golden tickets with at least
one other ticket of their cause; the candidates are what a later investigation's search would
see: the world's resolved helpdesk tickets (subject, description, resolution, tags, as
``tickets_similar`` reads them) and every other golden ticket as the past diagnosis its
investigation produced (``agent/similar/past.py``: subject, category, summary, cited identifiers).
precision@3 = cause-mates among the top 3 / min(3, its cause-mates), averaged over the queries.

Two queries are measured, each ranked by meaning and by BM25 alone (the fallback):

* ``investigation`` (the product's): the arguments the escalation packet passes to
  ``tickets_similar`` after the diagnosis (``agent/similar/query.py``): the ticket's subject and
  body, the identifiers the diagnosis cited and its category. A wrong diagnosis is a wrong query.
* ``ticket text``: the same call without a diagnosis (the ticket's subject and body alone).

and the investigation's query by meaning once more against the resolved tickets alone ("resolved
only"), which is exactly what the packet's ``tickets_similar`` ranks (past diagnoses are found by
``cases_similar`` with another query, before the diagnosis).

The diagnoses are an offline run's (``casefile eval run`` of the world's cases, done here), or an
earlier run's ``results.json`` (``--run``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field

from casefile import PACKAGE_DIR
from casefile.agent.errors import UsageError
from casefile.agent.similar.embed import Embedder
from casefile.agent.similar.evidence import identifiers
from casefile.agent.similar.observed import failing_codes
from casefile.agent.similar.past import PastCase, case_doc
from casefile.agent.similar.query import (
    SimilarQuery,
    category_trust,
    investigation_query,
    query_keys,
    resolved_doc,
)
from casefile.agent.similar.rank import Doc, rank
from casefile.agent.ticket import Ticket
from casefile.evals.scoring import CaseScore

__all__ = [
    "LABELS_DIR",
    "WORLDS",
    "Labels",
    "WorldScore",
    "cmd_similar",
    "load_labels",
    "score_world",
    "world_ids",
]

LABELS_DIR = Path(__file__).resolve().parent / "similar_labels"
WORLDS = {
    "demo": PACKAGE_DIR / "examples" / "world",
    "kestrel": PACKAGE_DIR / "evals" / "worlds" / "kestrel",
    "pipewell": PACKAGE_DIR / "evals" / "worlds" / "pipewell",
    "paysaga": PACKAGE_DIR / "evals" / "worlds" / "paysaga",
    "quillmark": PACKAGE_DIR / "evals" / "worlds" / "quillmark",
    "corvane": PACKAGE_DIR / "evals" / "worlds" / "corvane",
    "fretmark": PACKAGE_DIR / "evals" / "worlds" / "fretmark",
    "tidvara": PACKAGE_DIR / "evals" / "worlds" / "tidvara",
    "hirefjord": PACKAGE_DIR / "evals" / "worlds" / "hirefjord",
    "posthorn": PACKAGE_DIR / "evals" / "worlds" / "posthorn",
    "tallyo": PACKAGE_DIR / "evals" / "worlds" / "tallyo",
    "kinolume": PACKAGE_DIR / "evals" / "worlds" / "kinolume",
    "afspraq": PACKAGE_DIR / "evals" / "worlds" / "afspraq",
    "tachyra": PACKAGE_DIR / "evals" / "worlds" / "tachyra",
    "kerbwatt": PACKAGE_DIR / "evals" / "worlds" / "kerbwatt",
    "tutelka": PACKAGE_DIR / "evals" / "worlds" / "tutelka",
    "loomwharf": PACKAGE_DIR / "evals" / "worlds" / "loomwharf",
    "roomquay": PACKAGE_DIR / "evals" / "worlds" / "roomquay",
    "ringmoor": PACKAGE_DIR / "evals" / "worlds" / "ringmoor",
    "quernstore": PACKAGE_DIR / "evals" / "worlds" / "quernstore",
}
K = 3
QueryKind = Literal["investigation", "text"]


class Labels(BaseModel):
    world: str
    causes: dict[str, list[str]] = Field(description="cause → members (case:<id> or history:<id>)")


class WorldScore(BaseModel):
    world: str
    query: QueryKind
    method: Literal["meaning", "bm25"]
    queries: int
    pairs: int = Field(description="unordered pairs of tickets with the same cause")
    precision_at_3: float
    misses: list[str] = Field(default_factory=list, description="queries below 1.0: id → its top 3")
    precisions: dict[str, float] = Field(default_factory=dict, description="each query's precision@3")


class World(BaseModel):
    """A world's golden tickets (by case id), its resolved tickets as candidates, its labels."""

    name: str
    tickets: dict[str, Ticket]
    history: list[Doc]
    labels: Labels
    by_rule: list[str] = Field(
        default_factory=list, description="golden cases the labels file leaves out, labelled by the rule"
    )


def load_labels(world: str) -> Labels:
    path = LABELS_DIR / f"{world}.yaml"
    if not path.is_file():
        raise UsageError(f"no similar-case labels for world {world!r} ({path} missing)")
    return Labels.model_validate(yaml.safe_load(path.read_text("utf-8")))


def load_world(world: str) -> World:
    """The world's tickets and labels; a label naming a ticket the world lacks is a clear error."""
    from casefile.agent.intake import load_ticket
    from casefile.evals.cases import load_cases

    root = WORLDS[world]
    cases = load_cases(world=root)
    tickets = {f"case:{c.id}": load_ticket(c.ticket_path) for c in cases}
    raw = json.loads((root / "tickets.json").read_text("utf-8")).get("tickets") or []
    history = [
        resolved_doc(
            f"history:{t['id']}",
            str(t.get("subject") or ""),
            str(t.get("body") or ""),
            t.get("resolution"),
            [str(tag) for tag in t.get("tags") or []],
        )
        for t in raw
    ]
    labels = load_labels(world)
    known = set(tickets) | {d.id for d in history}
    for cause, members in labels.causes.items():
        for member in members:
            if member not in known:
                raise UsageError(
                    f"{world}: label {cause!r} names {member}, which is not a golden case or resolved "
                    f"ticket of the world"
                )
    # A golden case added after the labels were written joins them by the rule they were written
    # by, or a match with it would count as a miss.
    labelled = {m for members in labels.causes.values() for m in members}
    by_rule = []
    for case in cases:
        ruled = rule_cause(case.expected.category, case.expected.must_cite)
        if ruled is not None and f"case:{case.id}" not in labelled:
            labels.causes.setdefault(ruled, []).append(f"case:{case.id}")
            by_rule.append(f"case:{case.id}")
    return World(name=world, tickets=tickets, history=history, labels=labels, by_rule=by_rule)


_REFINED = frozenset(
    {"deploy_regression", "known_bug", "customer_error", "webhook_platform", "platform_incident"}
)


def rule_cause(category: str, must_cite: list[str]) -> str | None:
    """A golden case's cause: its expected category, refined for the families one category spans by
    the first deploy, bug id or error code it must cite; a vague case has none."""
    if category == "insufficient_evidence":
        return None
    if category in _REFINED:
        for value in must_cite:
            if identifiers(value):
                return f"{category} {value}"
    return category


def world_ids(world: str) -> set[str]:
    """Every ticket id a label may name in ``world``."""
    w = load_world(world)
    return set(w.tickets) | {d.id for d in w.history}


def _past_doc(case_id: str, ticket: Ticket, score: CaseScore | None) -> Doc | None:
    """A golden ticket as the past diagnosis its investigation left (none when it produced none)."""
    if score is None or score.category is None:
        return None
    return case_doc(
        PastCase(
            investigation_id=case_id,
            ticket_id=ticket.id,
            subject=ticket.subject,
            category=score.category,
            confidence=score.confidence,
            summary=score.summary,
            cited=score.cited,
        )
    )


def search_of(
    ticket: Ticket, score: CaseScore | None, kind: QueryKind, run: CaseScore | None = None
) -> SimilarQuery:
    """The search the product makes for this ticket: after its diagnosis, or (``text``) without one;
    ``run``: the ticket's own run, whose tools' findings (the account's failing codes) the search
    carries whoever wrote the diagnosis (the control swaps the diagnosis, not the logs)."""
    if kind == "text" or score is None:
        return investigation_query(ticket.subject, ticket.body)
    return investigation_query(
        ticket.subject,
        ticket.body,
        score.category,
        score.summary,
        score.cited,
        score.confidence,
        failing_codes((run or score).observed),
    )


def score_world(
    world: World,
    embedder: Embedder | None,
    diagnoses: dict[str, CaseScore],
    kind: QueryKind,
    pool: Literal["all", "resolved"] = "all",
    searched: dict[str, CaseScore] | None = None,
) -> WorldScore:
    """precision@3 of ``kind``'s search; ``pool`` "resolved" ranks the resolved tickets alone, as the
    escalation packet's ``tickets_similar`` does (past diagnoses are neither candidates nor mates).
    ``searched``: the diagnoses the queries are searched with, when not their own (the past
    diagnoses among the candidates stay ``diagnoses``): :func:`wrong_diagnoses`' control."""
    searched = diagnoses if searched is None else searched
    cause_of = {m: cause for cause, members in world.labels.causes.items() for m in members}
    past = {
        cid: doc
        for cid, ticket in world.tickets.items()
        if pool == "all"
        and (doc := _past_doc(cid, ticket, diagnoses.get(cid.removeprefix("case:")))) is not None
    }
    candidates = [*world.history, *past.values()]
    ids = {d.id for d in world.history} | set(world.tickets if pool == "all" else ())
    precisions: dict[str, float] = {}
    misses = []
    for cid, ticket in world.tickets.items():
        label = cause_of.get(cid)
        mates = {m for m in world.labels.causes.get(label or "", []) if m != cid and m in ids}
        if not mates:
            continue
        case_id = cid.removeprefix("case:")
        search = search_of(ticket, searched.get(case_id), kind, diagnoses.get(case_id))
        others = [d for d in candidates if d.id != cid]
        ranking = rank(
            search.text,
            others,
            query_evidence=query_keys(search.evidence, search.category, search.codes),
            embedder=embedder,
            category_trust=category_trust(search.confidence),
            plain=search_of(ticket, None, "text").text,
        )
        top = [s.id for s in ranking.results[:K]]
        precision = len(mates.intersection(top)) / min(K, len(mates))
        precisions[cid] = precision
        if precision < 1:
            misses.append(f"{cid} ({label}) → {', '.join(top) or '(nothing)'}")
    pairs = sum(len(m) * (len(m) - 1) // 2 for m in world.labels.causes.values())  # of the whole set
    return WorldScore(
        world=world.name,
        query=kind,
        method="meaning" if embedder is not None else "bm25",
        queries=len(precisions),
        pairs=pairs,
        precision_at_3=_mean(precisions.values()),
        misses=misses,
        precisions=precisions,
    )


def wrong_diagnoses(world: World, diagnoses: dict[str, CaseScore]) -> dict[str, CaseScore]:
    """The control: each labelled golden case searched with another case's diagnosis, the next one
    (by id, round the world) whose label and diagnosis are another category; a confident wrong diagnosis as the
    investigator writes one (its category, summary, cited values and confidence). What the ranking
    is worth when the diagnosis is wrong, measured on every query rather than on the few the
    investigator happens to get wrong."""
    cause_of = {m: cause for cause, members in world.labels.causes.items() for m in members}
    order = sorted(c for c in world.tickets if c in cause_of and c.removeprefix("case:") in diagnoses)
    swapped: dict[str, CaseScore] = {}
    for i, cid in enumerate(order):
        expected = cause_of[cid].split()[0]  # the label's category (a refined cause adds its code)
        for other in order[i + 1 :] + order[:i]:
            donor = diagnoses[other.removeprefix("case:")]
            if cause_of[other].split()[0] != expected and donor.category not in (None, expected):
                swapped[cid.removeprefix("case:")] = donor.model_copy(update={"category_ok": False})
                break
    return swapped


def misdiagnosed(score: WorldScore, diagnoses: dict[str, CaseScore]) -> dict[str, float]:
    """The precision@3 of the queries whose diagnosis named another category than the expected one
    (or none): how the search holds up when the investigator is wrong."""
    return {
        q: p
        for q, p in score.precisions.items()
        if not ((d := diagnoses.get(q.removeprefix("case:"))) is not None and d.category_ok)
    }


def _mean(values: Iterable[float]) -> float:
    got = list(values)
    return round(sum(got) / len(got), 3) if got else 0.0


def load_run(path: str) -> dict[str, CaseScore]:
    from casefile.evals.runner import RunResult

    try:
        run = RunResult.model_validate_json(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"--run {path}: not an eval run's results.json ({str(exc).splitlines()[0][:120]})"
        ) from None
    return {s.case_id: s for s in run.scores if s.repeat == 0}


def offline_diagnoses(worlds: list[str]) -> dict[str, CaseScore]:
    """The offline investigator's diagnosis of every golden case of ``worlds`` (as ``eval run``)."""
    from casefile.agent.config import load_settings
    from casefile.agent.runner import run_to_end
    from casefile.evals.cases import load_cases
    from casefile.evals.runner import run_cases

    settings = load_settings(None).model_copy(update={"model": "offline"})
    cases = [c for w in worlds for c in load_cases(world=WORLDS[w])]
    run = run_to_end(run_cases(cases, settings, concurrency=2))
    return {s.case_id: s for s in run.scores if s.repeat == 0}


def _right(world: World, diagnoses: dict[str, CaseScore]) -> str:
    """How many labelled queries' diagnoses have the expected category (a wrong one is a wrong query)."""
    ids = [
        c.removeprefix("case:") for c in world.tickets if any(c in m for m in world.labels.causes.values())
    ]
    right = sum(1 for i in ids if (s := diagnoses.get(i)) is not None and s.category_ok)
    return f"{right}/{len(ids)}"


def cmd_similar(worlds: list[str], run: str | None, verbose: bool) -> int:
    """Print precision@3 per world: the investigation's query and the ticket text's, by meaning and BM25."""
    from casefile.agent.similar.embed import embedder_status, load_embedder

    unknown = [w for w in worlds if w not in WORLDS]
    if unknown:
        raise UsageError(f"unknown world(s) {', '.join(unknown)}: choose from {', '.join(WORLDS)}")
    chosen = worlds or list(WORLDS)
    loaded = [load_world(w) for w in chosen]  # bad labels fail before any investigation runs
    diagnoses = load_run(run) if run else offline_diagnoses(chosen)
    model = load_embedder()
    print(f"similar cases: precision@{K}; diagnoses from {run or 'an offline run of the golden cases'}")
    if model is None:
        print(f"  embedding model unavailable ({embedder_status().reason}): only BM25 is measured")
    head = "investigation: meaning  bm25   ticket text: meaning  bm25   resolved only: meaning"
    print(f"  {'world':10} {'queries':>7} {'pairs':>5} {'diagnosed':>9}   {head}   control: meaning  bm25")
    wrong: list[tuple[float, float, float]] = []  # a wrongly diagnosed query: by meaning, BM25, its text's
    control: list[tuple[float, float, float]] = []  # every query searched with a wrong diagnosis: the same
    for world in loaded:
        cols = []
        for kind in ("investigation", "text"):
            meaning = score_world(world, model, diagnoses, kind) if model is not None else None
            bm25 = score_world(world, None, diagnoses, kind)
            cols.append((meaning, bm25))
        (im, ib), (tm, tb) = cols
        packet = score_world(world, model, diagnoses, "investigation", "resolved") if model else None
        swapped = wrong_diagnoses(world, diagnoses)
        cm = score_world(world, model, diagnoses, "investigation", searched=swapped) if model else None
        cb = score_world(world, None, diagnoses, "investigation", searched=swapped)
        shown = [f"{s.precision_at_3:.3f}" if s else "–" for s in (im, ib, tm, tb, packet, cm, cb)]
        print(
            f"  {world.name:10} {ib.queries:7} {ib.pairs:5} {_right(world, diagnoses):>9}   "
            f"{shown[0]:>22} {shown[1]:>5} {shown[2]:>21} {shown[3]:>5} {shown[4]:>24}"
            f"   {shown[5]:>16} {shown[6]:>5}"
        )
        if world.by_rule:
            print(f"      labelled by the rule (not in the labels file): {', '.join(world.by_rule)}")
        if verbose and im:
            for miss in im.misses:
                print(f"      miss: {miss}")
        text = (tm or tb).precisions
        control += [(p, cb.precisions[q], text[q]) for q, p in (cm or cb).precisions.items()]
        ours = [(p, ib.precisions[q], text[q]) for q, p in misdiagnosed(im or ib, diagnoses).items()]
        if ours:
            print(f"      {_wrong_line(ours)}")
        wrong += ours
    if wrong:
        print(f"  all worlds: {_wrong_line(wrong)}")
    if control:
        print(f"  all worlds, control: {_wrong_line(control).replace('diagnosed', 'searched', 1)}")
    return 0


def _wrong_line(wrong: list[tuple[float, float, float]]) -> str:
    """The queries diagnosed with another category: the investigation's search by meaning and by
    BM25, beside the ticket text's on the same queries."""
    by_meaning, by_words, by_text = (_mean(col) for col in zip(*wrong, strict=True))
    return (
        f"diagnosed with another category: {len(wrong)} queries; investigation {by_meaning:.3f} "
        f"(BM25 {by_words:.3f}), ticket text {by_text:.3f}"
    )
