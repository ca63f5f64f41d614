"""States git's own test scripts set up, each run the ways of tests/test_git_cases_more.py (a
failed run, a kept run in commits mode rolled back and undone, an effect taken back under the
user's later files, `begin` ... `abort` and `rollback --op`) and as a Claude Code turn whose
`Write` and `Bash rm` calls break a gate (`turn-write`): the untracked cache (t7063),
fsmonitor's valid bits (t7519), a detached HEAD with commits on it (t2020), intent-to-add on
an unborn branch (t2203), skip-worktree entries absent and dirty (t7011, t7012), `add --sparse`
in a sparse index (t3705), `restore --pathspec-from-file` (t2072), `core.autocrlf=input` over
mixed line endings (t0027), `ident` and a filter given the file's name (t0021), a folder made a
file or a link over untracked files (t2021), refs whose names are ambiguous (t2019) or odd
(t6300), and an uninitialised submodule (t7400).

The oracle is test_git_cases's: files, links and modes read from the disk, the index's entries,
stages and flags read from its file, HEAD, the branches and git's in-progress files, compared
with a twin repository where the same scripts ran without git-atomic.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import test_git_cases_more as more

base = more.base
Case = more.Case
CASES: list[Case] = []
ALL = (*Case("", "", "").flavours, "turn", "turn-write")


def case(name: str, setup: str, op: str, **kw: object) -> None:
    CASES.append(Case(name, setup, op, **kw))  # type: ignore[arg-type]


# --- t7063-status-untracked-cache: the user's index holds a populated untracked cache -------
case(
    "t7063-untracked-cache-populated",
    r"""git config core.untrackedCache true; printf '*.ign\n' > .gitignore
    mkdir -p done dtwo dthree; printf 'one\n' > one; printf 'two\n' > dtwo/two
    printf 'three\n' > dthree/three; git add -A; git commit -qm t
    printf 'u\n' > done/untracked; printf 'i\n' > dtwo/x.ign; printf 'u\n' > four
    git update-index --untracked-cache; git status --porcelain >/dev/null""",
    r"""printf 'n\n' > dtwo/new; rm dthree/three; printf '*.tmp\n' >> .gitignore
    mv one done/moved; printf 'z\n' > done/new; rm four; git add dtwo""",
    flavours=ALL,
)
# t7063 "status after symlink replacement": a tracked folder made a link to another one, and
# back, under the untracked cache (which trusts folders' mtimes), with untracked files in both.
for kind, make in (("symlink", "ln -s two one"), ("file", "cp two/file one")):
    case(
        f"t7063-untracked-cache-folder-made-a-{kind}",
        rf"""git config core.untrackedCache true; mkdir one two; printf '1\n' > one/file
        printf '2\n' > two/file; git add -A; git commit -qm first; git rm -rq one; {make}
        git add one; git commit -qm second; printf 'u\n' > two/untracked
        git status --porcelain >/dev/null""",
        r"""git checkout -q HEAD~; printf 'o\n' > one/by-op; git status --porcelain >/dev/null
        printf 't\n' > two/by-op""",
        flavours=ALL,
    )

# --- t3000-ls-files-others "avoids listing untracked non-matching gitdir": an empty nested
# repository (`git init` of a folder, no commit) among untracked files. (A `.git` file naming
# no repository, its "handles non-submodule .git", is refused by name: README.)
case(
    "t3000-empty-nested-repository",
    r"""git init -q untracked/deep/empty; printf 'w\n' > untracked/w
    printf 'e\n' > untracked/deep/empty/file""",
    r"""rm untracked/w; printf 'y\n' > untracked/deep/y; printf 'o\n' > untracked/deep/empty/op""",
    flavours=ALL,
)

# --- t7519-status-fsmonitor: an fsmonitor hook that answers "nothing changed" -----------------
# (the integration script with no paths), the index's entries marked valid by it, and a file the
# user changed since that git does not see.
FSMONITOR = r"""printf 'printf "token\\0"\n' > ../fsmonitor-hook; chmod +x ../fsmonitor-hook
git config core.fsmonitor "$PWD/../fsmonitor-hook"; git config core.fsmonitorHookVersion 2
mkdir dir; printf 'a\n' > a; printf 'b\n' > b; printf 'c\n' > dir/c; git add -A; git commit -qm t
git update-index --fsmonitor; git status --porcelain >/dev/null
git update-index --fsmonitor-valid a b dir/c; printf 'unseen\n' > a"""
case(
    "t7519-fsmonitor-valid-bits",
    FSMONITOR,
    r"""printf 'op\n' > b; rm dir/c; printf 'n\n' > dir/new; git add -A""",
    flavours=ALL,
)


# --- t2020-checkout-detach: HEAD detached at a tag, commits made there ------------------------
case(
    "t2020-detached-with-commits-on-it",
    r"""printf '1\n' > f; git add f; git commit -qm one; git tag -a -m v1 v1
    printf '2\n' > f; git commit -qam two; git checkout -q --detach v1
    printf 'd\n' > d; git add d; git commit -qm on-detached; printf 'w\n' > wip""",
    r"""printf 'x\n' > x; git add x; git commit -qm more-on-detached; git checkout -q main
    printf 'm\n' > m""",
)

# --- t2203-add-intent: intent-to-add entries on an unborn branch ------------------------------
case(
    "t2203-intent-to-add-on-an-unborn-branch",
    r"""git checkout -q --orphan fresh; git rm -rq --cached .; printf 'i\n' > ita
    git add -N ita README""",
    r"""printf 'x\n' > ita; printf 'n\n' > new; git add -N new; mv README renamed
    git add -N renamed""",
    flavours=("shadow", "effect", "begin", "turn-write"),
)

# --- t7011-skip-worktree-reading, t7012-skip-worktree-writing: entries absent and dirty -------
SKIP = r"""mkdir sub; for f in 1 2 sub/1 sub/2; do printf "$f\n" > $f; done; git add -A
git commit -qm t; printf 'changed\n' > 2; printf 'c\n' > sub/2; git commit -qam changed
git update-index --skip-worktree 1 sub/1 2; rm 1; printf 'dirty\n' > sub/1
printf 'init\n' > 2; printf 'u\n' > untracked"""
case(
    "t7012-skip-worktree-read-tree-and-clean",
    SKIP,
    r"""git read-tree -m -u HEAD~1; git clean -fq; printf 'w\n' > sub/2""",
)
case(
    "t7012-skip-worktree-stash",
    SKIP,
    r"""printf 's\n' > sub/2; git stash -q; git stash pop -q; printf 'x\n' > 1""",
    flavours=("shadow", "effect", "begin", "turn-write"),
)

# --- t3705-add-sparse-checkout: `add --sparse` of a path outside a sparse index ---------------
case(
    "t3705-add-sparse-in-a-sparse-index",
    r"""mkdir -p in out/deep; printf 'i\n' > in/i; printf 'o\n' > out/o; printf 'd\n' > out/deep/d
    git add -A; git commit -qm t; git sparse-checkout set --sparse-index in
    mkdir -p out; printf 'user\n' > out/user""",
    r"""mkdir -p out; printf 'op\n' > out/o; git add --sparse out/o; printf 'n\n' > in/n
    git add -N in/n""",
    flavours=("shadow", "effect", "begin", "turn-write"),
)

# t3705 "intent-to-add entry and sparse index": git (2.39) writes a sparse index holding an
# intent-to-add entry back wrong once a command expands it (`git write-tree`: every entry named
# as the first). The capture's write-tree on its copy did, and its listing of the flags read
# that copy: a rollback of an operation's `git add -N` there left your index six entries all
# named README (`git status`: your files deleted and untracked), and one of yours came back
# without its intent-to-add entry.
SPARSE_INDEX = r"""mkdir -p in out/deep; printf 'i\n' > in/i; printf 'o\n' > out/o
printf 'd\n' > out/deep/d; git add -A; git commit -qm t
git sparse-checkout set --sparse-index in"""
case(
    "t3705-intent-to-add-in-a-sparse-index-by-the-operation",
    SPARSE_INDEX,
    r"""printf 'n\n' > in/n; git add -N in/n; printf 'x\n' >> in/i""",
    flavours=ALL,
)
case(
    "t3705-your-intent-to-add-in-a-sparse-index",
    SPARSE_INDEX + "\nprintf 'n\\n' > in/n; git add -N in/n",
    r"""printf 'x\n' >> in/n; git add in/n; printf 'm\n' > in/m; git add -N in/m""",
    flavours=ALL,
)
# t1091-sparse-checkout-builtin: the operation turns the sparse checkout off (or changes its
# patterns) where you have an intent-to-add entry in a sparse index.
# git's own `sparse-checkout add` writes that index wrong (every entry named as the first):
# an index naming a path twice is one git cannot read, held as its bytes, and the operation
# can only be rolled back whole (`commit` refuses, a turn's Stop takes it back whole: README).
for verb, op, flavours in (
    ("disable", "git sparse-checkout disable; printf 'x\\n' >> in/i", ("begin", "turn-write")),
    ("add", "git sparse-checkout add out; printf 'x\\n' >> in/i", ()),
    ("add-alone", "git sparse-checkout add out", ()),
):
    case(
        f"t1091-{verb}-over-your-intent-to-add-in-a-sparse-index",
        SPARSE_INDEX + "\nprintf 'n\\n' > in/n; git add -N in/n",
        op,
        flavours=("shadow", *flavours),
    )

# --- t3903-stash: the states its stashes leave (intent-to-add entries, `--staged`, a file made
# a folder and a link, a file named HEAD) ---------------------------------------------------
STASH = r"""printf 'f\n' > file; printf 'h\n' > HEAD; printf 's\n' > staged; git add -A
git commit -qm t; printf 'wip\n' >> README; printf 'n\n' > ita; git add -N ita
printf 'x\n' >> staged; git add staged; printf 'y\n' >> staged"""
for name, op in (
    ("stash-with-intent-to-add", "git stash -q; printf 'o\\n' > other; git stash pop -q"),
    ("stash-staged", "git stash --staged -q; printf 'o\\n' > other"),
    ("stash-file-to-directory", "rm file; mkdir file; printf 'd\\n' > file/file; git stash -q -u"),
    ("stash-file-to-symlink", "rm file; ln -s HEAD file; git stash -q; git stash apply -q"),
    ("stash-a-file-named-head", "printf 'x\\n' > HEAD; git stash -q -- HEAD; git stash list"),
):
    # git 2.39's `stash push` of the whole tree fails over an intent-to-add entry ("Entry 'ita'
    # not uptodate. Cannot merge."): a failed run, the state as it was; no kept one to take back.
    whole = "stash -q -- " not in op and "--staged" not in op
    kept = () if whole else ("effect",)
    case(f"t3903-{name}", STASH, op, flavours=("shadow", *kept, "begin", "turn-write"))

# --- t2072-restore-pathspec-file: names (one with a newline) handed over NUL-separated --------
case(
    "t2072-restore-pathspec-from-file",
    r"""printf '1\n' > f1; printf '2\n' > "$(printf 'f\n2')"; printf '3\n' > f3; git add -A
    git commit -qm one; printf 'x\n' | tee f1 f3 > "$(printf 'f\n2')"; git add f1""",
    r"""printf 'f1\0f\n2\0' | git restore --pathspec-from-file=- --pathspec-file-nul --source=HEAD \
    --staged --worktree; printf 'y\n' > f3""",
)

# --- t0027-auto-crlf: core.autocrlf=input over files of every line ending ---------------------
case(
    "t0027-autocrlf-input-mixed-endings",
    r"""printf 'a\nb\n' > LF.txt; printf 'a\r\nb\r\n' > CRLF.txt; printf 'a\r\nb\nc\r\n' > mix.txt
    printf 'a\rb\n' > lone-cr.txt; printf 'a\0\r\nb\r\n' > nul.txt
    git -c core.autocrlf=false add -A; git commit -qm endings; git config core.autocrlf input
    printf 'u\r\n' > untracked.txt""",
    r"""printf '*.txt text=auto\n' > .gitattributes; rm -f LF.txt CRLF.txt mix.txt
    git checkout -- LF.txt CRLF.txt mix.txt; printf 'c\r\n' >> mix.txt; git add --renormalize .
    printf 'n\r\n' > new.txt""",
)
# core.safecrlf=true makes git refuse a conversion it cannot undo (`git add` of a file of mixed
# endings dies): our own captures must not, and the bytes come back as they were.
case(
    "t0027-safecrlf-and-eol-crlf",
    r"""printf '* text=auto\n' > .gitattributes; printf 'a\nb\n' > lf.txt
    printf 'a\r\nb\r\n' > crlf.txt; git add -A; git commit -qm t; git config core.eol crlf
    git config core.safecrlf true; printf 'a\r\nb\nc\r\n' > mixed.txt; printf 'x\n' >> lf.txt""",
    r"""printf 'm\r\nn\n' > new-mixed.txt; printf 'q\r\n' >> crlf.txt; rm mixed.txt
    printf 'l\n' > new-lf.txt; git add crlf.txt""",
)

# --- t0021-conversion: ident, a filter given the file's name (%f) -----------------------------
case(
    "t0021-ident-and-filter-with-name",
    r"""printf '*.i ident\n*.p filter=p\n' > .gitattributes
    git config filter.p.clean "sed -e 's/^SMUDGED %f$/CLEAN/'"
    git config filter.p.smudge "sed -e 's/^CLEAN$/SMUDGED %f/'"; git config filter.p.required true
    printf '$Id$\nbody\n' > a.i; printf 'SMUDGED x.p\n' > x.p; git add -A; git commit -qm t
    rm a.i x.p; git checkout -- a.i x.p; printf 'wip\n' >> a.i""",
    r"""printf '$Id: junk $\nop\n' > b.i; printf 'SMUDGED y.p\n' > y.p; printf 'edit\n' >> x.p
    git add b.i y.p x.p; rm a.i; git checkout -- a.i""",
)

# --- t2021-checkout-overwrite: a folder made a file, then a link, by a checkout ---------------
case(
    "t2021-folder-made-a-file-and-a-link",
    r"""mkdir -p a/b; printf 'c\n' > a/b/c; git add -A; git commit -qm dir
    git checkout -qb file; rm -r a/b; printf 'f\n' > a/b; git add -A; git commit -qm file
    git checkout -qb link main; rm -r a/b; mkdir -p x; printf 'x\n' > x/c; ln -s ../x a/b
    git add -A; git commit -qm link; git checkout -q main; printf 'u\n' > a/b/d""",
    r"""rm a/b/d; git checkout -q -f link; git checkout -q -f file; git checkout -q -f link""",
)

# --- t2019-checkout-ambiguous-ref: a tag and a branch of one name, the current one's too ------
case(
    "t2019-ambiguous-refs",
    r"""git branch ambiguity; git branch vagueness; printf '2\n' > f; git add f
    git commit -qm two; git tag ambiguity; git tag main HEAD~1
    git update-ref refs/heads/heads/main HEAD~1; printf 'w\n' > main; printf 'h\n' > HEAD""",
    r"""git checkout -q ambiguity; printf 'x\n' > x; git add x; git commit -qm on-ambiguity
    git checkout -q main; printf 'y\n' > y; git add y main; git commit -qm on-main
    git branch -q -f vagueness HEAD""",
)

# --- t6300-for-each-ref: refs whose names look like options or format atoms -------------------
case(
    "t6300-odd-ref-names",
    r"""git update-ref refs/heads/--all HEAD; git update-ref refs/heads/-n HEAD
    git update-ref 'refs/heads/%(refname)' HEAD; printf 'w\n' > wip""",
    r"""git commit -q --allow-empty -m more; git update-ref refs/heads/-x HEAD
    git update-ref 'refs/heads/%(objectname)' HEAD; git branch -q 'a{b}' HEAD~1
    git branch -q 'q"u$o' HEAD; git update-ref -d refs/heads/--all
    git update-ref 'refs/heads/%(refname)' HEAD""",
)

# --- t7400-submodule-basic: a submodule deinitialised (gitlink in the index, folder empty) ----
case(
    "t7400-submodule-deinitialised",
    r"""[ -d ../up ] || { git init -q ../up; (cd ../up; printf 's\n' > s
    git add s; git commit -qm s); }
    git -c protocol.file.allow=always submodule -q add ../up sub; git commit -qm sub
    git submodule -q deinit -f sub; printf 'w\n' > wip""",
    r"""git config -f .gitmodules submodule.sub.branch dev; git add .gitmodules
    git rm -q --cached sub; rmdir sub; printf 'f\n' > sub""",
    undo=False,  # a submodule's own files are not ours (README)
)


# --- an agent turn with a Write and a Bash rm -------------------------------------------------
WRITTEN = "written-by-the-agent.txt"


def turn_write(tmp_path: Path, case: Case) -> None:
    """A Claude Code turn: a `Write` of a new file and of README (where the setup left one), a
    `Bash` call that does the operation and removes a file the setup committed; the user adds
    files between the calls and after them. The gate fails: at Stop the turn's own changes
    are taken back on top of the user's, and `undo` brings them back."""
    config = f"printf '{base.TURN_GATE}' > .git-atomic.toml"
    setup = Case(case.name, case.setup + "\n" + config, case.op, undo=case.undo)
    repo = more._make(tmp_path, "repo", setup)
    base.hook(repo, "UserPromptSubmit", prompt="do it")
    writes = [WRITTEN] + (["README"] if (repo.path / "README").is_file() else [])
    for n, name in enumerate(writes):
        call = {
            "tool_name": "Write",
            "tool_input": {"file_path": str(repo.path / name), "content": "agent\n"},
            "tool_use_id": f"toolu_w{n}",
        }
        base.hook(repo, "PreToolUse", **call)
        (repo.path / name).write_bytes(b"agent\n")
        base.hook(repo, "PostToolUse", **call, tool_response={"success": True})
    user = "printf 'between\\n' > user-between"
    base.sh(repo, user)
    shell = case.op + "\nrm -f .gitattributes .gitignore\ntouch turn-marker"
    call = {"tool_name": "Bash", "tool_input": {"command": "op; rm"}, "tool_use_id": "toolu_b"}
    base.hook(repo, "PreToolUse", **call)
    base.sh(repo, shell, check=False)
    base.hook(repo, "PostToolUse", **call, tool_response={"success": True})
    base.sh(repo, base.LATER)
    answer = base.hook(repo, "Stop", stop_hook_active=False)
    assert json.loads(answer)["decision"] == "block", answer
    base.same(more._twin(tmp_path, setup, user, base.LATER), more.state(repo), "after the turn")
    if case.undo:
        agent = " ".join(f"printf 'agent\\n' > {name};" for name in writes)
        expected = more._twin(tmp_path, setup, agent, user, shell, base.LATER)
        more._atomic(repo, setup, "undo")
        base.same(expected, more.state(repo), "after undo of the turn's take-back")


