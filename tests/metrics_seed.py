"""A seeded history for the metrics: N investigations over four weeks, their bounces, and a
world whose Zendesk stand-in knows what became of each ticket.

Everything is drawn from one ``random.Random(seed)``, and :class:`Seeded` keeps what was drawn,
so a test counts the expected figures from the seed itself, independently of the code under test.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.investigation import Investigation
from casefile.agent.store import Store
from casefile.agent.store.database import db_time as _ts
from casefile.agent.ticket import Signals, Ticket

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
END = START + timedelta(weeks=4)
ARTICLE = "https://help.example.test/hc/articles/{n}"

# category → (team it escalates to, chance of escalation, trigger rule when it does)
CATEGORIES: dict[str, tuple[str, float, str | None]] = {
    "rate_limit": ("backend", 0.2, None),
    "deploy_regression": ("backend", 0.9, "deploy-touched-endpoint"),
    "billing_past_due": ("billing", 0.1, None),
    "sso_config": ("identity", 0.5, None),
    "webhook_customer_endpoint": ("integrations", 0.3, None),
    "platform_incident": ("sre", 0.95, "5xx-storm"),
    "customer_error": ("backend", 0.05, None),
}


@dataclass
class Seed:
    id: str
    ticket_id: str
    category: str
    team: str | None
    rule: str | None
    created_at: datetime
    ticket_created_at: datetime
    started_at: datetime
    finished_at: datetime
    bounced: bool = False
    status: str | None = None  # in the helpdesk; None: the helpdesk does not know the ticket
    reopens: int = 0


@dataclass
class Seeded:
    seeds: list[Seed] = field(default_factory=list)
    world: Path | None = None

    @property
    def escalated(self) -> list[Seed]:
        return [s for s in self.seeds if s.team is not None]


def diagnosis(ticket_id: str, category: str, team: str | None, rule: str | None) -> Diagnosis:
    """A diagnosis that resolves (``team`` None) or escalates to ``team`` by ``rule``."""
    escalation = {"team": team, "reason": "needs engineering", "trigger": rule} if team else None
    return Diagnosis.model_validate(
        {
            "ticket_id": ticket_id,
            "summary": f"{category} on ticket {ticket_id}",
            "root_cause": {"category": category, "statement": "seeded"},
            "confidence": {"score": 0.7},
            "customer_reply": "seeded reply",
            "action": "escalate" if team else "resolve",
            "escalation": escalation,
            "runbooks": [f"rb-{category}"],
        }
    )


def seed_history(store: Store, world_dir: Path, n: int = 200, seed: int = 17) -> Seeded:
    """Store ``n`` done investigations (and their bounces) and write ``world_dir/tickets.json``."""
    rng = random.Random(seed)
    out = Seeded(world=world_dir)
    helpdesk = []
    names = sorted(CATEGORIES)
    for i in range(n):
        category = rng.choice(names)
        team, p_escalate, rule = CATEGORIES[category]
        escalated = rng.random() < p_escalate
        created = START + timedelta(seconds=rng.randrange(int((END - START).total_seconds())))
        # Every 12th ticket came from a file (no helpdesk id); the others are Zendesk tickets.
        ticket_id = f"T-{i}" if i % 12 == 5 else str(60000 + i)
        started = created + timedelta(seconds=rng.uniform(0.1, 20))
        s = Seed(
            id="",
            ticket_id=ticket_id,
            category=category,
            team=team if escalated else None,
            rule=(rule or "(decision)") if escalated else None,
            created_at=created,
            ticket_created_at=created - timedelta(minutes=rng.uniform(0.5, 240)),
            started_at=started,
            finished_at=started + timedelta(seconds=rng.uniform(3, 120)),
            bounced=escalated and rng.random() < 0.2,
        )
        if ticket_id.isdigit() and rng.random() > 0.05:  # 5 % unknown to the helpdesk
            s.status = rng.choices(["solved", "closed", "open", "pending"], [60, 15, 15, 10])[0]
            s.reopens = 1 if rng.random() < 0.12 else 0
        s.id = _store(store, s)
        if s.bounced:
            store.add_feedback(s.id, bounced=True, article=ARTICLE.format(n=i), note="documented", by="eng")
        if s.status is not None:
            helpdesk.append(
                {
                    "id": int(ticket_id),
                    "subject": f"seeded ticket {i}",
                    "body": "seeded",
                    "status": s.status,
                    "reopens": s.reopens,
                    "created_at": _ts(s.ticket_created_at),
                    "solved_at": _ts(s.finished_at + timedelta(hours=2)),
                }
            )
        out.seeds.append(s)
    world_dir.mkdir(parents=True, exist_ok=True)
    (world_dir / "tickets.json").write_text(json.dumps({"tickets": helpdesk}), encoding="utf-8")
    return out


def _store(store: Store, s: Seed) -> str:
    ticket = Ticket(id=s.ticket_id, body="seeded", created_at=s.ticket_created_at)
    inv = store.create_investigation(ticket, source="webhook", requested_by="seed")
    signals = Signals(window_start=s.ticket_created_at - timedelta(hours=1), window_end=s.ticket_created_at)
    store.save_result(
        inv,
        Investigation(
            diagnosis(s.ticket_id, s.category, s.team, s.rule if s.rule != "(decision)" else None),
            signals,
            [],
            [],
        ),
        "seed",
        started_at=s.started_at,
    )
    with store._tx() as cur:  # history: move the investigation to when it happened
        cur.execute(
            "UPDATE investigations SET created_at = ?, finished_at = ? WHERE id = ?",
            (_ts(s.created_at), _ts(s.finished_at), inv),
        )
    return inv
