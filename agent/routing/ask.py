"""What a ticket is asking now: the part of its thread nobody has answered yet."""

from __future__ import annotations

from casefile.agent.ticket import Ticket

__all__ = ["open_ask"]


def open_ask(ticket: Ticket) -> str:
    """The requester's public comments after the last public reply by someone else; the whole thread
    when nobody else has replied, or nobody has written since. An earlier question someone answered is settled, so a word in it
    ("under GDPR we need to …", answered, then "Unrelated: our new users are not provisioned") says
    nothing about what the open request is. A comment without an author counts as the requester's."""
    mine = {x.strip().lower() for x in (ticket.requester.name, ticket.requester.email) if x and x.strip()}
    replied = [
        i
        for i, c in enumerate(ticket.comments)
        if c.author is not None and c.author.strip().lower() not in mine
    ]
    if not replied or not mine or replied[-1] == len(ticket.comments) - 1:
        return ticket.full_text()
    return "\n\n".join(c.body for c in ticket.comments[replied[-1] + 1 :])
