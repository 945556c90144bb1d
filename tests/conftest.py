"""Fixtures shared by the tests, and the two guards every test runs under.

* **Isolation** (session-wide, set up before any other fixture): the tests get
  their own store, world cache and config directories, and an environment
  without the user's credentials or casefile settings, so a developer's
  ``CLICKHOUSE_DSN``, ``GITHUB_TOKEN``, ``ZENDESK_*``, provider keys or
  ``casefile.toml`` can neither reach a test nor be written to by one.
* **Network** : a socket may connect only to loopback (and Unix sockets), and
  only loopback and IP-literal names resolve; anything else raises at once and
  fails the test that tried, even if the code under test swallowed the error
  (a connector reports "unavailable"). No real model or API can be reached.
"""

from __future__ import annotations

import asyncio
import glob
import ipaddress
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import respx
from llm_fixtures import make_world

from casefile.agent.config import load_settings
from casefile.agent.pipeline import Environment, open_environment
from casefile.tools import retry as tools_retry

if TYPE_CHECKING:
    from casefile.agent.store import Store

# provider_wires checks each API's forced-conclusion request with plain asserts: show their values.
pytest.register_assert_rewrite("provider_wires")

# Environment variables that configure casefile or carry someone's credentials.
_SCRUBBED_PREFIXES = (
    "CASEFILE_",
    "CLICKHOUSE_",
    "GITHUB_",
    "LINEAR_",
    "STRIPE_",
    "ZENDESK_",
    "SLACK_",
    "OPENAI_",
    "ANTHROPIC_",
)
_SCRUBBED = {
    "DATABASE_URL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
}


_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Own store, cache and config directories; no user credentials or settings in the environment."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(_SCRUBBED_PREFIXES) or name in _SCRUBBED:
                mp.delenv(name)
        (home / "casefile.toml").write_text("# the tests' own (empty) settings\n", encoding="utf-8")
        mp.setenv("CASEFILE_CONFIG", str(home / "casefile.toml"))
        mp.setenv("CASEFILE_DATABASE_URL", f"sqlite:///{home / 'store.sqlite3'}")
        mp.setenv("CASEFILE_CACHE_DIR", str(_world_cache(tmp_path_factory, home)))
        mp.setenv("XDG_CACHE_HOME", str(home / "xdg-cache"))
        mp.setenv("XDG_CONFIG_HOME", str(home / "xdg-config"))
        mp.setenv("XDG_DATA_HOME", str(home / "xdg-data"))
        # A casefile command a test starts runs this checkout too (pyproject's pythonpath is in-process only).
        mp.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")])))
        yield home


def _world_cache(tmp_path_factory: pytest.TempPathFactory, home: Path) -> Path:
    """The session's world cache. Under pytest-xdist every worker has its own ``home`` but all share
    this one (in the run's own temp root), so each world's logs are generated once per run, not per
    worker; the cache's files are written beside and renamed, so workers never read half a file."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return home / "cache"
    shared = tmp_path_factory.getbasetemp().parent / "world-cache"
    shared.mkdir(exist_ok=True)
    os.symlink(shared, home / "cache")  # still under home: the isolation test finds every directory there
    return home / "cache"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


_REFUSED: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def loopback_only() -> Iterator[None]:
    """Refuse every non-loopback connection and name lookup, for the whole session."""
    real_connect, real_connect_ex, real_getaddrinfo = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.getaddrinfo,
    )

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(str(address[0])):
            _REFUSED.append(f"connect to {address[0]}")
            raise ConnectionRefusedError(f"tests may only connect to loopback, not {address[0]}")

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _loopback(str(name)):
            try:
                ipaddress.ip_address(str(name))
            except ValueError:
                _REFUSED.append(f"resolve {name}")
                raise socket.gaierror(
                    socket.EAI_NONAME, f"tests resolve no names but loopback ({name})"
                ) from None
        return real_getaddrinfo(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket.socket, "connect_ex", connect_ex)
        mp.setattr(socket, "getaddrinfo", getaddrinfo)
        yield


@pytest.fixture(autouse=True)
def no_network_attempts() -> Iterator[None]:
    """Fail the test that tried to leave the machine, even if the code under test swallowed the error."""
    before = len(_REFUSED)
    yield
    attempts = _REFUSED[before:]
    if attempts:
        pytest.fail("a test tried to reach the network: " + "; ".join(sorted(set(attempts))))


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make retry waits instant and record the durations chosen."""
    chosen: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        chosen.append(seconds)

    monkeypatch.setattr(tools_retry, "sleep", fake_sleep)
    return chosen


