"""How evidence is weighed (session 11), on invented companies: a refusal carried inside an HTTP 200.

Protocols that answer every message 200 and say no inside it (an ``<Errors>`` element, an MDN's
disposition, a CALLRESULT) put their code in the log behind the protocol's name (``frx:5409``); the help
center names it alone, in a reference list beside its neighbours. Read as what it is: a limit of the plan,
the cancellation's enforcement, a deploy's regression, an incident of ours; not the customer's payloads by
default. No bundled world's names.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_differential import (
    best,
    billing,
    cited,
    compare,
    deploys,
    elsewhere,
    incident_evidence,
    issue,
    latency_evidence,
    row,
    state,
    summary,
    top,
)

from casefile.agent.catalog import Catalog, Component
from casefile.agent.differential import Evidence, assess
from casefile.agent.differential.arbiter import weigh
from casefile.agent.differential.codes import meaning
from casefile.agent.differential.model import Differential, Hypothesis
from casefile.agent.differential.queries import ticket_names
from casefile.agent.differential.semantics import classify
from casefile.agent.signals import code_key, code_name
from casefile.tools.billing_results import BillingAccount
from casefile.tools.docs import DocsSearchResult

# NOW is 2027-03-04T15:00Z (test_differential.state). Ferrowick, an invented freight exchange: carriers send
# booking messages to /fx/v4/BookingNotif, answered HTTP 200 with a <Fault code="…"> logged ``frx:<code>``.
_BOOKINGS = "/fx/v4/BookingNotif"
_REFERENCE = {
    "id": 71,
    "title": "Fault codes in Ferrowick's answers",
    "url": "https://help.ferrowick.example/hc/articles/71",
    "snippet": "Ferrowick's own codes: 5402 payment overdue, 5409 berth limit reached, 5429 rate limit exceeded, "
    "85 berth already released, 5448 system error (retry).",
    "labels": [],
}


def _docs(code: str, *articles: dict[str, Any]) -> Any:
    return cited(
        DocsSearchResult,
        {"query": code, "count": len(articles), "articles": list(articles)},
        "c14",
        "docs_search",
    )


def _refused_inside_200(code: str, count: int = 380, before: int = 0, **more: Any) -> Evidence:
    """``count`` booking messages answered 200 ``frx:<code>`` since 09:12 (``before`` in the week before), in
    good standing; the help center's answer to the search for the code is the reference list."""
    refused = row(200, f"frx:{code}", count, path=_BOOKINGS) | {"before": before}
    errors = top([refused])
    errors.data.baseline_requests = 20000
    return Evidence(
        summary=summary(count, status=200, base_rate=0.0),
        top=errors,
        billing=billing(),
        code_docs={code: _docs(code, _REFERENCE)},
        **more,
    )


def test_a_protocols_code_is_named_without_its_scheme() -> None:
    assert code_name("frx:5409") == "5409" and code_key("FRX:5409") == code_key("5409")
    assert code_name("soap:Server") == "Server"
    # URNs, URLs and fingerprints are no scheme and a code
    assert code_name("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent") == (
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    )
    assert code_name("https://api.ferrowick.example/problems/berth-taken") == "berth-taken"
    assert code_name("DF:3E:06:DC:90") == "DF:3E:06:DC:90"


def test_a_code_in_a_reference_list_of_numbers_is_read_by_its_own_clause() -> None:
    found = DocsSearchResult.model_validate({"query": "5409", "count": 1, "articles": [_REFERENCE]})
    said = meaning("5409", 200, found)
    assert said is not None and said.cls == "plan_limit", said  # not its neighbour's "payment overdue"
    assert said.said == "5409 berth limit reached"
    rate = meaning("5429", 200, found)
    assert rate is not None and rate.cls == "rate_limit"
    # A number of another length is a neighbour too: "85 berth already released" is not "system error".
    assert meaning("85", 200, found) is None


_ON_HOLD = {
    "id": 72,
    "title": "Invoices and holds",
    "url": "https://help.ferrowick.example/hc/articles/72",
    "snippet": "An invoice unpaid for 10 days puts the account on hold: the REST API answers 409 with code 5402 "
    "until it is paid.",
    "labels": ["billing_past_due"],
}
_LIST = {
    "id": 73,
    "title": "Message faults",
    "url": "https://help.ferrowick.example/hc/articles/73",
    "snippet": "409 invalid berth code (the berth is not mapped), 412 invalid vessel code.",
    "labels": [],
}


def test_a_number_the_help_center_writes_as_an_http_status_is_not_the_protocols_code() -> None:
    found = DocsSearchResult.model_validate({"query": "409", "count": 2, "articles": [_ON_HOLD, _LIST]})
    # ``frx:409`` inside a 200: the hold article's "answers 409" is another interface's status.
    said = meaning("409", 200, found)
    assert said is not None and said.cls == "validation" and said.article.title == "Message faults", said
    # A row whose status is that number: the article does speak of it.
    held = meaning("409", 409, found)
    assert held is not None and held.cls == "billing"


def test_a_limit_refused_inside_a_200_is_the_plan_limit_not_the_customers_payloads() -> None:
    diff = assess(
        state(
            "Since 9am every booking for our new terminal fails: the API answers HTTP 200, but nothing is booked."
        ),
        _refused_inside_200("5409"),
    )
    h = best(diff)
    assert h.category == "billing_plan_limit" and h.action == "resolve", diff.render()
    assert {"frx:5409", "Fault codes in Ferrowick's answers"} <= {c.value for c in h.evidence}
    assert not any(x.category == "customer_error" for x in diff.hypotheses), diff.render()


def test_a_rate_refused_inside_a_200_is_rate_limiting() -> None:
    diff = assess(
        state("Since 9am a lot of our bookings fail: the API answers HTTP 200, but they are not booked."),
        _refused_inside_200("5429"),
    )
    assert best(diff).category == "rate_limit", diff.render()


def test_a_system_error_is_ours_whatever_status_carries_it() -> None:
    assert classify(200, None, "5448 system error (retry)") == "server"
    assert classify(None, "SYSTEM_FAILURE") == "server"


def _canceled_at(when: str) -> Any:
    data = billing("canceled", False).data.model_dump()
    data["subscriptions"][0]["canceled_at"] = when
    data["standing_reasons"] = [f"subscription sub_9 is canceled since {when}"]
    return cited(BillingAccount, data, "c3", "billing_account")


@pytest.mark.parametrize(
    ("first", "status"),
    [
        ("2027-03-04T00:00:12.000Z", 200),  # a refusal inside a 200, the minute the subscription ended
        ("2027-03-04T00:00:12.000Z", 403),  # as a 4xx was already
    ],
)
def test_refusals_inside_a_200_that_began_when_the_subscription_ended_are_its_enforcement(
    first: str, status: int
) -> None:
    refused = row(status, "frx:5497", 870, path=_BOOKINGS, first=first)
    ev = Evidence(
        summary=summary(870, status=status, base_rate=0.0),
        top=top([refused]),
        billing=_canceled_at("2027-03-04T00:00:00Z"),
    )
    # A line in a language nobody reads: the data alone speaks, and two sources agree to the minute.
    diff = assess(state("Zuk guztiak itxita daude bart gauetik. Zer gertatu da?"), ev)
    h = best(diff)
    assert h.category == "billing_canceled" and h.confidence >= 0.8 and h.action == "resolve", diff.render()
    assert "the refusals began when the subscription ended" in h.reasons


def test_a_200_without_a_code_is_no_refusal_of_the_cancellation() -> None:
    refused = row(200, "frx:5497", 870, path=_BOOKINGS, first="2027-03-04T09:00:00.000Z")
    ev = Evidence(
        summary=summary(870, status=200, base_rate=0.0),
        top=top([refused]),
        billing=_canceled_at("2027-03-04T00:00:00Z"),
    )
    canceled = next(
        h
        for h in assess(state("Zuk guztiak itxita daude. Zer gertatu da?"), ev).hypotheses
        if h.category == "billing_canceled"
    )
    assert "the refusals began when the subscription ended" not in canceled.reasons


_GATEWAY = Catalog(
    components=[
        Component(
            id="exchange", kind="api", repos=["ferrowick/exchange-gw"], paths=["/fx/"], team="exchange-eng"
        ),
    ]
)


