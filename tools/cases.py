"""Past diagnoses: casefile's own finished investigations that look like this ticket.

Source ``cases``, one operation, ``cases_similar``. It reads the investigation store
(``agent/store.py``, ``$CASEFILE_DATABASE_URL``) and ranks finished diagnoses against the text by
meaning plus shared identifiers (``agent/similar/``), the same ranking as resolved tickets. A
world keeps its stored history in ``investigations.json`` (records in the service's
``GET /v1/investigations/{id}`` format, each with its ticket's ``subject``); a world without one
has no history.

Another account's past case is reported by what it shares, not by what it says: its category,
date, action and team, and the identifiers (bug ids, deploys, error codes) its evidence cited;
its summary and subject only when it is this investigation's own account. Only the investigation's
tenant's cases are read (``CallContext.tenant``; one service may serve two helpdesks, each with an
account of the same id); without a tenant (the CLI, evals) all are. Cases finished after the ticket's time
are not history yet (evals stay deterministic).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, ValidationError

from casefile.agent.similar.rank import Match
from casefile.tools.args import how_many, search_text
from casefile.tools.base import CallContext, Connector, StandIns, ToolArgs, operation
from casefile.tools.errors import ToolError
from casefile.tools.settings import ConnectorSettings

__all__ = [
    "CasesConnector",
    "CasesSettings",
    "CasesSimilarArgs",
    "PastDiagnosis",
    "SimilarPastDiagnoses",
    "cases_evidence",
]

SOURCE = "cases"
WORLD_FILE = "investigations.json"
MAX_CASES = 2000  # the newest finished investigations searched


class CasesSettings(BaseModel):
    """``[connectors.cases]``: where the investigation store is (default: the service's store)."""

    database_url: str | None = Field(default=None, description="sqlite:///path or postgresql://…")


class CasesSimilarArgs(ToolArgs):
    text: str = search_text(
        min_length=3,
        max_length=4000,
        description="The symptom or the suspected cause, e.g. the ticket's subject and body.",
    )
    evidence: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Identifiers found so far (error codes, bug ids, deploy versions or SHAs).",
    )
    limit: int = how_many(3, most=10)


class PastDiagnosis(Match):
    investigation_id: str
    finished_at: datetime | None = None
    category: str
    action: str | None = None
    team: str | None = None
    same_account: bool = Field(description="the past case is this investigation's own account")
    summary: str | None = Field(default=None, description="only for the same account")
    subject: str | None = Field(default=None, description="only for the same account")
    identifiers: list[str] = Field(default_factory=list, description="bug ids, deploys, error codes it cited")


class SimilarPastDiagnoses(BaseModel):
    ranking: Literal["meaning", "bm25"]
    model: str | None = None
    note: str | None = None
    searched: int = 0
    cases: list[PastDiagnosis] = Field(default_factory=list)


def render_cases(data: Mapping[str, Any]) -> str:
    result = SimilarPastDiagnoses.model_validate(data)
    note = f"\n({result.note})" if result.note else ""
    if not result.cases:
        return f"No past diagnosis resembles this ticket ({result.searched} searched).{note}"
    lines = [f"{len(result.cases)} most similar past diagnoses of {result.searched}:"]
    for c in result.cases:
        when = c.finished_at.date().isoformat() if c.finished_at else "?"
        whose = "this account" if c.same_account else "another account"
        shared = f"; shares {', '.join(c.shared)}" if c.shared else ""
        lines.append(f"- {c.investigation_id} ({when}, {whose}): {c.category}, {c.action or '?'}{shared}")
        if c.identifiers:
            lines.append(f"  cited: {', '.join(c.identifiers)}")
        if c.summary:
            lines.append(f"  summary: {c.summary[:400]}")
    return "\n".join(lines) + note


def cases_evidence(data: Any) -> dict[str, Any]:
    """What of a ``cases_similar`` result may ground evidence: each past case's ids, cause and the
    identifiers it cited, not its summary or subject (a model, or a customer, wrote them in an
    earlier investigation: citing them would pass old words off as what a source returned)."""
    cases = data.get("cases") if isinstance(data, Mapping) else None
    return {
        "cases": [
            {k: v for k, v in c.items() if k not in ("summary", "subject")}
            for c in cases or []
            if isinstance(c, Mapping)
        ]
    }


Loader = Callable[[str | None], list[Any]]  # a tenant (None: every one) → list[PastCase]


