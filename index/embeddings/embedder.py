"""Texts to L2-normalised float32 vectors, with the model and backend the caller names."""

from __future__ import annotations

import os
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from common.errors import NewsbotError
from index.embeddings.export import RECIPES, ensure_exported
from index.embeddings.model_folder import ModelFolder, l2_normalized, resolve_model_path

BACKENDS = ("torch", "onnx", "onnx-int8")
QUERY_CACHE = 256

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class _Encoder(Protocol):
    dimension: int

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray: ...


class Embedder:
    """The model loads on first use. `threads`: onnxruntime's intra-op threads (default: every core this process
    may use; a bot worker thread wants 1). `cache_dir`: where ONNX exports go (default: the per-user cache)."""

    def __init__(
        self,
        model_name: str,
        backend: str = "onnx-int8",
        batch_size: int = 16,
        cache_dir: Path | None = None,
        threads: int | None = None,
    ):
        if backend not in BACKENDS:
            raise NewsbotError(
                f"embedding backend '{backend}' (EMBEDDING_BACKEND) is unknown; use one of {', '.join(BACKENDS)}"
            )
        self.model_name = model_name
        self.backend = backend
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.threads = threads

    @property
    def model_id(self) -> str:
        """What the index records: vectors from different model ids must not be mixed. The torch backend's id is
        the bare model name, as indexes made before the ONNX backends recorded it."""
        return self.model_name if self.backend == "torch" else f"{self.model_name} ({RECIPES[self.backend]})"

    def prepare(self, notice: bool = False) -> Path:
        """The file (ONNX) or folder (torch) the model runs from, exported first if missing."""
        path = resolve_model_path(self.model_name)
        if self.backend == "torch":
            return path
        ModelFolder(path)  # refuse a folder the ONNX backends cannot run before spending time on its export
        return ensure_exported(path, self.model_name, self.backend, self.cache_dir, notice)

    @cached_property
    def _encoder(self) -> _Encoder:
        if self.backend == "torch":
            return _TorchEncoder(resolve_model_path(self.model_name), self.threads)
        from index.embeddings.onnx_encoder import OnnxEncoder

        return OnnxEncoder(ModelFolder(resolve_model_path(self.model_name)), self.prepare(notice=True), self.threads)

    @property
    def dimension(self) -> int:
        return int(self._encoder.dimension)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) == 1:  # a query: the search and the answerer's sentence scoring embed it once between them
            return self._embed_query(texts[0])[None].copy()
        vectors = self._encoder.encode(texts, self.batch_size)
        return np.ascontiguousarray(l2_normalized(vectors), dtype=np.float32)

    @lru_cache(maxsize=QUERY_CACHE)  # noqa: B019 (one embedder per process, kept for its lifetime)
    def _embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = np.ascontiguousarray(l2_normalized(self._encoder.encode([text], 1)), dtype=np.float32)[0]
        vector.flags.writeable = False
        return vector

    def embed_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector and one vector per (start, end) character span of it (its sentences). The ONNX
        backends pool the span's tokens from the text's single pass when the model pools by mean; otherwise
        the spans are embedded on their own."""
        if not texts:
            return self.embed([]), []
        from index.embeddings.onnx_encoder import OnnxEncoder  # loaded already when the encoder is one

        encoder = self._encoder
        if isinstance(encoder, OnnxEncoder) and encoder.folder.pooling == ("mean",):
            vectors, pooled = encoder.encode_spans(texts, spans, self.batch_size)
            return np.ascontiguousarray(l2_normalized(vectors), dtype=np.float32), [
                np.ascontiguousarray(l2_normalized(p), dtype=np.float32) if len(p) else p for p in pooled
            ]
        pieces = [text[start:end] for text, text_spans in zip(texts, spans, strict=True) for start, end in text_spans]
        everything = self.embed(texts + pieces)
        vectors, rest = everything[: len(texts)], everything[len(texts) :]
        pooled, at = [], 0
        for text_spans in spans:
            pooled.append(rest[at : at + len(text_spans)])
            at += len(text_spans)
        return vectors, pooled


class _TorchEncoder:
    """The model as shipped, through sentence-transformers (imports torch: seconds)."""

    def __init__(self, path: Path, threads: int | None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as error:  # an install without them: the Docker image
            raise NewsbotError(
                f"EMBEDDING_BACKEND=torch needs torch and sentence-transformers, and {error.name} is not installed "
                "here (the Docker image leaves them out); install them (`pip install torch==2.13.0 "
                "sentence-transformers`), or use EMBEDDING_BACKEND=onnx-int8"
            ) from None

        if threads:
            torch.set_num_threads(threads)
        self.model = SentenceTransformer(str(path), device="cpu")
        self.dimension = int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        vectors: np.ndarray = self.model.encode(
            texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        return vectors
