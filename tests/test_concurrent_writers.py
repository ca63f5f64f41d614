"""Other writers at the same time (issues 14 and 15): a user's editor, a second agent session.
"""

from __future__ import annotations

from testing.gitrepo import GitRepo


# --- configuration keys keep their subsection's case ------------------------------------------


def filtered_repo(repo: GitRepo, clean: str, *, required: bool) -> None:
    """A filter driver named with capitals, as `git lfs install` writes `filter.lfs`, but
    spelled `MyFilter`: git's subsection names are case-sensitive."""
    repo.write(".gitattributes", b"*.txt filter=MyFilter\n")
    repo.write("a.txt", b"hello\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "attributes")
    repo.git("config", "filter.MyFilter.clean", clean)
    repo.git("config", "filter.MyFilter.smudge", "cat")
    repo.git("config", "filter.MyFilter.required", "true" if required else "false")


def test_a_failing_required_filter_with_capitals_in_its_name_never_fails_a_capture(
    repo: GitRepo,
) -> None:
    """git-lfs configured but not installed, under another name: before, our `-c` turned off
    `filter.myfilter`, git ran `MyFilter` and every command failed with exit 3."""
    filtered_repo(repo, "false", required=True)
    res = repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "echo more >> a.txt; exit 1")
    assert res.returncode == 1, res.stderr
    assert repo.read("a.txt") == b"hello\n"


def test_a_commit_holds_what_a_capitalised_filter_makes_of_a_file(repo: GitRepo) -> None:
    """Commits mode commits a file as your git would: through its filter. Before, the filter
    was not recognised under its own name and the commit held the bytes on disk."""
    filtered_repo(repo, "tr a-z A-Z", required=False)
    repo.atomic("run", "--history", "commits", "--", "sh", "-c", "echo more >> a.txt", check=0)
    assert repo.git("show", "HEAD:a.txt") == "HELLO\nMORE\n"
    assert repo.read("a.txt") == b"hello\nmore\n"
