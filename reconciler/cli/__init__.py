"""The command line (click): parse options, call one function, print, map errors to exit codes.

Only this package imports click. `app` holds the group, its shared options
and the one place errors become messages and exit codes; each other module
adds the commands of one concern to it (`workspace` adds none: it holds the
selection flags plan, apply, drift, usage and notify share, and the report of
many accounts):

    changes   validate, fmt, plan, apply, show
    mail      notify, outbox (and the delivery after an apply)
    reports   drift, history, usage
    account   init, export, import csv, users activate
    scim      scim plan, scim apply (the scim extra)
    directory directory pull (the ldap extra)
    tooling   schema, completion: for editors and shells
"""

from reconciler.cli import (  # noqa: F401 - importing them adds their commands
    account,
    changes,
    directory,
    mail,
    reports,
    scim,
    tooling,
)
from reconciler.cli.app import cli, main

__all__ = ["cli", "main"]
