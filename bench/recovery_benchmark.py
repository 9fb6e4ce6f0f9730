"""Closed-loop recovery benchmark in simulation (issue 8, item 5), after ViFailback's Table 4 protocol:
the same initial layouts and the same disturbances for every method, ``--trials`` (≥ 21) trials each.

Run: ./run python bench/recovery_benchmark.py --trials 21 --out runs/recovery_benchmark.json

Policies (the part of a method's name before ``+``):
- ``blind_expert``: NOT a learned policy: the scripted expert (privileged simulator state) with *stale object
  perception*: once it has lifted the cube it believes the cube stays in its right gripper (where it last
  held it), as a policy that does not notice a drop would;
- ``afil``: the learned AFIL dual-head policy (``--afil-model``, default the shipped
  ``models/afil_aloha_transfer_cube``; joints + object poses in, adaptive guidance γ = 1 when the model has
  a trained failure head, else its success head alone), which also fails on its own in undisturbed runs;
- ``afil_sym``: the same recipe trained on base + symbol-following data (``--afil-sym-model``, ``failforward
  learn symbols``), the policy VSF prompts with the supervisor's correction;
- ``afil_vision``: an image-conditioned model trained on base + symbol-following data seen through the VSF view
  (``--afil-vision-model``, ``scripts/train_vision_tc_sym.sh``): it reads joints, the model's cameras and the
  prompt, no object state, so under VSF it sees the supervisor's symbols on its top image. Its cameras capture at
  10 fps at the model's size (``failforward.robots.wrappers.CameraFrameRate``, every 5th tick; a chunk every 25
  ticks starts on a fresh frame unless a correction hands back between captures), the top one doubling as the
  supervisor's head camera: software rendering at 50 Hz would cost ~40 ms per tick.
A learned policy's flow noise is seeded with the trial's seed, so its methods differ only by the correction.
Failures are *injected* (on top of the learned policies' own):
- ``knock_out``: a few ticks after the lift the cube is teleported out of the right gripper onto the table
  (a random pose in gym-aloha's cube range, ≥ 6 cm from the gripper);
- ``forced_open``: a few ticks after the lift the right gripper is forced open for 15 ticks (the command
  sent to the simulator is overridden after the safety layer, as a device fault would) and the cube falls;
- ``target_moved``: as the right gripper closes in on the cube (within 8 cm, before any lift) the cube is
  teleported to another pose on the table (the same random range, ≥ 8 cm from the gripper), as if pushed.
Methods: ``<policy>`` alone (no supervisor, no recovery), ``<policy>+pmc`` / ``<policy>+vsf`` (privileged
sim-oracle supervisor, every 6 chunks over the last 5 s at 1 fps, + the recovery controller in PMC or VSF
mode; VSF prompts the policy with the diagnosis' text, the scripted expert cannot follow it). Every trial runs in
``failforward.control.loop.ControlLoop`` with its supervisor in synchronous mode (each answer is collected on
the tick that asked, so runs are reproducible); the head camera is rendered every 25 ticks and the
disturbances are applied by driver wrappers at the simulator's edge (``failforward.robots.wrappers``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal, get_args

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np

from failforward.config import BrokerConfig, LoopConfig, SafetyConfig, ScheduleConfig, SimAlohaConfig, SimOracleConfig
from failforward.config.policy import AfilPolicyConfig, GuidanceConfig, SamplerConfig
from failforward.config.recovery import RecoveryConfig
from failforward.control.assembly import assemble_loop
from failforward.control.loop import EpisodeResult
from failforward.errors import ConfigError
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.manifest import load_manifest
from failforward.policy.base import PolicyBackend
from failforward.policy.expert.expert import ScriptedExpert
from failforward.policy.expert.geometry import object_pose
from failforward.policy.registry import PolicyContext, make_policy
from failforward.recovery import RecoveryController
from failforward.robots.base import EpisodicDriver
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.robots.wrappers import CameraFrameRate, DisturbedDriver, SampledCamera
from failforward.sim.aloha_scene import SimState
from failforward.stats import wilson_interval
from failforward.supervisor.backends.registry import make_backend
from failforward.supervisor.detector import DetectorTrigger
from failforward.supervisor.scheduler import SupervisorScheduler
from failforward.types import EpisodeInfo, TickRecord, TickSubscriber

HEAD, HEIGHT, WIDTH = "top", 240, 320
HEAD_EVERY = 25  # ticks between head-camera renders (the supervisor samples 1 fps)
CAMERA_EVERY = 5  # ticks between a vision model's camera captures (10 fps)
RIGHT_GRIPPER = 13
BOX_QPOS = slice(16, 23)
LIFTED_Z = 0.04  # [m] cube centre this high (2 cm above its rest height) with stage >= 2 = lifted
FORCED_OPEN_TICKS = 15
Kind = Literal["none", "knock_out", "forced_open", "target_moved"]
Task = Literal["transfer_cube", "insertion"]  # insertion: undisturbed only (the disturbances move the cube)
APPROACH_M = 0.08  # [m] gripper-to-cube distance (xy) at which ``target_moved`` moves the cube
Method = Literal[
    "blind_expert",
    "blind_expert+pmc",
    "afil",
    "afil+pmc",
    "afil_sym",
    "afil_sym+vsf",
    "afil_sym+pmc",
    "afil_vision",
    "afil_vision+vsf",
    "afil_vision+pmc",
]
DEFAULT_METHODS = ("blind_expert", "blind_expert+pmc")
SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "models" / "afil_aloha_transfer_cube"


def lifted(state: SimState) -> bool:
    """The right gripper has lifted the cube (stage 2 alone flickers while the fingers close)."""
    return state.stage >= 2 and state.object_poses["box"][2] > LIFTED_Z


class StaleBelief(TickSubscriber):
    """Privileged state as the stale policy sees it: after a lift, the cube rides in the right gripper.

    A subscriber: at the end of every tick, while the cube is truly lifted, the belief tracks it; once it is
    lost, the belief freezes in the gripper's frame. Called, it is the expert's state source.
    """

    def __init__(self, driver: SimAlohaDriver, expert: ScriptedExpert) -> None:
        self.driver, self.expert = driver, expert
        self.offset = None  # cube pose in the right tool frame at the lift

    def on_episode_start(self, info: EpisodeInfo) -> None:
        self.offset = None

    def on_tick(self, tick: TickRecord) -> None:
        state = self.driver.privileged_state()
        if lifted(state):
            self.offset = self._tool(state).inverse() @ object_pose(state.object_poses["box"])

    def _tool(self, state: SimState):
        ik = self.expert.ik
        return ik.tool_poses(ik.arms_from_qpos(state.qpos))["right"]

    def __call__(self) -> SimState:
        state = self.driver.privileged_state()
        if self.offset is None:
            return state
        believed = self._tool(state) @ self.offset
        poses = dict(state.object_poses)
        poses["box"] = np.concatenate([believed.translation(), believed.rotation().wxyz])
        return replace(state, object_poses=poses)


@dataclass
class Disturbance:
    """Injected ``delay`` ticks after the first lift (:func:`lifted`); ``kind`` as in the module docstring.

    A :class:`failforward.robots.wrappers.Disturbance` on ``driver`` (the raw simulator), one per trial.
    """

    kind: Kind
    delay: int
    place_xy: np.ndarray
    driver: SimAlohaDriver
    lifted_at: int | None = None
    done_at: int | None = None

    @classmethod
    def draw(cls, kind: Kind, seed: int, driver: SimAlohaDriver, delays: tuple[int, int] = (2, 15)) -> Disturbance:
        """``delays``: the range ``[low, high)`` [ticks] the delay after the lift is drawn from."""
        rng = np.random.default_rng(10_000 + seed)  # the same for every method
        return cls(kind, int(rng.integers(*delays)), rng.uniform([0.0, 0.4], [0.2, 0.6]), driver)

    def before_observe(self, tick: int) -> None:
        """Note the lift; ``knock_out``: teleport the cube onto the table, >= 6 cm from the right gripper;
        ``target_moved``: teleport it >= 8 cm away once the gripper is within 8 cm, before any lift."""
        if self.kind == "none":
            return
        state = self.driver.privileged_state()
        if self.lifted_at is None and lifted(state):
            self.lifted_at = tick
        if self.kind == "knock_out" and self.due(tick):
            self._teleport_cube(0.06)
            self.done_at = tick
        gripper = self.driver.scene.data.body("vx300s_right/gripper_link").xpos[:2]
        near = np.linalg.norm(state.object_poses["box"][:2] - gripper) < APPROACH_M
        if self.kind == "target_moved" and self.done_at is None and self.lifted_at is None and near:
            self._teleport_cube(APPROACH_M)
            self.done_at = tick

    def _teleport_cube(self, min_distance: float) -> None:
        """Cube to ``place_xy`` on the table (upright), pushed out to ``min_distance`` [m] from the right gripper."""
        scene = self.driver.scene
        qpos = scene.data.qpos.copy()
        xy = self.place_xy
        gripper = scene.data.body("vx300s_right/gripper_link").xpos[:2]
        if np.linalg.norm(xy - gripper) < min_distance:
            xy = gripper + min_distance * (xy - gripper) / max(np.linalg.norm(xy - gripper), 1e-6)
        qpos[BOX_QPOS] = [*xy, 0.02, 1.0, 0.0, 0.0, 0.0]
        scene.set_qpos(qpos)

    def command(self, tick: int, positions: np.ndarray) -> np.ndarray:
        """The command the simulator receives (``forced_open``: the right gripper opens for 15 ticks)."""
        start = None if self.lifted_at is None else self.lifted_at + self.delay
        if self.kind == "forced_open" and start is not None and start <= tick < start + FORCED_OPEN_TICKS:
            positions = positions.copy()
            positions[RIGHT_GRIPPER] = 1.0
            self.done_at = self.done_at if self.done_at is not None else tick
        return positions

    def due(self, tick: int) -> bool:
        return self.done_at is None and self.lifted_at is not None and tick == self.lifted_at + self.delay


@dataclass
class Trial:
    method: str
    disturbance: str
    seed: int
    success: bool
    steps: int
    disturbed_at: int | None
    events: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None  # the episode ended by an exception (counted as a failure)
    task: Task = "transfer_cube"

    def line(self) -> str:
        """One progress line: method, disturbance, seed, outcome, ticks, wall-clock [s]."""
        error = f"  ERROR {self.error}" if self.error else ""
        outcome = "ok  " if self.success else "FAIL"
        return (
            f"{self.task:13s} {self.method:11s} {self.disturbance:11s} seed {self.seed:3d}: {outcome} "
            f"{self.steps:5d} ticks {self.seconds:5.1f} s{error}"
        )


class Bench:
    """One simulator and one set of components per method; one control loop per trial.

    ``models`` maps the learned policies (``afil``, ``afil_sym``, ``afil_vision``) to their model directories. A
    model with cameras gets them rendered on every tick at its size, without object state; a state model gets the
    object poses and the head camera sampled for the supervisor at ``HEIGHT x WIDTH``.
    """

    def __init__(self, method: Method, max_steps: int, models: dict[str, Path], task: Task = "transfer_cube") -> None:
        self.method, self.task = method, task
        self.loop_config = LoopConfig(max_steps=max_steps, supervisor_mode="synchronous")
        self.policy_name, _, mode = method.partition("+")
        self.model_dir = models.get(self.policy_name)
        self.manifest = load_manifest(self.model_dir) if self.model_dir is not None else None  # read once
        model = self.manifest.model if self.manifest is not None else None
        self.driver = SimAlohaDriver(robot_config(model, task))
        self.driver.connect()
        self.observed = observed_robot(self.driver, model)
        self.subscribers: list[TickSubscriber] = []
        if self.model_dir is None:
            self.expert = ScriptedExpert(self.driver.task, lambda: self.belief(), horizon=50)
            self.belief = StaleBelief(self.driver, self.expert)
            self.subscribers.append(self.belief)
        self.supervisor: SupervisorScheduler | DetectorTrigger | None = None
        self.controller: RecoveryController | None = None
        self.last_result: EpisodeResult | None = None  # the loop's result of the latest trial (its answers)
        self.delays = (2, 15)  # [ticks] after the lift, [low, high): when knock_out and forced_open strike
        if mode:
            oracle = make_backend(
                SimOracleConfig(task=task),
                state_source=self.driver.privileged_state,
                progress_source=lambda: self.driver.episode_outcome().stage,
            )
            self.supervisor = SupervisorScheduler(oracle, ScheduleConfig(camera=HEAD))
            self.controller = RecoveryController.for_sim_aloha(RecoveryConfig(mode=mode), self.driver)

    def policy(self, seed: int) -> PolicyBackend:
        """The scripted expert, or the learned policy with its flow noise seeded by the trial's ``seed``."""
        if self.model_dir is None or self.manifest is None:
            return self.expert
        trained = self.manifest.training
        has_failure_head = trained is not None and trained.failure_ticks > 0
        guidance = GuidanceConfig(mode="adaptive", gamma=1.0) if has_failure_head else GuidanceConfig(mode="none")
        config = AfilPolicyConfig(
            model_dir=self.model_dir, threads=1, sampler=SamplerConfig(guidance=guidance), seed=seed
        )
        return make_policy(config, PolicyContext(self.observed.features, self.task, self.driver.task_prompt))

    def close(self) -> None:
        if self.supervisor is not None:
            self.supervisor.close()
        if self.controller is not None:
            self.controller.close()
        self.driver.disconnect()

    def run(self, seed: int, kind: Kind) -> Trial:
        """One trial: ``seed``'s layout, disturbance ``kind`` drawn from ``seed``."""
        disturbance = Disturbance.draw(kind, seed, self.driver, self.delays)
        driver = DisturbedDriver(self.observed, disturbance)
        loop = assemble_loop(
            driver,
            self.policy(seed),
            loop=self.loop_config,
            safety=SafetyConfig(),
            broker=BrokerConfig(execute_steps=25),
            prompt=self.driver.task_prompt,
            subscribers=self.subscribers,
            reports=self.supervisor,
            corrector=self.controller,
        )
        start = time.perf_counter()
        result = loop.run_episode(0, seed, task=self.task)
        seconds = time.perf_counter() - start
        self.last_result = result
        events = [f"{e.kind}:{e.mode}:{e.reason}" for e in self.controller.events] if self.controller else []
        return Trial(
            self.method,
            kind,
            seed,
            result.outcome.success,
            result.steps,
            disturbance.done_at,
            events,
            seconds,
            result.error,
            self.task,
        )


