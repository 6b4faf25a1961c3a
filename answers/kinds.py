"""What kind of answer a question asks for ("how many" a number, "how hot" a temperature, "when" a date, "who" a
name), and whether a sentence holds one: a sentence that cannot answer the question is not its answer."""

from __future__ import annotations

import re
from collections.abc import Callable

from index.terms import stem, words

NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundred|"
    r"dozens?|hundreds|thousands?|millions?|billions?|trillions?|half|quarter|a third"
)
NUMBER = re.compile(rf"\d[\d,.]*|\b(?:{NUMBER_WORDS})\b", re.IGNORECASE)
YEAR = re.compile(r"^(?:1[89]|20)\d\d$")
MONEY = re.compile(
    r"[$€£¥]\s?\d|\b\d[\d,.]*\s*(?:million|billion|trillion|bn|m)?\s*(?:dollars?|euros?|pounds?|yen|yuan|francs?|"
    r"rupees?|roubles?|rubles?|won|pesos?|cents?|pence)\b",
    re.IGNORECASE,
)
PERCENT = re.compile(r"\d\s*(?:%|percent\b|per cent\b|percentage points?\b)", re.IGNORECASE)
TEMPERATURE = re.compile(r"\d\s*(?:°|degrees?\b|celsius\b|fahrenheit\b|kelvin\b)", re.IGNORECASE)
AGE = re.compile(r"\b\d{1,3}-year-old\b|\b\d{1,3} years? old\b|\baged? (?:of )?\d{1,3}\b|,\s*\d{1,3},", re.I)
UNIT = (
    r"km|kilomet(?:re|er)s?|met(?:re|er)s?|miles?|feet|foot|ft|inches|cm|centimet(?:re|er)s?|hectares?|acres?|"
    r"square|light[- ]years?|times|tonnes?|tons?|kilograms?|kg|pounds?|litres?|liters?|gallons?|gigabytes?|GB"
)
MEASURE = re.compile(rf"\d[\d,.]*\s*(?:{UNIT})\b|\b(?:{NUMBER_WORDS})\s+(?:{UNIT})\b", re.IGNORECASE)
DURATION = re.compile(
    rf"(?:\d[\d,.]*|\b(?:{NUMBER_WORDS}))\s*(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?)\b",
    re.IGNORECASE,
)
SPEED = re.compile(r"\d\s*(?:km/h|mph|knots|kilomet(?:re|er)s? (?:an|per) hour|miles (?:an|per) hour)", re.I)
SCORELINE = re.compile(r"\b\d{1,2}\s*[-–]\s*\d{1,2}\b")
TIME = re.compile(
    r"\b(?:(?:1[89]|20)\d\d|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|"
    r"may|june|july|august|september|october|november|december|yesterday|today|tomorrow|tonight|week|month|year|"
    r"spring|summer|autumn|winter|christmas|easter|morning|afternoon|evening|night|decade|century|ago|"
    r"\d{1,2}(?::\d\d)?\s*[ap]\.?m\b)",
    re.IGNORECASE,
)
CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)(?<!^\W)\b[A-Z][a-z][\w'-]*")
CALENDAR = frozenset(
    "january february march april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday".split()
)

ROLES = (
    r"president|prime minister|minister|secretary(?:-general)?|chancellor|mayor|governor|councillor|senator|"
    r"ambassador|spokes(?:man|woman|person)|official|director|chairman|chairwoman|chair|chief executive|"
    r"executive|chief|head|leader|founder|co-founder|manager|coach|captain|striker|midfielder|defender|"
    r"goalkeeper|professor|researcher|scientist|analyst|economist|author|editor|lawyer|judge|commander|general"
)
# Titles of whoever leads something: a reader's "chief" or "head" is an article's "secretary-general" or "president".
LEADER_STEMS = frozenset(
    stem(word)
    for word in "president minister secretary chancellor mayor governor chief head leader director chairman "
    "chairwoman chair executive general commander boss".split()
)
NAME = r"[A-Z][a-z'-]+(?:\s+(?:de|van|von|da|al|bin|le)?\s*[A-Z][a-z'-]+)+"
PERSON_WITH_ROLE = re.compile(
    rf"\b(?i:{ROLES})\W+(?:[a-z]+\s+){{0,2}}{NAME}|{NAME},\s+(?:the|a|an|its|their|his|her)?\s*(?:[\w-]+\s+){{0,4}}"
    rf"(?i:{ROLES})\b"
)
COPULA = r"^\W*(?:what|whats|what's)\b(?:\s+(?:is|was|are|were|will be|has been))?"
KINDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bhow\s+old\b|\bwhat\s+age\b", re.I), "age"),
    (re.compile(r"\bhow\s+(?:hot|cold|warm)\b|\bwhat\s+temperature\b", re.I), "temperature"),
    (re.compile(r"\bhow\s+fast\b|\bwhat\s+speed\b", re.I), "speed"),
    (  # how far prices fell, how much output grew: a change, in percent or a number
        re.compile(
            r"\bhow\s+(?:far|much|high|low)\b.*\b(?:fall|fell|fallen|rise|rose|risen|drop|dropped|climb|climbed|"
            r"grow|grew|grown|increase|increased|decrease|decreased|slide|slid|jump|jumped|gain|gained|decline|"
            r"declined|shrink|shrank|shrunk)\b",
            re.I,
        ),
        "percent or number",
    ),
    (re.compile(r"\bhow\s+(?:far|big|large|tall|high|deep|wide|heavy|small)\b", re.I), "measure"),
    (re.compile(r"\bhow\s+long\b", re.I), "duration or measure"),
    (
        re.compile(
            r"\bhow\s+much\b.*\b(?:cost|costs|pay|paid|spend|spent|worth|money|price|fund|raise|raised|earn)", re.I
        ),
        "money",
    ),
    (
        re.compile(
            COPULA + r".*\b(?:cost|price|profit|revenue|sales|budget|salary|wages?|income|loss|deficit|debt|"
            r"valuation|fine|fee|funding|investment|worth)\b",
            re.I,
        ),
        "money",
    ),
    (re.compile(r"^\W*what\b.*\bcost\W*$", re.I), "money"),
    (
        re.compile(
            COPULA + r".*\b(?:rate|percentage|percent|share|proportion|inflation|unemployment|growth)\b|"
            r"\bwhat\s+(?:percentage|percent|share|proportion)\b",
            re.I,
        ),
        "percent or number",
    ),
    (re.compile(r"\bhow\s+(?:many|much|often)\b|\bwhat\s+(?:number|amount)\b", re.I), "number"),
    (re.compile(r"^\W*what\b.*\b(?:score|scoreline|result)\b", re.I), "score"),
    (re.compile(r"^\W*when\b|\b(?:what|which)\s+(?:year|date|day|month|time)\b", re.I), "time"),
    (
        re.compile(rf"^\W*(?:who|whom|whose)\b|\b(?:what|which)\s+(?:\w+\s+)?(?:person|player|{ROLES})\b", re.I),
        "person",
    ),
    (
        re.compile(
            r"\b(?:what|which)\s+(?:\w+\s+)?(?:company|firm|team|club|group|country|city|town|place|"
            r"organi[sz]ation)\b",
            re.I,
        ),
        "name",
    ),
    (re.compile(r"^\W*where\b", re.I), "place"),
]
# "in the kitchen", "at a school near ...": a place without a capitalised name
LOCATIVE = re.compile(
    r"\b(?:in|at|near|outside|inside|under|beside|behind|across|along|into|onto)\s+(?:the|a|an|his|her|their|its)\s+"
    r"[a-z]{3,}",
    re.I,
)

