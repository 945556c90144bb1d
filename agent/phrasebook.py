"""Support phrases of tickets in Dutch, Italian, Portuguese and Japanese, said in English.

The signal rules read English, and German, French and Spanish where they name their words
(``signals/text.py``, ``timewords.py``). A customer of another language writes "alles is traag",
"il pagamento non è andato a buon fine", "as chamadas são recusadas", "403エラーになり": without
a reading of those, a clear ticket looks like a vague one. :func:`reading` gives the ticket's text
followed, when any phrase below occurs, by the same text with those phrases rewritten in English,
so every English rule (symptoms, areas, statuses, time words) reads it too and nothing of the
original is lost (codes, ids and paths stay as written). Only general support vocabulary: no
product's or company's words. Japanese is written without spaces, so its phrases match anywhere
and a number glued to them ("403エラー") is set apart.
"""

from __future__ import annotations

import re

__all__ = ["reading"]

# (phrase, English), case-insensitive, matched as whole words (Latin scripts).
_LATIN: tuple[tuple[str, str], ...] = (
    # --- Dutch
    (r"werk(?:t|en) niet(?: meer)?", "is not working"),
    (r"doe(?:t|n) het niet(?: meer)?", "is not working"),
    (r"foutmelding(?:en)?|fout(?:en)?", "error"),
    (r"uitval", "outage"),  # not "storing": an English word too
    (r"traag|langzaam|trager", "slow"),
    (r"meldingen|notificaties", "notifications"),
    (r"(?:komen|kwamen) (?:er )?geen ([\w-]+(?: [\w-]+)?) (?:meer )?binnen", r"no \1 arrived"),
    (r"(?:ontvangen|krijgen) (?:we|wij) geen", "we stopped receiving"),
    (r"inloggen|aanmelden", "sign in"),
    (r"betaling(?:en)?", "payment"),
    (r"facturen|factuur", "invoice"),
    (r"geweigerd|afgewezen", "refused"),
    (r"geblokkeerd", "blocked"),
    (r"kapot", "broken"),
    (r"tijdzone", "timezone"),
    (r"klop(?:t|pen) niet", "does not match"),
    (r"sinds gisteravond", "since yesterday evening"),
    (r"sinds vanochtend|sinds vanmorgen", "since this morning"),
    (r"sinds gisteren", "since yesterday"),
    (r"sinds een paar uur", "for a few hours"),
    (r"vandaag", "today"),
    (r"gisteren", "yesterday"),
    # --- Italian
    (r"non funziona(?:no)?(?: più)?", "is not working"),
    (r"errori|errore", "error"),
    (r"lent[oaie]|lentezza|rallentament[oi]", "slow"),
    (r"notifiche|avvisi", "notifications"),
    (r"non arriva(?:no)?(?: più)?", "never arrived"),
    (r"accedere|accesso|login aziendale", "sign in"),
    (r"pagament[oi]", "payment"),
    (r"abbonamento", "subscription"),
    (r"fattur[ae]", "invoice"),
    (r"non (?:è|e') andato a buon fine|non riuscit[oa]", "failed"),
    (r"rifiutat[oaie]|respint[oaie]", "refused"),
    (r"bloccat[oaie]", "blocked"),
    (r"fuso orario", "timezone"),
    (r"non corrispond(?:e|ono)", "does not match"),
    (r"disservizio|interruzione", "outage"),
    (r"carta di credito", "credit card"),
    (r"esportazione", "export"),
    (r"da (?:oggi pomeriggio|questo pomeriggio)", "since this afternoon"),
    (r"da (?:stamattina|questa mattina|stamani)", "since this morning"),
    (r"da ieri sera", "since yesterday evening"),
    (r"da ieri", "since yesterday"),
    (r"oggi", "today"),
    (r"ieri", "yesterday"),
    # --- Portuguese
    (r"não funciona(?:m)?(?: mais)?", "is not working"),
    (r"erros?", "error"),
    (r"lentid[ãa]o|lent[oa]s?", "slow"),
    (r"notificações|notificação|avisos", "notifications"),
    (r"não (?:chega(?:m)?|recebemos)(?: mais)?", "never arrived"),
    (r"recusad[oa]s?|rejeitad[oa]s?", "refused"),
    (r"bloquead[oa]s?", "blocked"),
    (r"pagamentos?", "payment"),
    (r"assinatura", "subscription"),
    (r"faturas?", "invoice"),
    (r"cartão", "card"),
    (r"fuso horário", "timezone"),
    (r"não bate(?:m)?", "does not match"),
    (r"fora do ar", "down"),
    (r"exportação", "export"),
    (r"desde ontem à noite", "since last night"),
    (r"desde hoje de manhã|desde esta manhã", "since this morning"),
    (r"desde ontem", "since yesterday"),
    (r"hoje", "today"),
    (r"ontem", "yesterday"),
    (r"esta semana", "this week"),
)
# Japanese: no spaces between words, so no word boundaries.
_JAPANESE: tuple[tuple[str, str], ...] = (
    ("エラー", "error"),
    ("失敗", "failed"),
    ("できません|できない|できなく", "cannot"),
    ("ログイン|サインイン", "sign in"),
    ("遅延|遅い|遅く", "slow"),
    ("通知", "notifications"),
    ("届かない|届きません|届いていません", "never arrived"),
    ("支払い|決済", "payment"),
    ("請求書", "invoice"),
    ("カード", "card"),
    ("停止|ロック", "blocked"),
    ("拒否", "refused"),
    ("障害", "outage"),
    ("タイムゾーン|時差", "timezone"),
    ("一致しない|合わない", "does not match"),
    ("既知の問題|既知の不具合", "known issue"),
    ("回避策", "workaround"),
    ("不具合|バグ", "bug"),
    ("今朝から", "since this morning"),
    ("昨夜から|昨晩から", "since last night"),
    ("昨日から", "since yesterday"),
    ("今日", "today"),
    ("昨日", "yesterday"),
    ("今週", "this week"),
)

_RULES: list[tuple[re.Pattern[str], str]] = [
    *((re.compile(rf"(?<!\w)(?:{p})(?!\w)", re.IGNORECASE), e) for p, e in _LATIN),
    *((re.compile(p), f" {e} ") for p, e in _JAPANESE),
]


# A number written against kana or kanji ("が403エラー") is a word of its own.
_GLUED_NUMBER = re.compile(r"(?<=[\u3040-\u30ff\u3400-\u9fff])(?=\d)|(?<=\d)(?=[\u3040-\u30ff\u3400-\u9fff])")


def reading(text: str) -> str:
    """``text``, then (when it uses any phrase above) the same text with those phrases in English."""
    english = _GLUED_NUMBER.sub(" ", text)
    for pattern, replacement in _RULES:
        english = pattern.sub(replacement, english)
    return text if english == text else f"{text}\n\n{english}"
