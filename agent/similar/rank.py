"""Rank candidate cases against a query by meaning plus shared evidence; BM25 when there is no model.

Score = text + evidence.

* **text**: r × (cosine of the two texts' embeddings + :data:`WORDS_WEIGHT` × the BM25+ score
  relative to the best candidate's) + (1 − r) × that relative BM25+ score, where r is how well the
  model reads the query (``Embedder.reading``: 1 where its words are whole tokens of the model's
  vocabulary, 0 where each word splits into many pieces). A text sharing no word can win by
  meaning in a language the model reads; in one it reads poorly, where its cosines are noise, the
  words decide instead of collapsing the ranking.
* **evidence**: :data:`EVIDENCE_WEIGHT` for each shared key, at most :data:`MAX_SHARED`: an
  identifier (error code, bug id, deploy), the diagnosed category (a past diagnosis', or the one a
  resolved ticket's tags name), a shared HTTP status a third as much; each times its rarity among
  the candidates (1 for a key one candidate carries, towards 0 for one they all carry: a category
  half the history shares says less than an error code two tickets share).

Cosines of WordLlama's averaged embeddings sit between about 0.3 (unrelated support text) and 0.9
(the same symptom), so one shared rare identifier lifts a case more than a clearly closer wording
does (weights chosen on the labelled sets of evals/README.md, one world held out). When the model
cannot load, the relative BM25+ score plus the same evidence bonus ranks, and the result carries a
note saying so.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from casefile.agent.similar.embed import Embedder, embedder_status, load_embedder
from casefile.agent.similar.evidence import evidence_keys, mentioned, shared

__all__ = ["EVIDENCE_WEIGHT", "WORDS_WEIGHT", "Doc", "Match", "Ranking", "Scored", "rank"]

EVIDENCE_WEIGHT = 0.8
WORDS_WEIGHT = 0.25
MAX_SHARED = 3
# Where the model cannot read the query (r = 0) and it shares no word with a candidate, the cosine still
# orders the candidates a little (a tenth), rather than their ids: noisy, but not arbitrary.
UNREAD_MEANING = 0.1
_WHERE_FACTOR = 1 / 3  # a shared status or endpoint says where a problem shows, not why
INCIDENTAL_FACTOR = 1 / 3  # a key a past diagnosis cited in passing, not in its conclusion
CATEGORY_FACTOR = 1.0  # the same diagnosed category, as much as one shared identifier
_TEXT_CHARS = 4000  # the head of a long thread is what it is about
_CONCLUSIONS = ("category:", "family:")  # a diagnosed cause: weighed by how sure the diagnosis is


class Doc(BaseModel):
    """A candidate case: its id, its text, and identifiers known beyond its text (cited values)."""

    id: str
    text: str
    evidence: set[str] = Field(default_factory=set)
    incidental: set[str] = Field(
        default_factory=set,
        description="keys it cited in passing (a past diagnosis' evidence its conclusion does not name)",
    )
    concluded: set[str] = Field(
        default_factory=set,
        description="keys of its evidence that are an investigator's own conclusion (a past diagnosis' category)",
    )
    trust: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="how much its concluded keys count, 0..1: as sure as the investigator was (one wrong "
        "the same way twice would otherwise rank its own mistakes above the tickets people solved)",
    )


class Match(BaseModel):
    """How close a candidate came to the query: what every similar-case result reports."""

    score: float
    meaning: float | None = Field(default=None, description="cosine similarity of the two texts")
    shared: list[str] = Field(default_factory=list, description="identifiers both cases carry")


class Scored(Match):
    id: str


class Ranking(BaseModel):
    method: Literal["meaning", "bm25"]
    model: str | None = None
    reading: float | None = Field(
        default=None, description="how well the model reads the query (1: by meaning, 0: by its words)"
    )
    note: str | None = Field(default=None, description="why the ranking is not by meaning, when it is not")
    results: list[Scored] = Field(default_factory=list)


def _weight(key: str) -> float:
    if key.startswith(("status:", "endpoint:")):
        return _WHERE_FACTOR
    return CATEGORY_FACTOR if key.startswith(_CONCLUSIONS) else 1.0


def _rarity(keys: Sequence[set[str]]) -> dict[str, float]:
    """Each key's inverse document frequency among the candidates, 1 for a key only one carries."""
    n = len(keys)
    counts = Counter(k for doc_keys in keys for k in doc_keys)
    top = math.log((n + 1) / 1.5)
    return {k: max(0.0, math.log((n + 1) / (c + 0.5)) / top) for k, c in counts.items()}


def _evidence_bonus(
    keys: Sequence[str],
    rarity: dict[str, float],
    passing: set[str],
    doc: Doc,
    category_trust: float,
) -> float:
    """What the keys both carry add: each its kind's weight, times its rarity, less for a key the
    candidate cited in passing, one it concluded itself as much as it was sure, and the query's
    category as much as the query's diagnosis is trusted."""
    weights = sorted(
        (
            _weight(k)
            * rarity.get(k, 1.0)
            * (INCIDENTAL_FACTOR if k in passing else doc.trust if k in doc.concluded else 1.0)
            * (category_trust if k.startswith(_CONCLUSIONS) else 1.0)
            for k in keys
        ),
        reverse=True,
    )
    return EVIDENCE_WEIGHT * sum(weights[:MAX_SHARED])


class LoadDefault:
    """The default: the process's model, loaded on first use."""


LOAD = LoadDefault()


