"""What the Foxglove live view costs the control loop, measured side by side in one run.

Run: ./run python bench/live_view_cost.py [--episodes 2] [--rounds 2]

The same real-time 50 Hz episodes (preset ``sim_transfer_cube``: the expert, the oracle supervisor, PMC recovery,
the head camera at 240x320) run in three settings, interleaved round by round on the same seeds: without the live
view, with the live view and nobody watching, and with a Foxglove WebSocket client subscribed to every topic
(``failforward.testing.foxglove_client``, decoding what arrives). Printed: tick p50/p99 and overruns per setting,
their ratios to the setting without the view, and the view's own cost on the control thread (wall clock and CPU
time in ``on_tick``), queued and dropped ticks, and the messages the client received.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from failforward.config import get_preset
from failforward.control.runtime import run
from failforward.testing.foxglove_client import FoxgloveClient
from failforward.viz.foxglove_live import FoxgloveLiveView

SETTINGS = ("no view", "view, nobody watching", "view, client subscribed")


def _config(episodes: int, output: Path):
    overrides = {
        "episodes": episodes,
        "loop.realtime": True,
        "robot.image_height": 240,
        "robot.image_width": 320,
        "record.output_dir": str(output),
        "viz.foxglove.port": 0,
    }
    return get_preset("sim_transfer_cube").with_overrides(overrides)


def _round(setting: str, config, name: str) -> dict:
    if setting == "no view":
        result = run(config, run_name=name)
        return {"ticks": _ticks(result)}
    with FoxgloveLiveView.for_run(config) as live:
        client = FoxgloveClient(live.url) if setting.endswith("subscribed") else None
        try:
            if client is not None:
                client.wait_for(lambda: bool(client.subscribed_topics()), 10.0)
            result = run(config, run_name=name, subscribers=[live])
            live.flush()
            stats = live.stats()
        finally:
            received = sum(len(client.get(t)) for t in client.topics()) if client else 0
            if client is not None:
                client.close()
    return {"ticks": _ticks(result), "view": stats, "received": received}


def _ticks(result) -> dict:
    episodes = result.episodes
    return {
        "p50_ms": float(np.median([e.timing["tick_p50_ms"] for e in episodes])),
        "p99_ms": float(max(e.timing["tick_p99_ms"] for e in episodes)),
        "overruns": int(sum(e.timing.get("overruns", 0) for e in episodes)),
        "ticks": int(sum(e.timing.get("ticks", 0) for e in episodes)),
        "successes": sum(e.outcome.success for e in episodes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2, help="episodes per setting and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds (the settings interleaved in each)")
    args = parser.parse_args()
    rows: dict[str, list[dict]] = {s: [] for s in SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        config = _config(args.episodes, Path(tmp))
        for r in range(args.rounds):
            for i, setting in enumerate(SETTINGS):
                rows[setting].append(_round(setting, config, f"round{r}-{i}"))
    base = rows["no view"]
    base_p50 = np.median([x["ticks"]["p50_ms"] for x in base])
    base_p99 = max(x["ticks"]["p99_ms"] for x in base)
    print(f"{args.rounds} rounds x {args.episodes} episodes per setting, sim_transfer_cube, 50 Hz real time, 240x320")
    print(
        "| setting | tick p50 [ms] | tick p99 [ms] | p50 ratio | p99 ratio | overruns | view on_tick p50/p99 [ms] "
        "| view CPU p50/p99 [ms] | queued / dropped ticks | messages received |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    summary = {}
    for setting, results in rows.items():
        p50 = float(np.median([x["ticks"]["p50_ms"] for x in results]))
        p99 = float(max(x["ticks"]["p99_ms"] for x in results))
        overruns = sum(x["ticks"]["overruns"] for x in results)
        ticks = sum(x["ticks"]["ticks"] for x in results)
        views = [x["view"] for x in results if "view" in x]
        view = "–"
        cpu = "–"
        queued = "–"
        if views:
            view = (
                f"{np.median([v.tick_cost_p50_ms for v in views]):.3f} / {max(v.tick_cost_p99_ms for v in views):.3f}"
            )
            cpu = f"{np.median([v.tick_cpu_p50_ms for v in views]):.3f} / {max(v.tick_cpu_p99_ms for v in views):.3f}"
            queued = f"{sum(v.queued_ticks for v in views)} / {sum(v.dropped_ticks for v in views)}"
        received = sum(x.get("received", 0) for x in results)
        print(
            f"| {setting} | {p50:.2f} | {p99:.2f} | {p50 / base_p50:.2f} | {p99 / base_p99:.2f} | "
            f"{overruns}/{ticks} | {view} | {cpu} | {queued} | {received if views else '–'} |"
        )
        summary[setting] = {"tick_p50_ms": p50, "tick_p99_ms": p99, "overruns": overruns, "ticks": ticks}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
