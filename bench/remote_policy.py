"""Remote vs in-process policy inference over loopback TCP, interleaved in one run; and robots sharing a server.

Cases (each: a policy server in a child process, the same policy in this process, one request each per round,
the order alternating):

- ``state``: the shipped AFIL model (``models/afil_aloha_transfer_cube``, onnxruntime, one thread), joints + object
  poses in, a 50 x 14 chunk out. The remote and in-process chunks are compared bit for bit on the same noise.
- ``state, echo``: the same messages, served by the zero-cost echo policy
  (:class:`failforward.testing.policy_server.EchoPolicy`): the transport alone, with no idle wait in between.
- ``3 cameras 224x224``: no image model ships, so the server runs the echo policy: the transport cost of three
  150 KB images per request.

Overhead = p50(remote) − p50(in-process); "transport" is the per-call round trip minus the server's own inference
time (every reply carries it). Targets (issue 13): overhead p50 ≤ 1 ms (state), ≤ 5 ms (three cameras).
For scale, the floor of the machine: a bare ZeroMQ ROUTER echo in a child process (no msgpack, no checks), once
answering at once and once after sleeping as long as the model infers (threads that slept wake slowly on a VM).

Several robots: ``k`` = 1..4 clients (threads here, each its own connection) call the state model in closed loop
for ``--seconds``; per client the chunks served, latency p50/p99 and time queued behind the others. The server
serves one request at a time, round-robin across robots: latency ≈ k × inference, equal shares.

Example:
    python bench/remote_policy.py
    python bench/remote_policy.py --rounds 500 --seconds 10 --json runs/bench/remote_policy.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import zmq

from failforward.policy.afil import BackendConfig, load_manifest, make_backend
from failforward.policy.base import PolicyBackend
from failforward.testing.policy_server import EchoPolicy, ServerProcess
from failforward.transport.client import PolicyClient
from failforward.transport.remote_policy import RemotePolicy
from failforward.types import CameraFeature, JointFeature, Observation, RobotFeatures

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "afil_aloha_transfer_cube"
CAMERAS = ("top", "left_wrist", "right_wrist")
TARGET_MS = {"state": 1.0, "state, echo": 1.0, "3 cameras 224x224": 5.0}
WARMUP = 20


def robot(cameras: tuple[str, ...] = ()) -> RobotFeatures:
    """14 joints and one task object (the shipped model's state), ``cameras`` at 224x224."""
    joints = tuple(JointFeature(f"joint{i}", "rad", -3.0, 3.0, 2.0) for i in range(14))
    return RobotFeatures(joints, tuple(CameraFeature(c, 224, 224) for c in cameras), 50.0, ("box",))


def observations(n: int, cameras: tuple[str, ...], seed: int = 0) -> list[Observation]:
    rng = np.random.default_rng(seed)
    return [
        Observation(
            timestamp=0.02 * i,
            joint_positions=rng.normal(0.0, 0.3, 14),
            joint_velocities=rng.normal(0.0, 0.1, 14),
            object_state=rng.normal(0.0, 0.2, 7),
            images={c: rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for c in cameras},
        )
        for i in range(n)
    ]


def remote_policy(endpoint: str, features: RobotFeatures) -> RemotePolicy:
    return RemotePolicy(PolicyClient(endpoint), features, timeout_s=10.0, connect_timeout_s=60.0)


def _round(
    local: PolicyBackend, remote: RemotePolicy, obs: Observation, noise: np.ndarray, remote_first: bool
) -> tuple[float, float, bool]:
    """Both policies on the same input, in the given order: in-process and remote time [s], same chunk or not."""
    seconds, chunks = {}, {}
    for name, policy in (
        (("remote", remote), ("local", local)) if remote_first else (("local", local), ("remote", remote))
    ):
        start = time.perf_counter()
        chunks[name] = policy.infer(obs, noise=noise)
        seconds[name] = time.perf_counter() - start
    return seconds["local"], seconds["remote"], chunks["local"].actions.tobytes() == chunks["remote"].actions.tobytes()


def compare(label: str, local: PolicyBackend, remote: RemotePolicy, obs: list[Observation], rounds: int) -> dict:
    """Interleaved rounds: the same observation and noise to both, the order alternating; times in [ms]."""
    rng = np.random.default_rng(1)
    local_ms, remote_ms, transport_ms, identical = [], [], [], True
    for i in range(WARMUP + rounds):
        noise = rng.standard_normal((50, 14)).astype(np.float32)
        t_local, t_remote, same = _round(local, remote, obs[i % len(obs)], noise, remote_first=i % 2 == 1)
        identical &= same
        if i >= WARMUP and remote.last_timing is not None:
            local_ms.append(t_local * 1e3)
            remote_ms.append(t_remote * 1e3)
            transport_ms.append(t_remote * 1e3 - remote.last_timing.infer_s * 1e3)
    p = {
        name: np.percentile(v, [50, 99])
        for name, v in (("local", local_ms), ("remote", remote_ms), ("transport", transport_ms))
    }
    return {
        "case": label,
        "rounds": rounds,
        "in_process_p50_ms": p["local"][0],
        "in_process_p99_ms": p["local"][1],
        "remote_p50_ms": p["remote"][0],
        "remote_p99_ms": p["remote"][1],
        "overhead_p50_ms": p["remote"][0] - p["local"][0],
        "transport_p50_ms": p["transport"][0],
        "transport_p99_ms": p["transport"][1],
        "identical": identical,
        "target_ms": TARGET_MS[label],
    }  # fmt: skip


def _bare_echo(endpoint: str, idle_s: float) -> None:
    """A bare ROUTER in a child process: sleeps ``idle_s`` [s], then echoes what it slept; b"stop" ends it."""
    context = zmq.Context()
    sock = context.socket(zmq.ROUTER)
    sock.bind(endpoint)
    while (frames := sock.recv_multipart())[-1] != b"stop":
        start = time.perf_counter()
        if idle_s:
            time.sleep(idle_s)
        sock.send_multipart([frames[0], str(time.perf_counter() - start).encode() + b" " * 6000])
    context.destroy(linger=0)


def bare_floor(idle_s: float, rounds: int) -> dict:
    """Round trip minus the server's sleep [ms] of a 2.6 KB request / 6 KB reply through bare ZeroMQ."""
    endpoint = "tcp://127.0.0.1:45719"
    child = multiprocessing.get_context("spawn").Process(target=_bare_echo, args=(endpoint, idle_s))
    child.start()
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.connect(endpoint)
    overhead = []
    for _ in range(WARMUP + rounds):
        start = time.perf_counter()
        sock.send(b"x" * 2600)
        slept = float(sock.recv().split()[0])
        overhead.append((time.perf_counter() - start - slept) * 1e3)
    sock.send(b"stop")
    child.join(10)
    context.destroy(linger=0)
    p50, p99 = np.percentile(overhead[WARMUP:], [50, 99])
    return {"idle_ms": idle_s * 1e3, "p50_ms": float(p50), "p99_ms": float(p99)}


def state_case(rounds: int) -> dict:
    manifest = load_manifest(MODEL)
    local = make_backend(BackendConfig(model_dir=MODEL, sampler=manifest.sampler, threads=1))
    with ServerProcess.model(MODEL) as server:
        remote = remote_policy(server.endpoint, robot())
        row = compare("state", local, remote, observations(64, ()), rounds)
        remote.close()
    return row


def echo_case(rounds: int, cameras: tuple[str, ...]) -> dict:
    args = ["--objects", "1", *(f"--camera={c}:224x224" for c in cameras)]
    with ServerProcess.echo(*args) as server:
        remote = remote_policy(server.endpoint, robot(cameras))
        label = "3 cameras 224x224" if cameras else "state, echo"
        row = compare(label, EchoPolicy(50), remote, observations(16, cameras), rounds)
        remote.close()
    return row


def shared_server(clients: list[int], seconds: float) -> list[dict]:
    """``k`` robots in closed loop on one state-model server, for each ``k`` in ``clients``."""
    rows = []
    with ServerProcess.model(MODEL) as server:
        for k in clients:
            rows.append(_robots(server.endpoint, k, seconds))
    return rows


def _robots(endpoint: str, k: int, seconds: float) -> dict:
    policies = [remote_policy(endpoint, robot()) for _ in range(k)]
    results: list[list[tuple[float, float, float]]] = [[] for _ in range(k)]  # (round trip, infer, queued) [s]
    start = threading.Barrier(k + 1)

    def drive(index: int) -> None:
        obs = observations(8, (), seed=index)
        start.wait()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            policies[index].infer(obs[len(results[index]) % len(obs)])
            timing = policies[index].last_timing
            if timing is not None:
                results[index].append((timing.round_trip_s, timing.infer_s, timing.queued_s))

    threads = [threading.Thread(target=drive, args=(i,)) for i in range(k)]
    for thread in threads:
        thread.start()
    start.wait()
    for thread in threads:
        thread.join()
    for policy in policies:
        policy.close()
    served = [len(r) for r in results]
    every = np.array([t for r in results for t in r]) * 1e3
    return {
        "robots": k,
        "chunks_per_s": sum(served) / seconds,
        "served_min": min(served),
        "served_max": max(served),
        "latency_p50_ms": float(np.percentile(every[:, 0], 50)),
        "latency_p99_ms": float(np.percentile(every[:, 0], 99)),
        "infer_p50_ms": float(np.percentile(every[:, 1], 50)),
        "queued_p50_ms": float(np.percentile(every[:, 2], 50)),
        "queued_max_ms": float(every[:, 2].max()),
    }


def print_comparison(rows: list[dict]) -> None:
    print("remote vs in-process, loopback TCP, interleaved [ms]")
    head = (
        "case",
        "in-proc p50",
        "p99",
        "remote p50",
        "p99",
        "overhead p50",
        "transport p50",
        "p99",
        "target",
        "chunks",
    )
    print("{:<18} {:>11} {:>7} {:>10} {:>7} {:>12} {:>13} {:>6}  {:<11} {}".format(*head))
    for r in rows:
        target = f"≤{r['target_ms']:g} " + ("met" if r["overhead_p50_ms"] <= r["target_ms"] else "MISSED")
        keys = ("in_process_p50_ms", "in_process_p99_ms", "remote_p50_ms", "remote_p99_ms", "overhead_p50_ms")
        cells = [r["case"], *(r[k] for k in keys), r["transport_p50_ms"], r["transport_p99_ms"], target]
        same = "identical" if r["identical"] else "DIFFER"
        print(
            "{:<18} {:>11.3f} {:>7.3f} {:>10.3f} {:>7.3f} {:>12.3f} {:>13.3f} {:>6.3f}  {:<11} {}".format(*cells, same)
        )


def print_floor(rows: list[dict]) -> None:
    for r in rows:
        idle = f"{r['idle_ms']:.1f} ms"
        print(f"bare ZeroMQ round trip, server idle {idle:>7}: p50 {r['p50_ms']:.3f}, p99 {r['p99_ms']:.3f}")


def print_shared(rows: list[dict], seconds: float) -> None:
    print(f"\nrobots sharing one server (state model, closed loop, {seconds:g} s each) [ms]")
    head = ("robots", "chunks/s", "per robot", "latency p50", "p99", "infer p50", "queued p50", "max")
    print("{:>6} {:>9} {:>10} {:>11} {:>7} {:>9} {:>10} {:>7}".format(*head))
    for r in rows:
        share = f"{r['served_min']}-{r['served_max']}"
        keys = ("latency_p50_ms", "latency_p99_ms", "infer_p50_ms", "queued_p50_ms", "queued_max_ms")
        cells = [r["robots"], r["chunks_per_s"], share, *(r[k] for k in keys)]
        print("{:>6} {:>9.1f} {:>10} {:>11.2f} {:>7.2f} {:>9.2f} {:>10.2f} {:>7.2f}".format(*cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="measured rounds per case (after 20 of warm-up)")
    parser.add_argument("--seconds", type=float, default=5.0, help="[s] closed-loop time per robot count")
    parser.add_argument("--robots", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    comparison = [state_case(args.rounds), echo_case(args.rounds, ()), echo_case(args.rounds, CAMERAS)]
    floor = [bare_floor(idle, args.rounds) for idle in (0.0, comparison[0]["in_process_p50_ms"] / 1e3)]
    print_comparison(comparison)
    print_floor(floor)
    shared = shared_server(args.robots, args.seconds)
    print_shared(shared, args.seconds)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"comparison": comparison, "floor": floor, "shared": shared}, indent=2, default=float) + "\n"
        )


if __name__ == "__main__":
    main()
