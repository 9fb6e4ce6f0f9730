"""Core value types passed between the driver, policy, safety layer and recorder.

Conventions (stated once):
- Joint vectors are ``float64 [A]`` in the driver's joint order (``RobotFeatures.joint_names``).
  Arm joints are in [rad]; ALOHA gripper joints are normalized to [0 = closed, 1 = open].
- Images are ``uint8 [H, W, 3]`` RGB; depth is ``float32 [H, W]`` in [m] along the optical axis.
- Time: every timestamp in the core is [s] on the **robot clock**, the clock of the driver's observations:
  ``time.monotonic()`` on hardware, simulated time since ``reset`` in simulation (it restarts at every reset).
  A command carries the stamp of the observation it answers (the loop stamps it so); what a driver returns
  as sent carries the robot clock too. Wall-clock time (``time.time()``) is for logs and file names only.
  Across processes (the ROS graph) message stamps are robot_bridge's graph clock: the robot clock, continued
  across a simulator's resets (an offset per episode), so that stamps never go backwards in the graph.
- Episodes are told apart by ``EpisodeInfo.episode_id`` (an opaque string), never by comparing timestamps,
  since the simulated clock restarts.
- Object state is ``float64 [O]``: for each task object, in the driver's order, its pose as
  xyz [m] + quaternion (w, x, y, z) in the robot's world frame (``O = 7 · objects``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np

from failforward.errors import ShapeError


def _as_vector(name: str, value: np.ndarray, length: int | None = None) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 1 or (length is not None and array.shape[0] != length):
        want = f"[{length}]" if length is not None else "[A]"
        raise ShapeError(f"{name} must have shape {want}, got {array.shape}.")
    array = array.copy()
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class JointFeature:
    """One commandable joint: its name, unit and hard limits (the robot's, not the safety margin's).

    Attributes:
        name: joint name, e.g. ``"left_arm_waist"``.
        unit: ``"rad"`` or ``"normalized"`` (grippers: 0 closed, 1 open).
        lower, upper: hard position limits in ``unit``.
        max_velocity: largest safe speed in ``unit``/s.
    """

    name: str
    unit: str
    lower: float
    upper: float
    max_velocity: float


@dataclass(frozen=True)
class CameraFeature:
    """One camera a driver can provide. ``height`` x ``width`` in pixels; ``depth`` if it can give depth."""

    name: str
    height: int
    width: int
    depth: bool = False


@dataclass(frozen=True)
class RobotFeatures:
    """What a driver offers, known before ``connect()``: joints (in command order) and cameras.

    ``object_names`` are the task objects whose poses each observation carries in ``object_state``
    (a simulator's ground truth, or a pose estimator's on a real cell); empty when it carries none.
    """

    joints: tuple[JointFeature, ...]
    cameras: tuple[CameraFeature, ...]
    control_hz: float
    object_names: tuple[str, ...] = ()

    @property
    def object_state_dim(self) -> int:
        """``O = 7 · len(object_names)``: xyz [m] + quaternion (w, x, y, z) per object."""
        return 7 * len(self.object_names)

    @property
    def state_dim(self) -> int:
        """Size of a policy's state input: joint positions ``[A]`` then object state ``[O]``."""
        return self.action_dim + self.object_state_dim

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(j.name for j in self.joints)

    @property
    def action_dim(self) -> int:
        return len(self.joints)

    @property
    def lower(self) -> np.ndarray:
        """Hard lower limits ``[A]``."""
        return np.array([j.lower for j in self.joints])

    @property
    def upper(self) -> np.ndarray:
        """Hard upper limits ``[A]``."""
        return np.array([j.upper for j in self.joints])

    @property
    def max_velocity(self) -> np.ndarray:
        """Speed limits ``[A]`` in each joint's unit per second."""
        return np.array([j.max_velocity for j in self.joints])

    @property
    def camera_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)


