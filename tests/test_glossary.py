"""The multilingual support glossary is data (each language's ``nouns`` in agent/differential/languages/):
every entry must be reachable, and said once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from casefile.agent.differential import glossary
from casefile.agent.differential.glossary import english
from casefile.agent.phrasebook import LanguageError, _pattern, languages, load_language


def test_every_spaced_word_is_one_lowercase_token_the_reader_can_meet() -> None:
    for lang in languages().values():
        for word in lang.nouns:
            if lang.spaced:
                # Tickets are lowercased and cut into letter runs: anything else would never match.
                assert glossary._TOKEN.fullmatch(word) and word == word.lower() and len(word) >= 3, word
            else:
                assert " " not in word, word
    assert any(lang.nouns for lang in languages().values() if not lang.spaced)


def test_no_noun_repeats_a_phrase_of_its_language() -> None:
    # A noun a phrase of the same language already reads the same way is a twin: the phrase is enough.
    for code, lang in languages().items():
        for word, meaning in lang.nouns.items():
            twins = [
                p for p in lang.phrases.get(meaning, []) if re.fullmatch(_pattern(p, lang.spaced), word, re.I)
            ]
            assert not twins, (code, word, twins)


def test_a_yaml_boolean_or_number_as_a_word_is_refused(tmp_path: Path) -> None:
    # YAML reads an unquoted `no:` or `on:` as a boolean: such an entry must fail loudly, not vanish.
    bad = tmp_path / "xx.yaml"
    bad.write_text("name: Test\nphrases: {error: [fehla]}\nnouns: {no: none}\n", encoding="utf-8")
    with pytest.raises(LanguageError, match=r"xx\.yaml: nouns"):
        load_language(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Unsere Sammelauszahlungen schlagen fehl", ["batch", "payout"]),  # a compound, by its nouns
        ("Die Sammelrechnungen fehlen", ["batch", "invoice"]),  # and by a one-word phrase (rechnung*)
        ("remboursement partiel refusé", ["refund", "partial"]),
        ("il pagamento non è andato a buon fine", ["payment"]),
        ("ファームウェア更新の後", ["firmware", "update"]),  # no spaces: found anywhere
    ],
)
def test_english_reads_each_kind_of_word(text: str, expected: list[str]) -> None:
    assert set(expected) <= set(english(text))


def test_only_a_compounding_language_is_read_inside_a_word() -> None:
    # English words contain Romance ones ("uninformed" ⊃ "informe"): only German is read by its parts.
    assert english("uninformed users") == []
    assert set(english("Sammelrechnungen")) == {"batch", "invoice"}
