"""Sentence embeddings from a model folder on disk (never downloaded at run time).

Backends: `onnx-int8` (the default: about 2.5x faster than float on CPU) and `onnx` run on onnxruntime and the
`tokenizers` library alone, from an ONNX export made once per user (export.py); `torch` runs the model as shipped
through sentence-transformers.
"""

from index.embeddings.embedder import BACKENDS, Embedder
from index.embeddings.model_folder import resolve_model_path

__all__ = ["BACKENDS", "Embedder", "resolve_model_path"]
