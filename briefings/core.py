"""The briefing API shared by the CLI and the bot: pick articles, group them into stories, tell each story."""

from __future__ import annotations

from datetime import date

from answers.answerer import Answerer
from answers.citations import renumber
from answers.retrieve import Retriever
from answers.timeframes import Timeframe
from briefings.digest import LEAD_PASSAGES, also_reported, story_passages
from briefings.selection import briefing_filters, newest_articles, topic_articles
from briefings.stories import Story, group_stories
from briefings.types import Briefing, BriefingItem
from common.deadline import Deadline


class Briefer:
    """Briefings from the index, told by the answerer (the fallback, extractive, when it writes nothing)."""

    def __init__(
        self,
        retriever: Retriever,
        answerer: Answerer,
        fallback: Answerer,
        articles: int = 30,
        items: int = 5,
        sentences: int = 3,
        story_similarity: float = 0.75,
        min_coverage: float = 0.3,
        deadline_seconds: float = 30.0,
    ):
        self.retriever = retriever
        self.store = retriever.store
        self.answerer = answerer
        self.fallback = fallback
        self.articles = articles  # the newest articles (or the best on a topic) a briefing considers
        self.items = items  # stories per briefing
        self.sentences = sentences  # sentences per story
        self.story_similarity = story_similarity  # cosine at which two articles are one story
        self.min_coverage = min_coverage  # how much of a topic's words an article must hold to be about it
        self.deadline_seconds = deadline_seconds  # for all of a briefing's LLM calls: then its stories are quoted

    def brief(
        self,
        topic: str = "",
        timeframe: Timeframe | None = None,
        indexed_after: int | None = None,
        sources: tuple[str, ...] = (),
        until: date | None = None,
    ) -> Briefing:
        """One item per story among the newest articles (or those most about `topic`) published within
        `timeframe`, and when given: indexed after the store's mark `indexed_after`, from the outlets `sources`,
        published by `until`."""
        filters = briefing_filters(timeframe, indexed_after, sources, until)
        if topic:
            articles = topic_articles(self.retriever, topic, self.articles, self.min_coverage, filters)
        else:
            articles = newest_articles(self.store, self.articles, filters)
        if not articles:
            return Briefing([], topic, timeframe)
        vectors = self.store.article_vectors([article.id for article in articles])
        stories = group_stories(articles, vectors, self.story_similarity)
        deadline = Deadline.after(self.deadline_seconds)
        items = [self.item(story, deadline) for story in stories[: self.items]]
        return Briefing([item for item in items if item.text], topic, timeframe)

    def item(self, story: Story, deadline: Deadline | None = None) -> BriefingItem:
        """The story's headline (its most central article's title) and a few cited sentences (quoted, when the
        answerer writes nothing usable before `deadline`)."""
        leads = self.store.lead_passages([article.id for article in story.articles], LEAD_PASSAGES)
        passages = story_passages([leads[article.id] for article in story.articles])
        text = self.answerer.summarise(passages, self.sentences, deadline) or self.fallback.summarise(
            passages, self.sentences
        )
        text = " ".join(part for part in (text, also_reported(passages, text)) if part)
        cited_text, citations = renumber(text, passages)
        return BriefingItem(story.articles[0].title or "Untitled", cited_text, citations)