RUN = {**more.RUN, "turn-write": turn_write}


def _params() -> list[object]:
    return [pytest.param(c, f, id=f"{c.name}-{f}") for c in CASES for f in c.flavours]


@pytest.mark.parametrize(("case", "flavour"), _params())
def test_gitsuite_state(tmp_path: Path, case: Case, flavour: str) -> None:
    RUN[flavour](tmp_path, case)


# --- t7600-merge, t3400-rebase, t3510-cherry-pick-sequence, t3507, t4150-am, t3903 "stash pop
# conflict", t6030-bisect: git left half way by YOU, before any operation. The merge's files
# (MERGE_HEAD, rebase-merge/, sequencer/, rebase-apply/), the conflict's stages 1-3 and your
# files are yours: `run` and `begin` refuse (exit 3) before the command runs and change
# nothing; an agent's calls are answered "not protected" and its Stop takes nothing back.
FORK = r"""printf 'base\n' > c; printf 'o\n' > o; git add -A; git commit -qm base
git checkout -qb side; printf 'one\n' > s1; git add s1; git commit -qm s1
printf 'side\n' > c; git commit -qam side; git checkout -q main; printf 'main\n' > c
git commit -qam main; printf 'wip\n' > untracked
"""
YOURS = {
    "t7600-merge-conflict": "git merge -q side || true",
    "t3400-rebase-merge-stopped": "git rebase side || true",
    "t3400-rebase-apply-stopped": "git rebase --apply side || true",
    "t3510-cherry-pick-range-stopped": "git cherry-pick side~1 side || true",
    "t3507-revert-stopped": "git revert --no-edit HEAD || true; printf 'x\\n' > c; "
    "git commit -qam x; git revert --no-edit HEAD~1 || true",
    "t4150-am-stopped": "git format-patch -q -1 side -o ../patches; git am -q ../patches/* || true",
    "t3903-stash-pop-conflict": "printf 'stashed\\n' > c; git stash -q; "
    "git commit -q --allow-empty -m e; printf 'x\\n' > c; git commit -qam x; "
    "git stash pop || true",
    "t6030-bisect-started": "git bisect start main side~1",
}
AGENT = "printf 'agent\\n' > c; rm o; git add c o"


