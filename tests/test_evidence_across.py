"""How evidence is weighed (session 10), on invented companies: one source checked against another.

An endpoint slow for every account that calls it is the platform's, though nobody's overall latency moved;
a little-used endpoint that crawls is listed beside the busiest; refusals that began the minute the
subscription ended are its enforcement; an incident confirmed by its tracker record is no more "the data
alone" than the record was; requests an endpoint took until minutes after a deploy changed it, and refuses
since, are the deploy's stricter validation. No bundled world's names.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from llm_fixtures import SCHEMA
from test_differential import (
    best,
    billing,
    cited,
    compare,
    deploys,
    elsewhere,
    incident_evidence,
    latency_evidence,
    row,
    state,
    summary,
    top,
    webhook_evidence,
)
from test_logs import _request, call, columns

from casefile.agent.catalog import Catalog, Component
from casefile.agent.differential import Evidence, assess
from casefile.agent.differential.evidence import _endpoint_call, slowed_endpoint
from casefile.tools.base import CallContext
from casefile.tools.billing_results import BillingAccount
from casefile.tools.logs import ClickHouseConnector
from casefile.tools.logs_results import Latency
from casefile.tools.settings import LogsSettings
from casefile.tools.world.chdb import load_tables

# NOW is 2027-03-04T15:00Z (test_differential.state).

_MINE = {
    "scope": "account",
    "p95_ms": 130.0,
    "baseline": {"p95_ms": 120.0},
    "by_endpoint": [
        {"path": "/v1/lockers/{id}/pings", "requests": 9000, "p95_ms": 40.0, "baseline_p95_ms": 38.0},
        {"path": "/v1/lockers", "requests": 1200, "p95_ms": 90.0, "baseline_p95_ms": 95.0},
        {"path": "/partner/v3/parcels", "requests": 140, "p95_ms": 7800.0, "baseline_p95_ms": 520.0},
    ],
}
# Nobody's overall p95 moved: the endpoint is a sliver of every account's traffic.
_EVERYONE = {"scope": "all", "accounts_compared": 6, "p95_ratios": [1.2, 1.1, 1.05, 1.0, 0.98, 0.9]}


def _on_the_endpoint(ratios: list[float]) -> Any:
    """logs_latency over every account on the account's slowed endpoint (``ratios``: each account's p95
    there against its own baseline, unnamed)."""
    return cited(
        Latency,
        {
            "scope": "all",
            "by_endpoint": [{"path": "/partner/v3/parcels", "requests": 900, "p95_ms": 7400.0}],
            "accounts_compared": len(ratios),
            "p95_ratios": ratios,
        },
        "c12",
        "logs_latency",
    )


def test_an_endpoint_slow_for_every_account_that_calls_it_is_the_platform() -> None:
    ticket = state("Our partner says the parcel lookups take 20 seconds since this morning. Is it only us?")
    assert slowed_endpoint(Latency.model_validate(_MINE)) is not None
    ev = latency_evidence(_MINE, _EVERYONE, latency_endpoint=_on_the_endpoint([15.0, 12.1, 9.8, 7.7, 1.1]))
    h = best(assess(ticket, ev))
    assert h.category == "performance_platform", h
    assert "/partner/v3/parcels" in h.statement and h.action == "escalate"
    assert any(c.call_id == "c12" and c.value == "15.0" for c in h.evidence)
    # Only this account is slow there (the others' few requests a little slower, as a quiet endpoint's p95
    # wanders): the account's own slowness, as before.
    ev = latency_evidence(_MINE, _EVERYONE, latency_endpoint=_on_the_endpoint([15.0, 1.9, 1.8, 1.7, 0.9]))
    assert best(assess(ticket, ev)).category == "performance_account"
    # Without the comparison on the endpoint (not read), the account's own slowness too.
    assert best(assess(ticket, latency_evidence(_MINE, _EVERYONE))).category == "performance_account"


def test_the_slowed_endpoint_is_compared_across_accounts_unless_the_platform_is_already_slow() -> None:
    start, end = datetime(2027, 3, 4, 6, tzinfo=UTC), datetime(2027, 3, 4, 15, tzinfo=UTC)
    calls = _endpoint_call(latency_evidence(_MINE, _EVERYONE), start, end)
    assert calls == [
        (
            "logs_latency",
            {
                "start": "2027-03-04T06:00:00Z",
                "end": "2027-03-04T15:00:00Z",
                "path": "/partner/v3/parcels",
            },
        )
    ]
    slow_everywhere = {**_EVERYONE, "p95_ratios": [9.0, 7.5, 3.1, 1.0]}
    assert _endpoint_call(latency_evidence(_MINE, slow_everywhere), start, end) == []


def test_an_endpoint_slowed_over_too_few_requests_or_not_doubled_is_not_slowed() -> None:
    few = {
        **_MINE,
        "by_endpoint": [{"path": "/v1/x", "requests": 12, "p95_ms": 9000.0, "baseline_p95_ms": 90.0}],
    }
    assert slowed_endpoint(Latency.model_validate(few)) is None
    mild = {
        **_MINE,
        "by_endpoint": [{"path": "/v1/x", "requests": 900, "p95_ms": 170.0, "baseline_p95_ms": 90.0}],
    }
    assert slowed_endpoint(Latency.model_validate(mild)) is None


_SLOW_DB = "casefile_test_logs_slowed"
_NOW = datetime(2027, 3, 4, 15, tzinfo=UTC)
_SLOWED_FROM = datetime(2027, 3, 3, 22, tzinfo=UTC)


def _crawling_report_rows(seed: int = 5) -> list[dict[str, Any]]:
    """One account: twelve busy device endpoints, and two report endpoints called once an hour, one of
    whose answers take seconds from ``_SLOWED_FROM`` on (a fraction of a second before)."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    busy = [f"/v1/units/{{id}}/frame{n}" for n in range(12)]
    minute = _NOW - timedelta(days=8)
    while minute < _NOW:
        for path in busy[: 3 + minute.minute % 10]:
            out.append(_request(rng, minute + timedelta(seconds=rng.randrange(60)), "tamsin", path, 200, ""))
        if minute.minute == 0:
            report = _request(rng, minute + timedelta(seconds=5), "tamsin", "/v1/reports/trips", 200, "")
            report["latency_ms"] = 9000.0 if minute >= _SLOWED_FROM else 200.0
            # Another hourly report a little slower (twice): a quiet endpoint's p95 wanders that far.
            fleet = _request(rng, minute + timedelta(seconds=9), "tamsin", "/v1/reports/fleet", 200, "")
            fleet["latency_ms"] = 420.0 if minute >= _SLOWED_FROM else 200.0
            out += [report, fleet]
        minute += timedelta(minutes=1)
    return out