# --- the model-provider tests (OpenAI, Anthropic): a small world and a respx router


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_world(tmp_path_factory.mktemp("world"))


@pytest.fixture
async def toolbox(world_dir: Path) -> Any:
    from casefile.tools.world.loader import World

    box = World(world_dir).toolbox()
    yield box
    await box.aclose()


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(assert_all_called=False)


@pytest.fixture
def store() -> Iterator[Store]:
    """An in-memory store, closed after the test (a module may define its own, on disk)."""
    from casefile.agent.store import Store

    s = Store("sqlite:///:memory:")
    yield s
    s.close()


# --- PostgreSQL: one throwaway server per test session, a fresh database per test


def _pg_binary(name: str) -> str | None:
    """``name`` on PATH, else Debian's versioned directory (the postgresql package does not link them)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """``postgresql://casefile@127.0.0.1:PORT`` of a server started here, or a skip without psycopg or
    the server binaries (CI installs Debian's postgresql, so there it runs)."""
    pytest.importorskip("psycopg")
    initdb, pg_ctl = _pg_binary("initdb"), _pg_binary("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    data = tempfile.mkdtemp(prefix="casefile-pg-")
    prefix: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root: run it as its own user, in a directory it owns
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root without runuser")
        user = "postgres" if _user_exists("postgres") else "nobody"
        shutil.chown(data, user)
        prefix = [runuser, "-u", user, "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "LC_ALL": "C"}
    try:
        subprocess.run(
            [*prefix, initdb, "-D", data, "-U", "casefile", "-E", "UTF8", "--auth=trust"],
            check=True,
            capture_output=True,
            env=env,
            timeout=60,
        )
        subprocess.run(
            [
                *prefix,
                pg_ctl,
                "-D",
                data,
                "-o",
                f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                "-w",
                "-l",
                f"{data}/log",
                "start",
            ],
            check=True,
            capture_output=True,
            env=env,
            timeout=60,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(data, ignore_errors=True)
        pytest.skip(f"could not start a local PostgreSQL: {exc}")
    try:
        yield f"postgresql://casefile@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True, timeout=60
        )
        time.sleep(0.1)
        shutil.rmtree(data, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A database of its own on the session's server."""
    import psycopg

    name = "t_" + secrets.token_hex(6)
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"


@pytest.fixture(scope="module")
def rows() -> dict[str, list[dict[str, Any]]]:
    """The log tables' rows that tests/test_logs.py builds (deterministic), once a module."""
    from test_logs import build_rows

    return build_rows()


@pytest.fixture(scope="module")
def client(rows: dict[str, list[dict[str, Any]]]) -> Any:
    """An embedded ClickHouse client holding ``rows`` (a module may define its own)."""
    from llm_fixtures import SCHEMA
    from test_logs import DB, columns

    from casefile.tools.world.chdb import embedded_client, load_tables

    c = embedded_client()
    load_tables(c, DB, SCHEMA, {name: columns(r) for name, r in rows.items()})
    return c


@pytest.fixture(scope="module")
def env() -> Iterator[Environment]:
    """The demo world's environment (toolbox, directory, runbooks), opened once a module."""
    environment = open_environment(load_settings(env={}))
    yield environment
    asyncio.run(environment.aclose())
