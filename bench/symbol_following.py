"""Does a learned policy follow ViFailback's atomic corrective commands? Symbol-following benchmark on the
simulated ALOHA transfer_cube (the commands VSF prompts the policy with).

Run: python bench/symbol_following.py --trials 40 --out docs/symbol_following.json

Protocol (per seed ``s`` of ``--seed ..``, held out from training: ``learn symbols`` used 50 000 .., the demos
0 .. 99): the generator's sampler (``failforward.learn.symbols.generate.sample_episodes``, ``rng =
default_rng(s)``) draws the expert prelude length and the command; the scene is reset to ``s`` and the scripted
expert runs the prelude; at the hand-over tick PMC plans the command from the last row sent (as the generator
does; its plan gives the requested tool and the motion's length ``T`` [ticks]). Then, per method:

- ``pmc``: the PMC plan itself is executed: the generator's own episode (``run_symbol_episodes``), the ceiling;
- ``tc_sym`` / ``tc_obj``: the learned policy (AFIL, unguided, flow noise seeded with ``s``) takes over, prompted
  with the command's sentence, for ``T + --margin`` ticks (``tc_sym``: base + symbol data; ``tc_obj``: base only);
- ``vision_sym``: the image model trained on base + symbol data seen through VSF (``--vision-model``,
  ``scripts/train_vision_tc_sym.sh``) does the same, seeing what VSF shows it at runtime: the command's symbols
  drawn on its top image (pixels of the model's image size), everything outside their ROI zeroed, the idle arm's
  wrist image zeroed; ``vision_sym_text`` is the same model on the plain images (the sentence alone), so the two
  rows measure what the drawn symbols add. Both run on a robot rendering the model's cameras at its size (the
  symbols and PMC's plan refer to that image), so their ``pmc`` ceiling is the generator's at that size;
- ``hold``: nothing follows the command, the arms hold the last row (the do-nothing floor of error and progress).

Everything runs in ``ControlLoop`` with the preset's chunk broker and safety layer, through the generator's
``SymbolJudge`` and ``judge_motion`` (same tolerances: tool point within 1 cm of the requested one, rotation
within 0.1 rad, opening within 0.25), measured ``T`` (PMC) or ``T + margin`` (learned) ticks after the hand-over.
Commands PMC refuses (a no-op open/close, an unreachable target) have no requested tool: they are counted as
refused and left out of every method's rates, so all methods are judged on the same commands.

Reported per command kind (``move``: moves, also "open, and move"; ``rotate``; ``open/close``): successes, rate
and 95 % Wilson interval; for moves the mean distance of the tool from the requested point [cm] and the mean
progress along the requested shift (``measured · requested / |requested|²``: 1 = the full commanded
displacement, 0 = none, < 0 = the opposite way).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np

from failforward.config import BrokerConfig, LoopConfig, SafetyConfig, SimAlohaConfig
from failforward.config.policy import AfilPolicyConfig, GuidanceConfig, SamplerConfig
from failforward.config.run import get_preset
from failforward.control.assembly import assemble_loop
from failforward.learn.symbols.config import SymbolDataConfig
from failforward.learn.symbols.generate import SymbolEpisodeSpec, SymbolJudge, run_symbol_episodes, sample_episodes
from failforward.learn.symbols.plan import SymbolPlanner
from failforward.learn.symbols.policy import SymbolMotionPolicy
from failforward.policy.afil.manifest import load_manifest
from failforward.policy.base import PolicyBackend
from failforward.policy.expert.expert import ScriptedExpert
from failforward.policy.registry import PolicyContext, make_policy
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.stats import wilson_interval
from failforward.supervisor.commands import Grasp, Rotate
from failforward.symbols.vsf import vsf_observation
from failforward.types import ActionChunk, Observation

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "tc_sym": ROOT / "runs/learn/tc_sym/round_0/model",
    "tc_obj": ROOT / "runs/learn/tc_obj/round_2/model",
    "vision_sym": ROOT / "runs/learn/tc_vision_sym/round_0/model",
}
SEES_SYMBOLS = {"vision_sym": True, "vision_sym_text": False}  # vision methods: VSF view or plain images
METHODS = ["pmc", *MODELS, "vision_sym_text", "hold"]
KINDS = ("move", "rotate", "open/close")


class LearnedFollower(SymbolMotionPolicy):
    """The generator's policy with the corrective motion handed to a learned policy.

    Prelude rows (the scripted expert) until ``takeover``; there PMC plans the command (the plan defines the
    requested tool and the motion length ``T`` [ticks], it is never executed); then ``learned`` is asked for
    chunks prompted with the command's sentence, at most ``chunk_size`` rows each. :attr:`motion_end` is
    ``takeover + T + margin``, where :class:`SymbolJudge` measures the tool. A refused plan holds, as in the
    generator.
    """

    def __init__(
        self, prelude: PolicyBackend, planner: SymbolPlanner, chunk_size: int, margin: int, sees_symbols: bool = False
    ) -> None:
        self.learned: PolicyBackend | None = None
        self.margin, self.sees_symbols = margin, sees_symbols
        super().__init__(prelude, planner, chunk_size)

    @property
    def motion_end(self) -> int | None:
        end = super().motion_end
        return None if end is None else end + self.margin

    def reset(self) -> None:
        super().reset()
        if self.learned is not None:
            self.learned.reset()

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        if self.handed < self.takeover:
            return super().infer(obs, prompt=prompt)
        if self.plan is None and self.refusal is None:
            self._plan_motion(obs)
        if self.plan is None or self.learned is None:
            return self._hand(self._last[None, :], "hold")  # type: ignore[index]
        if self.sees_symbols:  # what the VSF mode shows the policy (recovery.modes.vsf), default margins
            diagnosis = self.plan.diagnosis
            obs = vsf_observation(obs, diagnosis.symbols, diagnosis.active_grippers)
        rows = self.learned.infer(obs, prompt=self.plan.prompt).actions[: self.chunk_size]
        return self._hand(rows, "learned")


def command_kind(commands: tuple) -> str:
    """``open/close`` when every command is open/close, ``rotate`` with a rotation, else ``move``."""
    if all(isinstance(c, Grasp) for c in commands):
        return "open/close"
    return "rotate" if any(isinstance(c, Rotate) for c in commands) else "move"


def learned_policy(model_dir: Path, driver: SimAlohaDriver, seed: int) -> PolicyBackend:
    """AFIL from ``model_dir``, unguided (failure head unused), flow noise seeded with ``seed``."""
    config = AfilPolicyConfig(
        model_dir=model_dir, threads=1, seed=seed, sampler=SamplerConfig(guidance=GuidanceConfig(mode="none"))
    )
    return make_policy(config, PolicyContext(driver.features, "transfer_cube", driver.task_prompt))


def run_learned(
    driver: SimAlohaDriver,
    specs: list[SymbolEpisodeSpec],
    config: SymbolDataConfig,
    model_dir: Path | None,
    broker: BrokerConfig,
    safety: SafetyConfig,
    margin: int,
    sees_symbols: bool = False,
) -> list[dict[str, Any]]:
    """One row per spec (the generator's row format) with ``model_dir``'s policy doing the corrective motion
    (``None``: nobody does it, the arms hold); ``sees_symbols``: it gets the VSF view of each observation."""
    chunk = broker.execute_steps
    follower = LearnedFollower(
        ScriptedExpert(driver.task, driver.privileged_state, horizon=chunk),
        SymbolPlanner.for_sim_aloha(driver, config),
        chunk,
        margin,
        sees_symbols,
    )
    judge = SymbolJudge(driver, follower, config)
    rate = driver.features.control_hz
    rows = []
    for index, spec in enumerate(specs):
        follower.learned = None if model_dir is None else learned_policy(model_dir, driver, spec.seed)
        follower.load(spec.takeover, spec.commands)
        steps = spec.takeover + config.max_motion_ticks + margin + 1
        loop = assemble_loop(
            judge,
            follower,
            loop=LoopConfig(rate_hz=rate, max_steps=steps),
            safety=safety,
            broker=broker,
            prompt=spec.prompt,
        )
        judge.stop = loop.request_stop
        result = loop.run_episode(index, spec.seed, task=driver.task.name)
        outcome = judge.episode_outcome() if result.error in (None, "stopped on request") else result.outcome
        rows.append(
            {
                "seed": spec.seed,
                "takeover": spec.takeover,
                "prompt": spec.prompt,
                "success": outcome.success,
                "reason": outcome.reason,
                "ticks": result.steps,
                "refused": follower.refusal is not None,
                "arm": follower.plan.arm if follower.plan else None,
                "verdict": judge.verdict.to_dict() if judge.verdict is not None else None,
            }
        )
    return rows


def progress(verdict: dict[str, Any]) -> float:
    """Fraction of the requested shift done along its direction (1 = all of it; see the module docstring)."""
    requested, measured = np.asarray(verdict["requested_shift_m"]), np.asarray(verdict["measured_shift_m"])
    return float(measured @ requested / max(float(requested @ requested), 1e-12))


def summarize(rows: list[dict[str, Any]], kinds: list[str]) -> dict[str, Any]:
    """Per command kind (and ``all``): successes, judged trials, rate, Wilson 95 %; move error [cm], progress."""
    judged = [(r, k) for r, k in zip(rows, kinds, strict=True) if not r["refused"]]
    out: dict[str, Any] = {"refused": len(rows) - len(judged)}
    for kind in ("all", *KINDS):
        group = [r for r, k in judged if kind in ("all", k)]
        wins = sum(r["success"] for r in group)
        low, high = wilson_interval(wins, len(group))
        out[kind] = {
            "successes": wins,
            "trials": len(group),
            "rate": wins / len(group) if group else None,
            "wilson95": [low, high],
        }
    moves = [r["verdict"] for r, k in judged if k == "move" and r["verdict"] is not None]
    out["move_error_cm"] = float(np.mean([100 * v["position_error_m"] for v in moves])) if moves else None
    out["move_progress"] = float(np.mean([progress(v) for v in moves])) if moves else None
    return out


def table(summaries: dict[str, dict[str, Any]]) -> str:
    """Markdown table: one row per method."""

    def cell(s: dict[str, Any]) -> str:
        if not s["trials"]:
            return "–"
        return f"{s['successes']}/{s['trials']} = {s['rate']:.0%} [{s['wilson95'][0]:.0%}, {s['wilson95'][1]:.0%}]"

    rows = [
        "| method | all | move | rotate | open/close | move error [cm] | move progress |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for method, s in summaries.items():
        error = "–" if s["move_error_cm"] is None else f"{s['move_error_cm']:.1f}"
        prog = "–" if s["move_progress"] is None else f"{s['move_progress']:.2f}"
        rows.append(f"| {method} | " + " | ".join(cell(s[k]) for k in ("all", *KINDS)) + f" | {error} | {prog} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40, help="seeds (commands) per method")
    parser.add_argument("--seed", type=int, default=60_000, help="first seed (held out from training)")
    parser.add_argument("--margin", type=int, default=25, help="[ticks] learned policies get T + margin ticks")
    parser.add_argument("--methods", nargs="+", default=["pmc", "tc_sym", "tc_obj", "hold"], choices=METHODS)
    parser.add_argument(
        "--vision",
        action="store_true",
        help="run every method on the vision model's cameras and image size, with no object state",
    )
    parser.add_argument("--vision-model", type=Path, default=MODELS["vision_sym"], help="model of vision_sym*")
    parser.add_argument("--out", type=Path, default=None, help="JSON with the protocol, summaries and every trial")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    preset, config = get_preset("sim_transfer_cube"), SymbolDataConfig()
    specs = sample_episodes(args.trials, args.seed, config)
    kinds = [command_kind(s.commands) for s in specs]
    models = {**MODELS, "vision_sym": args.vision_model}
    if any(m in SEES_SYMBOLS for m in args.methods) and not args.vision:
        parser.error("vision_sym and vision_sym_text need --vision (the robot renders the model's cameras)")
    robot = {**preset.robot.model_dump(exclude={"kind"}), "cameras": (), "depth_cameras": (), "object_state": True}
    if args.vision:
        vision = load_manifest(args.vision_model).model
        robot.update(
            cameras=vision.cameras, image_height=vision.image_height, image_width=vision.image_width, object_state=False
        )
    driver = SimAlohaDriver(SimAlohaConfig(**robot))
    driver.connect()
    trials, summaries, seconds = {}, {}, {}
    try:
        for method in args.methods:
            start = time.perf_counter()
            if method == "pmc":
                rows = run_symbol_episodes(driver, specs, config, broker=preset.broker, safety=preset.safety)
            else:
                model_dir = models["vision_sym"] if method in SEES_SYMBOLS else models.get(method)
                sees = SEES_SYMBOLS.get(method, False)
                rows = run_learned(driver, specs, config, model_dir, preset.broker, preset.safety, args.margin, sees)
            seconds[method] = time.perf_counter() - start
            trials[method], summaries[method] = rows, summarize(rows, kinds)
            print(f"{method}: {summaries[method]['all']} in {seconds[method]:.0f} s", flush=True)
    finally:
        driver.disconnect()
    print(table(summaries))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "protocol": __doc__,
                    "seeds": [args.seed, args.seed + args.trials],
                    "margin_ticks": args.margin,
                    "models": {m: str(p) for m, p in models.items()},
                    "robot": {k: robot[k] for k in ("cameras", "image_height", "image_width")},
                    "kinds": kinds,
                    "table": table(summaries),
                    "summaries": summaries,
                    "seconds": seconds,
                    "trials": trials,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
