"""The command line: parsing, dispatch, help, man page and completion."""

# The agents `hooks` knows (commands/agents.py maps each to its adapter): here, not in
# parser.py, so that a hook call as installed hooks make it is read without argparse (main.py).
AGENTS = ("claude-code", "codex", "gemini", "cursor", "copilot", "openhands")
