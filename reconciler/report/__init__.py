"""Renderers: plans, drifts, usage, history and the account itself as text. They read, never decide.

text, markdown, json, html   a plan, a drift, a usage report, the history, in each format
accounts     the plans, drifts or usage reports of many accounts (a workspace) as one, in each format
yaml         the account as desired-state YAML (`export`)
layout       a desired-state file in export's layout, its comments kept (`fmt`)
csv          the account's grants and the seat use as CSV, and the cell rules `import csv` undoes
outbox       the outbox as a list
github       validate's problems as GitHub Actions annotations
grouping, notes, attention, fitting, escaping   what the formats share
"""
