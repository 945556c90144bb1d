"""How the differential weighs evidence against time and against other accounts, on invented companies.

A senior engineer links the incident already filed for the failures' time, and does not answer a
complaint about now with an incident that was over the day before. No bundled world's names.
"""

from __future__ import annotations

from test_differential import best, billing, elsewhere, issue, row, state, summary, top

from casefile.agent.differential import Evidence, assess
from casefile.agent.differential.incidents import covering_incident

# The invented company's API went down from 06:10 to 06:40 on 2027-03-04 (NOW is 15:00 that day).
OUTAGE = ("2027-03-04T06:10:00.000Z", "2027-03-04T06:38:00.000Z")


def _outage(first: str = OUTAGE[0], last: str = OUTAGE[1], **more: object) -> Evidence:
    return Evidence(
        summary=summary(40, status=503, base_rate=0.0),
        top=top(
            [row(503, "backend_unavailable", 40, first=first, last=last)],
            others=[elsewhere(503, "backend_unavailable", 6, 900)],
        ),
        billing=billing(),
        **more,  # type: ignore[arg-type]
    )


def _incident(
    identifier: str, title: str, created: str, labels: list[str] | None = None
) -> tuple[object, str]:
    return issue(identifier, title, "Done", created_at=created, labels=labels or []), "c8"


def test_an_incident_of_ours_cites_the_tracker_issue_filed_for_its_time() -> None:
    ev = _outage()
    ev.bugs = [
        _incident("OPS-7", "Checkout slow for EU merchants", "2027-03-04T06:20:00Z"),  # not an incident
        _incident(
            "OPS-9", "API unavailable 2027-03-02 10:00-10:20 UTC", "2027-03-02T10:30:00Z", ["Incident"]
        ),
        _incident("OPS-12", "Database failover", "2027-03-04T06:50:00Z", ["incident", "api"]),
    ]
    h = best(assess(state("This morning our nightly import got 503 errors. Are you still down?"), ev))
    assert h.category == "platform_incident"
    linked = [c for c in h.evidence if c.value == "OPS-12"]
    assert linked and linked[0].call_id == "c8" and linked[0].tool == "bugs_search"
    assert "OPS-12" in h.statement and "OPS-12" in h.reply
    # Another day's incident (its stated date), or one filed days later, is not this one.
    ev.bugs = [
        _incident(
            "OPS-9", "API unavailable 2027-03-02 10:00-10:20 UTC", "2027-03-04T07:00:00Z", ["Incident"]
        ),
        _incident("OPS-13", "API outage", "2027-03-07T09:00:00Z", ["Incident"]),
    ]
    h = best(assess(state("This morning our nightly import got 503 errors. Are you still down?"), ev))
    assert h.category == "platform_incident"
    assert not any(c.tool == "bugs_search" for c in h.evidence)


def test_an_incident_is_found_by_the_failures_own_times_not_by_its_words() -> None:
    from datetime import UTC, datetime

    ev = Evidence(bugs=[_incident("OPS-12", "Outage of the booking API", "2027-03-04T06:50:00Z")])  # type: ignore[list-item]
    start, end = datetime(2027, 3, 4, 6, 10, tzinfo=UTC), datetime(2027, 3, 4, 6, 38, tzinfo=UTC)
    assert covering_incident(ev, start, end) is not None
    # Filed two hours before the first failure: about something else.
    assert (
        covering_incident(ev, datetime(2027, 3, 4, 9, 0, tzinfo=UTC), datetime(2027, 3, 4, 9, 30, tzinfo=UTC))
        is None
    )
    assert covering_incident(ev, None, None) is None


def test_an_incident_that_ended_the_day_before_does_not_answer_a_complaint_about_now() -> None:
    # The outage ended 30 hours before a present-tense ticket that names no time.
    ev = _outage(first="2027-03-03T08:10:00.000Z", last="2027-03-03T08:40:00.000Z")
    ev.top = top(
        [
            row(
                503,
                "backend_unavailable",
                40,
                first="2027-03-03T08:10:00.000Z",
                last="2027-03-03T08:40:00.000Z",
            ),
            row(
                404, "record_not_found", 6, first="2027-03-03T20:00:00.000Z", last="2027-03-04T12:00:00.000Z"
            ),
        ],
        others=[elsewhere(503, "backend_unavailable", 6, 900)],
    )
    ev.top.data.top[1].before = 40  # the account's usual 404s
    ev.top.data.baseline_requests = 28000
    diff = assess(state("URGENT!!! 500 errors on everything, nothing works. Call your on-call NOW!"), ev)
    h = best(diff)
    assert h.category == "no_issue_found", diff.render()
    assert any("ended at 2027-03-03T08:40:00.000Z" in o for o in diff.observations)
    # The same outage told as the ticket's time ("yesterday morning") is the answer.
    h = best(assess(state("Yesterday morning every call failed with 503 for half an hour. Is it over?"), ev))
    assert h.category == "platform_incident"


def _booking(mine: int, theirs: int, theirs_before: int, *, reported: str = "") -> Evidence:
    """This account's ``mine`` 409 slot conflicts in 2 000 requests; ``theirs`` at five other accounts in
    8 000, ``theirs_before`` in their 30 000 requests of the week before."""
    rows = [row(409, "slot_taken", mine, path="/book")]
    return Evidence(
        summary=summary(mine, requests=2000, status=409, base_rate=0.0),
        top=top(rows, others=[elsewhere(409, "slot_taken", 5, theirs) | {"before": theirs_before}]),
        billing=billing(),
    )


def _with_volume(ev: Evidence, mine: int = 2000) -> Evidence:
    assert ev.top is not None
    ev.top.data.requests = mine
    ev.top.data.others_requests = 8000
    ev.top.data.others_baseline_requests = 30000
    return ev


def test_a_code_every_account_gets_at_the_same_rate_as_always_is_noise_not_the_customers_error() -> None:
    from casefile.agent.differential.background import background

    # 0.6 % here, 0.6 % at the others, 0.6 % at the others the week before: a booking API's conflicts.
    ev = _with_volume(_booking(12, 48, 180))
    assert ev.top is not None
    assert background(ev.top.data, ev.top.data.top).reading == "usual"
    diff = assess(state("URGENT!!! Everything is broken, we get 500 errors, call your engineer now!"), ev)
    h = best(diff)
    assert h.category == "no_issue_found", diff.render()
    assert "the usual noise" in h.statement
    # Five times the others' rate is this account's own.
    ev = _with_volume(_booking(60, 48, 180))
    assert ev.top is not None
    assert background(ev.top.data, ev.top.data.top).reading == "own"
    assert best(assess(state("Since this morning bookings fail with 409"), ev)).category == "customer_error"


def test_a_code_every_account_began_getting_at_once_is_ours_whatever_its_status() -> None:
    from casefile.agent.differential.background import background

    # The others get it now at this account's rate, but almost never did before: a change on our side.
    ev = _with_volume(_booking(40, 160, 6))
    assert ev.top is not None
    assert background(ev.top.data, ev.top.data.top).reading == "platform"
    diff = assess(state("Since this morning bookings fail with 409"), ev)
    assert diff.scope == "many accounts"
    assert best(diff).category != "customer_error", diff.render()
    # Without the others' volume nothing is concluded from them.
    ev.top.data.others_requests = 0
    assert background(ev.top.data, ev.top.data.top).reading == "unknown"
