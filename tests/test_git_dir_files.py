"""git's own files an operation changes beside the checkpoint's state: what its rollback does
with each, read from the disk (git's t5700-repack's alternates, t1400-update-ref's
packed-refs, t3200-branch's rename of a branch another worktree has checked out)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from git_atomic.engine import discovery, replacerefs
from testing.gitrepo import GitRepo


@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_an_alternates_file_the_operation_added_is_named_by_its_rollback(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """An operation that added `objects/info/alternates` had git read objects from another
    repository's store after its rollback, which said it "had changed nothing". The file
    stays (objects written since may be only there: removing it could lose them), and the
    rollback names it, with the way to take it away that copies the objects here first."""
    other = GitRepo.create(tmp_path / "other", tmp_path / "home")
    store = other.path / ".git" / "objects"
    alternates = repo.path / ".git" / "objects" / "info" / "alternates"
    op = f"echo {store} > .git/objects/info/alternates"
    if how == "failed-run":
        res = repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    else:
        done = repo.atomic_json("run", "--", "sh", "-c", op)
        res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert alternates.read_text() == f"{store}\n"  # never removed: nothing is lost
    said = [line for line in res.stderr.splitlines() if str(alternates) in line]
    assert len(said) == 1 and str(store) in said[0] and "git repack -a -d" in said[0], res.stderr
    assert "changed nothing" not in res.stderr, res.stderr


def test_an_alternates_file_you_had_is_not_named(repo: GitRepo, tmp_path: Path) -> None:
    """One there at PRE-OP, left as it was, is no change of the operation's."""
    other = GitRepo.create(tmp_path / "other", tmp_path / "home")
    alternates = repo.path / ".git" / "objects" / "info" / "alternates"
    alternates.write_text(f"{other.path / '.git' / 'objects'}\n")
    res = repo.atomic("run", "--", "sh", "-c", "echo x > x; exit 1", check=1)
    assert "alternates" not in res.stderr, res.stderr


