"""Similar cases by meaning: identifiers shared, the embedding ranking, past diagnoses, the labelled sets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from casefile.agent.similar.evidence import evidence_keys, shared
from casefile.agent.similar.past import PastCase, similar_diagnoses
from casefile.agent.similar.rank import Doc, rank
from casefile.evals.similar import WORLDS, load_labels, world_ids


def test_evidence_keys_name_codes_bugs_deploys_and_statuses() -> None:
    keys = evidence_keys(
        "429 rate_limit_exceeded since v2.41.0 (deploy c72d4320384f), known as REL-482; APP_NOT_ASSIGNED; "
        "order 12345, took 2.5 s, see https://x.test/v2/orders/500"
    )
    assert keys == {
        "status:429",
        "code:rate_limit_exceeded",
        "deploy:v2.41.0",
        "deploy:c72d4320384f",
        "bug:REL-482",
        "code:app_not_assigned",
    }
    assert shared({"status:500", "bug:REL-1", "code:x_y"}, {"status:500", "bug:REL-1"}) == [
        "bug:REL-1",
        "status:500",
    ]


class _Words:
    """A stand-in embedder over a fixed vocabulary (the real model is exercised in test_tickets)."""

    name = "words"
    vocabulary = ("login", "sso", "saml", "invoice", "card", "payment", "slow")

    def __init__(self, reads: float = 1.0) -> None:
        self.reads = reads

    def reading(self, text: str) -> float:
        return self.reads

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = (
            np.array([[float(w in t.lower()) for w in self.vocabulary] for t in texts], dtype=np.float32)
            + 1e-3
        )
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_shared_identifiers_outrank_wording() -> None:
    docs = [
        Doc(id="a", text="SSO login broken, SAML error"),
        Doc(id="b", text="card payment failed"),
        Doc(id="c", text="card payment failed", evidence={"bug:PAY-9"}),
    ]
    ranking = rank("card payment problem", docs, embedder=_Words())
    assert ranking.method == "meaning" and [s.id for s in ranking.results] == ["b", "c", "a"]
    lifted = rank("card payment problem", docs, query_evidence={"bug:PAY-9"}, embedder=_Words())
    assert lifted.results[0].id == "c" and lifted.results[0].shared == ["bug:PAY-9"]


def test_vendor_codes_of_letters_and_digits_are_codes_but_standards_are_not() -> None:
    keys = evidence_keys("ZQX4012: caller denied (see AB31337). Signed with SHA256 per RFC7231, X509 cert.")
    assert keys == {"code:zqx4012", "code:ab31337"}
    assert evidence_keys("ticket H-887, E12, /v1/ZQX4012/items") == {"endpoint:items"}


class _Cosines:
    """A stand-in embedder whose cosines are given per text, read as well as ``reads`` says."""

    name = "cosines"

    def __init__(self, cosines: dict[str, float], reads: float) -> None:
        self.cosines, self.reads = cosines, reads

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = [[1.0, 0.0]] + [[c, float(np.sqrt(1 - c * c))] for c in (self.cosines[t] for t in texts[1:])]
        return np.array(rows, dtype=np.float32)

    def reading(self, text: str) -> float:
        return self.reads


def test_a_query_the_model_reads_poorly_is_ranked_by_its_words() -> None:
    """Cosines from a model that cannot read the language are noise: the words decide, and the
    ranking does not collapse onto whatever the noise favours."""
    docs = [Doc(id="noise", text="zupełnie inna sprawa"), Doc(id="words", text="faktura zaległa płatność")]
    model = {"zupełnie inna sprawa": 0.9, "faktura zaległa płatność": 0.4}
    query = "zaległa faktura"
    fluent = rank(query, docs, embedder=_Cosines(model, reads=1.0))
    assert [s.id for s in fluent.results] == ["noise", "words"] and fluent.reading == 1.0
    poor = rank(query, docs, embedder=_Cosines(model, reads=0.0))
    assert [s.id for s in poor.results] == ["words", "noise"] and poor.method == "meaning"
    assert poor.results[1].meaning == pytest.approx(0.9, abs=1e-3)  # the cosine is still shown


def test_a_query_the_model_cannot_read_and_sharing_no_word_is_ordered_by_meaning_not_by_id() -> None:
    """A ticket in a script neither the model nor BM25 reads shares no word with any candidate: its
    cosines, noisy as they are, still order them (a tenth of their weight), not the candidates' ids."""
    docs = [Doc(id="a-far", text="Ρολόι διακομιστή"), Doc(id="b-near", text="Λογαριασμός ληξιπρόθεσμος")]
    model = {"Ρολόι διακομιστή": 0.2, "Λογαριασμός ληξιπρόθεσμος": 0.7}
    unread = rank("Οφειλόμενος λογαριασμός", docs, embedder=_Cosines(model, reads=0.0))
    assert [s.id for s in unread.results] == ["b-near", "a-far"]


