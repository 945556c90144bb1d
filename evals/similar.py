"""``casefile eval similar``: precision@3 of similar-case ranking on each world's labelled set.

Labels (``evals/similar_labels/<world>.yaml``) group a world's golden tickets and resolved
helpdesk tickets by their true cause. Each labelled ticket with at least one other of its cause is
a query; every other ticket of the world (golden or resolved, labelled or not) is a candidate.
precision@3 = causes-mates among the top 3 / min(3, number of its cause-mates), averaged over the
queries, for the ranking by meaning (the embedding model plus shared identifiers) and for BM25.
A ticket's text is what a later search would see: subject, body and public comments; a resolved
ticket's resolution too.

With ``--run results.json`` (an earlier ``casefile eval run``), each golden ticket is instead the
past diagnosis that run produced (``agent/similar/past.py``: subject, category, summary and the
identifiers it cited), the way stored investigations are searched: a wrong diagnosis in that run
is a wrong past case here too.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from casefile import PACKAGE_DIR
from casefile.agent.errors import UsageError
from casefile.agent.similar.embed import Embedder
from casefile.agent.similar.past import PastCase, case_doc
from casefile.agent.similar.rank import Doc, rank
from casefile.evals.scoring import CaseScore

__all__ = ["LABELS_DIR", "Labels", "WorldScore", "cmd_similar", "load_labels", "score_world", "world_docs"]

LABELS_DIR = Path(__file__).resolve().parent / "similar_labels"
WORLDS = {
    "demo": PACKAGE_DIR / "examples" / "world",
    "kestrel": PACKAGE_DIR / "evals" / "worlds" / "kestrel",
    "pipewell": PACKAGE_DIR / "evals" / "worlds" / "pipewell",
}
K = 3


class Labels(BaseModel):
    world: str
    causes: dict[str, list[str]] = Field(description="cause → members (case:<id> or history:<id>)")


class WorldScore(BaseModel):
    world: str
    method: str
    queries: int
    pairs: int = Field(description="unordered pairs of tickets with the same cause")
    precision_at_3: float
    misses: list[str] = Field(default_factory=list, description="queries below 1.0: id → its top 3")


def load_labels(world: str) -> Labels:
    path = LABELS_DIR / f"{world}.yaml"
    if not path.is_file():
        raise UsageError(f"no similar-case labels for world {world!r} ({path} missing)")
    return Labels.model_validate(yaml.safe_load(path.read_text("utf-8")))


def world_docs(world: str, diagnoses: dict[str, CaseScore] | None = None) -> list[Doc]:
    """Every golden ticket of ``world`` (or its diagnosis in ``diagnoses``) and every resolved
    ticket of its helpdesk, as candidates."""
    from casefile.agent.intake import load_ticket
    from casefile.evals.cases import load_cases

    root = WORLDS[world]
    docs = []
    for case in load_cases(world=root):
        ticket = load_ticket(case.ticket_path)
        score = (diagnoses or {}).get(case.id)
        if score is None or score.category is None:
            docs.append(Doc(id=f"case:{case.id}", text=ticket.full_text()))
            continue
        past = PastCase(
            investigation_id=f"case:{case.id}",
            ticket_id=ticket.id,
            subject=ticket.subject,
            category=score.category,
            summary=score.summary,
            cited=score.facts_cited,
        )
        docs.append(case_doc(past))
    history = json.loads((root / "tickets.json").read_text("utf-8")).get("tickets") or []
    for t in history:
        text = "\n".join(str(t.get(k) or "") for k in ("subject", "body", "resolution"))
        docs.append(Doc(id=f"history:{t['id']}", text=text))
    return docs


def score_world(
    world: str, embedder: Embedder | None, diagnoses: dict[str, CaseScore] | None = None
) -> WorldScore:
    labels = load_labels(world)
    docs = world_docs(world, diagnoses)
    known = {d.id for d in docs}
    cause_of: dict[str, str] = {}
    for cause, members in labels.causes.items():
        for member in members:
            if member not in known:
                raise UsageError(f"{world}: label {cause!r} names {member}, which is not in the world")
            cause_of[member] = cause
    total, queries, misses = 0.0, 0, []
    for query in docs:
        label = cause_of.get(query.id)
        mates = {m for m in labels.causes.get(label or "", []) if m != query.id}
        if not mates:
            continue
        others = [d for d in docs if d.id != query.id]
        ranking = rank(query.text, others, query_evidence=query.evidence, embedder=embedder)
        top = [s.id for s in ranking.results[:K]]
        precision = len(mates.intersection(top)) / min(K, len(mates))
        total += precision
        queries += 1
        if precision < 1:
            misses.append(f"{query.id} ({label}) → {', '.join(top) or '(nothing)'}")
    pairs = sum(len(m) * (len(m) - 1) // 2 for m in labels.causes.values())
    return WorldScore(
        world=world,
        method="meaning" if embedder is not None else "bm25",
        queries=queries,
        pairs=pairs,
        precision_at_3=round(total / queries, 3) if queries else 0.0,
        misses=misses,
    )


def load_run(path: str) -> dict[str, CaseScore]:
    from casefile.evals.runner import RunResult

    try:
        run = RunResult.model_validate_json(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"--run {path}: not an eval run's results.json ({str(exc).splitlines()[0][:120]})"
        ) from None
    return {s.case_id: s for s in run.scores if s.repeat == 0}


def cmd_similar(worlds: list[str], run: str | None, verbose: bool) -> int:
    """Print precision@3 per world for the ranking by meaning and for BM25."""
    from casefile.agent.similar.embed import embedder_status, load_embedder

    unknown = [w for w in worlds if w not in WORLDS]
    if unknown:
        raise UsageError(f"unknown world(s) {', '.join(unknown)}: choose from {', '.join(WORLDS)}")
    diagnoses = load_run(run) if run else None
    model = load_embedder()
    status = embedder_status()
    print(f"similar cases: precision@{K} ({'past diagnoses of ' + run if run else 'ticket text'})")
    if model is None:
        print(f"  embedding model unavailable ({status.reason}): only BM25 is measured")
    print(f"  {'world':10} {'queries':>7} {'pairs':>5}  {'meaning':>7}  {'bm25':>5}")
    for world in worlds or list(WORLDS):
        bm25 = score_world(world, None, diagnoses)
        meaning = score_world(world, model, diagnoses) if model is not None else None
        shown = f"{meaning.precision_at_3:7.3f}" if meaning else "      –"
        print(f"  {world:10} {bm25.queries:7} {bm25.pairs:5}  {shown}  {bm25.precision_at_3:5.3f}")
        if verbose and meaning:
            for miss in meaning.misses:
                print(f"      miss: {miss}")
    return 0
