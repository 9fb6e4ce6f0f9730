"""Nothing on the serving path can unpickle: no pickle-family import, every ``torch.load`` with ``weights_only=True``,
no ``allow_pickle=True``, no msgpack object or ext hooks. The serving path is the transport, the serve command,
and the code the server builds its policy with (the whole ``policy`` package: AFIL weights, manifests, backends)."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "failforward"
SERVING_PATH = sorted(
    {
        *SRC.glob("transport/*.py"),
        *SRC.glob("policy/**/*.py"),
        *SRC.glob("config/*.py"),
        SRC / "cli" / "serve.py",
        SRC / "cli" / "main.py",
        SRC / "testing" / "policy_server.py",
        SRC / "types.py",
        SRC / "registry.py",
    }
)
PICKLERS = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "marshal", "shelve", "jsonpickle"}
HOOKS = {"ext_hook", "object_hook", "object_pairs_hook", "list_hook"}


def unsafe_loading(source: str) -> list[str]:
    """What in ``source`` could unpickle (one line per finding; empty when nothing)."""
    findings = [f"mentions {word}" for word in sorted(_code_words(source) & PICKLERS)]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            findings += _unsafe_call(node)
    return findings


def _code_words(source: str) -> set[str]:
    """Identifiers in the code, outside comments and strings (docstrings may say "no pickle")."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {token.string for token in tokens if token.type == tokenize.NAME}


def _unsafe_call(call: ast.Call) -> list[str]:
    name = ast.unparse(call.func)
    keywords = {k.arg: k.value for k in call.keywords}
    findings = []
    if re.search(r"(^|\.)load$", name) and "torch" in name:
        safe = keywords.get("weights_only")
        if not (isinstance(safe, ast.Constant) and safe.value is True):
            findings.append(f"line {call.lineno}: {name}(...) without weights_only=True")
    allow = keywords.get("allow_pickle")
    if allow is not None and not (isinstance(allow, ast.Constant) and allow.value is False):
        findings.append(f"line {call.lineno}: {name}(..., allow_pickle=...)")
    findings += [f"line {call.lineno}: {name}(..., {hook}=...)" for hook in sorted(HOOKS & set(keywords))]
    return findings


@pytest.mark.parametrize("path", SERVING_PATH, ids=lambda p: str(p.relative_to(SRC)))
def test_the_serving_path_never_unpickles(path: Path) -> None:
    assert unsafe_loading(path.read_text()) == []


def test_the_serving_path_includes_the_weight_loading() -> None:
    names = {str(p.relative_to(SRC)) for p in SERVING_PATH}
    assert {"policy/afil/weights.py", "policy/afil/manifest.py", "transport/wire.py", "cli/serve.py"} <= names
    assert "torch.load(" in (SRC / "policy" / "afil" / "weights.py").read_text()  # the check below sees a real call


@pytest.mark.parametrize(
    "snippet",
    [
        "import pickle",
        "from pickle import loads",
        "import dill as d",
        "x = cloudpickle.loads(b)",
        "torch.load(p)",
        "torch.load(p, map_location='cpu', weights_only=False)",
        "import torch.serialization\ntorch.serialization.load(p)",
        "np.load(f, allow_pickle=True)",
        "msgpack.unpackb(b, ext_hook=hook)",
        "msgpack.Unpacker(object_hook=f)",
    ],
)
def test_the_check_catches_unpickling(snippet: str) -> None:
    assert unsafe_loading(snippet)


def test_the_check_allows_safe_loading() -> None:
    assert unsafe_loading('"""no pickle here"""\n# nor pickle\ntorch.load(p, weights_only=True)\nnp.load(f)') == []