def world_cases(path: Path) -> list[Any]:
    """The past cases a world's ``investigations.json`` holds (none when it has no such file)."""
    from casefile.agent.similar.past import past_case
    from casefile.agent.store import InvestigationRecord

    if not path.is_file():
        return []
    try:
        raw = json.loads(path.read_text("utf-8"))
        rows = raw.get("investigations") if isinstance(raw, dict) else None
        if not isinstance(rows, list):
            raise ValueError('expected {"investigations": [...]}')
        cases = []
        for row in rows:
            record = InvestigationRecord.model_validate(row)
            case = past_case(record, str(row.get("subject") or ""))
            if case is not None:
                cases.append(case)
    except (OSError, ValueError, ValidationError) as exc:
        raise ToolError(SOURCE, f"{path.name}: {str(exc).splitlines()[0][:200]}") from None
    return cases


def store_cases(url: str | None, tenant: str | None = None) -> list[Any]:
    """The finished investigations of the store at ``url`` (``tenant``'s only, when given), newest
    first: the newest :data:`MAX_CASES` of the tenant's own, so another tenant's volume cannot push
    them out."""
    from casefile.agent.similar.past import past_case
    from casefile.agent.store import Store

    store = Store(url)
    try:
        cases = []
        for record in store.list(status="done", tenant=tenant)[:MAX_CASES]:
            ticket = store.ticket(record.id)
            case = past_case(record, ticket.subject if ticket else "")
            if case is not None:
                cases.append(case)
        return cases
    finally:
        store.close()


class CasesConnector(Connector):
    """casefile's own past diagnoses (read-only)."""

    source: ClassVar[str] = SOURCE
    settings_key: ClassVar[str | None] = "cases"
    settings_model: ClassVar[type[BaseModel] | None] = CasesSettings
    env_vars: ClassVar[Mapping[str, str]] = {"CASEFILE_DATABASE_URL": "database_url"}

    @classmethod
    def not_configured(cls, settings: ConnectorSettings) -> str | None:
        return None  # the local store needs no set-up

    @classmethod
    def live_configured(cls, settings: ConnectorSettings) -> bool:
        return False  # our own store must not switch investigations from a world to live systems

    @classmethod
    def build(cls, settings: ConnectorSettings, world: StandIns | None = None) -> CasesConnector:
        if world is not None:
            path = Path(world.path) / WORLD_FILE
            return cls(lambda _tenant: world_cases(path))  # a world's history is one tenant's
        url = settings.section("cases", CasesSettings).database_url
        return cls(lambda tenant: store_cases(url, tenant))

    def __init__(self, loader: Loader) -> None:
        self._loader = loader

    @operation("cases_similar", CasesSimilarArgs, render=render_cases, evidence=cases_evidence)
    async def similar(self, args: CasesSimilarArgs, ctx: CallContext) -> SimilarPastDiagnoses:
        """casefile's own past diagnoses most like this ticket: what we concluded before.

        Use it to see whether the same cause was diagnosed recently, for this account or
        others (the same bug, deploy or error code: "7 tickets hit this bug today"). Another
        account's case shows only its cause and the identifiers it cited. A past diagnosis is a
        lead, not evidence: confirm it with this account's logs and systems.
        """
        from casefile.agent.similar.evidence import identifiers
        from casefile.agent.similar.past import similar_diagnoses

        try:
            loaded = await asyncio.to_thread(self._loader, ctx.tenant)
        except ToolError:
            raise
        except Exception as exc:  # the store being down is an unavailable source, not a crash
            raise ToolError(SOURCE, f"the investigation store is unavailable: {type(exc).__name__}") from None
        past = [
            c
            for c in loaded
            if (c.finished_at is None or c.finished_at <= ctx.now) and ctx.tenant in (None, c.tenant)
        ]
        found = similar_diagnoses(args.text, "", "", args.evidence, past, limit=args.limit)
        cases = []
        for hit in found.cases:
            case = hit.case
            same = ctx.account_id is not None and case.account_id == ctx.account_id
            keys = sorted({k for v in case.cited for k in identifiers(v)})
            cases.append(
                PastDiagnosis(
                    investigation_id=case.investigation_id,
                    finished_at=case.finished_at,
                    category=case.category,
                    action=case.action,
                    team=case.team,
                    same_account=same,
                    summary=case.summary if same else None,
                    subject=case.subject if same else None,
                    identifiers=[k.split(":", 1)[1] for k in keys],
                    score=hit.score,
                    meaning=hit.meaning,
                    shared=hit.shared,
                )
            )
        return SimilarPastDiagnoses(
            ranking="meaning" if found.ranking == "meaning" else "bm25",
            model=found.model,
            note=found.note,
            searched=found.searched,
            cases=cases,
        )
