"""How a ticket is read whatever its language or script, on invented companies and invented samples
(session 9): what a ticket carries in every language (numbers, times, codes) is read as written,
and a code's words are read with its status. No bundled world's names."""

from __future__ import annotations

from test_differential import (
    NOW,
    best,
    billing,
    cited,
    issue,
    outage_evidence,
    row,
    state,
    summary,
    top,
    zoned_areas,
)

from casefile.agent.calibration import claims
from casefile.agent.catalog import Catalog, Component
from casefile.agent.differential import Evidence, assess
from casefile.agent.differential.codes import meaning
from casefile.agent.differential.queries import bug_queries
from casefile.agent.differential.semantics import classify
from casefile.agent.differential.topic import unread
from casefile.agent.digits import ascii_digits, clock_times
from casefile.agent.phrasebook import known_language, reading
from casefile.agent.signals import extract_areas, extract_statuses
from casefile.agent.signals.names import name_words, names, quoted
from casefile.agent.signals.zones import day_turns, in_utc
from casefile.tools.bugs_results import Issue
from casefile.tools.docs import DocsSearchResult

# An invented language in Thai script with Thai digits: nothing of it is listed anywhere.
KIOSK = "ใบเสร็จจากตู้ของเราพิมพ์เวลา ๔๕:๑๔ แทน ๑๔:๔๕ ตั้งแต่เมื่อวาน ลูกค้าสับสนมาก"


def test_a_4xx_whose_code_says_time_out_is_a_request_refused_as_sent() -> None:
    # "…_TIME_OUT_OF_RANGE": a time outside the accepted range, refused as sent, not our timeout
    assert classify(400, "INVALID_ARGUMENT/READING_TIME_OUT_OF_RANGE") == "validation"
    assert classify(422, "pickup_time_out_of_window") == "validation"
    assert classify(403, "SLOT_TIME_OUT_OF_POLICY_DENIED") == "permission"
    # a timeout is ours on a 5xx and on the one 4xx that means it
    assert classify(504, "UPSTREAM_TIMEOUT") == "timeout"
    assert classify(408, "REQUEST_TIMEOUT") == "timeout"
    assert classify(500, "READING_TIME_OUT_OF_RANGE") == "timeout"


def test_devices_refused_for_their_clock_are_the_customers_side() -> None:
    # Weighbridge sensors of an invented company post readings dated years back: the 400s are theirs.
    errors = [row(400, "INVALID_ARGUMENT/READING_TIME_OUT_OF_RANGE", 180, path="/v1/sensors/{id}/readings")]
    evidence = Evidence(summary=summary(180, status=400), top=top(errors), billing=billing())
    diff = assess(
        state("Since Tuesday your API seems to throw away the readings of some of our scales."), evidence
    )
    assert best(diff).category == "customer_error"


def test_digits_of_every_script_are_read_as_ascii() -> None:
    assert (
        ascii_digits("HTTP ٥٠٣ · ۴۰۳ · ५०० · ๕๐๓ · ５０２ · ١٢٫٥")
        == "HTTP 503 · 403 · 500 · 503 · 502 · 12.5"
    )
    assert extract_statuses(reading("the kiosk answers HTTP ٥٠٣ since ١٠:٣٠")) == [503]
    # digits alone are no phrase of a language: the text is not thereby one we read
    assert reading("Ticket 42") == "Ticket 42" and not known_language("ตู้ ๕๐๓ เสีย")
    # clock times, not a timestamp's nor a longer number's
    assert clock_times(KIOSK) == ["45:14", "14:45"]
    assert clock_times("at 2027-02-03T10:30:00Z, 1:2:3, 123:45 and 9:05") == ["9:05"]


