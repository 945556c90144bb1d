"""The multilingual support glossary is data (agent/differential/glossary.yaml): every entry must be reachable."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from casefile.agent.differential import glossary
from casefile.agent.differential.glossary import Glossary, english

GLOSSARY_FILE = Path(glossary.__file__).with_name("glossary.yaml")


def test_every_spaced_word_is_one_lowercase_token_the_reader_can_meet() -> None:
    data = Glossary.model_validate(yaml.safe_load(GLOSSARY_FILE.read_text("utf-8")))
    for word in [*data.compounding, *data.words]:
        # Tickets are lowercased and cut into letter runs: anything else would never match.
        assert glossary._TOKEN.fullmatch(word) and word == word.lower() and len(word) >= 3, word
    assert data.anywhere and all(" " not in word for word in data.anywhere)


def test_a_yaml_boolean_or_number_as_a_word_is_refused() -> None:
    # YAML reads an unquoted `no:` or `on:` as a boolean: such an entry must fail loudly, not vanish.
    with pytest.raises(ValidationError):
        Glossary.model_validate(yaml.safe_load("compounding: {}\nwords: {no: none}\nanywhere: {}\n"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Unsere Sammelauszahlungen schlagen fehl", ["batch", "payout"]),  # a compound, by its parts
        ("remboursement partiel refusé", ["refund", "partial"]),
        ("il pagamento non è andato a buon fine", ["payment"]),
        ("ファームウェア更新の後", ["firmware", "update"]),  # no spaces: found anywhere
    ],
)
def test_english_reads_each_section(text: str, expected: list[str]) -> None:
    assert set(expected) <= set(english(text))
