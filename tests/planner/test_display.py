"""The searched tree laid out for RViz/Foxglove, and its ROS messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from planner_helpers import GRAPH, START, PreferRisky, risky_value

from failforward.config.planner import VinePlannerConfig
from failforward.planner.display import tree_display, value_rgb
from failforward.planner.search import VineSearch

CONFIG = VinePlannerConfig(decision_model=Path("-"), value_model=Path("-"), top_k=6, top_b=3)


def test_layout_places_every_node_and_marks_the_path() -> None:
    plan = VineSearch(GRAPH, PreferRisky(), risky_value, CONFIG).plan(START)
    display = tree_display(plan)
    assert len(display.nodes) == len(plan.tree) and len(display.edges) == len(plan.tree) - 1
    assert [n.id for n in display.nodes if n.on_path] == list(plan.path)
    positions = {n.position for n in display.nodes}
    assert len(positions) == len(display.nodes)  # no two nodes drawn on top of each other
    by_id = {n.id: n for n in display.nodes}
    for parent, child in display.edges:
        assert by_id[child].position[0] > by_id[parent].position[0]  # depth runs along +x
    assert value_rgb(0.0)[0] == 1.0 and value_rgb(1.0)[1] == 1.0


def test_plan_tree_markers_and_json() -> None:
    pytest.importorskip("rclpy")
    from failforward_ros import convert
    from visualization_msgs.msg import Marker

    from failforward.control.plan_step import PlanCycle

    plan = VineSearch(GRAPH, PreferRisky(), risky_value, CONFIG).plan(START)
    markers = convert.plan_tree_msg(1.5, plan).markers
    assert markers[0].action == Marker.DELETEALL
    spheres = [m for m in markers if m.type == Marker.SPHERE]
    texts = [m for m in markers if m.type == Marker.TEXT_VIEW_FACING]
    assert len(spheres) == len(plan.tree) and len(texts) == len(plan.path)
    assert texts[-1].text.startswith("done")
    lines = [m for m in markers if m.type == Marker.LINE_LIST]
    assert sum(len(m.points) for m in lines) == 2 * (len(plan.tree) - 1)
    payload = json.loads(convert.plan_msg(PlanCycle(3, 0.06, "start", START, plan)).data)
    assert payload["reason"] == "start" and payload["subgoals"][-1] == "done" and len(payload["tree"]) == len(plan.tree)
