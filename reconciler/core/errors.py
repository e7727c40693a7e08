"""The exceptions reconciler raises; the command line maps them to exit codes.

    ReconcilerError                 anything reconciler reports to its user
     ├── InputError                 the user's input cannot be used
     │    ├── InvalidDesiredState   the desired-state YAML has problems (carries every diagnostic)
     │    ├── PlanFileError         a saved plan cannot be read, or is not the plan that was made
     │    │    └── PlanKeyMissing   it was made with a key (RECONCILER_PLAN_KEY) that is not set here
     │    ├── UnsupportedChange     the YAML asks for a change the planner cannot make
     │    └── WorkspaceError        reconciler.yaml cannot be used, or names no such account
     ├── StoreError                 the store cannot be opened, created or written
     │    ├── StoreNotFound         there is no store at the URL
     │    ├── StoreExists           init found a store already there
     │    ├── StoreTooNew           the store's schema is newer than this program
     │    └── StoreLocked           another apply held the store's lock for longer than --lock-timeout
     ├── OutcomeUnknown             an apply's COMMIT lost its answer; the store cannot say if it took
     ├── ApplyRefused               apply will not run; the store is unchanged
     │    ├── StalePlan             the saved plan was made against another store or revision
     │    ├── MassRemoval           the plan removes more than the allowed share of users or access
     │    ├── AdoptRefused          --adopt: the store holds an account already, or the actor is no reseller
     │    └── LastReseller          resellers remove would leave the store with no reseller
     ├── PlanBlocked                the actor may not perform some of the plan's actions
     │    └── ResellersOnly         a command only a reseller may run was run by someone else
     ├── FormatFailed               fmt's layout of a file would not read back the same (a bug)
     ├── DirectoryError             a directory (SCIM or LDAP) refused, failed or could not be reached
     │    ├── PartialRead           a read of the directory came back partial; nothing was changed
     │    └── BudgetReached         a push used its hourly write budget and stopped; it says when to resume
     └── PullRefused                directory pull will not write its file; the file is untouched
          ├── IncompleteRead        a read of the LDAP directory was cut short (a page, a range, a limit)
          └── ShrinkRefused         the people or a group would shrink more than allowed

Library code raises these and never prints; `reconciler.cli` alone turns them
into messages and exit codes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from reconciler.core.diagnostics import Diagnostic


class ReconcilerError(Exception):
    """Anything reconciler reports to its user."""


class InputError(ReconcilerError):
    """The user's input cannot be used."""


class InvalidDesiredState(InputError):
    """The desired-state YAML has problems; every one of them is attached."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(sorted(diagnostics))
        files = len({d.file for d in self.diagnostics})
        count = len(self.diagnostics)
        super().__init__(f"{count} {plural(count, 'error')} in {files} {plural(files, 'file')}")


class PlanFileError(InputError):
    """A saved plan cannot be read, or is not the plan that was made: its checksum, or the store, says
    the file was changed."""


class PlanKeyMissing(PlanFileError):
    """A saved plan was made with a key (RECONCILER_PLAN_KEY) not set here, so it cannot be checked."""


class UnsupportedChange(InputError):
    """The YAML asks for a change the planner cannot make."""


class WorkspaceError(InputError):
    """The workspace file (reconciler.yaml) cannot be used: unreadable, invalid, a `${VAR}` not set, a
    secret written in it; or the command names an account it does not have."""


class StoreError(ReconcilerError):
    """The store cannot be opened, created or written."""


class StoreNotFound(StoreError):
    """There is no store at the URL."""


class StoreExists(StoreError):
    """`init` found a store already there."""


class StoreTooNew(StoreError):
    """The store's schema is newer than this program knows."""


class StoreLocked(StoreError):
    """Another apply held the store's lock for longer than the lock timeout."""


class OutcomeUnknown(ReconcilerError):
    """An apply's COMMIT lost its answer, and the store cannot say (yet) whether it committed."""


class ApplyRefused(ReconcilerError):
    """Apply will not run; the store is unchanged."""


class StalePlan(ApplyRefused):
    """The saved plan was made against another store, or the store has moved on."""


class MassRemoval(ApplyRefused):
    """The plan removes more than the allowed share of the store's users or access."""


class AdoptRefused(ApplyRefused):
    """`apply --adopt` will not run: the store holds an account already, or the actor is no reseller."""

    @classmethod
    def unless_adoptable(
        cls, where: str, actor: str, resellers: Collection[str], counts: Mapping[str, int]
    ) -> None:
        """Raise one unless `actor` is one of the store's `resellers` and the store at `where` holds
        none of `counts` (its users, contracts and teams): the one rule of who adopts into what, which
        the apply checks first and the stores again in their transactions."""
        actor = actor.lower()
        if actor not in resellers:
            raise cls(
                f"not adopted: {actor} is not a reseller of this store ({', '.join(sorted(resellers))}), "
                "and only a reseller may record an account as already existing; nothing was changed. "
                "Ask a reseller to run `reconciler apply PATH... --adopt`"
            )
        if any(counts.values()):
            held = ", ".join(f"{n} {plural(n, word[:-1], word)}" for word, n in counts.items() if n)
            raise cls(
                f"not adopted: {where} already holds an account ({held}), and --adopt records one only "
                "into a store that has none; nothing was changed. Plan and apply the YAML without --adopt "
                "(each new user is then invited), or adopt it into a new store made with "
                "`reconciler init --reseller EMAIL`"
            )


class LastReseller(ApplyRefused):
    """`resellers remove` would leave the store with no reseller, and nobody could name one again."""


class PlanBlocked(ReconcilerError):
    """The actor may not perform some of the plan's actions."""


class ResellersOnly(PlanBlocked):
    """A command only a reseller may run (`resellers add|remove`) was run by someone who is not one."""


class FormatFailed(ReconcilerError):
    """`fmt` laid a file out in a way that does not read back as what it declared (a bug in reconciler);
    no file was written."""


class DirectoryError(ReconcilerError):
    """A directory (a SCIM service provider, an LDAP server) refused, failed or could not be reached; the
    message says what was done."""


class PartialRead(DirectoryError):
    """A paged read of the directory came back partial or inconsistent; nothing was changed."""


class BudgetReached(DirectoryError):
    """A push sent as many writes as its hourly budget allows and stopped between two requests; the
    message says what was done and from when the next run may go on."""


class PullRefused(ReconcilerError):
    """`directory pull` will not write its file, which is left as it was."""


class IncompleteRead(PullRefused):
    """A read of the LDAP directory was cut short: the connection dropped, a size or time limit was hit, a
    referral or a page or a `range=` of a group's members was left unread."""


class ShrinkRefused(PullRefused):
    """A mapped group read empty, or the people or a group would shrink by more than the allowed share;
    `--allow-shrink` lets a reviewed shrink through."""


def plural(count: int, word: str, many: str | None = None) -> str:
    """`word` when `count` is one, else `many` (by default `word` with an s)."""
    return word if count == 1 else many or word + "s"
