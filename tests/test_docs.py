"""The docs are true: every command shown in README.md, evals/README.md and examples/README.md runs.

A command is a line of a fenced code block that is a shell block (```bash, ```console) or whose
lines all start with ``casefile``/``$``. In a block, ``$ command`` lines are commands and the
lines after them the output shown, which must still match (``…``/``...`` stand for anything,
durations may differ). Each command runs in a temporary copy of the checkout, against the demo
world, with no keys and no network.

Commands that need what a test cannot have (a server left running, an API key, the network)
are marked in the docs themselves: a trailing ``# needs …`` comment, or an HTML comment
``<!-- needs … -->`` just above the block. They are skipped with that reason, and they must be
exactly the ones listed in ``NOT_RUN`` below, so a new one is a visible change to this file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", "evals/README.md", "examples/README.md"]
SHELL_LANGS = {"bash", "sh", "shell", "console"}

# Every command the docs mark as not runnable here, and why: keep this list short and explicit.
NOT_RUN = {
    "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/casefile investigate examples/tickets/429-spike.json": "network",
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest -q": "network",
    "CASEFILE_SERVICE_TOKENS=sidebar=change-me .venv/bin/casefile serve --port 8000": "a server",
    "casefile eval run --model openai:gpt-4.1 --k 3": "OPENAI_API_KEY",
    "casefile eval run": "a minute",
    "docker build -t casefile . && docker run --rm -p 8000:8000 -e CASEFILE_SERVICE_TOKENS=sidebar=change-me casefile": "a container builder",  # the whole golden set: tests/test_evals.py runs it in-process
}


@dataclass
class Command:
    doc: str
    line: int
    text: str
    needs: str | None = None
    output: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def _is_command(line: str) -> bool:
    return line.startswith(("casefile ", "$ ", ".venv/bin/", "python3 ", "python "))


def commands_in(doc: str) -> list[Command]:
    lines = (ROOT / doc).read_text(encoding="utf-8").splitlines()
    found: list[Command] = []
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        lang, start = fence.group(1), i + 1
        end = next(j for j in range(start, len(lines)) if lines[j].startswith("```"))
        body = lines[start:end]
        above = lines[i - 1] if i > 0 else ""
        block_needs = re.match(r"^<!--\s*needs\s+(.+?)\s*-->$", above.strip())
        shown = [line for line in body if line.strip()]
        is_shell = lang in SHELL_LANGS or (lang == "" and shown and all(_is_command(s) for s in shown))
        console = any(line.startswith("$ ") for line in body)
        if is_shell or (lang == "" and console):
            current: Command | None = None
            for offset, raw in enumerate(body):
                if console and not raw.startswith("$ "):
                    if current is not None and raw.strip():
                        current.output.append(raw)
                    continue
                text = raw.removeprefix("$ ").strip()
                if not text or text.startswith("#"):
                    continue
                needs = block_needs.group(1) if block_needs else None
                comment = re.search(r"\s+#\s*(.*)$", text)
                if comment:
                    text = text[: comment.start()].strip()
                    marked = re.match(r"needs\s+(.+?)(?::|$)", comment.group(1))
                    needs = marked.group(1).strip() if marked else needs
                current = Command(doc, start + offset + 1, text, needs)
                found.append(current)
        i = end + 1
    return found


ALL = [c for doc in DOCS for c in commands_in(doc)]


def test_the_skipped_commands_are_exactly_the_listed_ones() -> None:
    marked = {c.text: c.needs for c in ALL if c.needs}
    assert marked == NOT_RUN
    assert len(ALL) - len(marked) >= 6  # the docs show runnable commands, and they are found


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout (no .git, no .venv) with ``casefile`` and ``.venv/bin/casefile`` on hand."""
    copy = tmp_path_factory.mktemp("docs") / "casefile"
    ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".*_cache", "evals/runs", "*.sqlite3*")
    shutil.copytree(ROOT, copy, symlinks=True, ignore=ignore)
    shutil.rmtree(copy / "evals" / "runs", ignore_errors=True)
    shim = copy / ".venv" / "bin" / "casefile"
    shim.parent.mkdir(parents=True)
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m casefile.agent.cli "$@"\n')
    shim.chmod(0o755)
    return copy


