"""What the customer wrote, apart from what they pasted.

A ticket often carries output the customer copied: a curl command and its response, HTTP headers, a
JSON body, log lines, a stack trace, a console error. That output is evidence (its statuses, codes,
ids and times are read as such), but it is not the customer's question: a ``date: … GMT`` header
does not ask about time zones, nor does an error message saying a value "does not match" ask why
numbers differ. :func:`prose` keeps the customer's own sentences, so what a ticket is *about* (its
areas, the runbooks its words choose) is read from them, whatever the pasted tool or language.
"""

from __future__ import annotations

import re

__all__ = ["prose"]

# A fenced block (Markdown), whole.
_FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[^\n]*$", re.MULTILINE | re.DOTALL)
# A shell prompt and its command ("$ curl …", "PS C:\> …"); not "> …", a quoted e-mail.
_PROMPT = re.compile(r"^[ \t]*(?:\$|PS [^>\n]*>)[ \t]+\S")
# An HTTP message's first line: a response's status line or a request line.
_START_LINE = re.compile(
    r"^[ \t]*(?:HTTP/\d(?:\.\d)?[ \t]+\d{3}\b|(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \S+ HTTP/\d)"
)
# A header of that message: a token, a colon, a value ("content-type: application/json").
_HEADER = re.compile(r"^[ \t]*[A-Za-z][A-Za-z0-9-]*:[ \t]*\S")
# A log line opens with its timestamp ("2027-01-15T17:41:09Z ERROR …", "[2027-01-15 17:41:09]").
_LOG = re.compile(r"^[ \t]*\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
# A stack frame ("at openFolder (app.js:1:44)", "File \"x.py\", line 3, in f") or the error that
# heads the trace ("Uncaught TypeError: …", "Traceback (most recent call last):", "ValueError: …").
_TRACE = re.compile(
    r"^[ \t]*(?:at [\w$.<>\[\]]+[ (]|at \S+:\d+|File \"[^\"\n]*\", line \d+|Traceback \(most recent call last\)"
    r"|Uncaught\b|(?:[\w$]+\.)*[A-Z]\w*(?:Error|Exception)(?::|$))"
)
# Data: a JSON or XML line, or a line indented as code (four spaces or a tab, as Markdown and mail
# clients show pasted blocks).
_DATA = re.compile(r"^(?:[ \t]*[{}\[\]<]|[ \t]*\"[\w.-]+\"[ \t]*:|(?: {4}|\t)[ \t]*\S)")


def prose(text: str) -> str:
    """``text`` with pasted output blanked (each of its lines left empty, so positions of lines hold):
    fenced blocks, shell commands and their continuations, HTTP messages (start line and headers),
    log lines, stack traces and JSON or indented blocks."""
    text = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    out: list[str] = []
    in_message = continued = False
    for line in text.split("\n"):
        pasted = continued or bool(
            _PROMPT.match(line) or _START_LINE.match(line) or _LOG.match(line) or _TRACE.match(line)
        )
        pasted = pasted or bool(_DATA.match(line)) or (in_message and bool(_HEADER.match(line)))
        if _START_LINE.match(line):
            in_message = True
        elif not line.strip():
            in_message = False
        continued = pasted and line.rstrip().endswith("\\")
        out.append("" if pasted else line)
    return "\n".join(out)