def _refused_after_gateway_deploy(before: int = 0) -> Evidence:
    """200 ``frx:unwrap-failed`` on the account's bookings from 06:01, a code it never got (``before``); the
    endpoint refused 0.5 % before and a fifth since the jump; the gateway that serves /fx/ deployed at 06:00,
    its changed files named after what they do (``smime/unwrap.go``), not after the endpoint."""
    sha = "a" * 40
    refused = row(200, "frx:unwrap-failed", 254, path=_BOOKINGS, first="2027-03-04T06:01:19.000Z") | {
        "before": before
    }
    errors = top([refused])
    errors.data.baseline_requests = 20000
    endpoint = {
        "path": _BOOKINGS,
        "requests": 1700,
        "errors": 260,
        "error_rate": 0.15,
        "baseline_error_rate": 0.005,
    }
    spike = {
        "start": "2027-03-04T06:00:00.000Z",
        "first_error_at": "2027-03-04T06:01:19.000Z",
        "status": 200,
        "before_rate": 0.002,
        "after_rate": 0.22,
    }
    return Evidence(
        summary=summary(254, status=200, base_rate=0.0, top_endpoints=[endpoint], spike=spike),
        top=errors,
        billing=billing(),
        deploys=deploys(
            ("ferrowick/exchange-gw", sha, "2027-03-04T06:00:00Z"),
            ("ferrowick/exchange-gw", "b" * 40, "2027-03-02T09:00:00Z"),
        ),
        compares={sha: compare("ferrowick/exchange-gw", sha, ["gateway/smime/unwrap.go", "go.mod"])},
    )


def test_a_new_refusal_minutes_after_a_deploy_of_what_serves_the_endpoint_is_its_regression() -> None:
    said = "Since 6am nearly every booking we send fails: the API answers HTTP 200 with a fault inside."
    diff = assess(state(said, catalog=_GATEWAY), _refused_after_gateway_deploy())
    h = best(diff)
    assert h.category == "deploy_regression" and h.team == "exchange-eng", diff.render()
    assert any("refuses 22% since" in r for r in h.reasons), h.reasons
    theirs = next(x for x in diff.hypotheses if x.category == "customer_error")
    assert theirs.confidence <= 0.5


@pytest.mark.parametrize(
    ("said", "before"),
    [
        # the customer changed something themselves: their change is what began
        ("We upgraded our booking client at 6am and since then nearly every booking fails with a fault.", 0),
        # a refusal the account got in the week before too is not the deploy's
        ("Since 6am nearly every booking we send fails: the API answers HTTP 200 with a fault inside.", 40),
    ],
)
def test_a_refusal_after_the_customers_own_change_or_seen_before_stays_theirs(said: str, before: int) -> None:
    diff = assess(state(said, catalog=_GATEWAY), _refused_after_gateway_deploy(before))
    assert best(diff).category == "customer_error", diff.render()


def _recorded_incident(first: str) -> Evidence:
    """Every account's 200 ``frx:5448`` (system error) since ``first``, going on, new everywhere; the
    tracker's incident issue filed at 13:10, whose words the ticket does not share."""
    mine = row(200, "frx:5448", 44, path=_BOOKINGS, first=first) | {"before": 0}
    shared = elsewhere(200, "frx:5448", 10, 1165) | {
        "before": 0,
        "first_at": first,
        "last_at": "2027-03-04T14:58:00.000Z",
    }
    ev = incident_evidence(
        mine, shared, 44, 200, ("OPS-91", "Fan-out queue failing over: bookings answered with system error")
    )
    ev.code_docs = {"5448": _docs("5448", _REFERENCE)}
    return ev


_UNREAD = "Zuk guztiak geldituta daude!! Premiazkoa!"


def test_an_ongoing_incident_its_record_was_filed_for_is_clear_in_a_ticket_written_while_it_happens() -> None:
    diff = assess(
        state(_UNREAD), _recorded_incident("2027-03-04T13:00:00.000Z")
    )  # two hours before the ticket
    h = best(diff)
    assert h.category == "platform_incident" and h.confidence >= 0.7, diff.render()
    assert "OPS-91" in h.statement


def test_an_incident_begun_days_before_a_ticket_we_do_not_read_is_not_clearly_its_subject() -> None:
    diff = assess(state(_UNREAD), _recorded_incident("2027-03-02T13:00:00.000Z"))
    assert best(diff).category == "insufficient_evidence", diff.render()
    incident = next(h for h in diff.hypotheses if h.category == "platform_incident")
    assert incident.confidence < 0.5


def _differential(*hypotheses: Hypothesis) -> Differential:
    return Differential(hypotheses=list(hypotheses))


def _cause(category: str, confidence: float) -> Hypothesis:
    return Hypothesis(
        category=category, confidence=confidence, statement=category, summary=category, reply=""
    )


def test_a_runbooks_bug_the_general_checks_match_to_nothing_yields_to_what_the_data_shows() -> None:
    throttled = _cause("rate_limit", 0.8)
    verdict = weigh("known_bug", 0.85, {"OPS-318"}, _differential(throttled))
    assert not verdict.use_runbook and "match no bug" in verdict.why
    # The general ranking matched a bug too (the ticket's words or its errors): the finding stands.
    matched = _cause("known_bug", 0.7)
    assert weigh("known_bug", 0.85, {"OPS-318"}, _differential(throttled, matched)).use_runbook
    # What the data shows is not sure enough to set a bug aside.
    assert weigh("known_bug", 0.85, {"OPS-318"}, _differential(_cause("rate_limit", 0.6))).use_runbook
    # "Nothing is wrong" shows no cause.
    assert weigh("known_bug", 0.85, {"OPS-318"}, _differential(_cause("no_issue_found", 0.8))).use_runbook


