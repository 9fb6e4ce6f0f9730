"""Text encoders of the AFIL policy: MiniLM embeddings, the shipped prompt table, the typed refusal, the hash model.

MiniLM (90 MB) loads once per session (``minilm``); the tiny ``minilm`` model trains and exports once per module.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import afil_helpers
import numpy as np
import pytest
import torch

from failforward.learn.config import TrainConfig
from failforward.learn.trainer import export_checkpoint, train
from failforward.policy.afil import BackendConfig, GuidanceConfig, SamplerConfig, get_model_preset, make_backend
from failforward.policy.afil.errors import TextEncoderUnavailableError, UnknownPromptError
from failforward.policy.afil.minilm import MiniLmEmbedder, shared_minilm
from failforward.policy.afil.prompt_table import PromptTable
from failforward.policy.afil.text_encoder import HashTextEncoder, SentenceTextEncoder, load_text_encoder
from failforward.types import Observation

TINY_MINILM = get_model_preset("tiny_state_minilm")
SHIPPED = Path(__file__).parents[2] / "models" / "afil_aloha_transfer_cube"
PROMPTS = ("raise the right gripper a little", "open the left gripper", "transfer the cube")
PARAPHRASES = ("move the right gripper upward slightly", "raise the right gripper a little", "open the left gripper")


class CountingEmbedder:
    """Wraps a real embedder and counts the prompts it was asked to embed."""

    def __init__(self, inner: MiniLmEmbedder) -> None:
        self.inner, self.name, self.dim, self.calls = inner, inner.name, inner.dim, 0

    def embed(self, prompts: Sequence[str]) -> np.ndarray:
        self.calls += len(prompts)
        return self.inner.embed(prompts)


class MissingEmbedder:
    """A host without ``failforward[text]``: every ``embed`` is refused, as MiniLmEmbedder refuses it there."""

    name, dim = "missing", 384

    def embed(self, prompts: Sequence[str]) -> np.ndarray:
        raise TextEncoderUnavailableError("No module named 'sentence_transformers'")


@pytest.fixture(scope="session")
def minilm() -> MiniLmEmbedder:
    embedder = shared_minilm()
    try:
        embedder.embed(["warm up"])
    except TextEncoderUnavailableError as exc:
        pytest.skip(str(exc))
    return embedder


@pytest.fixture(scope="module")
def minilm_model_dir(minilm: MiniLmEmbedder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tiny_state_minilm`` trained 10 steps on toy episodes with the three :data:`PROMPTS`, then exported."""
    out = tmp_path_factory.mktemp("minilm")
    episodes = [replace(e, prompt=PROMPTS[i % 3]) for i, e in enumerate(afil_helpers.toy_episodes())]
    config = TrainConfig(model=TINY_MINILM, out_dir=out / "run", steps=10, batch_size=16, checkpoint_every=10)
    result = train(config, episodes, progress=False)
    assert np.all(np.isfinite(result.losses))
    export_checkpoint(result.checkpoint, out / "model")
    return out / "model"


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_same_prompt_same_embedding_once(minilm):
    counting = CountingEmbedder(minilm)
    encoder = SentenceTextEncoder(TINY_MINILM, embedder=counting)
    a = encoder.encode("Raise the right gripper a little")["prompt_embedding"]
    b = encoder.encode("raise the right  gripper a little")["prompt_embedding"]
    assert a.shape == (384,) and a.dtype == np.float32
    assert np.array_equal(a, b) and counting.calls == 1  # embedded once, then cached
    np.testing.assert_allclose(np.linalg.norm(a), 1.0, atol=1e-5)
    fresh = SentenceTextEncoder(TINY_MINILM, embedder=minilm)  # a new cache: the model gives the same vector again
    np.testing.assert_array_equal(a, fresh.encode(PROMPTS[0])["prompt_embedding"])


def test_paraphrases_are_closer_than_unrelated_commands(minilm):
    encoder = SentenceTextEncoder(TINY_MINILM, embedder=minilm)
    up, raise_, open_ = (encoder.encode(p)["prompt_embedding"] for p in PARAPHRASES)
    assert not np.allclose(up, open_) and not np.allclose(up, raise_)
    assert _cos(up, raise_) > max(_cos(up, open_), _cos(raise_, open_)) + 0.05


def test_known_prompts_come_from_the_table_without_the_model():
    table = PromptTable(PROMPTS, np.eye(3, 384, dtype=np.float32))
    encoder = SentenceTextEncoder(TINY_MINILM, table, embedder=MissingEmbedder())
    got = encoder.encode("Open the LEFT gripper")["prompt_embedding"]
    np.testing.assert_array_equal(got, np.eye(3, 384, dtype=np.float32)[1])
    with pytest.raises(UnknownPromptError, match=r"pip install 'failforward\[text\]'") as info:
        encoder.encode("close the left gripper")
    assert "'open the left gripper'" in str(info.value) and "3 known prompts" in str(info.value)


