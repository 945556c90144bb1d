"""IdP SAML metadata documents per vendor, with deterministic signing certificates.

A generated world must be the same on every run, so keys are derived from a seed
(ECDSA P-256, RFC 6979 deterministic signatures) instead of drawn at random. The
demo world's ``make_sso.py`` uses the same templates with random RSA keys.
"""

from __future__ import annotations

import base64
import hashlib
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID

__all__ = ["Cert", "make_cert", "metadata", "subject_for"]

_OIDS = {
    "C": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "CN": NameOID.COMMON_NAME,
    "emailAddress": NameOID.EMAIL_ADDRESS,
}
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass(frozen=True)
class Cert:
    der: bytes

    @property
    def sha1(self) -> str:
        digest = x509.load_der_x509_certificate(self.der).fingerprint(hashes.SHA1())
        return ":".join(f"{b:02X}" for b in digest)

    @property
    def kid(self) -> str:
        """A key id as Keycloak makes one: the base64url SHA-256 of the key, 43 characters."""
        return base64.urlsafe_b64encode(hashlib.sha256(self.der).digest()).decode().rstrip("=")

    @property
    def b64(self) -> str:
        return "\n".join(textwrap.wrap(base64.b64encode(self.der).decode(), 76))


def make_cert(
    subject: dict[str, str],
    not_before: str,
    not_after: str,
    serial: int,
    key: CertificateIssuerPrivateKeyTypes | None = None,
) -> Cert:
    """A self-signed certificate; without ``key``, one derived from the subject and serial."""
    name = x509.Name([x509.NameAttribute(_OIDS[k], v) for k, v in subject.items()])
    deterministic = key is None
    if key is None:
        seed = hashlib.sha256(f"{sorted(subject.items())}/{serial}".encode()).digest()
        key = ec.derive_private_key(int.from_bytes(seed, "big") % (_P256_ORDER - 1) + 1, ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(datetime.fromisoformat(not_before.replace("Z", "")).replace(tzinfo=UTC))
        .not_valid_after(datetime.fromisoformat(not_after.replace("Z", "")).replace(tzinfo=UTC))
    )
    cert = builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True if deterministic else None)
    return Cert(cert.public_bytes(serialization.Encoding.DER))


def subject_for(vendor: str, tenant: str) -> dict[str, str]:
    """The subject each IdP product puts in its signing certificates."""
    if vendor == "okta":
        return {"C": "US", "ST": "California", "L": "San Francisco", "O": "Okta", "OU": "SSOProvider",
                "CN": tenant, "emailAddress": "info@okta.com"}  # fmt: skip
    if vendor == "entra":
        return {"CN": "Microsoft Azure Federated SSO Certificate"}
    if vendor == "google":
        return {"C": "US", "ST": "California", "L": "Mountain View", "O": "Google Inc.",
                "OU": "Google For Work", "CN": "Google"}  # fmt: skip
    if vendor == "onelogin":
        return {"C": "US", "ST": "California", "L": "San Francisco", "O": tenant, "OU": "OneLogin IdP",
                "CN": "OneLogin Account "}  # fmt: skip
    if vendor == "auth0":
        return {"CN": f"{tenant}.auth0.com"}
    if vendor == "adfs":
        return {"CN": f"ADFS Signing - {tenant}"}
    if vendor == "ping":
        return {"C": "US", "O": "Ping Identity", "OU": "PingOne",
                "CN": f"PingOne SSO Certificate for {tenant} environment"}  # fmt: skip
    if vendor == "keycloak":
        return {"CN": tenant}  # a realm's generated key pair is named after the realm
    if vendor == "shibboleth":
        return {"CN": tenant}  # the IdP installer names its keys after the IdP's host name
    if vendor == "duo":
        # Duo SSO generates one key pair per SAML application, named after the Duo account's SSO host
        return {"C": "US", "ST": "Michigan", "L": "Ann Arbor", "O": "Duo Security", "CN": tenant}
    if vendor == "pingfederate":
        # self-hosted: the admin fills in the subject when generating the signing key pair
        return {"C": "US", "O": tenant, "OU": "PingFederate", "CN": f"{tenant} SAML signing"}
    return {"C": "US", "ST": "Colorado", "L": "Louisville", "O": "JumpCloud", "OU": "SSO", "CN": "JumpCloud"}


