"""Where a change comes from: the commit, pull request and CI run that the environment names.

GitHub Actions says it in its environment (GITHUB_SHA, GITHUB_SERVER_URL,
GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_REF, and the event's payload at
GITHUB_EVENT_PATH); `apply --source TEXT` adds what the person applying says.
An apply keeps its source with the revision it makes (history, users show), and
request mails carry it, so whoever is asked can find the change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from reconciler.core.records import Source

#: A merge commit's or a squashed commit's subject naming its pull request: "Merge pull request #7 from
#: …" or "Add Dana (#7)".
_PULL_IN_MESSAGE = re.compile(r"^Merge pull request #(\d+)\b|\(#(\d+)\)\s*$", re.MULTILINE)
_PULL_REF = re.compile(r"^refs/pull/(\d+)/")


def source_of(environ: Mapping[str, str], text: str | None = None) -> Source | None:
    """The source `environ` names (GitHub Actions' variables), with `text`; None when nothing is known."""
    sha = environ.get("GITHUB_SHA") or None
    repository = _repository_url(environ)
    event = _event(environ.get("GITHUB_EVENT_PATH"))
    pull = _pull_request(environ, event, repository)
    opened = event.get("pull_request")
    if isinstance(opened, dict):  # a pull request's run: its head, not the test merge
        head = opened.get("head")
        sha = str(head["sha"]) if isinstance(head, dict) and head.get("sha") else sha
    run_id = environ.get("GITHUB_RUN_ID")
    source = Source(
        commit=sha,
        commit_url=f"{repository}/commit/{sha}" if repository and sha else None,
        pull_request=pull,
        run=f"{repository}/actions/runs/{run_id}" if repository and run_id else None,
        text=(text or "").strip() or None,
    )
    return source if source.known else None


def _repository_url(environ: Mapping[str, str]) -> str | None:
    server, repository = environ.get("GITHUB_SERVER_URL"), environ.get("GITHUB_REPOSITORY")
    return f"{server.rstrip('/')}/{repository}" if server and repository else None


def _event(path: str | None) -> dict[str, object]:
    """The event's payload; empty when there is none or it cannot be read (a source is a courtesy)."""
    if not path:
        return {}
    try:
        found = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _pull_request(
    environ: Mapping[str, str], event: Mapping[str, object], repository: str | None
) -> str | None:
    """The pull request's address: the event's own, the ref of a pull request's run, or the one a merge
    commit's message names."""
    pull = event.get("pull_request")
    if isinstance(pull, dict) and isinstance(pull.get("html_url"), str):
        return str(pull["html_url"])
    if repository is None:
        return None
    ref = _PULL_REF.match(environ.get("GITHUB_REF", ""))
    if ref:
        return f"{repository}/pull/{ref.group(1)}"
    head = event.get("head_commit")
    message = head.get("message") if isinstance(head, dict) else None
    found = _PULL_IN_MESSAGE.search(message) if isinstance(message, str) else None
    return f"{repository}/pull/{found.group(1) or found.group(2)}" if found else None