async def test_a_little_used_endpoint_that_crawls_is_listed_beside_the_busiest(client: Any) -> None:
    load_tables(client, _SLOW_DB, SCHEMA, {"requests": columns(_crawling_report_rows())})
    connector = ClickHouseConnector(LogsSettings(database=_SLOW_DB), client=client)
    window = {"start": "2027-03-03T00:00:00Z", "end": "2027-03-04T15:00:00Z"}
    data = await call(connector, "logs_latency", CallContext(now=_NOW), account_id="tamsin", **window)
    paths = [e["path"] for e in data["by_endpoint"]]
    assert "/v1/reports/trips" in paths[10:], paths  # after the ten busiest
    assert "/v1/reports/fleet" not in paths, paths
    assert len(paths) == len(set(paths))
    report = next(e for e in data["by_endpoint"] if e["path"] == "/v1/reports/trips")
    assert report["p95_ms"] == 9000.0 and report["baseline_p95_ms"] == 200.0
    assert slowed_endpoint(Latency.model_validate(data)) is not None


def _canceled_at(when: str) -> Any:
    """A subscription canceled at ``when``."""
    data = billing("canceled", False).data.model_dump()
    data["subscriptions"][0]["canceled_at"] = when
    data["standing_reasons"] = [f"subscription sub_9 is canceled since {when}"]
    return cited(BillingAccount, data, "c3", "billing_account")


def _refused_since(first: str, when: str) -> Evidence:
    """Every locker's reconnection refused with 403 ``AgreementLapsed`` since ``first``; the subscription
    canceled at ``when``."""
    errors = top([row(403, "AgreementLapsed", 260, path="/v1/lockers/{id}/session", first=first)])
    return Evidence(summary=summary(260, status=403, base_rate=0.0), top=errors, billing=_canceled_at(when))


