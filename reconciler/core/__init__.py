"""The core: plain records and the registry every other ring reads; it decides nothing and does no I/O.

Its modules, each importing only those listed in the layers below it (pyproject.toml, "core"):

    kinds        the action kinds, one row each in TABLE: effect, rank, authority, phrase, mail
    model        the account as frozen values, built from validated documents
    shapes       each record of the account as a dict of its fields, written once
    plan         the plan: actions in apply order, judged
    planfile     the plan's file format, JSON; a store, a change and a guard as every JSON report writes them
    records      what a store reads and keeps, what one apply writes, what mail is, what drift and usage found
    errors       the exception tree, drawn in its docstring
    diagnostics  a problem in a file and its place
    characters   which characters a name may hold, and how a report shows the rest
    scalars      how YAML 1.2 reads a plain scalar, for every reader and writer of the YAML
    wording      targets, roles, events and changes in words, for reports, mail and reasons
"""