def test_a_bug_quoting_the_times_a_ticket_writes_is_found_in_any_script() -> None:
    assert {"45:14", "14:45"} <= {n.word for n in names(KIOSK)}
    assert "14:45" in name_words("Receipts print 45:14 for 14:45")
    receipts = issue(
        "LMR-7",
        "Thai receipts print the time reversed (45:14 for 14:45)",
        "In Progress",
        workaround="Print the time in words.",
    )
    other = issue("LMR-9", "Kiosk screen slow after midnight", "Todo")
    evidence = Evidence(summary=summary(0), billing=billing(), bugs=[(receipts, "c9"), (other, "c9")])
    found = best(assess(state(KIOSK), evidence))
    assert found.category == "known_bug" and found.evidence[0].value == "LMR-7"
    # and the bug search asks for those times, which a tracker finds as written
    assert "45:14 14:45" in bug_queries(state(KIOSK), Evidence(summary=summary(0), billing=billing()))


def test_an_arabic_ticket_is_read_with_its_digits() -> None:
    # an invented florist's ticket: "saving the order failed - error ٥٠٢ … is this a known issue? a workaround?"
    said = reading("تعذّر حفظ الطلب – خطأ ٥٠٢ منذ أمس. هل هذا خطأ معروف لديكم؟ وما الحل المؤقت؟")
    assert extract_statuses(said) == [502]
    assert "known issue" in said and "workaround" in said and "since yesterday" in said
    assert known_language("الطلبات لا تصل إلى المتجر")


def test_what_should_be_fresh_and_is_not_is_a_symptom() -> None:
    # an invented port's dispatchers: cranes "stale on the yard board" name what is wrong
    for said in (
        "Yard board shows our cranes with stale positions, 30 min old. Is it us or you?",
        "The berth temps are not updating for three of the reefers since noon.",
        "Crane positions stopped refreshing on the yard board.",
    ):
        assert unread(state(said)) is None, said
    assert unread(state("Something has felt a bit off with the yard lately. Can someone look?")) == "vague"


def test_a_polite_japanese_negative_reads_as_the_plain_one() -> None:
    # an invented bakery chain: "the per-day totals do not match the till's daily close"
    for said in ("日別の集計がレジの締めと合いません", "日別の集計がレジの締めと一致しません"):
        assert extract_areas(reading(said)) == ["data"], said
    # "not in time" holds the same characters and says nothing of numbers
    assert "data" not in extract_areas(reading("毎晩の取得が遅く、朝の発注に間に合いません"))


# An invented freight exchange's reference article: every code in one sentence, one of them billing.
_REFERENCE = {
    "id": 77,
    "title": "Error codes of the Cargoline API",
    "url": "https://help.cargoline.example/hc/articles/77",
    "snippet": "400 LANE_INVALID (40001), 402 INVOICE_OVERDUE (40230), 409 SLOT_SHIFTED (40907), "
    "429 RATE_LIMITED (42901).",
    "labels": [],
}


def test_a_code_in_a_reference_list_is_read_by_its_own_clause() -> None:
    found = DocsSearchResult.model_validate({"query": "SLOT_SHIFTED", "count": 1, "articles": [_REFERENCE]})
    # its neighbour's words (INVOICE_OVERDUE) say nothing of SLOT_SHIFTED
    assert meaning("SLOT_SHIFTED", 409, found) is None
    docs = cited(DocsSearchResult, found.model_dump(), "c12", "docs_search")
    evidence = Evidence(
        summary=summary(60, status=409),
        top=top([row(409, "SLOT_SHIFTED", 60, path="/v2/bookings/{id}")]),
        billing=billing(),
        code_docs={"SLOT_SHIFTED": docs},
    )
    diff = assess(state("Since noon your API refuses our booking updates with a 409."), evidence)
    assert best(diff).category == "customer_error"


def test_the_article_naming_the_accounts_code_is_cited_and_linked() -> None:
    # the help center's own words on the very code the account gets, labelled or not
    found = DocsSearchResult.model_validate({"query": "SLOT_SHIFTED", "count": 1, "articles": [_REFERENCE]})
    evidence = Evidence(
        summary=summary(60, status=409),
        top=top([row(409, "SLOT_SHIFTED", 60, path="/v2/bookings/{id}")]),
        billing=billing(),
        code_docs={"SLOT_SHIFTED": cited(DocsSearchResult, found.model_dump(), "c12", "docs_search")},
    )
    h = best(assess(state("Since noon your API refuses our booking updates with a 409."), evidence))
    assert h.category == "customer_error" and "https://help.cargoline.example/hc/articles/77" in h.reply
    assert any(c.call_id == "c12" and c.value == "Error codes of the Cargoline API" for c in h.evidence)