COUNTED = re.compile(r"\bhow\s+many\s+((?:[\w-]+\s+){0,2}[\w-]+)", re.IGNORECASE)
Kind = Callable[[str], float]  # 1: holds the kind of answer asked for; 0.5: may hold it ("who": a name, no role)


def expected_kind(question: str) -> Kind | None:
    """A test of whether a sentence holds the kind of answer `question` asks for; None when any sentence may."""
    for pattern, kind in KINDS:
        if pattern.search(question):
            return _test(kind, question)
    return None


def _test(kind: str, question: str) -> Kind:
    asked_numbers = {n.rstrip(".,") for n in NUMBER.findall(question)}
    asked_words = {word.lower() for word in re.findall(r"\w+", question)}
    counted = _counted_nouns(question)
    tests: dict[str, Kind] = {
        "age": lambda s: bool(AGE.search(s)),
        "temperature": lambda s: bool(TEMPERATURE.search(s)),
        "speed": lambda s: bool(SPEED.search(s)),
        "measure": lambda s: bool(MEASURE.search(s)),
        "duration or measure": lambda s: bool(DURATION.search(s) or MEASURE.search(s)),
        "money": lambda s: bool(MONEY.search(s)),
        "percent or number": lambda s: bool(PERCENT.search(s)) or _new_number(s, asked_numbers),
        "number": lambda s: _counted(s, counted) or 0.5 * _new_number(s, asked_numbers),
        "score": lambda s: bool(SCORELINE.search(s)),
        "time": lambda s: bool(TIME.search(s)),
        "name": lambda s: _new_name(s, asked_words),
        "place": lambda s: _new_name(s, asked_words) or bool(LOCATIVE.search(s)),
        "person": lambda s: 1.0 if PERSON_WITH_ROLE.search(s) else 0.5 * _new_name(s, asked_words),
    }
    return tests[kind]


def _counted_nouns(question: str) -> set[str]:
    """The stems of the words naming what "how many" counts ("how many North Korean *soldiers*")."""
    match = COUNTED.search(question)
    return {stem(word) for word in words(match.group(1))} if match else set()


def _counted(sentence: str, counted: set[str]) -> bool:
    """A number followed, within a few words, by what the question counts ("1,100 firefighters")."""
    if not counted:
        return False
    tokens = re.findall(r"\d[\d,.]*|[^\W\d_]+", sentence)
    return any(
        NUMBER.fullmatch(token)
        and not YEAR.match(token)
        and any(stem(t.lower()) in counted for t in tokens[i + 1 : i + 5])
        for i, token in enumerate(tokens)
    )


def _new_number(sentence: str, asked: set[str]) -> bool:
    """A number the question does not itself mention, and that is not a year."""
    return any(
        not YEAR.match(number) and number.lower() not in asked
        for number in (n.rstrip(".,") for n in NUMBER.findall(sentence))
    )


def _new_name(sentence: str, asked: set[str]) -> bool:
    """A capitalised word (not the sentence's first) the question does not itself use."""
    return any(name.lower() not in asked and name.lower() not in CALENDAR for name in CAPITALISED.findall(sentence))
