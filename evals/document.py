"""A small typed document (headings, paragraphs, tables, images…) laid out as Markdown or HTML.

The eval report is built once as blocks and rendered twice, so ``report.md``
and ``report.html`` cannot drift apart. Text is escaped for each format here:
case ids, claims and draft replies come from models and tickets.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Alert",
    "Block",
    "Bullets",
    "Heading",
    "Image",
    "Para",
    "Pre",
    "Quote",
    "Table",
    "to_html",
    "to_markdown",
]


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class _Text:
    """A block that is one run of text; its kind says how it is set."""

    text: str


class Para(_Text):
    """A paragraph."""


class Alert(_Text):
    """A paragraph the reader must not miss (a stopped run, stand-in diagnoses)."""


class Quote(_Text):
    """Quoted text (a draft reply, a model's words), line breaks kept."""


class Pre(_Text):
    """Preformatted text."""


@dataclass(frozen=True)
class Bullets:
    items: Sequence[str]


@dataclass(frozen=True)
class Table:
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True)
class Image:
    src: str
    alt: str


Block = Heading | Para | Alert | Quote | Pre | Bullets | Table | Image


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md(block: Block) -> str:
    match block:
        case Heading(level, text):
            return f"{'#' * level} {text}"
        case Para(text):
            return text
        case Alert(text):
            return f"> **{text}**"
        case Quote(text):
            return "\n".join(f"> {line}" for line in text.splitlines() or [""])
        case Pre(text):
            return f"```\n{text}\n```"
        case Bullets(items):
            return "\n".join(f"- {item}" for item in items)
        case Table(headers, rows):
            lines = ["| " + " | ".join(_md_cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            return "\n".join(lines)
        case Image(src, alt):
            return f"![{alt}]({src})"
    raise TypeError(block)


def to_markdown(blocks: Sequence[Block]) -> str:
    return "\n\n".join(_md(b) for b in blocks) + "\n"


_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; padding: 0 1em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; } th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } .alert { background: #fdecea; border-left: 4px solid #c0392b; padding: .6em 1em; font-weight: 600; }
blockquote { border-left: 3px solid #bbb; margin: .4em 0; padding: .2em 1em; color: #444; white-space: pre-wrap; }
figure { display: inline-block; margin: .5em 1em .5em 0; vertical-align: top; } figcaption { font-size: 12px; color: #555; }
img { max-width: 520px; border: 1px solid #eee; } code { background: #f5f5f5; padding: 0 3px; }
"""


def _html(block: Block) -> str:
    e = html.escape
    match block:
        case Heading(level, text):
            return f"<h{level}>{e(text)}</h{level}>"
        case Para(text):
            return f"<p>{e(text)}</p>"
        case Alert(text):
            return f'<p class="alert">{e(text)}</p>'
        case Quote(text):
            return f"<blockquote>{e(text)}</blockquote>"
        case Pre(text):
            return f"<pre>{e(text)}</pre>"
        case Bullets(items):
            return "<ul>" + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>"
        case Table(headers, rows):
            head = "".join(f"<th>{e(h)}</th>" for h in headers)
            body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
            return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        case Image(src, alt):
            return f'<figure><img src="{e(src)}" alt="{e(alt)}"><figcaption>{e(alt)}</figcaption></figure>'
    raise TypeError(block)


def to_html(blocks: Sequence[Block], *, title: str) -> str:
    body = "\n".join(_html(b) for b in blocks)
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )
