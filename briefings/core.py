"""The briefing API shared by the CLI and the bot: pick articles, group them into stories, tell each story."""

from __future__ import annotations

from answers.citations import renumber
from answers.core import AnswerService
from answers.timeframes import Timeframe
from briefings.digest import LEAD_PASSAGES, also_reported, extractive_digest, llm_digest, story_passages
from briefings.selection import article_vectors, lead_passages, newest_articles, topic_articles
from briefings.stories import Story, group_stories
from briefings.types import Briefing, BriefingItem
from newsbot.settings import Settings


class Briefer:
    """Briefings from the index an AnswerService reads, with its answerer (extractive or LLM)."""

    def __init__(self, answers: AnswerService, settings: Settings):
        self.answers = answers
        self.settings = settings

    def brief(self, topic: str = "", timeframe: Timeframe | None = None, indexed_after: int | None = None) -> Briefing:
        """One item per story among the newest articles (or those most about `topic`) published within
        `timeframe` and, when given, indexed after the `index_mark` `indexed_after`."""
        reader, limit = self.answers.retriever.reader, self.settings.briefing_articles
        if topic:
            articles = topic_articles(
                self.answers.retriever, topic, limit, self.answers.min_coverage, timeframe, indexed_after
            )
        else:
            articles = newest_articles(reader, limit, timeframe, indexed_after)
        if not articles:
            return Briefing([], topic, timeframe)
        stories = group_stories(articles, article_vectors(reader, articles), self.settings.story_similarity)
        items = [self.item(story) for story in stories[: self.settings.briefing_items]]
        return Briefing([item for item in items if item.text], topic, timeframe)

    def item(self, story: Story) -> BriefingItem:
        """The story's headline (its most central article's title) and a few cited sentences."""
        passages = story_passages(lead_passages(self.answers.retriever.reader, story.articles, LEAD_PASSAGES))
        generator = self.answers.generator
        text = llm_digest(generator, self.settings.prompts_dir, passages) if generator else ""
        embedder, sentences = self.answers.retriever.embedder, self.settings.briefing_sentences
        text = text or extractive_digest(passages, story.centroid, embedder, sentences)
        text = " ".join(part for part in (text, also_reported(passages, text)) if part)
        cited_text, citations = renumber(text, passages)
        return BriefingItem(story.articles[0].title or "Untitled", cited_text, citations)
