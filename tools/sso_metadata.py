"""SAML IdP metadata, parsed safely: entity, SSO endpoints, certificates, NameID formats, algorithms.

Parsed with lxml configured not to resolve entities, not to touch the network and
not to lift its size limits, and any document with a DOCTYPE is refused outright:
SAML metadata never needs one, and it is how XXE and "billion laughs" documents
arrive.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree

__all__ = [
    "CertificateInfo",
    "IdPMetadata",
    "MetadataError",
    "format_sha1",
    "parse_idp_metadata",
]

MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
ALG_NS = "urn:oasis:names:tc:SAML:metadata:algsupport"
_NS = {"md": MD_NS, "ds": DS_NS, "alg": ALG_NS}


class MetadataError(ValueError):
    """The bytes are not usable SAML IdP metadata (the message says why)."""


@dataclass(frozen=True)
class CertificateInfo:
    """One X.509 certificate from an ``md:IDPSSODescriptor/md:KeyDescriptor``."""

    use: str | None  # "signing", "encryption", or None: no use attribute, so both
    subject: str
    not_before: datetime
    not_after: datetime
    sha1: str  # colon-separated upper-case hex, as admin consoles show it
    key: str = ""  # the public key's kind and size: "RSA 2048", "EC secp256r1"

    @property
    def for_signing(self) -> bool:
        return self.use in (None, "signing")


@dataclass(frozen=True)
class IdPMetadata:
    """The parts of an IdP's metadata document that an SSO diagnosis needs."""

    root_element: str
    entity_count: int
    entity_id: str
    valid_until: str | None
    sso_urls: list[dict[str, str]]
    certificates: list[CertificateInfo] = field(default_factory=list)
    nameid_formats: list[str] = field(default_factory=list)
    # alg:SigningMethod (the SAML metadata algorithm-support profile), when the IdP declares them.
    signing_methods: list[str] = field(default_factory=list)


def _safe_parser() -> etree.XMLParser:
    # No entity expansion, no DTD loading, no network, libxml2's default size limits kept.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_pis=True,
    )


def format_sha1(der: bytes | str) -> str:
    """SHA-1 of a DER certificate (or normalise a hex fingerprint) as ``AB:CD:…``."""
    if isinstance(der, str):
        hex_digits = "".join(ch for ch in der if ch not in ": \t\n").upper()
    else:
        digest = hashes.Hash(hashes.SHA1())
        digest.update(der)
        hex_digits = digest.finalize().hex().upper()
    return ":".join(hex_digits[i : i + 2] for i in range(0, len(hex_digits), 2))


def _load_certificate(text: str, use: str | None) -> CertificateInfo:
    # Many IdPs wrap the base64 (newlines, spaces, even tabs): drop all whitespace first.
    compact = "".join(text.split())
    try:
        der = base64.b64decode(compact, validate=True)
        cert = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError) as exc:
        raise MetadataError(f"an X509Certificate is not a valid DER certificate ({exc})") from None
    return CertificateInfo(
        use=use,
        subject=cert.subject.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha1=format_sha1(der),
        key=_key_kind(cert),
    )


def _key_kind(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    return type(key).__name__


def _pick_entity(root: etree._Element, entity_id: str | None) -> tuple[etree._Element, int]:
    tag = etree.QName(root).localname
    if tag == "EntityDescriptor":
        entities = [root]
    elif tag == "EntitiesDescriptor":
        # Nested EntitiesDescriptor groups are allowed by the schema; search them all.
        entities = list(root.iter(f"{{{MD_NS}}}EntityDescriptor"))
    else:
        raise MetadataError(f"root element is {tag}, not EntityDescriptor or EntitiesDescriptor")
    idps = [e for e in entities if e.find("md:IDPSSODescriptor", _NS) is not None]
    if not idps:
        raise MetadataError("no entity in the document has an IDPSSODescriptor")
    if entity_id:
        for entity in idps:
            if entity.get("entityID") == entity_id:
                return entity, len(entities)
    return idps[0], len(entities)


def parse_idp_metadata(data: bytes, *, entity_id: str | None = None) -> IdPMetadata:
    """Parse SAML 2.0 IdP metadata safely.

    Accepts an ``EntityDescriptor`` or an ``EntitiesDescriptor`` (then the entity
    whose ``entityID`` is ``entity_id``, else the first with an
    ``IDPSSODescriptor``). Only certificates under
    ``md:IDPSSODescriptor/md:KeyDescriptor`` count; those in the document's own
    signature or in WS-Federation ``RoleDescriptor`` elements are ignored.
    Raises :class:`MetadataError` for anything unusable, DOCTYPEs included.
    """
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise MetadataError("document has a DOCTYPE/ENTITY declaration; refused (XXE / entity expansion)")
    try:
        root = etree.fromstring(data, parser=_safe_parser())
    except etree.XMLSyntaxError as exc:
        raise MetadataError(f"not well-formed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise MetadataError("document has a DOCTYPE; refused")
    entity, count = _pick_entity(root, entity_id)
    idp = entity.find("md:IDPSSODescriptor", _NS)
    assert idp is not None  # _pick_entity only returns entities that have one

    sso_urls = [
        {"binding": el.get("Binding", ""), "location": el.get("Location", "")}
        for el in idp.findall("md:SingleSignOnService", _NS)
    ]
    certificates: list[CertificateInfo] = []
    for key in idp.findall("md:KeyDescriptor", _NS):
        use = key.get("use") or None
        for cert_el in key.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _NS):
            # itertext() skips comments, which some IdPs put inside the element.
            certificates.append(_load_certificate("".join(cert_el.itertext()), use))
    methods = [
        el.get("Algorithm", "")
        for scope in (entity, idp)
        for el in scope.findall("md:Extensions/alg:SigningMethod", _NS)
        if el.get("Algorithm")
    ]
    return IdPMetadata(
        root_element=etree.QName(root).localname,
        entity_count=count,
        entity_id=entity.get("entityID", ""),
        valid_until=entity.get("validUntil") or root.get("validUntil"),
        sso_urls=sso_urls,
        certificates=certificates,
        nameid_formats=[(el.text or "").strip() for el in idp.findall("md:NameIDFormat", _NS) if el.text],
        signing_methods=methods,
    )
