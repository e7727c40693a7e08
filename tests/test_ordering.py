"""The plan's order: each dependency rule holds by the graph's edges alone.

Each test checks one rule in the plan as made, and again with the
tie-break reversed (removals first, adds last) and shuffled twenty ways,
which only the dependency edges can then keep right. The store's foreign keys and its seat trigger
back this up: a plan in the wrong order fails to apply.
"""

from __future__ import annotations

import random

import pytest
from conftest import ACCOUNT, RESELLER, apply_yaml, plan_yaml
from hypothesis import given
from hypothesis import strategies as st
from test_plan_integrity import store_with
from test_properties import SETTINGS, state_pairs

from reconciler.core.kinds import TARGET_KEYS, Kind
from reconciler.core.model import DesiredState
from reconciler.core.plan import Action, Plan
from reconciler.core.planfile import dump_plan
from reconciler.engine.ordering import dependencies, ordered, plan_order
from reconciler.engine.planner import make_plan

Step = tuple[str, str]


def reversed_tie_break(action: Action) -> object:
    return -action.kind.rank, tuple(action.target.get(key, "") for key in TARGET_KEYS)


def steps(actions: tuple[Action, ...] | list[Action]) -> list[Step]:
    return [(a.kind, "/".join(a.target[k] for k in sorted(a.target))) for a in actions]


def orders(plan: Plan) -> list[list[Step]]:
    """The plan's own order, then orders the edges alone must keep right: reversed and shuffled tie-breaks."""
    result = [steps(plan.actions), steps(plan_order(list(plan.actions), reversed_tie_break))]
    for seed in range(20):
        shuffle = random.Random(seed)
        priority = {id(a): shuffle.random() for a in plan.actions}
        result.append(steps(plan_order(list(plan.actions), lambda a, p=priority: p[id(a)])))
    return result


def assert_before(order: list[Step], first: Step, then: Step) -> None:
    assert first in order, first
    assert then in order, then
    assert order.index(first) < order.index(then), f"{first} must come before {then}"


def test_the_reversed_tie_break_really_reverses() -> None:
    # Without edges, the reversed tie-break would put grants before the users they need.
    actions = [
        Action(Kind.USER_ADD, {"user": "a@x.example"}, None, {}),
        Action(Kind.USER_REMOVE, {"user": "b@x.example"}, {}, None),
    ]
    assert [a.kind for a in plan_order(actions, reversed_tie_break)] == ["user.remove", "user.add"]


def test_a_new_account_builds_from_users_up(store_url: str) -> None:
    for order in orders(plan_yaml(store_url, ACCOUNT)):
        assert_before(order, ("user.add", "alice@acme.example"), ("contract.create", "110001234567"))
        assert_before(
            order, ("contract.create", "110001234567"), ("coordinator.add", "110001234567/bob@acme.example")
        )
        assert_before(
            order, ("user.add", "bob@acme.example"), ("coordinator.add", "110001234567/bob@acme.example")
        )
        assert_before(
            order, ("contract.create", "110001234567"), ("serial.create", "110001234567/399-12345678")
        )
        assert_before(
            order,
            ("serial.create", "110001234567/399-12345678"),
            ("access.grant", "110001234567/399-12345678/bob@acme.example"),
        )
        assert_before(
            order,
            ("user.add", "carol@acme.example"),
            ("access.grant", "110001234567/399-12345679/carol@acme.example"),
        )


def test_a_coordinator_is_named_before_a_serial_is_given_to_them(store_url: str) -> None:
    for order in orders(plan_yaml(store_url, ACCOUNT)):
        assert_before(
            order,
            ("coordinator.add", "110001234567/bob@acme.example"),
            ("serial.assign_coordinator", "110001234567/399-12345678"),
        )
        assert_before(
            order,
            ("serial.create", "110001234567/399-12345678"),
            ("serial.assign_coordinator", "110001234567/399-12345678"),
        )


