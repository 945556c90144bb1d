"""What we read of a ticket in a language nobody lists, or listed only by its phrases: the names it
writes (an acronym, a dotted name, a word capitalised inside a sentence). A tracked bug that names
them is found, and is the ticket's cause, not a guess from the data alone. Invented names only."""

from __future__ import annotations

from test_differential import best, billing, issue, state, summary
from test_evidence_structure import FAILING_TODAY, _deliveries

from casefile.agent.differential import Evidence, assess
from casefile.agent.differential.queries import bug_queries, stems
from casefile.agent.signals.names import name_words, names, other_script, split_scripts

# Made-up languages: no word of them is listed anywhere, only their names are readable.
BOARD = "Hulda ve tarnik på ZOLMA vrenk, sulbe karo tindra. Anno mesk vigra, kjent feil?"
MAIL = "Zeplo kvarna mollo.example-sen ja parvo.example-sen brintu ei saapu. Vrenta?"


def test_names_are_read_whatever_the_language() -> None:
    found = {n.word: n.marked for n in names("Hoje a Quivra (sms) e o SMSX via zolma.example-sen. Ok Tarn.")}
    assert found == {"quivra": False, "smsx": True, "zolma.example": True, "zolma": True, "tarn": False}
    # a sentence's or a line's first word, two letters, digits: not names
    assert names("Vrenta mesk.\nKarbo tindra, AS 42B") == []
    assert {"zolma", "zolma.example", "lose"} <= name_words("ZOLMA.example posts lose breaks")
    assert "zolma" in stems(["zolma.example"])  # a dotted name also reads as its first part


def bug_evidence(*bugs: object) -> Evidence:
    return Evidence(summary=summary(0), billing=billing(), bugs=[(b, "c9") for b in bugs])  # type: ignore[misc]


def test_a_bug_naming_what_an_unread_ticket_names_is_its_cause() -> None:
    board = issue(
        "QX-12", "ZOLMA.example posts lose their line breaks", "In Progress", workaround="Use plain text."
    )
    other = issue("QX-30", "Slow search with many filters", "Todo")
    h = next(
        h for h in assess(state(BOARD), bug_evidence(board, other)).hypotheses if h.category == "known_bug"
    )
    assert h.evidence[0].value == "QX-12"
    assert h.confidence >= 0.75 and any("names what the ticket names" in r for r in h.reasons)
    # names in the bug's description count too (two lower-case-marked names)
    mail = issue(
        "QX-40",
        "Greylisting read as hard bounces",
        "In Progress",
        description="for mollo.example and parvo.example",
    )
    best = max(assess(state(MAIL), bug_evidence(mail)).hypotheses, key=lambda h: h.confidence)
    assert best.category == "known_bug" and best.confidence >= 0.6  # no workaround, names in its text only


def test_a_name_alone_does_not_match_a_bug_about_something_else() -> None:
    unrelated = issue("QX-31", "Export of invoices misses the tax column", "In Progress", workaround="x")
    diff = assess(state(BOARD), bug_evidence(unrelated))
    assert not any(h.category == "known_bug" for h in diff.hypotheses)
    # one name where the trouble shows ("not on ZOLMA either") is not the bug unless they ask for one
    board = issue("QX-12", "ZOLMA.example posts lose their line breaks", "In Progress", workaround="x")
    elsewhere = "Hulda ve tarnik, vrenk ZOLMA ni karo tindra. Anno mesk vigra?"
    assert not any(
        h.category == "known_bug" for h in assess(state(elsewhere), bug_evidence(board)).hypotheses
    )
    # an English ticket is read in full: its words, not its names alone, match bugs
    english = "Hi, our ZOLMA.example posts look odd since yesterday, can you check?"
    board = issue("QX-12", "ZOLMA.example posts lose their line breaks", "In Progress", workaround="x")
    assert any(h.category == "known_bug" for h in assess(state(english), bug_evidence(board)).hypotheses)


# Made-up tickets in other scripts: Greek and Japanese letters around invented names.
GREEK = "Καλημέρα, τα αρχεία .qvz από το Plimbo Studio στα Gorvex δεν φαίνονται στον viewer. Γνωστό;"
KANA = "こんにちは。昨日からラベルが白紙で出ます。プリンターはZorbexのZK-44aです。既知の不具合でしょうか？"


def test_latin_names_in_another_script_are_marked_by_their_script() -> None:
    found = {n.word: n.marked for n in names(GREEK)}
    assert found == {"qvz": True, "plimbo": True, "studio": True, "gorvex": True, "viewer": True}
    # a language written without spaces glues names to its words: they are read apart
    assert {n.word: n.marked for n in names(KANA)} == {"zorbex": True, "zk-44a": True}
    assert split_scripts("はZorbexのZK-44aです") == "は Zorbex の ZK-44a です"
    assert other_script(KANA) and other_script(GREEK) and not other_script("Hulda ve tarnik på ZOLMA")
    # in a Latin-script text a model mixing letters and digits is a name, a lower-case word is not;
    # capitals after a lower-case letter mark one (an "iPhone")
    assert {n.word for n in names("Hulda mesk ZK-44a ve iPodo, tarnik 2026 v2")} == {"zk-44a", "ipodo"}


def test_a_bug_named_by_the_latin_words_of_a_ticket_in_another_script_is_found() -> None:
    printer = issue(
        "QX-77", "Labels print blank on Zorbex ZK-44a", "In Progress", workaround="Set the driver to raster."
    )
    other = issue("QX-78", "Slow search with many filters", "Todo")
    best = max(assess(state(KANA), bug_evidence(printer, other)).hypotheses, key=lambda h: h.confidence)
    assert best.category == "known_bug" and best.evidence[0].value == "QX-77" and best.confidence >= 0.8
    # the bug searches ask for those names, since bugs are filed under them
    assert "zorbex zk-44a" in bug_queries(state(KANA), Evidence(summary=summary(0), billing=billing()))
    # one of those names in a bug about something else is not enough, unless they ask for a known bug
    unrelated = issue("QX-79", "Zorbex invoices export twice", "In Progress", workaround="x")
    unasked = KANA.replace("既知の不具合でしょうか？", "")
    assert not any(
        h.category == "known_bug" for h in assess(state(unasked), bug_evidence(unrelated)).hypotheses
    )


def test_a_cause_whose_values_carry_a_name_the_ticket_writes_is_not_the_data_alone() -> None:
    # A made-up language: nothing is read but the name of the customer's own system, "Quillo", which
    # the failing deliveries' endpoint (quillo.lindqvist.example) carries too.
    ev = _deliveries(FAILING_TODAY, 0.01, "2027-03-04T08:00:00.000Z")
    ev.webhooks.data.endpoint_urls = ["https://quillo.lindqvist.example/receive"]  # type: ignore[union-attr]
    h = best(assess(state("Vrenta ul moskari, tindra Quillo vas kolumë braskat nuvo. Hjelsta pri?"), ev))
    assert h.category == "webhook_customer_endpoint" and h.confidence >= 0.8
    assert any("the ticket names it: quillo" in r for r in h.reasons)
    # without the name the data alone speaks
    alone = best(assess(state("Vrenta ul moskari, tindra vas kolumë braskat nuvo. Hjelsta pri?"), ev))
    # the data alone keeps less (0.75 at most for a fault in the account's own hands, session 11)
    assert alone.category == "webhook_customer_endpoint" and alone.confidence < h.confidence
    # the account's own name (a signature) names no cause
    signed = best(assess(state("Vrenta ul moskari, tindra vas kolumë braskat nuvo.\nBlue Heron Foods"), ev))
    assert signed.confidence == alone.confidence
