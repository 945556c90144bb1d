"""Regenerate the demo world's provider files from its story (``story.yaml``).

Run from the repository root: ``python examples/world/make_world.py``. It writes
``accounts.json``, ``stripe.json``, ``github.json``, ``linear.json``,
``tickets.json`` and ``sso/apps.json`` (the IdPs' apps for us) next to it, deterministically (ids and SHAs are hashes of fixed
strings), with the world generator of ``casefile.tools.world.generate``, from the
story told as a scenario spec in ``story.yaml``. The objects have the field sets
the providers' APIs return (Stripe API 2025+, GitHub REST 2022-11-28, Linear
GraphQL), so the connectors parse them exactly as they would parse the real thing.
The SAML files come from ``make_sso.py``; the configured certificate fingerprints
are read back from those files.

The story and its ground truth are described in ``examples/README.md``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from casefile.tools.world.generate.billing_objects import stripe
from casefile.tools.world.generate.build import accounts, dumps, idp_apps, load_spec
from casefile.tools.world.generate.deploy_objects import github
from casefile.tools.world.generate.issue_objects import linear, tickets
from casefile.tools.world.generate.spec import WorldSpec

WORLD = Path(__file__).resolve().parent


def fingerprint(xml_file: Path) -> str:
    """SHA-1 of the first X509Certificate in a metadata file, colon-separated upper hex."""
    text = xml_file.read_text(encoding="utf-8")
    match = re.search(r"<ds:X509Certificate>(.*?)</ds:X509Certificate>", text, re.S)
    if not match:
        raise SystemExit(f"{xml_file}: no certificate (run make_sso.py first)")
    der = base64.b64decode(re.sub(r"\s+", "", match.group(1)))
    return ":".join(f"{b:02X}" for b in hashlib.sha1(der).digest())


def spec() -> WorldSpec:
    """The story: a scenario spec like every other world's (``story.yaml``)."""
    return load_spec(WORLD / "story.yaml")


def dump(name: str, data: Any) -> None:
    (WORLD / name).write_text(dumps(data), encoding="utf-8")


def main() -> None:
    world = spec()
    prints = {a.id: fingerprint(WORLD / "sso" / f"{a.idp.file}.xml") for a in world.accounts
              if a.idp and (WORLD / "sso" / f"{a.idp.file}.xml").exists()}  # fmt: skip
    dump("accounts.json", accounts(world, prints))
    dump("stripe.json", stripe(world))
    gh = github(world)
    dump("github.json", gh)
    dump("linear.json", linear(world))
    dump("tickets.json", tickets(world))
    (WORLD / "sso" / "apps.json").write_text(json.dumps(idp_apps(world), indent=2) + "\n", encoding="utf-8")
    for d in reversed(gh["repos"]["relayhq/api"]["deployments"]):
        print(f"relayhq/api {d['ref']:8} {d['environment']:10} {d['created_at']} id={d['id']} sha={d['sha']}")


if __name__ == "__main__":
    main()
