"""The hot path: what a command imports before its scan of the tree starts, and in all.

`begin`, `run` and `abort` take the worktree's lock and start the scan (a background `git
status`) before they import the rest of the command (engine/early.py); agents call the hook
command on every tool call. Every millisecond of imports there is paid on each call, so what
they may import is listed here, once. A module added to one of these paths fails the test:
keep it off the path (import it where it is needed, after the scan), or add it here with why.

Measured in a fresh interpreter (`python -S`: only the standard library and this checkout, no
site-packages' `.pth` imports) with an audit hook that notes `sys.modules` when the scan's `git
status` starts.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testing.agents import write_hook_payload
from testing.gitrepo import GitRepo

PKG = "git_atomic"

# Before the scan of `begin` (and `run`, `abort`): the parser, the lock, and what starts the scan.
BEFORE_SCAN = {
    f"{PKG}{m}"
    for m in (
        "",
        ".cli",
        ".cli.dispatch",
        ".cli.entry",  # the console script's: Ctrl-C answered from the first module on
        ".cli.main",
        ".cli.parser",
        ".cli.parserbase",  # what the parser is built from: its errors, one command alone
        ".core",
        ".core.children",  # the interrupts noted from the start (early.py)
        ".core.envnumbers",  # our GIT_ATOMIC_* waits and sizes, a bad value the default (os)
        ".core.errors",
        ".core.helper",  # the warm helper's client: asked first, imports nothing heavy
        ".core.lock",
        ".core.patterns",  # the regular expressions the warm helper compiles ahead (tiny)
        ".core.process",
        ".core.wholefile",  # the memos read never through a link nor waited on (os, zlib)
        ".core.failpoints",  # (wholefile's: os, signal, time)
        ".engine",
        ".engine.capturerefs",  # the refs a capture reads, listed with the lock (tiny)
        ".engine.conversion",
        ".engine.discovery",
        ".engine.gitdirsearch",  # (the git dirs found without git first: from discovery.py)
        ".engine.layoutcheck",  # the layout refused by name (discovery's, split: os, stat)
        ".engine.early",
        ".engine.foundmemo",  # discovery's answer kept between calls, as a hook call's
        ".engine.git",
        ".engine.gitconfig",
        ".engine.configfiles",  # (its files, and whether one changed: from gitconfig.py)
        ".engine.gitdirfiles",  # the git dir's files git would wait on (tiny: os, stat)
        ".engine.gitlinks",  # links of yours in refs/ looked for before the scan reads a ref
        ".engine.gitlinkwalk",  # (the walk that finds them: split from gitlinks.py)
        ".engine.gitoutput",  # git.py's records of what git prints, and their parsing
        ".engine.gitrunner",  # Repo's layers, split from git.py: how its git calls run,
        ".engine.reflisting",  # its last refs listing, kept with our updates (typing alone)
        ".engine.gitobjects",  # objects read and written, trees listed and compared,
        ".engine.gittrees",  # trees written and edited
        ".engine.treediff",  # git.py's tree edits' differences, known without diff-tree (tiny)
        ".engine.objectformat",
        ".engine.rulefiles",  # which files hold git's rules (tiny: os alone): conversion.py's
        ".engine.safefs",
        ".engine.safereach",  # its paths reached and read (split from safefs.py: os, stat)
        ".engine.scan",
        ".engine.reconcile",  # the scan's parts: its paths made the user's,
        ".engine.scanindex",  # the scan index's files and ref,
        ".engine.scanseed",  # a scan seeded from a copy of your index (early.py's),
        ".engine.statuslist",  # what its `git status` lists, read,
        ".engine.splitindex",  # which shared index an index file uses (tiny: os alone)
        ".engine.scanracy",  # its entries racily clean by ctime, smudged (tiny: os alone)
        ".engine.indexentries",  # an index's entries, read in place (tiny: os alone)
        ".engine.scantree",  # its new tree from the files that changed
        ".engine.stalls",  # its look at the rule files git would wait on (tiny: os, stat)
        ".engine.systemattributes",  # the system's attributes file, for conversion.py (tiny)
        ".engine.watcher",  # the scan asks Watchman first, when it runs (perfwatch)
        ".engine.watchmanlink",  # (over its socket: split from watcher.py)
        ".engine.watchpaths",  # (the paths it reports, sorted as git would: from watcher.py)
        ".engine.branchesours",  # the branch symrefs of ours gitlinks.py looks for (tiny)
        ".engine.fdcalls",  # safefs.py's calls on a file it opened (tiny: os, stat)
    )
}
# The rest of `begin` and `checkpoint`, imported while the scan runs (begin) or before it
# (checkpoint, which starts no scan early): the journal, the engine, the phase machine.
SESSION = BEFORE_SCAN | {
    f"{PKG}{m}"
    for m in (
        ".commands",
        ".commands.session",
        ".commands.theirs",  # another live session's open operation refused (one listing)
        ".engine.commitbody",  # a checkpoint commit worked out without a process
        ".engine.identity",  # who our commits are by, and when (gitconfig.identity_env's)
        ".engine.managedbranch",  # a branch another tool manages (GitButler's) takes none (tiny)
        ".engine.gitancestors",  # a `git commit` whose hook runs a commits-mode begin (os, /proc)
        ".core.bomtext",  # a configuration or a hook's payload read past a byte order mark
        ".core.config",  # the configuration package: where it is read from, and
        ".core.config.commandline",  # the `-g` gates,
        ".core.config.reader",  # the check of its tables,
        ".core.config.schema",  # what it holds
        ".core.failpoints",
        ".core.journal",  # the journal package: its file and schema, and one module a table
        ".core.journal.checkpoints",
        ".core.journal.connection",
        ".core.journal.events",
        ".core.journal.gates",
        ".core.journal.operations",
        ".core.journal.retention",
        ".core.journalrows",  # the records the journal reads back
        ".core.printable",  # names and commands written without control characters (tiny)
        ".core.records",  # the dataclass decorator that costs nothing to define (records.py)
        ".core.vocab",  # the journal's closed vocabularies (StrEnums)
        ".core.wholefile",  # small state files written whole (os alone): the pending intent
        ".engine.gitstate",
        ".engine.gitlockheld",  # whether git's locks are held (gitstate.py's, split)
        ".engine.ignores",
        ".engine.ignoredthen",  # (what a commit leaves out, hidden before: from ignores.py)
        ".engine.indexstate",
        ".engine.indexbuild",  # an index built to hold a target's (split from indexstate.py)
        ".engine.isolation",
        ".engine.restoreplan",  # a restore's plan: its folder rules, which a rescue's check uses
        ".engine.unseen",  # what a rescue must hold that git ignores now
        ".engine.rulefiles",  # which files hold rules: a `.gitignore`, the excludes file (tiny)
        ".engine.changedtimes",  # (and when what it holds last changed: ignores.py's, split)
        ".engine.checkpoint",  # the checkpoint format, and the capture's steps:
        ".engine.checkpointparts",  # (what a checkpoint holds, its record: from checkpoint.py)
        ".engine.folderids",  # where each folder was (device, inode): a checkpoint keeps it (tiny)
        ".engine.checkpointtags",  # the tags a checkpoint records (tiny)
        ".engine.folders",
        ".engine.folderwalk",  # the walk of the folders beside the scan (early.py),
        ".engine.folderwalker",  # (one walk, split from folderwalk.py: what it opens and asks)
        ".engine.folderrecord",  # (a folder as it reads one: an fstat, a listing; tiny: os)
        ".engine.ignoredinside",  # (and the folders in the ignored ones it meets: tiny)
        ".engine.indexfile",
        ".engine.snapshot",
        ".engine.gitside",  # (its git side: HEAD, the branches, the index; from snapshot.py)
        ".engine.symrefsloose",  # (its symbolic branches naming nothing: a listing, tiny: os)
        ".engine.commitview",  # commits mode's view of the files: what your git would stage
        ".engine.refusedpaths",  # (and the names your git refuses to stage: tiny)
        ".engine.capturedisk",  # its reading of the files (a scan, or `add -A`)
        ".engine.ignoredattrs",  # (the attributes beside ignored folders' tracked files, kept)
        ".engine.diskreading",  # (that reading started, stopped, closed: from capturedisk.py)
        ".engine.addall",  # (and `add -A`'s refusals, where a scan cannot say)
        ".engine.scankeep",  # (the scan's index kept for the next one)
        ".engine.heldanyway",  # what git's reading does not show, and a capture holds anyway
        ".engine.scanbits",  # the clean files' permission bits, kept beside the scan index
        ".engine.splitentries",  # (its scan index's entries, read with its shared index)
        ".engine.sharedmemo",  # (that shared index's entries kept for the next capture)
        ".engine.infoexclude",  # the repository's own ignore rules, part of the state
        ".engine.stashstate",  # your stashes, part of the state
        ".engine.dotgit",  # a worktree's `.git` file, part of the state
        ".engine.reflogkeep",  # the branches' reflogs, linked by a PRE-OP (a turn's first call)
        ".engine.memofiles",  # ORIG_HEAD noted by a PRE-OP, one small read (safefs, os alone)
        ".engine.coreplace",  # core.bare/core.worktree noted by a PRE-OP: two small reads
        ".engine.refsfiles",  # whether a ref may be under a prefix: a listing, one small read
        ".engine.gitfolders",  # the ref folders a PRE-OP had not: a few lstat (safefs, os alone)
        ".engine.staged",
        ".engine.indexerrors",  # (the index it cannot hold, as errors: from staged.py)
        ".ops",
        ".ops.conclude",  # the end of every command: interrupts, the outcome, the exit code
        ".ops.context",
        ".ops.samefolder",  # whether this is the worktree an operation was begun in (context's)
        ".ops.gates",
        ".ops.operation",
        ".ops.restoring",  # the Engine's moves (operation.py's, split): imported with it
        ".ops.rollbackop",  # an operation's own rollback (split from operation.py)
        ".ops.journalgone",  # a journal gone told from one never kept (context.open_journal)
        ".ops.gitdirback",  # the git dir beside its checkpoints put back (rollbackop.py's)
        ".ops.gitdirnoted",  # what a PRE-OP notes of the git dir beside its checkpoint (lstat)
        ".ops.output",
        ".ops.phasecommit",
        ".ops.rescue",  # a restore's target read and its rescue saved (operation.py's steps)
        ".ops.results",  # the records output renders
        ".ops.resultjson",  # and their JSON (--json only)
        ".ops.validation",  # the gates' step (commit)
    )
}
# A rollback's restore: not imported by a checkpoint (operation.py and isolation.py import it
# where they restore), only by the commands that take something back.
RESTORE = {
    f"{PKG}{m}"
    for m in (
        ".engine.restore",
        ".engine.restorefiles",  # its writes to the files,
        ".engine.restorefolders",  # its folders made and pruned (split from restorefiles.py),
        ".engine.restorespecials",  # its FIFOs, sockets, devices and bits (from restorefiles.py),
        ".engine.restorerefs",  # its moves of HEAD and the branches,
        ".engine.restoreindex",  # its index and git's state put back (from restore.py),
        ".engine.restorebits",  # its bits a tree cannot keep closed again (from restore.py),
        ".engine.blobsahead",  # with the bytes of a large one read beside its removals,
        ".engine.restorekeeps",  # and what it leaves where it is
        ".engine.gitlocks",  # git's stale locks it removes first, one door (os, stat: 0.1 ms)
        ".engine.unchanged",  # its check that nobody else wrote a path
        ".engine.lfskeep",  # the LFS content it puts back (or keeps aside)
        ".engine.nestedrepos",  # the repositories of their own it leaves as they are
        ".engine.trash",  # what it removes for good, emptied by a process of its own
        ".ops.hooksmade",  # the git hooks an operation's own rollback names
        ".ops.configmade",  # and the settings it names
    )
}
# An agent's hook call (each tool call of the agent runs two): its adapter, the turn engine,
# and what a checkpoint needs; not the other adapters, the MCP server, the views, the command
# line's help (clispec) or the session commands.
HOOK = (SESSION - {f"{PKG}.commands.session", f"{PKG}.ops.output", f"{PKG}.ops.resultjson"}) | {
    f"{PKG}{m}"
    for m in (
        ".agents",
        ".agents.claude_code",
        ".agents.claude_settings",
        ".agents.hookfiles",
        ".agents.judge",
        ".agents.turnleft",  # the hooks, config, locks the calls left (from judge.py)
        ".agents.tell",
        ".agents.turn",
        ".agents.turnplace",  # which worktree a call is about (split from turn.py)
        ".agents.turnend",  # the turn's end (split from turn.py; the judge only at its end)
        ".agents.turnabandoned",  # turns whose session never came back (split from turn.py)
        ".agents.turnsteps",  # how a window becomes a step (split from turn.py)
        ".agents.turnfiles",  # the files a file tool names: noted, claimed (from turnsteps.py)
        ".agents.turnunheld",  # a first window's ignored files noted, told if written
        ".core.linkplace",  # where a named file really is, nothing outside looked at
        ".agents.turnrefs",  # a turn's checkpoint refs written and dropped (from turnsteps.py)
        ".agents.turnbeside",  # what a window notes of the git dir beside it (from turnsteps.py)
        ".agents.turnothers",  # other sessions' steps inside a window (from turnsteps.py)
        ".agents.turnkeys",  # the names of a record's window notes (turnsteps, turnothers)
        ".engine.loosetrees",  # a later file tool's call reads its checkpoint's entries
        ".ops.windowlog",  # the changes a window may be split around (turnothers.py)
        # a turn whose record a call removed, rebuilt from its refs: asked at its first call
        ".agents.turnorphans",
        ".agents.turnstate",
        ".agents.turnsession",  # what a session keeps beside its turns (from turnstate.py)
        ".agents.turncaller",  # the judge's name for a turn's own `begin` (from turnstate.py)
        ".agents.turnmarks",  # the marks of open turns (split from turnstate.py)
        ".commands.agents",
        ".agents.toolfiles",  # the files a file tool names, for a write outside (tiny: os)
        ".core.hookstdin",  # the payload read without waiting on a stdin left open (os alone)
    )
}
VERSION = {PKG, f"{PKG}.cli", f"{PKG}.cli.entry", f"{PKG}.cli.main"}

# Standard modules that cost a millisecond or more to import (or pull in many others), and which
# path may have each. Not before the scan: json (the lock writes its record by hand), dataclasses
# (git.py's and lock.py's records are NamedTuples and plain classes), sqlite3 (the journal opens
# while the scan runs). Never on these paths: asyncio, tomllib without a config file, the
# network and the rest below.
HEAVY = {
    "argparse",
    "asyncio",
    "concurrent.futures",
    "dataclasses",
    "datetime",
    "email",
    "hashlib",
    "http",
    "importlib.metadata",
    "inspect",
    "json",
    "logging",
    "multiprocessing",
    "shlex",
    "shutil",  # it imports bz2, lzma and zlib for its archives: copies and removals import it
    "socket",
    "sqlite3",
    "ssl",
    "tempfile",
    "tomllib",
    "uuid",
    "xml",
}
HEAVY_ALLOWED = {
    "version": set(),
    # The command line is parsed first. engine/watcher.py reads Watchman's answers (json):
    # only where a Watchman server runs. What git reads from us comes from a memory file, not
    # tempfile's (process.py).
    "before scan": {"argparse", "json"},
    # The journal (sqlite3, json), the commit time (datetime), a gate's command line (shlex).
    # Never `dataclasses` (nor the `inspect` it imports): the records are core/records.py's.
    "session": {"argparse", "datetime", "json", "shlex", "sqlite3"}
    | {"hashlib"},  # hashlib: restore's check of what it overwrites (unchanged.py)
    # The same, and the payload and answer (json). A turn's state file is named by a hash of
    # its session: by Python's own SHA-256 (objectformat.sha256_hex), never hashlib's OpenSSL.
    "hook": {"argparse", "datetime", "json", "shlex", "sqlite3"},
}

PROBE = """
import sys
seen = {}
def audit(event, args):
    if event == "subprocess.Popen" and "before" not in seen and "status" in map(str, args[1] or ()):
        seen["before"] = sorted(sys.modules)