def test_minilm_model_exports_the_embedding_input_and_its_prompt_table(minilm_model_dir):
    from failforward.policy.afil import load_manifest

    manifest = load_manifest(minilm_model_dir)
    assert manifest.model.text_encoder == "minilm"
    assert manifest.prompts is not None and manifest.prompts.count == 3 and manifest.prompts.dim == 384
    inputs = [(s.name, s.dtype, s.shape) for s in manifest.graphs["backbone"].inputs]
    assert inputs == [("state", "float32", (1, 4)), ("prompt_embedding", "float32", (1, 384))]
    table = PromptTable.load(minilm_model_dir / manifest.prompts.file)
    assert table.prompts == tuple(sorted(PROMPTS))
    np.testing.assert_array_equal(table.get(PROMPTS[0]), shared_minilm().embed([PROMPTS[0]])[0])


@pytest.mark.parametrize("layout", ["fused", "split"])
@pytest.mark.parametrize("prompt", [PROMPTS[0], "lift the right gripper a bit"])  # known, unknown (MiniLM)
def test_minilm_backends_agree_with_torch(minilm_model_dir, layout, prompt):
    sampler = SamplerConfig(guidance=GuidanceConfig())
    reference = make_backend(BackendConfig(backend="torch", model_dir=minilm_model_dir, sampler=sampler))
    ort = make_backend(BackendConfig(backend="onnxruntime", model_dir=minilm_model_dir, sampler=sampler, layout=layout))
    obs = Observation(0.0, np.array([0.1, -0.2, 0.3, 0.0]), np.zeros(4))
    noise = np.random.default_rng(0).standard_normal((8, 4))
    want, got = reference.infer(obs, prompt=prompt, noise=noise), ort.infer(obs, prompt=prompt, noise=noise)
    np.testing.assert_allclose(got.actions, want.actions, atol=1e-3)
    np.testing.assert_allclose(got.guidance, want.guidance, atol=1e-3)


def test_the_prompt_changes_the_chunk(minilm_model_dir):
    policy = make_backend(BackendConfig(backend="onnxruntime", model_dir=minilm_model_dir))
    obs, noise = Observation(0.0, np.zeros(4), np.zeros(4)), np.zeros((8, 4))
    a, b = (policy.infer(obs, prompt=p, noise=noise).actions for p in PROMPTS[:2])
    assert not np.allclose(a, b)


def test_a_host_without_the_text_extra_runs_known_prompts_and_refuses_unknown_ones(minilm_model_dir):
    """A deployed onnxruntime policy: sentence-transformers unimportable, the shipped table answers known prompts."""
    script = textwrap.dedent(f"""
        import sys
        sys.modules["sentence_transformers"] = None  # as if failforward[text] were not installed
        import numpy as np
        from failforward.policy.afil import BackendConfig, make_backend
        from failforward.policy.afil.errors import UnknownPromptError
        from failforward.types import Observation
        policy = make_backend(BackendConfig(backend="onnxruntime", model_dir={str(minilm_model_dir)!r}))
        obs = Observation(0.0, np.zeros(4), np.zeros(4))
        print(policy.infer(obs, prompt={PROMPTS[1].upper()!r}).actions.shape)
        try:
            policy.infer(obs, prompt="wave hello")
        except UnknownPromptError as exc:
            print("refused:", exc)
        print("torch" in sys.modules, "transformers" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    lines = out.stdout.splitlines()
    assert lines[0] == "(8, 4)"
    assert lines[1].startswith("refused: Prompt 'wave hello' is not in this model's prompt table")
    assert "'open the left gripper'" in lines[1] and "failforward[text]" in lines[1]
    assert lines[2] == "False False"  # neither torch nor transformers was imported for a known prompt


def test_the_shipped_hash_model_loads_bit_for_bit():
    from failforward.policy.afil import load_manifest
    from failforward.policy.afil.weights import load_weights

    manifest = load_manifest(SHIPPED)
    assert manifest.model.text_encoder == "hash" and manifest.prompts is None
    model, _ = load_weights(SHIPPED / manifest.weights)
    saved = torch.load(SHIPPED / manifest.weights, weights_only=True)["state_dict"]
    renamed = {"backbone.words.weight": "backbone.prompt.words.weight", "backbone.word_pos": "backbone.prompt.pos"}
    params = model.state_dict()
    assert {renamed.get(k, k) for k in saved} == set(params)
    assert all(torch.equal(v, params[renamed.get(k, k)]) for k, v in saved.items())
    text = load_text_encoder(manifest, SHIPPED)
    assert isinstance(text, HashTextEncoder)
    prompt = text.encode("Transfer the cube")
    ids = torch.from_numpy(prompt["tokens"])[None]
    words, mask = model.backbone.prompt({k: torch.from_numpy(v)[None] for k, v in prompt.items()})
    assert torch.equal(words, saved["backbone.words.weight"][ids] + saved["backbone.word_pos"])
    assert mask.sum() == 3


def test_the_shipped_hash_model_backends_agree():
    sampler = SamplerConfig(guidance=GuidanceConfig())
    reference = make_backend(BackendConfig(backend="torch", model_dir=SHIPPED, sampler=sampler))
    ort = make_backend(BackendConfig(backend="onnxruntime", model_dir=SHIPPED, sampler=sampler))
    obs = Observation(0.0, np.linspace(-0.5, 0.5, 14), np.zeros(14), object_state=np.full(7, 0.1))
    noise = np.random.default_rng(0).standard_normal((50, 14))
    want, got = (b.infer(obs, prompt="transfer the cube", noise=noise) for b in (reference, ort))
    np.testing.assert_allclose(got.actions, want.actions, atol=1e-3)
