"""Installing a one-file plug-in package the way a user would, and running casefile beside it.

The package is pip-installed into a temp directory (not this venv) and put on ``PYTHONPATH`` of a
``casefile`` subprocess (or on ``sys.path``): its entry point is the only thing that tells
casefile it exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def install_plugin(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install --target`` of the package folder; returns the target (a site directory)."""
    source = tmp_path_factory.mktemp("src") / package.name
    shutil.copytree(package, source)
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--disable-pip-version-check",
            "-q",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
    )
    return target


def run_casefile(site: Path | None, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``casefile ARGS`` in ``cwd`` with the plug-in site (None: without it) on the path."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CASEFILE_", "CLICKHOUSE_", "GITHUB_"))}
    path = [str(site), str(ROOT)] if site is not None else [str(ROOT)]
    # The session's world cache (tests/conftest.py): the demo world's logs are generated once, not per run.
    base |= {"PYTHONPATH": os.pathsep.join(path), "CASEFILE_CACHE_DIR": os.environ["CASEFILE_CACHE_DIR"]}
    return subprocess.run(
        [sys.executable, "-m", "casefile.agent.cli", *args],
        cwd=cwd,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
