"""Regenerate the demo world's IdP metadata (``sso/*.xml``, ``sso/urls.json``).

Run from the repository root: ``python examples/world/make_sso.py``. RSA keys are
random, so every run yields new certificates; the script then rewrites the old
fingerprints in ``accounts.json`` (``idp.configured_cert_sha1``) and in
``clickhouse/traffic.json`` (``sso_logins`` ``cert_sha1``) so the world stays
consistent. The committed XML is the source of truth; nothing loads this script.

Story encoded here:

* initech (Okta): signing certificate valid until 2026-11-19T23:59:59Z; the current
  metadata is byte-identical to the last working snapshot (nothing changed but time).
* stark (Okta), hooli (Google Workspace): valid certificates, snapshot identical.
* wayne (Entra ID): mid-rollover, the current metadata lists a second, newer signing
  certificate that the last working snapshot did not have; the configured one is still
  there, so SSO keeps working.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from casefile.tools.world.generate import saml
from casefile.tools.world.generate.saml import Cert, entra, google, okta

WORLD = Path(__file__).resolve().parent
SSO = WORLD / "sso"


def make_cert(subject: dict[str, str], not_before: str, not_after: str, serial: int) -> Cert:
    """The generator's certificate, signed with a fresh random RSA key as the real IdPs do."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return saml.make_cert(subject, not_before, not_after, serial, key=key)


def okta_subject(tenant: str) -> dict[str, str]:
    return saml.subject_for("okta", tenant)


def main() -> None:
    SSO.mkdir(exist_ok=True)
    azure = saml.subject_for("entra", "")
    google_subject = saml.subject_for("google", "")
    initech = make_cert(okta_subject("initech"), "2023-11-20T00:00:00", "2026-11-19T23:59:59", 0x0188F2A1C3D4)
    stark = make_cert(
        okta_subject("stark-industries"), "2025-03-02T16:41:07", "2035-03-02T16:42:07", 0x0195590E7A11
    )
    wayne_old = make_cert(azure, "2024-06-10T14:05:33", "2027-06-10T14:05:33", 0x5A1E7C0FFEE1)
    wayne_new = make_cert(azure, "2026-11-10T09:12:45", "2029-11-10T09:12:45", 0x5A1E7C0FFEE2)
    hooli = make_cert(google_subject, "2025-01-15T09:20:11", "2030-01-14T09:20:11", 0x01946A3B2C1D)

    tenant = "5f0c2c1e-8d3b-4e6a-9b7d-2a1c3e4f5a6b"
    files = {
        "initech-okta.xml": okta(
            "http://www.okta.com/exk8in1tech2sso3ok4a",
            "https://initech.okta.com/app/initech_relay_1/exk8in1tech2sso3ok4a/sso/saml",
            initech,
        ),
        "stark-okta.xml": okta(
            "http://www.okta.com/exk5st4rk3ind2us1ry0",
            "https://stark-industries.okta.com/app/starkindustries_relay_1/exk5st4rk3ind2us1ry0/sso/saml",
            stark,
        ),
        "wayne-entra.xml": entra(tenant, [wayne_old, wayne_new]),
        "wayne-entra-last-working.xml": entra(tenant, [wayne_old]),
        "hooli-google.xml": google("C03h0ol1x", hooli),
    }
    # Snapshots that equal the current document: taken the last time a login worked.
    files["initech-okta-last-working.xml"] = files["initech-okta.xml"]
    files["stark-okta-last-working.xml"] = files["stark-okta.xml"]
    files["hooli-google-last-working.xml"] = files["hooli-google.xml"]
    for name, text in files.items():
        (SSO / name).write_text(text, encoding="utf-8")

    urls = {
        "https://initech.okta.com/app/exk8in1tech2sso3ok4a/sso/saml/metadata": "initech-okta.xml",
        "https://stark-industries.okta.com/app/exk5st4rk3ind2us1ry0/sso/saml/metadata": "stark-okta.xml",
        f"https://login.microsoftonline.com/{tenant}/federationmetadata/2007-06/federationmetadata.xml"
        "?appid=8a1d2c3b-4e5f-4a6b-9c7d-0e1f2a3b4c5d": "wayne-entra.xml",
        "https://sso.hooli.xyz/saml/google-idp-metadata.xml": "hooli-google.xml",
    }
    (SSO / "urls.json").write_text(json.dumps(urls, indent=2) + "\n", encoding="utf-8")

    # Keep the fingerprints elsewhere in the world in step with the new certificates.
    configured = {"initech": initech.sha1, "stark": stark.sha1, "wayne": wayne_old.sha1, "hooli": hooli.sha1}
    accounts_path = WORLD / "accounts.json"
    accounts = json.loads(accounts_path.read_text(encoding="utf-8"))
    replacements = {}
    for account in accounts["accounts"]:
        if account.get("idp") and account["id"] in configured:
            old = account["idp"]["configured_cert_sha1"]
            replacements[old] = configured[account["id"]]
            replacements[f"SHA1:{account['id']}"] = configured[account["id"]]
    for path in (accounts_path, WORLD / "clickhouse" / "traffic.json"):
        text = path.read_text(encoding="utf-8")
        for old, new in replacements.items():
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    for account_id, sha1 in configured.items():
        print(f"{account_id:8} {sha1}")


if __name__ == "__main__":
    main()
