"""One error style everywhere: one line (what, then what to do), documented exit codes, quiet
libraries, colour only for people, shell completion."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from casefile.agent.cli import build_parser, main
from casefile.agent.console import configure_logging, paint, use_color
from casefile.agent.errors import EXIT_CODES

ROOT = Path(__file__).resolve().parent.parent
TICKET = ROOT / "examples" / "tickets" / "429-spike.json"
CASEFILE = [sys.executable, "-m", "casefile.agent.cli"]


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_DSN", "_TOKEN"))}
    clean.pop("NO_COLOR", None)
    clean["CASEFILE_DATABASE_URL"] = f"sqlite:///{cwd / 'store.sqlite3'}"
    clean.update(env)
    return subprocess.run([*CASEFILE, *args], capture_output=True, text=True, cwd=cwd, env=clean, timeout=120)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_version_and_help_list_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("casefile ")
    text = build_parser().format_help()
    readme = (ROOT / "README.md").read_text()
    for code, meaning in EXIT_CODES.items():
        assert f"  {code:<4} {meaning}" in text
        assert f"| {code} | {meaning} |" in readme, f"README's exit-code table lacks {code}"


def test_argument_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["runbooks", "nope"])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "invalid choice: 'nope'" in err and "casefile runbooks --help" in err


def test_a_dsn_that_does_not_parse_names_the_variable(tmp_path: Path) -> None:
    result = run("investigate", str(TICKET), cwd=tmp_path, CLICKHOUSE_DSN="not-a-dsn")
    assert result.returncode == 78
    line = one_line(result)
    assert line.startswith(
        "casefile: CLICKHOUSE_DSN: 'not-a-dsn' is not a ClickHouse DSN; expected e.g. https://"
    )


def test_live_systems_without_an_account_directory(tmp_path: Path) -> None:
    result = run("investigate", str(TICKET), cwd=tmp_path, CLICKHOUSE_DSN="https://u:pw@ch.invalid:8443/db")
    assert result.returncode == 78
    line = one_line(result)
    assert "live systems are configured (logs) but there is no account directory" in line
    assert "set accounts_file in casefile.toml" in line and "pw" not in line


def test_an_unreachable_store_keeps_the_diagnosis_but_not_exit_0(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the store's directory should be
    result = run(
        "investigate", str(TICKET), "--json", "-q", cwd=tmp_path,
        CASEFILE_DATABASE_URL=f"sqlite:///{blocked}/sub/store.sqlite3",
    )  # fmt: skip
    assert result.returncode == 73
    assert json.loads(result.stdout)["ticket_id"] == "T-1001"  # nothing is lost
    line = one_line(result)
    assert line.startswith("casefile: investigation not saved: cannot open the store")
    assert "--no-save" in line


def test_serve_with_an_unreachable_store_is_one_line_exit_69(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASEFILE_DATABASE_URL", "postgresql://casefile:secret@127.0.0.1:1/casefile")
    monkeypatch.setenv("CASEFILE_SERVICE_TOKENS", "t=token")
    assert main(["serve", "--port", "0"]) == 69
    err = capsys.readouterr().err.strip()
    assert err.startswith("casefile: cannot reach the store") or "needs psycopg" in err
    assert "\n" not in err and "secret" not in err


def test_api_and_cli_agree_a_ticket_needs_created_at(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from service_helpers import AUTH, light_env, scripted_factory, settings

    from casefile.agent.service.app import create_app
    from casefile.agent.store import Store

    ticket = json.loads(TICKET.read_text())
    del ticket["created_at"]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(ticket))
    cli = run("investigate", str(path), cwd=tmp_path)
    assert cli.returncode == 2
    cli_message = one_line(cli).removeprefix("casefile: ")

    store = Store("sqlite:///:memory:")
    try:
        app = create_app(settings(), env=light_env(), model_factory=scripted_factory(), store=store)
        with TestClient(app) as client:
            response = client.post("/v1/investigations", json=ticket, headers=AUTH)
    finally:
        store.close()
    assert response.status_code == 422
    assert response.json()["error"]["message"].endswith(cli_message.split(": ", 1)[1])
    assert "ticket has no created_at: add" in cli_message


def test_transcript_with_the_offline_model_says_it_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "t.jsonl"
    result = run("investigate", str(TICKET), "-q", "--no-save", "--transcript", str(out), cwd=tmp_path)
    assert result.returncode == 0
    assert "the offline model sends no requests" in one_line(result)
    assert not out.exists()


def test_internal_errors_are_exit_70_and_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import casefile.agent.cli as cli

    def boom(args: object) -> int:
        raise RuntimeError("kaput")

    monkeypatch.setattr(cli, "_cmd_schema", boom)
    assert main(["schema"]) == 70
    err = capsys.readouterr().err.strip()
    assert err == (
        "casefile: internal error: RuntimeError: kaput "
        "(a bug: run again with --debug for the traceback, and report it)"
    )
    with pytest.raises(RuntimeError):
        main(["--debug", "schema"])


def test_library_log_noise_stays_out_unless_debug(capsys: pytest.CaptureFixture[str]) -> None:
    noisy = logging.getLogger("clickhouse_connect.driver.httpclient")
    try:
        configure_logging(debug=False)
        noisy.error("Unexpected Http Driver Exception")
        logging.getLogger("casefile.tools.logs").warning("our own warning")
        err = capsys.readouterr().err
        assert "Unexpected Http Driver Exception" not in err and "casefile: our own warning" in err
        configure_logging(debug=True)
        noisy.error("Unexpected Http Driver Exception")
        assert "Unexpected Http Driver Exception" in capsys.readouterr().err
    finally:
        configure_logging(debug=False)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_tty_and_never_with_no_color() -> None:
    assert use_color(_Tty(), env={}) is True
    assert use_color(_Tty(), env={"NO_COLOR": ""}) is False  # set, even empty, means no colour
    assert use_color(_Tty(), env={"TERM": "dumb"}) is False
    assert use_color(io.StringIO(), env={}) is False
    assert paint("x", "red", io.StringIO()) == "x"


def test_bash_completion_completes_commands_actions_and_choices(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    script = tmp_path / "casefile.bash"
    script.write_text(main_output(["completion", "bash"]))

    def complete(*words: str) -> list[str]:
        array = " ".join(f"'{w}'" for w in ("casefile", *words))
        code = (
            f"source {script}; COMP_WORDS=({array}); COMP_CWORD={len(words)}; _casefile; "
            'printf "%s\\n" "${COMPREPLY[@]}"'
        )
        out = subprocess.run([bash, "-c", code], capture_output=True, text=True, check=True).stdout
        return out.split()

    assert complete("runb") == ["runbooks"]
    assert complete("runbooks", "") == ["check", "list", "-h", "--help"]
    assert complete("completion", "") == ["bash", "zsh", "fish", "-h", "--help"]
    assert "--json" in complete("investigate", "--")


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts(shell: str) -> None:
    text = main_output(["completion", shell])
    if shell == "zsh":
        assert "bashcompinit" in text and "complete -o default -F _casefile casefile" in text
    else:
        assert "complete -c casefile -f -n '__fish_use_subcommand' -a investigate" in text
        assert "__fish_seen_subcommand_from runbooks" in text
    binary = shutil.which(shell)
    if binary:  # syntax-check with the shell itself when it is installed
        flag = ["-n"] if shell == "zsh" else ["--no-execute"]
        subprocess.run([binary, *flag], input=text, text=True, check=True)


def main_output(argv: list[str]) -> str:
    import contextlib

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(argv) == 0
    return buffer.getvalue()
