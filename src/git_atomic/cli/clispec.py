"""What the parser knows, as plain data: the source of help, man page, completion and reference.

The man page (`manpage.py`), the bash and zsh completion (`completion.py`) and the CLI section of
docs/reference.md are all generated from `build_parser()` through this module, so none of them
can drift from the command line that actually runs. Reading argparse's `_actions` is reading a
private attribute, but one that has not changed shape since Python 3.2.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Final

from git_atomic.core.records import dataclass

# Commands as `git atomic help` lists them, in the order a newcomer meets them.
GROUPS: Final = (
    ("start", ("init",)),
    ("run an operation", ("run", "begin", "checkpoint", "commit", "abort", "tdd")),
    ("go back", ("rollback", "undo", "emergency", "recover")),
    ("look", ("status", "log", "show", "gates")),
    ("housekeeping and agents", ("gc", "mcp", "hooks", "help")),
)

EXAMPLES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "run": (
        (
            "git atomic run -g 'pytest -q' -- ruff check --fix .",
            "fix lint, keep the fixes only if the tests still pass",
        ),
        (
            "git atomic run --history shadow --timeout 600 -- ./codemod.sh",
            "no commits on the branch; roll back after ten minutes",
        ),
    ),
    "init": (
        ("git atomic init --dry-run", "which gates would it configure?"),
        ("git atomic init", "write .git-atomic.toml (or pyproject.toml's [tool.git-atomic])"),
    ),
    "begin": (("git atomic begin rename-user-model", "open an operation, then edit by hand"),),
    "checkpoint": (("git atomic checkpoint -m 'models renamed'", "record a stage"),),
    "commit": (("git atomic commit -g 'pytest -q'", "gates, then POST-OP or roll back"),),
    "rollback": (
        ("git atomic rollback --dry-run", "what would the last step back change?"),
        ("git atomic rollback --op 3f2a9c1e", "take back that operation's effect, keep the rest"),
        ("git atomic rollback --op 3f2a9c1e --whole --dry-run", "what going back would drop"),
        ("git atomic rollback --to 7d665f94 -- src/app.py", "one file as it was then"),
    ),
    "undo": (("git atomic undo", "bring back what the last rollback replaced"),),
    "log": (
        ("git atomic log -n 10 --status rolled_back", "the last ten failures"),
        ("git atomic log --since 2h --name 'agent-*'", "recent operations of an agent"),
    ),
    "show": (("git atomic show 3f2a9c1e --stat", "timeline, gates and changed files"),),
    "tdd": (
        ("git atomic tdd red -m 'login rejects bad password'", "the new test must fail"),
        ("git atomic tdd green -m 'check the password'", "now the tests must pass"),
    ),
    "recover": (("git atomic recover --accept", "keep the tree a crash left behind"),),
    "help": (("git atomic help --man-path", "a folder to add to MANPATH"),),
}

EXIT_CODES: Final = (
    (0, "done: the operation is final (or the query answered)"),
    (1, "the operation failed and was rolled back (command, timeout or gate)"),
    (
        2,
        "usage or configuration error; nothing changed (among them `commit`, `abort` or "
        "`checkpoint` with no operation open here, `undo` with nothing to undo, an id or "
        "checkpoint no record names)",
    ),
    (
        3,
        "refused: unsafe or busy repository state (not a repository, a merge in progress, "
        "another open or interrupted operation, the lock held), or an effect that overlaps "
        "later changes; nothing changed. Also a rollback, undo, abort or emergency that found "
        "paths or refs changed by someone else while it ran, or paths the system refused to "
        "change: those are left as they are and named, the rest is done",
    ),
    (
        130,
        "interrupted by SIGINT; rolled back before exiting (the status of git-atomic itself: "
        "through `git atomic`, a Ctrl-C that reaches git too ends git with `error: waitpid for "
        "git-atomic failed` and status 128; scripts call git-atomic directly)",
    ),
    (143, "interrupted by SIGTERM; rolled back before exiting (through `git atomic`, as for 130)"),
)

ENVIRONMENT: Final = (
    ("NO_COLOR", "when set (to anything but the empty string), no colour in human output"),
    (
        "GIT_PAGER, PAGER",
        "the pager for log and show, looked up as git does: GIT_PAGER, "
        "pager.atomic, core.pager, PAGER, then less",
    ),
    ("LESS", "set to FRX when unset, as git does, so short output is not paged"),
    (
        "color.atomic, color.ui",
        "git settings: never, always or auto (colour on a terminal), "
        "as for git's own commands; NO_COLOR and TERM=dumb win",
    ),
    ("pager.atomic", "git setting: false never pages; a command pages through it"),
    (
        "GIT_ATOMIC_LOG_DIR",
        "where the report of a failing git call or of a bug is written "
        "(default: the temporary folder)",
    ),
    (
        "GIT_ATOMIC_HELPER",
        "0 (or no, false, off): begin, checkpoint, status, abort and hook always run in their "
        "own process, and start no warm helper; default on",
    ),
    (
        "GIT_ATOMIC_HELPER_IDLE",
        "seconds a worktree's warm helper waits for the next command before it leaves (default 60)",
    ),
    (
        "GIT_ATOMIC_REPO",
        "mcp: the repository the server works on when --repo is not given "
        "(default: the current folder)",
    ),
    (
        "GIT_ATOMIC_HOOK_LOCK_WAIT",
        "seconds an agent hook call waits for the worktree's lock before its tool call runs "
        "unprotected (default 45)",
    ),
    (
        "GIT_ATOMIC_INDEX_LOCK_WAIT",
        "seconds a rollback or undo that must write the index waits for a live git's "
        "index.lock (your commit's editor open) before it refuses, having written nothing "
        "(default 10)",
    ),
    (
        "GIT_ATOMIC_WATCHMAN",
        "0: a capture never asks Watchman what changed, even where it watches the tree "
        "(default on)",
    ),
    (
        "XDG_CACHE_HOME",
        "the configuration's parse is cached under $XDG_CACHE_HOME/git-atomic "
        "(default ~/.cache/git-atomic; delete it any time)",
    ),
    ("GIT_ATOMIC_FAILPOINT", "for crash tests only: kill git-atomic at a named step"),
    (
        "GIT_ATOMIC_FAILPOINT_PAUSE",
        "for tests only: pause git-atomic at a named step until the file named by "
        "GIT_ATOMIC_FAILPOINT_PAUSE_FILE is removed",
    ),
)


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]
    metavar: str | None  # None: a flag that takes no value
    help: str
    choices: tuple[str, ...]
    repeatable: bool


@dataclass(frozen=True)
class Positional:
    metavar: str
    help: str
    choices: tuple[str, ...]
    optional: bool
    many: bool
    rest: bool  # everything after it (`-- COMMAND [ARG...]`)


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    options: tuple[Option, ...]
    positionals: tuple[Positional, ...]

    def synopsis_lines(self, width: int = 78) -> list[str]:
        """The synopsis wrapped between its parts, continuation lines under the first option."""
        parts = self._parts()
        indent = " " * (len(parts[0]) + 1)
        lines = [parts[0]]
        for part in parts[1:]:
            if len(lines[-1]) + 1 + len(part) > width and lines[-1].strip() != parts[0]:
                lines.append(indent + part)
            else:
                lines[-1] += " " + part
        return lines

    def _parts(self) -> list[str]:
        parts = [f"git atomic {self.name}"]
        for opt in self.options:
            flag = opt.flags[0]
            value = f" {opt.metavar}" if opt.metavar else ""
            parts.append(f"[{flag}{value}]" + ("..." if opt.repeatable else ""))
        for pos in self.positionals:
            if pos.rest:
                parts.append(
                    f"[{pos.metavar}]" if pos.metavar.startswith("--") else f"[-- {pos.metavar}...]"
                )
            elif pos.many:
                parts.append(f"[{pos.metavar}...]")
            else:
                parts.append(f"[{pos.metavar}]" if pos.optional else pos.metavar)
        return parts


@dataclass(frozen=True)
class Cli:
    description: str
    commands: tuple[Command, ...]

    def command(self, name: str) -> Command:
        return next(c for c in self.commands if c.name == name)


def _subparsers(
    parser: argparse.ArgumentParser,
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise LookupError("the parser has no subcommands")


def _metavar(action: argparse.Action) -> str | None:
    if action.nargs == 0:
        return None
    if isinstance(action.metavar, str):
        return action.metavar
    if action.choices is not None:
        return "{" + "|".join(str(c) for c in action.choices) + "}"
    return action.dest.upper()


def _command(name: str, summary: str, parser: argparse.ArgumentParser) -> Command:
    options: list[Option] = []
    positionals: list[Positional] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
            continue
        choices = tuple(str(c) for c in action.choices) if action.choices is not None else ()
        help_text = action.help or ""
        if action.option_strings:
            options.append(
                Option(
                    tuple(action.option_strings),
                    _metavar(action),
                    help_text,
                    choices,
                    isinstance(action, argparse._AppendAction),
                )
            )
        else:
            rest = action.nargs == argparse.REMAINDER
            positionals.append(
                Positional(
                    _metavar(action) or action.dest,
                    help_text,
                    choices,
                    optional=action.nargs in ("?", "*") or rest,
                    many=action.nargs in ("*", "+"),
                    rest=rest,
                )
            )
    return Command(name, summary, tuple(options), tuple(positionals))


def describe(parser: argparse.ArgumentParser) -> Cli:
    """The commands people use (not the hidden `hook` that installed hooks call)."""
    sub = _subparsers(parser)
    summaries = {a.dest: a.help or "" for a in sub._choices_actions}
    commands = tuple(
        _command(name, summaries[name], p) for name, p in sub.choices.items() if name in summaries
    )
    return Cli(parser.description or "", commands)


def top_help(parser: argparse.ArgumentParser) -> str:
    """`git atomic help`: the commands in groups, as `git help` lists git's."""
    cli = describe(parser)
    width = max(len(c.name) for c in cli.commands) + 2
    lines = [
        "usage: git atomic [--version] [--help] COMMAND [ARGS]",
        "",
        *textwrap.wrap(cli.description, 78),
    ]
    for title, names in GROUPS:
        lines += ["", f"{title}:"]
        lines += [f"   {n:<{width}}{cli.command(n).summary}" for n in names]
    lines += [
        "",
        "`git atomic help COMMAND` or `git atomic COMMAND --help` for one command,",
        "`git atomic help --man` for the manual.",
    ]
    return "\n".join(lines) + "\n"