@pytest.mark.parametrize(
    "body",
    [
        "Every one of our lockers is disconnected since the morning. What is going on?",
        # A language we do not read: the data alone speaks, and the two sources agree to the minute.
        "Kaikki kaappimme ovat irti aamusta asti. Mitä tapahtuu?",
    ],
)
def test_refusals_that_began_the_minute_the_subscription_ended_are_its_enforcement(body: str) -> None:
    diff = assess(state(body), _refused_since("2027-03-04T00:00:21.000Z", "2027-03-04T00:00:00Z"))
    h = best(diff)
    assert h.category == "billing_canceled" and h.confidence >= 0.8 and h.action == "resolve", diff.render()
    rival = next(x for x in diff.hypotheses if x.category == "customer_error")
    assert rival.confidence <= h.confidence - 0.2, diff.render()


def test_refusals_that_began_long_after_the_cancellation_are_not_timed_by_it() -> None:
    diff = assess(
        state("Kaikki kaappimme ovat irti aamusta asti. Mitä tapahtuu?"),
        _refused_since("2027-03-04T06:40:00.000Z", "2027-03-02T00:00:00Z"),
    )
    canceled = next(h for h in diff.hypotheses if h.category == "billing_canceled")
    assert "the refusals began when the subscription ended" not in canceled.reasons
    # not kept whole as two sources agreeing to the minute are (>= 0.8): the data alone, in the account's
    # own hands (test_reading_unread.py)
    assert canceled.confidence <= 0.75, diff.render()


def _incident_with_its_record() -> Evidence:
    """Every account's 500 ``fault`` on one route since 13:00, going on; the tracker's incident issue,
    filed at 13:10, names the route."""
    mine = row(500, "fault", 23, path="/v1/lockers/{id}/unlock", first="2027-03-04T13:00:00.000Z")
    shared = elsewhere(500, "fault", 9, 900) | {
        "first_at": "2027-03-04T12:59:00.000Z",
        "last_at": "2027-03-04T14:58:00.000Z",
    }
    return incident_evidence(
        mine, shared, 23, 500, ("OPS-88", "Unlock failing with fault for a share of lockers (keyring)")
    )


def test_an_incident_confirmed_by_its_record_keeps_its_confidence_in_a_ticket_we_do_not_read() -> None:
    diff = assess(state("Asiakkaat eivät saa kaappeja auki. Mitä tapahtuu?"), _incident_with_its_record())
    h = best(diff)
    # At 0.7 or more routing trusts the diagnosis' own team (the incident's on-call, not the route's owner).
    assert h.category == "platform_incident" and h.confidence >= 0.7, diff.render()
    assert "OPS-88" in h.statement
    bug = next(x for x in diff.hypotheses if x.category == "known_bug")
    assert bug.confidence <= h.confidence - 0.15


_LOCKERS = Catalog(
    components=[
        Component(id="locker-api", kind="api", repos=["lockerly/gate"], paths=["/v1/"], team="gate-eng")
    ]
)


def _refused_after_deploy(deployed: str, before_rate: float) -> Evidence:
    """400 ``TypeMismatch`` on the account's locker events from 09:11, 55 % of them since; the endpoint
    refused ``before_rate`` of them before; a deploy that changed the events' validation at ``deployed``."""
    sha = "f" * 40
    errors = top(
        [row(400, "TypeMismatch", 300, path="/v1/lockers/{id}/events", first="2027-03-04T09:11:05.000Z")]
    )
    endpoint = {
        "path": "/v1/lockers/{id}/events",
        "requests": 545,
        "errors": 300,
        "error_rate": 0.55,
        "baseline_error_rate": before_rate,
    }
    return Evidence(
        summary=summary(300, status=400, base_rate=0.001, top_endpoints=[endpoint]),
        top=errors,
        billing=billing(),
        deploys=deploys(
            ("lockerly/gate", sha, deployed), ("lockerly/gate", "c" * 40, "2027-03-01T10:00:00Z")
        ),
        compares={sha: compare("lockerly/gate", sha, ["gate/events/validate.go"])},
    )


_EVENTS = "Our locker events are refused with 400 TypeMismatch since this morning. We changed nothing."


def test_requests_refused_from_minutes_after_a_deploy_that_changed_their_endpoint_are_its_regression() -> (
    None
):
    diff = assess(state(_EVENTS, catalog=_LOCKERS), _refused_after_deploy("2027-03-04T09:10:00Z", 0.004))
    h = best(diff)
    assert h.category == "deploy_regression" and h.team == "gate-eng", diff.render()
    assert any("refuses 55% since" in r for r in h.reasons)
    theirs = next(x for x in diff.hypotheses if x.category == "customer_error")
    assert theirs.confidence <= 0.5


