"""Thought paths from recorded plug-strip episodes (MCAP files of the runtime): the data System 2 learns from.

Per tick, the observation is rebuilt from the recording (joints and the objects' poses) and passed through the same
scene abstraction the runtime uses (:class:`failforward.planner.plug_strip.PlugStripPlanning`), so training and
planning read identical nodes; subgoals are segmented at gripper open/close events
(:func:`failforward.learn.vine.segment.segment_nodes`). A failed episode ends with the subgoal the runtime was
executing when it ended (its last recorded plan's first subgoal), else the one inferred from the scene. The layout
(sockets, plugs present) is the task's configuration: drawn again from the episode's seed and split.

Example:
    >>> path = recorded_path(read_episode(file, load_images=False), split="seen", ik=AlohaIK(xml))
"""

from __future__ import annotations

import numpy as np

from failforward.kinematics.aloha_ik import AlohaIK
from failforward.learn.vine.paths import ThoughtPath
from failforward.learn.vine.segment import segment_nodes
from failforward.planner.graph import SceneNode, Subgoal
from failforward.planner.plug_strip import GRIPPERS, PlugStripPlanning
from failforward.record.reader import RecordedEpisode
from failforward.sim.plug_strip_layout import sample_layout
from failforward.types import Observation


def recorded_path(episode: RecordedEpisode, split: str, ik: AlohaIK, settle: int = 10) -> ThoughtPath:
    """The thought path of one recorded episode (see the module docstring)."""
    seed = int(episode.metadata["seed"])
    layout = sample_layout(seed, split)
    task = PlugStripPlanning(lambda _: layout, ik)
    task.reset(seed)

    def node_at(t: int) -> SceneNode:
        obs = Observation(
            float(episode.timestamps[t]),
            episode.joint_positions[t],
            episode.joint_velocities[t],
            object_state=episode.object_state[t],
        )
        return task.node(obs)

    openings = episode.joint_positions[:, list(GRIPPERS.values())]
    success = episode.outcome is not None and episode.outcome.success

    def attempted_at(t: int) -> Subgoal | None:
        return _executing(episode, float(episode.timestamps[t]))

    final = _executing(episode, float("inf"))
    return segment_nodes(node_at, np.asarray(openings), task.graph(), success, final, settle, attempted_at)


def _executing(episode: RecordedEpisode, time: float) -> Subgoal | None:
    """The first subgoal of the last plan recorded at or before ``time`` [s] (what the runtime was executing)."""
    plans = [plan for stamp, plan in episode.plans if stamp <= time]
    subgoals = plans[-1].get("subgoals") or [] if plans else []
    return Subgoal.parse(subgoals[0]) if subgoals else None