@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_a_branch_renamed_under_another_worktree_is_renamed_back(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """`git branch -m other new`, `other` checked out in a linked worktree: git moves that
    worktree's HEAD to `new`. The rollback made `other` again and left `new` ("checked out in
    another worktree"): both names, the worktree on the operation's. It renames it back: the
    worktree on `other` (its HEAD file), `new` gone with its configuration, `other`'s back;
    `undo` renames it again, and a second `undo` back."""
    repo.git("branch", "other")
    repo.git("config", "branch.other.description", "mine")
    repo.git("worktree", "add", "-q", str(tmp_path / "wt"), "other")
    head = repo.path / ".git" / "worktrees" / "wt" / "HEAD"
    tip = repo.git("rev-parse", "other").strip()
    op = "git branch -m other new"
    if how == "failed-run":
        res = repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    else:
        done = repo.atomic_json("run", "--", "sh", "-c", op)
        dry = repo.atomic("rollback", "--op", done["op_id"], "--dry-run", check=0).stdout
        assert f"branch  new {tip[:12]} -> (deleted)" in dry.splitlines(), dry
        res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert "warning" not in res.stderr, res.stderr
    heads = repo.path / ".git" / "refs" / "heads"
    assert head.read_text() == "ref: refs/heads/other\n"
    assert (heads / "other").read_text() == tip + "\n" and not (heads / "new").exists()
    config = repo.git("config", "--get-regexp", "^branch[.]")
    assert config == "branch.other.description mine\n"
    assert (tmp_path / "wt" / "README").read_bytes() == b"hello\n"  # its files: the same

    repo.atomic("undo", check=0)
    assert head.read_text() == "ref: refs/heads/new\n" and not (heads / "other").exists()
    assert repo.git("config", "--get-regexp", "^branch[.]") == "branch.new.description mine\n"
    repo.atomic("undo", check=0)
    assert head.read_text() == "ref: refs/heads/other\n" and not (heads / "new").exists()


def test_a_renamed_branch_checked_out_there_since_stays(repo: GitRepo, tmp_path: Path) -> None:
    """Where that worktree checked the renamed branch out itself since (its HEAD's reflog says
    `checkout:`), it is its own doing: the branch stays, named, as any branch checked out in
    another worktree."""
    repo.git("branch", "other")
    wt = GitRepo(tmp_path / "wt", repo.env)
    repo.git("worktree", "add", "-q", str(wt.path), "other")
    done = repo.atomic_json("run", "--", "sh", "-c", "git branch -m other new")
    wt.git("checkout", "-q", "-b", "elsewhere")
    wt.git("checkout", "-q", "new")
    res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert "branch new is checked out in another worktree; left as it is" in res.stderr
    head = repo.path / ".git" / "worktrees" / "wt" / "HEAD"
    assert head.read_text() == "ref: refs/heads/new\n"


def loose_refs(repo: GitRepo) -> dict[str, bytes]:
    """Every loose ref file but git-atomic's, with its bytes, read from the disk."""
    top = repo.path / ".git"
    return {
        str(p.relative_to(top)): p.read_bytes()
        for p in (top / "refs").rglob("*")
        if p.is_file() and not str(p.relative_to(top)).startswith("refs/atomic/")
    }


@pytest.mark.parametrize("how", ["failed-run", "abort", "rollback-op", "recover"])
def test_refs_an_operation_packed_are_loose_files_again_after_its_rollback(
    repo: GitRepo, how: str
) -> None:
    """git's t3210-pack-refs: `git pack-refs --all` (or a `git gc`) by an operation moved every
    loose ref into a `packed-refs` the PRE-OP had not, and its rollback left it so. Each comes
    back a loose file with its bytes, and the file goes; a tag you made and packed since the
    operation (before `rollback --op`) stays packed, with the file."""
    repo.git("branch", "b1")
    repo.git("tag", "-a", "-m", "m", "annotated")
    before = loose_refs(repo)
    packed = repo.path / ".git" / "packed-refs"
    op = "git pack-refs --all"
    if how == "failed-run":
        repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    elif how == "abort":
        repo.atomic("begin", "pack", check=0)
        repo.git("pack-refs", "--all")
        repo.atomic("abort", check=0)
    elif how == "rollback-op":
        done = repo.atomic_json("run", "--", "sh", "-c", op)
        assert loose_refs(repo) == {}
        repo.git("tag", "yours")
        repo.git("pack-refs", "--all")
        repo.atomic("rollback", "--op", done["op_id"], check=0)
    else:
        repo.atomic("run", "--", "sh", "-c", op + "; kill -9 $PPID", check=-9)
        repo.atomic("recover", check=0)
    if how == "rollback-op":
        assert b" refs/tags/yours\n" in packed.read_bytes()
        assert b" refs/heads/" not in packed.read_bytes()
    else:
        assert not packed.exists()
    assert loose_refs(repo) == before
    assert not list((repo.path / ".git").rglob("*.lock"))


def test_a_dry_run_says_what_the_rollback_writes_back_in_the_git_dir(
    repo: GitRepo, tmp_path: Path
) -> None:
    """`rollback --op --dry-run` listed the files and branches, and none of what the real
    rollback writes back in the git dir: the reflogs the operation rewrote, ORIG_HEAD, the refs
    it packed, a deleted branch's configuration, the bisect folder it left. It lists each (a
    `git` line), nothing written; the real one then does what it said; so does `undo
    --dry-run` of that rollback for the configuration the undo removes again."""
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    repo.git("branch", "feat")
    repo.git("config", "branch.feat.description", "mine")
    git_dir = repo.path / ".git"
    main_log = (git_dir / "logs" / "refs" / "heads" / "main").read_bytes()
    orig = (git_dir / "ORIG_HEAD").read_bytes() if (git_dir / "ORIG_HEAD").exists() else None
    line = (
        "git reflog expire --expire=now --all; git reset -q --hard HEAD~1; git branch -D feat; "
        "git bisect start HEAD HEAD~1 >/dev/null; git bisect reset >/dev/null 2>&1; "
        "git pack-refs --all; echo x > x"
    )
    done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", line)
    packed = (git_dir / "packed-refs").read_bytes()
    dry = repo.atomic("rollback", "--op", done["op_id"], "--dry-run", check=0)
    lines = dry.stdout.splitlines()
    assert (git_dir / "packed-refs").read_bytes() == packed  # nothing written
    assert 'git     [branch "feat"] in .git/config: written back' in lines, lines
    assert "git     reflog of main: written back as before the operation (it rewrote it)" in lines
    said_orig = [x for x in lines if x.startswith("git     ORIG_HEAD: ")]
    assert said_orig == [
        f"git     ORIG_HEAD: back to {orig.decode()[:12]}, as before the operation"
        if orig
        else "git     ORIG_HEAD: removed (there was none before the operation)"
    ]
    assert any(x.startswith("git     packed-refs: ") and "the file removed" in x for x in lines)
    assert "git     refs/bisect/: removed (empty, made by the operation)" in lines, lines
    assert "what the git lines above say" in dry.stderr

    repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert repo.git("config", "branch.feat.description").strip() == "mine"
    assert (git_dir / "logs" / "refs" / "heads" / "main").read_bytes().startswith(main_log)
    assert ((git_dir / "ORIG_HEAD").read_bytes() if orig else None) == orig
    assert not (git_dir / "packed-refs").exists() and not (git_dir / "refs" / "bisect").exists()
    undo = repo.atomic("undo", "--dry-run", check=0).stdout.splitlines()
    assert 'git     [branch "feat"] in .git/config: removed with the branch' in undo, undo


@pytest.mark.parametrize("how", ["failed-run", "abort", "rollback-op"])
def test_a_replace_ref_the_operation_made_goes_with_its_rollback(repo: GitRepo, how: str) -> None:
    """git's t6050-replace: `git replace main other` by an operation stayed after its rollback,
    which said it "had changed nothing": `git status` then showed `M  a`, a change nobody
    made (main's commit read as other's). The ref goes (said, and by the dry run); a
    replacement you made yourself since stays."""
    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "a")
    repo.git("checkout", "-q", "-b", "other")
    repo.write("a", b"b\n")
    repo.git("commit", "-qam", "b")
    repo.git("checkout", "-q", "main")
    main = repo.git("rev-parse", "main").strip()
    replace_ref = repo.path / ".git" / "refs" / "replace" / main
    op = "git replace main other"
    if how == "failed-run":
        res = repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    elif how == "abort":
        repo.atomic("begin", "replace", check=0)
        repo.git("replace", "main", "other")
        res = repo.atomic("abort", check=0)
    else:
        done = repo.atomic_json("run", "--", "sh", "-c", op)
        repo.git("replace", "HEAD~1", "other")  # yours, since: stays
        yours = repo.git("for-each-ref", "--format=%(refname)", "refs/replace/").split()
        dry = repo.atomic("rollback", "--op", done["op_id"], "--dry-run", check=0)
        assert replace_ref.exists()
        assert f"git     the replacement of {main[:12]} the operation made" in dry.stdout
        res = repo.atomic("rollback", "--op", done["op_id"], check=0)
        assert repo.git("for-each-ref", "--format=%(refname)", "refs/replace/").split() == [
            r for r in yours if not r.endswith(main)
        ]
    assert not replace_ref.exists()
    assert f"the replacement of {main[:12]} the operation made" in res.stderr, res.stderr
    assert "changed nothing" not in res.stderr
    assert repo.git("status", "--porcelain") == ""


