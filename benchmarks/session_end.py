#!/usr/bin/env python3
"""How long Claude Code's `SessionEnd` hook takes to close a turn left open (a shell call that
never came back), the time a platform's budget must cover (agents/sessionend.py).

    python benchmarks/session_end.py FOLDER FILES [all|tenth] [HELPER]

builds FOLDER (a repository of FILES files in folders of 100, one commit) when it is not
there, opens a turn with a `Bash` call, changes every file (`all`) or one in nine (`tenth`,
those named f1*), and times the hook, cold with HELPER=0 (the default) or through the warm
helper with HELPER=1. Measured at stop 55, 10,000 files, cold: 3.2 s (tenth), 9.0-10.2 s (all).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> None:
    root, files = sys.argv[1], int(sys.argv[2])
    which = sys.argv[3] if len(sys.argv) > 3 else "tenth"
    env = {**os.environ, "CLAUDE_PROJECT_DIR": root}
    env["GIT_ATOMIC_HELPER"] = sys.argv[4] if len(sys.argv) > 4 else "0"
    if not os.path.isdir(root):
        os.makedirs(root)
        subprocess.run(["git", "init", "-q", root], check=True)
        for i in range(files):
            folder = os.path.join(root, f"d{i // 100}")
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"f{i}.txt"), "w") as fh:
                fh.write(f"line {i}\n")
        subprocess.run(["git", "add", "-A"], cwd=root, check=True)
        subprocess.run(["git", "commit", "-qm", "base"], cwd=root, check=True)

    def hook(event: str, **fields: object) -> tuple[float, str]:
        payload = {"session_id": "bench", "cwd": root, "hook_event_name": event, **fields}
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "git_atomic", "hook", "claude-code", event],
            cwd=root,
            env=env,
            input=json.dumps(payload).encode(),
            capture_output=True,
            check=False,
        )
        return time.monotonic() - started, done.stdout.decode(errors="replace")

    change = "sed -i s/line/LINE/ " + ("d*/f*.txt" if which == "all" else "d*/f1*.txt")
    print(f"UserPromptSubmit {hook('UserPromptSubmit', prompt='x')[0]:.2f} s")
    call = {"tool_name": "Bash", "tool_input": {"command": change}, "tool_use_id": "t1"}
    print(f"PreToolUse       {hook('PreToolUse', **call)[0]:.2f} s")
    subprocess.run(change, shell=True, cwd=root, check=True)
    took, said = hook("SessionEnd", reason="prompt_input_exit")
    print(f"SessionEnd       {took:.2f} s  {said.strip()}")


if __name__ == "__main__":
    main()