sys.addaudithook(audit)
import atexit, os
def report():
    with open(os.environ["HOT_PATH_OUT"], "w") as fh:
        fh.write(repr({"before": seen.get("before"), "all": sorted(sys.modules)}))
atexit.register(report)  # the console script leaves with os._exit, after the exit handlers
import runpy
sys.argv = ["git-atomic", *sys.argv[1:]]
runpy.run_module("git_atomic", run_name="__main__")
"""


def imports_of(
    repo: GitRepo, tmp_path: Path, *args: str, stdin: str = ""
) -> tuple[set[str] | None, set[str]]:
    """The modules loaded when the scan started (None: no scan), and at the end."""
    out = tmp_path / "modules.txt"
    proc = subprocess.run(
        [sys.executable, "-S", "-c", PROBE, *args],
        cwd=repo.path,
        # The command line's own path: no warm helper (tests/test_helper.py measures that one).
        env={**repo.env, "HOT_PATH_OUT": str(out), "GIT_ATOMIC_HELPER": "0"},
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    found = ast.literal_eval(out.read_text())
    before = set(found["before"]) if found["before"] is not None else None
    return before, set(found["all"])


def heavy(modules: set[str]) -> set[str]:
    return {m for m in HEAVY if m in modules}


def ours(modules: set[str]) -> set[str]:
    return {m for m in modules if m == PKG or m.startswith(PKG + ".")}


def git_commands(trace: Path) -> list[str]:
    """The git command of each process a GIT_TRACE2_EVENT file saw start (`status`, ...)."""
    return [
        next(a for a in e["argv"][1:] if not a.startswith("-") and "=" not in a)
        for e in map(json.loads, trace.read_text().splitlines())
        if e["event"] == "start"
    ]


def starts(trace: Path) -> list[list[str]]:
    """The arguments of each git process a GIT_TRACE2_EVENT file saw start."""
    return [
        e["argv"][1:]
        for e in map(json.loads, trace.read_text().splitlines())
        if e["event"] == "start"
    ]


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.write("a.txt", b"a\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "init")
    # A first operation leaves the scan index that lets the next start its scan early.
    repo.atomic("begin", "first", check=0)
    repo.atomic("commit", "--no-gates", check=0)
    return repo


def test_version_imports_nothing_of_the_engine(repo: GitRepo, tmp_path: Path) -> None:
    assert repo.atomic("--version", check=0).stdout.startswith("git-atomic ")
    before, everything = imports_of(repo, tmp_path, "--version")
    assert before is None
    assert ours(everything) == VERSION
    assert heavy(everything) == HEAVY_ALLOWED["version"]
    assert "subprocess" not in everything


def test_begin_starts_its_scan_before_the_rest_is_imported(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("a.txt", b"changed\n")
    before, everything = imports_of(repo, tmp_path, "begin", "second")
    assert before is not None, "begin started no scan early (engine/early.py)"
    assert ours(before) <= BEFORE_SCAN, f"new before the scan: {ours(before) - BEFORE_SCAN}"
    assert f"{PKG}.commands.session" not in before  # imported while the scan runs
    assert heavy(before) <= HEAVY_ALLOWED["before scan"], heavy(before)
    assert ours(everything) <= SESSION, f"new in begin: {ours(everything) - SESSION}"
    assert heavy(everything) <= HEAVY_ALLOWED["session"], heavy(everything)
    # The objects a checkpoint writes itself are hashed by Python's own SHA code: hashlib
    # loads OpenSSL (objectformat.py).
    assert "hashlib" not in everything
    assert repo.atomic_json("status")["open"]["name"] == "second"


@pytest.mark.parametrize("protect", [False, True])
def test_begin_walks_the_tree_beside_the_scan_only_for_protect(
    repo: GitRepo, tmp_path: Path, protect: bool
) -> None:
    """What a capture needs beside the scan: the empty folders, which the walk of the folders
    finds (folderwalk.py) with no listing of git's, and the ignored rule files, which git is
    asked about where the walk found them only; `protect`ed files, which need git's walk of
    the whole tree, once. What they find is held."""
    if protect:
        repo.write(".git-atomic.toml", b'protect = [".env"]\n')
    repo.write(".gitignore", b".env\nbuild/\n")
    repo.write("tool/.gitignore", b"*\n")  # a rule file that ignores itself
    repo.write(".env", b"SECRET=1\n")
    (repo.path / "empty" / "deeper").mkdir(parents=True)
    (repo.path / "build" / "out").mkdir(parents=True)
    repo.atomic("begin", "warm", check=0)  # the scan index now knows these
    repo.atomic("commit", "--no-gates", check=0)
    trace = tmp_path / "trace.json"
    res = repo.atomic_json("begin", "second", env={"GIT_TRACE2_EVENT": str(trace)})
    argvs = [
        e["argv"] for e in map(json.loads, trace.read_text().splitlines()) if e["event"] == "start"
    ]
    listings = [a for a in argvs if "ls-files" in a and "--others" in a]
    assert [a for a in listings if "--ignored" not in a] == []  # the folders: walked
    ignored = [a for a in listings if "--ignored" in a]
    if protect:  # one walk of the whole tree; the next looks into `build/` only
        assert len([a for a in ignored if ":(glob)**/.gitignore" in a]) == 1, ignored
    else:  # no spec that git would look for in every folder
        (rule_files,) = ignored
        assert sorted(rule_files[rule_files.index("--") + 1 :]) == [
            ":(glob)build/**/.gitattributes",
            ":(glob)build/**/.gitignore",
            ":(literal).gitignore",
            ":(literal)tool/.gitignore",
        ]
    held = repo.git("ls-tree", "-r", "--name-only", res["checkpoints"]["pre_op"] + ":files").split()
    assert "tool/.gitignore" in held
    assert (".env" in held) == protect
    empty = repo.git("show", res["checkpoints"]["pre_op"] + ":empty-folders")
    assert "empty/deeper" in empty


def test_checkpoint_imports_only_the_session(repo: GitRepo, tmp_path: Path) -> None:
    repo.atomic("begin", "second", check=0)
    repo.write("a.txt", b"changed\n")
    before, everything = imports_of(repo, tmp_path, "checkpoint", "-m", "step")
    assert before is not None  # its capture scans
    assert ours(everything) <= SESSION, f"new in checkpoint: {ours(everything) - SESSION}"
    assert heavy(everything) <= HEAVY_ALLOWED["session"], heavy(everything)


def test_abort_adds_the_restore_to_the_session(repo: GitRepo, tmp_path: Path) -> None:
    repo.atomic("begin", "second", check=0)
    repo.write("a.txt", b"changed\n")
    before, everything = imports_of(repo, tmp_path, "abort")
    assert before is not None  # its rescue scans
    assert ours(everything) - SESSION == RESTORE, ours(everything) - SESSION
    assert repo.path.joinpath("a.txt").read_bytes() == b"a\n"


@pytest.mark.parametrize("event", ["PreToolUse", "PostToolUse"])
def test_an_agent_hook_call_imports_only_its_adapter_and_the_turn(
    repo: GitRepo, tmp_path: Path, event: str
) -> None:
    payload = {
        "session_id": "hot-path",
        "transcript_path": "/dev/null",
        "cwd": str(repo.path),
        "hook_event_name": "PreToolUse",
        "tool_name": "Edit",
        "tool_input": {"file_path": str(repo.path / "a.txt")},
        "tool_use_id": "toolu_hot",
    }
    if event == "PostToolUse":  # the call's PreToolUse came first
        repo.atomic(
            "hook", "claude-code", "PreToolUse", input=json.dumps(payload).encode(), check=0
        )
        repo.write("a.txt", b"edited\n")
        payload = {**payload, "hook_event_name": event, "tool_response": {"success": True}}
    before, everything = imports_of(
        repo, tmp_path, "hook", "claude-code", event, stdin=json.dumps(payload)
    )
    assert before is not None  # the hook checkpoints the tree
    assert ours(everything) <= HOOK, f"new in the hook call: {ours(everything) - HOOK}"
    assert heavy(everything) <= HEAVY_ALLOWED["hook"], heavy(everything)


def test_begin_writes_its_small_objects_without_a_process(repo: GitRepo, tmp_path: Path) -> None:
    """The checkpoint's own small records (the list of untracked files, the permission bits,
    the index flags) and the few trees of its edit of the scan's tree are objects Python
    writes loose: no `hash-object` or `mktree` process, and the git processes of a second
    `begin` stay these (a new one here is a cost to count)."""
    repo.write("untracked.txt", b"new\n")
    repo.write("a.txt", b"changed\n")
    repo.git("add", "-N", "untracked.txt")
    repo.write("other.txt", b"also new\n")
    repo.atomic("begin", "warm", check=0)
    repo.atomic("commit", "--no-gates", check=0)
    trace = tmp_path / "trace.json"
    res = repo.atomic_json("begin", "second", env={"GIT_TRACE2_EVENT": str(trace)})
    commands = git_commands(trace)
    assert "hash-object" not in commands, commands
    assert "mktree" not in commands, commands  # the few trees of the scan's edit: loose
    # Your index unchanged since the last capture, its tree and flags (the intent-to-add
    # entry's too) are remembered: no write-tree, diff-index or ls-files. (An index with an
    # intent-to-add entry whose file was gone was kept as its bytes, read from a copy the
    # remembered path does not make; none is now: indexbuild.add_intents.)
    # Discovery's `config` and `rev-parse` kept from the first `begin` (engine/foundmemo.py),
    # the refs listed once, with the lock, before the scan (engine/early.py): were two listings.
    assert sorted(commands) == sorted(["for-each-ref", "status", "update-ref"]), commands
    pre_op = res["checkpoints"]["pre_op"]
    assert repo.git("cat-file", "-t", pre_op).strip() == "commit"
    listed = repo.git("cat-file", "blob", f"{pre_op}:untracked").split("\0")
    assert "other.txt" in listed and "a.txt" not in listed, listed


def test_a_sparse_checkouts_begin_runs_what_a_plain_ones_does(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A cone-mode sparse checkout that leaves out 1,100 files in 110 folders: once a capture
    has seen the index, the next `begin` lists no flags again (none of the files left out is
    on disk), reconciles nothing again (it remembers them absent), and builds the commit view
    from your index's tree (nothing to edit): the git processes of a plain checkout's."""
    for d in range(110):
        for f in range(10):
            repo.write(f"out/d{d}/f{f}.txt", b"%d %d\n" % (d, f))
    repo.write("in/kept.txt", b"kept\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "many")
    repo.git("sparse-checkout", "set", "in")
    repo.write("in/kept.txt", b"edited\n")
    for name in ("one", "two"):
        repo.atomic("begin", name, check=0)
        repo.atomic("commit", "--no-gates", check=0)
    trace = tmp_path / "trace.json"
    env = {"GIT_TRACE2_EVENT": str(trace), "GIT_ATOMIC_VERIFY_SCAN": "0"}  # no check of git
    res = repo.atomic_json("begin", "three", env=env)
    commands = [c for c in git_commands(trace) if c != "check-ignore"]
    # (The folder walk asks git about `in/` while the rule files are seconds old, whatever the
    # checkout: its verdicts are kept only once they are older: folderwalk.py.)
    # Discovery's `config` and `rev-parse` kept from the first `begin` (engine/foundmemo.py),
    # the refs listed once, with the lock, before the scan (engine/early.py): were two listings.
    assert sorted(commands) == sorted(["for-each-ref", "status", "update-ref"]), commands
    held = repo.git("show", f"{res['checkpoints']['pre_op']}:files/in/kept.txt")
    assert held == "edited\n"
    assert repo.git("ls-files", "-v", "out/d3/f3.txt").startswith("S ")


def test_a_begin_under_line_ending_rules_reads_its_raw_record_by_the_refs_listed(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Under `* text eol=lf` a capture keeps the files' raw bytes, from a record trusted while
    its ref names its tree: that ref is read with the capture's other refs (no `rev-parse`),
    and the record holds (no file hashed again). The raw bytes (CRLF) are what is kept."""
    repo.write(".gitattributes", b"* text eol=lf\n")
    for i in range(20):
        repo.write(f"src/f{i}.txt", b"line\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "rules")
    repo.write("src/f3.txt", b"crlf\r\n")
    for name in ("one", "two"):
        repo.atomic("begin", name, check=0)
        repo.atomic("commit", "--no-gates", check=0)
    trace = tmp_path / "trace.json"
    env = {"GIT_TRACE2_EVENT": str(trace), "GIT_ATOMIC_VERIFY_SCAN": "0"}
    res = repo.atomic_json("begin", "three", env=env)
    commands = git_commands(trace)
    for extra in ("rev-parse", "hash-object", "fast-import", "update-index", "mktree"):
        assert commands.count(extra) <= (extra == "rev-parse"), commands  # discovery's only
    raw = subprocess.run(
        ["git", "cat-file", "blob", f"{res['checkpoints']['pre_op']}:files/src/f3.txt"],
        cwd=repo.path,
        capture_output=True,
        check=True,
    ).stdout
    assert raw == b"crlf\r\n"


def test_a_begin_beside_a_tracked_gitignore_and_an_ignored_folder_asks_git_nothing_of_them(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The benchmark's layout: a tracked `.gitignore`, an ignored `build/`. Which rule files
    git ignores is its answer to one `ls-files`, remembered while the rules (their stat data,
    older than the walk's 3 s racy window), the ignored folders and your index are the same:
    no `ls-files` once the rules are old. (The answer's exactness: test_folderwalk.py.)"""
    written = time.monotonic()
    repo.write(".gitignore", b"build/\n*.log\n")
    repo.write("build/out/x.o", b"o\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    repo.write("a.txt", b"edited\n")
    for name in ("one", "two"):
        repo.atomic("begin", name, check=0)
        repo.atomic("commit", "--no-gates", check=0)
    time.sleep(max(0.0, 3.2 - (time.monotonic() - written)))  # the rules out of the window
    repo.atomic("begin", "warm", check=0)  # (keeps the answer, its rules now old)
    repo.atomic("commit", "--no-gates", check=0)
    trace = tmp_path / "trace.json"
    env = {"GIT_TRACE2_EVENT": str(trace), "GIT_ATOMIC_VERIFY_SCAN": "0"}
    repo.atomic_json("begin", "three", env=env)
    assert "ls-files" not in git_commands(trace), trace.read_text()
    # A rule changed: asked again (the answer, then, is git's).
    repo.write(".gitignore", b"build/\n*.log\n.gitignore\n")
    repo.atomic("commit", "--no-gates", check=0)
    trace.unlink()
    repo.atomic_json("begin", "four", env=env)
    assert "ls-files" in git_commands(trace), git_commands(trace)


@pytest.mark.parametrize("version", ["2", "4"])
def test_a_begin_after_your_git_status_took_stat_data_anew_reads_no_index_again(
    repo: GitRepo, tmp_path: Path, version: str
) -> None:
    """A `git status` of yours (an editor's) that takes a file's stat data again writes your
    index anew: its checksum changes, its entries do not. The staged side and the rule files'
    answer are found again by what git reads of the index (indexentries.py): no `write-tree`,
    no `ls-files`. (Elsewhere under test, GIT_ATOMIC_VERIFY_SCAN checks what is found so
    against git's answers: tests/test_index_entries_key.py.) Its entries changed: asked
    again."""
    written = time.monotonic()
    repo.git("update-index", "--index-version", version)
    repo.write(".gitignore", b"build/\n")
    repo.write("build/out.o", b"o\n")
    repo.write("b.txt", b"b\n")
    repo.write("c.txt", b"c\n")
    repo.git("add", ".gitignore", "b.txt", "c.txt")
    repo.git("commit", "-qm", "rules")
    repo.git("update-index", "--assume-unchanged", "b.txt")  # a flag, kept in the entries
    repo.write("a.txt", b"edited\n")
    time.sleep(max(0.0, 3.2 - (time.monotonic() - written)))  # the rules out of the window
    for name in ("one", "two"):
        repo.atomic("begin", name, check=0)
        repo.atomic("commit", "--no-gates", check=0)
    before = (repo.path / ".git" / "index").read_bytes()
    time.sleep(1.1)  # a new second: git takes the stat data of a file touched now again
    (repo.path / "c.txt").touch()  # a clean tracked file
    repo.git("update-index", "-q", "--refresh")  # as your `git status` does
    assert (repo.path / ".git" / "index").read_bytes()[-20:] != before[-20:]  # written anew
    trace = tmp_path / "trace.json"
    env = {"GIT_TRACE2_EVENT": str(trace), "GIT_ATOMIC_VERIFY_SCAN": "0"}
    repo.atomic_json("begin", "three", env=env)
    commands = git_commands(trace)
    assert "write-tree" not in commands and "ls-files" not in commands, commands
    repo.atomic("commit", "--no-gates", check=0)
    repo.git("update-index", "--no-assume-unchanged", "b.txt")  # an entry's flag: asked again
    trace.unlink()
    repo.atomic_json("begin", "four", env=env)
    commands = git_commands(trace)
    assert "write-tree" in commands and "ls-files" in commands, commands
    # Its PRE-OP holds the flag as it is now (a stale side would bring assume-unchanged back).
    repo.git("update-index", "--assume-unchanged", "b.txt")
    repo.atomic("abort", check=0)
    assert "H b.txt" in repo.git("ls-files", "-v").splitlines(), repo.git("ls-files", "-v")


@pytest.mark.parametrize("kind", ["new file", "tracked file"])
def test_a_file_tools_later_call_asks_git_only_what_it_cannot_read(
    repo: GitRepo, tmp_path: Path, kind: str
) -> None:
    """Once the turn has a step, a file tool's call notes the file it names (its PreToolUse)
    and notes it again after (its PostToolUse): no capture. What the last checkpoint holds at
    that file is read from its loose objects (engine/loosetrees.py), not by `ls-tree`; a new
    file is asked of `check-ignore` (git's rules decide), and the noted bytes are held by a
    ref of the turn (`update-ref`). Discovery's `config` and `rev-parse` ran at the turn's
    first calls; a later call uses their answers, kept while nothing they depend on changed
    (engine/foundmemo.py; tests/test_foundmemo.py changes each such thing): a later
    `PreToolUse` runs no git at all."""
    env = {"GIT_ATOMIC_HELPER": "0", "GIT_ATOMIC_VERIFY_SCAN": "0"}

    def call(event: str, n: int, name: str, trace: Path | None = None) -> None:
        payload = write_hook_payload(repo, "later-calls", event, n, name)
        traced = {**env, "GIT_TRACE2_EVENT": str(trace)} if trace else env
        res = repo.atomic(
            "hook", "claude-code", event, input=json.dumps(payload).encode(), env=traced
        )
        assert res.returncode == 0 and not res.stdout.strip(), (res.stdout, res.stderr)

    call("PreToolUse", 1, "first.txt")
    repo.write("first.txt", b"first\n")
    call("PostToolUse", 1, "first.txt")  # the turn's first step: two captures
    name = "second.txt" if kind == "new file" else "a.txt"
    trace = tmp_path / "pre.json"
    call("PreToolUse", 2, name, trace)
    assert not trace.exists(), git_commands(trace)  # (git writes the file at its start)
    repo.write(name, b"second\n")
    trace = tmp_path / "post.json"
    call("PostToolUse", 2, name, trace)
    # A third call's PreToolUse, as its module list sees it: no capture, so neither the capture
    # (snapshot.py and what it reads) nor the journal (sqlite3) is imported.
    payload = {
        "session_id": "later-calls",
        "transcript_path": "/dev/null",
        "cwd": str(repo.path),
        "hook_event_name": "PreToolUse",
        "tool_name": "Write",
        "tool_input": {"file_path": str(repo.path / "third.txt"), "content": "x"},
        "tool_use_id": "toolu_3",
    }
    _, everything = imports_of(
        repo, tmp_path, "hook", "claude-code", "PreToolUse", stdin=json.dumps(payload)
    )
    later = {f"{PKG}.engine.snapshot", f"{PKG}.ops.context", f"{PKG}.core.journal", "sqlite3"}
    later |= {"hashlib", "_hashlib"}  # (the session's hash: objectformat.sha256_hex)
    assert not later & everything, later & everything
    call("PostToolUse", 3, "third.txt")
    expected = ["update-ref"]
    if kind == "new file":
        expected.append("check-ignore")
    assert sorted(git_commands(trace)) == sorted(expected), git_commands(trace)
    stop = {"session_id": "later-calls", "cwd": str(repo.path), "hook_event_name": "Stop"}
    trace = tmp_path / "stop.json"
    traced = {**env, "GIT_TRACE2_EVENT": str(trace)}
    res = repo.atomic("hook", "claude-code", "Stop", input=json.dumps(stop).encode(), env=traced)
    assert "is kept" in res.stdout, (res.stdout, res.stderr)
    # Its pending step's two checkpoints: a few trees, written loose (git.py `tree_edits`).
    assert "mktree" not in git_commands(trace), git_commands(trace)
    # Which branches are symbolic refs to ours and which refs the turn has: one listing after
    # its capture (turnend._branches_and_turn_refs), was two (refs/heads/ alone, then the
    # turn's refs alone).
    listings = [a[a.index("for-each-ref") + 1 :] for a in starts(trace) if "for-each-ref" in a]
    turns = [
        a
        for a in listings
        if any(x.startswith("refs/atomic/turns/") and x != "refs/atomic/turns/" for x in a)
    ]
    assert len(turns) == 1 and "refs/heads/" in turns[0], listings
    assert not [a for a in listings if a[-1:] == ["refs/heads/"]], listings
    # No turn but this one (which has its record) has refs: the refs of every turn are not
    # listed to look for one whose record a call removed (turnorphans.py), as they were.
    assert not [a for a in listings if "refs/atomic/turns/" in a], listings
    # And the branches and the turn's refs are its end's capture's listing (with our updates
    # since: engine/reflisting.py), listed with the turn's refs: one listing in all.
    assert len(listings) == 1, listings
    op = json.loads(repo.atomic("log", "--json", check=0).stdout)
    assert op  # the turn is recorded; its steps' exactness: tests/test_agents_turn_core.py
    repo.atomic("rollback", check=0, env=env)
    assert not repo.exists("first.txt")
    assert repo.read("a.txt") == b"a\n"
    assert not repo.exists("second.txt")


# Counts the indexes whose entries a command reads in Python (indexentries.py).
ENTRIES_PROBE = """
import atexit, os, runpy, sys
from git_atomic.engine import indexentries
read = []
def counted(data, width, _key=indexentries._key):
    read.append(len(data))
    return _key(data, width)
indexentries._key = counted
def report():
    with open(os.environ["HOT_PATH_OUT"], "w") as fh:
        fh.write(str(len(read)))
atexit.register(report)
sys.argv = ["git-atomic", *sys.argv[1:]]
runpy.run_module("git_atomic", run_name="__main__")
"""


@pytest.mark.parametrize("version", ["2", "4"])
def test_an_index_written_anew_with_the_same_entries_is_read_once_and_then_known(
    repo: GitRepo, tmp_path: Path, version: str
) -> None:
    """After your `git status` wrote the index anew (same entries, new checksum), the first
    capture reads its entries once in Python for both caches that are keyed by them (the staged
    side and the rule files' answer: it read them twice, once through the index and once
    through its hard link), and keeps both under the new checksum: the next captures of the
    same file read nothing (each read them twice again: 10 ms of processor time a capture at
    10,000 files)."""
    written = time.monotonic()
    repo.git("update-index", "--index-version", version)
    repo.write(".gitignore", b"build/\n")
    repo.write("build/out.o", b"o\n")
    repo.write("c.txt", b"c\n")
    repo.git("add", ".gitignore", "c.txt")
    repo.git("commit", "-qm", "rules")
    repo.write("a.txt", b"edited\n")
    time.sleep(max(0.0, 3.2 - (time.monotonic() - written)))  # the rules out of the window
    for name in ("one", "two"):
        repo.atomic("begin", name, check=0)
        repo.atomic("commit", "--no-gates", check=0)
    time.sleep(1.1)  # a new second: git takes the stat data of a file touched now again
    (repo.path / "c.txt").touch()
    repo.git("update-index", "-q", "--refresh")  # as your `git status` does
    out = tmp_path / "reads.txt"
    trace = tmp_path / "trace.json"
    env = {
        **repo.env,
        "HOT_PATH_OUT": str(out),
        "GIT_ATOMIC_HELPER": "0",
        "GIT_ATOMIC_VERIFY_SCAN": "0",
        "GIT_TRACE2_EVENT": str(trace),
    }
    reads = []
    for args in (("begin", "three"), ("abort",), ("begin", "four")):
        trace.unlink(missing_ok=True)
        proc = subprocess.run(
            [sys.executable, "-S", "-c", ENTRIES_PROBE, *args],
            cwd=repo.path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        commands = git_commands(trace)
        assert "write-tree" not in commands and "ls-files" not in commands, (args, commands)
        reads.append(int(out.read_text()))
    assert reads == [1, 0, 0], reads


@pytest.mark.parametrize("command", [("undo",), ("status",), ("commit", "--no-gates")])
def test_a_command_after_begin_asks_no_discovery_git_kept(
    repo: GitRepo, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """`begin` keeps discovery's answer and the configuration (engine/foundmemo.py), which a
    later command from the same folder uses while nothing they depend on changed
    (tests/test_foundmemo.py changes each such thing): no `rev-parse`, no `config --list`."""
    repo.atomic("begin", "first", check=0)
    if command[0] == "undo":
        repo.write("a.txt", b"changed\n")
        repo.atomic("abort", check=0)
    elif command[0] == "commit":
        repo.write("a.txt", b"changed\n")
    trace = tmp_path / "trace.json"
    repo.atomic(*command, check=0, env={"GIT_TRACE2_EVENT": str(trace)})
    commands = git_commands(trace) if trace.exists() else []  # (`status`: none at all)
    asked = [a for a in starts(trace) if "--show-toplevel" in a] if trace.exists() else []
    assert not asked and "config" not in commands, commands
    if command[0] == "undo":  # the probe's listing is the rescue's target's (reflisting.py)
        assert commands.count("for-each-ref") == 1, commands
