"""validate, fmt, plan, apply and show: from YAML to a reviewed plan to the store."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Callable, Mapping
from itertools import islice
from pathlib import Path
from typing import Any

import click

from reconciler.cli.app import (
    WRITE_BAR_FROM,
    Outcome,
    TerminalProgress,
    actor_option,
    ask_first,
    cli,
    echo_lines,
    echo_report,
    format_option,
    max_removal_ratio_option,
    paint,
    reading_bar,
    required_actor,
    store_option,
    summarise,
    today_option,
    with_options,
)
from reconciler.cli.mail import PROGRESS_FROM, echo_delivery, make_courier
from reconciler.cli.workspace import (
    accounts_bar,
    confirm_accounts,
    echo_applies,
    echo_plans,
    selection_options,
    settings,
)
from reconciler.commands.apply import (
    ApplyOptions,
    ApplyResult,
    is_saved_plan,
    read_plan_to_show,
    run_apply,
)
from reconciler.commands.fmt import Dropping, Formatted, format_files
from reconciler.commands.operations import plan_account
from reconciler.commands.source import source_of
from reconciler.commands.workspace import (
    Selection,
    apply_workspace,
    environment,
    is_saved_folder,
    plan_workspace,
    settle,
)
from reconciler.core.characters import scrub
from reconciler.core.diagnostics import Diagnostic
from reconciler.core.errors import InputError, InvalidDesiredState, plural
from reconciler.core.kinds import TARGET_KEYS
from reconciler.core.model import effective_access
from reconciler.core.plan import Plan
from reconciler.core.planfile import KEY_VARIABLE, dump_plan, plan_key, write_plan
from reconciler.core.records import Request
from reconciler.core.wording import target_label
from reconciler.engine.expiry import Ended
from reconciler.engine.guards import refused_without
from reconciler.engine.planner import PlanOptions
from reconciler.engine.targets import parse_targets
from reconciler.engine.unmanaged import POLICIES
from reconciler.loading import load, repository_paths
from reconciler.notify.compose import MailSettings
from reconciler.notify.smtp import SmtpSettings
from reconciler.report import markdown
from reconciler.report.accounts import plans_text
from reconciler.report.escaping import inert
from reconciler.report.github import annotation_lines
from reconciler.report.html import plan_html
from reconciler.report.json import diagnostics_json
from reconciler.report.summary import SHOWN, brief
from reconciler.report.text import render_brief, render_plan
from reconciler.store import DEFAULT_LOCK_TIMEOUT, DEFAULT_URL, open_store


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@format_option(
    ["text", "markdown", "json", "github"],
    "json prints the problems as a list of {file, line, column, path, message, severity}; markdown as a "
    "pull-request comment that takes the plan comment's place; github as GitHub Actions annotations on "
    "the lines of the pull request (::error, ::warning; nothing when valid without warnings).",
)
@today_option("The day `expires` dates are judged on: a date before it is a warning.")
def validate(paths: tuple[str, ...], output_format: str, today: str) -> Outcome:
    """Check desired-state YAML: syntax, schema and domain rules.

    PATH is a YAML file or a folder, whose .yaml and .yml files are merged.
    Every problem is reported at once, as file:line:col: field: message.
    Exits 0 when valid, 1 when not.

    An `expires` date before --today is a warning, not an error: printed
    the same way (file:line:col: warning: field: message), and validate
    still exits 0 when there are only warnings. The plan takes the entry
    away; once that is applied, `reconciler fmt --drop-expired` takes it
    out of the file. An access that outlasts its contract's `ends`, and a
    Contract Manager or coordinator who expires, are errors.

    \b
    Example:
      reconciler validate examples/acme
      reconciler validate account.yaml --format json
      reconciler validate account/ --format markdown > comment.md
      reconciler validate account/ --format github --today 2027-04-01
    """
    with reading_bar() as bar:
        loaded = load(paths, bar, today)
    if loaded.state is None:
        _echo_invalid(loaded.problems, output_format, loaded.warnings)
        return Outcome.INVALID
    state, warnings = loaded.state, loaded.warnings
    if output_format == "json":
        click.echo(diagnostics_json(warnings), nl=False)
        return Outcome.DONE
    if output_format == "github":  # an annotation is a problem: only the warnings to show
        if warnings:
            files = repository_paths(warning.file for warning in warnings)
            echo_lines(annotation_lines(warnings, files))
            click.echo(f"Valid, with {_counted_warnings(warnings)}.", err=True)
        return Outcome.DONE
    serials = sum(len(contract.serials) for contract in state.contracts)
    counted = [
        (len(state.contracts), "contract"),
        (serials, "serial"),
        (len(state.users), "user"),
        *([(len(state.teams), "team")] if state.teams else []),
        (len(effective_access(state)), "access grant"),  # a user's own and their teams', counted once
    ]
    valid = "Valid: " + ", ".join(f"{n} {plural(n, word)}" for n, word in counted)
    if not warnings:
        click.echo(valid + ".")
    elif output_format == "markdown":
        # A list the comment shows as it is written: what users wrote, escaped as the plan comment does.
        lines = [f"{valid}; {_counted_warnings(warnings)}:", ""]
        click.echo("\n".join(lines + [f"- {inert(str(warning))}" for warning in warnings]))
    else:
        echo_lines(str(warning) for warning in warnings)
        click.echo(f"{valid}; {_counted_warnings(warnings)}.")
    return Outcome.DONE


def _counted_warnings(warnings: tuple[Diagnostic, ...]) -> str:
    return f"{len(warnings)} {plural(len(warnings), 'warning')}"


def _echo_invalid(
    problems: tuple[Diagnostic, ...], output_format: str, warnings: tuple[Diagnostic, ...] = ()
) -> None:
    """Every problem, the warnings among the errors in file and line order, as `output_format` says."""
    summary = InvalidDesiredState(problems)
    said = f"{summary}; {_counted_warnings(warnings)}" if warnings else str(summary)
    everything = tuple(sorted(summary.diagnostics + warnings))
    if output_format == "json":
        click.echo(diagnostics_json(everything), nl=False)
    elif output_format == "markdown":
        click.echo(markdown.render_invalid(everything, f"invalid: {said}"), nl=False)
    elif output_format == "github":
        files = repository_paths(diagnostic.file for diagnostic in everything)
        echo_lines(annotation_lines(everything, files))
        click.echo(f"Invalid: {said}.", err=True)
    else:
        for diagnostic in everything:
            click.echo(str(diagnostic))
        click.echo(f"Invalid: {said}.", err=True)


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--check", is_flag=True, help="Write nothing: list the files fmt would change; exit 2 if any.")
@click.option(
    "--drop-expired",
    is_flag=True,
    help="Also take out every user, access entry and team member whose `expires` is before --today and "
    "whose removal the store (--store) already holds; say what was taken out, and what stays because "
    "the apply has not run yet.",
)
@today_option("With --drop-expired: the day `expires` dates are judged on.")
@store_option
def fmt(paths: tuple[str, ...], check: bool, drop_expired: bool, today: str, store_url: str) -> Outcome:
    """Lay out desired-state YAML as export writes it, keeping its comments.

    Records sorted (contracts, serials, coordinators, users, grants, teams,
    members), each one's fields in one order, e-mails in lower case, two
    spaces a level, and quotes wherever YAML 1.1 or 1.2 would misread a
    value (NO, on, 0755). Each file keeps its own top-level keys, its
    leading comment block, every comment and blank line (with the record or
    field it stands by, wherever the sort moves it), its line breaks; a file
    already laid out is not touched, and a second run changes nothing.

    PATH is a file or a folder, as for validate. The account is validated
    first: when it is invalid, no file is changed, the problems are printed
    as validate prints them, and fmt exits 1. With --check nothing is
    written: the files that would change are listed, and fmt exits 2 when
    there are any, 0 when none.

    --drop-expired tidies what expired away once it is applied: every user,
    access entry and team member whose `expires` is before --today and
    that the store no longer holds (the plan took it away, and an apply
    made it so) is taken out of its file, and a user taken out leaves every
    team too. What the store still holds stays, with a note: the apply has
    not run yet. Only --drop-expired reads the store (--store, or
    RECONCILER_STORE), and it writes nothing there.

    \b
    Example:
      reconciler fmt examples/acme
      reconciler fmt --check accounts/acme    # in CI, or a pre-commit hook
      reconciler fmt --drop-expired accounts/acme --store sqlite:///acme.db
    """
    dropping = Dropping(open_store(store_url), today) if drop_expired else None
    with reading_bar() as bar:
        formatted = format_files(paths, check, bar, dropping)
    if formatted.problems:
        _echo_invalid(formatted.problems, "text")
        return Outcome.INVALID
    changed, unchanged = len(formatted.changed), len(formatted.unchanged)
    if dropping is not None:
        _echo_dropped(formatted, check)
    if check:
        for name in formatted.changed:
            click.echo(name)
        click.echo(
            f"{changed} {plural(changed, 'file')} would be reformatted, {unchanged} unchanged.", err=True
        )
        return Outcome.CHANGES if changed else Outcome.DONE
    for name in formatted.changed:
        click.echo(f"reformatted {name}")
    click.echo(f"{changed} {plural(changed, 'file')} reformatted, {unchanged} unchanged.")
    return Outcome.DONE


def _echo_dropped(formatted: Formatted, check: bool) -> None:
    """What --drop-expired took out, file by file, and what it left; on stderr with --check, whose
    stdout lists the files alone."""
    dropped = "would drop" if check else "dropped"
    for name, entry in formatted.dropped:
        click.echo(f"{dropped} from {name}: {_ended(entry)}", err=check)
    for entry in formatted.pending:
        click.echo(
            f"kept {_ended(entry)}: the store still holds it, so the apply that takes it away has not "
            "run yet",
            err=check,
        )
    for entry in formatted.directory:
        click.echo(
            f"kept {_ended(entry)}: the directory's file declares them too; take them out of the "
            "directory group",
            err=check,
        )
    count, kept = len(formatted.dropped), len(formatted.pending) + len(formatted.directory)
    said = f"{count} expired {plural(count, 'entry', 'entries')} {'would be ' if check else ''}dropped"
    click.echo(f"{said}, {kept} kept." if kept else f"{said}.", err=check)


def _ended(entry: Ended) -> str:
    """An entry that ended, as the line that says it was taken out or kept names it."""
    if entry.team is not None:
        what = f"{entry.user} in team {entry.team}"
    elif entry.serial is not None:
        what = f"the access of {entry.user} to serial {entry.serial}"
    else:
        what = f"the user {entry.user}"
    return f"{scrub(what)} (expired {entry.day})"


def _planning_options(command: Any) -> Any:
    """--max-removal-ratio, --unmanaged and --target, for plan and apply."""
    options = [
        max_removal_ratio_option(
            "Refuse to apply a plan that removes more than this share of the store's users or access."
        ),
        click.option(
            "--unmanaged",
            type=click.Choice(POLICIES),
            help="Users in the store but not in the YAML: remove them (the default), revoke their "
            "access, or keep them. Overrides the YAML's unmanaged_users.",
        ),
        click.option(
            "--target",
            "targets",
            multiple=True,
            metavar="KIND:ID",
            help=(
                "Plan only contract:NUMBER, serial:NUMBER, user:EMAIL or team:NAME (its bookkeeping "
                "and the access it gives or takes), with what it needs; repeatable."
            ),
        ),
        today_option(
            "The day `expires` dates are judged on: what ended before it is taken away, with the reason."
        ),
    ]
    return with_options(command, options)


def _summary_options(command: Any) -> Any:
    """--summary and --show, for plan and show."""
    options = [
        click.option(
            "--summary",
            is_flag=True,
            help="The plan in brief: each contract's counts, every blocked action with its reason, the "
            "first actions of each kind, the totals, and how to see every action. Text or markdown only.",
        ),
        click.option(
            "--show",
            "shown",
            type=click.IntRange(min=0),
            metavar="N",
            help=f"With --summary: how many actions of each kind to show (default {SHOWN}; 0 only counts).",
        ),
    ]
    return with_options(command, options)


def _plan_options(
    max_removal_ratio: float, unmanaged: str | None, targets: tuple[str, ...], today: str
) -> PlanOptions:
    return PlanOptions(
        max_removal_ratio=max_removal_ratio, unmanaged=unmanaged, targets=parse_targets(targets), today=today
    )


@cli.command()
@click.argument("paths", nargs=-1, metavar="[PATH...]")
@format_option(
    ["text", "markdown", "json", "html"],
    "How to print the plan; markdown is made for a pull-request comment, html is one page to open, "
    "print or forward.",
)
@click.option(
    "--out",
    type=click.Path(writable=True),
    help="Save the plan as JSON, for apply, sealed by its checksum (an HMAC with RECONCILER_PLAN_KEY). "
    "With --all, --account or --changed: a folder, one plan per account and their index.",
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when there are none."
)
@click.option(
    "--allow-mass-removal",
    is_flag=True,
    help="The removal is reviewed: do not exit 3 for a plan that removes more than --max-removal-ratio "
    "of the users or access (apply needs --allow-mass-removal too).",
)
@_summary_options
@_planning_options
@store_option
@actor_option
@selection_options
def plan(
    paths: tuple[str, ...],
    output_format: str,
    out: str | None,
    detailed_exitcode: bool,
    allow_mass_removal: bool,
    summary: bool,
    shown: int | None,
    max_removal_ratio: float,
    unmanaged: str | None,
    targets: tuple[str, ...],
    today: str,
    store_url: str,
    actor: str | None,
    chosen: Selection,
    jobs: int,
) -> Outcome:
    """Show what it takes to make the store match the YAML, in apply order.

    Each action says the least role that may perform it and whether the
    actor may; permissions are judged against the store as it is now.
    With --detailed-exitcode, exits 2 when there are changes and 0 when
    there are none. In GitHub Actions the markdown report is also added to
    the job summary.

    Exits 3 (blocked) when apply would refuse the plan as it stands, and
    the report says why and which flag apply needs: an action is blocked
    (apply --request applies the rest and asks whoever may), or the plan
    removes more than --max-removal-ratio of the users or of the access in
    the store (apply --allow-mass-removal). Once such a removal is
    reviewed, --allow-mass-removal here plans it as any other change.
    A policy rule (`policies:`, the policy extra) that denies an action
    blocks it too, and no flag lets apply take it: change the YAML or the
    rule. Its warnings are listed, and the approving reviews its rules
    require are in the report and the JSON (policy.required_approvals).

    --summary prints a long plan in brief: each contract's counts, every
    blocked action with its reason, each kind's count and its first actions
    (5, or --show N), the plan's totals, and how to see every action. It
    goes with --format text or markdown; the JSON plan (and the file --out
    saves) is always the whole plan, as apply reads it, and so is the HTML
    page: --summary with --format json or html is refused (exit 1).

    The saved plan (and --format json, the same format) carries a checksum
    of its content, so that apply refuses it once edited; when
    RECONCILER_PLAN_KEY is set, the checksum is an HMAC with that key, and
    only a plan made with the key applies where it is set.

    In a workspace (reconciler.yaml), --all, --account NAME or --changed
    plan those accounts instead of PATHs, each from its folder with its own
    store and actor: one report, a summary table first; --out names a
    folder. The exit code is the worst account's: 1 error, 3 blocked, 2
    changes (with --detailed-exitcode), 0. An account whose folder is gone,
    or declares nothing, while its store holds an account, is blocked
    unless reconciler.yaml marks it `decommission: true`.

    \b
    Example:
      reconciler plan examples/acme --actor orders@cadpartners.example --out plan.json
      reconciler plan examples/acme --summary --show 3 --out plan.json
      reconciler plan examples/acme --format markdown --out plan.json > comment.md
      reconciler plan examples/acme --target user:carol.smith@acme.example
      reconciler plan examples/acme --format html > plan.html
      reconciler plan account/ --allow-mass-removal --detailed-exitcode --out plan.json
      reconciler plan --changed --format markdown --out plans/ > comment.md
      reconciler plan --all --jobs 4 --detailed-exitcode
    """
    options = _plan_options(max_removal_ratio, unmanaged, targets, today)
    key = plan_key(os.environ.get(KEY_VARIABLE))
    given = settings(store_url, actor)
    _check_summary(summary, shown, output_format)
    if chosen.flag and summary:
        raise click.UsageError(
            "--summary is for one account's plan; leave it out with --all, --account or --changed"
        )
    if chosen.flag:
        with accounts_bar("Planning accounts") as bar:
            runs = plan_workspace(
                chosen,
                given,
                options,
                allow_mass_removal=allow_mass_removal,
                out=Path(out) if out else None,
                key=key,
                workers=jobs,
                progress=bar,
            )
        return echo_plans(runs, output_format, key, out, detailed_exitcode)
    if not paths:
        raise click.UsageError(
            "name the account's files (PATH...), or its accounts: --all, --account or --changed"
        )
    store, actor, _ = settle(paths, given, chosen.workspace_file)
    with reading_bar() as bar:
        the_plan = plan_account(open_store(store or DEFAULT_URL), paths, required_actor(actor), options, bar)
    # Encoded once when it is both printed and saved; else the file is written as it is encoded.
    encoded = dump_plan(the_plan, key) if output_format == "json" else None
    if out:
        _save(the_plan, Path(out), encoded, key)
    saved = Path(out).name if out else None
    whole = _summarise_plan(the_plan, markdown.rest_of_plan(saved))
    # The comment sends a reader to the job summary only when the plan went there.
    run = _run_address() if whole is not None else None
    if summary:
        _echo_brief(the_plan, shown, output_format, out, run, bool(whole))
    else:
        echo_report(
            output_format,
            lambda: encoded or dump_plan(the_plan, key),
            lambda: markdown.render_plan(the_plan, where=markdown.rest_of_plan(saved, run, bool(whole))),
            lambda: render_plan(the_plan, paint),
            lambda: plan_html(the_plan),
        )
    if out and output_format == "text":
        allowing = " --allow-mass-removal" if allow_mass_removal and the_plan.guards else ""
        click.echo(f"Saved the plan to {out}; apply it with `reconciler apply {out}{allowing}`.")
    if refused_without(the_plan, allow_mass_removal):
        return Outcome.BLOCKED
    if detailed_exitcode and the_plan.actions:
        return Outcome.CHANGES
    return Outcome.DONE


@cli.command()
@click.argument("paths", nargs=-1, metavar="[PLANFILE | PLANFOLDER | PATH...]")
@click.option("--auto-approve", is_flag=True, help="Apply without asking; needed when not on a terminal.")
@click.option(
    "--request",
    is_flag=True,
    help="Apply what you may, and e-mail each blocked action to the people who may perform it.",
)
@click.option(
    "--allow-mass-removal",
    is_flag=True,
    help="Apply even when the plan removes more than --max-removal-ratio of the users or access.",
)
@click.option(
    "--adopt",
    is_flag=True,
    help="Record the YAML as the account that already exists, into a store with none, as a reseller: "
    "users active, no e-mail, audit entries marked adopted.",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_LOCK_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another apply to the same store to finish; 0 fails at once.",
)
@click.option(
    "--source",
    "source_text",
    metavar="TEXT",
    help="Where the change comes from (a ticket, why), kept with it in the history beside the commit and "
    "pull request that GitHub Actions' environment names.",
)
@_planning_options
@store_option
@actor_option
@selection_options
def apply(
    paths: tuple[str, ...],
    auto_approve: bool,
    request: bool,
    allow_mass_removal: bool,
    adopt: bool,
    lock_timeout: float,
    source_text: str | None,
    max_removal_ratio: float,
    unmanaged: str | None,
    targets: tuple[str, ...],
    today: str,
    store_url: str,
    actor: str | None,
    chosen: Selection,
    jobs: int,
) -> Outcome:
    """Apply a saved plan, or plan the YAML and apply that, all or nothing.

    A saved plan (from `plan --out`) is known by its content, whatever its
    name: one file holding a JSON object with `format_version` or `actions`;
    anything else is desired-state YAML. It is refused when its checksum
    does not match (the file was edited), when RECONCILER_PLAN_KEY is set
    and it was not made with that key (or made with a key not set here),
    when the store has moved on since it was made, and when the store does
    not bear it out: every action's before, its order, what each action
    needs, who may do it and whom it e-mails. Blocked actions stop the whole apply
    (exit 3), unless --request: then they, and what waits on them, are not
    applied but sent as requests to whoever may perform them (the reseller
    for a manager change, the CM for a coordinator), and the rest is applied.
    On a terminal it asks before changing anything; a plan longer than the
    terminal is shown in brief there (as `plan --summary` shows it), with
    how to read every action first. With --auto-approve, or when not on a
    terminal, the whole plan is printed.

    The e-mails to the people affected are queued in the same transaction
    and, when RECONCILER_SMTP_URL is set, sent right after; a failed delivery
    never undoes an apply: `reconciler notify` sends what is left.

    A plan that removes more than --max-removal-ratio (default 0.25) of the
    users or of the access in the store is refused unless
    --allow-mass-removal: a deleted file should not empty an account.

    Applies to one store run one at a time: this one waits up to
    --lock-timeout seconds for another to finish, then fails (exit 1) naming
    who holds the lock.

    --adopt brings an account that already lives in the portal under git:
    into a store with no users, contracts or teams yet, by one of its
    resellers, it records the YAML as what is already there: every user
    active, no e-mail queued, each audit entry marked adopted. It shows the
    plan and asks as any apply does (--auto-approve skips the question). It
    takes YAML, not a saved plan, and all of it (no --target, no --request);
    on a store with an account, or by anyone else, it refuses (exit 1) and
    changes nothing.

    Each apply keeps where it came from with the revision it makes (see
    `history`, `users show`) and request e-mails carry it: in GitHub Actions
    the commit, the pull request and the run, from the environment; with
    --source, what you say.

    In a workspace (reconciler.yaml), PLANFOLDER is a folder saved by
    `plan --out DIR` over several accounts, and --all, --account NAME or
    --changed plan those accounts' files and apply them: each account in a
    transaction of its own, with its own store and actor; asked once. Each
    account applied or failed is said with its reason; the others are
    applied all the same. Applying PLANFOLDER again applies only the
    accounts not applied yet. Exits with the worst account's code.

    \b
    Example:
      reconciler apply plan.json --auto-approve
      reconciler apply acme.plan --auto-approve
      reconciler apply examples/acme --actor orders@cadpartners.example
      reconciler apply account.yaml --actor alice@acme.example --request
      reconciler apply plan.json --source "ticket 4711: Dana joins" --auto-approve
      reconciler apply account/ --adopt --actor orders@cadpartners.example
      reconciler apply plans/ --auto-approve
      reconciler apply --account acme --auto-approve
    """
    folder = Path(paths[0]) if is_saved_folder(paths) else None
    given = settings(store_url, actor, lock_timeout=lock_timeout)
    if chosen.flag or folder:
        if adopt:
            raise click.UsageError("--adopt records one account's YAML: run it on that account's PATH")
        return echo_applies(
            *apply_workspace(
                chosen,
                given,
                _apply_options(
                    request,
                    allow_mass_removal,
                    adopt,
                    max_removal_ratio,
                    unmanaged,
                    targets,
                    today,
                    source_text,
                ),
                os.environ,
                folder=folder,
                workers=jobs,
                show=lambda _, prepared: echo_lines(plans_text(prepared, paint)),
                approve=None if auto_approve else confirm_accounts,
            )
        )
    if not paths:
        raise click.UsageError(
            "name a saved plan, a plan folder or the account's files; or the accounts: --all, --account, "
            "--changed"
        )
    store, actor, workspace = settle(paths, given, chosen.workspace_file)
    env = environment(workspace, os.environ)
    smtp = SmtpSettings.from_env(env)  # bad mail settings fail before anything changes
    options = _apply_options(
        request, allow_mass_removal, adopt, max_removal_ratio, unmanaged, targets, today, source_text
    )
    verb = "Adopt" if adopt else "Apply"
    with (
        reading_bar() as reading,
        TerminalProgress("Applying", WRITE_BAR_FROM) as writing,
        TerminalProgress("Sending e-mail", PROGRESS_FROM) as sending,
    ):
        applied = run_apply(
            open_store(store or DEFAULT_URL, lock_timeout=lock_timeout),
            paths,
            required_actor(actor),  # whose rights the plan may use comes from here, never from a file
            options,
            show=_showing(paths, adopt, asking=not auto_approve),
            approve=None if auto_approve else (lambda plan: confirm(len(plan.actions), verb)),
            mail=MailSettings.from_env(env),
            courier=make_courier(smtp) if smtp else None,
            reading=reading,
            writing=writing,
            sending=sending,
        )
    if not (applied.plan.actions or applied.requests or applied.repeated):
        return Outcome.DONE  # nothing to do: the plan said so
    counts = applied.plan.summary()
    summarise(
        lambda: markdown.render_plan(
            applied.plan,
            title=f"{'Adopted' if adopt else 'Applied'}, now at revision {applied.revision}",
            limit=markdown.SUMMARY_LIMIT,
            where=f"`reconciler history --limit 1` lists every action of revision {applied.revision}.",
        )
    )
    if adopt:
        count = len(applied.plan.actions)
        click.echo(
            f"Adopt complete: {count} {plural(count, 'record')} recorded as already there, every user "
            f"active, no e-mail queued. The store is at revision {applied.revision}."
        )
        for note in applied.notes:
            click.echo(f"Note: {note}", err=True)
        return Outcome.DONE
    click.echo(
        f"Apply complete: {counts['add']} added, {counts['change']} changed, {counts['remove']} removed. "
        f"The store is at revision {applied.revision}."
    )
    for note in applied.notes:
        click.echo(f"Note: {note}", err=True)
    _echo_requests(applied)
    _echo_mail(applied, smtp)
    return Outcome.DONE


def _apply_options(
    request: bool,
    allow_mass_removal: bool,
    adopt: bool,
    max_removal_ratio: float,
    unmanaged: str | None,
    targets: tuple[str, ...],
    today: str,
    source_text: str | None = None,
) -> ApplyOptions:
    return ApplyOptions(
        request=request,
        allow_mass_removal=allow_mass_removal,
        adopt=adopt,
        planning=_plan_options(max_removal_ratio, unmanaged, targets, today),
        plan_key=plan_key(os.environ.get(KEY_VARIABLE)),
        source=source_of(os.environ, source_text),
    )


def _echo_mail(applied: ApplyResult, smtp: SmtpSettings | None) -> None:
    """What became of the e-mail the apply queued: waiting, sent, or still queued and why; and what it
    did not queue, the outbox holding it already."""
    messages, already = len(applied.messages), applied.already_queued
    if not messages:
        if already:
            click.echo(
                f"No e-mail queued: the outbox already holds the {already} {plural(already, 'message')} "
                "this apply would send."
            )
        return
    people = len({m.to for m in applied.messages})
    more = f" ({already} more the outbox held already)" if already else ""
    whom = f"{people} {plural(people, 'person', 'people')}"
    queued = f"Queued {messages} {plural(messages, 'e-mail')} to {whom}{more}"
    if smtp is None:
        click.echo(
            f"{queued}. Set RECONCILER_SMTP_URL and run `reconciler notify` to send them, "
            "or read them with `reconciler outbox --full`."
        )
        return
    click.echo(f"{queued}; sending them through {smtp.redacted}.")
    if applied.delivery_error is not None:
        click.echo(
            f"Warning: the e-mail stays queued ({applied.delivery_error}); run `reconciler notify` later.",
            err=True,
        )
    elif applied.delivery is not None:
        echo_delivery(applied.delivery)


def _echo_requests(applied: ApplyResult) -> None:
    for found in applied.requests:
        click.echo(f"Requested {found.kind} {_target_text(found.target)} from {_whom(found)}.")
    for found in applied.repeated:
        click.echo(
            f"Already requested {found.kind} {_target_text(found.target)} from {_whom(found)}: asked before, "
            "so not asked again."
        )
    if applied.held_back:
        count = len(applied.held_back)
        click.echo(
            f"Held back {count} {plural(count, 'action')} that {'waits' if count == 1 else 'wait'} "
            "on a request: " + ", ".join(f"{a.kind} {target_label(a)}" for a in applied.held_back)
        )
    for closing in applied.closed:
        click.echo(f"Closed the request for {closing.describe()}; the requester is told by e-mail.")


def _whom(request: Request) -> str:
    return " or ".join(request.requested_of) or "nobody (no one else may)"


def _target_text(target: Mapping[str, str]) -> str:
    return " ".join(target[key] for key in TARGET_KEYS if key in target)


@cli.command()
@click.argument("planfile", metavar="PLANFILE")
@format_option(
    ["text", "markdown", "json", "html"], "How to print the plan; html is one page to open or print."
)
@_summary_options
def show(planfile: str, output_format: str, summary: bool, shown: int | None) -> None:
    """Print a plan saved by `plan --out`, in apply order.

    An edited plan is refused, as apply refuses it. A plan made with a key
    (RECONCILER_PLAN_KEY) is checked with it when it is set, and shown
    unchecked, with a warning, when it is not: apply checks it.

    --summary prints it in brief, as `plan --summary` does (text or
    markdown; the JSON and the HTML page are always the whole plan).

    \b
    Example:
      reconciler show plan.json
      reconciler show plan.json --summary
      reconciler show plan.json --format markdown
      reconciler show plan.json --format html > plan.html
    """
    _check_summary(summary, shown, output_format)
    key = plan_key(os.environ.get(KEY_VARIABLE))
    the_plan, checked = read_plan_to_show(planfile, key)
    if not checked:
        click.echo(
            f"Warning: {planfile} was made with a key (its checksum is an HMAC), and {KEY_VARIABLE} is not "
            "set here: it is shown unchecked; apply checks it",
            err=True,
        )
    if summary:
        _echo_brief(the_plan, shown, output_format)
        return
    where = markdown.rest_of_plan(Path(planfile).name)
    echo_report(
        output_format,
        lambda: dump_plan(the_plan, key),
        lambda: markdown.render_plan(the_plan, limit=markdown.SUMMARY_LIMIT, where=where),
        lambda: render_plan(the_plan, paint),
        lambda: plan_html(the_plan),
    )


def _save(the_plan: Plan, path: Path, encoded: str | None, key: bytes | None) -> None:
    try:
        with path.open("w", encoding="utf-8") as out:
            if encoded is None:
                write_plan(the_plan, out, key)
            else:
                out.write(encoded)
    except OSError as error:
        raise InputError(f"cannot write the plan to {path}: {error.strerror}") from None


def _check_summary(summary: bool, shown: int | None, output_format: str) -> None:
    if shown is not None and not summary:
        raise click.UsageError("--show N says how much of the plan --summary shows: add --summary")
    if summary and output_format in ("json", "html"):
        raise click.UsageError(
            f"--summary is for --format text or markdown: the {output_format} plan is always the whole plan; "
            "leave out --summary, or choose --format text or markdown"
        )


def _echo_brief(
    the_plan: Plan,
    shown: int | None,
    output_format: str,
    out: str | None = None,
    run: str | None = None,
    whole: bool = False,
) -> None:
    """The plan in brief, as text or markdown, saying how to see every action: the same command
    without --summary, the plan saved to `out`, the job summary of the run at `run`."""
    found = brief(the_plan, SHOWN if shown is None else shown)
    if output_format == "markdown":  # read elsewhere: the saved plan by its name, as its artifact has it
        again = markdown.rest_of_plan(Path(out).name if out else None, run, whole, again=True)
        click.echo(markdown.render_brief(found, see_all=again), nl=False)
        return
    also = f", or `reconciler show {shlex.quote(out)}`" if out else ""
    see_all = f"Run the same command without --summary to see every action{also}."
    echo_lines(render_brief(found, see_all, paint))


def _summarise_plan(the_plan: Plan, where: str) -> bool | None:
    """In GitHub Actions, add the plan to the job summary and say whether all of it fits there; None
    when there is no job summary."""
    whole: list[bool] = []

    def report() -> str:
        text, fits = markdown.fit_plan(the_plan, limit=markdown.SUMMARY_LIMIT, where=where)
        whole.append(fits)
        return text

    summarise(report)
    return whole[0] if whole else None


def _run_address() -> str | None:
    """The address of this GitHub Actions run, whose page holds its job summary; None elsewhere."""
    server, repository, run = (
        os.environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    return f"{server}/{repository}/actions/runs/{run}" if server and repository and run else None


def echo_plan(the_plan: Plan) -> None:
    """Print the plan as it is rendered, a thousand lines a write: a large plan is never one string."""
    echo_lines(render_plan(the_plan, paint))


#: What apply says after an adoption's plan.
ADOPTING = (
    "Adopting: these records are kept as already there; every user active, nobody e-mailed, nothing removed."
)


def echo_adoption(the_plan: Plan) -> None:
    """The plan, then what adopting it means: the same records, nobody told."""
    echo_plan(the_plan)
    click.echo(ADOPTING)


def _showing(paths: tuple[str, ...], adopt: bool, asking: bool) -> Callable[[Plan], None]:
    """How apply shows the plan: whole, unless it asks on a terminal that the plan is longer than;
    then in brief, saying how to read every action first."""
    if not (asking and sys.stdin.isatty() and sys.stdout.isatty()):
        return echo_adoption if adopt else echo_plan
    return lambda the_plan: echo_plan_to_confirm(the_plan, paths, adopt, shutil.get_terminal_size().lines)


def echo_plan_to_confirm(the_plan: Plan, paths: tuple[str, ...], adopt: bool, height: int) -> None:
    """The plan before apply asks about it on a terminal `height` lines high: whole when it fits above
    the question, else in brief."""
    after = [ADOPTING] if adopt else []
    room = height - 1 - len(after)  # the question takes the last line
    lines = render_plan(the_plan, paint)
    first = list(islice(lines, room + 1))
    if len(first) <= room:
        echo_lines([*first, *after])
        return
    counted = len(first) + sum(1 for _ in lines)
    echo_lines(render_brief(brief(the_plan), _read_first(paths, adopt, counted), paint))
    echo_lines(after)


def _read_first(paths: tuple[str, ...], adopt: bool, lines: int) -> str:
    """How to read every action of a plan before applying it, shown in brief for being `lines` long."""
    why = f"The whole plan is {lines:,} lines, more than the terminal shows."
    if is_saved_plan(paths):
        return (
            f"{why} To read every action first, answer no and run `reconciler show {shlex.quote(paths[0])}`."
        )
    planning = f"reconciler plan {shlex.join(paths)}"
    if adopt:
        return (
            f"{why} To read every action first, answer no and run `{planning}` with this command's options: "
            "adopting records the same actions, and e-mails nobody."
        )
    return (
        f"{why} To read every action first, answer no and save the plan with `{planning} --out plan.json` "
        "(with this command's options), read it with `reconciler show plan.json`, and apply just what you "
        "read with `reconciler apply plan.json`."
    )


def confirm(count: int, verb: str = "Apply") -> None:
    ask_first(f"{verb} these {count} actions?", "apply", "adopted" if verb == "Adopt" else "applied")
