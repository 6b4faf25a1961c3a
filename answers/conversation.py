"""Lines that are conversation, not a search: greetings and thanks get one friendly line with two example
questions, an empty question a usage line, and a question that is not in English a line saying that the articles
read are English (it is still answered as well as it can be)."""

from __future__ import annotations

import re
import unicodedata

from wordfreq import zipf_frequency

EXAMPLES = "for example “What's new?” or “What happened this week?”"
GREETING_REPLY = f"Hello! I answer questions about the news articles I have read and cite each source: {EXAMPLES}"
THANKS_REPLY = f"You're welcome! Ask me anything else about the news, {EXAMPLES}"
USAGE_REPLY = f"Ask me a question about the news articles I have read, {EXAMPLES}"
LANGUAGE_NOTE = "I read English articles, so I understand questions in English best; here is what I found."

GREETING = re.compile(
    r"^\W*(?:hi|hii+|hello|hallo|hey|heya|hiya|howdy|yo|greetings|good\s+(?:morning|afternoon|evening|day))"
    r"(?:\s+(?:there|bot|all|everyone|folks))?\W*$",
    re.IGNORECASE,
)
THANKS = re.compile(r"^\W*(?:thanks|thank\s+you|thx|ty|cheers|much\s+appreciated)\b(?P<rest>[^?]*)$", re.IGNORECASE)
THANKS_WORDS = 5  # "thank you, that helps": a thanks; "thanks, and what about ...?" is a question
OTHER_LANGUAGES = ("de", "fr", "es", "it", "pt", "nl")
RARE_IN_ENGLISH = 2.5  # Zipf: a word this rare in English ...
COMMON_ELSEWHERE = 3.5  # ... and this common in another language marks the question as written in it
FOREIGN_WORDS = 2
FOREIGN_MARKS = frozenset("¿¡ßñ")


def reply(question: str) -> str | None:
    """The reply to a line that is conversation rather than a question; None for a question."""
    if not any(character.isalnum() for character in question):
        return USAGE_REPLY
    if GREETING.match(question):
        return GREETING_REPLY
    thanks = THANKS.match(question)
    if thanks and len(thanks.group("rest").split()) <= THANKS_WORDS:
        return THANKS_REPLY
    return None


def not_english(question: str) -> bool:
    """Whether the question is written in another language: another script, or at least FOREIGN_WORDS words rare
    in English and common in one of OTHER_LANGUAGES (capitalised ones too: German capitalises its nouns; names
    are rare everywhere)."""
    if any(character in FOREIGN_MARKS for character in question) or _other_script(question):
        return True
    words = re.findall(r"[^\W\d_]+", question)
    rare = [word for word in (w.lower() for w in words) if zipf_frequency(word, "en") < RARE_IN_ENGLISH]
    if len(rare) < FOREIGN_WORDS:  # the other languages' word lists are loaded only for such questions
        return False
    foreign = [
        word
        for word in rare
        if any(zipf_frequency(word, language, wordlist="small") >= COMMON_ELSEWHERE for language in OTHER_LANGUAGES)
    ]
    return len(foreign) >= FOREIGN_WORDS


def _other_script(text: str) -> bool:
    letters = [character for character in text if character.isalpha()]
    return any("LATIN" not in unicodedata.name(character, "") for character in letters)
