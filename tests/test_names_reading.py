"""What we read of a ticket in a language nobody lists, or listed only by its phrases: the names it
writes (an acronym, a dotted name, a word capitalised inside a sentence). A tracked bug that names
them is found, and is the ticket's cause, not a guess from the data alone. Invented names only."""

from __future__ import annotations

from test_differential import billing, issue, state, summary

from casefile.agent.differential import Evidence, assess
from casefile.agent.differential.queries import stems
from casefile.agent.signals.names import name_words, names

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
