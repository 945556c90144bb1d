"""Run the five example tickets in one process and print per-ticket wall time and peak RSS.

    .venv/bin/python benchmarks/investigate_examples.py [--repeat N]

Targets (issue 2): median < 500 ms per investigation after start-up; `casefile --help` < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3, help="runs per ticket (the first includes warm-up)")
    args = parser.parse_args()

    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "casefile.agent.cli", "--help"], check=True, capture_output=True, cwd=ROOT
    )
    help_s = time.perf_counter() - t

    t0 = time.perf_counter()
    from casefile.agent.config import load_settings
    from casefile.agent.intake import load_ticket
    from casefile.agent.pipeline import open_environment, run_investigation

    settings = load_settings(env={})
    env = open_environment(settings)
    assert env.world is not None  # no live systems are configured here: the demo world
    env.world.clickhouse()  # load the world once: that is start-up, not investigation
    startup_s = time.perf_counter() - t0
    print(f"casefile --help: {help_s * 1000:.0f} ms (target < 1000 ms)")
    print(
        f"start-up (imports, runbooks, world load into chdb): {startup_s * 1000:.0f} ms; peak RSS {peak_rss_mb():.0f} MB"
    )

    tickets = sorted((ROOT / "examples" / "tickets").glob("*.json"))
    tickets = [t for t in tickets if "zendesk" not in t.name]

    async def run_all() -> list[float]:
        times: list[float] = []
        print(
            f"{'ticket':32} {'category':28} {'action':9} {'best ms':>8} {'first ms':>9} {'peak RSS MB':>12}"
        )
        for path in tickets:
            ticket = load_ticket(path)
            runs = []
            diagnosis = None
            for _ in range(args.repeat):
                t = time.perf_counter()
                result = await run_investigation(ticket, env, settings)
                runs.append((time.perf_counter() - t) * 1000)
                diagnosis = result.diagnosis
            assert diagnosis is not None
            times.extend(runs)
            print(
                f"{path.name:32} {diagnosis.root_cause.category:28} {diagnosis.action:9} "
                f"{min(runs):8.1f} {runs[0]:9.1f} {peak_rss_mb():12.0f}"
            )
        await env.aclose()
        return times

    times = asyncio.run(run_all())
    print(
        f"median per investigation: {statistics.median(times):.1f} ms over {len(times)} runs (target < 500 ms)"
    )
    print(f"peak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