def robot_config(model: AfilModelConfig | None, task: Task) -> SimAlohaConfig:
    """The simulated ALOHA for a policy: rendering at a vision model's image size with no object state, else at
    ``HEIGHT x WIDTH`` with object state for a state model (``None``: the scripted expert); no camera every tick
    (see :func:`observed_robot`)."""
    if model is not None and model.cameras:
        return SimAlohaConfig(
            task=task,
            cameras=(),
            depth_cameras=(),
            image_height=model.image_height,
            image_width=model.image_width,
            object_state=False,
        )
    return SimAlohaConfig(task=task, cameras=(), image_height=HEIGHT, image_width=WIDTH, object_state=model is not None)


def observed_robot(driver: SimAlohaDriver, model: AfilModelConfig | None) -> EpisodicDriver:
    """What the loop observes: a vision model's cameras captured every ``CAMERA_EVERY`` ticks (its top camera is
    the supervisor's head camera), else the head camera alone every ``HEAD_EVERY`` ticks for the supervisor."""
    cameras = model.cameras if model is not None else ()
    if not cameras:
        return SampledCamera(driver, HEAD, HEAD_EVERY)
    if HEAD not in cameras:
        raise ConfigError(f"the supervisor watches camera {HEAD!r}; this vision model reads {list(cameras)}")
    return CameraFrameRate(driver, cameras, driver.image_size, CAMERA_EVERY)


