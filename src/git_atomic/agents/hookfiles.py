"""Every platform's hooks file: merge our hooks in, take exactly ours out, say what is there.

Two shapes exist. Claude Code, Codex, Gemini CLI and OpenHands group handlers under a matcher
(`hooks.<Event>: [{"matcher": ..., "hooks": [handler...]}]`); Cursor and Copilot CLI list the
handlers themselves (`hooks.<event>: [handler...]`, with a top-level `"version": 1`). Never
clobbers: every other key, event, group and handler stays as it was; installing twice changes
nothing; ours are recognised by their command line; a file left holding nothing but what we
wrote is removed, with its folder when that is left empty (no stray `{}`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from git_atomic.core import wholefile
from git_atomic.core.errors import ConfigError, RefusedError
from git_atomic.core.records import dataclass, field


@dataclass(frozen=True)
class Event:
    name: str
    timeout: int  # seconds
    matcher: str | None = None  # grouped shapes only: the tool names it applies to


@dataclass(frozen=True)
class Layout:
    platform: str
    path: str  # relative to the project root
    events: tuple[Event, ...]
    grouped: bool = True
    command_key: str = "command"
    timeout_key: str = "timeout"
    timeout_scale: int = 1  # Gemini counts milliseconds
    handler_extra: Mapping[str, Any] = field(default_factory=dict)
    top: Mapping[str, Any] = field(default_factory=dict)  # set when we create the file
    restart: str = ""  # what the user must do for the platform to read the file
    # After the command, for a platform that takes a hook that could not run for a refusal
    # (Copilot CLI's `preToolUse` is fail-closed): ` || true`.
    guard: str = ""

    @property
    def command(self) -> str:
        return f"git-atomic hook {self.platform}"

    def is_ours(self, handler: object) -> bool:
        if not isinstance(handler, dict):
            return False
        text = handler.get(self.command_key)
        pattern = rf"(?:git-atomic|git atomic|-m git_atomic) hook {re.escape(self.platform)}\b"
        return isinstance(text, str) and re.search(pattern, text) is not None

    def shown(self, command: str) -> str:
        """A command of ours as install and uninstall name it: without its guard."""
        return command.removesuffix(self.guard) if self.guard else command

    def handler(self, event: Event, extra_args: str = "") -> dict[str, Any]:
        return {
            "type": "command",
            self.command_key: f"{self.command} {event.name}{extra_args}{self.guard}",
            **self.handler_extra,
            self.timeout_key: event.timeout * self.timeout_scale,
        }

    def entry(self, event: Event, extra_args: str = "") -> dict[str, Any]:
        """What goes into the event's list: a matcher group, or the handler itself."""
        handler = self.handler(event, extra_args)
        if not self.grouped:
            return handler
        return {**({"matcher": event.matcher} if event.matcher else {}), "hooks": [handler]}


def install(layout: Layout, root: Path, *, extra_args: str = "") -> list[str]:
    path = root / layout.path
    _refuse_links(path, root)
    settings = _load(path, layout)
    created = not settings
    hooks = settings.setdefault("hooks", {})
    lines: list[str] = []
    for event in layout.events:
        entries: list[Any] = hooks.setdefault(event.name, [])
        wanted = layout.entry(event, extra_args)
        mine = [e for e in entries if _holds_ours(layout, e)]
        if mine == [wanted]:
            continue
        if mine:
            _remove_ours(layout, entries)
        entries.append(wanted)
        verb = "updated" if mine else "added"
        lines.append(
            f"{verb} {event.name} hook: "
            + layout.shown(layout.handler(event, extra_args)[layout.command_key])
        )
    if not lines:
        return [f"{_shown(path, root)}: the git-atomic hooks are already installed"]
    if created:
        settings = {**layout.top, **settings}
    _write(path, settings)
    return [
        *lines,
        f"wrote {_shown(path, root)}" + (f" ({layout.restart})" if layout.restart else ""),
    ]


def uninstall(layout: Layout, root: Path) -> list[str]:
    path = root / layout.path
    _refuse_links(path, root)
    if not path.exists():
        return [f"{_shown(path, root)} does not exist: nothing to remove"]
    settings = _load(path, layout)
    hooks = settings.get("hooks", {})
    lines: list[str] = []
    for event in list(hooks):
        removed = _remove_ours(layout, hooks[event])
        lines += [f"removed {event} hook: {layout.shown(command)}" for command in removed]
        if removed and not hooks[event]:
            del hooks[event]
    if not lines:
        return [f"{_shown(path, root)} has no git-atomic hooks: nothing to remove"]
    if not hooks:
        del settings["hooks"]
    if not settings or settings == dict(layout.top):  # nothing but ours was in it
        path.unlink()
        folder = path.parent
        while folder != root and root in folder.parents:
            try:
                folder.rmdir()  # only when empty (`.github/hooks`, then `.github`)
            except OSError:
                break
            folder = folder.parent
        return [*lines, f"removed {_shown(path, root)}"]
    _write(path, settings)
    return [*lines, f"wrote {_shown(path, root)}"]


def installed(layout: Layout, root: Path) -> list[str]:
    """The events whose git-atomic hook is in the platform's file (for `hooks status`)."""
    if _linked(root / layout.path, root) is not None:
        return []
    try:
        settings = _load(root / layout.path, layout)
    except ConfigError:
        return []
    hooks = settings.get("hooks", {})
    return [
        event for event, entries in hooks.items() if any(_holds_ours(layout, e) for e in entries)
    ]