def _named(said: str) -> bool:
    """Whether a refusal names git's half-way state (or the unmerged paths of a stash pop)."""
    return "progress" in said or "unmerged paths" in said


@pytest.mark.parametrize("kind", list(YOURS))
def test_git_left_half_way_by_you_is_yours(tmp_path: Path, kind: str) -> None:
    config = f"printf '{base.TURN_GATE}' > .git-atomic.toml"
    case = Case(kind, FORK + YOURS[kind] + "\n" + config, "")
    repo = more._make(tmp_path, "repo", case)
    before = more.state(repo)
    refused = [["run", "--", "sh", "-c", "printf x > new; rm o"], ["begin", "x"]]
    if kind == "t6030-bisect-started":  # `run` works in a bisect (`git bisect run`)
        refused = refused[1:]
    for argv in refused:
        res = repo.atomic(*argv)
        assert res.returncode == 3, f"{argv[0]}: exit {res.returncode}\n{res.stderr}"
        assert res.stderr.count("\n") == 1 and _named(res.stderr), res.stderr
        base.same(before, more.state(repo), f"after the refused {argv[0]}")
    base.hook(repo, "UserPromptSubmit", prompt="resolve it")
    calls = [
        ("Write", {"file_path": str(repo.path / "c"), "content": "agent\n"}),
        ("Bash", {"command": AGENT}),
    ]
    said_by_call: list[str] = []
    for n, (tool, tool_input) in enumerate(calls):
        call = {"tool_name": tool, "tool_input": tool_input, "tool_use_id": f"toolu_{n}"}
        said = base.hook(repo, "PreToolUse", **call)
        said_by_call.append(said)
        base.sh(repo, AGENT if tool == "Bash" else "printf 'agent\\n' > c", check=False)
        base.hook(repo, "PostToolUse", **call, tool_response={"success": True})
    base.sh(repo, "touch turn-marker\n" + base.LATER)
    answer = base.hook(repo, "Stop", stop_hook_active=False)
    assert '"block"' not in answer, answer
    expected = more._twin(tmp_path, case, AGENT, "touch turn-marker", base.LATER)
    base.same(expected, more.state(repo), "after the turn's end")
    for said in said_by_call:
        assert "not protected" in said and _named(said), said