def table(trials: list[Trial]) -> str:
    """Markdown table: successes / trials, rate and 95 % Wilson interval per (task, method, disturbance)."""
    rows = ["| task | method | disturbance | success | rate | 95 % Wilson |", "| --- | --- | --- | --- | --- | --- |"]
    tasks, methods, kinds = get_args(Task), get_args(Method), get_args(Kind)
    keys = sorted(
        dict.fromkeys((t.task, t.method, t.disturbance) for t in trials),
        key=lambda k: (tasks.index(k[0]), methods.index(k[1]), kinds.index(k[2])),
    )
    for task, method, disturbance in keys:
        group = [t for t in trials if (t.task, t.method, t.disturbance) == (task, method, disturbance)]
        wins = sum(t.success for t in group)
        low, high = wilson_interval(wins, len(group))
        rows.append(
            f"| {task} | {method} | {disturbance} | {wins}/{len(group)} | {wins / len(group):.0%} | "
            f"[{low:.0%}, {high:.0%}] |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=21)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=1500, help="ticks per trial (50 Hz)")
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS), choices=get_args(Method))
    parser.add_argument("--afil-model", type=Path, default=SHIPPED_MODEL, help="model directory of `afil`")
    parser.add_argument("--afil-sym-model", type=Path, help="model directory of `afil_sym` (base + symbol data)")
    parser.add_argument(
        "--afil-vision-model", type=Path, help="model directory of `afil_vision` (an image model with symbol data)"
    )
    parser.add_argument("--disturbances", nargs="+", default=list(get_args(Kind)), choices=get_args(Kind))
    parser.add_argument(
        "--task",
        default="transfer_cube",
        choices=get_args(Task),
        help="insertion runs undisturbed only (the disturbances act on the cube)",
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON with every trial and the table")
    parser.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="run nothing: merge these outputs (e.g. methods run in parallel) into --out",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.combine:
        trials = [Trial(**t) for path in args.combine for t in json.loads(path.read_text())["trials"]]
        write_output(args.out, trials)
        print(table(trials))
        return
    if args.task != "transfer_cube" and args.disturbances != ["none"]:
        parser.error(f"--task {args.task} runs undisturbed only: pass --disturbances none")
    trials: list[Trial] = []
    for method in args.methods:
        given = {"afil": args.afil_model, "afil_sym": args.afil_sym_model, "afil_vision": args.afil_vision_model}
        policy_name = method.partition("+")[0]
        if policy_name in given and given[policy_name] is None:
            parser.error(f"{method} needs --{policy_name.replace('_', '-')}-model")
        models = {name: path for name, path in given.items() if path is not None}
        bench = Bench(method, args.max_steps, models, args.task)
        try:
            for kind in args.disturbances:
                for seed in range(args.seed, args.seed + args.trials):
                    trial = bench.run(seed, kind)
                    trials.append(trial)
                    print(trial.line(), flush=True)
        finally:
            bench.close()
    print(table(trials))
    if args.out is not None:
        write_output(args.out, trials)


def write_output(path: Path, trials: list[Trial]) -> None:
    """The benchmark's output file: protocol (this docstring), table and every trial."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"protocol": __doc__, "table": table(trials), "trials": [asdict(t) for t in trials]}, indent=1)
    )


if __name__ == "__main__":
    main()
