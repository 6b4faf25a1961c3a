"""A sentence-transformers model run on onnxruntime and the `tokenizers` library alone: no torch, no transformers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime
from tokenizers import Tokenizer, normalizers

from common.errors import NewsbotError
from index.embeddings.model_folder import USE_TORCH, ModelFolder

TOKEN_OUTPUTS = ("last_hidden_state", "token_embeddings")
FEATURES = {"input_ids", "attention_mask", "token_type_ids"}


class OnnxEncoder:
    """Texts to the vectors sentence-transformers would give for the same ONNX file of the model's transformer."""

    def __init__(self, folder: ModelFolder, onnx_file: Path, threads: int | None = None):
        self.folder = folder
        self.dimension = folder.dimension
        self.tokenizer = _tokenizer(folder)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.inputs = {node.name for node in self.session.get_inputs()}
        if unknown := self.inputs - FEATURES:
            raise NewsbotError(f"{onnx_file} wants inputs {', '.join(sorted(unknown))}; {USE_TORCH}")
        outputs = [node.name for node in self.session.get_outputs()]
        self.output = next((name for name in TOKEN_OUTPUTS if name in outputs), outputs[0])

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Batches of similar length (longest first, as sentence-transformers does), padded per batch."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            vectors[rows] = self._encode_batch([texts[i] for i in rows])
        return vectors

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        hidden, mask, _ = self._hidden(texts)
        return self.folder.head(hidden, mask)

    def encode_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector and one vector per (start, end) character span of it: the model's pooling over the
        span's tokens only, as read in the context of the whole text ("late chunking": no second pass). A span
        whose tokens were cut off by the length limit gets its text's vector."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        pooled: list[np.ndarray] = [np.empty((0, self.dimension), dtype=np.float32)] * len(texts)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            hidden, mask, offsets = self._hidden([texts[i] for i in rows])
            vectors[rows] = self.folder.head(hidden, mask)
            for row, i in enumerate(rows):
                pooled[i] = self._span_vectors(hidden[row], mask[row], offsets[row], spans[i], vectors[i])
        return vectors, pooled

    def _span_vectors(
        self, hidden: np.ndarray, mask: np.ndarray, offsets: list[tuple[int, int]], spans: list[tuple[int, int]], whole: np.ndarray
    ) -> np.ndarray:
        if not spans:
            return np.empty((0, self.dimension), dtype=np.float32)
        starts = np.array([start for start, _ in offsets])
        ends = np.array([end for _, end in offsets])
        real = (mask > 0) & (ends > starts)  # special tokens have empty offsets
        masks = np.stack([real & (starts >= start) & (ends <= end) for start, end in spans]).astype(np.int64)
        found = masks.sum(axis=1) > 0
        vectors = self.folder.head(np.broadcast_to(hidden, (len(spans), *hidden.shape)), masks).astype(np.float32)
        vectors[~found] = whole
        return vectors

    def _hidden(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[list[tuple[int, int]]]]:
        """The transformer's token vectors, the attention mask and each token's character offsets."""
        encodings = self.tokenizer.encode_batch(texts)
        features = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        (hidden,) = self.session.run([self.output], {name: features[name] for name in self.inputs})
        return hidden, features["attention_mask"], [e.offsets for e in encodings]


def _tokenizer(folder: ModelFolder) -> Tokenizer:
    """The folder's fast tokenizer, truncating at the model's limit and padding to the longest text of a batch."""
    tokenizer = Tokenizer.from_file(str(folder.path / "tokenizer.json"))
    padding = tokenizer.padding or {}
    tokenizer.enable_truncation(folder.max_length)
    tokenizer.enable_padding(pad_id=padding.get("pad_id", 0), pad_token=padding.get("pad_token", "[PAD]"))
    if folder.lowercase:  # lowercasing twice changes nothing, so no need to look for a lowercasing normalizer
        rest = [tokenizer.normalizer] if tokenizer.normalizer else []
        tokenizer.normalizer = normalizers.Sequence([normalizers.Lowercase(), *rest])
    return tokenizer
