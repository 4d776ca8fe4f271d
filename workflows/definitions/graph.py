"""Cycle detection on a definition's graph."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable


def strongly_connected_components(
    nodes: Iterable[str], successors: dict[str, list[str]]
) -> list[list[str]]:
    """Tarjan's algorithm, iterative (a 500-node chain must not hit the recursion limit).

    Components come out in reverse topological order, each listing its members in the
    order they were reached from the first node given.
    """
    index_of: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for root in nodes:
        if root in index_of:
            continue
        work = [(root, iter(successors.get(root, ())))]
        index_of[root] = lowlink[root] = len(index_of)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index_of:
                    index_of[child] = lowlink[child] = len(index_of)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors.get(child, ()))))
                elif child in on_stack:
                    lowlink[node] = min(lowlink[node], index_of[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component[::-1])
    return components


def cycle_through(start: str, members: set[str], successors: dict[str, list[str]]) -> list[str]:
    """A shortest cycle from `start` back to it inside one strongly connected component.

    Returned as the path with `start` at both ends, e.g. ["a", "b", "a"].
    """
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in successors.get(node, ()):
            if child == start and node != start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if child in members and child not in previous:
                previous[child] = node
                queue.append(child)
    return [start]


def cycles(nodes: list[str], successors: dict[str, list[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one node, and per self-loop.

    Each cycle starts at the component's member that comes first in `nodes`.
    """
    order = {node: position for position, node in enumerate(nodes)}
    found = []
    for component in strongly_connected_components(nodes, successors):
        if len(component) > 1:
            start = min(component, key=order.__getitem__)
            found.append(cycle_through(start, set(component), successors))
    found.sort(key=lambda cycle: order[cycle[0]])
    self_loops = [[node, node] for node in nodes if node in successors.get(node, ())]
    return found + self_loops