def test_a_new_manager_exists_before_the_manager_changes(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    changed = ACCOUNT.replace("manager: alice@acme.example", "manager: dave@acme.example") + (
        "  - email: dave@acme.example\n    first_name: Dave\n    last_name: New\n"
    )
    for order in orders(plan_yaml(store_url, changed)):
        assert_before(order, ("user.add", "dave@acme.example"), ("contract.manager_change", "110001234567"))


def test_the_old_manager_is_removed_only_after_the_manager_changes(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    changed = ACCOUNT.replace("manager: alice@acme.example", "manager: carol@acme.example").replace(
        "  - email: alice@acme.example\n    first_name: Alice\n    last_name: Moreau\n", ""
    )
    for order in orders(plan_yaml(store_url, changed)):
        assert_before(
            order, ("contract.manager_change", "110001234567"), ("user.remove", "alice@acme.example")
        )


def test_revocations_come_before_grants_on_the_same_serial(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    # Revit has one seat, held by Carol; it passes to Alice.
    swapped = ACCOUNT.replace(
        '    last_name: Smith\n    access:\n      - serial: "399-12345679"\n', "    last_name: Smith\n"
    ).replace(
        "    last_name: Moreau\n", '    last_name: Moreau\n    access:\n      - serial: "399-12345679"\n'
    )
    plan = plan_yaml(store_url, swapped)
    for order in orders(plan):
        assert_before(
            order,
            ("access.revoke", "110001234567/399-12345679/carol@acme.example"),
            ("access.grant", "110001234567/399-12345679/alice@acme.example"),
        )


def test_a_cut_in_seats_waits_for_the_revocations_and_grants_wait_for_a_rise(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    cut = ACCOUNT.replace("        seats: 2\n", "        seats: 1\n").replace(
        '    access:\n      - serial: "399-12345678"\n        download: true\n', ""
    )
    for order in orders(plan_yaml(store_url, cut)):
        assert_before(
            order,
            ("access.revoke", "110001234567/399-12345678/bob@acme.example"),
            ("serial.seats_change", "110001234567/399-12345678"),
        )
    rise = ACCOUNT.replace("        seats: 1\n", "        seats: 2\n").replace(
        "    last_name: Moreau\n", '    last_name: Moreau\n    access:\n      - serial: "399-12345679"\n'
    )
    for order in orders(plan_yaml(store_url, rise)):
        assert_before(
            order,
            ("serial.seats_change", "110001234567/399-12345679"),
            ("access.grant", "110001234567/399-12345679/alice@acme.example"),
        )


def test_a_users_access_is_revoked_before_the_user_is_removed(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    without_carol = ACCOUNT.split("  - email: carol@acme.example")[0]
    for order in orders(plan_yaml(store_url, without_carol)):
        assert_before(
            order,
            ("access.revoke", "110001234567/399-12345679/carol@acme.example"),
            ("user.remove", "carol@acme.example"),
        )


def test_serials_are_handed_back_before_their_coordinator_is_removed(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    # "Remove from all" (R5): Bob stops coordinating; his serial falls back to the CM.
    removed = ACCOUNT.replace(
        "    coordinators:\n      - email: bob@acme.example\n        manage_users: true\n"
        '        shipping: {name: Acme HQ, address: "1 Main St", country: US}\n',
        "",
    ).replace("        coordinator: bob@acme.example\n", "")
    plan = plan_yaml(store_url, removed)
    assert [a.kind for a in plan.actions] == ["serial.unassign_coordinator", "coordinator.remove"]
    for order in orders(plan):
        assert_before(
            order,
            ("serial.unassign_coordinator", "110001234567/399-12345678"),
            ("coordinator.remove", "110001234567/bob@acme.example"),
        )


def test_a_serials_new_coordinator_is_named_before_the_old_one_is_removed(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    handed_over = ACCOUNT.replace(
        "      - email: bob@acme.example\n", "      - email: carol@acme.example\n"
    ).replace("        coordinator: bob@acme.example\n", "        coordinator: carol@acme.example\n")
    for order in orders(plan_yaml(store_url, handed_over)):
        assert_before(
            order,
            ("coordinator.add", "110001234567/carol@acme.example"),
            ("serial.assign_coordinator", "110001234567/399-12345678"),
        )
        assert_before(
            order,
            ("serial.assign_coordinator", "110001234567/399-12345678"),
            ("coordinator.remove", "110001234567/bob@acme.example"),
        )


def test_a_contract_is_removed_after_everything_on_it(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    only_users = "version: 1\nusers:\n" + ACCOUNT.split("users:\n", 1)[1].replace(
        '    access:\n      - serial: "399-12345678"\n        download: true\n', ""
    ).replace('    access:\n      - serial: "399-12345679"\n', "")
    for order in orders(plan_yaml(store_url, only_users)):
        assert_before(
            order,
            ("access.revoke", "110001234567/399-12345678/bob@acme.example"),
            ("serial.remove", "110001234567/399-12345678"),
        )
        assert_before(
            order,
            ("serial.remove", "110001234567/399-12345678"),
            ("coordinator.remove", "110001234567/bob@acme.example"),
        )
        assert_before(
            order, ("serial.remove", "110001234567/399-12345679"), ("contract.remove", "110001234567")
        )
        assert_before(
            order,
            ("coordinator.remove", "110001234567/bob@acme.example"),
            ("contract.remove", "110001234567"),
        )


def test_the_manager_is_removed_after_the_contract(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    nothing = "version: 1\n"
    for order in orders(plan_yaml(store_url, nothing)):
        assert_before(order, ("contract.remove", "110001234567"), ("user.remove", "alice@acme.example"))
        assert_before(
            order,
            ("coordinator.remove", "110001234567/bob@acme.example"),
            ("user.remove", "bob@acme.example"),
        )


@pytest.mark.parametrize("text", [ACCOUNT, "version: 1\n"], ids=["build", "tear-down"])
def test_the_edges_alone_make_an_order_the_store_accepts(store_url: str, text: str) -> None:
    from dataclasses import replace

    from reconciler.commands.apply import ApplyOptions, run_apply
    from reconciler.store import open_store

    if text != ACCOUNT:
        apply_yaml(store_url, ACCOUNT)
    plan = plan_yaml(store_url, text)
    worst = replace(plan, actions=tuple(plan_order(list(plan.actions), reversed_tie_break)))
    run_apply(open_store(store_url), worst, RESELLER, ApplyOptions(allow_mass_removal=True))
    assert plan_yaml(store_url, text).actions == ()


def test_the_same_input_gives_the_same_plan_byte_for_byte(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    edited = ACCOUNT.replace("seats: 2", "seats: 3").split("  - email: carol@acme.example")[0]
    assert dump_plan(plan_yaml(store_url, edited)) == dump_plan(plan_yaml(store_url, edited))


@SETTINGS
@given(pair=state_pairs(), seed=st.integers(0, 2**32 - 1))
def test_the_plans_order_is_the_walk_of_its_graph_though_the_graph_is_not_built(
    pair: tuple[DesiredState, DesiredState], seed: int
) -> None:
    # plan_order sorts by the tie-break alone while no rule runs against the kinds' ranks: it must give
    # the very order the walk of every edge gives, for the actions in any order.
    first, second = pair
    actions = list(make_plan(second, store_with(first).snapshot(), RESELLER).actions)
    random.Random(seed).shuffle(actions)
    assert plan_order(actions) == ordered(actions, list(dependencies(actions)))
