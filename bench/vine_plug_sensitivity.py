"""Does the learned System 1 follow the plug? Its chunk's end under a moved plug (issue 16).

On labelled states of ``bench/vine.py dagger`` rollouts under ``grasp <plug>`` prompts, the target plug's observed
position is moved by ``--shift`` [m] along world x and along world y, and the model is asked again with the same
flow noise. The gain is how far the grasping arm's tool point at the executed chunk's last row (forward kinematics
of the chunk's arm joints) moves along the shift, divided by the shift: 1 when the arm follows the plug, 0 when the
chunk ignores where the plug is. Printed per model: the gain's p10 / p50 / p90 over states and axes, and the mean
tool motion across the shift.

With ``--live N`` the states are those of ``N`` live rollouts of the first ``--model`` under the random planner
(seen layouts from 100000, at every chunk boundary under a grasp prompt, up to ``--per-file`` per episode), and the
prompted expert is measured beside each model: its label is planned once from the simulator's state and once from
the same state with the plug moved (the expert plans from privileged state, so the shift is applied there). The
expert's gain is the reference: what a 25-row chunk that follows the plug moves.

Example:
    ./run python bench/vine_plug_sensitivity.py runs/vine/onpolicy_h25_tools --model runs/vine/models_h25_tools/system1
    ./run python bench/vine_plug_sensitivity.py --live 4 --model runs/vine/models_h25/system1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from failforward.policy.afil.state_features import ALOHA_ARM_COLUMNS, aloha_tool_points
from failforward.policy.base import PolicyBackend
from failforward.policy.expert.plug_strip import grasp_side
from failforward.sim.plug_strip_layout import OBJECTS
from failforward.types import Observation

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling bench vine_dagger_error
from vine_dagger_error import unguided_system1


def grasp_states(dirs: list[Path], per_file: int) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """``(joints [14], objects [21], prompt)`` of up to ``per_file`` grasp-prompt states per episode (seed 0)."""
    rng, out = np.random.default_rng(0), []
    for d in dirs:
        rows = [json.loads(line) for line in (d / "episodes.jsonl").read_text().splitlines() if line.strip()]
        for file in (Path(r["file"]) for r in rows if r.get("file")):
            with np.load(file) as data:
                picks = [k for k, p in enumerate(data["prompt"].tolist()) if p.split(" ")[0] == "grasp"]
                for k in rng.permutation(picks)[:per_file]:
                    out.append((data["joints"][k], data["objects"][k], str(data["prompt"][k])))
    return out


def end_tool(model, joints: np.ndarray, objects: np.ndarray, prompt: str, side: str, every: int) -> np.ndarray:
    """The ``side`` tool point [m] at row ``every − 1`` of the model's chunk (flow-noise seed 0)."""
    model.reset()
    model.seed_episode(0)
    obs = Observation(0.0, joints, np.zeros_like(joints), object_state=objects)
    row = np.asarray(model.infer(obs, prompt=prompt).actions)[every - 1]
    tools = aloha_tool_points(row[list(ALOHA_ARM_COLUMNS)][None])[0]
    return tools[:3] if side == "left" else tools[3:]


def gains(model, states, shift: float, every: int) -> list[float]:
    """Per state and axis (x, y): the tool's motion along a plug shift of ``shift`` [m], over ``shift``."""
    out = []
    for joints, objects, prompt in states:
        plug = prompt.split(" ", 1)[1]
        at = 7 * OBJECTS.index(plug)
        side = grasp_side(objects[at : at + 2])
        base = end_tool(model, joints, objects, prompt, side, every)
        for axis in (0, 1):
            moved = objects.copy()
            moved[at + axis] += shift
            out.append(float((end_tool(model, joints, moved, prompt, side, every) - base)[axis] / shift))
    return out


