"""The benchmark started in a script's background (`nohup benchmarks/run.py &`): SIGINT and
SIGTERM come to it ignored, and a command started so is never served by the warm helper, so every
warm cell waited 60 s for one and failed. The commands it times get the default handling back."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import importlib.util, signal, subprocess, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
spec = importlib.util.spec_from_file_location("bench_run", sys.argv[1])
run = importlib.util.module_from_spec(spec)
sys.modules["bench_run"] = run
spec.loader.exec_module(run)
if sys.argv[2] == "fixed":
    run._signals_as_an_agent_leaves_them()
status = subprocess.run(["cat", "/proc/self/status"], capture_output=True, check=True).stdout
print(next(l for l in status.decode().splitlines() if l.startswith("SigIgn:")).split()[1])
"""


def _ignored_in_a_timed_command(how: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT / "benchmarks" / "run.py"), how],
        capture_output=True,
        check=True,
        text=True,
    )
    return int(out.stdout.strip(), 16)


def test_the_timed_commands_do_not_inherit_ignored_signals() -> None:
    bits = (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))
    assert _ignored_in_a_timed_command("as-started") & bits == bits  # the setting is real
    assert _ignored_in_a_timed_command("fixed") & bits == 0