@pytest.mark.parametrize("gitmodules", [False, True])
@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_grafts_the_operation_wrote_go_with_its_rollback(
    repo: GitRepo, how: str, gitmodules: bool
) -> None:
    """git's t6001-rev-list-graft: an operation that wrote `.git/info/grafts` (HEAD with no
    parent) left your history cut for every `git log` after its rollback, which said it "had
    changed nothing". The file goes (one you had stays, as it was). Said also where the
    worktree has a `.gitmodules` (the submodules' lines once took the place of this one)."""
    if gitmodules:
        repo.write(".gitmodules", b"")
        repo.git("add", ".gitmodules")
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    grafts = repo.path / ".git" / "info" / "grafts"
    op = f"echo {repo.head()} > .git/info/grafts"
    if how == "failed-run":
        res = repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    else:
        done = repo.atomic_json("run", "--", "sh", "-c", op)
        assert grafts.exists()
        res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert not grafts.exists()
    assert "the .git/info/grafts the operation wrote" in res.stderr, res.stderr
    assert repo.git("rev-list", "--count", "HEAD").strip() == "2"


def test_grafts_you_had_stay(repo: GitRepo) -> None:
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    grafts = repo.path / ".git" / "info" / "grafts"
    grafts.write_text(f"{repo.head()}\n")
    res = repo.atomic("run", "--", "sh", "-c", "echo x > x; exit 1", check=1)
    assert grafts.read_text() == f"{repo.head()}\n" and "grafts" not in res.stderr


