"""ament_python package of the failforward ROS 2 nodes; the core library is installed separately (pip)."""

from glob import glob
from pathlib import Path

from setuptools import setup

PACKAGE = "failforward_ros"
HERE = Path(__file__).resolve().parent
REPO_LAUNCH = HERE.parents[2] / "launch"  # launch files and params live at the repository top level

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=[PACKAGE],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", [str(p) for p in sorted(REPO_LAUNCH.glob("*.launch.py"))]),
        (f"share/{PACKAGE}/params", [str(p) for p in sorted((REPO_LAUNCH / "params").glob("*.yaml"))]),
        (f"share/{PACKAGE}/rviz", glob("rviz/*.rviz")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="failforward maintainers",
    description="ROS 2 nodes of failforward",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "robot_bridge = failforward_ros.robot_bridge:main",
            "policy_node = failforward_ros.policy_node:main",
            "supervisor_node = failforward_ros.supervisor_node:main",
            "recorder_node = failforward_ros.recorder_node:main",
        ],
    },
)