def test_a_key_every_candidate_shares_lifts_less_than_a_rare_one() -> None:
    common = {"category:customer_error"}
    docs = [Doc(id=f"other-{i}", text="widget api request rejected", evidence=common) for i in range(5)] + [
        Doc(id="rare", text="widget api request rejected", evidence={"code:widget_gone"})
    ]
    ranking = rank(
        "widget api request rejected", docs, query_evidence=common | {"code:widget_gone"}, embedder=None
    )
    # One shared key each and the same words: without rarity "other-0" would lead (ties go by id).
    assert ranking.results[0].id == "rare" and ranking.results[0].shared == ["code:widget_gone"]
    assert ranking.results[0].score > ranking.results[1].score + 0.5


def test_the_model_reads_english_and_not_a_language_it_splits_into_pieces() -> None:
    from casefile.agent.similar.embed import load_embedder, reading_of

    model = load_embedder()
    assert model is not None, "wordllama is a dependency: it must load"
    assert model.reading("Our staff cannot sign in with single sign-on since this morning.") == 1.0
    assert (
        model.reading("Wszystkie wywołania zwracają błąd uwierzytelniania od wczorajszego wieczoru.") == 0.0
    )
    assert model.reading("2026-01-01 12345") == 1.0  # nothing to read is no reason to distrust it
    assert reading_of(1.3) == 1.0 and reading_of(1.55) == 0.5 and reading_of(2.5) == 0.0


def test_without_a_model_bm25_ranks_and_says_so() -> None:
    docs = [Doc(id="a", text="SSO login broken"), Doc(id="b", text="invoice card")]
    ranking = rank("sso login", docs, embedder=None)
    assert ranking.method == "bm25" and [s.id for s in ranking.results] == ["a"]
    assert ranking.note and "BM25" in ranking.note


def _past(n: int, subject: str, category: str, summary: str, cited: str) -> PastCase:
    return PastCase(
        investigation_id=f"i{n}",
        ticket_id=str(n),
        subject=subject,
        category=category,
        summary=summary,
        cited=[cited],
    )


def test_past_diagnoses_ranked_by_cause_and_cited_bug() -> None:
    past = [
        _past(
            1, "SSO down", "sso_certificate_expired", "The IdP certificate expired.", "2026-11-19T23:59:59Z"
        ),
        _past(2, "Payments fail", "known_bug", "Known bug PAY-9 rejects card payments.", "PAY-9"),
        _past(3, "Card declined", "billing_card_declined", "The card payment was declined.", "expired_card"),
    ]
    found = similar_diagnoses(
        "Payments failing", "known_bug", "Open bug PAY-9.", ["PAY-9"], past, exclude=["i3"], embedder=_Words()
    )
    assert [c.case.investigation_id for c in found.cases] == ["i2", "i1"]
    assert found.cases[0].shared == ["bug:PAY-9", "category:known_bug"] and found.searched == 2


