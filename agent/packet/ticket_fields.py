"""Collectors of the fields read from the ticket or the account directory (sources ``ticket`` /
``accounts``): the customer's query, expected vs actual, timezone, browser, console errors."""

from __future__ import annotations

import re
from typing import Any

from casefile.agent.packet.sources import Collected, Missing, Sources

__all__ = ["browser", "console_errors", "customer_query", "expected_vs_actual", "timezone"]


_QUERYISH = re.compile(
    r"(?:\b(?:GET|POST|PUT|PATCH|DELETE)\s+\S+|/v\d+/\S+|\bSELECT\b.+\bFROM\b|\bfilter(?:ed|ing)? by\b|\bquery\b)",
    re.IGNORECASE,
)
_EXPECTATION = re.compile(
    r"\b(?:expected?|expecting|should (?:be|show|have|return)|actual(?:ly)?|instead|but (?:we|it|the) "
    r"(?:see|get|got|shows?|returns?)|shows? only|off by|doesn'?t match|does not match)\b",
    re.IGNORECASE,
)
_TIMEZONE = re.compile(
    r"\b(?:UTC|GMT)(?:\s*[+-]\s*\d{1,2}(?::?\d{2})?)?\b|\b[A-Z][a-z]+/[A-Z][A-Za-z_]+\b"
    r"|\b(?:PST|PDT|EST|EDT|CST|CDT|MST|MDT|CET|CEST|BST|IST|JST|AEST|AEDT)\b|\btime ?zones?\b",
)
_CONSOLE = re.compile(
    r"(?:\bUncaught\b|\b(?:TypeError|ReferenceError|SyntaxError|RangeError|ChunkLoadError)\b|\bconsole\b"
    r"|\bCORS\b|Failed to load resource|net::ERR_[A-Z_]+)",
)


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [" ".join(p.split()) for p in parts if p.strip()]


def _ticket_lines(src: Sources, pattern: re.Pattern[str], limit: int = 6) -> list[str]:
    if src.ticket is None:
        return []
    return [s[:300] for s in _sentences(src.ticket.full_text()) if pattern.search(s)][:limit]


def customer_query(src: Sources) -> Collected | Missing:
    lines = _ticket_lines(src, _QUERYISH)
    endpoints = list(src.signals.endpoints) if src.signals else []
    if not lines and not endpoints:
        return Missing("the ticket does not show the customer's query or request")
    return Collected({"endpoints": endpoints, "quoted": lines}, ["ticket"])


def expected_vs_actual(src: Sources) -> Collected | Missing:
    lines = _ticket_lines(src, _EXPECTATION)
    if not lines:
        return Missing("the ticket does not say what was expected and what was seen")
    return Collected(lines, ["ticket"])


def timezone(src: Sources) -> Collected | Missing:
    value: dict[str, Any] = {}
    sources: list[str] = []
    if src.account and src.account.get("timezone"):
        value["account_timezone"] = src.account["timezone"]
        sources.append("accounts")
    mentioned = _ticket_lines(src, _TIMEZONE, limit=3)
    if mentioned:
        value["mentioned_in_ticket"] = mentioned
        sources.append("ticket")
    if not value:
        return Missing("no timezone in the account directory or the ticket")
    return Collected(value, sources)


def browser(src: Sources) -> Collected | Missing:
    browsers = list(src.signals.browsers) if src.signals else []
    if not browsers:
        return Missing("the ticket names no browser and version")
    return Collected(browsers, ["ticket"])


def console_errors(src: Sources) -> Collected | Missing:
    lines = _ticket_lines(src, _CONSOLE)
    if not lines:
        return Missing("the ticket quotes no console errors")
    return Collected(lines, ["ticket"])
