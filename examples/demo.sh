#!/usr/bin/env bash
# A throwaway repository, one operation that fails and is rolled back, one that passes its gate.
set -euo pipefail
demo=$(mktemp -d "${TMPDIR:-/tmp}/git-atomic-demo.XXXXXX")
trap 'rm -rf "$demo"' EXIT
cd "$demo"
git init -q -b main
git config user.name "Demo User"
git config user.email "demo@example.com"
printf 'def add(a, b):\n    return a + b\n' > calc.py
printf 'from calc import add\nassert add(2, 2) == 4\nprint("tests pass")\n' > test_calc.py
printf '__pycache__/\n' > .gitignore   # what the gate writes: an operation's commit holds every file not ignored
git add -A && git commit -qm "a tiny project"
echo "work in progress, never committed" > notes.txt      # untracked
printf '# staged, not committed\n' >> calc.py && git add calc.py   # staged

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
# Print a command as it can be pasted back into a shell (quoted as shlex.join quotes), then run it.
run() {
    step "$(python3 -c 'import shlex, sys; print(shlex.join(sys.argv[1:]))' "$@")"
    "$@"
}

run git atomic run -n break-add -g "python3 test_calc.py" -- sed -i 's/a + b/a - b/' calc.py || true
step "git status --short   # exactly as before: staged change still staged, notes.txt still there"
git status --short
run grep return calc.py

run git atomic run -n add-docstring -g "python3 test_calc.py" -- sed -i '1a\    """Add two numbers."""' calc.py
run git log --oneline
run git atomic log
