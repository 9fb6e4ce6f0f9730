"""Config of the ManiSkill 3 driver (the AFIL paper's Panda tasks), ``kind="maniskill"``.

This module only describes the run; it never imports ``mani_skill`` (config is imported everywhere,
ManiSkill lives in its own venv: ``scripts/setup_maniskill.sh``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from failforward.config.robots import RobotConfig

ManiSkillTask = Literal["StackCube-v1", "LiftPegUpright-v1", "PullCube-v1"]

MANISKILL_CONTROL_HZ = 20.0
"""ManiSkill's control frequency [Hz] for these tasks (the simulation runs at 100 Hz underneath)."""


class ManiSkillConfig(RobotConfig):
    """A ManiSkill 3 tabletop task with the Franka Panda, simulated on the CPU (``physx_cpu``).

    Attributes:
        task: the ManiSkill environment id.
        control_mode: ``pd_joint_pos``: absolute joint targets, so the control loop's ``[8]`` commands
            (7 arm joints [rad] + gripper normalized 0 closed .. 1 open) map onto the env's action directly.
            It is also the mode ManiSkill's motion-planning solutions need.
        max_episode_steps: the env's own time limit [ticks at 20 Hz]; set it at least as long as
            ``loop.max_steps`` (ManiSkill's defaults of 50 are shorter than its own demos).
        sim_backend: ``physx_cpu`` (the only one that runs without CUDA).
        torch_threads: threads torch may use in this process (ManiSkill keeps its CPU state in small torch
            tensors, where more threads only add overhead on shared cores); 0 leaves torch's setting alone.
        object_state: add the task objects' ground-truth poses to every observation (``[7 · objects]``,
            world frame, xyz [m] + quaternion wxyz; order in ``failforward.robots.maniskill``), so a
            state-only policy can see where the cube or peg lies.
    """

    kind: Literal["maniskill"] = "maniskill"
    task: ManiSkillTask = "StackCube-v1"
    control_mode: Literal["pd_joint_pos"] = "pd_joint_pos"
    max_episode_steps: int = Field(1000, ge=1, le=100_000)
    sim_backend: Literal["physx_cpu"] = "physx_cpu"
    torch_threads: int = Field(1, ge=0, le=256)
    object_state: bool = False

    @property
    def control_hz(self) -> float:
        """[Hz] ManiSkill's control frequency for these tasks (the driver reads it from the env: ``control_freq``)."""
        return MANISKILL_CONTROL_HZ
