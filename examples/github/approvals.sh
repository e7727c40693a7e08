#!/usr/bin/env bash
# Copy to .github/reconciler/approvals.sh in the repository that holds apply.yml, which runs it.
#
# Usage: approvals.sh PLAN_JSON PULL_NUMBER [HEAD_SHA]   (GITHUB_REPOSITORY set, and GH_TOKEN for gh)
#
# Refuses (exit 1) when the saved plan's policies (effect: require_approvals) require more approving
# reviews than pull request PULL_NUMBER has. They are counted as branch protection counts them: each
# reviewer's latest review that is not a comment, when it is an approval (a later request for changes,
# or a dismissal, cancels it); the author's own review never counts. With HEAD_SHA, the commit the
# plan was made for (the pull request's head), an approval counts only when it was given on that
# commit: one given on an earlier commit approved other changes, and is named as not counted. A plan
# without policies, or one made before they existed, requires none: then gh is not called.
set -euo pipefail

if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
  echo "usage: approvals.sh PLAN_JSON PULL_NUMBER [HEAD_SHA]" >&2
  exit 1
fi
plan=$1
pull=$2
head=${3-}

reviews() {  # "1 approving review", "2 approving reviews"
  if [ "$1" -eq 1 ]; then echo "1 approving review"; else echo "$1 approving reviews"; fi
}

summary() {
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    printf '%s\n' "$1" >> "$GITHUB_STEP_SUMMARY"
  fi
}

# A missing or null `policy` (no policies, or a plan older than them) requires no approvals.
if ! required=$(jq -er '.policy.required_approvals // 0
    | if type == "number" and . >= 0 and . == floor then . else error("not a count: \(.)") end' "$plan")
then
  echo "::error::cannot read the approvals $plan requires (policy.required_approvals); nothing applied"
  exit 1
fi
if [ "$required" -eq 0 ]; then
  echo "No approving reviews are required by policy."
  summary "**Approvals:** none required by policy."
  exit 0
fi

policies=$(jq -r '.policy.approvals_from // [] | join(", ")' "$plan")
case "$policies" in
  "") because="" ;;
  *", "*) because=" (policies $policies)" ;;
  *) because=" (policy $policies)" ;;
esac
if ! [[ $pull =~ ^[1-9][0-9]*$ ]]; then
  echo "::error::the plan requires $(reviews "$required")$because and \"$pull\" is not a pull request number; nothing applied"
  exit 1
fi
# Given, the head must be a whole commit SHA (SHA-1, or SHA-256): a review's commit_id is compared with
# it as it is, and an empty or short one would count no approval, or, left out, every one.
if [ "$#" -eq 3 ] && ! [[ $head =~ ^[0-9a-f]{40}([0-9a-f]{24})?$ ]]; then
  echo "::error::the plan requires $(reviews "$required")$because and \"$head\" is not the full SHA of the commit it was made for; nothing applied"
  exit 1
fi
repository=${GITHUB_REPOSITORY:?GITHUB_REPOSITORY must name the repository (owner/name)}

if ! author=$(gh api "repos/$repository/pulls/$pull" --jq .user.login) \
  || ! pages=$(gh api --paginate "repos/$repository/pulls/$pull/reviews"); then
  echo "::error::could not read pull request #$pull or its reviews (gh above says why); nothing applied"
  exit 1
fi
# --paginate prints one JSON array a page: `jq -s add` makes them one. Reviews come oldest first, so the
# last one kept for a login is that reviewer's latest; PENDING ones (not submitted) count for nothing.
# What is left: each reviewer whose latest review approves, with the commit it approved.
approved=$(jq -cs --arg author "$author" '
  reduce (add // [] | .[]
          | select(.user.login != null and .user.login != $author)
          | select(.state != "COMMENTED" and .state != "PENDING")) as $review
    ({}; .[$review.user.login] = {state: $review.state, commit: $review.commit_id})
  | to_entries | map(select(.value.state == "APPROVED") | {login: .key, commit: .value.commit})
  | sort_by(.login)' <<< "$pages")
listed=$(jq -r --arg head "$head" '.[] | select($head == "" or .commit == $head) | .login' <<< "$approved")
dropped=$(jq -r --arg head "$head" '
  .[] | select($head != "" and .commit != $head)
  | "\(.login) approved \(if .commit then "an earlier commit (\(.commit[0:7]))" else "a commit GitHub does not name" end), not the planned head \($head[0:7]): not counted"' <<< "$approved")
approvers=()
if [ -n "$listed" ]; then
  mapfile -t approvers <<< "$listed"
fi

count=${#approvers[@]}
names=""
if [ "$count" -gt 0 ]; then
  names=$(printf '%s, ' "${approvers[@]}")
  names=" (${names%, })"
fi
summary "**Approvals:** $count$names; the plan requires $required$because."
if [ -n "$dropped" ]; then
  echo "$dropped"
  while IFS= read -r line; do summary "- $line"; done <<< "$dropped"
fi
if [ "$count" -lt "$required" ]; then
  echo "::error::the plan requires $(reviews "$required")$because and pull request #$pull has $count$names; nothing applied"
  exit 1
fi
echo "$(reviews "$count")$names; the plan requires $required$because: applying"
