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
    assert "ended at 2027-03-03T08:40:00.000Z" in h.statement  # said, not hidden
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


def test_an_operation_is_matched_to_the_change_by_what_it_is_about() -> None:
    from test_differential import compare
    from test_differential import deploys as deploy_list

    from casefile.agent.catalog import Catalog, Component
    from casefile.agent.differential.changes import correlate

    # A persisted operation's path names the noun in CamelCase; the change is filed under it.
    sha = "f" * 40
    catalog = Catalog(components=[Component(id="core", kind="api", repos=["acme/core"], paths=["/ops/"])])
    ev = Evidence(
        deploys=deploy_list(
            ("acme/core", sha, "2027-03-04T10:00:00Z"), ("acme/core", "0" * 40, "2027-03-01T10:00:00Z")
        ),
        compares={sha: compare("acme/core", sha, ["core/invoices/InvoiceTotals.kt", "core/util/Strings.kt"])},
    )
    from datetime import UTC, datetime

    onset = datetime(2027, 3, 4, 10, 5, tzinfo=UTC)
    change = correlate(ev, catalog, onset, "api", "/ops/ListInvoices")
    assert change.suspect is not None and change.suspect.relevance == "touched"
    # The verb says nothing of what the code is about: a change of list helpers is not that operation's.
    ev.compares = {sha: compare("acme/core", sha, ["core/util/ListHelpers.kt"])}
    change = correlate(ev, catalog, onset, "api", "/ops/ListInvoices")
    assert change.suspect is None or change.suspect.relevance != "touched"


def test_an_open_bug_that_names_the_failing_errors_beats_reading_them_as_the_customers() -> None:
    # 422s only this account gets (it alone ships to the islands); our open bug names the endpoint.
    rows = [row(422, "carrier_refused", 60, path="/v1/labels/generate")]
    ev = Evidence(
        summary=summary(60, status=422, base_rate=0.0),
        top=top(rows, others=[elsewhere(422, "carrier_refused", 0, 0)]),
        billing=billing(),
        bugs=[
            (
                issue(
                    "TRK-31",
                    "Island postcodes: labels fail without customs data",
                    "In Progress",
                    "Add one customs item to the shipment.",
                    created_at="2027-03-03T09:00:00Z",
                ),
                "c9",
            )
        ],
    )
    diff = assess(
        state("Since yesterday labels for our island customers fail. Known issue? Any workaround?"), ev
    )
    h = best(diff)
    assert h.category == "known_bug" and h.action == "resolve", diff.render()
    customer = next(x for x in diff.hypotheses if x.category == "customer_error")
    assert customer.confidence < h.confidence
    assert any("TRK-31 names these errors" in r for r in customer.reasons)


def test_what_never_showed_up_in_the_customers_own_system_is_a_delivery_question() -> None:
    from casefile.agent.signals.text import extract_areas

    assert "webhook" in extract_areas("Orders placed this morning never showed up in our ERP.")
    assert "webhook" in extract_areas("Some shipments didn't make it into our warehouse system")
    assert "webhook" in extract_areas("Bookings from 7 to 8 are missing from our calendar system")
    # Not every "never showed up" is a delivery: an e-mail to a person is not our push.
    assert "webhook" not in extract_areas("The page never showed up, just a spinner")


def test_a_code_that_grew_at_this_account_alone_is_its_own_though_others_get_a_few() -> None:
    from casefile.agent.differential.background import background

    # Everyone gets a few 422s (0.7 %, as the week before); this account's imports got 14 this morning
    # against 2 in its own week before: its own news, not "other accounts get them too".
    rows = [
        row(422, "bad_row", 14, path="/rpc/Staff.Import") | {"before": 2},
        row(422, "bad_row", 6, path="/rpc/Staff.List") | {"before": 8},
        row(400, "bad_request", 4, path="/rpc/Staff.List") | {"before": 6},
    ]
    ev = Evidence(
        summary=summary(24, requests=3000, status=422, base_rate=0.006),
        top=top(
            rows,
            others=[
                elsewhere(422, "bad_row", 5, 110) | {"before": 150},
                elsewhere(400, "bad_request", 5, 50) | {"before": 70},
            ],
        ),
        billing=billing(),
    )
    assert ev.top is not None
    ev.top.data.requests, ev.top.data.baseline_requests = 3000, 4500
    ev.top.data.others_requests, ev.top.data.others_baseline_requests = 22000, 30000
    assert background(ev.top.data, ev.top.data.top).reading == "own"
    diff = assess(state("Our staff import fails since this morning with 422"), ev)
    assert diff.scope.startswith("this account")
    h = best(diff)
    assert h.category == "customer_error" and h.confidence >= 0.75 and h.action == "resolve"
    # Without the one row that grew, it is the usual trickle.
    ev.top.data.top[0].count = 3
    assert background(ev.top.data, ev.top.data.top).reading == "usual"
