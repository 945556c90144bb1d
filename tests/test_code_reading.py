"""How error codes are read, for any company's code scheme, on invented names: a prefixed code where
the text says it is an error (never a tracker's issue id), an RFC 9457 problem type by its slug,
field names never; a code the customer quotes is looked up in the help center first and, found in
the logs even once, is what the ticket reports. No bundled world's names."""

from __future__ import annotations

from typing import Any

from test_differential import best, billing, cited, row, state, summary, top

from casefile.agent.differential import Evidence, assess
from casefile.agent.differential.evidence import _opaque_codes
from casefile.agent.differential.semantics import classify
from casefile.agent.signals import code_key, code_name, extract_error_codes
from casefile.tools.docs import DocsSearchResult


def test_a_prefixed_code_is_read_where_the_text_says_it_is_an_error() -> None:
    assert extract_error_codes("cant add the new editor. error QRM-0317 ??") == ["QRM-0317"]
    assert extract_error_codes("every call answers 403 QRM-0318 since noon") == ["QRM-0318"]
    assert extract_error_codes('{"status": 409, "code": "BKX-1042"}') == ["BKX-1042"]
    # The same shape is a tracker's issue id where nothing says it is an error.
    assert extract_error_codes("Is QRM-318 fixed yet? It was promised for this week.") == []
    assert extract_error_codes("error qrm-0317") == []  # a code is written in capitals


def test_camel_case_and_numeric_body_codes_are_read_where_they_name_an_error() -> None:
    # JSON:API and GraphQL codes are camelCase: read when a part of them names an error
    assert extract_error_codes("since noon every call fails with crateTokenExpired") == ["crateTokenExpired"]
    assert extract_error_codes('{"errors": [{"code": "palletSlotsExhausted"}]}') == ["palletSlotsExhausted"]
    assert extract_error_codes("the palletId and includePath fields are empty") == []
    # numbers a body's code carries, where the text says so right before them
    assert extract_error_codes('{"errors":[{"index":0,"code":48812,"message":"rejected"}]}') == ["48812"]
    assert extract_error_codes("adding the dock fails with error 40871") == ["40871"]
    assert extract_error_codes("error code 51207 in every answer") == ["51207"]
    for text in (
        "order 12345 failed",
        "zip code 10115",
        "error since 2027-03-04",
        "error code 2027",
        "error 404",
    ):
        assert extract_error_codes(text) == [], text


def test_a_problem_type_is_read_by_its_slug_and_compared_with_the_uri_the_logs_keep() -> None:
    text = 'The response has "type": "https://api.larkspool.example/problems/pallet-quota-exhausted"'
    assert extract_error_codes(text) == ["pallet-quota-exhausted"]
    assert extract_error_codes("about 1 in 10 answers 422 crate-rejected") == ["crate-rejected"]
    uri = "https://api.larkspool.example/problems/crate-rejected"
    assert code_name(uri) == "crate-rejected" and code_key(uri) == code_key("Crate-Rejected")
    # hyphenated words that name no error, headers, pages and field names are not codes
    for text in (
        "real-time sign-in is broken for our front-desk team",
        "validation error: pallet_id is required, see https://larkspool.example/docs/getting-started",
        "the field shipment_id is empty",
        "HTTP 429 with x-ratelimit-limit: 100, we are being rate-limited",
        "see https://app.larkspool.example/settings/failed-payments",
    ):
        assert extract_error_codes(text) == [], text


def test_an_articles_limits_of_your_plan_is_a_plan_limit() -> None:
    assert (
        classify(403, None, "QRM-0317 and QRM-0318: editor and workspace limits of your plan") == "plan_limit"
    )


def _article(code: str) -> dict[str, object]:
    return {
        "id": 41,
        "title": f"{code}: editor limits of your plan",
        "url": "https://help.quorum.example/hc/articles/41",
        "snippet": f"Each plan includes a number of editors. One more is refused with {code} until you upgrade.",
        "labels": [],
    }


def _limit_explained(background: list[dict[str, Any]], refused: dict[str, Any]) -> Evidence:
    """The account's usual conflicts and a few refusals of an opaque code the help center explains
    as a plan limit (the search for it already made)."""
    code = refused["error_code"]
    docs = cited(
        DocsSearchResult, {"query": code, "count": 1, "articles": [_article(code)]}, "c12", "docs_search"
    )
    errors = sum(r["count"] for r in [*background, refused])
    return Evidence(
        summary=summary(errors, status=background[0]["status"]),
        top=top([*background, refused]),
        billing=billing(),
        code_docs={code: docs},
    )