@dataclass(frozen=True)
class Observation:
    """What the robot saw at one tick.

    Attributes:
        timestamp: [s] robot clock when the state was read (``time.monotonic()`` on hardware, simulated time
            since reset in simulation).
        joint_positions: ``[A]`` measured positions (units as in ``RobotFeatures``).
        joint_velocities: ``[A]`` measured velocities per second.
        images: camera name → ``uint8 [H, W, 3]`` RGB; only the cameras asked for.
        depth: camera name → ``float32 [H, W]`` depth in [m]; only where asked for.
        object_state: ``[O]`` task-object poses (see the module docstring), empty unless the robot
            offers them (``RobotFeatures.object_names``) or a pose estimator filled them in.
        frame_times: camera name → [s] robot clock when that camera's frame was captured, where it differs from
            ``timestamp`` (hardware cameras grab in their own threads); absent: captured at ``timestamp``
            (simulators render at the state they report).
        blanked: cameras of ``images`` the runtime zeroed on purpose (VSF's idle wrist camera, ViFailback
            supplement 6.2): black by design, so a policy's dead-camera check lets them through.
    """

    timestamp: float
    joint_positions: np.ndarray
    joint_velocities: np.ndarray
    images: dict[str, np.ndarray] = field(default_factory=dict)
    depth: dict[str, np.ndarray] = field(default_factory=dict)
    object_state: np.ndarray = field(default_factory=lambda: np.zeros(0))
    frame_times: dict[str, float] = field(default_factory=dict)
    blanked: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        q = _as_vector("joint_positions", self.joint_positions)
        object.__setattr__(self, "joint_positions", q)
        object.__setattr__(self, "joint_velocities", _as_vector("joint_velocities", self.joint_velocities, len(q)))
        object.__setattr__(self, "object_state", _as_vector("object_state", self.object_state))
        if self.object_state.size % 7:
            raise ShapeError(f"object_state must hold 7 numbers per object, got {self.object_state.size}.")
        for name, image in self.images.items():
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise ShapeError(f"image {name!r} must be uint8 [H, W, 3], got {image.dtype} {image.shape}.")
        for name, depth in self.depth.items():
            if depth.ndim != 2:
                raise ShapeError(f"depth {name!r} must be [H, W] in metres, got {depth.shape}.")
        if not self.blanked <= self.images.keys():
            raise ShapeError(
                f"blanked cameras {sorted(self.blanked - self.images.keys())} have no image; blank only cameras "
                f"of this observation ({sorted(self.images)})."
            )

    @property
    def state(self) -> np.ndarray:
        """A policy's state input ``[A + O]``: joint positions then object state."""
        return np.concatenate([self.joint_positions, self.object_state])


@dataclass(frozen=True)
class ActionChunk:
    """A chunk of future joint targets from a policy.

    Attributes:
        actions: ``float64 [H, A]`` absolute joint targets, one row per control tick.
        guidance: per denoise step guidance weights ``[N]`` (λ_t of AFIL), empty if unguided.
        source: short name of who produced it (``"expert"``, ``"afil"``...).
        done: a subgoal-conditioned policy's probability that its prompted subgoal has ended at the observation
            (VINE's end of edge, from a done head), else ``None``.
    """

    actions: np.ndarray
    guidance: np.ndarray = field(default_factory=lambda: np.zeros(0))
    source: str = "policy"
    done: float | None = None

    def __post_init__(self) -> None:
        actions = np.asarray(self.actions, dtype=np.float64)
        if actions.ndim != 2 or actions.shape[0] == 0:
            raise ShapeError(f"ActionChunk.actions must be [H, A] with H >= 1, got {actions.shape}.")
        actions = actions.copy()
        actions.setflags(write=False)
        object.__setattr__(self, "actions", actions)
        object.__setattr__(self, "guidance", np.asarray(self.guidance, dtype=np.float64).reshape(-1))

    @property
    def horizon(self) -> int:
        return int(self.actions.shape[0])