def test_codes_a_past_diagnosis_cited_in_passing_lift_it_less_than_a_ticket_naming_the_cause() -> None:
    """The same investigator cites an account's background codes on every case: a past diagnosis
    sharing two of them must not crowd out the resolved ticket that names the cause's code."""
    from casefile.agent.similar.past import case_doc
    from casefile.agent.similar.query import resolved_doc

    background = ["WGT-0400", "WGT-0409"]
    past = case_doc(
        PastCase(
            investigation_id="i1",
            ticket_id="1",
            subject="Widgets rejected",
            category="customer_error",
            summary="Rejected widget payloads since Monday: the customer's integration.",
            cited=[*background, "2026-11-02T10:00:00Z"],
        )
    )
    assert past.evidence == {"category:customer_error"}
    assert past.incidental == {"bug:WGT-0400", "bug:WGT-0409"}
    ticket = resolved_doc("h1", "Import of widgets fails", "Every row answers WGT-0422.", "Bad CSV.", [])
    wanted = {f"bug:{c}" for c in [*background, "WGT-0422"]}
    ranking = rank("widgets rejected on import", [past, ticket], query_evidence=wanted, embedder=None)
    assert [s.id for s in ranking.results] == ["h1", "i1"]
    # still shared: the past-diagnoses runbook reads a past case's shared keys
    assert ranking.results[1].shared == ["bug:WGT-0400", "bug:WGT-0409"]


def test_a_category_casefile_concluded_lifts_as_much_as_it_was_sure() -> None:
    """Two diagnoses wrong in the same way share their category: the ticket a person solved and
    tagged with it ranks above a past diagnosis that was unsure, and beside a sure one."""
    from casefile.agent.similar.past import case_doc
    from casefile.agent.similar.query import resolved_doc

    solved = resolved_doc("h1", "Widgets stuck", "", None, ["known-bug"])
    others = [Doc(id=f"h{i}", text=f"Gadget question {i}") for i in range(2, 6)]
    scores = {}
    for confidence in (0.7, 0.95):
        past = case_doc(
            PastCase(
                investigation_id="a-past",  # sorts first: a tie would put it on top
                ticket_id="1",
                subject="Widgets stuck",
                category="known_bug",
                confidence=confidence,
            )
        )
        assert past.concluded == {"category:known_bug"} and past.trust == (0.5 if confidence == 0.7 else 1.0)
        ranking = rank(
            "Widgets stuck", [past, solved, *others], query_evidence={"category:known_bug"}, embedder=None
        )
        scores[confidence] = {s.id: s.score for s in ranking.results}
        assert ranking.results[1].shared == ["category:known_bug"]
    assert scores[0.7]["h1"] > scores[0.7]["a-past"] > 1.0  # lifted, less than the person's tag
    assert scores[0.95]["h1"] == scores[0.95]["a-past"]


