"""Regenerate the bundled worlds of other companies and their golden cases (deterministic).

Run ``python -m evals.build_worlds`` after editing ``evals/scenarios/``:

* ``<name>.yaml`` is a scenario spec (:mod:`casefile.tools.world.generate`); its world
  is written to ``evals/worlds/<name>/``;
* ``<name>.cases.yaml`` lists that world's golden cases; each is written to
  ``evals/golden/<id>/`` (ids start with ``<name>-``): the ticket (our format, or a
  Zendesk export with its comment thread), ``expected.json`` and, when the case
  changes the world, an overlay ``world/`` holding only the files that differ
  (a traffic patch, and provider files regenerated from the patched spec).

Case entry (YAML)::

    - id: kestrel-oauth-invalid-client
      account: packmule            # the requester comes from `requesters`; null = unknown
      requester: {name: …, email: …}   # optional override
      at: "2026-10-12T10:30:00Z"   # created_at, the investigation's "now"
      subject: …
      body: …
      thread: [{by: agent|customer, at: …, body: …, public: true}]  # → a Zendesk export
      expected: {category: …, action: …, team: …, must_cite: […], tags: […]}
      traffic: {…}                 # clickhouse/traffic.overlay.json
      investigations: [{…}]        # investigations.json: casefile's earlier diagnoses (tools/cases.py)
      spec:                        # edits of the world spec, regenerated into overlay files
        billing: {<account>: {status: past_due, …}}
        idp: {<account>: {certs: […], configured_serial: …}}
        price_metadata: {<plan>: {…}}
        deploys: {<owner/repo>: [DeploySpec, …]}
        issues: [IssueSpec, …]

Strings may use ``${sha1:<account>:<serial>}``: the SHA-1 of that account's IdP
certificate with that serial (the generator derives certificates from the spec).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from casefile.tools.world.generate.build import build_world, dumps, load_spec, write_world
from casefile.tools.world.generate.saml import make_cert, subject_for
from casefile.tools.world.generate.spec import (
    BillingSpec,
    DeploySpec,
    IdpSpec,
    IssueSpec,
    WorldSpec,
)

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
WORLDS = HERE / "worlds"
GOLDEN = HERE / "golden"

_PLACEHOLDER = re.compile(r"\$\{sha1:([\w-]+):(\d+)\}")


def _resolve(value: Any, spec: WorldSpec) -> Any:
    """Replace ``${sha1:<account>:<serial>}`` placeholders anywhere in ``value``."""
    if isinstance(value, str):

        def sha1(match: re.Match[str]) -> str:
            account = next(a for a in spec.accounts if a.id == match.group(1))
            assert account.idp is not None, f"{account.id} has no idp"
            serial = int(match.group(2))
            cert = next(c for c in account.idp.certs if c.serial == serial)
            subject = subject_for(account.idp.vendor, account.idp.tenant or account.id)
            return make_cert(subject, cert.not_before, cert.not_after, cert.serial).sha1

        return _PLACEHOLDER.sub(sha1, value)
    if isinstance(value, list):
        return [_resolve(v, spec) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, spec) for k, v in value.items()}
    return value


def patched(spec: WorldSpec, edits: dict[str, Any]) -> WorldSpec:
    """The spec with a case's edits applied."""
    out = spec.model_copy(deep=True)
    accounts = {a.id: a for a in out.accounts}
    unknown = set(edits) - {"billing", "idp", "price_metadata", "deploys", "issues"}
    if unknown:
        raise ValueError(f"unknown spec edits: {sorted(unknown)}")
    for account, patch in (edits.get("billing") or {}).items():
        acc = accounts[account]
        acc.billing = BillingSpec.model_validate({**acc.billing.model_dump(), **patch})
    for account, patch in (edits.get("idp") or {}).items():
        acc = accounts[account]
        assert acc.idp is not None, f"{account} has no idp"
        acc.idp = IdpSpec.model_validate({**acc.idp.model_dump(), **patch})
    for plan, patch in (edits.get("price_metadata") or {}).items():
        out.plans[plan].price_metadata.update(patch)
    for repo, deploys in (edits.get("deploys") or {}).items():
        repo_spec = out.repos[repo]
        repo_spec.deploys = sorted(
            [*repo_spec.deploys, *(DeploySpec.model_validate(d) for d in deploys)], key=lambda d: d.at
        )
    out.issues += [IssueSpec.model_validate(i) for i in edits.get("issues") or []]
    return out


# ---------------------------------------------------------------- tickets


def _plain_ticket(case: dict[str, Any], requester: dict[str, str]) -> dict[str, Any]:
    return {
        "id": case["id"].upper(),
        "subject": case["subject"],
        "body": case["body"].strip() + "\n",
        "requester": requester,
        "created_at": case["at"],
    }


