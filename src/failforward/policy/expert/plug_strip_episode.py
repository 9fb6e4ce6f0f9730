"""One scripted plug-strip episode for a given order, with why each failed insertion failed.

The expert runs open-loop chunks on the simulated ALOHA (no cameras); every tick a :class:`InsertWatch` reads the
privileged state during each ``insert`` subgoal. A failed insertion is explained by what the physics did, checked
in this order:

- ``collision``: the inserting plug or the gripper holding it touched the other plug (already in its socket);
- ``tilted``: the plug was tilted more than ``MAX_TILT`` near the strip (it turned in the grasp);
- ``jammed``: the prong tip came over the well (within its half width + ``MOUTH_SLACK``) but never went in
  (it hit the rim or a wall: a tight socket, a tilted plug);
- ``missed``: the tip never came over the well (the arm at its reach limit, or the plug slipped in the grasp);
- ``dropped``: the plug left the gripper before the descent;
- ``grasp``: the plug was never held.

Example:
    >>> result = run_episode(seed=0, order=[("plug_a", "socket_0")])
    >>> result.success, result.reason
    (True, '')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from failforward.config import SimAlohaConfig
from failforward.policy.expert.expert import ScriptedExpert
from failforward.policy.expert.plug_strip import PlugStripPlanner
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.sim.aloha_scene import SimState
from failforward.sim.plug_strip_layout import HOLE_HALF, PlugStripLayout, check_split
from failforward.sim.plug_strip_scene import apply_layout
from failforward.sim.plug_strip_status import MAX_TILT, plug_geoms, rotation, tip_in_socket
from failforward.sim.plug_strip_subgoals import PlugStripSubgoal
from failforward.types import JointCommand, Observation

MOUTH_SLACK = 0.002  # [m] beyond the well's half width, a tip still counts as over the well
CHUNK = 25  # ticks executed per expert chunk
MAX_SECONDS = 30.0  # [s] sim time limit of an episode


@dataclass
class InsertWatch:
    """What happened during one ``insert`` subgoal (filled tick by tick by :meth:`see`)."""

    subgoal: PlugStripSubgoal
    side: str
    touched_other: set[str] = field(default_factory=set)
    min_lateral: float = float("inf")  # [m] smallest tip offset from the well's axis (strip frame, Chebyshev)
    min_depth: float = float("inf")  # [m] lowest tip height relative to the rim while over the well
    max_tilt: float = 0.0  # [rad] of the plug near the strip
    held_at_mouth: bool = False

    def see(self, state: SimState, layout: PlugStripLayout) -> None:
        plug, socket = self.subgoal.plug, self.subgoal.socket
        assert plug is not None and socket is not None
        index = layout.sockets.index(socket)
        others = {g for p in layout.plugs if p != plug for g in plug_geoms(p)}
        for a, b in state.contacts:
            for mine, other in ((a, b), (b, a)):
                if other in others and (mine in plug_geoms(plug) or mine.startswith(f"vx300s_{self.side}/")):
                    self.touched_other.add(f"{mine}|{other}")
        rel = tip_in_socket(state.object_poses[plug], state.object_poses["strip"], index)
        if rel[2] < 0.03:  # [m] the tip near the strip
            lateral = float(np.max(np.abs(rel[:2])))
            self.min_lateral = min(self.min_lateral, lateral)
            if lateral < HOLE_HALF[index] + MOUTH_SLACK:
                self.min_depth = min(self.min_depth, float(rel[2]))
            up = float(np.clip(rotation(state.object_poses[plug][3:])[2, 2], -1.0, 1.0))
            self.max_tilt = max(self.max_tilt, float(np.arccos(up)))

    def reason(self, layout: PlugStripLayout) -> str:
        assert self.subgoal.socket is not None
        index = layout.sockets.index(self.subgoal.socket)
        detail = f"lateral {1000 * self.min_lateral:.1f} mm, tilt {np.degrees(self.max_tilt):.0f} deg"
        if self.touched_other:
            return f"collision ({sorted(self.touched_other)[0]})"
        if self.min_lateral == float("inf"):
            return "dropped"
        if self.max_tilt > MAX_TILT:
            return f"tilted ({detail})"
        if self.min_lateral < HOLE_HALF[index] + MOUTH_SLACK:
            return f"jammed ({detail})"
        return f"missed ({detail})"


@dataclass
class EpisodeResult:
    """Outcome of one episode: ``success`` (every plug inserted, by the simulator), the expert's judged subgoals
    as ``(text, ok)``, ``reason`` of the first failed subgoal (``""`` on success) and the episode's layout."""

    seed: int
    order: tuple[tuple[str, str], ...]
    success: bool
    subgoals: list[tuple[str, bool]]
    reason: str
    layout: PlugStripLayout
    seconds: float  # [s] sim time


def run_episode(
    seed: int,
    order: Sequence[tuple[str, str]],
    split: str = "seen",
    *,
    max_seconds: float = MAX_SECONDS,
    layout: PlugStripLayout | None = None,
) -> EpisodeResult:
    """Run the expert on ``order`` from ``seed``'s layout (or ``layout``, a scene set up by hand) until it is done
    (or ``max_seconds`` of sim time)."""
    config = SimAlohaConfig(task="plug_strip", split=check_split(split), cameras=())
    with SimAlohaDriver(config) as robot:
        planner = PlugStripPlanner(order)
        expert = ScriptedExpert(robot.task, robot.privileged_state, horizon=CHUNK, planner=planner)
        obs = robot.reset(seed)
        if layout is not None:
            obs = _place(robot, layout)
        layout = robot.scene.variant
        watches: list[InsertWatch] = []
        success = False
        while obs.timestamp < max_seconds and not planner.finished(obs.timestamp):
            chunk = expert.infer(obs)
            current, side = planner.current, planner.current_side
            if current is not None and current.kind == "insert" and (not watches or watches[-1].subgoal != current):
                watches.append(InsertWatch(current, str(side)))
            for row in chunk.actions:
                robot.send_action(JointCommand(obs.timestamp, row))
                if watches and planner.current == watches[-1].subgoal:
                    watches[-1].see(robot.privileged_state(), layout)
            obs = robot.get_observation()
        success = robot.privileged_state().success
    subgoals = [(str(a.subgoal), bool(a.ok)) for a in planner.attempts]
    reason = _reason(planner, watches, layout, success)
    return EpisodeResult(seed, tuple(order), success, subgoals, reason, layout, obs.timestamp)


def _place(robot: SimAlohaDriver, layout: PlugStripLayout) -> Observation:
    """Switch the reset scene to ``layout`` (sockets, plugs, colours, object poses) and observe it."""
    scene = robot.scene
    apply_layout(scene.model, layout)
    scene.variant = layout
    qpos = scene.data.qpos.copy()
    qpos[-layout.object_qpos().size :] = layout.object_qpos()
    scene.set_qpos(qpos)
    return robot.get_observation()


def _reason(planner: PlugStripPlanner, watches: list[InsertWatch], layout: PlugStripLayout, success: bool) -> str:
    if success:
        return ""
    for attempt in planner.attempts:
        if attempt.ok:
            continue
        if attempt.subgoal.kind == "grasp":
            return "grasp"
        for watch in watches:
            if watch.subgoal == attempt.subgoal:
                return watch.reason(layout)
    return "timeout"
