"""The extractive answerer: the best sentences of the retrieved passages, each cited. No LLM, instant."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date

import numpy as np

from answers.answerer import Written
from answers.evidence import Evidence, Sentence
from answers.kinds import counts_one_thing, short_answers, source_of
from answers.meaning import SentenceMeaning
from answers.safety import is_instruction
from answers.types import Turn
from common.deadline import Deadline
from index.passages import sentence_units
from index.store import Search
from index.types import Passage, TextEmbedder

SECOND_SENTENCE_MARGIN = 0.05  # a second sentence is quoted when it scores nearly as well as the best ...
OTHER_ARTICLE_MARGIN = 0.1  # ... or, from another article, almost as well
PERIOD_MARGIN = 0.2  # ... or, when the best is from outside the period a question names, from within it
DETAILED = (5, 0.3)  # detailed answers: at most this many sentences, each within this margin of the best
LEADING_CLAUSE = re.compile(
    r"^(?:despite [^,]{3,80}|however|meanwhile|nevertheless|still|but|and|also|in addition),\s+(?!who|which|whose)(?=[a-z])",
    re.IGNORECASE,
)
SUMMARY_WORDS = (6, 60)  # sentences shorter or longer than this don't make a briefing
REDUNDANT = 0.8  # a sentence this similar to one already chosen says nothing new


class ExtractiveAnswerer:
    name = "extractive"
    streams = False
    metered = False

    def __init__(self, embedder: TextEmbedder, store: Search | None = None):
        self.embedder = embedder
        self.store = store  # its stored sentence and article vectors make a briefing's sentences cheap to weigh
        self.meaning = SentenceMeaning(embedder, store)

    def check(self) -> None:
        """Always answers: it needs nothing but the index."""

    def answer(
        self,
        question: str,
        history: Sequence[Turn],
        evidence: Evidence,
        today: date,
        detailed: bool = False,
        deadline: Deadline | None = None,
    ) -> Written:
        return compose(evidence, detailed, question)
        yield  # a generator that writes nothing as it goes: the answer is there at once

    def summarise(self, passages: list[Passage], sentences: int, deadline: Deadline | None = None) -> str:
        """The most central sentences (the most similar to the passages' mean vector: what the story is about),
        most central first, preferring outlets not yet cited, none repeating another."""
        units = [
            (Sentence(text, source, 0.0, 0.0), span.row)
            for source, passage in enumerate(passages)
            for span in sentence_units(passage.text)
            if not span.furniture
            and SUMMARY_WORDS[0]
            <= len((text := passage.text[span.start : span.end].strip()).split())
            <= SUMMARY_WORDS[1]
            and not is_instruction(text)
        ]
        if not units:
            return ""
        candidates = [sentence for sentence, _ in units]
        vectors, centroid = self._meanings(passages, units)
        similarity, centrality = vectors @ vectors.T, vectors @ centroid
        outlets = [passages[sentence.source].article.outlet for sentence in candidates]
        chosen: list[int] = []
        while len(chosen) < sentences:
            fresh = [i for i in range(len(candidates)) if all(similarity[i, j] < REDUNDANT for j in chosen)]
            if not fresh:
                break
            new_outlet = [i for i in fresh if outlets[i] not in {outlets[j] for j in chosen}]
            chosen.append(max(new_outlet or fresh, key=lambda i: centrality[i]))
        return " ".join(cited(candidates[i]) for i in chosen)

    def _meanings(self, passages: list[Passage], units: list[tuple[Sentence, int]]) -> tuple[np.ndarray, np.ndarray]:
        """The candidate sentences' vectors and what the passages are about (their articles' mean vector): stored
        in the index when it has them (no model run), else made now."""
        if self.store is None:
            vectors = self.embedder.embed([sentence.text for sentence, _ in units])
            return vectors, self.embedder.embed([passage.text for passage in passages]).mean(axis=0)
        rows = self.meaning.of_passages(passages)
        vectors = np.array([rows[sentence.source][row] for sentence, row in units], dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        articles = list(dict.fromkeys(passage.article.id for passage in passages))
        centroid: np.ndarray = self.store.article_vectors(articles).mean(axis=0)
        return vectors, centroid


def compose(evidence: Evidence, detailed: bool = False, question: str = "") -> str:
    """Sentences with `[n]` markers, n being the 1-based position of the sentence's passage in the evidence: the
    best one or two (`detailed`: up to five), or for a question in parts the best of each part; a sentence that
    leans on the one before ("They characterized ...") comes after it. When the question asks for a figure, a
    date, a place, a name or a role, the short answer comes first, taken verbatim from the quoted sentences; when
    they give different figures, each with who gives it (and a sentence giving another figure is quoted too)."""
    if evidence.parts:  # each part's best sentence that another part has not taken
        chosen: list[Sentence] = []
        for part in evidence.parts:
            fresh = [s for s in part.sentences if all(s.text != c.text for c in chosen)]
            chosen += fresh[:1]
    elif detailed:
        chosen = _several(evidence.sentences, *DETAILED)
    else:
        chosen = _choose(
            evidence.sentences,
            lambda sentence: evidence.passages[sentence.source].passage.article.id,
            evidence.in_period,
        )
    disagreeing = _disagreeing(question, evidence, chosen) if question and not evidence.parts else []
    chosen += [sentence for sentence in disagreeing if sentence not in chosen]
    quoted: list[tuple[str, int]] = []  # (sentence, its passage)
    for sentence in chosen:
        for text, source in ((sentence.lead, sentence.lead_source), (sentence.text, sentence.source)):
            if text and all(text != earlier for earlier, _ in quoted):
                quoted.append((text, source))
    sentences = " ".join(cited(Sentence(text, source, 0.0, 0.0)) for text, source in quoted)
    short = _short_answer(question, evidence, chosen[:1] + disagreeing) if question and not evidence.parts else ""
    return f"{short} {sentences}" if short else sentences


DISAGREEING_MARGIN = 0.3
DAYS = r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today)\b"  # a sentence giving another figure is quoted when it scores this close to the best


def _figures(question: str, sentence: Sentence) -> list[str]:
    return short_answers(question, " ".join(part for part in (sentence.lead, sentence.text) if part))


def _disagreeing(question: str, evidence: Evidence, chosen: list[Sentence]) -> list[Sentence]:
    """A sentence that gives the asked figure differently from the best one (another source's count; it may be
    the second sentence chosen already), when a figure is asked for and one scores nearly as well."""
    if not chosen or not chosen[0].typed >= 1 or not re.match(r"^\W*how\s+(?:many|much)\b", question, re.I):
        return []
    if not counts_one_thing(question):  # "how much did it cost?": another figure may be of another thing
        return []
    given = set(_figures(question, chosen[0]))
    precise = any(re.search(r"\d", figure) for figure in given)  # "thousands" does not disagree with 2,300
    if not given:
        return []
    days = {day.lower() for day in re.findall(DAYS, question, re.IGNORECASE)}  # "still without power on Sunday"
    for candidate in evidence.sentences:
        if candidate.score < chosen[0].score - DISAGREEING_MARGIN:
            break
        if candidate is chosen[0] or candidate.typed < 1:
            continue
        if days and not days <= {day.lower() for day in re.findall(DAYS, candidate.text, re.IGNORECASE)}:
            continue
        other = {figure for figure in _figures(question, candidate) if re.search(r"\d", figure) or not precise}
        if other and not other & given and not any(_same_figure(a, b) for a in other for b in given):
            return [candidate]
    return []


def _same_figure(one: str, other: str) -> bool:
    digits = [re.sub(r"\D", "", figure) for figure in (one, other)]
    if digits[0] or digits[1]:
        return digits[0] == digits[1]
    return one.lower().split()[-1:] == other.lower().split()[-1:]  # "Two" and "two"


def _short_answer(question: str, evidence: Evidence, chosen: list[Sentence]) -> str:
    """The short answer line: one figure, date, place, name or role; or several figures, each with its source."""
    given: dict[str, str] = {}  # figure -> who gives it
    figures_asked = re.match(r"^\W*(?:and\s+)?how\s+(?:many|much)\b", question, re.I)
    for sentence in chosen if figures_asked else chosen[:1]:  # one date, place or name: the best sentence's
        text = " ".join(part for part in (sentence.lead, sentence.text) if part)
        for figure in short_answers(question, text):
            if not any(_same_figure(figure, known) or figure == known for known in given):
                outlet = evidence.passages[sentence.source].passage.article.source
                given[figure] = source_of(text, figure) or outlet
    if not given:
        return ""
    sources = set(given.values())
    figures = list(given) if figures_asked and len(sources) == len(given) else list(given)[:1]  # one each
    if len(figures) == 1:
        return _capitalised(figures[0]) + "."
    parts = [f"{figure}, according to {who}" if who else figure for figure, who in given.items()]
    return _capitalised(", and ".join(parts) if len(parts) == 2 else "; ".join(parts)) + "."


def _capitalised(text: str) -> str:
    return text[0].upper() + text[1:] if text else text


def _choose(
    sentences: list[Sentence], article_of: Callable[[Sentence], str], in_period: frozenset[int]
) -> list[Sentence]:
    """The best sentence, and a second one that says something else and scores nearly as well: when the best is
    from outside the period the question names, one from within it (PERIOD_MARGIN); else from another article
    (another outlet's or another day's account) within OTHER_ARTICLE_MARGIN, else within SECOND_SENTENCE_MARGIN."""
    if not sentences:
        return []
    best = sentences[0]
    close = [
        candidate
        for candidate in sentences[1:]
        if candidate.score >= best.score - PERIOD_MARGIN and not _similar(candidate.text, best.text)
    ]
    period = [c for c in close if c.source in in_period] if in_period and best.source not in in_period else []
    close = [c for c in close if c.score >= best.score - OTHER_ARTICLE_MARGIN]
    other_article = [c for c in close if article_of(c) != article_of(best)]
    same_article = [c for c in close if c.score >= best.score - SECOND_SENTENCE_MARGIN]
    return [best, *(period or other_article or same_article)[:1]]


def _several(sentences: list[Sentence], most: int, margin: float) -> list[Sentence]:
    """Up to `most` sentences within `margin` of the best, none repeating one already chosen."""
    chosen: list[Sentence] = []
    for candidate in sentences:
        if len(chosen) == most or (chosen and candidate.score < chosen[0].score - margin):
            break
        if not any(_similar(candidate.text, other.text) for other in chosen):
            chosen.append(candidate)
    return chosen


def _similar(a: str, b: str) -> bool:
    words_a, words_b = set(a.lower().split()), set(b.lower().split())
    return len(words_a & words_b) / max(1, min(len(words_a), len(words_b))) > 0.6


def cited(sentence: Sentence) -> str:
    """The sentence tidied (leading connective dropped, capitalised) with its `[n]` marker before the stop."""
    text = LEADING_CLAUSE.sub("", " ".join(sentence.text.split()))
    text = text[0].upper() + text[1:]
    marker = f" [{sentence.source + 1}]"
    if text[-1] in ".!?":
        return text[:-1] + marker + text[-1]
    if text[-1] in "\"'”’" and len(text) > 1 and text[-2] in ".!?":
        return text + marker
    return text + marker + "."