def test_numbers_that_do_not_line_up_are_a_data_question() -> None:
    # an invented bus operator: the shift report's day and the payroll sheets "don't line up"
    assert "data" in extract_areas("Our payroll sheets don't line up with the daily shift report.")


# Session 10. An invented language, nothing of it listed: "URGENT!!! Your kiosks do nothing!!! Call us back!!!"
SHOUTED_KIOSK = "VORNA!!! Tesh kioskat nimo zarbet!!! Zovnite nas odmah!!!"


def test_a_shout_in_any_language_is_a_complaint_that_something_fails() -> None:
    # punctuation is written alike in every script: the shout says it is urgent and does not work
    assert unread(state(SHOUTED_KIOSK)) is None
    assert unread(state("ด่วน!!! ตู้ของเราใช้ไม่ได้!!!")) is None
    assert [c.kind for c in claims(state(SHOUTED_KIOSK).signals, reading(SHOUTED_KIOSK))] == [
        "failing requests"
    ]
    # one "!!" is emphasis, not a shout, and the same words calmly said stay unread
    assert unread(state("Tesh kioskat nimo zarbet!! Zovnite nas odmah.")) == "foreign"
    # English is read whole: its own words say what is wrong, not its punctuation
    calm = "We need to talk about the renewal of our plan!!! Please call me back today!!!"
    assert reading(calm) == calm


def test_a_healthy_account_behind_a_shout_we_cannot_read_is_told_nothing_is_wrong() -> None:
    h = best(assess(state(SHOUTED_KIOSK), Evidence(summary=summary(0), billing=billing())))
    assert h.category == "no_issue_found" and h.confidence >= 0.75 and h.action == "resolve"
    # the account's own failure is answered as it would be to "nothing works"
    failing = outage_evidence(
        503, "kiosk_backend_down", 900, ("2027-03-04T13:40:00.000Z", "2027-03-04T14:58:00.000Z"), (6, 3000)
    )
    assert best(assess(state(SHOUTED_KIOSK), failing)).category == "platform_incident"


def test_data_that_did_not_get_over_to_a_named_system_is_a_delivery_question() -> None:
    # an invented freight yard's TMS and an invented school's records system, named by their own names
    for said in (
        "Between 9 and 10 none of the gate scans our drivers made\nit over to Ledgerline.",
        "None of the weighbridge tickets at our Hull and Goole yards came through to our TMS this morning.",
        "The marks we entered on Friday didn't make it across to Scholaris.",
    ):
        assert "webhook" in extract_areas(said), said
    # reaching a person, or arriving somewhere, is no delivery
    assert "webhook" not in extract_areas("None of the drivers made it to the depot before the storm.")
    assert "webhook" not in extract_areas("We could not get through to your phone line.")


def test_the_clock_time_the_utc_day_turns_at_is_read_in_the_accounts_zone() -> None:
    assert day_turns("Asia/Kolkata", NOW) == {"5:30", "05:30", "18:30"}
    assert day_turns("America/Chicago", NOW) == {"18:00", "6:00", "06:00"}  # CST in March
    assert day_turns("UTC", NOW) == set() == day_turns("Mars/Olympus", NOW) == day_turns(None, NOW)
    # invented words around the one thing every language writes alike: "the CSV's day turns at 5:30"
    said = "Ilmo CSV vorta dravek tursa 5:30 pe, nemo sa kalvi."
    assert "data" in zoned_areas(said, "Asia/Kolkata")
    # the same time is no day's turn for an account in Lisbon, and 7:30 none in Kolkata
    assert "data" not in zoned_areas(said, "Europe/Lisbon")
    assert "data" not in zoned_areas(said.replace("5:30", "7:30"), "Asia/Kolkata")
    # nor beside no report, export or day: "the kiosks went dark at 5:30"
    assert "data" not in zoned_areas("Ilmo kioskat dravek tursa 5:30 pe.", "Asia/Kolkata")
    # nor in a ticket naming a failure at that hour: "the CSV export answers HTTP 502 since 5:30"
    assert "data" not in zoned_areas("Ilmo CSV vorta HTTP 502 dravek 5:30 pe.", "Asia/Kolkata")


