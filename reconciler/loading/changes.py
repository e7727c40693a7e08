"""Which files a branch changed, from the local git: what `--changed` plans.

Never from a hosting API, whose lists of a pull request's files are paged
and capped: the local `git diff` against the merge base with the base branch
sees every file, and the working tree's uncommitted and untracked files too.
Renames count as a deletion and an addition, so an account folder moved
away concerns the account it left.

A change to the workspace file itself concerns the accounts whose entries
changed; a change to its `shared` or `mail` settings, or a file the old
revision cannot read, concerns every account.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reconciler.core.errors import WorkspaceError
from reconciler.core.workspace import Workspace

#: Where `--changed` looks for the base branch when --base is not given and CI names none, in order.
DEFAULT_BASES = ("origin/HEAD", "origin/main", "origin/master", "main", "master")


@dataclass(frozen=True)
class Changes:
    """What changed since the merge base with `base`: every file (absolute; deleted ones too), the
    accounts whose workspace entries changed, and whether the workspace change concerns them all."""

    base: str
    merge_base: str
    files: tuple[Path, ...]
    entries_changed: tuple[str, ...] = ()
    everything: bool = False


def find_changes(workspace: Workspace, base: str | None, environ: Mapping[str, str]) -> Changes:
    """The files changed in the workspace's repository since it left `base` (or the base branch CI
    names, GITHUB_BASE_REF, or the first of DEFAULT_BASES that exists); raises WorkspaceError."""
    root = workspace.root
    try:
        top = Path(_git(root, "rev-parse", "--show-toplevel").strip())
    except WorkspaceError as error:
        raise WorkspaceError(
            f"--changed reads what changed from git, and {error}; outside a repository, name the "
            "accounts with --account NAME or --all"
        ) from None
    if base is None:
        ci_base = environ.get("GITHUB_BASE_REF")
        candidates = (f"origin/{ci_base}",) if ci_base else DEFAULT_BASES
        base = next((ref for ref in candidates if _exists(root, ref)), None)
        if base is None:
            raise WorkspaceError(
                f"--changed compares with the base branch, and none of {', '.join(candidates)} exists here; "
                "name it with --base REF (and fetch it: actions/checkout with fetch-depth: 0)"
            )
    elif not _exists(root, base):
        raise WorkspaceError(f"--base {base}: no such branch, tag or commit here; fetch it first")
    try:
        merge_base = _git(root, "merge-base", base, "HEAD").strip()
    except WorkspaceError:
        raise WorkspaceError(
            f"HEAD shares no history with {base} here; fetch the whole history (actions/checkout with "
            "fetch-depth: 0) or name another --base"
        ) from None
    listed = _git(root, "diff", "--name-only", "--no-renames", "-z", merge_base, "--")
    # From the repository's top, as diff names them: the workspace may be in a folder below it, and an
    # account's folder beside that one (`path: ../…`, a symlinked folder), where git run in it does not look.
    listed += _git(top, "ls-files", "--others", "--exclude-standard", "--full-name", "-z")
    files = tuple(sorted({(top / name).resolve() for name in listed.split("\0") if name}))
    changed_entries, everything = _workspace_change(workspace, top, merge_base, files)
    return Changes(base, merge_base, files, changed_entries, everything)


def _workspace_change(
    workspace: Workspace, top: Path, merge_base: str, files: tuple[Path, ...]
) -> tuple[tuple[str, ...], bool]:
    if workspace.file not in files:
        return (), False
    relative = workspace.file.relative_to(top.resolve()).as_posix()
    try:
        before: Any = yaml.safe_load(_git(workspace.root, "show", f"{merge_base}:{relative}"))
        now: Any = yaml.safe_load(workspace.file.read_text(encoding="utf-8"))
        if not isinstance(before, dict) or not isinstance(now, dict):
            return (), True
        if {k: v for k, v in before.items() if k != "accounts"} != {
            k: v for k, v in now.items() if k != "accounts"
        }:
            return (), True
        old = {entry["name"]: entry for entry in before.get("accounts", ()) if isinstance(entry, dict)}
        return tuple(
            entry["name"] for entry in now.get("accounts", ()) if old.get(entry["name"]) != entry
        ), False
    except (WorkspaceError, yaml.YAMLError, OSError, KeyError, TypeError):
        return (), True  # new at this branch, or unreadable before: every account is concerned


def _exists(root: Path, ref: str) -> bool:
    try:
        _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except WorkspaceError:
        return False
    return True


def _git(root: Path, *arguments: str) -> str:
    try:
        done = subprocess.run(
            ["git", *arguments],
            cwd=root,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",  # a file name not in UTF-8 is a path still, as os.fsdecode makes it
            check=False,
        )
    except FileNotFoundError:
        raise WorkspaceError("--changed reads the changes with git, and git is not installed here") from None
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        raise WorkspaceError(f"git {arguments[0]} failed in {root}: {said[-1] if said else 'no message'}")
    return done.stdout
