"""Knowledge must hold for a company whose data we have never seen.

No runbook, routing rule, prompt or agent/tools module may name an identifier of a
bundled world (its accounts, domains, repositories, bug ids, product): a rule that
only works because it names the demo company's repository fails everywhere else.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from casefile import PACKAGE_DIR

ROOT = Path(__file__).resolve().parent.parent
# Words too generic to be a world's identifier even when a world uses them as one.
GENERIC = {"api", "web", "webhooks", "app", "core", "docs", "billing", "sso", "test", "demo"}


def _worlds() -> list[Path]:
    """The demo world and the other companies' worlds of the golden set (evals/worlds/)."""
    found = [
        *(PACKAGE_DIR / "examples").rglob("accounts.json"),
        *(PACKAGE_DIR / "evals" / "worlds").rglob("accounts.json"),
    ]
    return sorted({p.parent for p in found})


def world_identifiers(world: Path) -> set[str]:
    names: set[str] = set()
    accounts = json.loads((world / "accounts.json").read_text(encoding="utf-8")).get("accounts", [])
    for account in accounts:
        names.update(str(account.get(k) or "") for k in ("id", "name"))
        names.update(account.get("domains") or [])
    github = world / "github.json"
    if github.is_file():
        for repo in json.loads(github.read_text(encoding="utf-8")).get("repos", {}):
            names.add(repo)
            names.add(repo.split("/", 1)[0])
    linear = world / "linear.json"
    if linear.is_file():
        names.update(
            i["identifier"] for i in json.loads(linear.read_text(encoding="utf-8")).get("issues", [])
        )
    catalog = world / "catalog.yaml"
    if catalog.is_file():
        data = yaml.safe_load(catalog.read_text(encoding="utf-8")) or {}
        if data.get("product"):
            names.add(str(data["product"]))
        for component in data.get("components") or []:
            names.update(component.get("repos") or [])
    return {n for n in names if len(n) >= 4 and n.lower() not in GENERIC}


def _knowledge_files() -> list[Path]:
    files = [
        *(ROOT / "prompts").rglob("*.md"),
        *(ROOT / "prompts").rglob("*.j2"),
        ROOT / "prompts" / "routing.yaml",
    ]
    for package in ("agent", "tools"):
        files += [p for p in (ROOT / package).rglob("*.py") if "world" not in p.relative_to(ROOT).parts]
    # the agent's vocabulary as data: the glossary and the languages' phrases
    files += [*(ROOT / "agent").rglob("*.yaml")]
    return files


def test_there_are_worlds_to_check() -> None:
    assert len(_worlds()) >= 2, "the demo world and the other companies' worlds"
    assert "relayhq/api" in world_identifiers(PACKAGE_DIR / "examples" / "world")
    assert "kestrelpay/payments-api" in world_identifiers(PACKAGE_DIR / "evals" / "worlds" / "kestrel")
    assert "pipewell/control-plane" in world_identifiers(PACKAGE_DIR / "evals" / "worlds" / "pipewell")
    assert "quillmark/envelope-service" in world_identifiers(PACKAGE_DIR / "evals" / "worlds" / "quillmark")
    assert "corvane-io/fleet-gateway" in world_identifiers(PACKAGE_DIR / "evals" / "worlds" / "corvane")
    assert "paysaga/payroll-core" in world_identifiers(PACKAGE_DIR / "evals" / "worlds" / "paysaga")
    assert "fretmark-eng/shipping-gateway" in world_identifiers(PACKAGE_DIR / "evals" / "worlds" / "fretmark")
    assert "hirefjord/ats-core" in world_identifiers(PACKAGE_DIR / "evals" / "worlds" / "hirefjord")


def test_knowledge_names_no_identifier_of_a_bundled_world() -> None:
    found = []
    for world in _worlds():
        names = world_identifiers(world)
        pattern = re.compile(
            r"(?<![\w/.-])(?:"
            + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
            + r")(?![\w-])",
            re.IGNORECASE,
        )
        for path in _knowledge_files():
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for m in pattern.finditer(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {m.group(0)} ({world.name})")
    assert not found, "world identifiers in knowledge files:\n" + "\n".join(found)
