"""Shell completion scripts, generated from the argument parser (so they never drift from it).

``casefile completion bash|zsh|fish`` prints one; install with, e.g.::

    eval "$(casefile completion bash)"                    # ~/.bashrc
    eval "$(casefile completion zsh)"                     # ~/.zshrc
    casefile completion fish > ~/.config/fish/completions/casefile.fish

Commands, actions and options complete; anything else falls back to file names.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass, field

__all__ = ["SHELLS", "script"]

SHELLS = ("bash", "zsh", "fish")


@dataclass
class _Node:
    """One command level: its sub-commands (name → help, node) and its options (flag → help)."""

    commands: dict[str, tuple[str, _Node]] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    values: list[str] = field(default_factory=list)  # a positional's choices (``completion bash``)


def _tree(parser: argparse.ArgumentParser) -> _Node:
    node = _Node()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                node.commands[name] = (helps.get(name, ""), _tree(sub))
        elif not action.option_strings and action.choices:
            node.values += [str(c) for c in action.choices]
        for flag in action.option_strings:
            node.options[flag] = "" if action.help == argparse.SUPPRESS else (action.help or "")
    return node


def _walk(node: _Node, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], _Node]]:
    found = [(path, node)]
    for name, (_help, child) in node.commands.items():
        found += _walk(child, (*path, name))
    return found


def _bash(root: _Node, prog: str) -> str:
    fn = "_" + prog.replace("-", "_")
    cases = []
    for path, node in _walk(root):
        words = " ".join([*node.commands, *node.values, *node.options])
        cases.append(f"    {shlex.quote(' '.join(path))}) echo {shlex.quote(words)} ;;")
    return "\n".join(
        [
            f'# {prog} completion for bash: eval "$({prog} completion bash)"',
            f"{fn}_words() {{",
            '  case "$1" in',
            *cases,
            "  esac",
            "}",
            f"{fn}() {{",
            '  local cur="${COMP_WORDS[COMP_CWORD]}" path="" word i',
            "  for ((i = 1; i < COMP_CWORD; i++)); do",
            '    word="${COMP_WORDS[i]}"',
            f'    if [[ "$word" != -* && " $({fn}_words "$path") " == *" $word "* ]]; then',
            '      path="${path:+$path }$word"',
            "    fi",
            "  done",
            f'  COMPREPLY=($(compgen -W "$({fn}_words "$path")" -- "$cur"))',
            "}",
            f"complete -o default -F {fn} {prog}",
            "",
        ]
    )


def _zsh(root: _Node, prog: str) -> str:
    # zsh runs bash completion functions through bashcompinit; one generator, both shells.
    return "\n".join(
        [
            f'# {prog} completion for zsh: eval "$({prog} completion zsh)"',
            "autoload -U +X compinit && compinit",
            "autoload -U +X bashcompinit && bashcompinit",
            _bash(root, prog).split("\n", 1)[1],
        ]
    )


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish(root: _Node, prog: str) -> str:
    lines = [f"# {prog} completion for fish: {prog} completion fish > ~/.config/fish/completions/{prog}.fish"]
    for path, node in _walk(root):
        if path:
            last = path[-1]
            condition = f"__fish_seen_subcommand_from {last}"
            if node.commands:
                deeper = " ".join(node.commands)
                condition += f"; and not __fish_seen_subcommand_from {deeper}"
        else:
            condition = "__fish_use_subcommand"
        for name, (help_text, _child) in node.commands.items():
            lines.append(
                f"complete -c {prog} -f -n {_fish_quote(condition)} -a {name} -d {_fish_quote(help_text)}"
            )
        for value in node.values:
            lines.append(f"complete -c {prog} -f -n {_fish_quote(condition)} -a {value}")
        for flag, help_text in node.options.items():
            spec = f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}"
            lines.append(f"complete -c {prog} -n {_fish_quote(condition)} {spec} -d {_fish_quote(help_text)}")
    return "\n".join(lines) + "\n"


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    root = _tree(parser)
    prog = parser.prog
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](root, prog)