def _key_descriptor(cert: Cert, use: str = "signing", key_name: str = "") -> str:
    body = textwrap.indent(cert.b64, "          ")
    name = f"        <ds:KeyName>{key_name}</ds:KeyName>\n" if key_name else ""
    return f"""    <md:KeyDescriptor use="{use}">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
{name}        <ds:X509Data>
          <ds:X509Certificate>
{body}
          </ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
"""


def okta(entity: str, sso_url: str, cert: Cert) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
{_key_descriptor(cert)}    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{sso_url}"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso_url}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"""


def _microsoft(doc_id: str, entity: str, url: str, certs: list[Cert], *, ws_federation: bool) -> str:
    """Entra ID and AD FS publish the same SAML role; AD FS puts a WS-Federation ``RoleDescriptor``
    (whose keys SAML ignores) before it."""
    keys = "".join(_key_descriptor(c) for c in certs)
    role = (
        '  <RoleDescriptor xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706">\n'
        f"{keys}  </RoleDescriptor>\n"
        if ws_federation
        else ""
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<EntityDescriptor ID="{doc_id}" entityID="{entity}" xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">
{role}  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
{keys}    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{url}"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{url}"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{url}"/>
  </md:IDPSSODescriptor>
</EntityDescriptor>
"""


def entra(tenant: str, certs: list[Cert]) -> str:
    entity = f"https://sts.windows.net/{tenant}/"
    url = f"https://login.microsoftonline.com/{tenant}/saml2"
    return _microsoft("_8f2d6c1a-3b4e-4f5a-9c8d-7e6f5a4b3c2d", entity, url, certs, ws_federation=False)


def google(idpid: str, cert: Cert) -> str:
    entity = f"https://accounts.google.com/o/saml2?idpid={idpid}"
    url = f"https://accounts.google.com/o/saml2/idp?idpid={idpid}"
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}" validUntil="2031-01-13T09:20:11.000Z">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
{_key_descriptor(cert)}    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{url}"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{url}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"""


def adfs(entity: str, sso_url: str, certs: list[Cert]) -> str:
    return _microsoft("_0b3f5e1c-7a2d-4c9e-8f61-2d4a6b8c0e13", entity, sso_url, certs, ws_federation=True)


def keycloak(entity: str, sso_url: str, certs: list[Cert]) -> str:
    """A Keycloak realm's IdP descriptor (``/realms/<realm>/protocol/saml/descriptor``): one
    endpoint for every binding, each key named by its id (``ds:KeyName``), four NameID formats."""
    keys = "".join(_key_descriptor(c, key_name=c.kid) for c in certs)
    bindings = ("HTTP-POST", "HTTP-Redirect", "HTTP-Artifact")
    slo = "".join(
        f'    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:{b}" Location="{sso_url}"/>\n'
        for b in bindings
    )
    sso = "".join(
        f'    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:{b}" Location="{sso_url}"/>\n'
        for b in (*bindings[:2], "SOAP", bindings[2])
    )
    formats = "".join(
        f"    <md:NameIDFormat>urn:oasis:names:tc:SAML:{f}</md:NameIDFormat>\n"
        for f in ("2.0:nameid-format:persistent", "2.0:nameid-format:transient",
                  "1.1:nameid-format:unspecified", "1.1:nameid-format:emailAddress")
    )  # fmt: skip
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
{keys}    <md:ArtifactResolutionService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="{sso_url}/resolve" index="0"/>
{slo}{formats}{sso}  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"""


def shibboleth(entity: str, sso_url: str, tenant: str, certs: list[Cert]) -> str:
    """A Shibboleth IdP's ``idp-metadata.xml``: the default namespace, its scope extension, the
    Shibboleth 1.x and SAML 2 profile endpoints under ``/idp/profile/``, transient and persistent NameIDs."""
    keys = "".join(_key_descriptor(c).replace("md:", "") for c in certs)
    base = sso_url.rsplit("/profile/", 1)[0]
    scope = tenant.split(".", 1)[-1]
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:shibmd="urn:mace:shibboleth:metadata:1.0" entityID="{entity}">
  <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol urn:oasis:names:tc:SAML:1.1:protocol urn:mace:shibboleth:1.0">
    <Extensions>
      <shibmd:Scope regexp="false">{scope}</shibmd:Scope>
    </Extensions>
{keys}    <ArtifactResolutionService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="{base}/profile/SAML2/SOAP/ArtifactResolution" index="2"/>
    <SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{base}/profile/SAML2/Redirect/SLO"/>
    <NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</NameIDFormat>
    <NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</NameIDFormat>
    <SingleSignOnService Binding="urn:mace:shibboleth:1.0:profiles:AuthnRequest" Location="{base}/profile/Shibboleth/SSO"/>
    <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{base}/profile/SAML2/POST/SSO"/>
    <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso_url}"/>
  </IDPSSODescriptor>
</EntityDescriptor>
"""


def pingfederate(entity: str, sso_url: str, certs: list[Cert]) -> str:
    """A self-hosted PingFederate's IdP metadata (``/pf/federation_metadata.ping``): POST and Redirect
    on ``/idp/SSO.saml2``, logout on ``/idp/SLO.saml2``, the NameID format left unspecified."""
    keys = "".join(_key_descriptor(c) for c in certs)
    slo = sso_url.replace("/idp/SSO.saml2", "/idp/SLO.saml2")
    bindings = "".join(
        f'    <md:{kind} Binding="urn:oasis:names:tc:SAML:2.0:bindings:{b}" Location="{url}"/>\n'
        for kind, url in (("SingleLogoutService", slo), ("SingleSignOnService", sso_url))
        for b in ("HTTP-POST", "HTTP-Redirect")
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor ID="_{hashlib.sha1(entity.encode()).hexdigest()[:24]}" cacheDuration="PT1440M" entityID="{entity}" xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="false">
{keys}    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
{bindings}  </md:IDPSSODescriptor>
  <md:ContactPerson contactType="administrative"/>
</md:EntityDescriptor>
"""


def generic(entity: str, sso_url: str, certs: list[Cert], slo_url: str = "") -> str:
    """OneLogin, Auth0, JumpCloud, PingOne and Duo SSO publish plain SAML 2.0 metadata of this shape."""
    keys = "".join(_key_descriptor(c) for c in certs)
    slo = (
        f'    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{slo_url}"/>\n'
        if slo_url
        else ""
    )
    return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
{keys}{slo}    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso_url}"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{sso_url}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"""


def metadata(vendor: str, entity: str, sso_url: str, tenant: str, certs: list[Cert]) -> str:
    """The metadata document ``vendor`` serves for these signing certificates."""
    if vendor == "okta":
        return okta(entity, sso_url, certs[0])
    if vendor == "entra":
        return entra(tenant, certs)
    if vendor == "google":
        return google(tenant, certs[0])
    if vendor == "adfs":
        return adfs(entity, sso_url, certs)
    if vendor == "keycloak":
        return keycloak(entity, sso_url, certs)
    if vendor == "shibboleth":
        return shibboleth(entity, sso_url, tenant, certs)
    if vendor == "pingfederate":
        return pingfederate(entity, sso_url, certs)
    return generic(
        entity, sso_url, certs, slo_url=sso_url.replace("/sso/", "/slo/") if vendor == "onelogin" else ""
    )
