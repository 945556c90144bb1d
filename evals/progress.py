"""The eval run's progress line: redrawn in place on a terminal, one line per case otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

from casefile.evals.scoring import CaseScore

__all__ = ["ProgressBar"]


class ProgressBar:
    """One line on stderr, redrawn in place on a terminal; one line per case otherwise."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self.failed = 0

    def __call__(self, score: CaseScore, done: int, total: int) -> None:
        self.failed += not score.passed
        mark = "✓" if score.passed else "✗ (stand-in)" if score.stood_in else "✗"
        if self.tty:
            filled = int(self.width * done / max(total, 1))
            bar = "█" * filled + "░" * (self.width - filled)
            self.stream.write(
                f"\r{bar} {done}/{total}  failed {self.failed}  {mark} {score.case_id[:40]:<40}"
            )
            if done == total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{done}/{total}] {mark} {score.case_id} ({score.latency_ms:.0f} ms)\n")
        self.stream.flush()
