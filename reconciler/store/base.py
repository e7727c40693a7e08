"""What every store offers, whatever database is behind it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.model import DesiredState
from reconciler.plan import Plan

INVITED = "invited"
ACTIVE = "active"


@dataclass(frozen=True)
class Snapshot:
    """The store at one revision, read in one transaction.

    `state` is the account in the same model as the YAML; what only the
    store knows (who the resellers are, which users are still invited)
    sits beside it.
    """

    lineage: str
    revision: int
    resellers: frozenset[str]
    state: DesiredState
    user_status: Mapping[str, str] = field(default_factory=dict)


class Store(Protocol):
    """A place the account lives: SQLite for one machine, PostgreSQL for a team."""

    url: str

    def initialize(self, resellers: Sequence[str]) -> Snapshot:
        """Create an empty store naming its resellers; raises StoreExists."""
        ...

    def snapshot(self) -> Snapshot:
        """The whole store at its current revision, read consistently."""
        ...

    def apply(self, plan: Plan, actor: str) -> int:
        """Run every action of `plan` in one transaction; returns the new revision.

        Raises StalePlan, leaving the store unchanged, when the store is not
        at the plan's lineage and revision once the transaction holds it.
        """
        ...

    def activate_user(self, email: str) -> None:
        """Mark an invited user active, as their first sign-in does."""
        ...

    def close(self) -> None: ...
