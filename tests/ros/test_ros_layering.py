"""Only ``convert.py`` imports both ROS 2 (rclpy or message packages) and the failforward core."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "ros2_ws" / "src" / "failforward_ros" / "failforward_ros"
ROS_ROOTS = ("rclpy", "builtin_interfaces", "lifecycle_msgs")


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_convert_is_the_only_bridge_between_ros_and_the_core() -> None:
    offenders = []
    for path in sorted(PACKAGE.glob("*.py")):
        roots = imported_roots(path)
        ros = any(r in ROS_ROOTS or r.endswith("_msgs") or r.endswith("_srvs") for r in roots)
        if ros and "failforward" in roots and path.name != "convert.py":
            offenders.append(path.name)
    assert offenders == [], f"these modules import both ROS and the core: {offenders}"
    assert "failforward" in imported_roots(PACKAGE / "convert.py")
