#!/usr/bin/env bash
# The main job, on the embedded SQLite default, as a newcomer's first run:
# validate the example account, create a store, plan the account as the
# reseller, apply the saved plan, show the e-mails it queued for the people
# affected (RECONCILER_SMTP_URL unset, so they wait in the store's outbox),
# then show that a second plan finds nothing to do, that the store has not
# drifted from git, the seats and renewals report, the plan as one HTML page
# for reviewers, and what the store exports. Every step is the real command.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d)"
export RECONCILER_STORE="sqlite:///$work/demo.db"
export RECONCILER_ACTOR="orders@cadpartners.example"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step reconciler validate examples/acme
step reconciler init --reseller "$RECONCILER_ACTOR"
step reconciler plan examples/acme --out "$work/plan.json"
step reconciler apply "$work/plan.json" --auto-approve
step reconciler outbox
step reconciler outbox --full --to carol.smith@acme.example
step reconciler plan examples/acme --detailed-exitcode
step reconciler drift examples/acme --stale-invites 30
step reconciler usage --renewal-days 180
printf '\n\033[1m$ %s\033[0m\n' "reconciler show plan.json --format html > plan.html"
reconciler show "$work/plan.json" --format html > "$work/plan.html"
echo "The plan as a page, to open in any browser, print or forward: $work/plan.html"
step reconciler export --contract 110009876543
printf '\nThe store is %s; RECONCILER_STORE and RECONCILER_ACTOR name it and you.\n' "$RECONCILER_STORE"