@pytest.mark.parametrize(
    ("deployed", "before_rate"),
    [
        ("2027-03-04T08:40:00Z", 0.004),  # half an hour before: the customer's change may be what began
        ("2027-03-04T09:10:00Z", 0.3),  # the endpoint refused their requests before the deploy too
    ],
)
def test_refusals_not_timed_by_the_deploy_or_refused_before_stay_the_customers(
    deployed: str, before_rate: float
) -> None:
    diff = assess(state(_EVENTS, catalog=_LOCKERS), _refused_after_deploy(deployed, before_rate))
    assert best(diff).category == "customer_error", diff.render()


def _our_delivery_outage() -> Evidence:
    """No failing requests, billing in good standing; the account's deliveries failed 06:00-08:00 while
    40 % of every account's failed in those hours (an outage of ours)."""
    hours = [
        {"hour": f"2027-03-04T{h:02d}:00:00.000Z", "attempts": 50, "failures": 45 if h in (6, 7) else 0}
        for h in range(0, 15)
    ]
    whole = {
        "attempts": 750,
        "failures": 90,
        "failure_rate": 0.12,
        "failing_since": "2027-03-04T06:00:00Z",
        "endpoint_urls": ["https://pms.harbourlights.example/hooks"],
        "history": hours,
        "platform": {"attempts": 90000, "failures": 3000, "failure_rate": 0.033},
    }
    interval = {
        **whole,
        "failure_rate": 0.9,
        "platform": {"attempts": 5000, "failures": 2000, "failure_rate": 0.4},
    }
    return webhook_evidence(whole, interval)


# "post the charges to the guests' bills", "left without paying": billing words, not a billing trouble.
_UNPAID_GUESTS = (
    "Between 6 and 8 this morning none of the locker rentals reached our front-desk system, so we could "
    "not post the locker charges to the guests' bills; two guests left without paying. Fine since."
)


def test_an_outage_of_our_deliveries_is_not_set_aside_for_an_area_its_own_check_found_sound() -> None:
    ticket = state(_UNPAID_GUESTS)
    assert "billing" in ticket.signals.areas and "webhook" not in ticket.signals.areas
    diff = assess(ticket, _our_delivery_outage())
    assert best(diff).category == "webhook_platform", diff.render()
    # Billing not in good standing: the ticket may well be about it, and the deliveries stay aside.
    ev = _our_delivery_outage()
    ev.billing = billing("past_due", False)
    diff = assess(ticket, ev)
    hooks = next(h for h in diff.hypotheses if h.category == "webhook_platform")
    assert hooks.confidence <= 0.35 and best(diff).category != "webhook_platform", diff.render()


def _new_code_at(other_first: str, other_before: int = 0) -> Evidence:
    """409 ``ReceiptIdClash`` on the account's receipts since 22:30 the day before (never before); one
    other account got the same code 230 times since ``other_first`` (``other_before`` in the week before)."""
    mine = row(409, "ReceiptIdClash", 208, path="/v1/receipts", first="2027-03-03T22:30:00.000Z")
    twin = elsewhere(409, "ReceiptIdClash", 1, 230) | {"first_at": other_first, "before": other_before}
    errors = top([mine], others=[twin])
    errors.data.baseline_requests, errors.data.others_requests = 20000, 90000
    return Evidence(summary=summary(208, status=409, base_rate=0.0), top=errors, billing=billing())


_RECEIPTS = "Since yesterday some of our receipts are refused with 409 ReceiptIdClash. Can you check?"


def test_a_new_refusal_another_account_began_getting_the_same_day_is_less_clearly_the_customers() -> None:
    h = best(assess(state(_RECEIPTS), _new_code_at("2027-03-03T03:00:00.000Z")))
    assert h.category == "customer_error" and h.confidence < 0.7, h  # below routing's resolve threshold
    assert any("began getting the same new 409 ReceiptIdClash" in r for r in h.reasons)
    assert "only this account" not in h.statement


@pytest.mark.parametrize(
    ("other_first", "other_before"),
    [
        ("2027-02-27T03:00:00.000Z", 0),  # the other account's began days earlier: its own story
        ("2027-03-03T03:00:00.000Z", 40),  # the other account always gets it: its usual mistake
    ],
)
def test_a_refusal_another_account_did_not_begin_the_same_day_stays_the_customers(
    other_first: str, other_before: int
) -> None:
    h = best(assess(state(_RECEIPTS), _new_code_at(other_first, other_before)))
    assert h.category == "customer_error" and h.confidence >= 0.75, h
