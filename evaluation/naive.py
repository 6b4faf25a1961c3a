"""The naive LangChain pipeline the retrieval figures are compared with: a FAISS store of fixed-size chunks
(built by scripts/bench_index.py), ranked by similarity alone."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evaluation import realtimeqa
from wiring.settings import Settings


def naive_rankings(
    naive_dir: Path, settings: Settings, questions: Sequence[realtimeqa.Question], time_aware: bool
) -> list[list[str]]:
    """The naive LangChain pipeline's ranking: articles in order of their best chunk (with the same date
    window applied to its results when time-aware)."""
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings

    from index.embeddings import resolve_model_path

    embeddings = HuggingFaceEmbeddings(model_name=str(resolve_model_path(settings.embedding_model)))
    store = FAISS.load_local(str(naive_dir), embeddings, allow_dangerous_deserialization=True)
    rankings = []
    for question in questions:
        window = realtimeqa.as_of(question) if time_aware else None
        ranking: list[str] = []
        for document in store.similarity_search(question.sentence, k=400 if time_aware else 60):
            published = (document.metadata.get("published") or "")[:10]
            if window and not (str(window.published_from) <= published <= str(window.published_to)):
                continue
            url = realtimeqa.protocol_url(document.metadata["url"])
            if url not in ranking:
                ranking.append(url)
        rankings.append(ranking)
    return rankings
