"""The Dockerfile's promises, checked without a container builder (CI builds and smoke-tests the
image with .ci/container-smoke where ``docker info`` works; its wheel build is the one
tests/test_wheel.py runs)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(name: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(name + " ")]


def test_slim_base_and_non_root_user() -> None:
    assert instructions("FROM") and all("-slim" in base for base in instructions("FROM"))
    users = instructions("USER")
    assert users and users[-1] not in ("root", "0")
    # Nothing runs as root after the switch except what the base image does.
    after = DOCKERFILE.split(f"USER {users[-1]}", 1)[1]
    assert "USER root" not in after


def test_installs_the_wheel_built_like_the_wheel_test() -> None:
    run = " ".join(instructions("RUN"))
    assert "pip wheel --no-cache-dir --no-deps --no-build-isolation" in run
    assert re.search(r"pip install [^&]*casefile-\*\.whl", run)
    wheel_test = (ROOT / "tests" / "test_wheel.py").read_text()
    assert '"wheel", "--no-deps", "--no-build-isolation"' in wheel_test


def test_the_service_is_the_entrypoint_with_the_demo_world_warmed() -> None:
    (entrypoint,) = instructions("ENTRYPOINT")
    assert entrypoint.startswith('["casefile", "serve"') and '"0.0.0.0"' in entrypoint
    assert "examples/tickets/429-spike.json" in " ".join(instructions("RUN"))  # the demo world, loaded
    assert instructions("HEALTHCHECK") and "/healthz" in instructions("HEALTHCHECK")[0]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv*", "*.sqlite3*"} <= set(ignored)
