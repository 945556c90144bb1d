"""``casefile eval validate``: check the golden cases themselves.

For every case: the ticket and ``expected.json`` load; the category and team
exist; the world loads (files and ClickHouse tables); every ``must_cite`` fact
is actually present in the world (its files, the certificates in its IdP
metadata, or its log tables); and a case that claims to need tools is not
answerable from the ticket text alone (no required fact appears in it).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casefile.evals.cases import CaseError, GoldenCase, load_case

__all__ = ["Problem", "validate_cases", "validate_dirs"]

_CERT = re.compile(r"<(?:ds:)?X509Certificate>\s*([A-Za-z0-9+/=\s]+?)\s*</(?:ds:)?X509Certificate>")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T[\d:.]+Z?$")


@dataclass(frozen=True)
class Problem:
    case_id: str
    message: str
    level: str = "error"

    def __str__(self) -> str:
        return f"{self.case_id}: {self.level}: {self.message}"


def _teams() -> set[str]:
    import yaml

    from casefile.agent.templating import PROMPTS_DIR

    try:
        data = yaml.safe_load((PROMPTS_DIR / "routing.yaml").read_text(encoding="utf-8")) or {}
    except OSError:
        return set()
    return set((data.get("teams") or {}).keys())


def _certificate_facts(xml: str) -> list[str]:
    """Validity dates and SHA-1 fingerprints of the certificates in a metadata document."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    facts = []
    for match in _CERT.finditer(xml):
        try:
            cert = x509.load_der_x509_certificate(base64.b64decode("".join(match.group(1).split())))
        except ValueError:
            continue
        sha1 = cert.fingerprint(hashes.SHA1()).hex().upper()
        facts += [
            cert.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
            cert.not_valid_before_utc.isoformat().replace("+00:00", "Z"),
            ":".join(sha1[i : i + 2] for i in range(0, len(sha1), 2)),
            cert.subject.rfc4514_string(),
        ]
    return facts


def world_text(world: Any) -> str:
    """Every file of a world (merged over its overlays) plus decoded certificates, lower-cased."""
    parts: list[str] = []
    for path in sorted(Path(world.path).rglob("*")):
        if path.is_file() and path.suffix in {".json", ".xml", ".jsonl", ".sql", ".txt"}:
            text = path.read_text(encoding="utf-8", errors="replace")
            parts.append(text)
            if path.suffix == ".xml":
                parts += _certificate_facts(text)
    for layer in world.layers:
        for path in sorted((layer / "clickhouse").glob("*")) if (layer / "clickhouse").is_dir() else []:
            parts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(parts).lower()


def _in_logs(world: Any, fact: str) -> bool:
    client = world.clickhouse()
    from casefile.tools.world.chdb import ENGINE_LOCK

    needles = {fact}
    if _ISO.match(fact):
        needles.add(fact.rstrip("Z").replace("T", " "))
    with ENGINE_LOCK.shared():
        tables = [
            r[0]
            for r in client.query(
                "SELECT name FROM system.tables WHERE database = {db:String} AND NOT startsWith(name, '_')",
                parameters={"db": world.database},
            ).result_rows
        ]
        for table in tables:
            columns = [
                r[0]
                for r in client.query(
                    "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String}",
                    parameters={"db": world.database, "t": table},
                ).result_rows
            ]
            row = "concat(" + ", '|', ".join(f"toString(`{c}`)" for c in columns) + ")"
            for needle in needles:
                found = client.query(
                    f"SELECT count() FROM `{world.database}`.`{table}` "
                    f"WHERE positionCaseInsensitive({row}, {{n:String}}) > 0",
                    parameters={"n": needle},
                ).result_rows[0][0]
                if found:
                    return True
    return False


def validate_case(case: GoldenCase, *, teams: set[str] | None = None) -> list[Problem]:
    from casefile.agent.diagnosis import CATEGORIES
    from casefile.agent.intake import load_ticket
    from casefile.tools.world.loader import World

    problems: list[Problem] = []

    def add(message: str, level: str = "error") -> None:
        problems.append(Problem(case.id, message, level))

    exp = case.expected
    if exp.category not in CATEGORIES:
        add(f"unknown category {exp.category!r}")
    if exp.action == "escalate" and not exp.team:
        add("an escalated case needs a team", "warning")
    if exp.team and teams and exp.team not in teams:
        add(f"unknown team {exp.team!r}; routing.yaml has {', '.join(sorted(teams))}")
    try:
        ticket = load_ticket(case.ticket_path)
    except Exception as exc:
        add(f"ticket does not load: {exc}")
        return problems
    try:
        world = World(case.world)
        _ = world.accounts
        world.clickhouse()
    except Exception as exc:
        add(f"world {case.world} does not load: {exc}")
        return problems
    if ticket.account_id is None and not (ticket.requester.email or ticket.requester.name):
        add("ticket names no account and no requester", "warning")
    corpus = world_text(world)
    for fact in exp.must_cite:
        if fact.lower() not in corpus and not _in_logs(world, fact):
            add(f"required fact {fact!r} is nowhere in the world")
    if exp.needs_tools:
        if not exp.must_cite:
            add("needs_tools but no must_cite fact to prove the tools were used")
        text = ticket.full_text().lower()
        leaked = [f for f in exp.must_cite if f.lower() in text]
        if leaked:
            add(f"answerable from the ticket text: {', '.join(leaked)} appear(s) in it")
    return problems


def validate_cases(cases: Iterable[GoldenCase]) -> list[Problem]:
    teams = _teams()
    problems: list[Problem] = []
    for case in cases:
        problems += validate_case(case, teams=teams)
    return problems


def validate_dirs(directories: Sequence[Path]) -> list[Problem]:
    """Validate case directories, reporting ones that do not even load."""
    cases: list[GoldenCase] = []
    problems: list[Problem] = []
    for d in directories:
        try:
            cases.append(load_case(d))
        except CaseError as exc:
            problems.append(Problem(Path(d).name, str(exc)))
    return problems + validate_cases(cases)
