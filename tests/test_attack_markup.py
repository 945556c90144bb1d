"""Round-10 attacks on "always finishes": markup that makes the help center's tag stripper quadratic.

``plain_text`` turns an article's HTML body (up to the HTTP client's 10 MB) and every search snippet
into text with one regular expression, on the event loop, where the deadline cannot interrupt CPU
work. ``<[^>]+>`` scanned from every ``<`` to the end of the body when no ``>`` followed, so a body
of unclosed ``<`` (planted in an article, or a page that is not HTML) cost time quadratic in its
length: 40 kB took 0.5 s of CPU, 1 MB minutes, 10 MB hours. Each shape runs in a child process,
killed at the bound, so a regression fails the test without leaving a thread burning a core.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

SIZE = 1_000_000
BOUND_S = 120.0  # linear: about a second for them all; quadratic: minutes for each shape

SHAPES = {
    "unclosed tags": "'<a' * (SIZE // 2)",
    "one unclosed tag": "'<' + 'a' * SIZE",
    "lone angles": "'< ' * (SIZE // 2)",
    "attribute-like": "'<p class=x ' * (SIZE // 12)",
}
CHILD = f"""
from casefile.tools.docs import plain_text
SIZE = {SIZE}
for name, shape in [{", ".join(f"({name!r}, {shape})" for name, shape in SHAPES.items())}]:
    print(name, flush=True)
    assert len(plain_text(shape)) <= SIZE + 1
print("done", flush=True)
"""


def test_a_body_of_unclosed_markup_is_read_in_linear_time() -> None:
    """All four shapes in one child (one interpreter start); its last line says which one it was on."""
    try:
        done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=BOUND_S)
    except subprocess.TimeoutExpired as stuck:
        out = stuck.stdout.decode() if isinstance(stuck.stdout, bytes) else stuck.stdout or ""
        pytest.fail(f"plain_text still reading {SIZE} characters of {out.split()[-2:]} after {BOUND_S:g} s")
    assert done.returncode == 0 and done.stdout.split()[-1] == "done", done.stderr[-2000:]


def test_markup_is_still_stripped() -> None:
    from casefile.tools.docs import plain_text

    assert plain_text('<p class="lead">Export &lt; 100k rows<br/>then <em>wait</em></p>') == (
        "Export < 100k rows then wait"
    )
    assert plain_text("rows < 100k <em>export</em>") == "rows < 100k export"  # a lone "<" is text
