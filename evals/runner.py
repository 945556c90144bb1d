"""Run golden cases × repeats against a model, concurrently, and score them.

One :class:`casefile.agent.pipeline.Environment` is opened per world and shared by every
case and repeat that uses it (loading a world is the expensive part). Cases run
as asyncio tasks under a semaphore. A run with an LLM records each
investigation's transcript next to the results (``<out>/transcripts/``); the
offline investigator needs none.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from casefile.evals.cases import GoldenCase
from casefile.evals.scoring import CaseScore, RunSummary, score_diagnosis, summarise

if TYPE_CHECKING:
    from casefile.agent.config import Settings
    from casefile.agent.pipeline import Environment

__all__ = ["RunResult", "run_cases"]

Progress = Callable[[CaseScore, int, int], None]


class RunResult(BaseModel):
    """Everything ``results.json`` holds."""

    run_id: str
    model: str
    started_at: str
    wall_s: float = 0.0
    concurrency: int = 1
    k: int = 1
    scores: list[CaseScore] = Field(default_factory=list)
    summary: RunSummary = Field(default_factory=RunSummary)
    stopped: str | None = Field(
        default=None,
        description="why the run stopped early (the model is misconfigured: bad key, unknown model)",
    )

    def by_case(self) -> dict[str, list[CaseScore]]:
        grouped: dict[str, list[CaseScore]] = {}
        for score in self.scores:
            grouped.setdefault(score.case_id, []).append(score)
        return grouped


def _world_label(env: Environment, path: Path) -> str:
    """A case's world as people name it: its root layer (an overlay's base), relative to the package."""
    from casefile import PACKAGE_DIR

    root = Path(env.world.layers[-1]) if env.world is not None else path
    bundled = (PACKAGE_DIR / "evals").resolve().parent  # the checkout, or the installed package
    try:
        return str(root.resolve().relative_to(bundled))
    except ValueError:
        return str(root)


class _NotRun(Exception):
    """The run stopped before this case started."""


class _Environments:
    """Opens each world once, on first use, and closes them all at the end."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.opened: dict[Path, Environment] = {}
        self.lock = asyncio.Lock()

    async def get(self, world: Path) -> Environment:
        from casefile.agent.pipeline import open_environment

        async with self.lock:
            if world not in self.opened:
                env = open_environment(self.settings, world)
                if env.world is not None:
                    env.world.clickhouse()  # load now, not inside the first timed investigation
                self.opened[world] = env
            return self.opened[world]

    async def aclose(self) -> None:
        for env in self.opened.values():
            await env.aclose()


async def run_cases(
    cases: Sequence[GoldenCase],
    settings: Settings,
    *,
    concurrency: int = 4,
    k: int = 1,
    out_dir: Path | None = None,
    on_score: Progress | None = None,
) -> RunResult:
    """Investigate every case ``k`` times with ``settings.model``; never raises for one case's failure.

    A model that cannot be built (no key: :class:`casefile.agent.errors.UsageError`)
    raises before anything runs. One that the provider refuses (unknown model,
    bad key: :class:`ModelMisconfigured`) stops the run: cases not yet started
    are recorded as errors with that reason and ``RunResult.stopped`` says why.
    """
    from casefile.agent.intake import load_ticket
    from casefile.agent.models import get_model
    from casefile.agent.models.base import ModelMisconfigured
    from casefile.agent.pipeline import run_investigation

    await get_model(settings.model, settings).aclose()  # a missing key fails here, once, not per case

    started = datetime.now(UTC)
    result = RunResult(
        run_id=started.strftime("%Y%m%dT%H%M%SZ") + "-" + settings.model.replace(":", "_").replace("/", "_"),
        model=settings.model,
        started_at=started.isoformat().replace("+00:00", "Z"),
        concurrency=concurrency,
        k=k,
    )
    envs = _Environments(settings)
    semaphore = asyncio.Semaphore(max(1, concurrency))
    total = len(cases) * k
    done: list[CaseScore] = []
    llm = settings.model not in ("", "offline")
    worlds: dict[Path, str] = {}

    def error_score(case: GoldenCase, repeat: int, error: str, started: float) -> CaseScore:
        return CaseScore(
            case_id=case.id,
            repeat=repeat,
            tags=list(case.tags),
            expected=case.expected.model_dump(include={"category", "action", "team"}),
            requested_model=settings.model,
            facts_missing=list(case.expected.must_cite),  # nothing was cited: recall must not read 100 %
            error=error,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
        )

    async def one(case: GoldenCase, repeat: int) -> CaseScore:
        async with semaphore:
            t = time.perf_counter()
            transcript = None
            try:
                if result.stopped:
                    raise _NotRun(result.stopped)
                env = await envs.get(case.world)
                worlds[case.world] = _world_label(env, case.world)
                ticket = load_ticket(case.ticket_path)
                case_settings = settings
                if llm and out_dir is not None:
                    path = out_dir / "transcripts" / f"{case.id}.{repeat}.jsonl"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    transcript = str(path)
                    case_settings = settings.model_copy(update={"transcript": path})
                investigation = await run_investigation(ticket, env, case_settings)
                score = score_diagnosis(
                    case.id,
                    case.expected,
                    investigation.diagnosis,
                    investigation.outcomes,
                    repeat=repeat,
                    latency_ms=round((time.perf_counter() - t) * 1000, 1),
                    requested_model=settings.model,
                    events=investigation.events,
                )
            except _NotRun as exc:
                score = error_score(case, repeat, f"not run: {exc}", t)
            except ModelMisconfigured as exc:  # the setup, not this case: nothing else can pass either
                result.stopped = result.stopped or str(exc)
                score = error_score(case, repeat, f"ModelMisconfigured: {exc}", t)
            except Exception as exc:  # one broken case must not stop the run
                score = error_score(case, repeat, f"{type(exc).__name__}: {exc}", t)
            score.transcript = transcript
            score.world = worlds.get(case.world)
            done.append(score)
            if on_score is not None:
                on_score(score, len(done), total)
            return score

    t0 = time.perf_counter()
    try:
        scores = await asyncio.gather(*(one(case, r) for r in range(k) for case in cases))
    finally:
        await envs.aclose()
    result.wall_s = round(time.perf_counter() - t0, 3)
    result.scores = sorted(scores, key=lambda s: (s.case_id, s.repeat))
    result.summary = summarise(result.scores)
    return result
