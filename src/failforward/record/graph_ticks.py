"""Per-tick rows of a ROS recorder-node file: the graph's topics, aligned by their header stamps.

The recorder node (``failforward_ros.recorder_node``) logs each message as it arrives, under the graph's topic names,
not one row per tick as the in-process recorder does. Each message of a tick carries the tick's stamp [s, graph
clock]: robot_bridge's ``/joint_states`` and ``/objects/poses``, the policy node's ``/joint_commands`` (stamped with
the observation it answers) and robot_bridge's ``/command_sent`` (its echo of what it sent, the command's stamp). A
tick is a joint state answered by a sent command of the same stamp (to the microsecond); a joint state without one
(the episode's last, or a command lost in transit) is no tick. The policy's action is its ``/joint_commands``
message (the sent command if that one was not received); the object state is the ``/objects/poses`` of the stamp
(``[T, 0]`` unless every tick has one).

Example:
    >>> rows = GraphRows()
    >>> for topic, stamp_s, decoded in messages:   # decoded ROS messages of one recorder-node file
    ...     rows.add(topic, stamp_s, decoded)
    >>> ticks = rows.ticks()                       # None when the file holds no graph commands
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

GRAPH_JOINT_STATES = "/joint_states"
GRAPH_COMMANDS = "/joint_commands"
GRAPH_SENT = "/command_sent"
GRAPH_OBJECTS = "/objects/poses"
GRAPH_TOPICS = frozenset({GRAPH_JOINT_STATES, GRAPH_COMMANDS, GRAPH_SENT, GRAPH_OBJECTS})


@dataclass(frozen=True)
class GraphTicks:
    """Aligned rows, ``T`` ticks: ``timestamps [T]`` [s], ``joint_positions``/``joint_velocities`` ``[T, A]``,
    ``policy_actions``/``sent_actions`` ``[T, A]`` [rad], ``object_state [T, 7·n]`` (``[T, 0]`` if absent), joint names.
    """

    timestamps: np.ndarray
    joint_positions: np.ndarray
    joint_velocities: np.ndarray
    policy_actions: np.ndarray
    sent_actions: np.ndarray
    object_state: np.ndarray
    joint_names: tuple[str, ...]


@dataclass
class GraphRows:
    """The graph messages of one file by stamp (microseconds of the graph clock)."""

    states: dict[int, tuple[list[float], list[float]]] = field(default_factory=dict)
    commands: dict[int, list[float]] = field(default_factory=dict)
    sent: dict[int, list[float]] = field(default_factory=dict)
    objects: dict[int, list[float]] = field(default_factory=dict)
    names: tuple[str, ...] = ()

    def add(self, topic: str, decoded: Any) -> None:
        """Keep ``decoded`` (a ROS message of ``topic``) if it is one of the graph's per-tick messages."""
        if topic == GRAPH_JOINT_STATES:
            self.states[_key(decoded)] = (list(decoded.position), list(decoded.velocity))
            self.names = tuple(decoded.name)
        elif topic == GRAPH_COMMANDS:
            self.commands[_key(decoded)] = list(decoded.position)
        elif topic == GRAPH_SENT:
            self.sent[_key(decoded)] = list(decoded.position)
        elif topic == GRAPH_OBJECTS:
            self.objects[_key(decoded)] = [v for p in decoded.poses for v in _pose(p)]

    def ticks(self) -> GraphTicks | None:
        """The aligned ticks in stamp order; ``None`` when no sent command was recorded (not a graph recording)."""
        if not self.sent:
            return None
        stamps = sorted(k for k in self.states if k in self.sent)
        width = len(self.names)
        objects = all(k in self.objects for k in stamps) and bool(stamps)
        return GraphTicks(
            timestamps=np.array(stamps, dtype=np.float64) * 1e-6,
            joint_positions=_rows([self.states[k][0] for k in stamps], width),
            joint_velocities=_rows([self.states[k][1] or [0.0] * width for k in stamps], width),
            policy_actions=_rows([self.commands.get(k, self.sent[k]) for k in stamps], width),
            sent_actions=_rows([self.sent[k] for k in stamps], width),
            object_state=_rows([self.objects[k] for k in stamps], None) if objects else np.zeros((len(stamps), 0)),
            joint_names=self.names,
        )


def _key(decoded: Any) -> int:
    """A message's header stamp in whole microseconds (the policy node rounds command stamps to 1 µs)."""
    return round(decoded.header.stamp.sec * 1_000_000 + decoded.header.stamp.nanosec / 1_000)


def _pose(p: Any) -> tuple[float, ...]:
    """``geometry_msgs/Pose`` → xyz [m] + quaternion w, x, y, z (the object-state layout)."""
    q = p.orientation
    return (p.position.x, p.position.y, p.position.z, q.w, q.x, q.y, q.z)


def _rows(rows: list[list[float]], width: int | None) -> np.ndarray:
    if not rows:
        return np.zeros((0, width or 0))
    return np.asarray(rows, dtype=np.float64)
