"""Validation of the graph: edges, branch handles and cycles."""

from __future__ import annotations

import copy
from typing import Any

from tests.workflows.definitions.builders import codes, edge, logger, only, workflow
from workflows.definitions import definition_validate

# --- graph shapes ---------------------------------------------------------------------------

def test_diamond_graph_is_not_a_cycle():
    # given a -> b, a -> c, b -> d, c -> d
    nodes = [logger(name) for name in "abcd"]
    edges = [edge("a", "b"), edge("a", "c"), edge("b", "d"), edge("c", "d")]
    # then it is valid
    assert definition_validate(workflow(nodes, edges)).ok


def test_n_shaped_graph_is_not_a_cycle():
    # given a -> b, c -> b, c -> d (an N: two roots sharing a child)
    nodes = [logger(name) for name in "abcd"]
    edges = [edge("a", "b"), edge("c", "b"), edge("c", "d")]
    assert definition_validate(workflow(nodes, edges)).ok


# --- edges ------------------------------------------------------------------------------------

def test_edge_to_and_from_missing_nodes():
    definition = workflow([logger("a")], [edge("a", "ghost"), edge("phantom", "a")])
    report = definition_validate(definition)
    target = only(report, "edge_target_missing")
    source = only(report, "edge_source_missing")
    assert (target.edge, target.field) == ("a->ghost", "edges[0].target")
    assert (source.edge, source.field) == ("phantom->a", "edges[1].source")


def test_edge_is_named_by_its_id_when_it_has_one():
    definition = workflow([logger("a")], [{"id": "e1", "source": "a", "target": "ghost"}])
    assert only(definition_validate(definition), "edge_target_missing").edge == "e1"


def test_duplicate_edge():
    definition = workflow([logger("a"), logger("b")], [edge("a", "b"), edge("a", "b")])
    problem = only(definition_validate(definition), "duplicate_edge")
    assert (problem.edge, problem.field, problem.details) == ("a->b", "edges[1]", {"first": 0})


def test_duplicate_edge_id():
    definition = workflow(
        [logger("a"), logger("b"), logger("c")],
        [{"id": "e", "source": "a", "target": "b"}, {"id": "e", "source": "a", "target": "c"}],
    )
    assert only(definition_validate(definition), "duplicate_edge").field == "edges[1].id"


def conditional(node_id: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "Conditional", "data": data}


def test_conditional_offers_true_and_false():
    nodes = [conditional("c", expression="input.x > 1"), logger("yes"), logger("no")]
    edges = [edge("c", "yes", "true"), edge("c", "no", "false")]
    assert definition_validate(workflow(nodes, edges)).ok


def test_unknown_handle_of_a_conditional():
    nodes = [conditional("c", expression="input.x > 1"), logger("maybe")]
    report = definition_validate(workflow(nodes, [edge("c", "maybe", "maybe")]))
    problem = only(report, "unknown_handle")
    assert (problem.edge, problem.field) == ("c->maybe:maybe", "edges[0].sourceHandle")
    assert problem.details == {"handle": "maybe", "handles": ["true", "false"]}


def test_conditional_cases_offer_their_names_and_default():
    # given cases big and small
    cases = [
        {"name": "big", "expression": "input.x > 100"},
        {"name": "small", "expression": "true"},
    ]
    nodes = [conditional("c", cases=cases), logger("a"), logger("b"), logger("d")]
    good = [edge("c", "a", "big"), edge("c", "b", "small"), edge("c", "d", "default")]
    # then big, small and default are handles, and true is not
    assert definition_validate(workflow(nodes, good)).ok
    bad = definition_validate(workflow(nodes, [edge("c", "a", "true")]))
    assert only(bad, "unknown_handle").details["handles"] == ["big", "small", "default"]


def test_handle_on_a_node_that_does_not_branch():
    definition = workflow([logger("a"), logger("b")], [edge("a", "b", "true")])
    problem = only(definition_validate(definition), "unknown_handle")
    assert problem.details == {"handle": "true", "handles": []}


def test_validator_handles_only_in_branch_mode():
    schema = {"type": "integer"}
    branching = {
        "id": "v", "type": "Validator", "data": {"value": 1, "schema": schema, "mode": "branch"}
    }
    failing = copy.deepcopy(branching)
    failing["data"]["mode"] = "fail"
    edges = [edge("v", "ok", "valid"), edge("v", "bad", "invalid")]
    assert definition_validate(workflow([branching, logger("ok"), logger("bad")], edges)).ok
    report = definition_validate(workflow([failing, logger("ok"), logger("bad")], edges))
    assert codes(report) == ["unknown_handle", "unknown_handle"]


def test_user_action_handles_are_its_outcomes():
    action = {
        "id": "ask", "type": "UserAction",
        "data": {"assignee": "ann", "prompt": "Ship?", "outcomes": ["ship", "hold"]},
    }
    nodes = [action, logger("a"), logger("b")]
    edges = [edge("ask", "a", "ship"), edge("ask", "b", "hold")]
    assert definition_validate(workflow(nodes, edges)).ok
    report = definition_validate(workflow(nodes, [edge("ask", "a", "approved")]))
    assert only(report, "unknown_handle").details["handles"] == ["ship", "hold"]


def test_handle_of_a_node_with_invalid_data_is_not_guessed():
    # given a Conditional with no expression (its own problem) and an edge on a handle
    definition = workflow([conditional("c"), logger("a")], [edge("c", "a", "true")])
    # then only the data problem is reported
    assert codes(definition_validate(definition)) == ["invalid_node_data"]


# --- cycles -----------------------------------------------------------------------------------

def test_cycle_is_reported_with_its_path():
    nodes = [logger(name) for name in "abc"]
    edges = [edge("a", "b"), edge("b", "c"), edge("c", "a")]
    problem = only(definition_validate(workflow(nodes, edges)), "cycle")
    assert problem.node == "a"
    assert problem.details == {"cycle": ["a", "b", "c", "a"]}


def test_self_loop_is_a_cycle():
    problem = only(definition_validate(workflow([logger("a")], [edge("a", "a")])), "cycle")
    assert (problem.node, problem.details) == ("a", {"cycle": ["a", "a"]})


def test_every_cycle_is_reported():
    # given two separate cycles a<->b and c<->d, and a self-loop on e
    nodes = [logger(name) for name in "abcde"]
    edges = [edge("a", "b"), edge("b", "a"), edge("c", "d"), edge("d", "c"), edge("e", "e")]
    report = definition_validate(workflow(nodes, edges))
    assert [p.details["cycle"] for p in report.errors] == [
        ["a", "b", "a"], ["c", "d", "c"], ["e", "e"],
    ]


def test_long_chain_does_not_hit_the_recursion_limit():
    nodes = [logger(f"n{index}") for index in range(1500)]
    edges = [edge(f"n{index}", f"n{index + 1}") for index in range(1499)]
    edges.append(edge("n1499", "n0"))
    problem = only(definition_validate(workflow(nodes, edges)), "cycle")
    assert len(problem.details["cycle"]) == 1501


def test_edge_with_ends_of_the_wrong_type_is_a_shape_problem_only():
    definition = workflow([logger("a"), logger("b")], [{"source": ["a"], "target": "b"}])
    report = definition_validate(definition)
    assert [(p.code, p.field) for p in report.errors] == [
        ("invalid_document", "edges[0].source")
    ]
