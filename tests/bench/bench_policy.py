"""Plan with policy rules against the same plan without them, and `policy check` over a whole account
(the policy issue's targets at 100,000 users: five rules add at most 2 s to the plan of a 1 % change;
three rules check the whole account in at most 60 s).

    python tests/bench/bench_policy.py [USERS ...] [--profile]     (default: 100000)

The account: generate.py's, every user with three grants of their own, its contracts given an end
(a fifth on 2027-01-20, a fifth on 2028-06-30, the rest none), and in a file of their own 100 teams,
each giving one serial to the users who hold it already (grants from teams too, no seat more). It is
applied to an empty SQLite store. The 1 % change: every hundredth user gets one serial more (one in
two hundred of them with download rights), and each serial that gains a user gains a seat. It is
planned with --today 2027-01-01 from the folder as it is and from the same folder with a third file,
policies.yaml, holding five rules:

- grant, deny: new download rights (fires for the few new grants with download);
- user, warn: more than three serials (fires for every changed user);
- serial, warn: one seat or none left (fires for none);
- grant, warn: new access on a contract that ends within 30 days (`contract.ends != "" && …`);
- plan, require_approvals: more than 50 seats added (fires at 100,000 users).

Prints whether the two plans hold the same actions but those the rules deny (and those a denial
holds back), then the median of 3 plans of each: in-process through plan_account (load, plan, put
the verdicts on their lines), the cycle collector off as the console script has it, and
`reconciler plan --format json` in a process of its own; with the difference and the verdicts.
Then `policy check` of three rules (grant, user, serial) over every record of the changed account,
the median of 3 of each: the engine alone (check_account, the account loaded once), the command
(check_policies: load, evaluate, place) and `reconciler policy check --format json`; with the
records evaluated and the verdicts. With --profile, one plan with the rules under cProfile (the
collector off): the top 15 by cumulative time in engine/policies.py and policy/cel.py, then in all
of reconciler/.
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median_seconds
from generate import serial_number, write_account

from reconciler.commands.apply import ApplyOptions, run_apply
from reconciler.commands.operations import plan_account
from reconciler.commands.policy import check_policies
from reconciler.core.plan import Plan, PolicyOutcome
from reconciler.engine.planner import PlanOptions
from reconciler.engine.policies import check_account
from reconciler.loading import load_desired_state
from reconciler.policy.cel import compile_rules
from reconciler.store import open_store

T = TypeVar("T")

RESELLER = "orders@cadpartners.example"
TODAY = "2027-01-01"
OPTIONS = PlanOptions(today=TODAY)
PLANNING = ("--actor", RESELLER, "--today", TODAY)
TEAMS = 100
SERIALS = 50 * 20  # generate.py's contracts times their serials

PLAN_RULES = """\
version: 1
policies:
  - id: new-downloads-need-the-desk
    applies_to: grant
    when: grant.new && grant.download
    effect: deny
    message: new download rights go through the licence desk
  - id: at-most-three-serials
    applies_to: user
    when: user.serial_count > 3
    effect: warn
  - id: serial-nearly-full
    applies_to: serial
    when: serial.seats_used >= serial.seats - 1
    effect: warn
  - id: contract-ending-soon
    applies_to: grant
    when: 'contract.ends != "" && contract.days_left < 30 && grant.new'
    effect: warn
    message: new access on a contract that ends within 30 days
  - id: big-seat-changes
    applies_to: plan
    when: plan.seats_added > 50
    effect: require_approvals
    approvals: 2
"""

CHECK_RULES = """\
version: 1
policies:
  - id: downloads-on-ending-contracts
    applies_to: grant
    when: 'contract.ends != "" && contract.days_left < 30 && grant.download'
    effect: warn
  - id: at-most-three-serials
    applies_to: user
    when: user.serial_count > 3
    effect: warn
  - id: serial-over-ninety-percent
    applies_to: serial
    when: serial.seats_used * 10 > serial.seats * 9
    effect: warn
"""


def account_text(folder: Path, users: int) -> str:
    """generate.py's account, its contracts given an end (a fifth soon, a fifth late, the rest none)."""
    path = folder / "generated.yaml"
    with path.open("w") as out:
        write_account(out, users)
    ends = {0: '    ends: "2027-01-20"\n', 1: '    ends: "2028-06-30"\n'}
    return re.sub(
        r'^  - number: "1100(\d{8})"\n',
        lambda found: found.group(0) + ends.get(int(found.group(1)) % 5, ""),
        path.read_text(),
        flags=re.M,
    )


