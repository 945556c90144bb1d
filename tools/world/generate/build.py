"""Scenario spec → world directory, deterministically (same spec, same bytes).

Files written: ``accounts.json``, ``stripe.json``, ``github.json``, ``linear.json``,
``tickets.json``, ``catalog.yaml`` (when the spec has one), ``sso/*.xml`` +
``sso/urls.json`` (for accounts with an IdP; ``sso/apps.json`` for those whose IdP app is named),
and, when the spec has traffic, ``clickhouse/traffic.json`` (+ ``clickhouse/mapping.json``
when its log tables are named differently from the demo's; the loader derives their
``CREATE TABLE`` statements from the demo's schema and that mapping, see
``tools/world/schema.py``).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from casefile.tools.world.emulate_idp_admin import graph_service_principal, okta_app
from casefile.tools.world.generate import saml
from casefile.tools.world.generate.billing_objects import stripe
from casefile.tools.world.generate.deploy_objects import github
from casefile.tools.world.generate.ids import sid
from casefile.tools.world.generate.issue_objects import linear, tickets
from casefile.tools.world.generate.spec import AccountSpec, WorldSpec
from casefile.tools.world.schema import mapped_schema, renames

__all__ = ["SpecError", "accounts", "build_world", "load_spec", "sso_files", "write_world"]


class SpecError(Exception):
    """A scenario spec that cannot be read or is inconsistent."""


def load_spec(path: str | Path) -> WorldSpec:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return WorldSpec.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: {exc}") from None
    except ValueError as exc:
        raise SpecError(f"{path}: {exc}") from None


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- accounts and SSO


def _idp_certs(acc: AccountSpec) -> dict[int, saml.Cert]:
    assert acc.idp is not None
    subject = saml.subject_for(acc.idp.vendor, acc.idp.tenant or acc.id)
    return {c.serial: saml.make_cert(subject, c.not_before, c.not_after, c.serial) for c in acc.idp.certs}


def sso_files(spec: WorldSpec) -> tuple[dict[str, str], dict[str, str]]:
    """``sso/`` files (current and last working metadata, urls.json) and each account's configured SHA-1."""
    files: dict[str, str] = {}
    urls: dict[str, str] = {}
    configured: dict[str, str] = {}
    for acc in spec.accounts:
        idp = acc.idp
        if idp is None:
            continue
        if not idp.certs:
            raise SpecError(f"account {acc.id}: idp.certs is empty")
        certs = _idp_certs(acc)
        now = (
            [certs[s] for s in idp.listed_serials] if idp.listed_serials is not None else list(certs.values())
        )
        then = [certs[s] for s in idp.last_working_certs] if idp.last_working_certs is not None else now
        tenant = idp.tenant or acc.id
        files[f"sso/{idp.file}.xml"] = saml.metadata(idp.vendor, idp.entity_id, idp.sso_url, tenant, now)
        files[f"sso/{idp.file}-last-working.xml"] = saml.metadata(
            idp.vendor, idp.entity_id, idp.sso_url, tenant, then
        )
        if idp.metadata_served:
            urls[idp.metadata_url] = f"{idp.file}.xml"
        serial = idp.configured_serial if idp.configured_serial is not None else idp.certs[0].serial
        if serial not in certs:
            raise SpecError(f"account {acc.id}: idp.configured_serial {serial} is not one of idp.certs")
        configured[acc.id] = certs[serial].sha1
    if urls:
        files["sso/urls.json"] = json.dumps(urls, indent=2) + "\n"
    apps = idp_apps(spec)
    if apps:
        files["sso/apps.json"] = json.dumps(apps, indent=2) + "\n"
    return files, configured


def idp_apps(spec: WorldSpec) -> dict[str, Any]:
    """``sso/apps.json``: each Okta or Entra account's app for us, as the IdP's admin API returns it."""
    okta: dict[str, list[dict[str, Any]]] = {}
    graph: list[dict[str, Any]] = []
    faults: dict[str, dict[str, int]] = {}
    for acc in spec.accounts:
        idp = acc.idp
        if idp is None or not idp.app_id or idp.vendor not in ("okta", "entra"):
            continue
        ours = _sp(spec, acc)
        acs, entity = idp.app_acs_url or ours["sp_acs_url"], idp.app_entity_id or ours["sp_entity_id"]
        label = spec.brand.name
        if idp.vendor == "okta":
            parts = urlsplit(idp.metadata_url)
            okta.setdefault(f"{parts.scheme}://{parts.netloc}", []).append(
                okta_app(idp.app_id, label, acs, entity)
            )
        else:
            graph.append(graph_service_principal(idp.app_id, label, acs, entity))
        if idp.app_fault:
            faults[idp.app_id] = {"status": idp.app_fault}
    out: dict[str, Any] = {"okta": okta, "graph": graph} if okta or graph else {}
    if faults:
        out["faults"] = faults
    return out