@dataclass(frozen=True)
class ChunkPrefix:
    """Real-time chunking (RTC) input: what the previous chunk still commands from the observation's tick on.

    While the next chunk is inferred the robot keeps executing the current one, so the new chunk must agree
    with it: its first ``delay`` rows are frozen to ``actions[:delay]`` and, for inference-time RTC, the rows
    after that are steered toward the rest of ``actions`` with a soft mask (Black et al. 2025, arXiv 2506.07339).

    Attributes:
        actions: ``float64 [P, A]`` absolute joint targets, row 0 the action for the observation's tick
            (``P ≥ 1``). The loop pads a prefix shorter than ``delay`` with the last executed action, never zeros.
        delay: ``d``, the number of rows that will have executed before the new chunk can take over, counted
            in actions consumed (never wall clock); ``0 ≤ d ≤ P``.
    """

    actions: np.ndarray
    delay: int

    def __post_init__(self) -> None:
        actions = np.asarray(self.actions, dtype=np.float64)
        if actions.ndim != 2 or actions.shape[0] == 0:
            raise ShapeError(f"ChunkPrefix.actions must be [P, A] with P >= 1, got {actions.shape}.")
        if not 0 <= self.delay <= actions.shape[0]:
            raise ShapeError(
                f"ChunkPrefix.delay must be in [0, {actions.shape[0]}] (the prefix length), got {self.delay}."
            )
        actions = actions.copy()
        actions.setflags(write=False)
        object.__setattr__(self, "actions", actions)
        object.__setattr__(self, "delay", int(self.delay))


@dataclass(frozen=True)
class JointCommand:
    """One joint-position command for one tick: ``positions [A]`` in the driver's units, ``timestamp`` [s] on the
    robot clock (the stamp of the observation the command answers; see the module docstring)."""

    timestamp: float
    positions: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "positions", _as_vector("positions", self.positions))


@dataclass(frozen=True)
class EpisodeOutcome:
    """How an episode ended: ``success``, the furthest task ``stage`` reached and a readable ``reason``."""

    success: bool
    stage: int
    reason: str


@dataclass(frozen=True)
class EpisodeInfo:
    """Identity of an episode, given to subscribers when it starts.

    Attributes:
        episode_index: the loop's count of its episodes (0-based); not unique across runs or processes.
        episode_id: unique identity of the episode; everything produced for it (supervisor answers, recovery
            events, recordings) carries it, so other episodes' leftovers are recognised without comparing
            timestamps. The robot assigns it when it has one (a remote bridge), else a fresh UUID.
    """

    episode_index: int
    seed: int
    task: str
    prompt: str
    robot: str
    features: RobotFeatures
    episode_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class TickRecord:
    """Everything that happened in one control tick, handed to every subscriber.

    Attributes:
        step: tick index within the episode (0-based).
        observation: what was observed at the start of the tick.
        policy_action: ``[A]`` the broker's action before safety (what the policy wanted).
        sent: the command the driver actually sent (after safety and the device's own clamping).
        chunk: the chunk that took over on this tick (inferred in this tick, or with asynchronous inference
            delivered by the worker in this tick), or ``None`` when the broker went on with a queued one.
        timings: section name → duration [s] for this tick (observe, infer, safety, act, record).
    """

    step: int
    observation: Observation
    policy_action: np.ndarray
    sent: JointCommand
    chunk: ActionChunk | None
    timings: dict[str, float]


class TickSubscriber:
    """Observer of the control loop (recorder, supervisor window, ROS bridge). Default: do nothing.

    Subscribers must be quick; anything slow (VLM queries, disk flush) goes to their own worker.
    """

    def on_episode_start(self, info: EpisodeInfo) -> None:
        """Called once before the first tick of an episode."""

    def on_tick(self, tick: TickRecord) -> None:
        """Called after every tick, after the command was sent."""

    def on_episode_end(self, outcome: EpisodeOutcome) -> None:
        """Called once when the episode ends, also when it ended by an error."""
