"""Helpdesks casefile reads tickets from and posts internal notes to.

Each is one module here (or a plug-in's, through the ``casefile.helpdesks`` entry point) with a
:class:`Helpdesk` subclass; ``registry.helpdesk_classes()`` finds them all. Intake tries each
one's ``is_export`` on a ticket file or API body; the service talks to the one its config names
(``[service] helpdesk``, default zendesk). See docs/architecture.md.
"""

from __future__ import annotations

from casefile.agent.helpdesk.base import FetchedTicket, Helpdesk, HelpdeskError, TicketUpdate, WebhookRefused
from casefile.agent.helpdesk.registry import helpdesk_classes, helpdesk_names, unknown_helpdesk

__all__ = ["FetchedTicket", "Helpdesk", "HelpdeskError", "TicketUpdate", "WebhookRefused"]
__all__ += ["helpdesk_classes", "helpdesk_names", "unknown_helpdesk"]
