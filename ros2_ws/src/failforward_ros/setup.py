"""ament_python package of the failforward ROS 2 nodes; the core library is installed separately (pip).

``data_files`` is the package share (``share/failforward_ros/{launch,params,rviz,urdf,foxglove,models}``) for
colcon builds. An editable pip install skips ``data_files``, so ``./run`` links the same directories into
the venv (as ``colcon build --symlink-install`` would): ``get_package_share_directory`` works there too.
"""

from glob import glob
from pathlib import Path

from setuptools import setup

PACKAGE = "failforward_ros"
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
REPO_LAUNCH = REPO / "launch"  # launch files and params live at the repository top level
CORE = REPO / "src" / "failforward"  # robot descriptions and the Foxglove layout ship with the core library


def _files(pattern: str, root: Path = REPO) -> list[str]:
    return [str(p) for p in sorted(root.glob(pattern)) if p.is_file()]


def _model_files() -> list[tuple[str, list[str]]]:
    """The shipped models, each under ``share/failforward_ros/models/<name>`` (node_params resolves them)."""
    return [
        (f"share/{PACKAGE}/models/{d.name}", _files("*", d)) for d in sorted((REPO / "models").iterdir()) if d.is_dir()
    ]


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=[PACKAGE],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", _files("*.launch.py", REPO_LAUNCH)),
        (f"share/{PACKAGE}/params", _files("params/*.yaml", REPO_LAUNCH)),
        (f"share/{PACKAGE}/rviz", glob("rviz/*.rviz")),
        (f"share/{PACKAGE}/urdf", _files("robots/urdf/*.urdf", CORE)),
        (f"share/{PACKAGE}/foxglove", _files("viz/layouts/*.json", CORE)),
        *_model_files(),
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
