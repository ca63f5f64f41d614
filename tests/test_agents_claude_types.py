"""Our Claude Code hook answers and the payloads our tests replay, checked with `tsc --strict`
against the types Claude Code's own Agent SDK publishes (`@anthropic-ai/claude-agent-sdk`).

The packages are pinned in tests/claude_ts/package-lock.json and installed there on first use
(`npm ci`, once per machine until the lock changes). Without node and npm, or when the install
fails, the test is skipped and says why.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from testing import agents
from testing.gitrepo import GitRepo

TYPES = Path(__file__).parent / "claude_ts"
INSTALL_TIMEOUT_S = 300
PINNED = {"@anthropic-ai/claude-agent-sdk": "0.3.334", "typescript": "5.9.3"}
SESSION = "0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"


def _installed() -> bool:
    for package, version in PINNED.items():
        manifest = TYPES / "node_modules" / package / "package.json"
        if not manifest.is_file() or json.loads(manifest.read_text())["version"] != version:
            return False
    return True


@pytest.fixture(scope="session")
def tsc() -> Path:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the type check needs {' and '.join(missing)}, not found on PATH")
    with open(TYPES / "package-lock.json", "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed():
            argv = ["npm", "ci", "--omit=optional", "--ignore-scripts", "--no-audit", "--no-fund"]
            try:
                done = subprocess.run(
                    [*argv, "--loglevel=error"],
                    cwd=TYPES,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    timeout=INSTALL_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                pytest.skip(f"npm ci in tests/claude_ts took over {INSTALL_TIMEOUT_S} s")
            if done.returncode != 0 or not _installed():
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                pytest.skip(f"npm ci in tests/claude_ts failed ({done.returncode}): {last}")
    return TYPES / "node_modules" / ".bin" / "tsc"


def payloads(cwd: Path) -> list[tuple[str, dict[str, Any]]]:
    """One turn's payloads, as Claude Code documents them: (the SDK's input type, payload)."""
    base = {"session_id": SESSION, "transcript_path": "/t.jsonl", "cwd": str(cwd)}
    tool = {"tool_name": "Edit", "tool_input": {"file_path": "app.py"}, "tool_use_id": "toolu_1"}
    return [
        (
            "UserPromptSubmitHookInput",
            {**base, "hook_event_name": "UserPromptSubmit", "prompt": "go"},
        ),
        ("PreToolUseHookInput", {**base, "hook_event_name": "PreToolUse", **tool}),
        (
            "PostToolUseHookInput",
            {**base, "hook_event_name": "PostToolUse", **tool, "tool_response": {"ok": True}},
        ),
        (
            "PostToolBatchHookInput",
            {**base, "hook_event_name": "PostToolBatch", "tool_calls": [tool]},
        ),
        ("StopHookInput", {**base, "hook_event_name": "Stop", "stop_hook_active": False}),
        ("StopFailureHookInput", {**base, "hook_event_name": "StopFailure", "error": "rate_limit"}),
        ("SessionEndHookInput", {**base, "hook_event_name": "SessionEnd", "reason": "other"}),
    ]


def hook(repo: GitRepo, payload: dict[str, Any]) -> dict[str, Any] | None:
    proc = agents.run_claude_hook(repo, payload)
    out: dict[str, Any] | None = json.loads(proc.stdout) if proc.stdout.strip() else None
    return out


def test_our_answers_and_replayed_payloads_fit_claude_codes_types(
    tsc: Path, tmp_path: Path
) -> None:
    repo = GitRepo.create(tmp_path / "app", tmp_path / "home")
    repo.write("app.py", b"ok\n")
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "check"\nrun = "! grep -q BUG app.py"\n')
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "app")
    sent = payloads(repo.path)
    by_type = dict(sent)
    answers = []
    # A failing turn (Stop blocks), a turn left open (the next prompt says so), a passing turn
    # (Stop's systemMessage), and calls that cannot be protected (additionalContext).
    for write in (b"BUG\n", b"fine\n"):
        hook(repo, by_type["PreToolUseHookInput"])
        repo.write("app.py", write)
        hook(repo, by_type["PostToolUseHookInput"])
        if write == b"fine\n":
            answers.append(hook(repo, by_type["UserPromptSubmitHookInput"]))
            hook(repo, by_type["PreToolUseHookInput"])
            repo.write("app.py", b"better\n")
            hook(repo, by_type["PostToolUseHookInput"])
        answers.append(hook(repo, by_type["StopHookInput"]))
    (repo.path / ".git" / "MERGE_HEAD").write_text(repo.head() + "\n")
    answers.append(hook(repo, by_type["PreToolUseHookInput"]))
    answers.append(hook(repo, by_type["PostToolUseHookInput"]))
    found = [a for a in answers if a is not None]
    assert {"decision", "reason", "systemMessage"} <= set(found[0])
    assert any("hookSpecificOutput" in a for a in found)

    lines = [
        "import type * as sdk from '@anthropic-ai/claude-agent-sdk';",
        *(f"export const in{n}: sdk.{kind} = {json.dumps(p)};" for n, (kind, p) in enumerate(sent)),
        *(
            f"export const out{n}: sdk.SyncHookJSONOutput = {json.dumps(a)};"
            for n, a in enumerate(found)
        ),
    ]
    check = TYPES / f"check-{tmp_path.name}.mts"
    check.write_text("\n".join(lines) + "\n")
    try:
        done = subprocess.run(
            [
                str(tsc),
                "--strict",
                "--noEmit",
                "--skipLibCheck",
                "--module",
                "nodenext",
                "--moduleResolution",
                "nodenext",
                "--target",
                "es2022",
                check.name,
            ],
            cwd=TYPES,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        check.unlink()
    assert done.returncode == 0, done.stdout + done.stderr