_TOOL_LINE = re.compile(r"\d+\.\d+s\s+[✓✗] ")


def _pattern(shown: str) -> re.Pattern[str]:
    """A shown output line as a pattern: ``…``/``...`` match anything, durations any number."""
    parts = re.split(r"(\.\.\.|…|\d+\.\d+s|\d+ ms)", shown.strip())
    out = []
    for part in parts:
        if part in ("...", "…"):
            out.append(".*")
        elif re.fullmatch(r"\d+\.\d+s", part):
            out.append(r"\d+\.\d+s")
        elif re.fullmatch(r"\d+ ms", part):
            out.append(r"\d+ ms")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))


@pytest.mark.parametrize("command", ALL, ids=[c.id for c in ALL])
def test_the_command_runs_as_shown(command: Command, checkout: Path) -> None:
    if command.needs:
        pytest.skip(f"needs {command.needs} (marked in {command.doc})")
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_DSN", "_TOKEN"))}
    env.update(
        PATH=f"{checkout / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        CASEFILE_DATABASE_URL=f"sqlite:///{checkout / '.casefile' / 'docs.sqlite3'}",
        NO_COLOR="1",
        COLUMNS="110",
    )
    done = subprocess.run(
        ["bash", "-c", command.text], cwd=checkout, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, (
        f"{command.id}: `{command.text}` exited {done.returncode}:\n{done.stderr[-2000:]}"
    )
    actual = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    position = 0
    block_start: int | None = None  # where the current run of concurrent tool lines began
    used: set[int] = set()
    for shown in command.output:
        if not shown.strip():
            continue
        pattern = _pattern(shown)
        # Tool calls run concurrently: their "✓ tool" lines may finish in any order within their run.
        concurrent = _TOOL_LINE.match(shown.strip()) is not None
        if concurrent and block_start is None:
            block_start = position
        start = block_start if concurrent and block_start is not None else position
        index = next(
            (i for i in range(start, len(actual)) if i not in used and pattern.fullmatch(actual[i])), None
        )
        assert index is not None, (
            f"{command.id}: the shown output line {shown.strip()!r} no longer appears (in order) in:\n"
            + "\n".join(actual)
        )
        used.add(index)
        position = max(position, index + 1) if concurrent else index + 1
        if not concurrent:
            block_start = None


# ---------------------------------------------------------------- environment variables

_READS = [
    r"""(?:environ\.get|getenv|env\.get)\(\s*["']([A-Z][A-Z0-9_]+)["']""",
    r"""(?:environ|env)\[\s*["']([A-Z][A-Z0-9_]+)["']\s*\]""",
    r"""["']([A-Z][A-Z0-9_]+)["']\s+in\s+(?:os\.)?env""",
    r"""\(\s*["']([A-Z][A-Z0-9_]+)["']\s*,\s*["'][a-z_]+["']\s*\)""",  # (VAR, field) tables
]


def code_variables() -> set[str]:
    """Every environment variable the code reads (casefile's own packages, not the tests)."""
    found: set[str] = set()
    for package in ("agent", "tools", "evals"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for pattern in _READS:
                found.update(re.findall(pattern, text))
    # Connectors declare theirs: {"CLICKHOUSE_DSN": "dsn"}.
    from casefile.tools.catalogue import connector_classes

    for cls in connector_classes().values():
        found.update(cls.env_vars)
    # Helpdesks too: {"ZENDESK_WEBHOOK_SECRET": "webhook_secret"}.
    from casefile.agent.helpdesk import helpdesk_classes

    for helpdesk in helpdesk_classes().values():
        found.update(helpdesk.env_vars)
    return found


def readme_variables() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}


def test_every_environment_variable_the_code_reads_is_in_the_readme() -> None:
    code, readme = code_variables(), readme_variables()
    assert {"CASEFILE_DEBUG", "CASEFILE_WORLD", "CASEFILE_ALLOWED_ORIGINS", "CLICKHOUSE_DSN"} <= code
    assert code - readme == set(), "read by the code but not in README's table"
    assert readme - code == set(), "in README's table but read nowhere"
