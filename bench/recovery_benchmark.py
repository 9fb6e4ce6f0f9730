"""Closed-loop recovery benchmark in simulation (issue 8, item 5), after ViFailback's Table 4 protocol:
the same initial layouts and the same disturbances for every method, ``--trials`` (≥ 21) trials each.

Run: ./run python bench/recovery_benchmark.py --trials 21 --out runs/recovery_benchmark.json

READ THIS BEFORE QUOTING A NUMBER. "The policy" here is NOT a learned policy: it is the scripted expert
(privileged simulator state) with *stale object perception*: once it has lifted the cube it believes the
cube stays in its right gripper (where it last held it), as a policy that does not notice a drop would.
Failures are *injected*:
- ``knock_out``: a few ticks after the lift the cube is teleported out of the right gripper onto the table
  (a random pose in gym-aloha's cube range, ≥ 6 cm from the gripper);
- ``forced_open``: a few ticks after the lift the right gripper is forced open for 15 ticks (the command
  sent to the simulator is overridden; the safety layer never sees it) and the cube falls.
Methods: ``policy`` (no supervisor, no recovery) and ``policy+pmc`` (privileged sim-oracle supervisor, every
6 chunks over the last 5 s at 1 fps, + the recovery controller in PMC mode). The controller is wired with the
same per-tick glue proposed for ``ControlLoop`` (``failforward.recovery.apply.infer_with_override``).
VSF is not measured: it needs a policy trained on symbol-following data, which the scripted expert is not.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np

from failforward.config import BrokerConfig, SafetyConfig, ScheduleConfig, SimAlohaConfig, SimOracleConfig
from failforward.config.recovery import RecoveryConfig
from failforward.control.broker import ChunkBroker
from failforward.control.safety import SafetyLayer
from failforward.policy.expert.expert import ScriptedExpert
from failforward.policy.expert.geometry import object_pose
from failforward.recovery import RecoveryController, infer_with_override
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.sim.aloha_scene import SimState
from failforward.stats import wilson_interval
from failforward.supervisor.backends.registry import make_backend
from failforward.supervisor.scheduler import SupervisorScheduler
from failforward.types import EpisodeInfo, JointCommand, TickRecord

HEAD, HEIGHT, WIDTH = "top", 240, 320
HEAD_EVERY = 25  # ticks between head-camera renders (the supervisor samples 1 fps)
RIGHT_GRIPPER = 13
BOX_QPOS = slice(16, 23)
LIFTED_Z = 0.04  # [m] cube centre this high (2 cm above its rest height) with stage >= 2 = lifted


def lifted(state: SimState) -> bool:
    """The right gripper has lifted the cube (stage 2 alone flickers while the fingers close)."""
    return state.stage >= 2 and state.object_poses["box"][2] > LIFTED_Z


class StaleBelief:
    """Privileged state as the stale policy sees it: after a lift, the cube rides in the right gripper."""

    def __init__(self, driver: SimAlohaDriver, expert: ScriptedExpert) -> None:
        self.driver, self.expert = driver, expert
        self.offset = None  # cube pose in the right tool frame at the lift

    def reset(self) -> None:
        self.offset = None

    def _tool(self, state: SimState):
        ik = self.expert.ik
        return ik.tool_poses(ik.arms_from_qpos(state.qpos))["right"]

    def update(self) -> None:
        """Called every tick: while the cube is truly lifted the belief tracks it; when it is lost, it freezes."""
        state = self.driver.privileged_state()
        if lifted(state):
            self.offset = self._tool(state).inverse() @ object_pose(state.object_poses["box"])

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
    """Injected ``delay`` ticks after the first lift (:func:`lifted`); ``kind`` as in the module docstring."""

    kind: str
    delay: int
    place_xy: np.ndarray
    lifted_at: int | None = None
    done_at: int | None = None

    @classmethod
    def draw(cls, kind: str, seed: int) -> Disturbance:
        rng = np.random.default_rng(10_000 + seed)  # the same for every method
        return cls(kind, int(rng.integers(2, 15)), rng.uniform([0.0, 0.4], [0.2, 0.6]))

    def before_tick(self, tick: int, driver: SimAlohaDriver) -> None:
        if self.lifted_at is None and lifted(driver.privileged_state()):
            self.lifted_at = tick
        if self.kind == "knock_out" and self.due(tick):
            qpos = driver.scene.data.qpos.copy()
            xy = self.place_xy
            gripper = driver.scene.data.body("vx300s_right/gripper_link").xpos[:2]
            if np.linalg.norm(xy - gripper) < 0.06:
                xy = gripper + 0.06 * (xy - gripper) / max(np.linalg.norm(xy - gripper), 1e-6)
            qpos[BOX_QPOS] = [*xy, 0.02, 1.0, 0.0, 0.0, 0.0]
            driver.scene.set_qpos(qpos)
            self.done_at = tick

    def command(self, tick: int, command: np.ndarray) -> np.ndarray:
        """The command the simulator receives (forced open: the right gripper opens for 15 ticks)."""
        if self.kind == "forced_open" and self.lifted_at is not None and \
                self.lifted_at + self.delay <= tick < self.lifted_at + self.delay + 15:
            command = command.copy()
            command[RIGHT_GRIPPER] = 1.0
            self.done_at = self.done_at if self.done_at is not None else tick
        return command

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


class Bench:
    """One driver and one set of components per method, reset per trial."""

    def __init__(self, method: str, max_steps: int) -> None:
        self.method, self.max_steps = method, max_steps
        self.driver = SimAlohaDriver(SimAlohaConfig(task="transfer_cube", cameras=(), image_height=HEIGHT,
                                                    image_width=WIDTH))
        self.driver.connect()
        self.expert = ScriptedExpert(self.driver.task, lambda: self.belief(), horizon=50)
        self.belief = StaleBelief(self.driver, self.expert)
        self.safety = SafetyLayer(self.driver.features, SafetyConfig(), 50.0)
        self.broker = ChunkBroker(BrokerConfig(execute_steps=25))
        self.supervisor = self.controller = None
        if method == "policy+pmc":
            oracle = make_backend(SimOracleConfig(task="transfer_cube"), state_source=self.driver.privileged_state,
                                  progress_source=lambda: self.driver.episode_outcome().stage)
            self.supervisor = SupervisorScheduler(oracle, ScheduleConfig(camera=HEAD))
            self.controller = RecoveryController.for_sim_aloha(RecoveryConfig(mode="pmc"), self.driver)

    def close(self) -> None:
        if self.supervisor is not None:
            self.supervisor.close()
        if self.controller is not None:
            self.controller.close()
        self.driver.disconnect()

    def _subscribers(self) -> list:
        return [s for s in (self.supervisor, self.controller) if s is not None]

    def run(self, seed: int, disturbance: Disturbance) -> Trial:
        start = time.perf_counter()
        driver = self.driver
        observation = driver.reset(seed)
        self.safety.reset(observation.joint_positions)
        self.broker.reset()
        self.expert.reset()
        self.belief.reset()
        info = EpisodeInfo(0, seed, "transfer_cube", driver.task_prompt, "sim_aloha", driver.features)
        for subscriber in self._subscribers():
            subscriber.on_episode_start(info)
        report, tick = None, 0
        for tick in range(self.max_steps):
            self.belief.update()
            disturbance.before_tick(tick, driver)
            observation = driver.get_observation()
            if tick % HEAD_EVERY == 0:
                observation = replace(observation, images={HEAD: driver.render(HEAD)})
            override = self.controller.step(observation, report) if self.controller is not None else None
            action, chunk = infer_with_override(override, self.broker,
                                                lambda obs, text: self.expert.infer(obs, prompt=text),
                                                observation, driver.task_prompt)
            command = self.safety.clamp(action).command
            sent = driver.send_action(JointCommand(observation.timestamp, disturbance.command(tick, command)))
            record = TickRecord(tick, observation, action, sent, chunk, {})
            for subscriber in self._subscribers():
                subscriber.on_tick(record)
            report = self._answer()
            if driver.episode_outcome().success:
                break
        events = [f"{e.kind}:{e.mode}:{e.reason}" for e in self.controller.events] if self.controller else []
        return Trial(self.method, disturbance.kind, seed, driver.episode_outcome().success, tick + 1,
                     disturbance.done_at, events, time.perf_counter() - start)

    def _answer(self):
        """Wait for a query in flight (deterministic runs), then take the answer, if any."""
        if self.supervisor is None:
            return None
        deadline = time.monotonic() + 10.0
        while self.supervisor.busy and time.monotonic() < deadline:
            time.sleep(0.001)
        return self.supervisor.poll()


def table(trials: list[Trial]) -> str:
    """Markdown table: successes / trials, rate and 95 % Wilson interval per (method, disturbance)."""
    rows = ["| method | disturbance | success | rate | 95 % Wilson |", "| --- | --- | --- | --- | --- |"]
    keys = list(dict.fromkeys((t.method, t.disturbance) for t in trials))
    for method, disturbance in keys:
        group = [t for t in trials if (t.method, t.disturbance) == (method, disturbance)]
        wins = sum(t.success for t in group)
        low, high = wilson_interval(wins, len(group))
        rows.append(f"| {method} | {disturbance} | {wins}/{len(group)} | {wins / len(group):.0%} | "
                    f"[{low:.0%}, {high:.0%}] |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=21)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=1500, help="ticks per trial (50 Hz)")
    parser.add_argument("--methods", nargs="+", default=["policy", "policy+pmc"])
    parser.add_argument("--disturbances", nargs="+", default=["none", "knock_out", "forced_open"])
    parser.add_argument("--out", type=Path, default=None, help="JSON with every trial and the table")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    trials: list[Trial] = []
    for method in args.methods:
        bench = Bench(method, args.max_steps)
        try:
            for kind in args.disturbances:
                for seed in range(args.seed, args.seed + args.trials):
                    trial = bench.run(seed, Disturbance.draw(kind, seed))
                    trials.append(trial)
                    print(f"{method:11s} {kind:11s} seed {seed:3d}: {'ok  ' if trial.success else 'FAIL'} "
                          f"{trial.steps:5d} ticks {trial.seconds:5.1f} s", flush=True)
        finally:
            bench.close()
    print(table(trials))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"protocol": __doc__, "table": table(trials),
                                        "trials": [asdict(t) for t in trials]}, indent=1))


if __name__ == "__main__":
    main()
