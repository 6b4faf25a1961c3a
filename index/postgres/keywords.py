"""Keyword search inside PostgreSQL: BM25 computed in SQL over a postings table, with the same terms (index.terms:
stemmed, stop words left out, the title included) and the same formula as the embedded store's bm25s index
(method "lucene": idf = ln(1 + (N - df + 0.5) / (df + 0.5)), k1 = 1.5, b = 0.75), so both stores rank alike.
Also the words of each passage, counted for the vocabulary."""

from __future__ import annotations

from collections import Counter

from index.terms import terms

K1 = 1.5
B = 0.75


def query_terms(query: str) -> tuple[list[str], list[int]]:
    """The query's distinct terms and how often each occurs (bm25s counts a repeated term again)."""
    counts = Counter(terms(query))
    return list(counts), list(counts.values())


def bm25_sql(where: str | None) -> str:
    """(passage id, article id, day, score) of the passages that hold a query term (and pass `where`, a condition
    on alias p, when given), best first. Parameters, in order: terms, repeats, passages in the index (N),
    average passage length, the values of `where`, the limit. Without a filter the scores come from the
    postings' index alone; the passages are read for the best only."""
    filtered = f"JOIN passages p ON p.id = o.passage_id WHERE {where}" if where else ""
    return f"""
        WITH query AS (SELECT * FROM unnest(%s::text[], %s::int[]) AS q(term, repeats)),
        weights AS (
            SELECT q.term, q.repeats * ln(1 + (%s - count(*) + 0.5) / (count(*) + 0.5)) AS idf
            FROM query q JOIN postings o ON o.term = q.term GROUP BY q.term, q.repeats
        ),
        scores AS (
            SELECT o.passage_id,
                   sum(w.idf * o.frequency / (o.frequency + {K1} * (1 - {B} + {B} * o.passage_terms / %s))) AS score
            FROM weights w JOIN postings o ON o.term = w.term {filtered}
            GROUP BY o.passage_id ORDER BY score DESC, o.passage_id LIMIT %s
        )
        SELECT s.passage_id, p.article_id, p.day, s.score, p.ordinal FROM scores s JOIN passages p ON p.id = s.passage_id
        ORDER BY s.score DESC, s.passage_id"""
