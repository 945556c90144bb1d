"""What a SAML response says about the configuration it was made with, and how two of them differ.

Every login the service-provider side records carries, besides its outcome, the
configuration the IdP used for it: the certificate that signed it (``cert_sha1``),
its Issuer (``idp_entity_id``), its Destination (``acs_url``), its Audience
(``audience``), its NameID Format (``nameid_format``) and its SignatureMethod
(``sig_alg``). So each successful login is a snapshot of a working IdP
configuration, kept as long as the logs are; :func:`response_changes` says what the
latest failing response changed against the last working one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CHANGE_LABELS", "RESPONSE_FIELDS", "response_changes"]

# Optional log columns (NULL when a table lacks them), read beside user_email and cert_sha1.
RESPONSE_FIELDS = ("idp_entity_id", "acs_url", "audience", "nameid_format", "sig_alg")

CHANGE_LABELS = {
    "cert_sha1": "signing certificate",
    "idp_entity_id": "IdP entity ID (Issuer)",
    "acs_url": "ACS URL (Destination)",
    "audience": "SP entity ID (Audience)",
    "nameid_format": "NameID format",
    "sig_alg": "signing algorithm",
}


def response_changes(
    working: Mapping[str, Any] | None, failing: Mapping[str, Any] | None
) -> list[dict[str, str]]:
    """Each field the failing response carries with another value than the last working one."""
    if not working or not failing:
        return []
    changes = []
    for field, label in CHANGE_LABELS.items():
        before, after = working.get(field), failing.get(field)
        if before and after and str(before) != str(after):
            changes.append({"field": field, "what": label, "before": str(before), "after": str(after)})
    return changes
