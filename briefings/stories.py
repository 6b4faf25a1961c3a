"""Articles grouped into stories: several outlets' versions of one event become one story."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from index.types import StoredArticle

STORY_DAYS = 2  # versions of one story are published within two days of each other


@dataclass(frozen=True)
class Story:
    articles: list[StoredArticle]  # the most central (most like the others) first

    @property
    def outlets(self) -> list[str]:
        return list(dict.fromkeys(article.outlet for article in self.articles))

    @property
    def newest(self) -> str:
        return max(article.published or article.added_at for article in self.articles)


def group_stories(articles: list[StoredArticle], vectors: np.ndarray, threshold: float) -> list[Story]:
    """Average-linkage clustering of the articles' vectors: the two most alike groups merge while their mean
    cosine similarity is at least `threshold` and their articles were published within STORY_DAYS.
    Stories covered by the most outlets come first, then the newest."""
    similarity = vectors @ vectors.T
    groups = [[row] for row in range(len(articles))]
    while pair := _most_alike(groups, similarity, articles, threshold):
        first, second = pair
        groups[first] += groups.pop(second)
    stories = [_story(group, similarity, articles) for group in groups]
    return sorted(stories, key=lambda story: (len(story.outlets), len(story.articles), story.newest), reverse=True)


def _most_alike(
    groups: list[list[int]], similarity: np.ndarray, articles: list[StoredArticle], threshold: float
) -> tuple[int, int] | None:
    best, best_score = None, threshold
    for first, second in combinations(range(len(groups)), 2):
        score = float(similarity[np.ix_(groups[first], groups[second])].mean())
        if score >= best_score and _close_in_time([articles[row] for row in groups[first] + groups[second]]):
            best, best_score = (first, second), score
    return best


def _close_in_time(articles: list[StoredArticle]) -> bool:
    days = [day for article in articles if (day := article.published_day)]
    return not days or (max(days) - min(days)).days <= STORY_DAYS


def _story(group: list[int], similarity: np.ndarray, articles: list[StoredArticle]) -> Story:
    centrality = similarity[np.ix_(group, group)].mean(axis=1)
    order = [group[i] for i in np.argsort(-centrality, kind="stable")]
    return Story([articles[row] for row in order])
