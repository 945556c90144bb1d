"""Regenerate ``evals/golden/`` from ``evals/golden.cases.yaml`` (deterministic).

Run ``python -m casefile.evals.build_golden`` after editing a case there; hand edits to the
generated files are overwritten. Each case is a ticket, an expectation and an optional overlay of
the demo world: a list of named edits (:data:`OVERLAYS`), each a function of its arguments that
returns the world files it replaces, so a change of the demo world can be replayed.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from casefile import PACKAGE_DIR

__all__ = ["CASES_FILE", "OVERLAYS", "GoldenCase", "load_cases", "write_all"]

ROOT = Path(__file__).resolve().parent / "golden"
CASES_FILE = Path(__file__).resolve().parent / "golden.cases.yaml"
DEMO = PACKAGE_DIR / "examples" / "world"
TICKETS = DEMO.parent / "tickets"
BASE_REL = "../../../../examples/world"  # from evals/golden/<case>/world
KNOWN_BUG = "REL-482"  # linear_add's template: the demo world's known bug
# Written compactly, as the demo world writes them.
COMPACT = ("stripe.json", "linear.json", "github.json")


# ------------------------------------------------------------------ overlays (world file edits)


def _epoch(ts: str) -> int:
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC).timestamp())


def _demo(name: str) -> Any:
    return json.loads((DEMO / name).read_text(encoding="utf-8"))


def stripe_canceled(customer: str, at: str) -> dict[str, Any]:
    data = _demo("stripe.json")
    for sub in data["subscriptions"]:
        if sub["customer"] == customer:
            sub.update(status="canceled", canceled_at=_epoch(at), ended_at=_epoch(at))
            sub["cancellation_details"] = {
                "comment": None,
                "feedback": None,
                "reason": "cancellation_requested",
            }
    return {"stripe.json": data}


def stripe_card_declined(customer: str, at: str, charge_id: str, code: str, reason: str) -> dict[str, Any]:
    data = _demo("stripe.json")
    template = next(c for c in data["charges"] if c.get("status") == "failed")
    charge = copy.deepcopy(template)
    cust = next(c for c in data["customers"] if c["id"] == customer)
    charge.update(id=charge_id, customer=customer, created=_epoch(at), failure_code=code)
    charge["failure_message"] = (
        "Your card was declined." if code == "card_declined" else "Your card has expired."
    )
    charge["outcome"] = {**charge["outcome"], "reason": reason}
    charge["billing_details"] = {
        **charge["billing_details"],
        "email": cust.get("email"),
        "name": cust.get("name"),
    }
    data["charges"].append(charge)
    return {"stripe.json": data}


def accounts_patch(account: str, **idp: Any) -> dict[str, Any]:
    data = _demo("accounts.json")
    for acc in data["accounts"]:
        if acc["id"] == account:
            acc["idp"] = {**acc["idp"], **idp}
    return {"accounts.json": data}


def linear_add(issue: dict[str, Any]) -> dict[str, Any]:
    data = _demo("linear.json")
    template = copy.deepcopy(next(i for i in data["issues"] if i["identifier"] == KNOWN_BUG))
    template.update(issue)
    data["issues"].append(template)
    return {"linear.json": data}


def idp_app(
    app_id: str, acs_url: str | None = None, entity_id: str | None = None, fault: int | None = None
) -> dict[str, Any]:
    """The IdP's app for us (``sso/apps.json``, in Okta's or Graph's wire format) configured with
    another ACS URL or entity ID, or its admin API answering ``fault`` for it."""
    data = _demo("sso/apps.json")
    for app in [a for apps in data.get("okta", {}).values() for a in apps]:
        if app["id"] == app_id:
            sign_on = app["settings"]["signOn"]
            if acs_url:
                sign_on.update(ssoAcsUrl=acs_url, recipient=acs_url, destination=acs_url)
            if entity_id:
                sign_on["audience"] = entity_id
    for sp in data.get("graph", []):
        if sp["appId"] == app_id:
            if acs_url:
                sp["replyUrls"] = [acs_url]
            if entity_id:
                sp["servicePrincipalNames"] = [entity_id, app_id]
    if fault:
        data.setdefault("faults", {})[app_id] = {"status": fault}
    return {"sso/apps.json": data}


def traffic(**patch: Any) -> dict[str, Any]:
    return {"clickhouse/traffic.overlay.json": patch}


OVERLAYS: dict[str, Callable[..., dict[str, Any]]] = {
    "traffic": traffic,
    "stripe_canceled": stripe_canceled,
    "stripe_card_declined": stripe_card_declined,
    "accounts_patch": accounts_patch,
    "idp_app": idp_app,
    "linear_add": linear_add,
}


# ------------------------------------------------------------------ the cases


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    email: str


class GoldenCase(BaseModel):
    """One case as ``golden.cases.yaml`` writes it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    account: str | None = None
    at: str
    subject: str
    body: str | None = None
    body_from: str | None = None
    expected: dict[str, Any]
    overlay: list[dict[str, dict[str, Any]]] = []

    @model_validator(mode="after")
    def _checked(self) -> GoldenCase:
        if (self.body is None) == (self.body_from is None):
            raise ValueError(f"case {self.id}: give body or body_from, not both or neither")
        for edit in self.overlay:
            if len(edit) != 1 or next(iter(edit)) not in OVERLAYS:
                raise ValueError(f"case {self.id}: an overlay edit is one of {', '.join(OVERLAYS)}")
        return self

    def ticket(self, requester: Person) -> dict[str, Any]:
        body = self.body if self.body is not None else _ticket_body(self.body_from or "")
        return {
            "id": self.id.upper(),
            "subject": self.subject,
            "body": body.strip() + "\n",
            "requester": requester.model_dump(),
            "created_at": self.at,
        }

    def world_files(self) -> dict[str, Any]:
        """The files the overlay replaces, by path relative to the world (later edits win)."""
        files: dict[str, Any] = {}
        for edit in self.overlay:
            ((name, args),) = edit.items()
            files.update(OVERLAYS[name](**args))
        return files


class CasesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stranger: Person
    contacts: dict[str, Person]
    cases: list[GoldenCase]


def _ticket_body(name: str) -> str:
    body: str = json.loads((TICKETS / name).read_text(encoding="utf-8"))["body"]
    return body


def load_cases(path: Path = CASES_FILE) -> CasesFile:
    return CasesFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def _other_worlds_cases() -> tuple[str, ...]:
    """Case id prefixes that ``evals/build_worlds.py`` writes (cases of the other bundled worlds)."""
    scenarios = ROOT.parent / "scenarios"
    return tuple(f"{p.name.removesuffix('.cases.yaml')}-" for p in sorted(scenarios.glob("*.cases.yaml")))


def write_all(root: Path = ROOT) -> int:
    """Write every case to ``<root>/<id>/`` (default ``evals/golden/``); returns how many."""
    spec = load_cases()
    foreign = _other_worlds_cases()
    for path in root.iterdir() if root.is_dir() else []:
        if path.is_dir() and not path.name.startswith(("_", ".", *foreign)):
            shutil.rmtree(path)
    root.mkdir(parents=True, exist_ok=True)
    for item in spec.cases:
        d = root / item.id
        d.mkdir(parents=True)
        ticket = item.ticket(spec.contacts.get(item.account or "", spec.stranger))
        (d / "ticket.json").write_text(json.dumps(ticket, indent=2, ensure_ascii=False) + "\n")
        (d / "expected.json").write_text(json.dumps(item.expected, indent=2, ensure_ascii=False) + "\n")
        files = item.world_files()
        if files:
            w = d / "world"
            w.mkdir()
            (w / "world.json").write_text(json.dumps({"base": BASE_REL}) + "\n")
            for rel, data in files.items():
                target = w / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                compact = rel in COMPACT
                target.write_text(
                    json.dumps(
                        data, indent=None if compact else 2, separators=(",", ":") if compact else None
                    )
                    + "\n"
                )
    return len(spec.cases)


if __name__ == "__main__":
    print(f"{write_all()} cases written to {ROOT}")
