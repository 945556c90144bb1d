"""Knowledge must hold for a company whose data we have never seen.

No runbook, routing rule, prompt or agent/tools module may name an identifier of a
bundled world (its accounts, domains, repositories, bug ids, product): a rule that
only works because it names the demo company's repository fails everywhere else.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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


def names_pattern(names: set[str]) -> re.Pattern[str]:
    """Any of ``names`` (any case) as a whole identifier: not inside a word, path or domain.

    The names are one prefix tree (``acme(?:-logistics)?``), so each position of a text is tried
    against one branch per first letter, not against every name; a longer name is tried before a
    shorter one it starts with, as in a plain alternation sorted longest first. Only positions that
    start like a name are looked at at all (the lookahead on the first letters)."""
    tree: dict[str, dict[str, Any]] = {}
    for name in {n.lower() for n in names}:
        node = tree
        for char in name:
            node = node.setdefault(char, {})
        node[""] = {}

    def branches(node: dict[str, Any]) -> str:
        ways = [re.escape(char) + branches(rest) for char, rest in sorted(node.items()) if char]
        if not ways:
            return ""
        body = ways[0] if len(ways) == 1 else "(?:" + "|".join(ways) + ")"
        return f"(?:{body})?" if "" in node else body

    firsts = "".join(re.escape(c) for c in sorted({n[0] for n in tree}))
    return re.compile(rf"(?=[{firsts}])(?<![\w/.-]){branches(tree)}(?![\w-])", re.IGNORECASE)


def test_the_names_pattern_finds_whole_identifiers_only() -> None:
    pattern = names_pattern({"Acme", "acme-logistics", "Acme Logistics", "relay/api", "REL-482"})
    text = "acme; ACME LOGISTICS, acme-logistics and rel-482 but not acmes, xacme, /acme, acme-x, rel-4821"
    assert [m.group(0) for m in pattern.finditer(text)] == [
        "acme",
        "ACME LOGISTICS",
        "acme-logistics",
        "rel-482",
    ]
    assert pattern.findall("see relay/api.") == ["relay/api"]


def test_knowledge_names_no_identifier_of_a_bundled_world() -> None:
    found = []
    texts = {path: path.read_text(encoding="utf-8") for path in _knowledge_files()}
    for world in _worlds():
        pattern = names_pattern(world_identifiers(world))
        for path, text in texts.items():
            for m in pattern.finditer(text):  # a name never spans lines: the matches of line by line
                number = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{number}: {m.group(0)} ({world.name})")
    assert not found, "world identifiers in knowledge files:\n" + "\n".join(found)
