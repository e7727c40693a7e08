"""The command line (click): parse options, call one function, print, map errors to exit codes.

Only this package imports click. `app` holds the group, its shared options
and the one place errors become messages and exit codes; each other module
adds the commands of one concern to it (`workspace` adds none: it holds the
selection flags plan, apply, drift, usage and notify share, and the report of
many accounts); each is imported only when one of its commands runs (`MODULES` in app):

    changes   validate, fmt, plan, apply, show
    mail      notify, outbox (and the delivery after an apply)
    reports   drift, history, usage
    requests  requests: what apply --request asked for, and what became of it
    account   init, resellers, export, import csv, users activate
    people    users show
    scim      scim plan, scim apply (the scim extra)
    directory directory pull (the ldap extra)
    tooling   schema, completion: for editors and shells
"""

from reconciler.cli.app import cli, main

__all__ = ["cli", "main"]