def examples_text(name: str) -> str:
    rows = EXAMPLES.get(name, ())
    if not rows:
        return ""
    return "examples:\n" + "".join(f"  {cmd}\n      {why}\n" for cmd, why in rows)


def decorate(parser: argparse.ArgumentParser) -> None:
    """Give each command's --help its examples (kept here, beside the other generated text)."""
    for name, sub in _subparsers(parser).choices.items():
        if name in EXAMPLES:
            sub.epilog = examples_text(name)
            sub.formatter_class = argparse.RawDescriptionHelpFormatter


# --- docs/reference.md ------------------------------------------------------------------------
def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def reference_markdown(parser: argparse.ArgumentParser) -> str:
    """The command-line part of docs/reference.md."""
    cli = describe(parser)
    out = ["## Commands", ""]
    for title, names in GROUPS:
        out.append(f"- {title}: " + ", ".join(f"[`{n}`](#git-atomic-{n})" for n in names))
    for cmd in cli.commands:
        out += [
            "",
            f"### git atomic {cmd.name}",
            "",
            f"{cmd.summary[0].upper()}{cmd.summary[1:]}.",
            "",
            "```",
            *cmd.synopsis_lines(),
            "```",
        ]
        rows = [
            (
                ", ".join(f"`{f}`" for f in o.flags) + (f" `{o.metavar}`" if o.metavar else ""),
                o.help + (" (repeatable)" if o.repeatable else ""),
            )
            for o in cmd.options
        ]
        rows += [
            (f"`{p.metavar}`", p.help or (", ".join(p.choices) if p.choices else ""))
            for p in cmd.positionals
        ]
        if rows:
            out += ["", "| argument | meaning |", "| --- | --- |"]
            out += [f"| {_md_escape(a)} | {_md_escape(b)} |" for a, b in rows]
        if cmd.name in EXAMPLES:
            out += ["", "```"]
            for line, why in EXAMPLES[cmd.name]:
                out += [f"{line}    # {why}"]
            out.append("```")
    out += ["", "## Exit codes", "", "| code | meaning |", "| --- | --- |"]
    out += [f"| {code} | {_md_escape(text)} |" for code, text in EXIT_CODES]
    out += ["", "## Environment and git settings", "", "| variable | effect |", "| --- | --- |"]
    out += [f"| `{name}` | {_md_escape(text)} |" for name, text in ENVIRONMENT]
    return "\n".join(out) + "\n"
