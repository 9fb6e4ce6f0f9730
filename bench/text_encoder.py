"""What the minilm prompt encoder costs and buys (docs/text_encoder.md): load and encode time, model-directory
size, and prompt similarity of hash vs MiniLM on the symbol generator's corrective commands.

One CPU thread (ENVIRONMENT.md). The hash "embedding" is the prompt's bag of hashed word buckets (512, as in
``aloha_vision_cpu``): what the hash model's input can tell apart before training (cosine = shared words).

Example:
    python bench/text_encoder.py --json runs/bench/text_encoder.json
    python bench/text_encoder.py --skip-sizes   # without the two model exports (~1 min)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from failforward.learn.models import get_learn_model
from failforward.learn.symbols.config import SymbolDataConfig
from failforward.learn.symbols.sampling import sample_commands
from failforward.policy.afil.minilm import shared_minilm
from failforward.policy.afil.text_encoder import make_text_encoder
from failforward.supervisor.commands import format_commands

BRIEF_TRIO = ("move the right gripper upward slightly", "raise the right gripper a little", "open the left gripper")
# Free-text paraphrases a VLM supervisor might write → the generator command they mean.
PARAPHRASES = {
    "lift the right gripper a bit": "Move the right gripper upward slightly.",
    "raise the left gripper a lot": "Move the left gripper upward significantly.",
    "lower the right gripper a little": "Move the right gripper downward slightly.",
    "bring the left gripper down a lot": "Move the left gripper downward significantly.",
    "push the right gripper forward a bit": "Move the right gripper forward slightly.",
    "pull the left gripper back a little": "Move the left gripper backward slightly.",
    "shift the right gripper a little to the left": "Move the right gripper to the left slightly.",
    "release the left gripper": "Open the left gripper.",
    "let go with the right gripper": "Open the right gripper.",
    "grasp with the left gripper": "Close the left gripper.",
    "twist the right gripper clockwise": "Rotate the right gripper clockwise.",
    "turn the left gripper counterclockwise": "Rotate the left gripper counter-clockwise.",
}
COLD = """
import time; t0 = time.perf_counter()
from failforward.policy.afil.minilm import shared_minilm
e = shared_minilm(); e.embed(["warm up"]); t1 = time.perf_counter()
print(t1 - t0, e.load_seconds)
"""


def generator_commands(n: int = 3000, seed: int = 0) -> dict[str, tuple]:
    """Distinct corrective prompts of the symbol generator → their commands."""
    rng = np.random.default_rng(seed)
    out = {}
    for _ in range(n):
        commands = sample_commands(rng, SymbolDataConfig())
        out[format_commands(commands)] = commands
    return dict(sorted(out.items()))


def hash_vectors(prompts: list[str]) -> np.ndarray:
    """Bag of hashed word buckets ``[N, 512]`` (aloha_vision_cpu's tokenizer), L2-normalized."""
    encoder = make_text_encoder(get_learn_model("aloha_vision_cpu").model_copy(update={"max_prompt_tokens": 64}))
    rows = np.zeros((len(prompts), 512))
    for i, p in enumerate(prompts):
        out = encoder.encode(p)
        np.add.at(rows[i], out["tokens"][out["token_mask"]], 1.0)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def minilm_vectors(prompts: list[str]) -> np.ndarray:
    return shared_minilm().embed(prompts)


def cold_load(runs: int = 2) -> list[dict[str, float]]:
    """Fresh processes: import + load + first embedding [s] (the first run may also fill the page cache)."""
    out = []
    for _ in range(runs):
        line = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True, check=True).stdout.split()
        out.append({"first_embedding_s": float(line[0]), "load_s": float(line[1])})
    return out


def encode_times(prompts: list[str]) -> dict[str, float]:
    """Per new prompt (one MiniLM pass) [ms] and per known prompt (table/cache hit) [µs], medians."""
    embedder = shared_minilm()
    embedder.embed(["warm up"])
    new = []
    for p in prompts:
        t = time.perf_counter()
        embedder.embed([p])
        new.append(time.perf_counter() - t)
    encoder = make_text_encoder(get_learn_model("aloha_vision_cpu_minilm"))
    table = encoder.table(prompts[:20])
    known = make_text_encoder(get_learn_model("aloha_vision_cpu_minilm"), table)
    hits = []
    for p in table.prompts * 200:
        t = time.perf_counter()
        known.encode(p)
        hits.append(time.perf_counter() - t)
    return {
        "new_prompt_ms_p50": 1e3 * float(np.median(new)),
        "new_prompt_ms_p90": 1e3 * float(np.percentile(new, 90)),
        "known_prompt_us_p50": 1e6 * float(np.median(hits)),
    }


def sizes(prompts: list[str]) -> dict[str, dict[str, int]]:
    """Bytes per file of random-weight exports of aloha_vision_cpu (hash) and aloha_vision_cpu_minilm."""
    import torch

    from failforward.policy.afil import DualActionGenerator, NormStats
    from failforward.policy.afil.export import export_model

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("aloha_vision_cpu", "aloha_vision_cpu_minilm"):
            torch.manual_seed(0)
            cfg = get_learn_model(name)
            table = make_text_encoder(cfg).table(prompts)
            norm = NormStats.identity(cfg.state_dim, cfg.action_dim)
            export_model(DualActionGenerator(cfg), norm, Path(tmp) / name, prompts=table)
            out[name] = {f.name: f.stat().st_size for f in sorted((Path(tmp) / name).iterdir())}
    return out


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _key(commands: tuple) -> tuple:
    """(gripper, what the first command does): ``Move`` direction, ``Rotate`` direction or ``Grasp`` state."""
    c = commands[0]
    return c.gripper, type(c).__name__, getattr(c, "direction", getattr(c, "state", None))


def similarity(commands: dict[str, tuple]) -> dict[str, dict[str, float]]:
    """Hash vs MiniLM: the brief's trio, same-/other-meaning cosines, paraphrase → command top-1 retrieval."""
    prompts = list(commands)
    keys = [_key(c) for c in commands.values()]
    same = np.array([[a == b for b in keys] for a in keys]) & ~np.eye(len(keys), dtype=bool)
    other = ~same & ~np.eye(len(keys), dtype=bool)
    out = {}
    for name, embed in (("hash", hash_vectors), ("minilm", minilm_vectors)):
        v, trio = embed(prompts), embed(list(BRIEF_TRIO))
        sims, queries = v @ v.T, embed(list(PARAPHRASES))
        top1 = [prompts[int(np.argmax(v @ q))] == want for q, want in zip(queries, PARAPHRASES.values(), strict=True)]
        out[name] = {
            "trio_up_vs_raise": _cos(trio[0], trio[1]),
            "trio_up_vs_open_left": _cos(trio[0], trio[2]),
            "trio_raise_vs_open_left": _cos(trio[1], trio[2]),
            "generator_same_meaning_mean": float(sims[same].mean()),
            "generator_other_meaning_mean": float(sims[other].mean()),
            "paraphrase_top1": float(np.mean(top1)),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--skip-sizes", action="store_true", help="skip the two model exports")
    args = parser.parse_args()
    commands = generator_commands()
    results = {"generator_prompts": len(commands), "cold_load": cold_load()}
    results["encode"] = encode_times(list(commands))
    results["similarity"] = similarity(commands)
    if not args.skip_sizes:
        results["sizes"] = sizes(list(commands))
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