def rank(
    query: str,
    docs: Sequence[Doc],
    *,
    query_evidence: Iterable[str] = (),
    embedder: Embedder | LoadDefault | None = LOAD,
    limit: int | None = None,
    category_trust: float = 1.0,
    plain: str | None = None,
) -> Ranking:
    """``docs`` best first against ``query`` (candidates sharing nothing with it are left out by BM25 only);
    a ``category:`` key of ``query_evidence`` weighs ``category_trust`` (0..1) of a full key.

    ``plain``: the query's own words without a diagnosis' (the ticket's subject and body), when ``query``
    carries one. A candidate that is an investigator's conclusion (a past diagnosis) is then compared
    with the diagnosis' words as far as the diagnosis is trusted and with ``plain`` for the rest: two
    diagnoses by the same investigator share its phrasing whenever they share a category, so their
    words matching is the category again, and weighs as the category does."""
    if not docs and isinstance(embedder, LoadDefault):  # nothing to rank: don't load the model for it
        return Ranking(method="meaning")
    model = load_embedder() if isinstance(embedder, LoadDefault) else embedder
    wanted = evidence_keys(query) | set(query_evidence)
    named = [evidence_keys(d.text) | d.evidence | mentioned(d.text, wanted) for d in docs]
    keys = [k | d.incidental for k, d in zip(named, docs, strict=True)]
    incidental = [d.incidental - k for k, d in zip(named, docs, strict=True)]
    rarity = _rarity(keys)
    echo = plain is not None and plain != query and category_trust < 1 and any(d.concluded for d in docs)
    texts = _texts(query, docs, model)
    if echo and plain is not None:
        own = _texts(plain, docs, model)
        texts = [
            _blend(t, o, category_trust) if d.concluded else t
            for t, o, d in zip(texts, own, docs, strict=True)
        ]
    if model is None:
        return _bm25(docs, texts, wanted, keys, incidental, rarity, limit, embedder, category_trust)
    reading = model.reading(query)
    results = []
    for doc, text, doc_keys, passing in zip(docs, texts, keys, incidental, strict=True):
        common = shared(wanted, doc_keys)
        results.append(
            Scored(
                id=doc.id,
                score=round(text.score + _evidence_bonus(common, rarity, passing, doc, category_trust), 4),
                meaning=round(text.cosine, 4) if text.cosine is not None else None,
                shared=common,
            )
        )
    results.sort(key=lambda s: (-s.score, s.id))
    return Ranking(method="meaning", model=model.name, reading=reading, results=results[:limit])


class _Text(BaseModel):
    """How close a candidate's text is to the query's: the score ranking adds to its evidence, the
    cosine it reports, and whether it shares a word (BM25 leaves out one sharing neither a word nor a key)."""

    score: float
    cosine: float | None = None
    worded: bool = False


def _texts(query: str, docs: Sequence[Doc], model: Embedder | None) -> list[_Text]:
    """Each candidate's text score against ``query``: by meaning and words as the model reads the query
    (the module's docstring), or the relative BM25+ score alone without a model."""
    words = _word_scores(query, docs)
    if model is None:
        return [_Text(score=words.get(d.id, 0.0), worded=d.id in words) for d in docs]
    vectors = model.embed([query[:_TEXT_CHARS], *(d.text[:_TEXT_CHARS] for d in docs)])
    cosines = vectors[1:] @ vectors[0] if len(docs) else []
    reading = model.reading(query)
    texts = []
    for doc, cosine in zip(docs, cosines, strict=True):
        overlap, meaning = words.get(doc.id, 0.0), float(cosine)
        score = reading * (meaning + WORDS_WEIGHT * overlap) + (1 - reading) * (
            overlap + UNREAD_MEANING * meaning
        )
        texts.append(_Text(score=score, cosine=meaning, worded=doc.id in words))
    return texts


def _blend(diagnosed: _Text, own: _Text, trust: float) -> _Text:
    """A past diagnosis' text score: against the diagnosis' words as far as it is trusted, else against
    the ticket's own."""
    return diagnosed.model_copy(
        update={
            "score": trust * diagnosed.score + (1 - trust) * own.score,
            "worded": diagnosed.worded or own.worded,
        }
    )


def _word_scores(query: str, docs: Sequence[Doc]) -> dict[str, float]:
    """BM25+ scores relative to the best one (0..1); candidates sharing no word are absent."""
    from casefile.tools.tickets import rank_tickets

    ranked = rank_tickets(query, [{"id": d.id, "description": d.text} for d in docs])
    best = max((score for score, _ in ranked), default=0.0)
    return {str(t["id"]): score / best for score, t in ranked} if best > 0 else {}


def _bm25(
    docs: Sequence[Doc],
    texts: Sequence[_Text],
    wanted: set[str],
    keys: list[set[str]],
    incidental: list[set[str]],
    rarity: dict[str, float],
    limit: int | None,
    embedder: Embedder | LoadDefault | None,
    category_trust: float,
) -> Ranking:
    """Word overlap relative to the best candidate's, plus the same bonus for shared evidence;
    a candidate sharing neither a word nor an identifier is left out."""
    results = []
    for doc, text, doc_keys, passing in zip(docs, texts, keys, incidental, strict=True):
        common = shared(wanted, doc_keys)
        if text.worded or common:
            score = text.score + _evidence_bonus(common, rarity, passing, doc, category_trust)
            results.append(Scored(id=doc.id, score=round(score, 4), shared=common))
    results.sort(key=lambda s: (-s.score, s.id))
    if isinstance(embedder, LoadDefault):
        reason = embedder_status().reason or "not installed"
        note = f"ranked by word overlap (BM25): the embedding model could not load ({reason})"
    else:
        note = "ranked by word overlap (BM25): no embedding model was given"
    return Ranking(method="bm25", note=note, results=results[:limit])
