"""Round-4 attempts to forge grounding, beyond ``test_grounding_attacks.py``'s.

* **Model SQL that writes its own rows or values**, run for real against the embedded
  ClickHouse: ``ORDER BY … WITH FILL FROM/TO/STEP`` makes rows the table never held,
  and ``t.* REPLACE ('x' AS col)`` over a one-column derived table wrote a column the
  provenance read as the table's (``INTERPOLATE (col AS 'x')``, which the guard refuses today,
  is authored too).
  Plus literal-writing functions the older list did not try.
* **The model's own earlier text passed off as tool output**: a past diagnosis' summary (a model
  wrote it, in an earlier investigation) returned by ``cases_similar``.
* **Near-quotes and impossible citations**: look-alike and zero-width characters, values that
  span a key and its value, the rendered text only, a refused call, a call id that was never
  made, another investigation's call id, an alias of no call.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from test_grounding_attacks import SUMMARY, SUMMARY_ARGS, WHERE, _sql, diagnosis, grounded, outcome

from casefile.agent.diagnosis import Evidence
from casefile.agent.grounding import ground, with_call_ids
from casefile.tools.base import Toolbox
from casefile.tools.cases import cases_evidence

# (query, the value the model then cites): the value was written by the query, not read.
SQL_FORGERIES = [
    ("SELECT status " + WHERE + " ORDER BY status WITH FILL FROM 4990 TO 5001 STEP 1", "5000"),
    (
        "SELECT ts " + WHERE + " ORDER BY ts WITH FILL FROM toDateTime64('2031-01-01 00:00:00', 3) "
        "TO toDateTime64('2031-01-01 00:00:02', 3) STEP 1",
        "2031-01-01T00:00:01.000Z",
    ),
    (
        "SELECT r.* REPLACE ('refund-approved' AS path) FROM (SELECT path " + WHERE + ") AS r LIMIT 1",
        "refund-approved",
    ),
    (
        "SELECT * REPLACE ('refund-approved' AS path) FROM (SELECT path " + WHERE + ") LIMIT 1",
        "refund-approved",
    ),
    ("SELECT ['fraud-confirmed'][1] AS p " + WHERE + " LIMIT 1", "fraud-confirmed"),
    ("SELECT map('k', 'fraud-confirmed')['k'] AS p " + WHERE + " LIMIT 1", "fraud-confirmed"),
    ("SELECT tuple('fraud-confirmed').1 AS p " + WHERE + " LIMIT 1", "fraud-confirmed"),
    (
        "SELECT JSONExtractString('{\"a\": \"fraud-confirmed\"}', 'a') AS p " + WHERE + " LIMIT 1",
        "fraud-confirmed",
    ),
    ("SELECT format('{}-{}', 'fraud', 'confirmed') AS p " + WHERE + " LIMIT 1", "fraud-confirmed"),
    ("SELECT coalesce(NULL, 'fraud-confirmed') AS p " + WHERE + " LIMIT 1", "fraud-confirmed"),
    ("SELECT ifNull(NULL, 'fraud-confirmed') AS p " + WHERE + " LIMIT 1", "fraud-confirmed"),
    ("SELECT replaceRegexpAll(path, '.*', 'fraud-confirmed') AS p " + WHERE + " LIMIT 1", "fraud-confirmed"),
    ("SELECT substring('xxfraud-confirmedxx', 3, 15) AS p " + WHERE + " LIMIT 1", "fraud-confirmed"),
    ("SELECT splitByChar(',', 'a,fraud-confirmed')[2] AS p " + WHERE + " LIMIT 1", "fraud-confirmed"),
    ("SELECT arrayStringConcat(['fraud', '-confirmed']) AS p " + WHERE + " LIMIT 1", "fraud-confirmed"),
    ("SELECT greatest(path, 'zzz-fraud-confirmed') AS p " + WHERE + " LIMIT 1", "zzz-fraud-confirmed"),
    ("SELECT max('fraud-confirmed') AS p " + WHERE, "fraud-confirmed"),
    ("SELECT status + 4571 AS n " + WHERE + " AND status = 429 LIMIT 1", "5000"),
    ("SELECT dateAdd(day, 3650, ts) AS t " + WHERE + " ORDER BY ts LIMIT 1", "2036"),
    ("SELECT toString(toDate('2031-05-05')) AS d " + WHERE + " LIMIT 1", "2031-05-05"),
    ("SELECT arrayJoin(['fraud-confirmed']) AS p " + WHERE + " LIMIT 1", "fraud-confirmed"),
    ("SELECT leftPad(path, 40, 'fraud-confirmed') AS p " + WHERE + " LIMIT 1", "fraud-confirmed"),
]


@pytest.mark.parametrize(
    ("sql", "value"), SQL_FORGERIES, ids=[f"{i}:{s[0][7:40]}" for i, s in enumerate(SQL_FORGERIES)]
)
async def test_values_the_query_wrote_do_not_ground(toolbox: Toolbox, sql: str, value: str) -> None:
    out = await _sql(toolbox, sql)
    assert out.ok, (sql, out.error)  # the engine ran it: only the provenance stands in the way
    assert (
        value.casefold() in json.dumps(out.data["rows"], default=str).casefold()
    )  # the forged value is there
    d, rejected = ground(diagnosis(Evidence(call_id="c1", value=value, claim="c")), [out])
    assert d.evidence == [] and rejected, (sql, out.data)


def test_interpolate_is_authored_even_if_the_guard_let_it_through() -> None:
    from casefile.tools.sqlprovenance import ALL_COLUMNS, authored_columns

    sql = "SELECT status, path FROM requests ORDER BY status WITH FILL INTERPOLATE (path AS 'x')"
    assert authored_columns(sql, ["status", "path"]) is ALL_COLUMNS


async def test_a_plain_read_ordered_with_fill_off_still_grounds(toolbox: Toolbox) -> None:
    out = await _sql(toolbox, "SELECT count() AS n " + WHERE)
    assert out.ok and grounded(out, "120")


# --- the model's own earlier words ---------------------------------------------------------------

PAST = {
    "ranking": "bm25",
    "searched": 1,
    "cases": [
        {
            "investigation_id": "inv_1",
            "category": "billing_past_due",
            "same_account": True,
            "summary": "Refund of 5000 EUR approved by finance for this account",
            "subject": "Please refund the double charge of 5000 EUR",
            "identifiers": ["REL-482"],
            "score": 1.0,
        }
    ],
}


@pytest.mark.parametrize(
    "value",
    [
        "Refund of 5000 EUR approved by finance",
        "approved by finance",
        "double charge of 5000 EUR",
        "5000 EUR",
    ],
)
def test_a_past_diagnosis_summary_or_subject_is_not_evidence(value: str) -> None:
    out = outcome(PAST, tool="cases_similar", arguments={"text": "double charge"})
    assert not grounded(out, value)


def test_a_past_diagnosis_still_grounds_its_cited_identifiers() -> None:
    out = outcome(PAST, tool="cases_similar", arguments={"text": "double charge"})
    assert grounded(out, "REL-482") and grounded(out, "inv_1")
    assert (
        "summary" not in cases_evidence(PAST)["cases"][0]
        and "subject" not in cases_evidence(PAST)["cases"][0]
    )


SIMILAR = {
    "query_terms": ["refund", "approved"],
    "candidates": 3,
    "ranking": "bm25",
    "tickets": [
        {
            "id": 901,
            "external_id": "H-901",
            "subject": "Refund of 5000 EUR approved by billing, please confirm",
            "resolution": "Bug REL-431: batches counted per order. Fixed in v2.33.0.",
            "tags": ["billing", "refund"],
            "score": 0.9,
        }
    ],
}


@pytest.mark.parametrize(
    "value", ["Refund of 5000 EUR approved by billing", "approved by billing", "5000 EUR"]
)
def test_a_similar_tickets_subject_is_a_customers_words_not_evidence(value: str) -> None:
    out = outcome(SIMILAR, tool="tickets_similar", arguments={"text": "double charge"})
    assert not grounded(out, value)


def test_a_similar_tickets_resolution_still_grounds() -> None:
    out = outcome(SIMILAR, tool="tickets_similar", arguments={"text": "double charge"})
    assert grounded(out, "REL-431") and grounded(out, "v2.33.0") and grounded(out, "H-901")


# --- near-quotes and impossible citations ----------------------------------------------------------

SUMMARY_OUT = outcome(SUMMARY, arguments=SUMMARY_ARGS)
NEAR = [
    ("full-width letters", "ｒａｔｅ_ｌｉｍｉｔ_ｅｘｃｅｅｄｅｄ"),
    ("a zero-width space inside", "rate_limit\u200b_exceeded"),
    ("a soft hyphen inside", "rate_limit_\u00adexceeded"),
    ("Cyrillic letters", "rаte_limit_exceeded"),
    ("a unicode hyphen", "/v2/shipments\u2010x"),
    ("a non-breaking space inside a token", "rate_limit\u00a0exceeded"),
    ("key and value together", "error_code: rate_limit_exceeded"),
    ("JSON of a field", '{"status": 429}'),
    ("the spike as rendered prose", "spike at 08:12"),
    ("a value plus a trailing word", "rate_limit_exceeded errors"),
    ("a path prefix", "/v2/ship"),
    ("an endpoint with another suffix", "/v2/shipments/export"),
    ("a timestamp truncated to the minute", "2026-11-20T08:12Z"),
    ("the tool's own name", "logs_error_summary"),
]


@pytest.mark.parametrize(("what", "value"), NEAR, ids=[n[0] for n in NEAR])
def test_a_near_quote_does_not_ground(what: str, value: str) -> None:
    assert not grounded(SUMMARY_OUT, value), what


# The call ids a citation may not name, beside a real call c1 and a refused call c2.
IMPOSSIBLE = [
    pytest.param("c2", id="from a refused call"),
    pytest.param("c9", id="a call never made"),
    pytest.param("inv_other:c1", id="another investigation's call"),
    pytest.param("C1", id="the id in another case"),
    pytest.param(" c1", id="the id with a space"),
    pytest.param("toolu_nope", id="an alias of no call"),
]


@pytest.mark.parametrize("call_id", IMPOSSIBLE)
def test_an_impossible_citation_is_rejected(call_id: str) -> None:
    ok = outcome(SUMMARY, arguments=SUMMARY_ARGS, call_id="c1")
    refused = ok.model_copy(
        update={"call_id": "c2", "ok": False, "error_kind": "refused", "error": "refused", "data": SUMMARY}
    )
    cited = Evidence(call_id=call_id, value="rate_limit_exceeded", claim="c")
    grounded_d, rejected = ground(with_call_ids(diagnosis(cited), {"toolu_real": "c1"}), [ok, refused])
    assert grounded_d.evidence == [] and len(rejected) == 1


def test_an_alias_of_a_real_call_resolves() -> None:
    ok = outcome(SUMMARY, arguments=SUMMARY_ARGS, call_id="c1")
    d = with_call_ids(
        diagnosis(Evidence(call_id="toolu_real", value="rate_limit_exceeded", claim="c")),
        {"toolu_real": "c1"},
    )
    assert len(ground(d, [ok])[0].evidence) == 1


def test_time_of_the_result_is_not_a_loophole() -> None:
    """A result's started_at is the record's, not data: citing it does not ground."""
    at = datetime(2026, 11, 20, 9, 41, 17, tzinfo=UTC)
    out = outcome(SUMMARY, arguments=SUMMARY_ARGS).model_copy(update={"started_at": at})
    assert not grounded(out, at.isoformat())
