"""The built wheel works on its own: demo, service, evals and the Zendesk app from site-packages.

The wheel is built offline (no build isolation) and installed with ``--target`` into a temp
directory that goes first on ``PYTHONPATH``, so the installed copy, not this checkout, is what
runs; every command runs from an empty working directory.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


# What the wheel is built from: the package's sources and data, as a checkout has them.
SOURCES = (
    "pyproject.toml",
    "README.md",
    "casefile",
    "agent",
    "tools",
    "evals",
    "prompts",
    "examples",
    "integrations",
)


def _checkout_copy(into: Path) -> Path:
    """The sources copied, with an eval run left under evals/runs/ as a developer's checkout has one."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "runs")
    for name in SOURCES:
        source = ROOT / name
        if name == "casefile":
            shutil.copytree(source, into / name, symlinks=True)
        elif source.is_dir():
            shutil.copytree(source, into / name, ignore=skip)
        else:
            shutil.copy2(source, into / name)
    run = into / "evals" / "runs" / "20261120-120000"
    run.mkdir(parents=True)
    (run / "results.json").write_text("{}\n")
    (run / "report.md").write_text("# a run\n")
    return into


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = _checkout_copy(tmp_path_factory.mktemp("checkout"))
    build = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", str(build), str(source)], check=True
    )
    (built,) = build.glob("casefile-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [*PIP, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)], check=True
    )
    return target


def test_eval_runs_in_the_checkout_are_never_package_data(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as built:
        names = built.namelist()
    assert any(n.startswith("casefile/evals/golden/") for n in names)
    assert not [n for n in names if n.startswith("casefile/evals/runs")]


@pytest.fixture(scope="module")
def world_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One world cache for the module: the demo world's logs are generated once, not per test."""
    return tmp_path_factory.mktemp("cache")


def _run(
    installed: Path, world_cache: Path, cwd: Path, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEFILE_", "CLICKHOUSE_"))}
    env |= {"PYTHONPATH": str(installed), "CASEFILE_CACHE_DIR": str(world_cache)}
    return subprocess.run(
        [sys.executable, "-m", "casefile.agent.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_wheel_holds_the_bundled_data(installed: Path) -> None:
    package = installed / "casefile"
    for data in (
        "examples/world/accounts.json",
        "examples/tickets/429-spike.json",
        "prompts/routing.yaml",
        "prompts/system.md.j2",
        "integrations/zendesk/manifest.json",
        "integrations/zendesk/assets/iframe.html",
    ):
        assert (package / data).is_file(), data
    assert list((package / "prompts" / "runbooks").glob("*.md"))
    assert list((package / "evals" / "golden").glob("*/expected.json"))
    assert not (installed / "agent").exists(), "no top-level package other than casefile"


def test_the_installed_copy_investigates_the_demo_ticket(
    installed: Path, world_cache: Path, tmp_path: Path
) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", "import casefile; print(casefile.__file__)"],
        env={**os.environ, "PYTHONPATH": str(installed)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip().startswith(str(installed))
    ticket = installed / "casefile" / "examples" / "tickets" / "429-spike.json"
    done = _run(installed, world_cache, tmp_path, "investigate", str(ticket), "--json", "--no-save")
    assert done.returncode == 0, done.stderr
    diagnosis = json.loads(done.stdout)
    assert diagnosis["root_cause"]["category"] == "known_bug"
    assert diagnosis["evidence"]


def test_eval_run_from_the_wheel_writes_under_the_working_directory(
    installed: Path, world_cache: Path, tmp_path: Path
) -> None:
    golden = installed / "casefile" / "evals" / "golden"
    case = sorted(p.name for p in golden.iterdir() if (p / "expected.json").is_file())[0]
    done = _run(installed, world_cache, tmp_path, "eval", "run", "--case", case)
    assert done.returncode == 0, done.stderr
    assert list((tmp_path / "evals" / "runs").glob("*/report.md"))
    assert not list(golden.parent.glob("runs"))


def test_zendesk_app_package_from_the_wheel(installed: Path, world_cache: Path, tmp_path: Path) -> None:
    done = _run(
        installed,
        world_cache,
        tmp_path,
        "zendesk-app",
        "package",
        "--service-url",
        "https://casefile.example.com",
    )
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "dist" / "casefile-zendesk-app.zip") as app:
        assert "manifest.json" in app.namelist()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_from_the_wheel_answers_health_and_the_sidebar(
    installed: Path, world_cache: Path, tmp_path: Path
) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEFILE_", "CLICKHOUSE_"))}
    env |= {
        "PYTHONPATH": str(installed),
        "CASEFILE_CACHE_DIR": str(world_cache),
        "CASEFILE_SERVICE_TOKENS": "ci=wheel-test-token",
    }
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "casefile.agent.cli",
            "serve",
            "--port",
            str(port),
            "--database-url",
            f"sqlite:///{tmp_path / 'store.sqlite3'}",
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
        assert health.status_code == 200
        page = httpx.get(f"{base}/app/iframe.html", timeout=5)
        assert page.status_code == 200 and "<html" in page.text.lower()
        # The report pages' files are package data too.
        for path in ("/clusters", "/clusters/clusters.js", "/dashboard", "/dashboard/report_page.js"):
            assert httpx.get(f"{base}{path}", timeout=5).status_code == 200, path
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
