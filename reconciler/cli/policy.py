"""policy check: every policy rule over every record of an account, as the nightly sweep."""

from __future__ import annotations

import os

import click

from reconciler.cli.app import (
    Outcome,
    TerminalProgress,
    cli,
    echo_lines,
    echo_report,
    format_option,
    reading_bar,
    today_option,
)
from reconciler.commands.policy import check_policies
from reconciler.loading import repository_paths
from reconciler.report.policy import (
    NO_RULES,
    annotation_lines,
    policy_check_json,
    render_markdown,
    render_text,
    summary,
)

#: About a second's work: records evaluated, a rule's each.
EVALUATE_BAR_FROM = 20_000


@cli.group()
def policy() -> None:
    """Policy rules (`policies:` in the account's YAML) over the whole account.

    \b
    Example:
      reconciler policy check examples/acme
    """


@policy.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True), metavar="PATH…")
@format_option(
    ["text", "markdown", "json", "github"],
    "text: a line per verdict, file:line:col first; markdown: a table for a comment; json: the counts "
    "and every verdict; github: an ::error (deny, could not be evaluated) or ::warning per verdict.",
)
@today_option("The day the rules read as `today` (and `contract.days_left` counts from).")
def check(paths: tuple[str, ...], output_format: str, today: str) -> Outcome:
    """Evaluate every policy rule over every record of the account: the nightly sweep.

    PATH is a YAML file or a folder, whose .yaml and .yml files are merged.
    `plan` judges only the records its actions touch; this judges them all,
    each as though it were new, so that a rule added (or a day passing)
    finds what the account already holds against it. Rules over the plan
    (`applies_to: plan`) are left to `plan`. Each verdict is printed at the
    record's file:line:col, then how many rules, records, denials and
    warnings there were. `actor` reads as RECONCILER_ACTOR, or "".

    Exits 0 when no rule denies a record, 3 when one does or a rule could
    not be evaluated for one (a plan touching it would be blocked), 1 when
    the files are invalid (a rule that does not compile too).

    \b
    Example:
      reconciler policy check examples/acme
      reconciler policy check account/ --today 2027-03-01 --format json
      reconciler policy check account/ --format github
    """
    actor = os.environ.get("RECONCILER_ACTOR", "").strip().lower()
    with reading_bar() as reading, TerminalProgress("Evaluating the rules", EVALUATE_BAR_FROM) as evaluating:
        outcome = check_policies(paths, actor, today, reading, evaluating)
    if output_format == "github":
        files = repository_paths(v.file for v in outcome.verdicts if v.file)
        echo_lines(annotation_lines(outcome, files))
        click.echo(summary(outcome) if outcome.rules else NO_RULES, err=True)
    else:
        echo_report(
            output_format,
            lambda: policy_check_json(outcome),
            lambda: render_markdown(outcome),
            lambda: render_text(outcome),
        )
    return Outcome.BLOCKED if outcome.denied else Outcome.DONE
