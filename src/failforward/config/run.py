"""The run config: robot, policy, supervisor, safety, broker, loop, recording; presets and flattening."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from failforward.config.base import FrozenModel, SimAlohaTask
from failforward.config.maniskill import MANISKILL_CONTROL_HZ, ManiSkillConfig, ManiSkillTask
from failforward.config.perception import (
    GroundTruthPerceptionConfig,
    PerceptionConfig,
    RgbdPerceptionConfig,
    perception_problem,
)
from failforward.config.planner import PlannerConfig, VinePlannerConfig
from failforward.config.policy import AfilPolicyConfig, GuidanceConfig, GuidanceMode, SamplerConfig
from failforward.config.recovery import RecoveryConfig
from failforward.config.remote import RemotePolicyConfig
from failforward.config.robots import AlohaConfig, FakeRobotConfig, FrankaConfig, SimAlohaConfig
from failforward.config.supervisor import OpenAIBackendConfig, SimOracleConfig, SupervisorConfig
from failforward.config.viz import VizConfig
from failforward.errors import ConfigError, UnknownNameError


class SafetyConfig(FrozenModel):
    """Safety layer: every command passes it before it reaches a driver.

    Attributes:
        joint_margin: fraction (0–0.2) of each joint's range kept clear of the hard limits.
        velocity_scale: fraction (0–1] of each joint's max velocity allowed per tick.
        watchdog_timeout_s: deadman: with no fresh command for this long [s] the robot holds.
        workspace_lower_m, workspace_upper_m: Cartesian box [m] (robot base frame) every end effector
            must stay in; used when a forward-kinematics function is given to the safety layer.
    """

    joint_margin: float = Field(0.02, ge=0.0, le=0.2)
    velocity_scale: float = Field(1.0, gt=0.0, le=1.0)
    watchdog_timeout_s: float = Field(0.2, gt=0.0, le=5.0)
    workspace_lower_m: tuple[float, float, float] | None = None
    workspace_upper_m: tuple[float, float, float] | None = None

    @model_validator(mode="after")
    def _workspace_box(self) -> SafetyConfig:
        lower, upper = self.workspace_lower_m, self.workspace_upper_m
        if (lower is None) != (upper is None):
            raise ValueError("set both workspace_lower_m and workspace_upper_m [m], or neither")
        if lower is not None and upper is not None and not all(lo < hi for lo, hi in zip(lower, upper, strict=True)):
            raise ValueError(f"workspace_lower_m {lower} must be below workspace_upper_m {upper} on every axis")
        return self


InferenceMode = Literal["synchronous", "asynchronous"]
"""Where the policy runs: ``synchronous`` inside the tick (the tick waits for every chunk); ``asynchronous`` in a
worker thread while the loop executes the current chunk (the loop waits only for an episode's first chunk). See
:mod:`failforward.control.async_broker`."""


class BrokerConfig(FrozenModel):
    """Chunk broker: how a chunk ``[H, A]`` becomes per-tick actions.

    ``mode="chunk"`` executes the first ``execute_steps`` actions of each chunk then asks for a new one;
    ``mode="ensemble"`` asks every tick and averages overlapping chunks with weights
    ``exp(-ensemble_decay * i)`` (ACT's temporal ensembling, oldest first).

    ``inference="asynchronous"`` (chunk mode only) computes the next chunk in a worker while the current one runs:

    - ``refill_threshold`` [actions]: a new chunk is requested when at most this many actions are queued
      (default ``H − execute_steps``, the cadence of the synchronous broker);
    - ``rtc``: hand the policy a :class:`~failforward.types.ChunkPrefix` (real-time chunking) when it supports
      one; past the policy's largest trained delay the broker falls back to a plain switch (counted). Off by
      default: on the shipped model it smooths splices but lowered success at delays of 100 ms and more
      (``bench/realtime.py``, README "Real-time execution");
    - ``max_starvation_s`` [s of robot time]: how long the robot may hold with an empty queue (a late or failed
      chunk) before the episode is aborted with the reason;
    - ``latency_window``: how many recent inference latencies estimate the delay ``d`` (their maximum).
    """

    mode: Literal["chunk", "ensemble"] = "chunk"
    execute_steps: int = Field(25, ge=1)
    ensemble_decay: float = Field(0.01, ge=0.0)
    inference: InferenceMode = "synchronous"
    refill_threshold: int | None = Field(None, ge=0)
    rtc: bool = False
    max_starvation_s: float = Field(1.0, gt=0.0)
    latency_window: int = Field(10, ge=1)

    @model_validator(mode="after")
    def _asynchronous_needs_chunks(self) -> BrokerConfig:
        if self.inference == "asynchronous" and self.mode != "chunk":
            raise ValueError(
                "broker.inference='asynchronous' executes whole chunks; it cannot ensemble (one inference per tick). "
                "Set broker.mode='chunk' or broker.inference='synchronous'."
            )
        return self


RECOVERY_ROBOTS = ("sim_aloha",)
"""Robot kinds the recovery controller is built for (depth camera, robot mask, arm IK)."""

SupervisorMode = Literal["asynchronous", "synchronous"]
"""How the loop collects supervisor answers: ``asynchronous`` never waits (deployment); ``synchronous`` waits
after the tick that launched a query for its answer, so runs are reproducible whatever the backend's latency
(benchmarks, tests). See :mod:`failforward.control.loop`."""


class LoopConfig(FrozenModel):
    """Control loop timing. ``realtime=False`` runs as fast as possible (simulation, benchmarks).

    ``supervisor_timeout_s`` [s] bounds the synchronous mode's wait per tick; past it the tick goes on without
    the answer (logged), which then arrives on a later tick as in the asynchronous mode.
    """

    rate_hz: float = Field(50.0, gt=0.0, le=1000.0)
    max_steps: int = Field(400, ge=1)
    realtime: bool = False
    stop_on_success: bool = True
    supervisor_mode: SupervisorMode = "asynchronous"
    supervisor_timeout_s: float = Field(10.0, gt=0.0)


class RecordConfig(FrozenModel):
    """Episode recording (one MCAP file per episode).

    ``chunk_kib`` bounds what a crash can lose: MCAP chunks reach the disk when full, so at most the
    last ``chunk_kib`` KiB (about 0.5 s with one 240x320 camera) are missing from a killed process's file.
    """

    enabled: bool = True
    output_dir: Path = Path("runs")
    jpeg_quality: int = Field(85, ge=10, le=100)
    chunk_kib: int = Field(256, ge=16, le=65536)


class PolicyConfig(FrozenModel):
    """A built-in policy: ``expert`` (scripted demonstrator; needs privileged sim state), ``subgoal_expert`` (the
    plug-strip expert executing the subgoal it is prompted with: System 1's stand-in under a planner), ``hold``
    (keep the episode's first pose) or ``teleop`` (leader arms drive the followers)."""

    kind: Literal["expert", "subgoal_expert", "hold", "teleop", "maniskill_expert"] = "expert"


class RunConfig(FrozenModel):
    """Everything one run needs.

    ``perception`` (``None``: none) estimates the task objects' poses for a state policy
    (``failforward.perception``); ``deployed`` marks a run whose policy may use sensors only, as on a real cell
    (hardware robots always are): the simulator's object poses are refused. Evaluation stand-ins outside the
    policy's input (the privileged sim-oracle supervisor) stay allowed.
    """

    robot: Annotated[
        SimAlohaConfig | AlohaConfig | FrankaConfig | ManiSkillConfig | FakeRobotConfig, Field(discriminator="kind")
    ] = SimAlohaConfig()
    policy: Annotated[PolicyConfig | AfilPolicyConfig | RemotePolicyConfig, Field(discriminator="kind")] = (
        PolicyConfig()
    )
    broker: BrokerConfig = BrokerConfig()
    safety: SafetyConfig = SafetyConfig()
    loop: LoopConfig = LoopConfig()
    record: RecordConfig = RecordConfig()
    supervisor: SupervisorConfig = SupervisorConfig(enabled=False)
    recovery: RecoveryConfig = RecoveryConfig(enabled=False)
    viz: VizConfig = VizConfig()
    perception: PerceptionConfig | None = None
    planner: PlannerConfig | None = None
    deployed: bool = False
    episodes: int = Field(3, ge=1)
    seed: int = 0

    @model_validator(mode="after")
    def _recovery_needs_a_supervisor(self) -> RunConfig:
        if self.recovery.enabled and not self.supervisor.enabled:
            raise ValueError("recovery.enabled needs supervisor.enabled: recovery acts on the supervisor's diagnoses")
        return self

    @model_validator(mode="after")
    def _recovery_runs_on_this_robot(self) -> RunConfig:
        """The one decision on where recovery runs, for every runtime (in-process and the ROS policy node)."""
        if self.recovery.enabled and self.robot.kind not in RECOVERY_ROBOTS:
            raise ValueError(
                f"recovery.enabled is set but recovery is built for {list(RECOVERY_ROBOTS)} only so far "
                f"(PMC needs their depth, robot mask and IK); robot.kind is {self.robot.kind!r}: set "
                "recovery.enabled=false"
            )
        return self

    @model_validator(mode="after")
    def _teleop_has_leaders(self) -> RunConfig:
        """Teleoperation without leader arms is refused here, before any motor is touched."""
        leaders = getattr(self.robot, "leader_left_port", None) and getattr(self.robot, "leader_right_port", None)
        if self.policy.kind == "teleop" and not leaders:
            raise ValueError(
                "Teleoperation needs leader arms: use a robot with leaders (AlohaConfig with leader_left_port and "
                "leader_right_port)."
            )
        return self

    @model_validator(mode="after")
    def _supervisor_sees_its_camera(self) -> RunConfig:
        """A supervisor without its head camera would only ever get empty frames: refused here, at configure."""
        camera = self.supervisor.schedule.camera
        names = camera_names(self.robot)
        if self.supervisor.enabled and camera not in names:
            raise ValueError(
                f"supervisor.enabled needs the head camera supervisor.schedule.camera={camera!r}, but robot.cameras "
                f"has {list(names) or 'none'}: add a camera named {camera!r} to robot.cameras, set "
                "supervisor.schedule.camera to one of them, or set supervisor.enabled=false"
            )
        return self

    @model_validator(mode="after")
    def _perception_fits(self) -> RunConfig:
        """Ground truth for evaluation only; RGB-D perception where depth streams (``perception_problem``)."""
        problem = perception_problem(self.robot, self.perception, self.deployed)
        if problem is not None:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _planner_knows_this_task(self) -> RunConfig:
        """System 2 needs the task's thought graph and scene abstraction, and the objects' poses for it."""
        if self.planner is None:
            return self
        if not isinstance(self.robot, SimAlohaConfig) or self.robot.task not in PLANNING_TASKS:
            raise ValueError(
                f"planner is set, but System 2 knows the tasks {list(PLANNING_TASKS)} of the simulated ALOHA only so "
                f"far (robot {self.robot.kind!r}, task {self.robot.task!r}): set planner=null or robot.task to one"
            )
        if not self.robot.object_state and self.perception is None:
            raise ValueError(
                "planner needs the objects' poses for its scene graph: set robot.object_state=true or a perception"
            )
        return self

    @model_validator(mode="after")
    def _oracle_watches_this_task(self) -> RunConfig:
        backend = self.supervisor.backend
        task = self.robot.task
        if self.supervisor.enabled and backend.kind == "sim_oracle" and backend.task != task:
            raise ValueError(f"supervisor.backend.task={backend.task!r} must match robot.task={task!r}")
        return self

    def with_overrides(self, overrides: dict[str, Any]) -> RunConfig:
        """Return a copy with dotted-key overrides applied, e.g. ``{"robot.task": "insertion"}``.

        An optional section that is off (``None``: ``planner``, ``perception``, ``supervisor.detector``) is switched on
        by its fields, e.g. ``{"supervisor.detector.kind": "dual_head", "supervisor.detector.threshold": 0.02}`` (how
        a ROS parameter file sets it); validation then names a field that is missing or unknown."""
        data = self.model_dump()
        switched_on: set[tuple[str, ...]] = set()  # optional sections these overrides turned on
        for dotted, value in overrides.items():
            node = data
            *parents, leaf = dotted.split(".")
            for depth, key in enumerate(parents):
                path = tuple(parents[: depth + 1])
                if path[:-1] in switched_on or (key in node and node[key] is None):
                    node[key] = node.get(key) or {}
                    switched_on.add(path)
                if not isinstance(node.get(key), dict):
                    raise ConfigError(f"Unknown config section {key!r} in {dotted!r}.")
                node = node[key]
            if leaf not in node and tuple(parents) not in switched_on:
                raise UnknownNameError("config field", dotted, _dotted_keys(self.model_dump()))
            node[leaf] = value
        return load_config(data)


def _dotted_keys(data: dict[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for key, value in data.items():
        full = f"{prefix}{key}"
        keys.extend(_dotted_keys(value, full + ".") if isinstance(value, dict) else [full])
    return keys


def load_config(data: dict[str, Any]) -> RunConfig:
    """Build a :class:`RunConfig` from plain data (YAML, ROS params), raising ``ConfigError`` on bad input."""
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"Invalid configuration:\n{exc}") from exc


VINE_EPISODE_TICKS = 2000  # 40 s at 50 Hz, the limit bench/vine.py evaluates with
SIM_EPISODE_TICKS = 1500  # 30 s at 50 Hz: a stalled episode is flagged and a correction (PMC regrasp ~4.7 s) fits
SIM_STALL_S = 2.5  # [s] < one query period (6 chunks x 25 ticks = 3 s): a stall is judged at the second query


PLANNING_TASKS = ("plug_strip",)  # tasks with a thought graph and a scene abstraction (failforward.planner)


def _sim_preset(task: SimAlohaTask) -> RunConfig:
    """The simulated ALOHA with the expert, watched by the privileged oracle supervisor, with the time to act.

    Episodes stop on success and last at most :data:`SIM_EPISODE_TICKS`; the oracle's stall rule compares a query
    with the one before it (:data:`SIM_STALL_S`), so a failing episode can be flagged, corrected and still rescued
    within the episode (``bench/preset_rescue.py`` measures it on the same seeds with and without supervision)."""
    return RunConfig(
        robot=SimAlohaConfig(task=task),
        loop=LoopConfig(max_steps=SIM_EPISODE_TICKS),
        supervisor=SupervisorConfig(enabled=True, backend=SimOracleConfig(task=task, stall_s=SIM_STALL_S)),
        recovery=RecoveryConfig(enabled=True),
    )


def _hardware_preset(robot: AlohaConfig | FrankaConfig) -> RunConfig:
    """A real cell: paced in real time at the robot's rate, holding still until a policy is chosen
    (``policy.kind``), watched by a VLM behind an OpenAI-compatible server."""
    return RunConfig(
        robot=robot,
        policy=PolicyConfig(kind="hold"),
        broker=BrokerConfig(inference="asynchronous"),
        loop=LoopConfig(
            rate_hz=robot.control_hz, max_steps=int(60 * robot.control_hz), realtime=True, stop_on_success=False
        ),
        # the supervisor watches the head camera: on once robot.cameras has one named supervisor.schedule.camera
        supervisor=SupervisorConfig(enabled=False, backend=OpenAIBackendConfig()),
        episodes=1,
    )


def _maniskill_preset(task: ManiSkillTask, max_steps: int) -> RunConfig:
    """A ManiSkill task with ManiSkill's motion-planning expert at 20 Hz, as fast as the CPU allows.

    ``max_steps`` [ticks] covers the expert's demo length (ManiSkill's own 50-step limits are shorter).
    """
    return RunConfig(
        robot=ManiSkillConfig(task=task, max_episode_steps=max_steps),
        policy=PolicyConfig(kind="maniskill_expert"),
        loop=LoopConfig(rate_hz=MANISKILL_CONTROL_HZ, max_steps=max_steps, realtime=False),
        supervisor=SupervisorConfig(enabled=False),
    )


def _afil_sim_preset(task: SimAlohaTask, model_dir: str) -> RunConfig:
    """The learned AFIL dual-head policy (``failforward learn ship``) on the simulated ALOHA with adaptive
    failure-informed guidance (γ = 1, AFIL's default). Its state is the joints + the objects' poses (the
    simulator's ground truth; no policy cameras), the head camera renders for the oracle supervisor, and the
    recovery machine corrects what the supervisor diagnoses (PMC), as in the expert presets. Inference runs
    asynchronously (the tick never waits for a chunk but an episode's first) with plain switching, the best
    measured; ``broker.rtc=true`` adds the model's real-time chunking (training-time RTC for the shipped model)."""
    guidance = GuidanceConfig(mode=GuidanceMode.ADAPTIVE, gamma=1.0)
    expert = _sim_preset(task)
    return RunConfig(
        robot=SimAlohaConfig(task=task, object_state=True),
        policy=AfilPolicyConfig(model_dir=Path(model_dir), sampler=SamplerConfig(guidance=guidance)),
        broker=BrokerConfig(inference="asynchronous"),
        loop=expert.loop,
        supervisor=expert.supervisor,
        recovery=expert.recovery,
        perception=GroundTruthPerceptionConfig(),
    )


def _afil_rgbd_preset(task: SimAlohaTask, model_dir: str) -> RunConfig:
    """The AFIL preset deployed as on a real cell: the object poses estimated from the head camera's RGB-D frame
    (``perception.kind='rgbd'``), none from the simulator; the same model, supervisor and recovery. The head camera
    renders without multisampling (6x faster on a software renderer; segmentation needs no smooth edges)."""
    data = _afil_sim_preset(task, model_dir).model_dump()
    data["robot"].update(object_state=False, depth_cameras=("top",), antialias=False)
    return RunConfig.model_validate({**data, "perception": RgbdPerceptionConfig(), "deployed": True})


def _remote_sim_preset(task: SimAlohaTask, model_dir: str) -> RunConfig:
    """The AFIL preset with its policy on a policy server (``failforward serve --model <model_dir>``) at
    ``tcp://127.0.0.1:5555``: the same model, robot, supervisor and recovery, inference in another process."""
    return _afil_sim_preset(task, model_dir).model_copy(update={"policy": RemotePolicyConfig()})


def _vine_sim_preset(models: str) -> RunConfig:
    """VINE on the simulated plug strip (issue 16): System 2's tree search over subgoals (failure-aware value,
    ``models/vine_plug_strip``) plans before the first tick and replans after each subgoal and on a persistent
    deviation; the prompted plug-strip expert executes the chosen subgoal (System 1's stand-in). The planner's scene
    graph reads the simulator's object poses (``object_state``). The supervisor is the sim oracle with the plug strip's
    rules (a plug let go outside a socket; the VLM's stand-in): a failure it diagnoses makes the planner replan from
    the observed node. No recovery: the planner's next subgoal is the correction."""
    return RunConfig(
        robot=SimAlohaConfig(task="plug_strip", object_state=True),
        policy=PolicyConfig(kind="subgoal_expert"),
        planner=VinePlannerConfig(decision_model=Path(models) / "decision.npz", value_model=Path(models) / "value.npz"),
        loop=LoopConfig(max_steps=VINE_EPISODE_TICKS),
        supervisor=SupervisorConfig(backend=SimOracleConfig(task="plug_strip")),
    )


def _vine_rgbd_preset(models: str) -> RunConfig:
    """VINE on the simulated plug strip with the planner's scene graph built from the head camera (issue 16, item 2):
    the objects' poses estimated from its RGB-D frame (``perception.kind='rgbd'``; the strip's colour and which plugs
    are out, the cell's set-up, from the episode's layout), none from the simulator. System 1's stand-in, the prompted
    expert, still moves from the simulator's state (it is a scripted stand-in, not a deployable policy)."""
    data = _vine_sim_preset(models).model_dump()
    data["robot"].update(object_state=False, depth_cameras=("top",), antialias=False)
    return RunConfig.model_validate({**data, "perception": RgbdPerceptionConfig()})


def camera_names(
    robot: SimAlohaConfig | AlohaConfig | FrankaConfig | ManiSkillConfig | FakeRobotConfig,
) -> tuple[str, ...]:
    """Names of the cameras a robot config declares (names, or ``CameraConfig`` entries); ``()`` for none."""
    cameras = getattr(robot, "cameras", ())
    return tuple(c if isinstance(c, str) else c.name for c in cameras)


PRESETS: dict[str, RunConfig] = {
    "sim_transfer_cube": _sim_preset("transfer_cube"),
    "sim_insertion": _sim_preset("insertion"),
    "sim_transfer_cube_afil": _afil_sim_preset("transfer_cube", "models/afil_aloha_transfer_cube"),
    "sim_transfer_cube_remote": _remote_sim_preset("transfer_cube", "models/afil_aloha_transfer_cube"),
    "sim_transfer_cube_afil_rgbd": _afil_rgbd_preset("transfer_cube", "models/afil_aloha_transfer_cube"),
    "sim_plug_strip_vine": _vine_sim_preset("models/vine_plug_strip"),
    "sim_plug_strip_vine_rgbd": _vine_rgbd_preset("models/vine_plug_strip"),
    "aloha": _hardware_preset(AlohaConfig(task="transfer_cube")),
    "franka": _hardware_preset(FrankaConfig()),
    "aloha_teleop": _hardware_preset(
        AlohaConfig(
            task="transfer_cube",
            leader_left_port="/dev/ttyDXL_master_left",
            leader_right_port="/dev/ttyDXL_master_right",
        )
    ).with_overrides(
        {
            "policy.kind": "teleop",
            "supervisor.enabled": False,
            "broker.execute_steps": 1,
            "broker.inference": "synchronous",  # the leaders are read every tick: nothing to overlap
        }
    ),
    "maniskill_stack_cube": _maniskill_preset("StackCube-v1", 200),
    "maniskill_lift_peg_upright": _maniskill_preset("LiftPegUpright-v1", 300),
    "maniskill_pull_cube": _maniskill_preset("PullCube-v1", 100),
}


def get_preset(name: str) -> RunConfig:
    """Return the named preset; unknown names raise with the closest valid name."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownNameError("preset", name, PRESETS) from None


def flatten_config(config: RunConfig) -> dict[str, Any]:
    """Dotted-key view of a config with JSON-compatible leaves (the shape of ROS parameter files).

    Empty lists and ``None`` are left out (ROS 2 parameter files can type neither), so they must be
    the preset's values; ``with_overrides`` of the preset with this dict gives the config back.
    """
    flat = dict(zip(_dotted_keys(config.model_dump()), _leaves(config.model_dump(mode="json")), strict=True))
    return {key: value for key, value in flat.items() if value != [] and value is not None}


def _leaves(data: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for value in data.values():
        out.extend(_leaves(value) if isinstance(value, dict) else [value])
    return out
