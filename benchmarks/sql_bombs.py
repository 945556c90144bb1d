"""Memory and CPU bombs against the embedded ClickHouse (chdb), with the guard on and bypassed.

Loads the demo world, then sends each bomb

1. through ``logs_sql`` for an investigation of one account (guard, account scope, engine limits);
2. straight to the connector's query path, the guard bypassed (the engine's limits alone:
   ``max_memory_usage``, ``max_memory_usage_for_user``, ``max_rows_to_read``/``max_bytes_to_read``,
   ``max_result_rows``/``max_result_bytes``, ``max_execution_time``, ``readonly=1``);
3. bypassed again, ``--concurrency`` at a time (the connector's client pool runs them in parallel),

and prints each outcome with its time and the process's RSS, then the peak RSS
(``getrusage`` and ``/proc/self/status`` VmHWM). Target: peak RSS < 1 GiB::

    .venv/bin/python benchmarks/sql_bombs.py [--concurrency 4] [--rounds 2] [--memory-mib M] [--user-memory-mib U]

Not part of the test suite (tests/test_sql_attacks.py runs the same kinds of attacks for behaviour).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from casefile.tools.base import CallContext, ToolCall  # noqa: E402
from casefile.tools.errors import ToolError  # noqa: E402
from casefile.tools.logs import ClickHouseConnector  # noqa: E402

GIB = 1024**3
ACCOUNT = "acme"

# The four, then more of the same kind. Table names are the world's; the connector
# qualifies nothing when the guard is bypassed, so those bombs name the database themselves.
BOMBS = [
    "SELECT arrayJoin(arrayMap(x -> repeat('a', 64), range(200000000)))",
    "SELECT length(arrayMap(x -> x * 2, range(100000000)))",
    "SELECT 1 WHERE 5 IN system.numbers",
    "SELECT repeat('x', 1000000) FROM system.numbers LIMIT 1000",
    "SELECT uniqExact(number) FROM numbers(90000000)",
    "SELECT groupArray(repeat('x', 1000)) FROM numbers(10000000)",
    "SELECT count() FROM numbers(100000) WHERE number IN (SELECT number FROM numbers(90000000))",
    "SELECT x, count() FROM {db}.requests ARRAY JOIN range(10000) AS x GROUP BY x, request_id",
    "SELECT count() FROM {db}.requests AS a, {db}.requests AS b, {db}.requests AS c",
    "SELECT max(length(arrayStringConcat(arrayMap(x -> repeat(request_id, 10000), range(10000))))) "
    "FROM {db}.requests",
]


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mib() -> tuple[float, float]:
    hwm = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, hwm


def outcome_line(label: str, sql: str, started: float, result: str) -> str:
    ms = (time.perf_counter() - started) * 1000
    return f"  {ms:7.0f} ms  RSS {rss_mib():6.0f} MiB  {label:8} {sql[:58]:58}  {result[:110]}"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=4, help="bombs at once in the last phase")
    parser.add_argument("--rounds", type=int, default=2, help="how many times each phase runs")
    parser.add_argument("--memory-mib", type=int, help="max_memory_usage (default: the settings')")
    parser.add_argument(
        "--user-memory-mib", type=int, help="max_memory_usage_for_user (default: the settings')"
    )
    parser.add_argument("--seconds", type=int, help="max_execution_time (default: the settings')")
    args = parser.parse_args()

    from casefile.agent.config import load_settings
    from casefile.agent.pipeline import open_environment

    env = open_environment(load_settings(env={}))
    assert env.world is not None  # no live systems configured: the demo world
    env.world.clickhouse()
    logs = next(c for c in env.toolbox.connectors if isinstance(c, ClickHouseConnector))
    db = logs.settings.database
    override = {
        name: value
        for name, value in (
            ("max_memory_usage", args.memory_mib and args.memory_mib * 2**20),
            ("max_memory_usage_for_user", args.user_memory_mib and args.user_memory_mib * 2**20),
            ("max_execution_time_s", args.seconds),
        )
        if value
    }
    logs.settings = s = logs.settings.model_copy(update=override)
    print(
        f"limits: max_memory_usage {s.max_memory_usage // 2**20} MiB, for_user {s.max_memory_usage_for_user // 2**20}"
        f" MiB, max_rows_to_read {s.max_rows_to_read:,}, max_result_bytes {s.max_result_bytes // 2**20} MiB, "
        f"max_execution_time {s.max_execution_time_s} s; pool of {logs._pool.size} clients"
    )
    print(f"after loading the demo world: RSS {rss_mib():.0f} MiB")
    directory = env.directory.as_mapping() if env.directory else {}
    ctx = CallContext.for_account(ACCOUNT, directory, requested_by="benchmark")
    bombs = [b.format(db=db) for b in BOMBS]

    print(f"\n1. through logs_sql (guard on, scoped to {ACCOUNT}):")
    for _ in range(args.rounds):
        for sql in bombs:
            started = time.perf_counter()
            outcome = await env.toolbox.execute(
                ToolCall(id="b", tool="logs_sql", arguments={"sql": sql}), ctx
            )
            result = "RAN" if outcome.ok else f"{outcome.error_kind}: {outcome.error}"
            print(outcome_line("guard", sql, started, result))

    async def bypassed(sql: str) -> str:
        started = time.perf_counter()
        try:
            await logs._query(sql)
            result = "RAN"
        except ToolError as exc:
            result = f"{exc.kind}: {exc.reason}"
        return outcome_line("engine", sql, started, result)

    print("\n2. guard bypassed, one at a time (the engine's limits alone):")
    for _ in range(args.rounds):
        for sql in bombs:
            print(await bypassed(sql))

    print(f"\n3. guard bypassed, {args.concurrency} at a time:")
    for _ in range(args.rounds):
        for i in range(0, len(bombs), args.concurrency):
            for line in await asyncio.gather(*(bypassed(sql) for sql in bombs[i : i + args.concurrency])):
                print(line)

    rusage, hwm = peak_mib()
    verdict = "under" if max(rusage, hwm) < GIB / 2**20 else "OVER"
    print(f"\npeak RSS {rusage:.0f} MiB (getrusage), VmHWM {hwm:.0f} MiB: {verdict} the 1 GiB target")
    await env.aclose()


if __name__ == "__main__":
    asyncio.run(main())
