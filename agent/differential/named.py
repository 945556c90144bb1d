"""Causes the ticket itself names, in any language.

A ticket we read only in part still writes names as every language does (``signals.names``): the
IdP's vendor ("Microsoft"), the customer's own system ("LMS"), a device. When a hypothesis' statement
or the values it cites carry such a name (the IdP "Microsoft Entra ID", a failing endpoint on
``lms.example.gr``), the customer pointed at that cause: it is not the data alone speaking, and it
keeps the confidence its evidence gives (``topic.evidence_first``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from casefile.agent.differential.evidence import Evidence
from casefile.agent.differential.model import Hypothesis
from casefile.agent.differential.queries import ticket_names
from casefile.agent.signals.names import name_words
from casefile.tools.sso_analysis import VENDOR_NAMES

if TYPE_CHECKING:
    from casefile.agent.models.base import LoopState

__all__ = ["named_causes", "shared_names"]


def shared_names(state: LoopState, hypothesis: Hypothesis, evidence: Evidence) -> list[str]:
    """The ticket's names that ``hypothesis`` states or cites; a cause about signing in is also about
    the account's IdP, which customers call by its vendor ("our Microsoft accounts")."""
    about = [hypothesis.statement, *(c.value for c in hypothesis.evidence)]
    idp = evidence.sso.data if evidence.sso is not None else None
    if hypothesis.category.startswith("sso_") and idp is not None:
        vendor = idp.vendor or ""
        about += [VENDOR_NAMES.get(vendor, vendor), idp.entity_id or "", idp.metadata_url or ""]
    said = name_words(" ".join(about))
    return [n.word for n in ticket_names(state) if n.word in said]


def named_causes(state: LoopState, evidence: Evidence, hypotheses: Sequence[Hypothesis]) -> list[Hypothesis]:
    """The ``hypotheses`` the ticket names (each gains a reason saying which names)."""
    named = []
    for h in hypotheses:
        if h.category in ("no_issue_found", "insufficient_evidence"):
            continue  # "nothing is wrong" names nothing
        shared = shared_names(state, h, evidence)
        if shared:
            h.reasons.append(f"the ticket names it: {', '.join(shared)}")
            named.append(h)
    return named
