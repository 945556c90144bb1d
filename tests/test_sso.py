"""The SSO connector: SAML metadata parsing on real IdP documents, the check, and its SSRF guard."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from casefile.tools.base import CallContext, Toolbox, ToolCall
from casefile.tools.errors import SourceMalformed, SourceTimeout, SourceTooLarge, SourceUnavailable
from casefile.tools.settings import SSOSettings
from casefile.tools.sso import (
    MetadataError,
    SSOCheckArgs,
    SSOConnector,
    UnsafeMetadataURL,
    describe_certificate,
    format_sha1,
    guess_vendor,
    parse_idp_metadata,
)
from casefile.tools.world import emulate_idp
from casefile.tools.world.emulator import WorldTransport

REFERENCE = Path("/work/shared/reference/saml")
EXPECTED = json.loads((REFERENCE / "EXPECTED.json").read_text())["files"]
FROZEN = datetime(2026, 11, 23, tzinfo=UTC)  # when EXPECTED.json was computed

TICKET_TIME = datetime(2026, 11, 20, 9, 5, tzinfo=UTC)
METADATA_URL = "https://initech.okta.com/app/exk1initech/sso/saml/metadata"
ENTITY_ID = "http://www.okta.com/exk1initech"
PUBLIC_IP = "52.10.20.30"


# --- the parser on real metadata ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parser_matches_reference_values(name: str) -> None:
    expected = EXPECTED[name]
    meta = parse_idp_metadata((REFERENCE / name).read_bytes())
    (entity,) = expected["idp_entities"]

    assert meta.root_element == expected["root_element"]
    assert meta.entity_count == expected["entity_count"]
    assert meta.entity_id == entity["entityID"]
    assert meta.valid_until == entity["validUntil"]
    assert meta.sso_urls == entity["sso"]
    assert len(meta.certificates) == len(entity["certs"])
    for cert, want in zip(meta.certificates, entity["certs"], strict=True):
        got = describe_certificate(cert, FROZEN, None)
        assert got["use"] == want["use"]
        assert got["for_signing"] == (want["use"] in (None, "signing"))
        assert got["subject"] == want["subject"]
        assert got["not_before"] == want["notBefore"].replace("+00:00", "Z")
        assert got["not_after"] == want["notAfter"].replace("+00:00", "Z")
        assert got["days_left"] == want["days_left_as_of_computed_at"]
        assert got["expired"] == want["expired_as_of_computed_at"]
        assert got["sha1"] == format_sha1(want["sha1_fingerprint"])
        assert got["sha1"].count(":") == 19 and got["sha1"] == got["sha1"].upper()


def test_vendor_guess_on_reference_files() -> None:
    vendors = {}
    for name in sorted(EXPECTED):
        meta = parse_idp_metadata((REFERENCE / name).read_bytes())
        vendors[name] = guess_vendor(meta.entity_id, [u["location"] for u in meta.sso_urls])
    assert vendors == {
        "adfs_2016_federation_metadata.xml": "adfs",
        "entra_id_azure_ad_federation_metadata.xml": "entra",
        "google_workspace_idp_metadata.xml": "google",
        "okta_idp_metadata.xml": "okta",
        "onelogin_idp_metadata.xml": "onelogin",
        "shibboleth_samltest_id_multi_signing_certs.xml": "shibboleth",
        "testshib_entities_descriptor.xml": "shibboleth",
    }


def test_certificates_outside_the_idp_descriptor_are_ignored() -> None:
    # AD FS carries its signing cert in ds:Signature and an encryption cert in a RoleDescriptor too.
    raw = (REFERENCE / "adfs_2016_federation_metadata.xml").read_bytes()
    assert raw.count(b"X509Certificate>") // 2 > 2
    assert len(parse_idp_metadata(raw).certificates) == 2


# --- building documents --------------------------------------------------------------------


def make_cert(cn: str, not_before: datetime, not_after: datetime) -> tuple[str, str]:
    """A self-signed certificate as (base64 DER, colon SHA-1)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    return base64.b64encode(der).decode(), format_sha1(cert.fingerprint(hashes.SHA1()).hex())


EXPIRED = make_cert(
    "initech.okta.com", datetime(2023, 11, 20, tzinfo=UTC), datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC)
)
FRESH = make_cert("initech.okta.com", datetime(2026, 11, 1, tzinfo=UTC), datetime(2029, 11, 1, tzinfo=UTC))