def held_serials(text: str) -> dict[str, list[str]]:
    """Each user's serials in the account `text`."""
    document = yaml.load(text, Loader=yaml.CSafeLoader)
    assert isinstance(document, dict)
    return {
        user["email"]: [access["serial"] for access in user.get("access", ())] for user in document["users"]
    }


def teams_text(held: dict[str, list[str]]) -> str:
    """TEAMS teams, each giving one serial (every fourth with download) to the users who hold it."""
    holders: dict[str, list[str]] = {}
    for email, numbers in held.items():
        for number in numbers:
            holders.setdefault(number, []).append(email)
    lines = ["version: 1", "teams:"]
    for team in range(TEAMS):
        number = serial_number(team * (SERIALS // TEAMS))
        members = sorted(holders.get(number, ()))
        lines += [f"  - name: Team {team:03d}", f"    description: Holders of {number}"]
        lines += (
            ["    members:", *(f"      - {email}" for email in members)] if members else ["    members: []"]
        )
        lines += ["    access:", f'      - serial: "{number}"']
        if team % 4 == 0:
            lines.append("        download: true")
    return "\n".join(lines) + "\n"


def changed_text(text: str, held: dict[str, list[str]]) -> tuple[str, int]:
    """`text` with every hundredth user given one more serial (a two-hundredth of them with download),
    and a seat more on each serial for each new user; and how many were given one."""
    added: Counter[str] = Counter()

    def grant(found: re.Match[str]) -> str:
        email, index = found.group(1), int(found.group(2))
        if index % 100:
            return found.group(0)
        nth = index // 100
        candidate = (nth * 7) % SERIALS
        while serial_number(candidate) in held[email]:
            candidate = (candidate + 1) % SERIALS
        number = serial_number(candidate)
        added[number] += 1
        download = "        download: true\n" if nth % 200 == 0 else ""
        return f'{found.group(0)}      - serial: "{number}"\n{download}'

    text = re.sub(r"^  - email: (user(\d{6})@corp\.example)\n.*\n.*\n    access:\n", grant, text, flags=re.M)
    text = re.sub(
        r'^      - number: "(399-\d{8})"\n(        product: .*\n)        seats: (\d+)\n',
        lambda found: (
            f'      - number: "{found.group(1)}"\n{found.group(2)}'
            f"        seats: {int(found.group(3)) + added[found.group(1)]}\n"
        ),
        text,
        flags=re.M,
    )
    return text, sum(added.values())


def write_folder(folder: Path, files: dict[str, str]) -> str:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return str(folder)


def fresh_store(folder: Path) -> str:
    for leftover in folder.glob("bench.db*"):
        leftover.unlink()
    url = f"sqlite:///{folder / 'bench.db'}"
    open_store(url).initialize([RESELLER])
    return url


def plan_of(folder: str, url: str) -> Plan:
    return plan_account(open_store(url), [folder], RESELLER, OPTIONS)


def collector_off(work: Callable[[], T]) -> T:
    """`work` run as the console script runs a command (cli/app.py's main): the cycle collector off."""
    gc.disable()
    try:
        return work()
    finally:
        gc.enable()


def run_cli(*arguments: str) -> None:
    """`reconciler ARGUMENTS --format json`, its output to nowhere; exit 0, 2 (changes) or 3 (denials)."""
    command = [str(Path(sys.executable).with_name("reconciler")), *arguments, "--format", "json"]
    done = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
    if done.returncode not in (0, 2, 3):
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}")


def compare(without: Plan, with_rules: Plan) -> str:
    """Whether the plan with rules holds the same actions as the one without, but those it denies (and
    those a denial holds back); a line saying so, or SystemExit when it does not."""
    if len(without.actions) != len(with_rules.actions):
        raise SystemExit(
            f"the plans differ: {len(without.actions)} actions without rules, {len(with_rules.actions)} with"
        )
    denied = held = 0
    for plain, judged in zip(without.actions, with_rules.actions, strict=True):
        same = (plain.kind, plain.target, plain.before, plain.after) == (
            judged.kind,
            judged.target,
            judged.before,
            judged.after,
        )
        if not same:
            raise SystemExit(f"the plans differ at {plain.kind} {dict(plain.target)}")
        if judged.denied is not None:
            denied += 1
        elif judged.held is not None and plain.held is None:
            held += 1
        elif judged != plain:
            raise SystemExit(
                f"{judged.kind} {dict(judged.target)} differs with the rules, not denied nor held"
            )
    return f"same actions but {denied} denied, {held} held back by a denial"


def verdicts_line(outcome: PolicyOutcome | None) -> str:
    if outcome is None:
        return "no rules"
    by_rule = Counter(verdict.rule for verdict in outcome.verdicts)
    rules = ", ".join(f"{rule} {count}" for rule, count in sorted(by_rule.items()))
    return (
        f"{len(outcome.verdicts)} verdicts over {outcome.records} records ({rules}); "
        f"{outcome.required_approvals} approvals required"
    )


def write_folders(folder: Path, users: int) -> tuple[str, str, str, str, int]:
    """The account's folders: as applied, changed, changed with the plan's rules, changed with the
    check's rules; and how many users the change gives a serial."""
    text = account_text(folder, users)
    held = held_serials(text)
    teams = teams_text(held)
    changed, added = changed_text(text, held)
    base = write_folder(folder / "base", {"account.yaml": text, "teams.yaml": teams})
    plain = write_folder(folder / "changed", {"account.yaml": changed, "teams.yaml": teams})
    ruled = write_folder(
        folder / "changed-rules", {"account.yaml": changed, "teams.yaml": teams, "policies.yaml": PLAN_RULES}
    )
    checked = write_folder(
        folder / "check", {"account.yaml": changed, "teams.yaml": teams, "policies.yaml": CHECK_RULES}
    )
    return base, plain, ruled, checked, added


def check_seconds(folder: str) -> tuple[float, PolicyOutcome]:
    """The median time of check_account over the account at `folder`, loaded once, and its outcome."""
    desired = load_desired_state([folder])
    rules = compile_rules(desired.policies)
    seconds = median_seconds(lambda: collector_off(lambda: check_account(rules, desired, RESELLER, TODAY)))
    return seconds, check_account(rules, desired, RESELLER, TODAY)


def measure(folder: Path, users: int, profile: bool) -> None:
    # Nothing large of the bench's own stays alive while a run is timed: the collector would walk it.
    base, plain, ruled, checked, added = write_folders(folder, users)
    url = fresh_store(folder)
    started = time.perf_counter()
    run_apply(open_store(url), [base], RESELLER, ApplyOptions(planning=OPTIONS))
    applied = time.perf_counter() - started

    without, with_rules = plan_of(plain, url), plan_of(ruled, url)
    print(
        f"{users:>8} users: applied in {applied:.1f}s; the 1 % change gives {added} users a serial: "
        f"{len(without.actions)} actions; {compare(without, with_rules)}",
        flush=True,
    )
    verdicts = verdicts_line(with_rules.policy)
    del without, with_rules
    for way, plan in (
        ("plan_account", lambda folder: collector_off(lambda: plan_of(folder, url))),
        ("`reconciler plan`", lambda folder: run_cli("plan", folder, *PLANNING, "--store", url)),
    ):
        plain_s = median_seconds(lambda plan=plan: plan(plain))
        ruled_s = median_seconds(lambda plan=plan: plan(ruled))
        print(
            f"{'':>8} {way:<17} without rules {plain_s:6.2f}s, with 5 rules {ruled_s:6.2f}s: "
            f"difference {ruled_s - plain_s:+.2f}s",
            flush=True,
        )
    print(f"{'':>8} {verdicts}", flush=True)

    cli_s = median_seconds(lambda: run_cli("policy", "check", checked, "--today", TODAY))
    command_s = median_seconds(lambda: collector_off(lambda: check_policies([checked], RESELLER, TODAY)))
    engine_s, outcome = check_seconds(checked)
    print(
        f"{'':>8} policy check, 3 rules: check_account {engine_s:.2f}s, check_policies (load, evaluate, "
        f"place) {command_s:.2f}s, `reconciler policy check` {cli_s:.2f}s",
        flush=True,
    )
    print(f"{'':>8} {verdicts_line(outcome)}", flush=True)
    if profile:
        profiler = cProfile.Profile()
        profiler.runcall(collector_off, lambda: plan_of(ruled, url))
        stats = pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative")
        stats.print_stats(r"engine/policies\.py|policy/cel\.py", 15)
        stats.print_stats(r"reconciler/", 15)
    for name in ("base", "changed", "changed-rules", "check"):
        shutil.rmtree(folder / name)


def main(argv: list[str]) -> None:
    profile = "--profile" in argv
    sizes = [int(arg) for arg in argv[1:] if arg != "--profile"] or [100_000]
    with tempfile.TemporaryDirectory() as name:
        for users in sizes:
            measure(Path(name), users, profile)


if __name__ == "__main__":
    main(sys.argv)
