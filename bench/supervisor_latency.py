"""Supervisor costs, measured side by side: parsing, the sim oracle, the OpenAI-compatible client over
loopback, and the control tick with and without a slow supervisor query in flight.

Run: ./run python bench/supervisor_latency.py [--queries 40]

The VLM itself is not here (no GPU, no weights): the chat-completions server on 127.0.0.1 answers
at once with a fixed ViFailback answer, so the client figure is transport + encoding cost only.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np

from failforward.config import OpenAIBackendConfig, ScheduleConfig, ScriptedBackendConfig, SimAlohaConfig, get_preset
from failforward.control.assembly import build_loop
from failforward.supervisor.backends.registry import make_backend
from failforward.supervisor.parser import parse_answer
from failforward.supervisor.scheduler import SupervisorScheduler
from failforward.testing.chat_server import ChatCompletionsServer

ANSWER = (
    "<Think>The provided data indicates a failure occurred. The failure type is identified as 'gripper 6d-pose'."
    '</Think>\n<Answer>\n"success detection": "Failed",\n"low level commands": "Move the right gripper '
    'slightly forward and slightly downward, then close the right gripper.",\n"visual prompts": "Draw '
    "Straight Arrow: {'start_point': [620, 410], 'end_point': [655, 470], 'color': ['green', 'red']}\n"
    "Draw Crosshair: {'position': [655, 470]}\nDraw Off: {'position': [700, 300]}\"\n</Answer>"
)
FRAMES = [np.random.default_rng(i).integers(0, 255, (480, 640, 3), dtype=np.uint8) for i in range(5)]


def per_call_ms(fn, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1e3


def oracle_ms(repeats: int) -> float:
    from failforward.robots.sim_aloha import SimAlohaDriver

    with SimAlohaDriver(SimAlohaConfig(cameras=())) as robot:
        robot.reset(seed=0)
        backend = make_backend(get_preset("sim_transfer_cube").supervisor.backend, state_source=robot.privileged_state)
        try:
            return per_call_ms(lambda: backend.diagnose(FRAMES, "transfer the cube"), repeats)
        finally:
            backend.close()


def client_ms(repeats: int) -> float:
    server = ChatCompletionsServer(ANSWER)
    try:
        backend = make_backend(OpenAIBackendConfig(base_url=server.url, retries=0))
        return per_call_ms(lambda: backend.diagnose(FRAMES, "transfer the cube"), repeats)
    finally:
        server.close()


def tick_ms(with_slow_supervisor: bool, ticks: int) -> np.ndarray:
    """Tick durations [ms] of the hold policy on the sim (head camera 96x128), supervisor asked every chunk."""
    from failforward.robots.sim_aloha import SimAlohaDriver

    config = get_preset("sim_transfer_cube").with_overrides(
        {
            "policy.kind": "hold",
            "loop.max_steps": ticks,
            "loop.stop_on_success": False,
            "record.enabled": False,
            "robot.image_height": 96,
            "robot.image_width": 128,
            "broker.execute_steps": 5,
        }
    )
    supervisor = None
    if with_slow_supervisor:  # every query takes 1 s: always one in flight
        backend = make_backend(ScriptedBackendConfig(answers=(ANSWER,), delay_s=1.0))
        supervisor = SupervisorScheduler(backend, ScheduleConfig(every_chunks=1))
    with SimAlohaDriver(config.robot) as robot:
        loop = build_loop(config, robot, reports=supervisor)
        result = loop.run_episode(0, seed=0, task="transfer_cube")
    if supervisor is not None:
        supervisor.close()
    return np.array([result.timing["tick_p50_ms"], result.timing["tick_p99_ms"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--ticks", type=int, default=300)
    args = parser.parse_args()
    shapes = [(480, 640)] * 5
    parsed = parse_answer(ANSWER, frame_shapes=shapes)
    if len(parsed.symbols) != 3 or parsed.warnings:
        raise RuntimeError(f"the benchmark answer must parse completely: {parsed}")
    parse = per_call_ms(lambda: parse_answer(ANSWER, frame_shapes=shapes), 500)
    print(f"parse one answer (3 symbols):               {parse:8.3f} ms  ({1e3 / parse:,.0f} answers/s)")
    print(f"sim oracle query (state → text → Diagnosis): {oracle_ms(args.queries):8.3f} ms")
    print(f"OpenAI client, 5 frames 640x480, loopback:   {client_ms(args.queries):8.3f} ms (JPEG + base64 + HTTP)")
    base = tick_ms(False, args.ticks)
    busy = tick_ms(True, args.ticks)
    print(f"control tick p50/p99 without supervisor:     {base[0]:8.2f} / {base[1]:.2f} ms")
    print(
        f"control tick p50/p99, 1 s query in flight:   {busy[0]:8.2f} / {busy[1]:.2f} ms "
        f"(p50 ratio {busy[0] / base[0]:.2f})"
    )


if __name__ == "__main__":
    main()