def _acknowledged(description: str) -> Evidence:
    """The account's X12-like acknowledgements carry ``TA3-R-7`` inside their 200s since Tuesday (never
    before), and an open bug whose title names neither the code nor the endpoint."""
    refused = row(200, "TA3-R-7", 476, path="/ack/{partner_id}", first="2027-03-02T09:00:00.000Z") | {
        "before": 0
    }
    errors = top([refused])
    errors.data.baseline_requests = 20000
    bug = issue(
        "MAP-318",
        "Pallet labels from JSON lose their leading zero when the label id is a number",
        "In Progress",
        workaround="send the label id as a string",
        description=description,
        created_at="2027-02-25T09:00:00Z",
    )
    return Evidence(
        summary=summary(476, status=200, base_rate=0.0), top=errors, billing=billing(), bugs=[(bug, "c8")]
    )


_REJECTED = (
    "Since Tuesday our partner rejects most pallet notices in its acknowledgements: TA3*R*7 on the label "
    "segment. We send every pallet label id with its leading zero. Is it our mistake or your mapping?"
)


def test_a_bug_whose_text_writes_the_accounts_code_describes_its_errors() -> None:
    said = (
        "Partners reject the notice in their acknowledgement with TA3 R 7 (element too short) for the label."
    )
    diff = assess(state(_REJECTED), _acknowledged(said))
    h = best(diff)
    assert h.category == "known_bug" and h.action == "resolve" and h.confidence >= 0.8, diff.render()
    theirs = next(x for x in diff.hypotheses if x.category == "customer_error")
    assert theirs.confidence <= h.confidence - 0.1
    # A text that does not write the code: the account's refusals are theirs, as before.
    other = assess(state(_REJECTED), _acknowledged("Partners reject the notice for the label."))
    assert best(other).category == "customer_error", other.render()


def test_the_products_own_host_in_a_pasted_url_is_not_a_name_the_ticket_shares_with_a_bug() -> None:
    ticket = state(
        "Since yesterday the Rate Calendar is blank on the front desk iPads. The console says:\n"
        "    at RateGrid — https://backoffice.quillnest.example/assets/calendar.js:2:18844\n",
        catalog=Catalog(product="Quillnest"),
    )
    words = {n.word for n in ticket_names(ticket)}
    assert "backoffice" not in words and "backoffice.quillnest.example" not in words, words
    assert {"ipads", "rategrid", "calendar.js"} <= words  # the ticket's other names stay
    bug = issue(
        "QN-512",
        "Guest names in Arabic script arrive as ???? at delivery endpoints",
        "In Progress",
        workaround="Backoffice → Connections → Encoding: UTF-8",
    )
    ev = Evidence(summary=summary(0, status=500), billing=billing(), bugs=[(bug, "c8")])
    assert not any(h.category == "known_bug" for h in assess(ticket, ev).hypotheses)


def _everyone_slower() -> Evidence:
    """No failing requests; this account's p95 at 12× its baseline and three other accounts' at 10× theirs:
    the platform is slow."""
    mine = {
        "scope": "account",
        "p95_ms": 3000.0,
        "baseline": {"p95_ms": 250.0},
        "by_endpoint": [{"path": "/fx/v4/Pull", "requests": 900, "p95_ms": 3000.0, "baseline_p95_ms": 250.0}],
    }
    everyone = {
        "scope": "all",
        "p95_ms": 2800.0,
        "accounts_compared": 5,
        "p95_ratios": [11.5, 10.9, 9.8, 1.1, 0.9],
    }
    return latency_evidence(mine, everyone)


def test_a_ticket_that_says_something_fails_is_not_answered_by_slowness_with_confidence() -> None:
    slow = best(
        assess(state("Since Monday the platform is very slow for our dispatchers."), _everyone_slower())
    )
    assert slow.category == "performance_platform" and slow.confidence >= 0.75, slow
    said = "Since Monday some of the changes our dispatchers make to bookings fail."
    h = next(
        x for x in assess(state(said), _everyone_slower()).hypotheses if x.category == "performance_platform"
    )
    assert h.confidence <= 0.6 and "the ticket says something fails, not that it is slow" in h.reasons, h
