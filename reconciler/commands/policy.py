"""What `policy check` does, as one call: read the YAML, evaluate every policy rule over every record
of the account, and put each verdict on its file, line and column."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.core.plan import PolicyOutcome
from reconciler.engine.policies import Progress as Evaluating
from reconciler.engine.policies import check_account
from reconciler.loading import Progress, load_desired_state, place_verdicts
from reconciler.policy.cel import compile_rules


def check_policies(
    paths: Sequence[str],
    actor: str,
    today: str,
    reading: Progress | None = None,
    evaluating: Evaluating | None = None,
) -> PolicyOutcome:
    """What the rules of the YAML at `paths` say of each of its records, placed in the files; raises
    InvalidDesiredState when the files are not valid (a rule that does not compile among them)."""
    desired = load_desired_state(paths, reading)
    outcome = check_account(compile_rules(desired.policies), desired, actor, today, evaluating)
    return place_verdicts(paths, outcome)