def _zendesk_ticket(case: dict[str, Any], requester: dict[str, str], spec: WorldSpec) -> dict[str, Any]:
    """A Zendesk Tickets API export: the ticket, its comments (public and private) and users."""
    number = 50000 + sum(map(ord, case["id"])) * 7 % 9000
    customer_id, agent_id = 41000000000 + number, 39800000001
    subdomain = spec.brand.linear_workspace
    agent = {"name": "Robin Achterberg", "email": f"robin@{spec.brand.app_host.split('.', 1)[1]}"}
    thread = [{"by": "customer", "at": case["at"], "body": case["body"], "public": True}, *case["thread"]]
    comments = []
    for n, item in enumerate(thread):
        body = item["body"].strip()
        comments.append(
            {
                "id": 32000000000 + number * 10 + n,
                "type": "Comment",
                "author_id": customer_id if item["by"] == "customer" else agent_id,
                "body": body,
                "plain_body": body,
                "public": item.get("public", True),
                "created_at": item["at"],
            }
        )
    last = thread[-1]["at"]
    return {
        "ticket": {
            "url": f"https://{subdomain}.zendesk.com/api/v2/tickets/{number}.json",
            "id": number,
            "via": {
                "channel": "email",
                "source": {"from": {"address": requester["email"], "name": requester["name"]}},
            },
            "created_at": case["at"],
            "updated_at": last,
            "type": "incident",
            "subject": case["subject"],
            "raw_subject": case["subject"],
            "description": case["body"].strip(),
            "priority": "normal",
            "status": "open",
            "requester_id": customer_id,
            "submitter_id": customer_id,
            "assignee_id": agent_id,
            "tags": case.get("zendesk_tags", []),
        },
        "comments": comments,
        "users": [
            {"id": customer_id, "name": requester["name"], "email": requester["email"], "role": "end-user"},
            {"id": agent_id, "name": agent["name"], "email": agent["email"], "role": "agent"},
        ],
        "next_page": None,
        "previous_page": None,
        "count": len(comments),
    }


# ---------------------------------------------------------------- writing


def _compact(relative: str, text: str) -> str:
    """Provider files of an overlay on one line: a case replaces them whole, nobody reads them."""
    if relative in ("stripe.json", "linear.json", "github.json"):
        return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")) + "\n"
    return text


def _clean(name: str) -> None:
    for path in GOLDEN.glob(f"{name}-*"):
        if path.is_dir():
            shutil.rmtree(path)


def write_cases(name: str, spec: WorldSpec, base_files: dict[str, str]) -> int:
    data = yaml.safe_load((SCENARIOS / f"{name}.cases.yaml").read_text(encoding="utf-8"))
    requesters: dict[str, dict[str, str]] = data.get("requesters") or {}
    _clean(name)
    seen: set[str] = set()
    for raw in data["cases"]:
        changed = patched(spec, raw["spec"]) if raw.get("spec") else spec
        case = _resolve(raw, changed)
        cid = case["id"]
        if not cid.startswith(f"{name}-") or cid in seen:
            raise ValueError(f"case id {cid!r} must be unique and start with {name}-")
        seen.add(cid)
        directory = GOLDEN / cid
        directory.mkdir(parents=True)
        account = case.get("account")
        requester = case.get("requester") or requesters.get(account or "", {})
        if not requester:
            raise ValueError(f"{cid}: no requester for account {account!r}")
        ticket = (
            _zendesk_ticket(case, requester, spec) if case.get("thread") else _plain_ticket(case, requester)
        )
        (directory / "ticket.json").write_text(dumps(ticket), encoding="utf-8")
        expected = dict(case["expected"])
        overlay: dict[str, str] = {}
        if case.get("spec"):
            for relative, text in build_world(changed).items():
                if not relative.startswith("clickhouse/") and base_files.get(relative) != text:
                    overlay[relative] = _compact(relative, text)
        traffic = copy.deepcopy(case.get("traffic") or {})
        if traffic:
            overlay["clickhouse/traffic.overlay.json"] = dumps(traffic)
        if case.get("investigations"):
            overlay["investigations.json"] = dumps({"investigations": case["investigations"]})
        if overlay:
            world = directory / "world"
            for relative, text in overlay.items():
                target = world / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            (world / "world.json").write_text(json.dumps({"base": f"../../../worlds/{name}"}) + "\n")
        else:
            expected["world"] = f"../../worlds/{name}"
        expected["tags"] = sorted({*expected.get("tags", []), f"world:{name}"})
        (directory / "expected.json").write_text(dumps(expected), encoding="utf-8")
    return len(seen)


def main() -> None:
    for spec_file in sorted(SCENARIOS.glob("*.yaml")):
        if spec_file.name.endswith(".cases.yaml"):
            continue
        spec = load_spec(spec_file)
        write_world(spec, WORLDS / spec.name)
        count = 0
        if (SCENARIOS / f"{spec.name}.cases.yaml").is_file():
            count = write_cases(spec.name, spec, build_world(spec))
        print(f"{spec.name}: world written to {WORLDS / spec.name}, {count} cases")


if __name__ == "__main__":
    main()
