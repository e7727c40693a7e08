"""The workspace on the command line: the selection flags, and the settings they are weighed against.

`plan`, `apply`, `drift` and `usage` take `--account NAME…`, `--all` or
`--changed [--base REF]` (with `--jobs N` and `--workspace FILE`). Here they
are parsed into a Selection, and the store and actor into Settings that
know which came from the command line: a flag typed there wins over the
workspace file, which wins over the environment (commands/workspace.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from reconciler.cli.app import (
    Outcome,
    TerminalProgress,
    ask_first,
    echo_report,
    paint,
    summarise,
    with_options,
)
from reconciler.commands.apply import ApplyResult
from reconciler.commands.workspace import INDEX_FILE, Chosen, Selection, Settings, is_saved_folder
from reconciler.core.errors import plural
from reconciler.core.plan import Plan
from reconciler.core.workspace import AccountRun, AccountStatus, worst_status
from reconciler.report import accounts, markdown
from reconciler.store import DEFAULT_LOCK_TIMEOUT

WORKSPACE_VARIABLE = "RECONCILER_WORKSPACE"
#: Running this many accounts shows a progress bar on a terminal.
ACCOUNTS_BAR_FROM = 10


def selection_options(command: Any) -> Any:
    """--account, --all, --changed, --base, --jobs and --workspace, handed to the command as one
    `chosen` Selection (checked: a UsageError for flags that do not go together) and `jobs`.

    A command's PATHs and a selection exclude each other, except `apply`'s folder of saved plans,
    which is several accounts as --all is."""

    @functools.wraps(command)
    def with_selection(
        *args: Any,
        accounts: tuple[str, ...],
        all_accounts: bool,
        changed: bool,
        base: str | None,
        workspace_file: Path | None,
        **kwargs: Any,
    ) -> Any:
        paths = kwargs.get("paths", ())
        several = is_saved_folder(paths) if command.__name__ == "apply" else False
        kwargs["chosen"] = selection(
            Selection(accounts, all_accounts, changed, base, workspace_file),
            () if several else paths,
            1 if several else kwargs["jobs"],
        )
        return command(*args, **kwargs)

    options = [
        click.option(
            "--account",
            "accounts",
            multiple=True,
            metavar="NAME",
            help="Run on this account of the workspace (reconciler.yaml); repeatable.",
        ),
        click.option("--all", "all_accounts", is_flag=True, help="Run on every account of the workspace."),
        click.option(
            "--changed",
            is_flag=True,
            help="Run on the accounts a branch changed: a file under an account's folder, or under a "
            "`shared` path for all, from the local git diff against the merge base with --base "
            "(uncommitted and untracked files too).",
        ),
        click.option(
            "--base",
            metavar="REF",
            help="With --changed: the branch to compare with. Default: origin/$GITHUB_BASE_REF in a pull "
            "request, else the first of origin/HEAD, origin/main, origin/master, main, master.",
        ),
        click.option(
            "--jobs",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            metavar="N",
            help="Run N accounts at once, each in a process of its own.",
        ),
        click.option(
            "--workspace",
            "workspace_file",
            type=click.Path(dir_okay=False, path_type=Path),
            envvar=WORKSPACE_VARIABLE,
            help="The workspace file; by default reconciler.yaml in this folder or the nearest above it, "
            f"within the repository. Also {WORKSPACE_VARIABLE}.",
        ),
    ]
    return with_options(with_selection, options)


def selection(chosen: Selection, paths: tuple[str, ...] = (), jobs: int = 1) -> Selection:
    """`chosen`, checked: a UsageError for flags that do not go together."""
    asked = [flag for flag, on in chosen.flags() if on]
    if len(asked) > 1:
        raise click.UsageError(f"{' and '.join(asked)} do not go together: choose the accounts one way")
    if chosen.base is not None and not chosen.changed:
        raise click.UsageError("--base goes with --changed")
    if asked and paths:
        raise click.UsageError(
            f"{asked[0]} runs on the workspace's accounts, each from its own folder: give no PATH"
        )
    if not asked and jobs != 1:
        raise click.UsageError(
            "--jobs runs several accounts at once: use it with --all, --account or --changed"
        )
    return chosen


def settings(
    store_url: str | None,
    actor: str | None,
    store_param: str = "store_url",
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> Settings:
    """The store and actor, told apart by where each came from: the command line, or the environment (or
    the default store)."""
    context = click.get_current_context()

    def typed(name: str) -> bool:
        return context.get_parameter_source(name) == ParameterSource.COMMANDLINE

    return Settings(
        store_flag=store_url if typed(store_param) else None,
        actor_flag=actor if typed("actor") else None,
        store_env=None if typed(store_param) else store_url,
        actor_env=None if typed("actor") else actor,
        lock_timeout=lock_timeout,
    )


def accounts_bar(label: str) -> TerminalProgress:
    """The bar shown while many accounts run, one step an account."""
    return TerminalProgress(label, ACCOUNTS_BAR_FROM)


#: The outcome of a run over many accounts, from its worst account's status.
_OUTCOME = {
    AccountStatus.ERROR: Outcome.FAILED,
    AccountStatus.BLOCKED: Outcome.BLOCKED,
    AccountStatus.CHANGES: Outcome.CHANGES,
    AccountStatus.DONE: Outcome.DONE,
}


def outcome(runs: Sequence[AccountRun[Any]], changes_count: bool = True) -> Outcome:
    """The run's outcome: 1 if any account failed, else 3 if any was blocked, else 2 if any has changes
    (when they count: plan's --detailed-exitcode, drift always), else 0."""
    found = _OUTCOME[worst_status(runs)]
    return Outcome.DONE if found is Outcome.CHANGES and not changes_count else found


@dataclass(frozen=True)
class Renderers:
    """One kind of report over many accounts, in each format."""

    text: Callable[..., Iterable[str]]
    markdown: Callable[..., str]
    json: Callable[..., str]
    html: Callable[..., str]


PLANS = Renderers(accounts.plans_text, accounts.plans_markdown, accounts.plans_json, accounts.plans_html)
DRIFTS = Renderers(accounts.drifts_text, accounts.drifts_markdown, accounts.drifts_json, accounts.drifts_html)
USAGES = Renderers(accounts.usages_text, accounts.usages_markdown, accounts.usages_json, accounts.usages_html)


def echo_runs(
    runs: Sequence[AccountRun[Any]], output_format: str, report: Renderers, key: bytes | None = None
) -> None:
    """One report of many accounts, in the format asked for; the job summary too in GitHub Actions."""
    summarise(lambda: report.markdown(runs, limit=markdown.SUMMARY_LIMIT))
    echo_report(
        output_format,
        lambda: report.json(runs, key) if report is PLANS else report.json(runs),
        lambda: report.markdown(runs),
        lambda: report.text(runs, paint),
        lambda: report.html(runs),
    )
    if not runs:
        click.echo("No account to run: the selection is empty.", err=True)


def echo_plans(
    runs: Sequence[AccountRun[Plan]],
    output_format: str,
    key: bytes | None,
    out: str | None,
    detailed_exitcode: bool,
) -> Outcome:
    """The plans of many accounts, where they were saved, and the run's outcome."""
    echo_runs(runs, output_format, PLANS, key)
    if out:
        saved = sum(1 for run in runs if run.result is not None)
        click.echo(
            f"Saved {saved} {plural(saved, 'plan')} and their index ({INDEX_FILE}) to {out}; apply them with "
            f"`reconciler apply {out}`.",
            err=output_format != "text",
        )
    return outcome(runs, changes_count=detailed_exitcode)


def confirm_accounts(count: int) -> None:
    ask_first(f"Apply the changes to these {count} {plural(count, 'account')}?", "apply")


def echo_applies(
    chosen: Chosen, prepared: Sequence[AccountRun[Plan]], applied: dict[str, AccountRun[ApplyResult]]
) -> Outcome:
    """What applying did to each account, a line each, then the count; the outcome is the worst account's."""
    final: list[AccountRun[Any]] = []
    for run in prepared:
        done = applied.get(run.name)
        if done is not None:
            final.append(done)
            if done.result is not None:
                _echo_applied(run.name, done.result)
                if done.reason:
                    click.echo(f"Warning: {run.name}: {done.reason}.", err=True)
            else:
                click.echo(f"{run.name}: not applied: {done.reason}", err=True)
            continue
        if run.result is not None and not run.result.actions:
            final.append(AccountRun(run.name, AccountStatus.DONE))
            click.echo(f"{run.name}: no changes.")
            continue
        final.append(
            run if run.status is not AccountStatus.CHANGES else AccountRun(run.name, AccountStatus.DONE)
        )
        if run.status is AccountStatus.DONE:
            click.echo(f"{run.name}: {run.reason or 'no changes'}.")
        else:
            click.echo(f"{run.name}: not applied: {run.reason}", err=True)
            for line in run.details:
                click.echo(f"  {line}", err=True)
    counted = {status: sum(1 for run in final if run.status is status) for status in AccountStatus}
    took = sum(1 for run in applied.values() if run.result is not None)
    failed, blocked = counted[AccountStatus.ERROR], counted[AccountStatus.BLOCKED]
    since = f" changed since {chosen.changes.base}" if chosen.changes is not None else ""
    click.echo(
        f"Applied {took} of {len(final)} {plural(len(final), 'account')}{since}; {failed} failed, "
        f"{blocked} blocked.",
        err=bool(failed or blocked),
    )
    if failed or blocked:
        click.echo(
            "Run the same apply again once they are fixed: what was applied is not applied twice.", err=True
        )
    return outcome(final, changes_count=False)


def _echo_applied(name: str, result: ApplyResult) -> None:
    counts = result.plan.summary()
    queued = len(result.messages)
    mail = f"; {queued} {plural(queued, 'e-mail')} queued" if queued else ""
    if result.delivery is not None:
        mail += f", {result.delivery.sent} sent"
    elif result.delivery_error is not None:
        mail += f" (not sent: {result.delivery_error})"
    requested = f"; {len(result.requests)} requested" if result.requests else ""
    click.echo(
        f"{name}: applied, {counts['add']} added, {counts['change']} changed, {counts['remove']} removed"
        f"{requested}; the store is at revision {result.revision}{mail}."
    )
    _echo_unsent(name, result)


def _echo_unsent(name: str, result: ApplyResult) -> None:
    """What an account's apply left unsent, why, and how to send it: the apply stays applied."""
    notify = f"`reconciler notify --account {name}`"
    report = result.delivery
    if result.delivery_error is not None:
        click.echo(f"{name}: the e-mail stays queued; {notify} sends it later.", err=True)
    if report is None or report.settled:
        return
    if report.still_queued:
        count = report.still_queued
        click.echo(f"{name}: {count} {plural(count, 'e-mail')} still queued; {notify} tries again.", err=True)
        for reason in report.reasons:
            click.echo(f"  {reason}", err=True)
    if report.uncertain:
        one = len(report.uncertain) == 1
        click.echo(
            f"{name}: {len(report.uncertain)} uncertain: the server may have {'it' if one else 'them'}, so "
            f"{'it is' if one else 'they are'} not sent again by {'itself' if one else 'themselves'}; once "
            f"you know {'it' if one else 'they'} did not arrive, `reconciler notify --account {name} "
            f"--resend-uncertain` sends {'it' if one else 'them'} again.",
            err=True,
        )
