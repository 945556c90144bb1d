"""Round-6 attacks on "always finishes" at the command line: ``casefile investigate`` must exit once
its diagnosis is out, whatever it left behind at the deadline.

The investigation itself ends on time (``tests/test_attack_deadlines.py``): a call or a model turn
that will not end is cancelled and left behind. Before this round the *process* then waited for it:
``asyncio.run`` cancels what is left and waits for it to finish (a task that swallows its
cancellation never does), and it waits for the default executor's threads (a blocking SDK call on a
thread never returns) — the diagnosis printed, the command never exited.

The attacker here is a model provider installed as a plug-in (an entry point in a ``.dist-info``
on the path, as pip would leave it): its turn blocks a thread for ever and swallows every
cancellation. The command must print the offline investigator's diagnosis and exit within a small
margin of it.

Round 7: ``casefile eval run`` still used ``asyncio.run`` (the same plug-in hung it for ever), and
the logs engine's query threads were a pool, joined at the interpreter's exit: a query stuck on a
ClickHouse that accepted the connection and never answered held the finished process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TICKET = ROOT / "examples" / "tickets" / "429-spike.json"
# From the diagnosis' progress line to the process' end: printing the diagnosis and closing the
# world's connectors. A hang is for ever; this margin is for a loaded machine (5 s failed on main and
# on a branch alike, 6.3 s and 7.9 s, with the 2-core machine at a load of 18).
EXIT_MARGIN_S = 15.0

PROVIDER = """
import asyncio
import threading

from casefile.agent.models.base import Model, Provider

_NEVER = threading.Event()


class Stuck(Model):
    name = "stuckai:m1"

    async def turn(self, state):
        while True:
            try:
                await asyncio.to_thread(_NEVER.wait)  # a blocking SDK call that never returns
            except asyncio.CancelledError:
                continue  # and every cancellation swallowed


class StuckProvider(Provider):
    name = "stuckai"

    def conversation(self, transcript=None):
        return Stuck()


def connect(name, settings):
    return StuckProvider()
"""


def _site(tmp_path: Path) -> Path:
    """A plug-in provider 'installed' on a path: its module and the dist-info naming its entry point."""
    site = tmp_path / "site"
    info = site / "casefile_stuckai-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "casefile_stuckai.py").write_text(PROVIDER, encoding="utf-8")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: casefile-stuckai\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[casefile.providers]\nstuckai = casefile_stuckai:connect\n")
    return site


def test_investigate_exits_once_its_diagnosis_is_out(tmp_path: Path) -> None:
    config = tmp_path / "casefile.toml"
    config.write_text("[budgets]\ndeadline_s = 1.5\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFILE_")}
    env |= {
        "PYTHONPATH": os.pathsep.join([str(_site(tmp_path)), str(ROOT)]),
        "CASEFILE_CACHE_DIR": os.environ["CASEFILE_CACHE_DIR"],
    }
    command = [sys.executable, "-m", "casefile.agent.cli", "investigate", str(TICKET)]
    command += ["--model", "stuckai:m1", "--no-save"]  # ./casefile.toml: the deadline
    out_file = tmp_path / "stdout.txt"
    with out_file.open("w", encoding="utf-8") as stdout:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True
        )
    diagnosed: list[float] = []
    lines: list[str] = []

    def watch() -> None:  # the only reader of stderr, so no line is missed
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if "diagnosis:" in line:
                diagnosed.append(time.monotonic())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        process.wait(timeout=60)
        ended = time.monotonic()
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        assert process.stderr is not None
        process.stderr.close()
        pytest.fail(f"casefile investigate did not exit after its diagnosis: {''.join(lines)[-2000:]}")
    watcher.join(5)
    assert process.stderr is not None
    process.stderr.close()
    out = out_file.read_text(encoding="utf-8")
    assert process.returncode == 0, "".join(lines)
    assert diagnosed, "".join(lines)
    assert "falling back to the offline investigator" in "".join(lines)
    assert "Diagnosis" in out or "rate" in out.lower()
    assert ended - diagnosed[0] < EXIT_MARGIN_S, ended - diagnosed[0]


# --- the runner itself, in process ----------------------------------------------------------------


def test_the_runner_leaves_a_stubborn_task_and_a_stuck_thread_behind() -> None:
    import asyncio

    from casefile.agent.runner import run_to_end

    never = threading.Event()

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.to_thread(never.wait)
            except asyncio.CancelledError:
                continue

    async def main() -> str:
        asyncio.get_running_loop().create_task(stubborn())
        await asyncio.sleep(0)
        return "diagnosis"

    t0 = time.monotonic()
    try:
        assert run_to_end(main(), grace_s=0.1) == "diagnosis"
        assert time.monotonic() - t0 < 10  # the grace, 0.1 s, on a loaded machine; unfixed: never
        assert all(t.daemon for t in threading.enumerate() if t.name == "casefile-call")
    finally:
        never.set()


def test_the_runner_returns_what_threads_compute_and_raises_what_main_raises() -> None:
    import asyncio

    from casefile.agent.runner import run_to_end

    async def sums() -> int:
        return sum(await asyncio.gather(*(asyncio.to_thread(lambda i=i: i * i) for i in range(20))))

    assert run_to_end(sums()) == sum(i * i for i in range(20))

    async def fails() -> None:
        await asyncio.to_thread(int, "x")

    with pytest.raises(ValueError, match="invalid literal"):
        run_to_end(fails())


# --- round 7: the other commands that run investigations, and the logs engine's threads ----------

RELEASABLE = PROVIDER.replace(
    """        while True:
            try:
                await asyncio.to_thread(_NEVER.wait)  # a blocking SDK call that never returns
            except asyncio.CancelledError:
                continue  # and every cancellation swallowed""",
    """        while not _NEVER.is_set():  # the test sets it once it has its answer, to free the thread
            try:
                await asyncio.to_thread(_NEVER.wait)  # a blocking SDK call that never returns
            except asyncio.CancelledError:
                continue  # and every cancellation swallowed
        raise RuntimeError("released by the test")""",
)