def test_an_alternates_file_the_operation_removed_is_written_back(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A `clone --shared` borrows every object from its origin's store: an operation that
    removed `objects/info/alternates` left the repository broken after its rollback ("fatal:
    bad object HEAD"), which said it "had changed nothing". The file is written back (adding
    a store loses nothing), and said."""
    clone = GitRepo(tmp_path / "clone", repo.env)
    repo.git("clone", "-q", "--shared", str(repo.path), str(clone.path))
    alternates = clone.path / ".git" / "objects" / "info" / "alternates"
    before = alternates.read_bytes()
    res = clone.atomic("run", "--", "sh", "-c", "rm .git/objects/info/alternates; exit 1", check=1)
    assert alternates.read_bytes() == before
    assert "it is written back, as before the operation" in res.stderr, res.stderr
    assert clone.git("status", "--porcelain") == ""


def test_a_dry_run_with_no_file_to_change_says_its_git_dir_repairs_in_json(repo: GitRepo) -> None:
    """An operation whose whole effect is in the git dir (`git reflog expire --all`): the dry
    run of its `rollback --op` takes the "nothing further" way, and its JSON said neither that
    it was a dry run nor what the real one writes back, which its text says."""
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    log = repo.path / ".git" / "logs" / "refs" / "heads" / "main"
    before = log.read_bytes()
    done = repo.atomic_json(
        "run", "--history", "shadow", "--", "sh", "-c", "git reflog expire --expire=now --all"
    )
    assert log.read_bytes() != before
    dry = repo.atomic_json("rollback", "--op", done["op_id"], "--dry-run")
    assert dry["dry_run"] is True and dry["changes"] == []
    said = "written back as before the operation (it rewrote it)"
    assert sorted(dry["git_dir"]) == [f"reflog of HEAD: {said}", f"reflog of main: {said}"]
    assert log.read_bytes() != before  # nothing written
    real = repo.atomic_json("rollback", "--op", done["op_id"])
    assert real["dry_run"] is False and real["git_dir"] == []
    assert log.read_bytes().startswith(before)


def test_replace_refs_read_from_their_files_are_what_git_lists(repo: GitRepo) -> None:
    """The replace refs are noted from their files (an agent turn notes them at each call, no
    git process): loose ones over packed ones, as git reads them; where a file is not an
    object id (a symbolic ref), git is asked."""
    for n in range(3):
        repo.git("commit", "-q", "--allow-empty", "-m", f"c{n}")
    repo.git("replace", "HEAD", "HEAD~1")
    repo.git("replace", "HEAD~1", "HEAD~2")
    repo.git("pack-refs", "--all")
    repo.git("replace", "-f", "HEAD", "HEAD~2")  # loose, over its packed line
    repo.git("replace", "HEAD~2", "HEAD~3")
    listed = repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/replace/")
    want = dict(line.split() for line in listed.splitlines())
    found = replacerefs.on_disk(discovery.discover(str(repo.path)))
    assert found == want and len(want) == 3
    tip = repo.git("rev-parse", "HEAD").strip()
    (repo.path / ".git" / "refs" / "replace" / tip).write_text("ref: refs/heads/main\n")
    assert replacerefs.on_disk(discovery.discover(str(repo.path))) is None


def replace_refs(repo: GitRepo) -> dict[str, str]:
    """refs/replace/ as git lists them: {ref: object id}."""
    out = repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/replace/")
    return dict(line.split() for line in out.splitlines())


@pytest.mark.parametrize("how", ["failed-run", "abort", "rollback-op", "emergency", "recover"])
def test_undo_of_a_rollback_makes_its_git_dir_repairs_again(repo: GitRepo, how: str) -> None:
    """`undo` of a rollback brought the files back and left what the rollback took back in the
    git dir: a replace ref and `info/grafts` the operation wrote stayed as PRE-OP had them, so
    the undo was not the rollback's inverse (`git log` showed the history without the
    operation's replacement and grafts). Each is made again, said; a second `undo` takes
    them back again, and a third makes them again. ORIG_HEAD stays yours (none here), as the
    rollback gave it back (t7102: test_git_state.py)."""
    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "a")
    repo.git("checkout", "-q", "-b", "other")
    repo.write("a", b"b\n")
    repo.git("commit", "-qam", "b")
    repo.git("checkout", "-q", "main")
    git_dir = repo.path / ".git"
    grafts, orig_head = git_dir / "info" / "grafts", git_dir / "ORIG_HEAD"
    orig_head.unlink(missing_ok=True)
    op = f"git replace main other; echo {repo.head()} > .git/info/grafts; git reset -q HEAD"
    op += "; echo x > x"
    if how == "failed-run":
        repo.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    elif how == "recover":
        repo.atomic("run", "--", "sh", "-c", op + "; kill -9 $PPID", check=-9)
        repo.atomic("recover", check=0)
    elif how in ("abort", "emergency"):
        repo.atomic("begin", "replace", check=0)
        repo.git("-c", "advice.graftFileDeprecated=false", "replace", "main", "other")
        grafts.write_text(f"{repo.head()}\n")
        repo.git("reset", "-q", "HEAD")
        repo.write("x", b"x\n")
        repo.atomic("abort" if how == "abort" else "emergency", check=0)
    else:
        done = repo.atomic_json("run", "--", "sh", "-c", op)
        repo.atomic("rollback", "--op", done["op_id"], check=0)
    made = {f"refs/replace/{repo.head()}": repo.git("rev-parse", "other").strip()}
    head = f"{repo.head()}\n"
    assert replace_refs(repo) == {} and not grafts.exists() and not orig_head.exists()
    dry = repo.atomic("undo", "--dry-run", check=0).stdout
    assert "git     the replacement of" in dry and "is made again" in dry, dry
    assert replace_refs(repo) == {}
    res = repo.atomic("undo", check=0)
    assert replace_refs(repo) == made
    assert grafts.read_text() == head
    assert not orig_head.exists()
    assert "is made again" in res.stderr and "grafts is written again" in res.stderr, res.stderr
    assert repo.read("x") == b"x\n"
    repo.atomic("undo", check=0)
    assert replace_refs(repo) == {} and not grafts.exists() and not orig_head.exists()
    repo.atomic("undo", check=0)
    assert replace_refs(repo) == made and grafts.read_text() == head
    assert not orig_head.exists()


def test_undo_leaves_a_replace_ref_you_changed_since_the_rollback(repo: GitRepo) -> None:
    """A replacement you made after the rollback, of the object the operation's replaced, is
    yours: `undo` leaves it, and makes again only what is still as the rollback left it."""
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    repo.git("checkout", "-q", "-b", "other")
    repo.git("commit", "-q", "--allow-empty", "-m", "three")
    repo.git("checkout", "-q", "main")
    repo.atomic("run", "--", "sh", "-c", "git replace main other; exit 1", check=1)
    repo.git("replace", "main", "HEAD~1")
    yours = replace_refs(repo)
    repo.atomic("undo", check=0)
    assert replace_refs(repo) == yours


def test_rollback_op_after_undo_of_a_failed_run_takes_its_replace_ref_back(
    repo: GitRepo,
) -> None:
    """A failed run's rollback noted what the operation left in the git dir after putting it
    back, so after `undo` brought its effect back, `rollback --op` of it took back its files
    and not its replace ref. What it leaves is noted before its rollback."""
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    repo.git("branch", "other", "HEAD~1")
    done = repo.atomic_json("run", "--", "sh", "-c", "git replace main other; exit 1", check=1)
    repo.atomic("undo", check=0)
    assert replace_refs(repo) != {}
    repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert replace_refs(repo) == {}


@pytest.mark.parametrize("how", ["run", "begin-commit"])
def test_a_kept_run_that_removes_a_shared_clones_alternates_says_so_by_name(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """A kept run (or `commit`) whose command removed a `clone --shared`'s
    `objects/info/alternates` failed its checkpoint with a generic line (a list of what may
    take a checkpoint's objects away, or git's failure with its output in a log file), the
    operation left interrupted, and `abort` of a begun one failed the same way: its rollback
    could not read its PRE-OP without the file. The line names the file the operation
    removed and the store git read from there; the run is rolled back (exit 1) with the file
    written back first, and `abort` does the same; nothing of yours is lost."""
    clone = GitRepo(tmp_path / "clone", repo.env)
    repo.git("clone", "-q", "--shared", str(repo.path), str(clone.path))
    alternates = clone.path / ".git" / "objects" / "info" / "alternates"
    before = alternates.read_bytes()
    if how == "run":
        res = clone.atomic("run", "--", "sh", "-c", "rm .git/objects/info/alternates; echo x > x")
        assert res.returncode == 1, res.stderr
        assert "was rolled back, the file written back" in res.stderr
    else:
        clone.atomic("begin", "x", check=0)
        alternates.unlink()
        clone.write("x", b"x\n")
        res = clone.atomic("commit")
        assert res.returncode == 3, res.stderr
        assert "`git atomic abort` writes it back" in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert f"the operation removed {alternates}" in lines[0], lines
    assert os.fsdecode(repo.path / ".git" / "objects") in lines[0], lines
    if how != "run":
        clone.atomic("abort", check=0)
    assert alternates.read_bytes() == before
    assert not clone.exists("x")
    assert clone.git("status", "--porcelain") == ""
    clone.atomic("undo", check=0)
    assert clone.read("x") == b"x\n"


@pytest.mark.parametrize("mine", [True, False], ids=["yours", "none"])
@pytest.mark.parametrize("where", ["main", "linked"])
@pytest.mark.parametrize("how", ["failed-run", "rollback-op"])
def test_commit_editmsg_the_operation_wrote_is_as_before_after_its_rollback(
    repo: GitRepo, tmp_path: Path, how: str, where: str, mine: bool
) -> None:
    """`COMMIT_EDITMSG` holds the message of your last `git commit`, kept there when a hook
    refused it (`git commit -F .git/COMMIT_EDITMSG` takes it again). An operation that
    committed wrote its own over it, in the main worktree's git dir or a linked worktree's
    own (`.git/worktrees/<w>/`), and its rollback left the operation's message there: yours
    lost. It comes back byte for byte (removed where there was none), and `undo` (the
    operation's commit again) leaves it yours, as it leaves ORIG_HEAD."""
    at = repo
    if where == "linked":
        at = GitRepo(tmp_path / "wt", repo.env)
        repo.git("worktree", "add", "-q", str(at.path), "-b", "w")
    git_dir = Path(at.git("rev-parse", "--absolute-git-dir").strip())
    msg = git_dir / "COMMIT_EDITMSG"
    if mine:
        msg.write_bytes("my message, refused by a hook — ü\n".encode())
    else:
        msg.unlink(missing_ok=True)
    before = msg.read_bytes() if mine else None
    op = "echo y > y; git add y; git commit -qm 'the operation'"
    if how == "failed-run":
        at.atomic("run", "--", "sh", "-c", op + "; exit 1", check=1)
    else:
        done = at.atomic_json("run", "--", "sh", "-c", op)
        assert msg.read_bytes() == b"the operation\n"
        at.atomic("rollback", "--op", done["op_id"], check=0)
    assert (msg.read_bytes() if msg.exists() else None) == before
    at.atomic("undo", check=0)
    assert at.exists("y")
    assert (msg.read_bytes() if msg.exists() else None) == before


@pytest.mark.parametrize("how", ["failed-run", "abort"])
def test_undo_of_a_rollback_packs_again_the_refs_it_wrote_loose(repo: GitRepo, how: str) -> None:
    """A rollback writes the refs an operation packed (`git pack-refs --all`) as loose files
    again and removes the `packed-refs` it made; `undo` of it left them loose: not the
    rollback's inverse. The file comes back with the refs still as it packed them (their
    loose files gone), said; a second `undo` unpacks them again, a third packs them."""
    repo.git("branch", "b1")
    repo.git("tag", "-a", "-m", "m", "annotated")
    before = loose_refs(repo)
    packed = repo.path / ".git" / "packed-refs"
    if how == "failed-run":
        repo.atomic("run", "--", "sh", "-c", "git pack-refs --all; exit 1", check=1)
    else:
        repo.atomic("begin", "pack", check=0)
        repo.git("pack-refs", "--all")
        repo.atomic("abort", check=0)
    assert not packed.exists() and loose_refs(repo) == before
    dry = repo.atomic("undo", "--dry-run", check=0)
    assert "git     packed-refs: " in dry.stdout and not packed.exists(), dry.stdout
    res = repo.atomic("undo", check=0)
    assert "wrote as loose files packed again" in res.stderr, res.stderr
    names = {line.split()[1] for line in packed.read_text().splitlines()[1:] if line[0] != "^"}
    assert {"refs/heads/main", "refs/heads/b1", "refs/tags/annotated"} <= names
    assert loose_refs(repo) == {}
    assert repo.git("rev-parse", "b1", "annotated^{}").split() == [repo.head()] * 2
    repo.atomic("undo", check=0)
    assert not packed.exists() and loose_refs(repo) == before
    repo.atomic("undo", check=0)
    assert packed.exists() and loose_refs(repo) == {}
    git_dir = repo.path / ".git"
    locks = [p for p in git_dir.rglob("*.lock") if not p.is_relative_to(git_dir / "atomic")]
    assert locks == []  # git's (our warm helper's own lock aside)


def test_undo_after_a_rollback_op_of_git_dir_changes_alone_undoes_that_one(
    repo: GitRepo,
) -> None:
    """A kept operation whose whole effect is a replace ref: its `rollback --op` took the ref
    back and wrote no event ("nothing further to roll back"), so the `undo` it pointed to
    undid an older rollback (brought back a file of an earlier failed run) and left the
    replacement gone. The rollback is an event of its own: `undo` makes the replacement
    again, and nothing else; a second `undo` takes it back again."""
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    repo.git("branch", "other", "HEAD~1")
    repo.atomic("run", "--", "sh", "-c", "echo e > earlier; exit 1", check=1)
    done = repo.atomic_json("run", "--history", "shadow", "--", "git", "replace", "main", "other")
    made = replace_refs(repo)
    assert made
    res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert replace_refs(repo) == {}
    assert "the replacement of" in res.stderr, res.stderr
    repo.atomic("undo", check=0)
    assert replace_refs(repo) == made
    assert not repo.exists("earlier")
    repo.atomic("undo", check=0)
    assert replace_refs(repo) == {} and not repo.exists("earlier")


def test_the_dry_run_of_a_rollback_op_of_git_dir_changes_alone_says_what_the_real_one_does(
    repo: GitRepo,
) -> None:
    """The dry run said "nothing further to roll back" where the real `rollback --op` of an
    operation whose effect is a replace ref alone rolls it back (a move of its own): it says
    so, lists the replacement that goes, and writes nothing."""
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    repo.git("branch", "other", "HEAD~1")
    done = repo.atomic_json("run", "--history", "shadow", "--", "git", "replace", "main", "other")
    made = replace_refs(repo)
    dry = repo.atomic("rollback", "--op", done["op_id"], "--dry-run", check=0)
    assert "nothing further" not in dry.stderr and "would change 0 paths" in dry.stderr
    assert "git     the replacement of" in dry.stdout, dry.stdout
    as_json = repo.atomic_json("rollback", "--op", done["op_id"], "--dry-run")
    assert as_json["dry_run"] is True and as_json["status"] == "rolled_back"
    assert replace_refs(repo) == made


@pytest.mark.parametrize("where", ["main", "linked"])
def test_the_refs_replace_folder_a_replacement_made_goes_with_its_rollback(
    repo: GitRepo, tmp_path: Path, where: str
) -> None:
    """`git replace` makes `refs/replace/` in the common git dir; the rollback that took the
    replacement back left that folder, empty, where PRE-OP had none (also from a linked
    worktree, whose own git dir has no such folder). It goes; `undo` makes the replacement,
    and so the folder, again."""
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    at = repo
    if where == "linked":
        at = GitRepo(tmp_path / "wt", repo.env)
        repo.git("worktree", "add", "-q", str(at.path), "-b", "w")
    folder = repo.path / ".git" / "refs" / "replace"
    assert not folder.exists()
    at.atomic("run", "--", "sh", "-c", "git replace HEAD HEAD~1; exit 1", check=1)
    assert not os.path.lexists(folder)
    at.atomic("undo", check=0)
    assert len(os.listdir(folder)) == 1
