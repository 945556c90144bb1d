"""casefile: investigates a B2B support ticket with read-only tools and returns a grounded diagnosis.

The source lives in the top-level folders of the design card (``agent/``, ``tools/``, ``evals/``,
``prompts/``); this package maps them under one import namespace (``casefile.agent`` …) by
symlinks in a checkout and as real directories in a built wheel. ``PACKAGE_DIR`` is where the
bundled data is found either way: the demo world, prompts, runbooks and the Zendesk app.
"""

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGE_DIR = Path(__file__).parent

try:
    __version__ = version("casefile")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
