"""The SSO check the seeds describe: our ACS answers, durable last-working snapshots, changes mid-investigation,
what the failing SAML responses changed, and the summary an engineer writes.

The ACS probe runs against a real HTTP server on loopback (our ACS stand-in); metadata comes from
respx with Okta-shaped documents (test_sso.py's helpers).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import respx
from quiet_server import QuietHTTPServer
from test_hypotheses import demo_diagnosis
from test_sso import EXPIRED, FRESH, METADATA_URL, account, ctx, metadata, public_dns
from test_sso import mock as mock

from casefile.tools.settings import SSOSettings
from casefile.tools.sso import SSOCheckArgs, SSOConnector, parse_idp_metadata
from casefile.tools.sso_history import SnapshotHistory
from casefile.tools.sso_responses import response_changes

PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"


def with_nameid(doc: bytes, fmt: str) -> bytes:
    return doc.replace(
        b"<md:SingleSignOnService",
        f"<md:NameIDFormat>{fmt}</md:NameIDFormat>\n<md:SingleSignOnService".encode(),
        1,
    )


class _Acs(BaseHTTPRequestHandler):
    """Our ACS, as a SAML service provider serves it: POST only; other paths do not exist."""

    def do_GET(self) -> None:
        status = 405 if self.path == "/sso/saml/acs/initech" else 404
        self.send_response(status)
        if status == 405:
            self.send_header("Allow", "POST")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def acs_origin() -> Iterator[str]:
    server = QuietHTTPServer(("127.0.0.1", 0), _Acs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _account(acs: str, **idp: Any) -> dict[str, Any]:
    acct = account(snapshot=None, configured=FRESH[1])
    acct["idp"].update(sp_acs_url=acs, sp_entity_id="https://app.example.com/saml/initech", **idp)
    return acct


@pytest.fixture
async def connector(acs_origin: str) -> AsyncIterator[SSOConnector]:
    conn = SSOConnector(
        SSOSettings(acs_origins=[acs_origin]), resolver=public_dns, history=SnapshotHistory(None)
    )
    yield conn
    await conn.aclose()


async def test_our_acs_endpoint_is_probed_on_our_origin_only(
    mock: respx.MockRouter, connector: SSOConnector, acs_origin: str
) -> None:
    mock.route(host="127.0.0.1").pass_through()
    mock.get(METADATA_URL).respond(200, content=metadata((FRESH[0], "signing")))

    ok = await connector.sso_check(
        SSOCheckArgs(account_id="initech"), ctx(_account(f"{acs_origin}/sso/saml/acs/initech"))
    )
    assert ok["acs"]["answered"] is True and ok["acs"]["status"] == 405
    assert ok["problems"] == []

    missing = await connector.sso_check(
        SSOCheckArgs(account_id="initech"), ctx(_account(f"{acs_origin}/sso/acs/initech"))
    )
    assert missing["acs"]["answered"] is False and missing["acs"]["status"] == 404
    assert f"our ACS endpoint {acs_origin}/sso/acs/initech does not answer (404)" in missing["problems"]

    # A URL on any other origin is never requested, whatever the directory says.
    elsewhere = await connector.sso_check(
        SSOCheckArgs(account_id="initech"), ctx(_account("https://169.254.169.254/latest/meta-data"))
    )
    assert elsewhere["acs"]["checked"] is False
    assert not [c for c in mock.calls if c.request.url.host == "169.254.169.254"]


async def test_each_check_is_kept_and_the_last_working_one_is_the_baseline(
    mock: respx.MockRouter, acs_origin: str, tmp_path: Path
) -> None:
    """Durable across connectors (a restart): the snapshot lives in the database, not in a file."""
    url = f"sqlite:///{tmp_path / 'casefile.sqlite3'}"
    mock.route(host="127.0.0.1").pass_through()
    acct = _account(f"{acs_origin}/sso/saml/acs/initech")
    working = with_nameid(metadata((FRESH[0], "signing")), EMAIL)
    first = SSOConnector(
        SSOSettings(acs_origins=[acs_origin]), resolver=public_dns, history=SnapshotHistory(url)
    )
    mock.get(METADATA_URL).respond(200, content=working)
    assert (await first.sso_check(SSOCheckArgs(account_id="initech"), ctx(acct)))["problems"] == []
    await first.aclose()

    # Later the IdP switches the NameID format and publishes a new signing key alone.
    changed = with_nameid(metadata((EXPIRED[0], "signing")), PERSISTENT)
    second = SSOConnector(
        SSOSettings(acs_origins=[acs_origin]), resolver=public_dns, history=SnapshotHistory(url)
    )
    mock.get(METADATA_URL).respond(200, content=changed)
    result = await second.sso_check(SSOCheckArgs(account_id="initech"), ctx(acct))
    await second.aclose()
    diff = result["diff_vs_last_working"]
    assert diff["source"].startswith("history ")
    kinds = {c["what"]: c for c in diff["changes"]}
    assert set(kinds) == {"certificate", "NameID format"}
    assert kinds["NameID format"] == {"what": "NameID format", "before": EMAIL, "after": PERSISTENT}
    assert diff["removed_certs"] == [FRESH[1]] and diff["added_certs"] == [EXPIRED[1]]
    assert (
        f"NameID format differs from the last working snapshot: {EMAIL} -> {PERSISTENT}" in result["problems"]
    )


async def test_metadata_that_changes_mid_investigation_is_reported(
    mock: respx.MockRouter, connector: SSOConnector, acs_origin: str
) -> None:
    mock.route(host="127.0.0.1").pass_through()
    acct = _account(f"{acs_origin}/sso/saml/acs/initech")
    mock.get(METADATA_URL).mock(
        side_effect=[
            respx.MockResponse(200, content=metadata((FRESH[0], "signing"))),
            respx.MockResponse(200, content=metadata((FRESH[0], "signing"), (EXPIRED[0], "signing"))),
        ]
    )
    before = await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx(acct))
    assert before["changed_during_investigation"] is None
    after = await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx(acct))
    meanwhile = after["changed_during_investigation"]
    assert meanwhile is not None and meanwhile["changes"][0]["what"] == "certificate"
    assert any(
        "changed between two checks" in p and "during this investigation" in p for p in after["problems"]
    )


def test_signing_key_and_declared_algorithms_are_read() -> None:
    doc = metadata((FRESH[0], "signing")).replace(
        b"<md:IDPSSODescriptor",
        b'<md:Extensions xmlns:alg="urn:oasis:names:tc:SAML:metadata:algsupport">'
        b'<alg:SigningMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/></md:Extensions>'
        b"<md:IDPSSODescriptor",
        1,
    )
    meta = parse_idp_metadata(doc)
    assert meta.signing_methods == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"]
    assert meta.certificates[0].key == "EC secp256r1"


def test_response_changes_name_what_differs_from_the_last_working_login() -> None:
    working = {"cert_sha1": "AA", "acs_url": "https://app/acs/x", "sig_alg": "rsa-sha256", "audience": None}
    failing = {
        "cert_sha1": "AA",
        "acs_url": "https://app/acs",
        "sig_alg": "rsa-sha1",
        "audience": "https://app",
    }
    assert response_changes(working, failing) == [
        {
            "field": "acs_url",
            "what": "ACS URL (Destination)",
            "before": "https://app/acs/x",
            "after": "https://app/acs",
        },
        {"field": "sig_alg", "what": "signing algorithm", "before": "rsa-sha256", "after": "rsa-sha1"},
    ]
    assert response_changes(None, failing) == []


def test_the_summary_reads_the_way_an_engineer_escalates() -> None:
    d = demo_diagnosis("saml-expired-cert.json")
    assert d.summary == (
        "Certificate expired 9 hours ago, customer last logged in successfully on November 19th, IdP is Okta."
    )


def test_snapshots_live_in_postgres_too(postgres_url: str) -> None:
    """The same history over casefile's PostgreSQL database (the store's other dialect)."""
    from datetime import UTC, datetime, timedelta

    history = SnapshotHistory(postgres_url)
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    history.record("initech", t0, b"<old/>", working=True)
    history.record("initech", t0 + timedelta(days=1), b"<broken/>", working=False)
    history.close()
    again = SnapshotHistory(postgres_url)
    found = again.last_working("initech", t0 + timedelta(days=2))
    assert found is not None and found.document == b"<old/>" and found.working
    assert again.last_working("initech", t0 - timedelta(days=1)) is None
    assert again.last_working("globex", t0 + timedelta(days=2)) is None
    again.close()
