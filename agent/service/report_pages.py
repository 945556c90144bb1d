"""The service's report pages (``/dashboard``, ``/clusters``): one layout, each page a template extending it.

``pages/report.html.j2`` holds what every report page shares (the stylesheet, the period selector,
the token field, the status line, the shared ``report_page.js``); a page fills its blocks. The pages
carry no data: their script reads the report endpoint with the agent's token, so each is rendered
once per process.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

__all__ = ["PAGES", "report_page"]

PAGES = Path(__file__).resolve().parent / "pages"
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(PAGES), autoescape=True, undefined=jinja2.StrictUndefined
)


@cache
def report_page(name: str) -> str:
    """The HTML of ``pages/<name>.html.j2``."""
    return _ENV.get_template(f"{name}.html.j2").render() + "\n"