def metadata(
    *certs: tuple[str, str | None], sso: str = "https://initech.okta.com/app/exk1initech/sso/saml"
) -> bytes:
    """An Okta-like document; the base64 is wrapped at 64 columns the way Okta does it."""
    keys = ""
    for b64, use in certs:
        wrapped = "\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
        use_attr = f' use="{use}"' if use else ""
        keys += (
            f"<md:KeyDescriptor{use_attr}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n{wrapped}\n"
            "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{ENTITY_ID}">\n'
        "<!-- generated for a test -->\n"
        '<md:IDPSSODescriptor WantAuthnRequestsSigned="false" '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">\n'
        f"{keys}"
        '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
        f'Location="{sso}"/>\n'
        "</md:IDPSSODescriptor></md:EntityDescriptor>\n"
    ).encode()


def test_key_descriptor_without_use_counts_for_signing() -> None:
    meta = parse_idp_metadata(metadata((FRESH[0], None)))
    assert meta.certificates[0].use is None
    assert meta.certificates[0].for_signing


def test_entities_descriptor_picks_the_configured_idp() -> None:
    first = metadata((FRESH[0], "signing")).split(b"\n", 1)[1]
    second = first.replace(ENTITY_ID.encode(), b"http://www.okta.com/other")
    doc = (
        b'<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">'
        + second
        + b"<!-- between -->"
        + first
        + b"</EntitiesDescriptor>"
    )
    assert parse_idp_metadata(doc, entity_id=ENTITY_ID).entity_id == ENTITY_ID
    assert parse_idp_metadata(doc).entity_id == "http://www.okta.com/other"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (b"<md:EntityDescriptor", "not well-formed"),
        (b"<html><body>Sign in</body></html>", "root element is html"),
        (
            b'<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><SPSSODescriptor/>'
            b"</EntityDescriptor>",
            "no entity",
        ),
    ],
)
def test_unusable_documents(doc: bytes, message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        parse_idp_metadata(doc)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE md [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&xxe;">
<md:IDPSSODescriptor/></md:EntityDescriptor>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&lol9;">
<md:IDPSSODescriptor/></md:EntityDescriptor>"""


@pytest.mark.parametrize("doc", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
def test_entity_documents_refused(doc: bytes) -> None:
    with pytest.raises(MetadataError, match="DOCTYPE"):
        parse_idp_metadata(doc)


# --- the check, over HTTP ---------------------------------------------------------------


def account(
    url: str = METADATA_URL, configured: str = EXPIRED[1], snapshot: str | None = "sso/last.xml"
) -> dict:
    return {
        "id": "initech",
        "idp": {
            "vendor": "okta",
            "entity_id": ENTITY_ID,
            "metadata_url": url,
            "configured_cert_sha1": configured,
            "sp_acs_url": "https://api.relayhq.dev/sso/initech/acs",
            "last_working_snapshot": snapshot,
        },
    }


def ctx(acct: dict[str, Any] | None = None) -> CallContext:
    return CallContext.for_account("initech", {"initech": acct or account()}, now=TICKET_TIME)


def public_dns(host: str) -> list[str]:
    return {
        "initech.okta.com": [PUBLIC_IP],
        "idp.example.com": [PUBLIC_IP],
        "cdn.example.com": [PUBLIC_IP],
        "internal.example.com": ["10.0.0.5"],
        "metadata.example.com": ["169.254.169.254"],
        "v6loop.example.com": ["::1"],
        "ula.example.com": ["fd12::1"],
        "mixed.example.com": [PUBLIC_IP, "127.0.0.1"],
    }.get(host, [])


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
async def snapshots(tmp_path: Path) -> Path:
    (tmp_path / "sso").mkdir()
    (tmp_path / "sso" / "last.xml").write_bytes(metadata((EXPIRED[0], "signing")))
    return tmp_path


@pytest.fixture
async def connector(snapshots: Path) -> AsyncIterator[SSOConnector]:
    conn = SSOConnector(SSOSettings(max_metadata_bytes=200_000), resolver=public_dns, snapshot_dir=snapshots)
    yield conn
    await conn.aclose()


async def test_initech_expired_signing_certificate(mock: respx.MockRouter, connector: SSOConnector) -> None:
    mock.get(METADATA_URL).respond(200, content=metadata((EXPIRED[0], "signing")))
    result = await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx())

    assert result["entity_id"] == ENTITY_ID
    assert result["vendor"] == "okta"
    (cert,) = result["certificates"]
    assert cert["not_after"] == "2026-11-19T23:59:59Z"
    assert cert["expired"] is True
    assert cert["days_left"] == -1  # expired 9 hours before the ticket
    assert cert["matches_configured"] is True
    assert result["configured_cert_present"] is True
    assert result["signing_cert_expired"] is True
    assert result["diff_vs_last_working"] == {
        "available": True,
        "changed": False,
        "changes": [],
        "source": "file sso/last.xml",
        "added_certs": [],
        "removed_certs": [],
        "sso_urls_changed": False,
        "entity_id_changed": False,
    }
    assert result["problems"] == [
        "signing certificate CN=initech.okta.com expired 2026-11-19T23:59:59Z (9 hours ago)"
    ]


async def test_rotated_at_the_idp_but_not_at_relay(mock: respx.MockRouter, connector: SSOConnector) -> None:
    mock.get(METADATA_URL).respond(200, content=metadata((FRESH[0], "signing")))
    result = await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx())

    assert result["configured_cert_present"] is False
    assert result["signing_cert_expired"] is False
    assert result["certificates"][0]["matches_configured"] is False
    diff = result["diff_vs_last_working"]
    assert diff["changed"] is True
    assert diff["added_certs"] == [FRESH[1]]
    assert diff["removed_certs"] == [EXPIRED[1]]
    assert (
        f"configured certificate {EXPIRED[1]} is no longer in the IdP metadata: "
        "rotated at the IdP but not on our side" in result["problems"]
    )


async def test_rollover_with_one_valid_signing_cert_is_not_expired(
    mock: respx.MockRouter, connector: SSOConnector
) -> None:
    mock.get(METADATA_URL).respond(200, content=metadata((EXPIRED[0], "signing"), (FRESH[0], "signing")))
    result = await connector.sso_check(
        SSOCheckArgs(
            account_id="initech",
        ),
        ctx(account(configured=FRESH[1])),
    )
    assert result["signing_cert_expired"] is False
    assert result["configured_cert_present"] is True
    assert result["problems"] == [
        "signing certificate CN=initech.okta.com expired 2026-11-19T23:59:59Z (9 hours ago); "
        "another signing certificate is still valid"
    ]


async def test_snapshot_outside_the_snapshot_dir_is_not_read(
    mock: respx.MockRouter, connector: SSOConnector
) -> None:
    mock.get(METADATA_URL).respond(200, content=metadata((EXPIRED[0], "signing")))
    result = await connector.sso_check(
        SSOCheckArgs(account_id="initech"), ctx(account(snapshot="../../etc/passwd"))
    )
    assert result["diff_vs_last_working"]["available"] is False
    assert "outside" in result["diff_vs_last_working"]["reason"]


def test_the_argument_model_has_no_url() -> None:
    assert set(SSOCheckArgs.model_json_schema()["properties"]) == {"account_id"}


async def test_a_url_argument_is_rejected_before_anything_runs(connector: SSOConnector) -> None:
    outcome = await Toolbox([connector]).execute(
        ToolCall(
            id="x",
            tool="sso_check",
            arguments={"account_id": "initech", "metadata_url": "https://evil.test/"},
        ),
        ctx(),
    )
    assert not outcome.ok
    assert outcome.error_kind == "bad_arguments"


# --- SSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://127.0.0.1/metadata", "IP literal"),
        ("https://169.254.169.254/latest/meta-data/", "IP literal"),
        ("https://10.0.0.5/saml/metadata", "IP literal"),
        ("https://192.168.1.1/saml/metadata", "IP literal"),
        ("https://[::1]/saml/metadata", "IP literal"),
        ("http://initech.okta.com/app/exk1initech/sso/saml/metadata", "only https"),
        ("file:///etc/passwd", "only https"),
        ("https://internal.example.com/md", "10.0.0.5 is a private address"),
        ("https://metadata.example.com/md", "169.254.169.254 is a link-local address"),
        ("https://v6loop.example.com/md", "::1 is a loopback address"),
        ("https://ula.example.com/md", "fd12::1 is a private address"),
        ("https://mixed.example.com/md", "127.0.0.1 is a loopback address"),
        ("https://nowhere.example.com/md", "does not resolve"),
    ],
)
async def test_unsafe_metadata_urls_are_refused_without_a_request(
    mock: respx.MockRouter, connector: SSOConnector, url: str, why: str
) -> None:
    anything = mock.route().respond(200, content=metadata((FRESH[0], "signing")))
    with pytest.raises(UnsafeMetadataURL, match=why):
        await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx(account(url=url)))
    assert anything.call_count == 0


@pytest.mark.parametrize(
    "target",
    [
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://cdn.example.com/md.xml",
        "https://metadata.example.com/md.xml",
    ],
)
async def test_redirect_to_a_forbidden_target_is_refused(
    mock: respx.MockRouter, connector: SSOConnector, target: str
) -> None:
    mock.get(METADATA_URL).respond(302, headers={"Location": target})
    forbidden = mock.route(url=target).respond(200, content=b"secrets")
    with pytest.raises(UnsafeMetadataURL, match="refused"):
        await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx())
    assert forbidden.call_count == 0


async def test_safe_redirects_are_followed_up_to_three(
    mock: respx.MockRouter, connector: SSOConnector
) -> None:
    mock.get(METADATA_URL).respond(301, headers={"Location": "https://cdn.example.com/1"})
    mock.get("https://cdn.example.com/1").respond(302, headers={"Location": "/2"})
    mock.get("https://cdn.example.com/2").respond(307, headers={"Location": "https://idp.example.com/final"})
    final = mock.get("https://idp.example.com/final").respond(200, content=metadata((EXPIRED[0], "signing")))
    result = await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx())
    assert result["entity_id"] == ENTITY_ID
    assert final.call_count == 1
    assert result["metadata_url"] == METADATA_URL  # the configured one is reported, not where it led


async def test_a_fourth_redirect_is_refused(mock: respx.MockRouter, connector: SSOConnector) -> None:
    mock.get(METADATA_URL).respond(302, headers={"Location": "https://cdn.example.com/1"})
    for i in range(1, 4):
        mock.get(f"https://cdn.example.com/{i}").respond(
            302, headers={"Location": f"https://cdn.example.com/{i + 1}"}
        )
    fourth = mock.get("https://cdn.example.com/4").respond(200, content=metadata((EXPIRED[0], "signing")))
    with pytest.raises(UnsafeMetadataURL, match="more than 3 redirects"):
        await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx())
    assert fourth.call_count == 0


# --- faults ------------------------------------------------------------------------------


async def test_timeout(mock: respx.MockRouter, connector: SSOConnector, waits: list[float]) -> None:
    route = mock.get(METADATA_URL).mock(side_effect=httpx.ConnectTimeout("slow"))
    with pytest.raises(SourceTimeout):
        await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx())
    assert route.call_count == 3


async def test_server_error(mock: respx.MockRouter, connector: SSOConnector, waits: list[float]) -> None:
    route = mock.get(METADATA_URL).respond(500, text="oops")
    outcome = await Toolbox([connector]).execute(
        ToolCall(id="s", tool="sso_check", arguments={"account_id": "initech"}), ctx()
    )
    assert not outcome.ok and outcome.error_kind == "unavailable"
    assert "HTTP 500" in (outcome.error or "")
    assert route.call_count == 3


async def test_server_error_then_success(
    mock: respx.MockRouter, connector: SSOConnector, waits: list[float]
) -> None:
    mock.get(METADATA_URL).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, content=metadata((EXPIRED[0], "signing")))]
    )
    result = await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx())
    assert result["signing_cert_expired"] is True


@pytest.mark.parametrize(
    "body", [b"<md:EntityDescriptor><oops", XXE, BILLION_LAUGHS], ids=["broken", "xxe", "lol"]
)
async def test_malformed_or_hostile_xml(mock: respx.MockRouter, connector: SSOConnector, body: bytes) -> None:
    mock.get(METADATA_URL).respond(200, content=body)
    with pytest.raises(SourceMalformed):
        await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx())


async def test_huge_document_is_too_large(mock: respx.MockRouter, connector: SSOConnector) -> None:
    padding = b"<!--" + b"x" * 300_000 + b"-->"
    mock.get(METADATA_URL).respond(200, content=metadata((EXPIRED[0], "signing")) + padding)
    with pytest.raises(SourceTooLarge):
        await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx())


async def test_huge_streamed_document_without_length_is_cut(
    mock: respx.MockRouter, connector: SSOConnector
) -> None:
    sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(1000):
            sent.append(1)
            yield b"<a>" * 10_000

    class Stream(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in endless():
                yield chunk

    mock.get(METADATA_URL).mock(return_value=httpx.Response(200, stream=Stream()))
    with pytest.raises(SourceTooLarge):
        await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx())
    assert len(sent) < 20  # reading stopped at the cap


async def test_404_and_unconfigured_account(mock: respx.MockRouter, connector: SSOConnector) -> None:
    mock.get(METADATA_URL).respond(404)
    outcome = await Toolbox([connector]).execute(
        ToolCall(id="a", tool="sso_check", arguments={"account_id": "initech"}), ctx()
    )
    assert outcome.error_kind == "not_found"
    no_idp = CallContext.for_account("initech", {"initech": {"id": "initech", "idp": None}}, now=TICKET_TIME)
    outcome = await Toolbox([connector]).execute(
        ToolCall(id="b", tool="sso_check", arguments={"account_id": "initech"}), no_idp
    )
    assert outcome.error_kind == "not_found"
    assert "no SAML IdP configured" in (outcome.error or "")


async def test_unavailable_connection(
    mock: respx.MockRouter, connector: SSOConnector, waits: list[float]
) -> None:
    mock.get(METADATA_URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(SourceUnavailable):
        await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx())


# --- against a world ----------------------------------------------------------------------


def test_world_emulation_serves_metadata_and_resolves_only_its_hosts(tmp_path: Path) -> None:
    sso = tmp_path / "sso"
    sso.mkdir()
    (sso / "initech-okta.xml").write_bytes(metadata((EXPIRED[0], "signing")))
    (sso / "urls.json").write_text(json.dumps({METADATA_URL: "initech-okta.xml"}))
    handlers = emulate_idp.handlers(tmp_path)
    assert set(handlers) == {"initech.okta.com"}
    resolve = emulate_idp.resolver(tmp_path)
    assert resolve("initech.okta.com") == [emulate_idp.WORLD_HOST_ADDRESS]
    assert resolve("169.254.169.254.nip.io") == []
    handle = handlers["initech.okta.com"]
    assert handle(httpx.Request("GET", METADATA_URL)).status_code == 200
    assert handle(httpx.Request("GET", "https://initech.okta.com/other")).status_code == 404
    assert handle(httpx.Request("POST", METADATA_URL)).status_code == 405


async def test_sso_check_against_a_world(tmp_path: Path) -> None:
    sso = tmp_path / "sso"
    sso.mkdir()
    (sso / "initech-okta.xml").write_bytes(metadata((EXPIRED[0], "signing")))
    (sso / "initech-okta-last-working.xml").write_bytes(metadata((EXPIRED[0], "signing")))
    (sso / "urls.json").write_text(json.dumps({METADATA_URL: "initech-okta.xml"}))
    transport = WorldTransport(emulate_idp.handlers(tmp_path))
    conn = SSOConnector(
        SSOSettings(), transport=transport, resolver=emulate_idp.resolver(tmp_path), snapshot_dir=tmp_path
    )
    try:
        result = await conn.sso_check(
            SSOCheckArgs(account_id="initech"), ctx(account(snapshot="sso/initech-okta-last-working.xml"))
        )
        assert result["signing_cert_expired"] is True
        assert result["diff_vs_last_working"]["changed"] is False
        with pytest.raises(UnsafeMetadataURL):
            await conn.sso_check(
                SSOCheckArgs(account_id="initech"), ctx(account(url="https://attacker.example/md"))
            )
        assert transport.requests == [("GET", "initech.okta.com", "/app/exk1initech/sso/saml/metadata")]
    finally:
        await conn.aclose()


def test_expiry_warning_for_soon_expiring_cert() -> None:
    soon = make_cert("soon", TICKET_TIME - timedelta(days=300), TICKET_TIME + timedelta(days=5, hours=1))
    from casefile.tools.sso import analyse

    meta = parse_idp_metadata(metadata((soon[0], "signing")))
    result = analyse(
        meta, now=TICKET_TIME, account_id="initech", metadata_url=METADATA_URL, idp_config={}, previous=None
    )
    assert result["certificates"][0]["days_left"] == 5
    assert result["problems"] == ["signing certificate CN=soon expires 2026-11-25T10:05:00Z (in 5 days)"]
    assert result["diff_vs_last_working"]["available"] is False


def test_keycloak_and_ping_metadata_name_their_vendor() -> None:
    """A Keycloak realm's descriptor and PingOne's or PingFederate's metadata say who the IdP is, by
    the shape of their URLs (invented hosts)."""
    from casefile.tools.sso_analysis import VENDOR_NAMES

    realm = "https://login.clinic.example/realms/staff"
    assert guess_vendor(realm, [f"{realm}/protocol/saml"]) == "keycloak"
    env = "https://auth.pingone.eu/3f2c9a71-0000-4000-8000-000000000001"
    assert guess_vendor(env, [f"{env}/saml20/idp/sso"]) == "ping"
    assert guess_vendor("urn:example:idp", ["https://fed.example.test/idp/SSO.saml2"]) == "ping"
    assert VENDOR_NAMES["keycloak"] == "Keycloak"
    # an IdP whose URLs say nothing stays unknown rather than guessed
    assert guess_vendor("https://idp.example.test/saml", ["https://idp.example.test/saml/sso"]) is None
