"""A ticket whose words we cannot read (a language nobody lists: Basque, or a made-up one) is not
guessed from absent words: every source is examined and the evidence picks the cause, with the
confidence the evidence alone gives. Invented accounts and worlds only."""

from __future__ import annotations

from llm_fixtures import DIRECTORY, make_ticket
from test_differential import best, billing, outage_evidence, sso_logins, state, summary

from casefile.agent.differential import Evidence, assess
from casefile.agent.differential.topic import readable, unread
from casefile.agent.loop import investigate
from casefile.agent.models.offline import OfflineModel
from casefile.agent.phrasebook import english
from casefile.agent.signals import extract_signals
from casefile.tools.base import Toolbox

BASQUE = "Kaixo, gaur goizetik langile batzuek ezin dute sartu. Mesedez, begiratu ahal duzue?"
MADE_UP = "Vrenta ul moskari zeplo, tindra vas kolumë braskat nuvo. Hjelsta pri?"


def test_a_language_nobody_lists_is_told_from_english_and_the_listed_ones() -> None:
    assert not readable(BASQUE) and not readable(MADE_UP)
    assert readable("Hi, something has felt off with the app this week, can someone look?")
    assert readable("Det fungerar inte sedan i går")
    # a listed language is told by its common words too, where no phrase of it occurs
    assert readable("Hallo, irgendwie fühlt sich alles komisch an diese Woche.")
    assert readable("Hej, vi har ett konstigt ärende med systemet")
    assert unread(state(BASQUE)) == "foreign"
    assert unread(state("Hi, nothing concrete, but it has felt off this week. Could you look?")) == "vague"
    assert unread(state("Our exports fail since this morning")) is None


def test_only_english_is_read_in_full() -> None:
    assert english("Hi, something has felt off with the app this week, can someone look?")
    assert english("app acting weird lately. can someone look")  # short: one common word is enough
    # listed languages are read by their phrases only; an unlisted one whose short words look English
    # ("a", "is", "az") is told by its letters
    assert not english("Det fungerar inte sedan i går, vi har ett konstigt ärende")
    assert not english("Szia! A felület is nagyon furcsa ma, az összes gomb szürke és semmi nem történik.")
    assert not english(BASQUE) and not english("")
    # a ticket in a listed language that names no symptom we read is not "vague": its words may name
    # one we do not read, so the evidence decides, as for a language nobody lists
    assert unread(state("Hej, vi har ett konstigt ärende med systemet sedan förra veckan")) == "foreign"


def sso_failing() -> Evidence:
    logins = sso_logins("User is not assigned to this application in the IdP", 80, 30, "2027-03-04T07:02:00Z")
    return Evidence(summary=summary(0), billing=billing(), logins=logins)


def test_the_evidence_picks_the_cause_of_a_ticket_we_cannot_read() -> None:
    for text in (BASQUE, MADE_UP):
        h = best(assess(state(text), sso_failing()))
        assert h.category.startswith("sso_"), text
        # the evidence alone, not the customer's words: moderate confidence, and said so
        assert 0.5 <= h.confidence <= 0.65
        assert any("data alone" in r for r in h.reasons)
    # The same data behind a ticket that names the symptom is a confident diagnosis.
    named = best(assess(state("Since this morning our staff cannot sign in with SSO"), sso_failing()))
    assert named.category == best(assess(state(BASQUE), sso_failing())).category
    assert named.confidence > 0.65


def test_quiet_data_behind_an_unread_ticket_asks_instead_of_saying_all_is_well() -> None:
    diff = assess(state(MADE_UP), Evidence(summary=summary(0), billing=billing()))
    h = best(diff)
    assert h.category == "insufficient_evidence" and h.action == "escalate"
    assert "language we do not read" in h.statement
    assert all(o.confidence <= 0.45 for o in diff.hypotheses if o.category == "no_issue_found")
    # weak evidence (an ended incident) is mentioned, not chosen
    weak = outage_evidence(
        503, "backend_unavailable", 12, ("2027-03-03T01:00:00.000Z", "2027-03-03T01:20:00.000Z"), (4, 200)
    )
    assert best(assess(state(MADE_UP), weak)).category == "insufficient_evidence"


def test_a_vague_ticket_in_words_we_read_is_still_asked_first() -> None:
    text = "Hi, nothing concrete, but something has felt off this week. Could someone take a look?"
    h = best(assess(state(text), sso_failing()))
    assert h.category == "insufficient_evidence" and "names no concrete symptom" in h.statement
    assert "SSO" in h.statement or "sso" in h.statement.lower()  # what the data shows is named


async def test_an_unread_ticket_examines_every_source(toolbox: Toolbox) -> None:
    async def tools(body: str) -> set[str]:
        ticket = make_ticket(body).model_copy(update={"subject": body.split(",")[0]})
        investigation = await investigate(
            ticket,
            signals=extract_signals(ticket, DIRECTORY),
            account=DIRECTORY.get("acme"),
            accounts=DIRECTORY.as_mapping(),
            toolbox=toolbox,
            model=OfflineModel(),
            runbooks=[],
        )
        return {o.tool for o in investigation.outcomes}

    broad = {"logs_webhook_deliveries", "logs_sso_logins", "logs_latency", "billing_account", "deploys_list"}
    assert broad <= await tools(MADE_UP)
    # a ticket that names its trouble is examined where it points, and its deliveries (what never
    # reached the customer's systems is told in the product's own words)
    named = await tools("Our API calls fail with 429 since this morning.")
    assert {"billing_account", "logs_webhook_deliveries"} <= named and "logs_sso_logins" not in named
    # an English ticket that says nothing concrete is asked first, from the usual sources only
    vague = await tools("Hi, nothing concrete, but something has felt off this week. Could someone look?")
    assert "billing_account" in vague and "logs_webhook_deliveries" not in vague
    # in a language we read only by its phrases, a ticket whose words we read name no more than the
    # API: the rest of its words may name any source, so every one is examined
    assert broad <= await tools(
        "Hej, vårt API-flöde beter sig konstigt sedan i morse, vad händer med kontot?"
    )
    # one that names where it fails is examined there, as an English one
    named = await tools("Våra API-anrop misslyckas med HTTP 429 sedan i morse, vad händer med kontot?")
    assert "logs_sso_logins" not in named