def test_an_endpoint_the_tools_found_is_shared_with_a_ticket_naming_its_operation() -> None:
    """Where a problem shows (the operation of the failing endpoint) is evidence too, though a third
    of a code's weight; only API paths count, not a URL's path or a version."""
    from casefile.agent.similar.evidence import identifiers

    assert evidence_keys("/v4/widgets:bulkSync and /v2/items/{id}") == {
        "endpoint:widgets:bulksync",
        "endpoint:items",
    }
    assert evidence_keys("https://hooks.example.test/v1/in /v2/1.2 ./bin/run") == set()
    assert identifiers("/v4/widgets:bulkSync 503 WID-3") == {"bug:WID-3"}
    docs = [
        Doc(id="a-other", text="Sync of our widgets fails since noon"),
        Doc(id="b-same-op", text="widgets:bulkSync fails since noon"),
    ]
    query = "Sync of our widgets fails since noon"
    ranking = rank(query, docs, query_evidence={"endpoint:widgets:bulksync"}, embedder=None)
    assert ranking.results[0].id == "b-same-op"
    assert ranking.results[0].shared == ["endpoint:widgets:bulksync"]
    assert ranking.results[0].score - ranking.results[1].score < 0.8  # less than a shared code


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_labelled_sets_name_real_tickets_and_hold_50_pairs(world: str) -> None:
    labels = load_labels(world)
    ids = world_ids(world)
    members = [m for group in labels.causes.values() for m in group]
    assert set(members) <= ids and len(members) == len(set(members))
    assert sum(len(g) * (len(g) - 1) // 2 for g in labels.causes.values()) >= 50


def test_the_packet_searches_history_with_the_diagnosis_identifiers_and_category() -> None:
    from datetime import UTC, datetime

    from casefile.agent.diagnosis import Diagnosis
    from casefile.agent.packet import FillContext, Sources, fill_calls
    from casefile.agent.ticket import Ticket
    from casefile.tools.tickets import TicketsSimilarArgs

    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    ticket = Ticket(id="T-9", subject="Exports broken", body="Our exports fail since Monday.", created_at=now)
    cited = [
        ("c1", "export_timeout", "code"),
        ("c2", "v3.4.1", "release"),
        ("c3", "2026-03-02T08:00:00Z", "onset"),
    ]
    diagnosis = Diagnosis.model_validate(
        {
            "ticket_id": "T-9",
            "summary": "Open bug ZED-77 makes exports fail with export_timeout since release v3.4.1.",
            "evidence": [{"call_id": c, "value": v, "claim": what} for c, v, what in cited],
            "related": [{"kind": "bug", "id": "ZED-77", "title": "Exports time out"}],
            "root_cause": {"category": "known_bug", "statement": "ZED-77"},
            **{"confidence": {"score": 0.8}, "customer_reply": "r", "action": "escalate"},
        }
    )
    ctx = FillContext("acct", now, now, Sources([], ticket), diagnosis)
    (tool, args), *_ = fill_calls(["similar_tickets"], ctx, lambda t: True)
    parsed = TicketsSimilarArgs.model_validate(args)  # the tool's own argument model accepts them
    assert tool == "tickets_similar" and parsed.category == "known_bug"
    assert parsed.evidence == ["export_timeout", "v3.4.1", "ZED-77"]  # identifiers only, not a timestamp
    assert parsed.text == f"Exports broken\nknown bug {diagnosis.summary}\nOur exports fail since Monday."
    unsure = diagnosis.model_copy(
        update={"confidence": diagnosis.confidence.model_copy(update={"score": 0.5})}
    )
    (_, guessed), *_ = fill_calls(
        ["similar_tickets"], FillContext("acct", now, now, Sources([], ticket), unsure), bool
    )
    # A guess adds neither its category, its words nor the identifiers the ticket does not name.
    assert "category" not in guessed and "confidence" not in guessed and "evidence" not in guessed
    assert guessed["text"] == "Exports broken\nOur exports fail since Monday."
    assert parsed.confidence == 0.8  # a sure enough diagnosis says how sure, and the tool weighs it
    # Without a diagnosis (nothing concluded yet) the search is the ticket's words alone.
    (_, bare), *_ = fill_calls(["similar_tickets"], FillContext("acct", now, now, Sources([], ticket)), bool)
    assert set(bare) == {"text", "limit"}


def test_eval_similar_names_a_label_that_points_at_no_ticket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casefile.agent.errors import UsageError
    from casefile.evals import similar

    (tmp_path / "quillmark.yaml").write_text(
        "world: quillmark\ncauses:\n  known_bug X-1:\n  - case:quillmark-docx-processing-bug\n"
        "  - history:H-404404\n",
        "utf-8",
    )
    monkeypatch.setattr(similar, "LABELS_DIR", tmp_path)
    with pytest.raises(UsageError, match=r"names history:H-404404, which is not a golden case or resolved"):
        similar.cmd_similar(["quillmark"], None, False)  # before any investigation is run


def test_a_path_segment_is_an_endpoint_not_an_error_code() -> None:
    keys = evidence_keys(
        "POST /v2/widget_orders answers 409 order_locked (see https://x.test/help/order_locked)"
    )
    assert keys == {"code:order_locked", "status:409", "endpoint:widget_orders"}


def test_a_path_template_parameter_is_a_field_and_a_problem_type_names_its_code() -> None:
    """``{parcel_ref}`` in an endpoint is a field every call of it carries, not an error; an RFC 9457
    problem type's last segment is the error, though kebab-case is not read in prose."""
    assert evidence_keys("slow on /v3/parcels/{parcel_ref}/print and {parcel_ref}") == {"endpoint:print"}
    assert evidence_keys("type https://api.widgets.test/problems/quota-spent, a one-hour wait") == {
        "code:quota-spent"
    }
    assert evidence_keys("see https://api.widgets.test/docs/quota-spent") == set()


def test_a_cited_code_of_any_shape_is_shared_with_a_ticket_that_names_it() -> None:
    from casefile.agent.similar.evidence import mentioned

    wanted = {"code:quota-spent", "bug:WID-7", "code:gone"}
    assert mentioned("Their job got 429 quota-spent every night.", wanted) == {"code:quota-spent"}
    assert mentioned("quota-spent-soon; the quota-spents; gone-away", wanted) == set()
    docs = [
        Doc(id="a-wording", text="nightly job rejected with 429, retried"),
        Doc(id="b-code", text="Their job got quota-spent; they waited"),
    ]
    ranking = rank("nightly job rejected", docs, query_evidence={"code:quota-spent"}, embedder=None)
    assert ranking.results[0].id == "b-code" and ranking.results[0].shared == ["code:quota-spent"]


def test_a_helpdesk_tag_names_a_category_with_or_without_its_family_word() -> None:
    from casefile.agent.diagnosis import CATEGORIES
    from casefile.agent.similar.evidence import tag_categories

    assert tag_categories(["Past-Due", "widgets", "402"], CATEGORIES) == {"billing_past_due"}
    assert tag_categories(["customer-error", "regression"], CATEGORIES) == {
        "customer_error",
        "deploy_regression",
    }
    assert tag_categories(["sso_certificate_expired"], CATEGORIES) == {"sso_certificate_expired"}
    # What is left without the family word may be too broad to name one cause.
    assert tag_categories(["platform", "account", "billing"], CATEGORIES) == set()
    # Single-word tags that spell a category out, whatever else is tagged; not half of one.
    assert tag_categories(["sso", "zorg-idp", "certificate", "mismatch"], CATEGORIES) == {
        "sso_certificate_mismatch"
    }
    assert tag_categories(["widgets", "performance", "platform"], CATEGORIES) == {"performance_platform"}
    assert tag_categories(["sso", "saml", "certificate"], CATEGORIES) == set()
    assert tag_categories(["performance", "widgets"], CATEGORIES) == set()
    # A tag that begins one category names it; one that begins two names neither.
    assert tag_categories(["no-issue", "widgets"], CATEGORIES) == {"no_issue_found"}
    assert tag_categories(["sso-certificate"], CATEGORIES) == set()


def test_a_resolved_ticket_tagged_with_the_diagnosed_cause_outranks_a_likelier_wording() -> None:
    from casefile.agent.similar.query import investigation_query, query_keys, resolved_doc

    docs = [
        resolved_doc("same-words", "card payment failed", "card payment problem", "Retried.", ["payments"]),
        resolved_doc("same-cause", "card payment", "invoice unpaid", "Paid the open invoice.", ["past-due"]),
    ]
    query = investigation_query("card payment problem", "", "billing_past_due", "The account is past due.")
    plain = rank(query.text, docs, embedder=_Words())
    assert plain.results[0].id == "same-words"
    lifted = rank(
        query.text, docs, query_evidence=query_keys(query.evidence, query.category), embedder=_Words()
    )
    assert lifted.results[0].id == "same-cause" and lifted.results[0].shared == ["category:billing_past_due"]
    # The fallback weighs the same evidence: a shared bug id lifts a case the words rank second.
    candidates = [*docs, Doc(id="bug", text="card payment", evidence={"bug:ZED-4"})]
    assert rank("card payment failed", candidates, embedder=None).results[0].id == "same-words"
    bm25 = rank("card payment failed", candidates, query_evidence={"bug:ZED-4"}, embedder=None)
    assert bm25.method == "bm25" and [s.id for s in bm25.results[:2]] == ["bug", "same-words"]


def test_the_query_carries_the_diagnosis_in_words_but_not_a_vague_one() -> None:
    from casefile.agent.similar.query import investigation_query

    q = investigation_query(
        "Facturas",
        "No podemos pagar",
        "billing_card_declined",
        "The card was declined.",
        ["card_declined", "2026-01-01T00:00:00Z", "ZED-9"],
    )
    assert q.text == "Facturas\nbilling card declined The card was declined.\nNo podemos pagar"
    assert q.evidence == ["card_declined", "ZED-9"] and q.category == "billing_card_declined"
    vague = investigation_query("Help", "it broke", "insufficient_evidence", "Not enough evidence.")
    assert vague.text == "Help\nit broke" and vague.category is None
    # A coin toss is neither a key nor words: the ticket's own words decide, with the identifiers
    # its tools cited that the ticket names too (the others are the account's background as often).
    guess = investigation_query(
        "Facturas", "No podemos pagar: ZED-9", "billing_card_declined", "Declined?", ["ZED-9", "QX_GONE"], 0.5
    )
    assert guess.text == "Facturas\nNo podemos pagar: ZED-9"
    assert guess.category is None and guess.confidence is None and guess.evidence == ["ZED-9"]
    lost = investigation_query("Help", "it broke", "insufficient_evidence", "", ["QX_GONE", "qx_gone"])
    assert lost.evidence == [] and lost.text == "Help\nit broke"
    named = investigation_query("Help", "we get qx_gone", "insufficient_evidence", "", ["QX_GONE"])
    assert named.evidence == ["QX_GONE"]  # named by the ticket in another case: still the ticket's own
    leaning = investigation_query(
        "Facturas", "No podemos pagar", "billing_card_declined", "Declined.", [], 0.7
    )
    assert leaning.category == "billing_card_declined" and leaning.confidence == 0.7


def test_a_diagnosed_category_lifts_its_cases_in_proportion_to_the_diagnosis_confidence() -> None:
    from casefile.agent.similar.query import category_trust, investigation_query, query_keys, resolved_doc

    assert [category_trust(c) for c in (None, 0.3, 0.5, 0.7, 0.9, 1.0)] == [1.0, 0.0, 0.0, 0.5, 1.0, 1.0]
    docs = [
        resolved_doc("same-words", "sync stopped", "the nightly sync stopped", "Restarted it.", ["sync"]),
        resolved_doc("same-cause", "sync paused", "invoice unpaid", "Paid the open invoice.", ["past-due"]),
    ]
    order = {}
    for confidence in (0.55, 0.7, 0.95):
        q = investigation_query("Our nightly sync stopped", "", "billing_past_due", "", [], confidence)
        ranking = rank(
            "Our nightly sync stopped",  # the words alone: the category's own words would match the tag
            docs,
            query_evidence=query_keys(q.evidence, q.category),
            embedder=None,
            category_trust=category_trust(q.confidence),
        )
        order[confidence] = [s.id for s in ranking.results]
        scores = {s.id: s.score for s in ranking.results}
        order[confidence].append(round(scores["same-cause"], 2))
    # The same key, worth more as the diagnosis is surer: a guess leaves the words to decide.
    assert order[0.55][:2] == ["same-words", "same-cause"] and order[0.95][:2] == ["same-cause", "same-words"]
    assert order[0.55][2] < order[0.7][2] < order[0.95][2]
    # A confidence that is no probability is refused with the argument named, not clamped silently.
    from pydantic import ValidationError

    from casefile.tools.tickets import TicketsSimilarArgs

    with pytest.raises(ValidationError, match="confidence"):
        TicketsSimilarArgs(text="sync stopped", category="billing_past_due", confidence=1.5)


def test_a_golden_case_the_labels_leave_out_joins_them_by_the_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A case added after the labels were written must not count a same-cause match as a miss."""
    from casefile.evals import similar

    (tmp_path / "quillmark.yaml").write_text(
        "world: quillmark\ncauses:\n  known_bug QMK-614:\n  - history:H-1076\n", "utf-8"
    )
    monkeypatch.setattr(similar, "LABELS_DIR", tmp_path)
    world = similar.load_world("quillmark")
    assert world.labels.causes["known_bug QMK-614"] == [
        "history:H-1076",
        "case:quillmark-docx-processing-bug",
    ]
    assert "case:quillmark-vague" not in world.by_rule  # no cause, no label
    assert similar.rule_cause("customer_error", ["kh_0123456789abcdef", "widget_locked"]) == (
        "customer_error widget_locked"
    )
    assert similar.rule_cause("sso_config", ["https://x.test/acs"]) == "sso_config"


def test_the_packets_own_search_is_measured_on_resolved_tickets_alone() -> None:
    """ "resolved only" ranks what ``tickets_similar`` ranks: no past diagnosis is a candidate or a mate."""
    from datetime import UTC, datetime

    from casefile.agent.ticket import Ticket
    from casefile.evals.scoring import CaseScore
    from casefile.evals.similar import Labels, World, score_world

    now = datetime(2026, 3, 2, tzinfo=UTC)
    tickets = {
        f"case:{c}": Ticket(id=c, subject="Widget sync fails", body="Widget sync fails", created_at=now)
        for c in ("a", "b")
    }
    history = [Doc(id="history:h1", text="Account question answered")] + [
        Doc(id=f"history:h{i}", text=f"Widget sync fails, case {i}") for i in (2, 3, 4)
    ]
    labels = Labels(world="w", causes={"sync": ["case:a", "case:b", "history:h1"]})
    world = World(name="w", tickets=tickets, history=history, labels=labels)
    diagnoses = {
        c: CaseScore(case_id=c, category="known_bug", summary="Open bug WID-1 breaks sync.", cited=["WID-1"])
        for c in ("a", "b")
    }
    mixed = score_world(world, None, diagnoses, "investigation")
    packet = score_world(world, None, diagnoses, "investigation", "resolved")
    assert mixed.precision_at_3 == 0.5  # the other case's past diagnosis is found, h1 is not
    assert packet.queries == 2 and packet.precision_at_3 == 0.0
    assert all("case:" not in miss.split("→")[1] for miss in packet.misses)
    labels.causes["sync"].remove("history:h1")
    assert score_world(world, None, diagnoses, "investigation", "resolved").queries == 0


def test_eval_similar_reports_the_queries_the_investigator_diagnosed_wrongly() -> None:
    from datetime import UTC, datetime

    from casefile.agent.ticket import Ticket
    from casefile.evals.scoring import CaseScore
    from casefile.evals.similar import Labels, World, misdiagnosed, score_world

    now = datetime(2026, 3, 2, tzinfo=UTC)
    tickets = {
        f"case:{c}": Ticket(id=c, subject="Widget sync fails", body="Widget sync fails", created_at=now)
        for c in ("a", "b", "c")
    }
    labels = Labels(world="w", causes={"sync": ["case:a", "case:b"], "other": ["case:c", "history:h"]})
    world = World(
        name="w", tickets=tickets, history=[Doc(id="history:h", text="An unrelated question")], labels=labels
    )
    diagnoses = {
        "a": CaseScore(case_id="a", category="known_bug", category_ok=True, cited=["WID-1"]),
        "b": CaseScore(case_id="b", category="known_bug", category_ok=True, cited=["WID-1"]),
        "c": CaseScore(case_id="c", category="known_bug", category_ok=False, cited=["WID-1"]),
    }
    score = score_world(world, None, diagnoses, "investigation")
    # c was diagnosed as a and b were: the same bug ranks them above its true cause-mate.
    assert score.precisions["case:c"] == 0.0 and score.precisions["case:a"] == 1.0
    assert misdiagnosed(score, diagnoses) == {"case:c": 0.0}
    # A case without a diagnosis counts as wrong too.
    assert set(misdiagnosed(score, {k: v for k, v in diagnoses.items() if k != "a"})) == {"case:a", "case:c"}
