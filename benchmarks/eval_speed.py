"""Wall time of the whole golden set, offline, at concurrency 1 and 4.

    .venv/bin/python benchmarks/eval_speed.py [--rounds N]

Each concurrency runs in a fresh process (imports, world loads from the on-disk
cache, every investigation), so the figure is what ``casefile eval run`` costs.
Target: under 15 s for 40 cases (the golden set now spans three worlds, 132 cases).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _child(concurrency: int) -> None:
    t0 = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from casefile.agent.config import Settings
    from casefile.evals.cases import load_cases
    from casefile.evals.runner import run_cases

    cases = load_cases()
    run = asyncio.run(run_cases(cases, Settings(model="offline"), concurrency=concurrency))
    print(
        json.dumps(
            {
                "cases": len(cases),
                "pass_rate": run.summary.pass_rate,
                "run_s": run.wall_s,
                "process_s": round(time.perf_counter() - t0, 3),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.child)
        return
    for concurrency in (1, 4):
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            out = (
                subprocess.run(
                    [sys.executable, __file__, "--child", str(concurrency)],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            data = json.loads(out)
            wall = time.perf_counter() - t0
            print(
                f"concurrency {concurrency}: {data['cases']} cases, pass {data['pass_rate']:.1%}, "
                f"run {data['run_s']:.2f} s, process {data['process_s']:.2f} s, wall incl. start-up {wall:.2f} s"
            )


if __name__ == "__main__":
    main()