def accounts(spec: WorldSpec, fingerprints: dict[str, str]) -> dict[str, Any]:
    """accounts.json; ``fingerprints`` are the configured IdP certificates' SHA-1 per account."""
    out = []
    for acc in spec.accounts:
        idp = None
        if acc.idp is not None:
            idp = {
                "vendor": acc.idp.vendor,
                "entity_id": acc.idp.entity_id,
                "metadata_url": acc.idp.metadata_url,
                "configured_cert_sha1": fingerprints.get(acc.id, f"SHA1:{acc.id}"),
                **_sp(spec, acc),
                "last_working_snapshot": f"sso/{acc.idp.file}-last-working.xml",
            }
            if acc.idp.app_id:
                idp["app_id"] = acc.idp.app_id
        out.append(
            {
                "id": acc.id,
                "name": acc.name,
                "domains": acc.domains,
                "plan": acc.plan,
                "timezone": acc.timezone,
                "stripe_customer": sid("cus", acc.id, long=False),
                "webhook_url": acc.webhook_url,
                "repos": acc.repos,
                "idp": idp,
            }
        )
    return {"accounts": out}


# ---------------------------------------------------------------- logs


def _sp(spec: WorldSpec, acc: AccountSpec) -> dict[str, str]:
    """Our side of an account's SAML connection: the ACS URL and SP entity ID we expect."""
    assert acc.idp is not None
    acs = acc.idp.sp_acs_path or f"/sso/saml/acs/{acc.id}"
    return {
        "sp_acs_url": f"https://{spec.brand.app_host}{acs}",
        "sp_entity_id": f"https://{spec.brand.app_host}/sso/saml/metadata/{acc.id}",
    }


# What the generated IdPs put in their responses (their keys are ECDSA P-256, see saml.py).
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
SIG_ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"


def traffic(spec: WorldSpec, fingerprints: dict[str, str]) -> dict[str, Any] | None:
    """traffic.json; SSO accounts get their configured certificate and our ACS URL and entity ID
    (what a working response carries) unless the spec says otherwise."""
    if spec.traffic is None:
        return None
    description = copy.deepcopy(spec.traffic)
    by_id = {acc.id: acc for acc in spec.accounts}
    for account, part in (description.get("sso_logins", {}).get("accounts") or {}).items():
        if not part.get("cert_sha1") and account in fingerprints:
            part["cert_sha1"] = fingerprints[account]
        acc = by_id.get(account)
        if acc is not None and acc.idp is not None:
            sp = _sp(spec, acc)
            part.setdefault("acs_url", sp["sp_acs_url"])
            part.setdefault("audience", sp["sp_entity_id"])
            part.setdefault("nameid_format", NAMEID_EMAIL)
            part.setdefault("sig_alg", SIG_ECDSA_SHA256)
    return description


def helpcenter(spec: WorldSpec) -> dict[str, Any]:
    """helpcenter.json: the articles, served on the brand's help-center origin."""
    parts = urlsplit(spec.brand.help_center)
    return {
        "brand_url": f"{parts.scheme}://{parts.netloc}",
        "articles": [
            {
                "id": 360000000 + a.n,
                "slug": "-".join(re.findall(r"[a-z0-9]+", a.title.lower()))[:80],
                "title": a.title,
                "labels": a.labels,
                "body": a.body,
                "section_id": 360000 + a.section,
                "locale": "en-us",
                "created_at": a.created,
                "updated_at": a.updated,
            }
            for a in spec.articles
        ],
    }


# ---------------------------------------------------------------- the world


def build_world(spec: WorldSpec) -> dict[str, str]:
    """Every file of the world: relative path → text."""
    sso, fingerprints = sso_files(spec)
    files = {
        "accounts.json": dumps(accounts(spec, fingerprints)),
        "stripe.json": dumps(stripe(spec)),
        "github.json": dumps(github(spec)),
        "linear.json": dumps(linear(spec)),
        "tickets.json": dumps(tickets(spec)),
        **sso,
    }
    if spec.articles:
        files["helpcenter.json"] = dumps(helpcenter(spec))
    if spec.catalog is not None:
        files["catalog.yaml"] = (
            f"# The catalogue of {spec.brand.name} (generated from the scenario spec).\n"
            + yaml.safe_dump(spec.catalog, sort_keys=False, allow_unicode=True, width=110)
        )
    description = traffic(spec, fingerprints)
    if description is not None:
        files["clickhouse/traffic.json"] = dumps(description)
        if spec.logs:
            mapping = {key: m.model_dump(exclude_none=True) for key, m in spec.logs.items()}
            files["clickhouse/mapping.json"] = dumps(mapping)
        if spec.log_time_zone:
            header = (
                f"Derived from the demo's schema, the spec's table names and time zone {spec.log_time_zone}."
            )
            files["clickhouse/schema.sql"] = mapped_schema(
                renames(dict(spec.logs.items())), header, spec.log_time_zone
            )
    return files


def write_world(spec: WorldSpec, out: str | Path) -> list[str]:
    """Write the world to ``out`` (replacing the files it generates); returns the relative paths."""
    out = Path(out)
    files = build_world(spec)
    for stale in ("sso", "clickhouse"):
        if (out / stale).is_dir():
            shutil.rmtree(out / stale)
    for relative, text in files.items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return sorted(files)