def test_a_ui_label_the_customer_quotes_finds_the_bug_whose_title_quotes_it() -> None:
    assert quoted('Els caixers surten «Fora de línia» al panell, i "Sync failed" a la llista.') == [
        "Fora de línia",
        "Sync failed",
    ]
    # an invented parking operator's bug, and a Catalan ticket quoting the badge in its own words:
    # "the pay stations show «Offline» in the panel but they take payments; is it a known problem?"
    badge = issue(
        "PRK-31",
        "Control panel marks a pay station Offline after its reboot",
        "In Progress",
        workaround="Restart the pay station's modem from the panel.",
    )
    other = issue("PRK-40", "Receipts of the pay station are printed twice", "Todo")
    ticket = (
        "Els caixers surten «Fora de línia» al panell, però cobren amb normalitat. És un problema conegut?"
    )
    evidence = Evidence(summary=summary(0), billing=billing(), bugs=[(badge, "c9"), (other, "c9")])
    h = best(assess(state(ticket), evidence))
    assert h.category == "known_bug" and h.evidence[0].value == "PRK-31"
    assert h.confidence >= 0.8 and h.action == "resolve"
    assert any("quotes what the bug's title names: offline" in r for r in h.reasons)


# An invented parking operator in Tbilisi (UTC+4) writes, in an invented language, "from 21:10 to 22:05
# yesterday all our pay stations were «offline»; now everything is fine, what was it?"
SILENT_NIGHT = "Vorta kioskat ot 21:10 do 22:05 nimo «zarbet». Sada sve dobro, shto bilo?"


def _incident(title: str, labels: list[str]) -> Issue:
    return issue("PRK-50", title, "Done", labels=labels, created_at="2027-03-03T17:30:00.000Z")


def test_an_incident_record_stating_the_times_the_ticket_names_is_what_they_point_at() -> None:
    assert in_utc(SILENT_NIGHT, "Asia/Tbilisi", NOW) == ["17:10", "18:05"]
    assert in_utc("ot 9:05", None, NOW) == ["09:05"]
    record = _incident("Pay stations disconnected 2027-03-03 17:10-18:05 UTC (gateway)", ["Incident"])
    evidence = Evidence(summary=summary(0), billing=billing(), bugs=[(record, "c9")])
    s = state(SILENT_NIGHT)
    s.account["timezone"] = "Asia/Tbilisi"
    h = best(assess(s, evidence))
    assert h.category == "platform_incident" and h.action == "resolve" and "(ended)" in h.summary
    assert h.evidence[0].value == "PRK-50" and h.confidence >= 0.75
    # read in UTC, the same times are not the record's: nothing is said of it
    s.account["timezone"] = "UTC"
    assert best(assess(s, evidence)).category == "insufficient_evidence"


def test_an_incident_of_the_companys_webhooks_by_its_own_name_is_a_delivery_incident() -> None:
    # the catalogue calls its webhooks "pushes"; the on-call labels the record so
    pushes = Catalog(components=[Component(id="pushes", kind="webhooks")])
    record = _incident("Every push timed out 17:10-18:05 UTC", ["Incident", "pushes"])
    s = state(SILENT_NIGHT, catalog=pushes)
    s.account["timezone"] = "Asia/Tbilisi"
    h = best(assess(s, Evidence(summary=summary(0), billing=billing(), bugs=[(record, "c9")])))
    assert h.category == "webhook_platform" and h.evidence[0].value == "PRK-50"
