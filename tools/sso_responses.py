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

from pydantic import Field

from casefile.tools.values import ResultView

__all__ = ["CHANGE_LABELS", "RESPONSE_FIELDS", "ResponseConfig", "response_changes"]


class ResponseConfig(ResultView):
    """The configuration a SAML response was made with; each field's title is how people name it."""

    cert_sha1: str | None = Field(default=None, title="signing certificate")
    idp_entity_id: str | None = Field(default=None, title="IdP entity ID (Issuer)")
    acs_url: str | None = Field(default=None, title="ACS URL (Destination)")
    audience: str | None = Field(default=None, title="SP entity ID (Audience)")
    nameid_format: str | None = Field(default=None, title="NameID format")
    sig_alg: str | None = Field(default=None, title="signing algorithm")


CHANGE_LABELS = {name: str(field.title) for name, field in ResponseConfig.model_fields.items()}

# Optional log columns (NULL when a table lacks them), read beside user_email and cert_sha1.
RESPONSE_FIELDS = tuple(name for name in ResponseConfig.model_fields if name != "cert_sha1")


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
