"""Helpdesks casefile reads tickets from and posts internal notes to.

``HELPDESKS`` lists the implementations of :class:`Helpdesk` by name; intake tries each one's
``is_export`` on a ticket file or API body, the service talks to the configured one. A second
helpdesk is one module beside ``zendesk.py`` and one entry here (see docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping

from casefile.agent.helpdesk.base import FetchedTicket, Helpdesk, HelpdeskError, TicketUpdate, WebhookRefused
from casefile.agent.helpdesk.zendesk import ZendeskHelpdesk

__all__ = ["HELPDESKS", "FetchedTicket", "Helpdesk", "HelpdeskError", "TicketUpdate", "WebhookRefused"]

HELPDESKS: Mapping[str, type[Helpdesk]] = {ZendeskHelpdesk.name: ZendeskHelpdesk}