@pytest.mark.parametrize(
    ("kind", "done"),
    [("t3903-stash-pop-conflict", ""), ("t7600-merge-conflict", "; git commit -q --no-edit")],
)
def test_a_turn_is_protected_again_once_your_half_way_state_is_resolved(
    tmp_path: Path, kind: str, done: str
) -> None:
    """t3903 "stash pop conflict" leaves unmerged paths of yours and no merge named. A turn's
    first call there is not protected and told so; its later calls were not protected either
    but told nothing (the window that could not open stayed, empty), and none was protected
    again after the paths were resolved. Each is told, and once a call resolved the state
    (`git add`; a merge of yours: its commit, as before), the next is protected: its files go
    at Stop."""
    config = f"printf '{base.TURN_GATE}' > .git-atomic.toml"
    case = Case(kind, FORK + YOURS[kind] + "\n" + config, "")
    repo = more._make(tmp_path, "repo", case)
    base.hook(repo, "UserPromptSubmit", prompt="resolve it")
    resolve = "printf 'agent\\n' > c; git add c" + done
    calls = [
        ("Write", {"file_path": str(repo.path / "c")}, "printf 'agent\\n' > c"),
        ("Bash", {"command": resolve}, resolve),
        ("Bash", {"command": "make x"}, "printf 'x\\n' > x; touch turn-marker"),
    ]
    said = []
    for n, (tool, tool_input, script) in enumerate(calls):
        call = {"tool_name": tool, "tool_input": tool_input, "tool_use_id": f"toolu_{n}"}
        said.append(base.hook(repo, "PreToolUse", **call))
        base.sh(repo, script)
        base.hook(repo, "PostToolUse", **call, tool_response={"success": True})
    assert ["not protected" in s and _named(s) for s in said] == [True, True, False], said
    answer = base.hook(repo, "Stop", stop_hook_active=False)
    assert json.loads(answer).get("decision") == "block", (said, answer)
    expected = more._twin(tmp_path, case, resolve)
    base.same(expected, more.state(repo), "after the turn's end")


def test_an_index_git_wrote_naming_a_path_twice_is_put_back_whole(tmp_path: Path) -> None:
    """t1091: `git sparse-checkout add` over an intent-to-add entry in a sparse index (git
    2.39) writes the index with every entry named as the first. The rollback edited that index
    as if it were the capture's (README three times in it after the failed run); such an index
    is now one git cannot read, held as its bytes, and the PRE-OP one is built anew."""
    case = Case("add", SPARSE_INDEX + "\nprintf 'n\\n' > in/n; git add -N in/n", "")
    repo = more._make(tmp_path, "repo", case)

    def listed() -> tuple[str, str]:
        return repo.git("ls-files", "-s", "--sparse"), repo.git("ls-files", "-s", "-v")

    before = listed()
    assert "in/n" in before[0] and "out/\n" in before[0], before
    res = repo.atomic("run", "--", "sh", "-c", "git sparse-checkout add out; exit 1")
    assert res.returncode == 1, res.stderr
    assert listed() == before
    repo.atomic("undo", check=0)  # the index as git wrote it, as its bytes
    assert repo.git("ls-files", "-s").count("\tREADME\n") > 1