def lacking(layout: Layout, root: Path) -> list[str]:
    """Our events the file lacks, or holds otherwise than this release installs them (a matcher
    that names fewer tools, a timeout, a command's guard), where it holds some of ours: a file
    an older git-atomic wrote ([] where all are as `install` writes them, or none is there)."""
    if _linked(root / layout.path, root) is not None:
        return []
    try:
        hooks = _load(root / layout.path, layout).get("hooks", {})
    except ConfigError:
        return []
    ours = {
        event: [e for e in entries if _holds_ours(layout, e)]
        for event, entries in hooks.items()
        if isinstance(entries, list)
    }
    if not any(ours.values()):
        return []
    commits = any("--history commits" in c for c in commands_of(layout, root))
    extra = " --history commits" if commits else ""
    return [e.name for e in layout.events if ours.get(e.name) != [layout.entry(e, extra)]]


def reinstall(layout: Layout, root: Path) -> str:
    """The command that adds what the file lacks, in the mode its hooks were installed in."""
    commits = any("--history commits" in c for c in commands_of(layout, root))
    return f"git atomic hooks install {layout.platform}" + (" --history commits" if commits else "")


def commands_of(layout: Layout, root: Path) -> list[str]:
    """Our installed command lines, as written in the file."""
    if _linked(root / layout.path, root) is not None:
        return []
    try:
        hooks = _load(root / layout.path, layout).get("hooks", {})
    except ConfigError:
        return []
    found = []
    for entries in hooks.values():
        for entry in entries:
            handlers = entry.get("hooks", []) if layout.grouped else [entry]
            found += [h[layout.command_key] for h in handlers if layout.is_ours(h)]
    return found


def _holds_ours(layout: Layout, entry: object) -> bool:
    if not layout.grouped:
        return layout.is_ours(entry)
    return isinstance(entry, dict) and any(map(layout.is_ours, entry.get("hooks", [])))


def _remove_ours(layout: Layout, entries: list[Any]) -> list[str]:
    """Drop our handlers from an event's list, and the groups we leave empty."""
    removed: list[str] = []
    for entry in list(entries):
        if not layout.grouped:
            if layout.is_ours(entry):
                removed.append(entry[layout.command_key])
                entries.remove(entry)
            continue
        if not isinstance(entry, dict):
            continue
        handlers = entry.get("hooks", [])
        ours = [h for h in handlers if layout.is_ours(h)]
        if ours:
            removed += [h[layout.command_key] for h in ours]
            entry["hooks"] = [h for h in handlers if not layout.is_ours(h)]
            if not entry["hooks"]:
                entries.remove(entry)
    return removed


def _linked(path: Path, root: Path) -> Path | None:
    """The first of the folders on the way from `root` to the platform's file, or the file,
    that is a symbolic link; None when none is."""
    here = root
    for part in path.relative_to(root).parts:
        here = here / part
        try:
            if os.lstat(here).st_mode & 0o170000 == 0o120000:
                return here
        except FileNotFoundError:
            return None
        except OSError:
            return None  # read as before: _load says what is wrong with it
    return None


def _refuse_links(path: Path, root: Path) -> None:
    """Nothing outside the worktree is read or written through a link: a `.claude` (or its
    `settings.json`) that is a link, to your home's `~/.claude` say, would have the project's
    hooks written into every project's settings, and `uninstall` remove a file there."""
    linked = _linked(path, root)
    if linked is not None:
        raise RefusedError(
            f"{_shown(linked, root)} is a symbolic link (to {os.readlink(linked)}); git-atomic "
            "never reads or writes a hooks file through one",
            hint="put the real folder or file in its place, then run this again",
        )


def _load(path: Path, layout: Layout) -> dict[str, Any]:
    from git_atomic.core.bomtext import utf8_text

    try:
        # Past a byte order mark (Notepad's, PowerShell's `Out-File`): read as no JSON, the
        # file was refused; it is written back without one, as every platform reads it.
        # Never through a link that came after the check (`_refuse_links`), nor a FIFO's wait.
        text = utf8_text(wholefile.read(path, limit=1 << 24))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from None
    if not text.strip():
        return {}
    try:
        settings = json.loads(text)
    except ValueError as exc:
        raise ConfigError(
            f"{path}: not valid JSON: {exc}; nothing was changed",
            hint="a file with comments or trailing commas (Gemini CLI and VS Code accept them) "
            "is never rewritten, as a rewrite could not keep them: remove them, then run this "
            "again",
        ) from None
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: the top level must be a JSON object")
    hooks = settings.get("hooks", {})
    if not isinstance(hooks, dict):
        raise ConfigError(f"{path}: 'hooks' must be an object of event names")
    for event, entries in hooks.items():
        if not isinstance(entries, list):
            what = "matcher groups" if layout.grouped else "hook handlers"
            raise ConfigError(f"{path}: 'hooks.{event}' must be a list of {what}")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or (
                layout.grouped and not isinstance(entry.get("hooks", []), list)
            ):
                shape = "an object whose 'hooks' is a list" if layout.grouped else "an object"
                raise ConfigError(f"{path}: 'hooks.{event}[{i}]' must be {shape}")
    return settings


def _write(path: Path, settings: Mapping[str, Any]) -> None:
    """Replace the file in one step, flushed to the disk first (wholefile.py): the platform
    never reads half of it, and a crash or a power cut leaves the old settings or the new."""
    from git_atomic.core import wholefile

    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(settings, indent=2, ensure_ascii=False) + "\n"
    mode = 0o644
    with contextlib.suppress(OSError):
        mode = os.stat(path).st_mode & 0o777  # yours kept (a link at the name is replaced)
    wholefile.remove_left(path)  # an install killed before its rename left its copy
    wholefile.replace(path, text.encode("utf-8", "surrogateescape"), mode=mode)


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
