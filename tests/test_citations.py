"""Citation numbering: by source in order of first use; markers that point nowhere removed."""

from __future__ import annotations

from answers.citations import PASSAGE_SEPARATOR, renumber
from index.types import Passage, StoredArticle


def article(article_id: str) -> StoredArticle:
    return StoredArticle(article_id, f"Title {article_id}", "Outlet", None, "2024-10-22", "now", "hash", {})


def passage(passage_id: int, of: StoredArticle, start: int) -> Passage:
    return Passage(passage_id, of, passage_id, start, start + 10, f"text {passage_id}")


def test_numbers_follow_first_use_and_two_passages_of_one_article_share_one():
    a, b = article("a"), article("b")
    passages = [passage(1, a, 0), passage(2, b, 0), passage(3, a, 500)]
    text, citations = renumber("First [2]. Second [3, 1] . Third [1][3]. Bad [9].", passages)
    assert text == "First [1]. Second [2]. Third [2]. Bad."
    assert [(c.n, c.article_id) for c in citations] == [(1, "b"), (2, "a")]
    assert citations[1].passage == f"text 1{PASSAGE_SEPARATOR}text 3"


def test_text_without_valid_markers_cites_nothing():
    assert renumber("Nothing [0] here [4].", [passage(1, article("a"), 0)]) == ("Nothing here.", [])
