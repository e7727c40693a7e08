"""`resellers add|remove`: who may do everything, changed by one who may."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.core.errors import InputError
from reconciler.core.model import is_email
from reconciler.core.records import ResellersChanged
from reconciler.store.protocol import Store


def change_resellers(
    store: Store, actor: str, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> ResellersChanged:
    """Add and remove resellers as `actor`, who must be one; the store refuses, unchanged, to remove
    the last one."""
    bad = [email for email in (*add, *remove) if not is_email(email)]
    if bad:
        raise InputError(f"not an e-mail address: {', '.join(repr(b) for b in bad)}; nothing was changed")
    return store.change_resellers(actor, add, remove)
