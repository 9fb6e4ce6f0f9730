"""Test-wide settings (headless rendering, one CPU thread, small images) and the ``sim`` marker.

``sim`` marks the tests that drive MuJoCo (the simulated ALOHA, gym-aloha scenes, mink IK), directly or
through a ``sim_*`` preset; ``-m "not sim and not ros"`` runs on a machine without the sim extra. There,
the sim test modules are not collected (they import MuJoCo) and the remaining sim tests skip.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("OMP_NUM_THREADS", "1")

TESTS = Path(__file__).parent
SIM_PACKAGES = ("mujoco", "gym_aloha", "mink")
# Paths under tests/ (a folder, a module, or ``module::test``) whose tests need SIM_PACKAGES. Tests built
# on failforward.testing.FakeRobot need none: prefer it for loop, safety and broker behaviour.
SIM_TESTS = (
    "recovery/",
    "learn/test_replay_correction.py",
    "perception/test_rgbd_sim.py",
    "learn/test_symbol_data.py",
    "learn/test_shipped_model.py",
    "learn/test_pipeline.py::test_collect_and_train_record_state_and_resume",
    "learn/test_pipeline.py::test_full_round_evaluates_tables_and_ships",
    "learn/test_pipeline.py::test_vision_model_renders_exactly_its_cameras",
    "learn/test_pipeline.py::test_object_state_sizes_the_model_from_the_robot",
    "supervisor/test_sup_backend_contract.py",
    "supervisor/test_sup_end_to_end.py",
    "supervisor/test_sup_export.py",
    "supervisor/test_sup_oracle_accuracy.py",
    "supervisor/test_sup_sim_oracle.py",
    "hardware/test_aloha_driver.py::test_joint_order_and_units_match_the_simulated_aloha",
    "ros/test_graph_faults.py",
    "ros/test_node_graph.py",
    "ros/test_recovery_graph.py",
    "ros/test_recovery_messages.py",
    "ros/test_symbol_markers.py::test_an_answer_with_symbols_is_published_as_markers",
    "test_expert.py",
    "planner/test_plug_strip_planning.py",
    "test_remote_episode.py",
    "test_sim_aloha_driver.py",
    "test_sim_edge.py",
    "test_sim_plug_strip.py",
    "test_urdf_kinematics.py",
    "test_runtime.py::test_expert_episode_with_the_oracle_supervisor_is_recorded",
    "test_runtime.py::test_a_stalled_robot_is_flagged_by_the_oracle",
    "test_runtime.py::test_the_sim_preset_gives_supervision_and_recovery_time_to_act",
    "test_runtime.py::test_demo_command_prints_and_writes_the_report",
    "test_runtime.py::test_supervisor_diagnosis_drives_a_pmc_correction_then_hold",
    "test_runtime.py::test_export_vqa_command_writes_pairs_from_recorded_episodes",
    "test_runtime.py::test_demo_falls_back_to_the_expert_on_the_afil_preset",
)


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


SIM_MISSING = tuple(name for name in SIM_PACKAGES if not _installed(name))


def _needs_sim(relative: str) -> bool:
    """``relative``: a folder, a module, or ``module::test`` (no parameters), under tests/ in POSIX form."""
    for entry in SIM_TESTS:
        if entry.endswith("/") and (relative + "/").startswith(entry):
            return True
        if relative == entry or relative.startswith(entry + "::"):
            return True
    return False


def pytest_report_header(config: pytest.Config) -> str | None:
    if SIM_MISSING:
        return f"sim: {', '.join(SIM_MISSING)} not installed: sim test modules are not collected, sim tests skip"
    return None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Without the sim extra, skip collecting whole sim modules and folders (importing them would fail)."""
    if not SIM_MISSING or TESTS not in collection_path.parents:
        return None
    relative = collection_path.relative_to(TESTS).as_posix()
    return True if _needs_sim(relative) else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if TESTS not in item.path.parents:
            continue
        name = getattr(item, "originalname", item.name)
        if _needs_sim(f"{item.path.relative_to(TESTS).as_posix()}::{name}"):
            item.add_marker(pytest.mark.sim)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if SIM_MISSING and item.get_closest_marker("sim") is not None:
        pytest.skip(f"needs {', '.join(SIM_MISSING)}: install the sim extra")


@pytest.fixture(scope="module")
def load_bench():
    """``load_bench("recovery_benchmark")``: a ``bench/`` script imported as a module (registered in
    ``sys.modules`` while the test module runs, as its dataclasses need)."""
    import sys

    loaded: list[str] = []

    def load(name: str):
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).resolve().parents[1] / "bench" / f"{name}.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loaded.append(name)
        spec.loader.exec_module(module)
        return module

    yield load
    for name in loaded:
        sys.modules.pop(name, None)
