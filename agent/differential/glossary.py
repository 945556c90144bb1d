"""The English words of a ticket's support vocabulary in German, French, Spanish, Italian,
Portuguese, Dutch or Japanese.

Bugs are filed in English, customers write in their own language: "Sammelauszahlungen"
is a batch of payouts, "remboursement partiel" a partial refund. :func:`english` gives
the English equivalents of the general B2B/API nouns and verbs a ticket uses (no
company's product names), so bug searches and their ranking can match the issue's
title. German compounds are read by their parts ("Sammel|auszahlungen").
"""

from __future__ import annotations

import re

__all__ = ["english"]

# Whole words (a trailing plural s/n/en/es tolerated); German ones also as parts of a compound.
_GERMAN: dict[str, str] = {
    "auszahlung": "payout", "zahlung": "payment", "erstattung": "refund", "rechnung": "invoice",
    "bericht": "report", "datei": "file", "hochladen": "upload", "anmeldung": "login", "benutzer": "user",
    "konto": "account", "bestellung": "order", "sendung": "shipment", "lieferung": "delivery",
    "abonnement": "subscription", "schaltfläche": "button", "tabelle": "table", "zeitplan": "schedule",
    "aufgabe": "job", "verbindung": "connection", "datenbank": "database", "schlüssel": "key",
    "sammel": "batch", "stapel": "batch", "teilweise": "partial", "teil": "partial", "erfassung": "capture",
    "währung": "currency", "streitfall": "dispute", "nachweis": "evidence", "überweisung": "transfer",
    "kunde": "customer", "vorlage": "template", "synchronisierung": "sync", "doppelt": "duplicate",
    "zeitzone": "timezone", "leer": "blank",
}  # fmt: skip
_ROMANCE: dict[str, str] = {
    # French
    "paiement": "payment", "virement": "transfer", "remboursement": "refund", "facture": "invoice",
    "rapport": "report", "fichier": "file", "téléverser": "upload", "utilisateur": "user", "compte": "account",
    "commande": "order", "envoi": "shipment", "lots": "batch", "tâche": "job", "exécution": "run",
    "devise": "currency", "litige": "dispute", "partiel": "partial", "partielle": "partial",
    "connexion": "connection", "clé": "key", "modèle": "template", "doublon": "duplicate", "vide": "blank",
    "fuseau": "timezone", "pièce": "attachment", "preuve": "evidence", "chargement": "load",
    # Spanish
    "pago": "payment", "reembolso": "refund", "factura": "invoice", "informe": "report", "reporte": "report",
    "archivo": "file", "subir": "upload", "usuario": "user", "cuenta": "account", "pedido": "order",
    "envío": "shipment", "lote": "batch", "tarea": "job", "ejecución": "run", "moneda": "currency",
    "disputa": "dispute", "parcial": "partial", "captura": "capture", "conexión": "connection",
    "clave": "key", "plantilla": "template", "duplicado": "duplicate", "vacía": "blank", "vacío": "blank",
    "carga": "load", "transferencia": "transfer", "sincronización": "sync", "programación": "schedule",
    # Italian
    "pagamento": "payment", "rimborso": "refund", "fattura": "invoice", "rapporto": "report",
    "utente": "user", "ordine": "order", "spedizione": "shipment", "esportazione": "export",
    "viaggio": "trip", "viaggi": "trip", "veicolo": "vehicle", "veicoli": "vehicle", "mezzi": "vehicle",
    "autista": "driver", "autisti": "driver", "mappa": "map", "dispositivo": "device", "dispositivi": "device",
    "aggiornamento": "update", "firma": "signature", "documento": "document", "modello": "template",
    "elenco": "list", "caricamento": "upload", "fuso": "timezone", "doppio": "duplicate",
    # Portuguese
    "relatório": "report", "arquivo": "file", "usuário": "user", "conta": "account",
    "viagem": "trip", "viagens": "trip", "veículo": "vehicle", "veículos": "vehicle", "caminhões": "truck",
    "motorista": "driver", "mapa": "map", "atualização": "update",
    "exportação": "export", "assinatura": "subscription", "fatura": "invoice",
    # Dutch
    "betaling": "payment", "factuur": "invoice", "bestand": "file",
    "gebruiker": "user", "rekening": "account", "bestelling": "order", "zending": "shipment", "rit": "trip",
    "ritten": "trip", "wagen": "vehicle", "voertuig": "vehicle", "chauffeur": "driver", "kaart": "map",
    "apparaat": "device", "melding": "notification", "meldingen": "notification", "koppeling": "integration",
    "exporteren": "export", "sjabloon": "template",
}  # fmt: skip
# Japanese has no spaces: these are found anywhere in the text.
_JAPANESE: dict[str, str] = {
    "ファームウェア": "firmware", "アップデート": "update", "更新": "update", "走行距離": "distance",
    "オドメーター": "odometer", "トラッカー": "tracker", "車両": "vehicle", "地図": "map", "マップ": "map",
    "ドライバー": "driver", "運転手": "driver", "レポート": "report", "エクスポート": "export",
    "請求書": "invoice", "支払い": "payment", "返金": "refund", "注文": "order", "配送": "delivery",
    "ユーザー": "user", "アカウント": "account", "ファイル": "file", "アップロード": "upload", "署名": "signature",
    "通知": "notification", "一括": "batch", "重複": "duplicate", "テンプレート": "template", "端末": "device",
    "デバイス": "device", "ゼロ": "zero",
}  # fmt: skip
_WORDS = _GERMAN | _ROMANCE
# Only German words compound; English words would contain Romance ones ("informed" ⊃ "informe").
_COMPOUND_PARTS = sorted((k for k in _GERMAN if len(k) >= 5), key=len, reverse=True)
_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)


def _lookup(token: str) -> list[str]:
    for form in (
        token,
        token.rstrip("s"),
        token.removesuffix("en"),
        token.removesuffix("n"),
        token.removesuffix("es"),
    ):
        if form in _WORDS:
            return [_WORDS[form]]
    # A German compound: its known parts, longest first, without overlaps.
    found, rest = [], token
    for part in _COMPOUND_PARTS:
        if part in rest:
            found.append(_WORDS[part])
            rest = rest.replace(part, " ")
    return found


def english(text: str) -> list[str]:
    """English equivalents of the ticket's support words in other languages, once each."""
    out = [english for word, english in _JAPANESE.items() if word in text]
    for m in _TOKEN.finditer(text.lower()):
        if len(m.group(0)) >= 3:
            out += _lookup(m.group(0))
    return list(dict.fromkeys(out))