class LiveProbe(PolicyBackend):
    """Runs ``learner``; at each grasp-prompt chunk boundary (up to ``limit`` per episode) keeps the observation and
    the prompted expert's gains to a plug shift of ``shift`` [m] along x and y (see the module docstring)."""

    def __init__(self, learner: PolicyBackend, driver, shift: float, every: int, limit: int) -> None:
        from failforward.learn.vine.dagger import SubgoalLabeller

        self.learner, self.driver, self.shift, self.every, self.limit = learner, driver, shift, every, limit
        self._state: list = [None]
        self.labeller = SubgoalLabeller(driver.task, lambda: self._state[0])
        self.states: list[tuple[np.ndarray, np.ndarray, str]] = []
        self.expert_gains: list[float] = []
        self._taken = 0

    def reset(self) -> None:
        self.learner.reset()
        self.labeller.reset()
        self._taken = 0

    def seed_episode(self, episode_seed: int) -> None:
        self.learner.seed_episode(episode_seed)

    def infer(self, obs: Observation, *, prompt: str = "", noise=None, prefix=None):
        chunk = self.learner.infer(obs, prompt=prompt, noise=noise, prefix=prefix)
        verb, _, plug = prompt.partition(" ")
        if verb == "grasp" and plug in OBJECTS and self._taken < self.limit:
            gains = self._expert_gains(obs, prompt, plug)
            if gains is not None:
                self._taken += 1
                self.states.append((obs.joint_positions.copy(), obs.object_state.copy(), prompt))
                self.expert_gains.extend(gains)
        return chunk

    def _expert_gains(self, obs: Observation, prompt: str, plug: str) -> list[float] | None:
        """The expert's tool motion along each shift over the shift, or ``None`` where it cannot label the state."""
        state = self.driver.privileged_state()
        side = grasp_side(state.object_poses[plug][:2])
        ends = []
        for axis in (None, 0, 1):
            poses = dict(state.object_poses)
            if axis is not None:
                poses[plug] = poses[plug].copy()
                poses[plug][axis] += self.shift
            self._state[0] = replace(state, object_poses=poses)
            label = self.labeller.label(obs, prompt, self.every)
            if label is None:
                return None
            tools = aloha_tool_points(label[self.every - 1][list(ALOHA_ARM_COLUMNS)][None])[0]
            ends.append(tools[:3] if side == "left" else tools[3:])
        return [float((ends[axis + 1] - ends[0])[axis] / self.shift) for axis in (0, 1)]


def live_states(model: Path, episodes: int, shift: float, every: int, limit: int):
    """``(states, expert gains)`` from ``episodes`` live rollouts of ``model`` under the random planner."""
    from failforward.control.assembly import build_loop, policy_context
    from failforward.policy.registry import make_policy
    from failforward.robots.registry import make_driver
    from vine import episode_config

    config = episode_config("seen", 100_000, {"kind": "random", "seed": 0}, None, model)
    config = config.with_overrides({"broker.execute_steps": every})
    with make_driver(config.robot) as driver:
        probe = LiveProbe(make_policy(config.policy, policy_context(config, driver)), driver, shift, every, limit)
        loop = build_loop(config, driver, policy=probe)
        for index in range(episodes):
            loop.run_episode(index, 100_000 + index, task=config.robot.task)
    return probe.states, probe.expert_gains


def percentiles(values: list[float]) -> str:
    g = np.percentile(values, [10, 50, 90])
    return f"{g[0]:.2f} / {g[1]:.2f} / {g[2]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", type=Path, nargs="*", help="label directories of bench/vine.py dagger")
    parser.add_argument("--live", type=int, default=0, help="instead: states of this many live rollouts (+ expert)")
    parser.add_argument("--model", type=Path, nargs="+", required=True, help="System 1 model directories")
    parser.add_argument("--shift", type=float, default=0.02, help="plug displacement [m]")
    parser.add_argument("--per-file", type=int, default=4, help="grasp states per episode")
    parser.add_argument("--every", type=int, default=25, help="chunk rows the loop executes (broker.execute_steps)")
    args = parser.parse_args()
    if args.live:
        states, expert = live_states(args.model[0], args.live, args.shift, args.every, args.per_file)
        source = f"{args.live} live rollouts of {args.model[0]}"
    else:
        states, expert, source = grasp_states(args.dirs, args.per_file), [], ", ".join(map(str, args.dirs))
    print(f"{len(states)} grasp states from {source}; plug moved {args.shift * 1000:.0f} mm")
    print("| model | gain p10 / p50 / p90 (1: follows the plug, 0: ignores it) |\n| --- | --- |")
    if expert:
        print(f"| the prompted expert (privileged state) | {percentiles(expert)} |")
    for path in args.model:
        print(f"| {path} | {percentiles(gains(unguided_system1(path), states, args.shift, args.every))} |")


if __name__ == "__main__":
    main()
