"""The naive LangChain pipeline the retrieval figures are compared with: a FAISS store of fixed-size chunks
(built by scripts/bench_index.py), ranked by similarity alone."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from common.errors import NewsbotError
from evaluation import realtimeqa
from wiring.settings import Settings

BENCH_EXTRA = ("langchain_community", "langchain_huggingface", "langchain_text_splitters")


@contextmanager
def bench_extra() -> Iterator[None]:
    """Around the imports of the naive pipeline: when the bench extra is not installed, one line saying how to
    install it."""
    try:
        yield
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] not in BENCH_EXTRA:
            raise
        raise NewsbotError(
            f"the naive LangChain pipeline needs the bench extra ({error.name} is not installed): install it with "
            "`.venv/bin/pip install -e '.[bench]'` (`make bench` and `make eval` do)"
        ) from None


def naive_rankings(
    naive_dir: Path, settings: Settings, questions: Sequence[realtimeqa.Question], time_aware: bool
) -> list[list[str]]:
    """The naive LangChain pipeline's ranking: articles in order of their best chunk (with the same date
    window applied to its results when time-aware)."""
    with bench_extra():
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