def test_eval_run_ends_when_a_model_turn_never_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``casefile eval run`` used ``asyncio.run``: the case ended at its deadline, then the command
    waited for ever for the turn it had left behind (in process: the call never returned)."""
    import importlib

    from casefile.agent.cli import main

    site = _site(tmp_path)
    (site / "casefile_stuckai.py").write_text(RELEASABLE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    config = tmp_path / "casefile.toml"
    config.write_text("[budgets]\ndeadline_s = 0.8\n", encoding="utf-8")
    argv = ["eval", "run", "--case", "billing-globex-demo", "--model", "stuckai:m1", "-q"]
    argv += ["--config", str(config), "--out", str(tmp_path / "run")]
    codes: list[int] = []
    command = threading.Thread(target=lambda: codes.append(main(argv)), daemon=True)
    command.start()
    command.join(120)  # the case's deadline is 0.8 s; the bound is for a stuck command, not a slow one
    returned = bool(codes)  # before the turn is released: once it is, even a stuck command returns
    import casefile_stuckai  # type: ignore[import-not-found]  # the plug-in written above

    casefile_stuckai._NEVER.set()
    command.join(60)
    assert returned, "casefile eval run never returned after its case's deadline"
    assert (tmp_path / "run" / "results.json").exists()


SILENT_CLICKHOUSE = """
import asyncio, sys, time
from casefile.agent.runner import run_to_end
from casefile.tools.base import CallContext, Toolbox, ToolCall
from casefile.tools.deadline import Deadline, bound
from casefile.tools.logs import ClickHouseConnector
from casefile.tools.settings import LogsSettings

logs = ClickHouseConnector(LogsSettings(dsn=f"http://127.0.0.1:{sys.argv[1]}/default"))
call = ToolCall(id="c1", tool="logs_recent_requests", arguments={"account_id": "acme", "limit": 5})

async def go():
    with bound(Deadline.after(0.5)):
        return await Toolbox([logs]).execute(call, CallContext(account_id="acme"))

outcome = run_to_end(go())
print(outcome.error_kind, flush=True)
"""


def test_a_query_stuck_in_a_silent_clickhouse_does_not_hold_the_exit(tmp_path: Path) -> None:
    """ClickHouse accepts the connection and never answers: the call ends at the deadline, but the
    engine's query thread, in a thread pool, was joined at the interpreter's exit (clickhouse-connect
    waits 300 s for an answer). The process must end soon after its last line."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    script = tmp_path / "silent.py"
    script.write_text(SILENT_CLICKHOUSE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEFILE_")}
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(
        [sys.executable, str(script), str(listener.getsockname()[1])],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # the outcome, at the deadline
        printed = time.monotonic()
        process.wait(timeout=30)
        ended = time.monotonic()
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail("the process was still waiting for its stuck query's thread after 30 s")
    finally:
        listener.close()
        if process.stdout is not None:
            process.stdout.close()
    assert first.strip() in ("timeout", "deadline"), first
    assert ended - printed < EXIT_MARGIN_S, ended - printed
