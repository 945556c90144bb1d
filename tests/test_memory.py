"""Bounded memory: a provider answering 200 MB does not take the process with it.

The investigation runs in a subprocess so its peak RSS (``VmHWM``) is its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from faults import tarpit

ROOT = Path(__file__).resolve().parent

PEAK_RSS_BOUND_MB = 300  # measured: ~100 MB with the cap, ~675 MB when the 200 MB answer is read

SCRIPT = """
import asyncio, json, sys
sys.path.insert(0, {tests!r})
from service_helpers import light_env
from casefile.agent.config import Budgets, Settings
from casefile.agent.intake import load_ticket
from casefile.agent.pipeline import run_investigation

async def main():
    settings = Settings(model="openai:gpt-4.1", budgets=Budgets(deadline_s=15))
    result = await run_investigation(load_ticket({ticket!r}), light_env(), settings)
    # VmHWM, not ru_maxrss: Linux carries a parent's peak into ru_maxrss across fork and exec,
    # so under a large pytest process ru_maxrss reports pytest's size, not this process's.
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    peak_mb = int(hwm.split()[1]) / 1024
    print(json.dumps({{"peak_mb": peak_mb, "model": result.diagnosis.model,
                      "reason": result.diagnosis.fallback_reason}}))

asyncio.run(main())
"""


def test_a_200_mb_provider_answer_keeps_peak_rss_bounded() -> None:
    ticket = str(ROOT.parent / "examples" / "tickets" / "429-spike.json")
    with tarpit("flood", flood_bytes=200_000_000) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test", "PATH": "/usr/bin:/bin"}
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT.format(tests=str(ROOT), ticket=ticket)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["peak_mb"] < PEAK_RSS_BOUND_MB, report
    assert report["model"] == "offline"
    assert "exceeds" in report["reason"] or "announces" in report["reason"], report["reason"]
