"""Mid-episode starts for the expert: preludes that leave the scene in an arbitrary state.

Each prelude runs on a freshly reset robot, then hands over
(see ``failforward.learn.expert_episode.run_expert_episode``):

- :func:`random_motion`: a random smooth joint-space policy (may knock objects around);
- :func:`interrupted_expert`: another expert runs a random number of ticks, then the objects are
  teleported to fresh random table poses (the plan in progress is now wrong);
- :func:`dropped_object`: another expert runs until the right arm lifts its object, then the right
  gripper opens and the object falls.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from failforward.policy.expert.evaluate import Prelude, SimRobot
from failforward.policy.expert.expert import ScriptedExpert
from failforward.sim.aloha_scene import GRIPPER_INDICES
from failforward.sim.tasks import SimTaskSpec
from failforward.types import JointCommand, Observation

ARM_SPEED = 1.5  # [rad/s] random motion speed, well inside the safety limit
GRIPPER_SPEED = 2.0  # [1/s]


def _step_towards(robot: SimRobot, obs: Observation, target: np.ndarray, dt: float = 0.02) -> Observation:
    limit = np.full(target.shape, ARM_SPEED * dt)
    limit[list(GRIPPER_INDICES)] = GRIPPER_SPEED * dt
    command = obs.joint_positions + np.clip(target - obs.joint_positions, -limit, limit)
    robot.send_action(JointCommand(obs.timestamp, command))
    return robot.get_observation()


def random_motion(min_ticks: int = 20, max_ticks: int = 120, amplitude: float = 0.35) -> Prelude:
    """Random joint targets within ``amplitude`` [rad] of the start, re-drawn every 25 ticks."""

    def prelude(robot: SimRobot, obs: Observation, rng: np.random.Generator) -> Observation:
        start = obs.joint_positions.copy()
        target = start
        for tick in range(int(rng.integers(min_ticks, max_ticks + 1))):
            if tick % 25 == 0:
                target = start + rng.uniform(-amplitude, amplitude, start.shape)
                target[list(GRIPPER_INDICES)] = rng.uniform(0.0, 1.0, len(GRIPPER_INDICES))
            obs = _step_towards(robot, obs, target)
        return obs

    return prelude


def _run_expert(
    robot: SimRobot, obs: Observation, expert: ScriptedExpert, ticks: int, stop: Callable[[], bool] = lambda: False
) -> Observation:
    done = 0
    while done < ticks and not stop():
        for action in expert.infer(obs).actions[:25]:
            robot.send_action(JointCommand(obs.timestamp, action))
            obs = robot.get_observation()
            done += 1
            if done >= ticks or stop():
                break
    return obs


def interrupted_expert(task: SimTaskSpec, min_ticks: int = 40, max_ticks: int = 200) -> Prelude:
    """An expert runs ``[min_ticks, max_ticks]`` ticks, then every free object is teleported to a fresh
    random table pose (another seed's initial pose, yawed by a random angle)."""

    def prelude(robot: SimRobot, obs: Observation, rng: np.random.Generator) -> Observation:
        expert = ScriptedExpert(task, robot.privileged_state)
        obs = _run_expert(robot, obs, expert, int(rng.integers(min_ticks, max_ticks + 1)))
        scene = robot.scene
        qpos = scene.data.qpos.copy()
        objects = task.sample_object_qpos(int(rng.integers(1000, 2000))).reshape(-1, 7)
        for i, pose in enumerate(objects):
            yaw = rng.uniform(-0.5, 0.5)
            pose[3:] = [np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]
            qpos[16 + 7 * i : 23 + 7 * i] = pose
        scene.set_qpos(qpos)
        return robot.get_observation()

    return prelude


def dropped_object(task: SimTaskSpec, max_ticks: int = 250) -> Prelude:
    """An expert runs until stage 2 (object lifted), then the right gripper opens for 20 ticks."""

    def prelude(robot: SimRobot, obs: Observation, rng: np.random.Generator) -> Observation:
        expert = ScriptedExpert(task, robot.privileged_state)
        lifted = int(rng.integers(0, 15))  # carry a little further before the drop
        obs = _run_expert(robot, obs, expert, max_ticks, stop=lambda: robot.privileged_state().stage >= 2)
        obs = _run_expert(robot, obs, expert, lifted)
        target = obs.joint_positions.copy()
        target[GRIPPER_INDICES[1]] = 1.0
        for _ in range(20):
            obs = _step_towards(robot, obs, target)
        return obs

    return prelude
