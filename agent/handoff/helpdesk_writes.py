"""The hand-off's ticket writes through the helpdesk seam, with the one retry policy.

:meth:`Helpdesk.update_ticket` makes one attempt; here a 429 or 5xx (with the helpdesk's
``Retry-After``) or an unreachable helpdesk is tried again by :mod:`casefile.tools.retry`,
and any other refusal (a 403, a 422) is raised at once as not worth repeating.
"""

from __future__ import annotations

from casefile.agent.helpdesk import Helpdesk, HelpdeskError, TicketUpdate
from casefile.tools.retry import RetryPolicy, is_retryable_status, run_with_retries

__all__ = ["HELPDESK_WRITE_POLICY", "is_transient", "update_ticket"]

HELPDESK_WRITE_POLICY = RetryPolicy(attempts=3, total_wait_s=20.0, max_wait_s=10.0)


def is_transient(exc: BaseException) -> bool:
    """Unreachable (no status), rate limited or a server error: worth another try later."""
    return isinstance(exc, HelpdeskError) and (exc.status is None or is_retryable_status(exc.status))


def _retry_after(exc: BaseException) -> float | bool | None:
    if is_transient(exc):
        assert isinstance(exc, HelpdeskError)
        return exc.retry_after
    return False


async def update_ticket(
    helpdesk: Helpdesk, ticket_id: int, update: TicketUpdate, *, policy: RetryPolicy = HELPDESK_WRITE_POLICY
) -> None:
    """Apply ``update``, retrying what is transient; the last :class:`HelpdeskError` otherwise."""
    await run_with_retries(
        lambda: helpdesk.update_ticket(ticket_id, update), policy=policy, retry_after=_retry_after
    )
