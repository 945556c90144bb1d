"""The escalation packet: the context a team needs, taken from tool results, never from prose.

A packet is a list of named fields (``failing_requests``, ``webhook_retry_log``,
``sso_metadata`` …). Each field has a *collector* that reads it out of the
investigation's tool outcomes (or, for a few, out of the ticket or the account
directory) and records where every value came from: the ``call_id`` of each
tool call it was read from, or ``ticket`` / ``accounts``. A field that cannot be
collected says why ("logs unavailable: timeout", "logs_recent_requests was not
called") and the packet lists it under ``missing``.

Most fields also have a *filler*: the tool call that would collect them.
Routing runs the fillers of the fields an escalation still lacks, through the
toolbox (so the calls are audited like any other), before building the packet.

Rendering: :func:`render_markdown` (paste into Slack or Linear) and
:meth:`Packet.model_dump_json`.

Modules: ``model`` (the packet), ``sources`` (what collectors and fillers read), ``collect`` and
``ticket_fields`` (collectors), ``fill`` (fillers), ``fields`` (the fields by name), ``render``.
"""

from __future__ import annotations

from casefile.agent.packet.fields import FIELDS, build_fields, fill_calls
from casefile.agent.packet.model import Packet, PacketCall, PacketField
from casefile.agent.packet.render import render_markdown
from casefile.agent.packet.sources import Collected, FieldSpec, FillContext, Missing, Sources

__all__ = [
    "FIELDS",
    "Collected",
    "FieldSpec",
    "FillContext",
    "Missing",
    "Packet",
    "PacketCall",
    "PacketField",
    "Sources",
    "build_fields",
    "fill_calls",
    "render_markdown",
]
