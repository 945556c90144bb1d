"""Tickets in the languages B2B customers write, read in English (agent/phrasebook.py and its data in
agent/differential/languages/): each language on invented tickets, with the word forms it inflects.
No bundled world's names or ticket texts."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_differential import billing, issue, state, summary

from casefile.agent.differential import Evidence, assess
from casefile.agent.phrasebook import LanguageError, languages, load_language, reading
from casefile.agent.signals import extract_statuses

# (language file, ticket, areas it must be read as about, time hint, or None when it names no time)
TICKETS: list[tuple[str, str, set[str], str | None]] = [
    ("de", "Die Zahlung mit der Kreditkarte wird abgelehnt, die Rechnung bleibt offen.", {"billing"}, None),
    ("fr", "Depuis hier la facture reste impayée et le paiement est refusé.", {"billing"}, "since yesterday"),
    ("es", "Las notificaciones no llegan desde el lunes.", {"webhook"}, "since monday"),
    ("nl", "Sinds gisteren werkt inloggen niet meer voor onze collega's.", {"sso"}, "since yesterday"),
    ("it", "Da stamattina l'esportazione è lentissima.", {"export", "performance"}, "since this morning"),
    ("pt", "A fatura do cartão foi recusada ontem.", {"billing"}, "yesterday"),
    ("sv", "Sedan i går fungerar inte inloggningen, vi får felmeddelanden.", {"sso"}, "since yesterday"),
    ("sv", "Betalningen med kortet nekades och fakturan är obetald.", {"billing"}, None),
    ("da", "Siden i morges er alt meget langsomt i dashboardet.", {"performance"}, "since this morning"),
    ("nb", "Varslene kommer ikke frem siden i går.", {"webhook"}, "since yesterday"),
    ("fi", "Laskun maksu epäonnistui eilen ja kortti hylättiin.", {"billing"}, "yesterday"),
    ("fi", "Kirjautuminen ei toimi tänä aamuna.", {"sso"}, "this morning"),
    ("pl", "Od wczoraj płatności kartą są odrzucane, faktury nie przeszły.", {"billing"}, "since yesterday"),
    ("pl", "Powiadomienia nie docierają od rana.", {"webhook"}, "since this morning"),
    ("cs", "Od včera nefunguje přihlášení, hlásí to chybu.", {"sso"}, "since yesterday"),
    ("cs", "Platba kartou byla zamítnuta a faktura je po splatnosti.", {"billing"}, None),
    ("tr", "Dünden beri ödeme başarısız oluyor, faturamız ödenmedi.", {"billing"}, "since yesterday"),
    ("tr", "Bildirimler bu sabahtan beri gelmiyor.", {"webhook"}, "since this morning"),
    ("id", "Sejak kemarin pembayaran dengan kartu kredit gagal.", {"billing"}, "since yesterday"),
    ("id", "Aplikasinya sangat lambat sejak tadi pagi.", {"performance"}, "since this morning"),
    ("ko", "어제부터 로그인이 안 돼요.", {"sso"}, "since yesterday"),
    ("ko", "오늘 아침부터 결제가 실패합니다.", {"billing"}, "since this morning"),
    ("zh", "从昨天开始付款失败，发票也没有收到。", {"billing"}, "since yesterday"),
    ("zh", "今天早上开始系统很慢。", {"performance"}, "since this morning"),
    ("ja", "昨日から通知が届きません。", {"webhook"}, "since yesterday"),
    ("hu", "Tegnap óta nem működik a belépés, a rendszer hibát jelez.", {"sso"}, "since yesterday"),
    ("hu", "Ma reggel óta minden nagyon lassú a felületen.", {"performance"}, "since this morning"),
    (
        "ro",
        "De ieri plata cu cardul de credit a fost respinsă, factura e neplătită.",
        {"billing"},
        "since yesterday",
    ),
    ("ro", "Notificările nu mai ajung de azi dimineață.", {"webhook"}, "since this morning"),
    ("vi", "Từ hôm qua chúng tôi không thể đăng nhập vào hệ thống.", {"sso"}, "since yesterday"),
    ("vi", "Số liệu theo ngày không khớp với báo cáo của chúng tôi.", {"data"}, None),
    ("el", "Από χθες δεν μπορούμε να συνδεθούμε στην εφαρμογή.", {"sso"}, "since yesterday"),
    ("el", "Τα ημερήσια νούμερα δεν ταιριάζουν με τη δική μας αναφορά.", {"data"}, None),
    # session 10, beside the rules that hold for any language (tests/test_any_script_reading.py)
    (
        "uk",
        "З учора не працює вхід через наш корпоративний логін, видає помилку.",
        {"sso"},
        "since yesterday",
    ),
    ("uk", "Щоденні цифри у звіті не збігаються з нашими.", {"data"}, None),
    ("sk", "Od včerajšieho rána nám nefunguje prihlásenie, hlási chybu.", {"sso"}, "since yesterday morning"),
    ("sk", "Platba kartou bola zamietnutá a faktúra je po splatnosti.", {"billing"}, None),
    (
        "ca",
        "Des d'ahir el pagament amb targeta és rebutjat i la factura no quadra.",
        {"billing"},
        "since yesterday",
    ),
    ("ca", "Les notificacions no arriben des d'aquest matí.", {"webhook"}, "since this morning"),
    ("hi", "कल से भुगतान विफल हो रहा है और इनवॉइस नहीं मिला।", {"billing"}, "since yesterday"),
    ("hi", "दैनिक रिपोर्ट के आंकड़े हमारे रिकॉर्ड से मेल नहीं खाते।", {"data"}, None),
    # languages no world has used yet, in the same template (invented tickets)
    ("et", "Tere, alates eilsest ei tööta sisselogimine, tuleb veateade.", {"sso"}, "since yesterday"),
    (
        "bg",
        "Здравейте, от вчера плащането с карта е отхвърлено, фактурата е неплатена.",
        {"billing"},
        "since yesterday",
    ),
    ("ru", "Здравствуйте, со вчерашнего дня не работает вход, пишет ошибка.", {"sso"}, "since yesterday"),
    ("hr", "Pozdrav, od jutros ne radi prijava, dobivamo grešku.", {"sso"}, "since this morning"),
    ("ta", "வணக்கம், நேற்று முதல் உள்நுழைவு வேலை செய்யவில்லை, பிழை வருகிறது.", {"sso"}, "since yesterday"),
    ("fa", "سلام، از دیروز پرداخت با کارت رد شد و فاکتور پرداخت نشده است.", {"billing"}, "since yesterday"),
    ("tl", "Hi po, mula kahapon hindi gumagana ang pag-login namin, may error.", {"sso"}, "since yesterday"),
]


@pytest.mark.parametrize(
    ("lang", "text", "areas", "hint"), TICKETS, ids=[f"{t[0]}-{i}" for i, t in enumerate(TICKETS)]
)
def test_each_language_is_read_for_its_areas_time_and_symptom(
    lang: str, text: str, areas: set[str], hint: str | None
) -> None:
    assert lang in languages()
    s = state(text)
    assert areas <= set(s.signals.areas), reading(text)
    if hint is not None:
        assert s.signals.time_hint == hint, reading(text)
    # A ticket that names a symptom in its language is not a vague one.
    assert not any("names no concrete symptom" in h.statement for h in assess(s, Evidence()).hypotheses)


def test_the_languages_customers_write_are_all_there() -> None:
    assert set(languages()) >= {
        *("de", "fr", "es", "sv", "da", "nb", "fi", "pl", "cs", "tr", "id", "ko", "zh"),
        *("nl", "it", "pt", "ja", "hu", "ro", "vi", "el", "uk", "sk", "ca", "hi"),
        *("et", "bg", "ru", "hr", "ta", "fa", "tl"),
    }


def test_inflected_forms_are_read_by_their_stem() -> None:
    def english(text: str) -> str:
        return reading(text).split("\n\n", 1)[-1]

    for text in ("płatność", "płatności", "płatnością"):  # Polish cases
        assert english(f"Problem: {text}") == "Problem: payment"
    for text in ("lasku", "laskun", "laskut"):  # Finnish cases
        assert english(f"{text} puuttuu") == "invoice missing"
    assert english("faturamızı göremiyoruz").startswith("invoice")  # Turkish suffixes
    assert english("결제가") == "payment" and english("결제를") == "payment"  # Korean particles


def test_numbers_and_words_are_carried_into_the_english() -> None:
    assert "3 hours ago" in reading("Logowanie nie działa od 3 godzin, błąd pojawił się 3 godziny temu")
    assert "2 hours ago" in reading("Ödeme 2 saat önce başarısız oldu")
    assert "3 hours ago" in reading("3小时前开始报错")
    # a number glued to hangul is a word of its own
    assert extract_statuses(reading("모든 요청이 403에러로 실패합니다")) == [403]
    # a phrase carrying words keeps them, and they are read too
    assert "no notifications arrived" in reading("Er komen geen meldingen meer binnen")
    # a number word of the language is a number too, said in English
    assert reading("vor zwei Stunden").endswith("two hours ago")
    assert reading("il y a quelques jours").endswith("a few days ago")
    assert reading("desde hace tres semanas").endswith("for three weeks")
    assert reading("vor zwanzig Stunden") == "vor zwanzig Stunden"  # not a number word it lists


def test_the_end_of_a_compound_is_read_and_its_first_part_stays_a_word() -> None:
    def english(text: str) -> str:
        return reading(text).split("\n\n", 1)[-1]

    assert english("Verbindungsfehler beim Abruf") == "Verbindungs error beim Abruf"
    assert english("Zahlungsfehler") == "payment error"  # the first part is read by its own phrase
    assert english("Ist das ein bekannter Fehler?") == "Ist das ein known issue?"  # a longer phrase
    assert english("Fehler") == "error"  # a compound's end needs a first part


# Words of German, French and Spanish tickets that rules in code once listed beside their English:
# read now through those languages' files only (ticket, an area it is about or None: a symptom).
FORMER_CODE_WORDS: list[tuple[str, str | None]] = [
    ("Die Anmeldeseite lädt nicht", "sso"),
    ("Connexion au portail refusée", "sso"),
    ("No podemos iniciar sesion", "sso"),
    ("Abbuchungen doppelt", "billing"),
    ("Problème de facturation", "billing"),
    ("Les prélevements sont rejetés", "billing"),
    ("Le navigateur affiche une page blanche", "ui"),
    ("El boton no responde", "ui"),
    ("Zeituberschreitung beim Abruf", "performance"),
    ("La carga tarda muchísimo", "performance"),
    ("Falsche Summen im Bericht", "data"),
    ("Impossible d'exporter les commandes", "export"),
    ("Die Synchronisierung bricht ab", None),
    ("Seit heute ein Ausfall bei euch?", None),
    ("La orden no llego", None),
    ("Rien ne fonctionne depuis ce matin", None),
]


@pytest.mark.parametrize(("text", "area"), FORMER_CODE_WORDS)
def test_words_once_listed_in_code_are_read_from_the_language_files(text: str, area: str | None) -> None:
    s = state(text)
    if area is not None:
        assert area in s.signals.areas, reading(text)
    else:  # no area: the ticket names a symptom by its words alone
        assert not any("names no concrete symptom" in h.statement for h in assess(s, Evidence()).hypotheses)


def test_the_longest_phrase_wins_across_languages() -> None:
    # Swedish "sedan i går" (since yesterday), not Danish/Norwegian "i går" (yesterday) after "sedan"
    assert state("Det fungerar inte sedan i går").signals.time_hint == "since yesterday"


ENGLISH = [
    "Our API calls fail with 500 since this morning, is there an outage?",
    "Webhooks stopped arriving yesterday; our endpoint returns 200.",
    "Users cannot log in with SSO, the SAML response is rejected.",
    "The invoice was charged twice and the card was declined.",
    "Exports time out and reports are slow; we hit the rate limit of 100 requests per minute.",
    "After the update the import of employees is broken, the page shows an error.",
    "Please refund the duplicate payment and send the receipt.",
    "The dashboard button does nothing in Safari 17.2, known issue? Any workaround?",
    "Since Monday our subscription shows past due although we paid.",
    "Timezone of the totals is wrong: numbers don't match our report.",
    "We imported 2,000 records, limits exceeded, the plan says 1,000.",
    "Kind regards, the data team at a mid-size logistics company in Oslo",
    # English words that begin like another language's stem (es informe*, fr limite*, it duplicat*)
    "We informed support and reported the duplicated rows; the reporter said access is limited.",
]


def test_english_tickets_are_read_as_they_are() -> None:
    # No phrase of any language rewrites an English word: an English ticket reads unchanged.
    for text in ENGLISH:
        assert reading(text) == text


def test_a_broken_language_file_is_named_with_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "xx.yaml"
    bad.write_text("name: Test\nphrases:\n  error: [(optional only)]\n", encoding="utf-8")
    with pytest.raises(LanguageError, match=r"xx\.yaml: phrases: .*no word that must occur") as info:
        load_language(bad)
    assert "\n" not in str(info.value)
    bad.write_text("name: Test\nphrases: {error: [a, b]}\nweekdays: [one, two]\n", encoding="utf-8")
    with pytest.raises(LanguageError, match="7 entries"):
        load_language(bad)
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(LanguageError, match=r"xx\.yaml"):
        load_language(bad)


def test_a_ticket_in_a_listed_language_finds_the_bug_filed_in_english() -> None:
    # No glossary entry for these Polish words: the phrasebook's readings reach the English title.
    from casefile.agent.differential.glossary import english

    text = "Od wczoraj eksport raportów nie działa, płatności kartą są odrzucane. Znany problem?"
    assert {"export", "report", "payment", "card", "refused"} <= set(english(text))
    bug = issue(
        "TRK-52", "Report export refused for card payment reports", "In Progress", "Export as CSV meanwhile."
    )
    ev = Evidence(summary=summary(0), billing=billing(), bugs=[(bug, "c9")])
    h = next(h for h in assess(state(text), ev).hypotheses if h.category == "known_bug")
    assert "TRK-52" in {c.value for c in h.evidence}
    # when it began is not a bug's word
    assert "since yesterday" not in english(text)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        # a known issue asked about, the symptom said in the customer's words
        (
            "Le statut « Expédié » nous arrive avec des heures de retard. Un souci connu ?",
            "Shipped status arrives hours late",
        ),
        (
            "Las etiquetas de Parcelix no se generan desde ayer. ¿Es un error conocido? ¿Hay alguna forma de enviarlas mientras tanto?",
            "Parcelix labels fail without customs data",
        ),
        (
            "안녕하세요. 예약 알림 문자가 중간에 잘려요. 알려진 문제인가요?",
            "Appointment reminder SMS text cut off",
        ),
    ],
)
def test_a_known_issue_asked_about_in_another_language_finds_the_bug_filed_in_english(
    text: str, title: str
) -> None:
    bug = issue("TRK-77", title, "In Progress", "Use the other channel meanwhile.")
    ev = Evidence(summary=summary(0), billing=billing(), bugs=[(bug, "c9")])
    h = assess(state(text), ev).best
    assert h is not None and h.category == "known_bug", assess(state(text), ev).render()
    assert "TRK-77" in {c.value for c in h.evidence}


def test_things_that_never_reach_the_customers_system_are_deliveries_in_danish_and_german() -> None:
    from casefile.agent.signals import extract_areas

    assert "never arrived" in reading("Aftalerne når aldrig frem til vores system.")
    for text in (
        "Siden i går er der ikke kommet nye ordrer over i vores lagersystem fra jer.",
        "Heute sind in unserem ERP keine Lieferscheine von Ihnen angekommen.",
    ):
        assert "webhook" in extract_areas(reading(text)), reading(text)
    # what arrived is no delivery question
    assert "webhook" not in extract_areas(reading("Heute ist in unserem ERP die Rechnung angekommen."))