def test_the_code_the_ticket_quotes_is_searched_first_by_its_name() -> None:
    background = [
        row(409, "SLT-0409", 30, path="/op/BookSlot"),
        row(404, "GEN-0404", 20, path="/op/FindSlot"),
        row(403, "QRM-0317", 1, path="/op/AddEditor"),
    ]
    ev = Evidence(top=top(background))
    assert _opaque_codes(ev) == ["SLT-0409", "GEN-0404"]
    assert _opaque_codes(ev, ["QRM-0317"]) == ["QRM-0317", "SLT-0409"]
    # a problem type is searched by its slug, once
    uri = "https://api.larkspool.example/problems/crate-rejected"
    assert _opaque_codes(Evidence(top=top([row(422, uri, 9)])), ["crate-rejected"]) == ["crate-rejected"]


def test_a_quoted_code_found_once_in_the_logs_is_what_the_ticket_reports() -> None:
    ev = _limit_explained(
        [row(409, "SLT-0409", 6, path="/op/BookSlot"), row(400, "SLT-0400", 4, path="/op/FindSlot")],
        row(403, "QRM-0317", 1, path="/op/AddEditor"),
    )
    h = best(assess(state("new editor starting next week, cant add her. error QRM-0317 ??"), ev))
    assert h.category == "billing_plan_limit"
    assert {"QRM-0317", "QRM-0317: editor limits of your plan"} <= {c.value for c in h.evidence}
    # Without the quote, one refusal among the account's usual conflicts is not the finding.
    other = best(assess(state("cant add the new editor, something is wrong"), Evidence(**vars(ev))))
    assert other.category != "billing_plan_limit"


def test_the_help_center_is_searched_with_what_the_ticket_says_and_the_logs_found() -> None:
    from casefile.agent.differential.queries import docs_query
    from casefile.tools.logs_results import SsoLogins

    logins = cited(
        SsoLogins,
        {
            "attempts": 80,
            "failures": 12,
            "top_errors": [{"error": "NotBefore is in the future (clock skew)", "count": 12}],
        },
        "c9",
        "logs_sso_logins",
    )
    query = docs_query(
        state("Today half the team had to sign in two times. error QRM-0317", subject="Signing in twice"),
        Evidence(logins=logins),
    ).split()
    # the subject, the body, the quoted code and the failures' own words ("clock skew")
    assert {"signing", "twice", "sign", "QRM-0317", "clock", "skew"} <= set(query)
    # another language's ticket is searched in English too
    query = docs_query(
        state("Seit heute Morgen ist alles langsam", subject="Alles langsam"), Evidence()
    ).split()
    assert "slow" in query


def test_an_operation_the_ticket_describes_is_named_by_all_its_words() -> None:
    from casefile.agent.differential.queries import names_operation

    assert names_operation("Adding the new room does not work", "/op/AddRoom")
    assert names_operation("adding members is refused", "/rpc/Members.Add")
    assert not names_operation("Adding the new room does not work", "/op/AddDesk")
    assert not names_operation("our orders fail", "/v1/orders")  # one word is too common to tell
    assert not names_operation("the monitor gets 429s for the room list", "/op/GetRoom")
    # the words must stand close together, as they do when they describe one action
    assert not names_operation(
        "adding users works fine, but since the move the projector of the big room is dark", "/op/AddRoom"
    )


def test_the_operation_the_customer_describes_is_what_the_ticket_reports() -> None:
    # The thread names no code and no status; the refusals of the operation it describes are read
    # through the help center, not the account's usual conflicts.
    ev = _limit_explained(
        [row(409, "SLT-0409", 30, path="/op/BookSlot"), row(404, "GEN-0404", 20, path="/op/FindSlot")],
        row(403, "QRM-0318", 4, path="/op/AddRoom"),
    )
    said = "Adding our fourth room does not work: the screen says refused, with a code we don't understand."
    assert _opaque_codes(ev, _reported(said, ev))[0] == "QRM-0318"
    h = best(assess(state(said), ev))
    assert h.category == "billing_plan_limit"
    assert "QRM-0318" in {c.value for c in h.evidence}


def _reported(said: str, ev: Evidence) -> list[str]:
    from casefile.agent.differential.evidence import _reported_codes

    return _reported_codes(state(said), ev)
