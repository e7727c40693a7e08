"""Nested groups, flattened: what each group reaches through its nested groups, and the cycles.

Pure: a graph of groups (each group's direct members) in, sets and cycles
out. A member that is no group of the graph is a leaf (a person, or a DN
the read left out). Active Directory lets groups nest in a cycle; a cycle
is found and named, each group in it read once, and never followed round.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from typing import TypeVar

Node = TypeVar("Node", bound=Hashable)


def leaves(groups: Mapping[Node, Collection[Node]], start: Node) -> set[Node]:
    """The members that are no group, reached from group `start` through any depth of nesting."""
    found: set[Node] = set()
    seen = {start}
    stack = [start]
    while stack:
        for member in groups[stack.pop()]:
            if member not in groups:
                found.add(member)
            elif member not in seen:
                seen.add(member)
                stack.append(member)
    return found


def cycles(groups: Mapping[Node, Collection[Node]]) -> list[set[Node]]:
    """Each set of groups that reach one another through their members (a group that is its own
    member too): the strongly connected components of more than one group, by Tarjan's algorithm,
    without recursion so that no depth of nesting exhausts the stack."""
    index: dict[Node, int] = {}
    low: dict[Node, int] = {}
    on_stack: set[Node] = set()
    stack: list[Node] = []
    found: list[set[Node]] = []
    for root in groups:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(groups[root]))]
        while work:
            node, members = work[-1]
            for member in members:
                if member not in groups:
                    continue
                if member not in index:
                    index[member] = low[member] = len(index)
                    stack.append(member)
                    on_stack.add(member)
                    work.append((member, iter(groups[member])))
                    break
                if member in on_stack:
                    low[node] = min(low[node], index[member])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in groups[node]:
                        found.append(component)
    return found
