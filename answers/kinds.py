"""What kind of answer a question asks for ("how many" a number, "how hot" a temperature, "when" a date, "who" a
name), and whether a sentence holds one: a sentence that cannot answer the question is not its answer."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from rapidfuzz.distance import Levenshtein
from wordfreq import zipf_frequency

from index.terms import STOPWORDS, stem

NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundred|"
    r"dozens?|hundreds|thousands?|millions?|billions?|trillions?|half|quarter|a third"
)
NUMBER = re.compile(rf"\d[\d,.]*|\b(?:{NUMBER_WORDS})\b", re.IGNORECASE)
YEAR = re.compile(r"^(?:1[89]|20)\d\d$")
MONEY = re.compile(
    r"[$€£¥]\s?\d|\b\d[\d,.]*\s*(?:million|billion|trillion|bn|m)?\s*(?:dollars?|euros?|pounds?|yen|yuan|francs?|"
    r"rupees?|roubles?|rubles?|won|pesos?|cents?|pence|crowns?|kronor|kroner|krona|zloty|rand|lira)\b",
    re.IGNORECASE,
)
PERCENT = re.compile(r"\d\s*(?:%|percent\b|per cent\b|percentage points?\b)", re.IGNORECASE)
TEMPERATURE = re.compile(r"\d\s*(?:°|degrees?\b|celsius\b|fahrenheit\b|kelvin\b)", re.IGNORECASE)
AGE = re.compile(r"\b\d{1,3}-year-old\b|\b\d{1,3} years? old\b|\baged? (?:of )?\d{1,3}\b|,\s*\d{1,3},", re.I)
UNIT = (
    r"km|kilomet(?:re|er)s?|met(?:re|er)s?|millimet(?:re|er)s?|mm|grams?|g|miles?|feet|foot|ft|inches|inch|cm|"
    r"centimet(?:re|er)s?|hectares?|acres?|"
    r"square|light[- ]years?|times|tonnes?|tons?|kilograms?|kg|pounds?|litres?|liters?|gallons?|gigabytes?|GB"
)
MEASURE = re.compile(rf"\d[\d,.]*[\s-]*(?:{UNIT})\b|\b(?:{NUMBER_WORDS})\s+(?:{UNIT})\b", re.IGNORECASE)
DURATION = re.compile(
    rf"(?:\d[\d,.]*|\b(?:{NUMBER_WORDS}))[\s-]*(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?)\b",
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
WHEN = re.compile(  # a time a reader can put in a diary: a date, a weekday, a month, a year, a clock time
    r"\b(?:(?:1[89]|20)\d\d|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|"
    r"may|june|july|august|september|october|november|december|tomorrow|tonight|yesterday|today|christmas|easter|"
    r"\d{1,2}(?::\d\d)?\s*[ap]\.?m\b|\d{1,2}/\d{1,2})\b",
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
    r"goalkeeper|professor|researcher|scientist|analyst|economist|author|editor|lawyer|judge|commander|general|"
    r"master|commissioner|inspector|engineer|meteorologist"
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
    (
        re.compile(r"\bhow\s+(?:far|big|large|tall|high|deep|wide|heavy|small|thin|thick|light|strong)\b", re.I),
        "measure",
    ),
    (  # "what did the euro fall to", "what did the bank cut its rate to": the level it reached
        re.compile(
            r"^\W*what\b.*\b(?:fall|fell|rise|rose|drop|dropped|climb|climbed|slide|slid|cut|raise|raised|lower|"
            r"lowered|increase|increased|reduce|reduced|jump|jumped|sink|sank)\b.*\bto\W*$",
            re.I,
        ),
        "level",
    ),
    (re.compile(r"\bhow\s+long\b", re.I), "duration or measure"),
    (re.compile(r"\bhow\s+much\b.*\bweigh", re.I), "measure"),
    (
        re.compile(
            r"\bwhat\s+(?:is|was|are|were)\s+the\s+(?:range|distance|length|height|depth|width|size|weight)\b", re.I
        ),
        "measure",
    ),
    (
        re.compile(
            r"\bhow\s+much\b.*\b(?:cost|costs|pay|paid|spend|spent|worth|money|price|fund|raise|raised|earn|save|saves|saving)",
            re.I,
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
    (
        re.compile(
            r"^\W*(?:(?:until|till|since|by)\s+)?when\b|\b(?:what|which)\s+(?:year|date|day|month|time)\b", re.I
        ),
        "time",
    ),
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
KINDS.insert(  # "which show / film / book ...": a title, which news copy puts in quotation marks
    next(i for i, (_, kind) in enumerate(KINDS) if kind == "person"),
    (
        re.compile(
            r"\b(?:what|which)\s+(?:[\w-]+\s+){0,3}(?:show|series|film|movie|book|novel|song|album|game|play|musical|"
            r"documentary|podcast|app)\b",
            re.I,
        ),
        "title",
    ),
)
TITLE = re.compile(  # a short capitalised quotation: a title ("“Squid Game”"), not a quoted remark
    r"“(?P<curly>[A-Z0-9](?:[^”,.!?;:\s]+\s?){1,6})”|\"(?P<straight>[A-Z0-9](?:[^\",.!?;:\s]+\s?){1,6})\""
)
# "in the kitchen", "at a school near ...": a place without a capitalised name
LOCATIVE = re.compile(
    r"\b(?:in|at|near|outside|inside|under|beside|behind|across|along|into|onto)\s+(?:the|a|an|his|her|their|its)\s+"
    r"[a-z]{3,}",
    re.I,
)

COUNTED = re.compile(r"\bhow\s+(?:many|much)\s+((?:[\w-]+\s+){0,2}[\w-]+)", re.IGNORECASE)
NOT_COUNTED = frozenset(
    "did do does were was are is have has had will would can could of more less longer further the a an in on at to "
    "people's".split()
)


def _stem_groups(*groups: str) -> list[frozenset[str]]:
    return [frozenset(stem(word) for word in group.split()) for group in groups]


# What "how many" counts, said another way in news copy (stems): a count of households answers "how many homes"
SAME_THING = _stem_groups(
    "home homes household households house houses property properties",
    "people person persons resident residents individual individuals",
    "soldier soldiers troop troops force forces",
    "child children kid kids",
    "worker workers employee employees staff",
)
# Events a count must be of: a sentence that counts the injured does not say how many died
EVENTS = _stem_groups(
    "die died dies dead death deaths kill killed killing fatal fatalities",
    "hurt injure injured injuries injury wound wounded",
    "arrest arrested arrests detain detained detention",
    "cancel cancelled canceled cancellation cancellations",
    "divert diverted diverting",
    "strand stranded",
    "vote voted votes voting",
    "sell sold sale sales",
    "preorder preordered preorders",
)
Kind = Callable[[str], float]  # 1: holds the kind of answer asked for; 0.5: may hold it ("who": a name, no role)
WHO_IS = re.compile(r"^\W*(?:who\s+(?:is|was|'s)|who's|whos|who’s)\s+(?P<name>[^?]+?)\W*$", re.IGNORECASE)
SAID = (
    r"say|said|announce|claim|call|warn|promise|pledge|blame|tell|think|report|predict|argue|suggest|propose|accuse|"
    r"add|admit|confirm|deny|reveal|write|mean|want|expect|criticise|criticize|praise|insist|describe|ask"
)
SAID_WHAT = re.compile(
    rf"^\W*(?:and\s+)?what\s+(?:did|does|do|has|have|had|was|were|is)\s+(?P<who>.+?)\s+(?P<verb>{SAID})\w*\b(?P<rest>.*)$",
    re.IGNORECASE,
)
SPEECH = re.compile(
    r"\b(?:said|says|say|told|tells|announced|announces|claimed|claiming|claims|called|calls|warned|warns|promised|"
    r"pledged|blamed|blames|argued|added|admitted|confirmed|denied|insisted|described|wrote|according\s+to|"
    r"predicted|expects|expected|asked)\b|[\"“”]",
    re.IGNORECASE,
)
NOT_A_NAME = frozenset("he she it they we i you the a an in on at this that his her their its".split())
PRONOUN_SUBJECT = re.compile(r"^(?:he|she|they|him|her|them|it)$", re.IGNORECASE)


def expected_kind(question: str, passages: str = "") -> Kind | None:
    """A test of whether a sentence holds the kind of answer `question` asks for; None when any sentence may.
    `passages`: the evidence's text, where "the transport secretary" is found to be Priya Nandakumar."""
    who_is = WHO_IS.match(question)
    if who_is and _a_name(who_is.group("name")):
        return role_test(who_is.group("name"))
    said = SAID_WHAT.match(question)
    if said and not PRONOUN_SUBJECT.match(said.group("who").strip()):
        return speaker_test(said.group("who"), said.group("verb"), passages)
    for pattern, kind in KINDS:
        if pattern.search(question):
            return _test(kind, question, _never_counted(question, passages))
    return None


def _never_counted(question: str, passages: str) -> bool:
    """Whether the passages name what "how many" counts without ever counting it (beavers, but no number of
    beavers): then a number of something else is no answer."""
    match = COUNTED.search(question)
    if not match or not passages:
        return False
    named = _counted_nouns(question) & {stem(word.lower()) for word in match.group(1).split()}
    said = {stem(word.lower()) for word in re.findall(r"[a-zA-Z]+", passages)}
    return (
        bool(named)
        and named <= said
        and not any(_counted(sentence, _counted_nouns(question)) for sentence in re.split(r"(?<=[.!?])\s+", passages))
    )


def decisive(question: str) -> bool:
    """Whether the kind of answer alone decides (who is X, what did X say): a sentence holding it answers."""
    who_is = WHO_IS.match(question)
    return bool((who_is and _a_name(who_is.group("name"))) or speaks(question))


def speaks(question: str) -> bool:
    """ "What did X say?" about someone (not "he"): a sentence in which X speaks is looked for, not demanded."""
    said = SAID_WHAT.match(question)
    return bool(said and not PRONOUN_SUBJECT.match(said.group("who").strip()))


def _a_name(text: str) -> bool:
    """Whether "who is <text>?" asks about a person by name ("Lena Markussen"), not for one ("the NATO chief",
    "in favour of the tram", "Ukraine's president")."""
    parts = text.split()
    return (
        0 < len(parts) <= 4
        and not any(word.lower() in NOT_A_NAME or word.lower() in ("in", "of", "for", "against") for word in parts)
        and not re.search(r"['’]s\b", text)
        and not re.search(rf"(?i:\b(?:{ROLES})\b)", text)
    )


def _name_words(name: str) -> list[str]:
    return [word for word in re.findall(r"[^\W\d_][\w'’-]*", name) if word.lower() not in ("the", "a", "an", "of", "s")]


def mentions(sentence: str, name: str) -> bool:
    """Whether `sentence` names `name`: every word of it, each spelt within an edit or two of a word there
    ("Markusen" for Markussen, "Sjöberg" for Sjoberg), but for whose it is ("the tram's opponents" are the
    opponents a sentence about the tram names)."""
    parts = _name_words(name)
    owned = [word for word in parts if not re.search(r"['’]s$", word)]
    wanted = [_plain(word) for word in (owned or parts)]
    said = re.findall(r"[^\W\d_][\w'’-]*", sentence)
    exact = {_plain(word) for word in said}
    names = {_plain(word) for word in said if word[0].isupper()}
    return bool(wanted) and all(
        word in exact or stem(word) in {stem(other) for other in exact} or any(_close(word, other) for other in names)
        for word in wanted
    )


def _plain(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower().removesuffix("'s").removesuffix("’s"))
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def _close(word: str, other: str) -> bool:
    if word == other or stem(word) == stem(other):
        return True
    if len(word) < 4 or len(other) < 4:
        return False
    return bool(
        Levenshtein.distance(word, other, score_cutoff=2 if len(word) >= 7 else 1) <= (2 if len(word) >= 7 else 1)
    )


def role_test(name: str) -> Kind:
    """ "Who is X?": a sentence naming X with a role or description ("Transport Secretary X", "X, the hospital's
    medical director", "X, who heads ...") holds the answer; one naming X alone perhaps."""

    def test(sentence: str) -> float:
        if not mentions(sentence, name):
            return 0.0
        return 1.0 if role_of(sentence, name) else 0.3

    return test


def role_of(sentence: str, name: str) -> str | None:
    """The role or description `sentence` gives `name`, verbatim: "Interior Minister", "the hospital's medical
    director", "who runs a bakery on the seafront in Kilnsey Bay"; None when it gives none."""
    parts = _name_words(name)
    if not parts:
        return None
    last = parts[-1]
    for match in re.finditer(r"[^\W\d_][\w'’-]*", sentence):
        if not _close(_plain(last), _plain(match.group())):
            continue
        start = _name_start(sentence, match.start(), len(parts))
        before = re.search(
            r"(?P<role>(?:[A-Z][\w'’-]*\s+|[a-z][\w'’-]*\s+){0,3}(?i:" + ROLES + r"|meteorologist|engineer|master))"
            r"(?:,)?\s+(?:Dr\.?\s+)?$",
            sentence[:start],
        )
        if before:
            return _trim_role(before.group("role"))
        after = re.match(
            r",\s+(?P<role>(?:who|whose)\s[^,.;]+|(?:the|a|an|its|his|her)\s[^,.;]+|[a-z][^,.;]+)",
            sentence[match.end() :],
        )
        if after and (ROLE_WORD.search(after.group("role")) or after.group("role").startswith(("who ", "whose "))):
            return after.group("role").strip()
    return None


ROLE_WORD = re.compile(
    rf"\b(?:{ROLES}|meteorologist|engineer|master|member|head|heads|runs|owner|founder|leads|chief|of\s+the)\b",
    re.IGNORECASE,
)


def _name_start(sentence: str, last_start: int, count: int) -> int:
    """Where the name whose last word starts at `last_start` begins (its first word, `count` words in all)."""
    start = last_start
    for _ in range(count - 1):
        before = re.search(r"\b[A-Z][\w'’.-]*\s+$", sentence[:start])
        if not before:
            break
        start = before.start()
    return start


def _trim_role(role: str) -> str:
    """The role's words from the first that belongs to it ("... said Mayor" -> "Mayor")."""
    parts = role.split()
    for i, word in enumerate(parts):
        if word[0].isupper() or re.fullmatch(rf"(?i:{ROLES}|chief|shadow|interior|health|transport|deputy|vice)", word):
            return " ".join(parts[i:])
    return role.strip()


def speaker_test(who: str, verb: str, passages: str) -> Kind:
    """ "What did X say / announce / claim?": a sentence in which X (by name, by the role the passages give them,
    or as "he"/"she" in a sentence leaning on one naming X) says something; the question's own verb best."""
    names = [who, *people_called(who, passages)]
    said_stem = stem(verb.lower())

    def test(sentence: str) -> float:
        if not any(mentions(sentence, name) or _surname_in(sentence, name) for name in names):
            return 0.0
        if said_stem in {stem(word.lower()) for word in re.findall(r"[a-zA-Z]+", sentence)}:
            return 1.0  # X offered, X blamed: the act asked about
        return 0.9 if SPEECH.search(sentence) else 0.3

    return test


def _surname_in(sentence: str, name: str) -> bool:
    parts = _name_words(name)
    return len(parts) > 1 and parts[-1][:1].isupper() and mentions(sentence, parts[-1])


def people_called(who: str, passages: str) -> list[str]:
    """The names the passages give whoever `who` describes ("the transport secretary": "Priya Nandakumar" in
    "Transport Secretary Priya Nandakumar announced ...")."""
    parts = _name_words(who)
    if not parts or all(word[:1].isupper() for word in parts):
        return []
    role = r"\W+(?:[\w'’-]+\W+){0,3}".join(re.escape(word) for word in parts)
    found = []
    for match in re.finditer(
        rf"(?i:{role})\s+(?:Dr\.?\s+)?(?P<name>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){{0,2}})", passages
    ):
        found.append(match.group("name"))
    for match in re.finditer(
        rf"(?P<name>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){{1,2}}),\s+(?:the\s+|an?\s+)?[^,.]*?(?i:{role})", passages
    ):
        found.append(match.group("name"))
    return [name for name in dict.fromkeys(found) if name.split()[0].lower() not in NOT_A_NAME]


def _test(kind: str, question: str, never_counted: bool = False) -> Kind:
    asked_numbers = {n.rstrip(".,") for n in NUMBER.findall(question)}
    asked_words = {word.lower() for word in re.findall(r"\w+", question)}
    counted = _counted_nouns(question)
    event = _event(question)
    each = EACH.search(question)
    asked_role = re.search(rf"(?i:\b(?:{ROLES})\b)", question)
    asked_noun = _asked_noun(question)
    tests: dict[str, Kind] = {
        "age": lambda s: bool(AGE.search(s)),
        "temperature": lambda s: bool(TEMPERATURE.search(s)),
        "speed": lambda s: bool(SPEED.search(s)),
        "measure": lambda s: bool(MEASURE.search(s)),
        "duration or measure": lambda s: bool(DURATION.search(s) or MEASURE.search(s)),
        "money": lambda s: bool(MONEY.search(s)) and _per_unit(s, each),
        "percent or number": lambda s: bool(PERCENT.search(s)) or _new_number(s, asked_numbers),
        "number": lambda s: _count(s, counted, event, set() if never_counted else asked_numbers, never_counted),
        "score": lambda s: bool(SCORELINE.search(s)),
        "level": lambda s: bool(LEVEL.search(s)),
        "title": lambda s: 1.0 if TITLE.search(s) else 0.5 * _new_name(s, asked_words),
        "time": lambda s: 1.0 if WHEN.search(s) else 0.5 * bool(TIME.search(s)),
        "name": lambda s: 1.0 if _introduced(s, asked_noun) else 0.5 * _new_name(s, asked_words),
        "place": lambda s: _new_name(s, asked_words) or bool(LOCATIVE.search(s)),
        "person": lambda s: 1.0 if _subject_of(question, s) else _person(s, asked_role, asked_words),
    }
    return tests[kind]


def _counted_nouns(question: str) -> set[str]:
    """The stems of the words naming what "how many" or "how much" counts ("how many North Korean *soldiers*",
    "how much *aid*"), with the other words news copy counts the same thing by (SAME_THING)."""
    match = COUNTED.search(question)
    if not match:
        return set()
    counted = []
    for word in match.group(1).split():
        lowered = word.lower()
        if lowered in NOT_COUNTED or lowered in STOPWORDS or lowered in NOT_NAMING or lowered.endswith("ed"):
            break  # "how many so far": nothing named; "how many economists expected": what follows is no noun
        counted.append(stem(word.lower()))
    found = set(counted)
    for group in SAME_THING:
        if found & group:
            found |= group
    return found


def _event(question: str) -> frozenset[str]:
    """The kind of event a "how many" question counts (died, injured, cancelled ...), as the stems that say it."""
    asked = {stem(word.lower()) for word in re.findall(r"[a-zA-Z]+", question)}
    return next((group for group in EVENTS if asked & group), frozenset())


CLAUSE_BREAK = re.compile(r"[,;:()]|\.\s")


def _counts(sentence: str, figure: re.Match[str], counted: set[str]) -> bool:
    """Whether `figure` counts what the question counts: its next few words name it ("38 ships waiting"), or, for
    a sum of money, the last few before it in its clause do ("net profit rose to $310 million")."""
    after = re.findall(r"[^\W\d_]+|%", CLAUSE_BREAK.split(sentence[figure.end() :])[0])[:4]
    money = re.search(r"[$€£¥]\s?$", sentence[: figure.start()]) or MONEY.match(sentence, figure.start())
    before = re.findall(r"[^\W\d_]+", CLAUSE_BREAK.split(sentence[: figure.start()])[-1])[-4:] if money else []
    return (
        not _in_a_name(sentence, figure)
        and not (after and after[0].lower() in ("percent", "%", "per"))
        and any(stem(word.lower()) in counted for word in after + before)
    )


def _in_a_name(sentence: str, figure: re.Match[str]) -> bool:
    """A number that is part of a name ("Fold 2", "Lantern 3"), not a count."""
    return bool(re.search(r"\b[A-Z][\w-]*\s$", sentence[: figure.start()]))


def _counted(sentence: str, counted: set[str]) -> bool:
    """A number followed, within a few words, by what the question counts ("1,100 firefighters"); not a share
    ("81 percent of trains")."""
    if not counted:
        return False
    return any(
        not YEAR.match(figure.group().split()[-1].strip(",.")) and _counts(sentence, figure, counted)
        for figure in FIGURE.finditer(sentence)
    )


KINDS_OF_NAME = {
    "company": "company|firm|maker|manufacturer|group|business|start-up|startup|retailer|carrier|brand|chain|giant|lender",
    "firm": "company|firm|maker|group|business|lender",
    "team": "team|club|side",
    "club": "team|club|side",
    "organisation": "organisation|organization|group|agency|body|charity",
    "organization": "organisation|organization|group|agency|body|charity",
}


def _asked_noun(question: str) -> str:
    """What "which ..." asks for: "company" in "which American company", "" when it is none of KINDS_OF_NAME."""
    after = re.search(r"\b(?:what|which)\s+((?:[\w-]+\s*){1,3})", question, re.IGNORECASE)
    words = after.group(1).lower().split() if after else []
    return next((word for word in words if word in KINDS_OF_NAME), "")


def _introduced(sentence: str, noun: str) -> str | None:
    """A name the sentence introduces as one of what is asked for ("Korvo, the Oslo-based phone maker" for which
    company); None when it introduces none."""
    kinds = KINDS_OF_NAME.get(noun, re.escape(noun) if noun else "")
    if not kinds:
        return None
    match = re.search(
        rf"(?P<name>{PROPER.pattern}),\s+(?:the|a|an|its)\s+(?:[\w'’-]+\s+){{0,4}}(?:{kinds})\b", sentence
    )
    return match.group("name") if match and _a_proper_name(match.group("name")) else None


def _person(sentence: str, role: re.Match[str] | None, asked: set[str]) -> float:
    """A person with a role (1; for "who is the mayor?", with that role), or a new name (0.5)."""
    with_role = PERSON_WITH_ROLE.search(sentence)
    if with_role and (role is None or _same_role(role.group(), with_role.group())):
        return 1.0
    return 0.5 * _new_name(sentence, asked)


def _same_role(asked: str, found: str) -> bool:
    """Whether a person described by `found` has the role asked for: the same word, any leader for "chief" or
    "head" (a reader's chief is an article's secretary-general), anyone for "official"."""
    asked_stem = stem(asked.lower().split()[-1])
    found_stems = {stem(word.lower()) for word in re.findall(r"[A-Za-z]+", found)}
    return (
        asked_stem in ("offici", "offic")
        or asked_stem in found_stems
        or (asked_stem in LEADER_STEMS and bool(found_stems & LEADER_STEMS))
    )


LEVEL = re.compile(r"\b(?:to|at)\s+(?:about\s+|around\s+)?[$€£¥]?\d[\d,.]*(?:\s*(?:%|percent|per\s+cent))?")
EACH = re.compile(r"\b(?:each|per|every)\s+(?P<unit>[a-z]+)", re.IGNORECASE)


def _per_unit(sentence: str, each: re.Match[str] | None) -> bool:
    """For "how much will each household get": an amount for each one ("each", "per household", "a household"),
    not a total."""
    if each is None:
        return True
    unit = stem(each.group("unit").lower())
    return bool(re.search(r"\b(?:each|per|every|apiece)\b", sentence, re.I)) or any(
        stem(word.lower()) == unit for word in re.findall(r"\ba\s+([a-z]+)", sentence, re.I)
    )


def _count(
    sentence: str, counted: set[str], event: frozenset[str], asked_numbers: set[str], strict: bool = False
) -> float:
    """A count of what the question counts (1), or a new number (0.5: "the count reached 412"); of the event it
    asks about, if it asks about one (how many *died*: not a count of the injured)."""
    if event and not event & {stem(word.lower()) for word in re.findall(r"[a-zA-Z]+", sentence)}:
        return 0.0
    if _counted(sentence, counted):
        return 1.0
    return 0.0 if strict else 0.5 * _new_number(sentence, asked_numbers)


def _new_number(sentence: str, asked: set[str]) -> bool:
    """A number the question does not itself mention, and that is not a year."""
    return any(
        not YEAR.match(number) and number.lower() not in asked
        for number in (n.rstrip(".,") for n in NUMBER.findall(sentence))
    )


def _new_name(sentence: str, asked: set[str]) -> bool:
    """A capitalised word (not the sentence's first) the question does not itself use."""
    return any(name.lower() not in asked and name.lower() not in CALENDAR for name in CAPITALISED.findall(sentence))


PRICED = re.compile(  # "how much is the Korvo tablet", "how much will the carers railcard cost"
    r"\bhow\s+much\s+(?:is|are|was|were|does|do|did|will|would|has|have)\s+(?P<subject>.+?)"
    r"(?:\s+(?:cost|costs|earn|earns|make|makes|charge|charges|sell\s+for|go\s+for|be\s+worth|worth|fetch))?\W*$",
    re.IGNORECASE,
)
RATED = re.compile(  # "what is the unemployment rate in the euro area"
    r"^\W*what(?:'s|\s+is|\s+was|\s+are|\s+were)\s+(?:the\s+)?(?P<subject>[\w\s-]+?)\s+"
    r"(?:rate|percentage|share|price|cost|fee|salary|wage|budget)\b",
    re.IGNORECASE,
)
NOT_NAMING = frozenset("far times more lost got went made took sent left ran saw sold paid won".split())
COMMON_WORD = 6.0  # Zipf: "in", "the", "but" ...
LEADING_WORD = 5.5  # Zipf: "Both", "Also" opening a sentence are no part of the names after them
MEASURED = re.compile(  # "what is the range of the Hwasong-21": a measure of another missile is no answer
    r"^\W*what(?:'s|\s+is|\s+was|\s+are|\s+were)\s+the\s+(?:range|distance|length|height|depth|width|size|weight|"
    r"speed|capacity)\s+of\s+(?P<subject>.+?)(?:\s+in\s+[a-z]+)?\W*$",
    re.IGNORECASE,
)
WHEN_HELD = re.compile(  # "when will the referendum on the tram be held": the sentence must be about the referendum
    r"^\W*when\s+(?:will|is|was|are|were|does|did|do)\s+(?P<subject>.+?)\s+(?:be\s+)?"
    r"(?:held|happen|happens|take\s+place|takes\s+place|start|starts|begin|begins|open|opens|close|closes|end|ends|"
    r"launch|launches|go\s+ahead|come|arrive|arrives|go\s+on\s+sale|be\s+available|be\s+released|come\s+out|ship)\W*$",
    re.IGNORECASE,
)
SUBJECT_WORDS = 4
SUBJECT_WORD = 5.6  # Zipf: a word rarer than this names the thing asked about ("railcard"), not "get" or "each"


def subject(question: str) -> frozenset[str]:
    """The words naming what a price, a rate or a date is asked of ("the carers railcard", "unemployment", "the
    referendum"): the answer's sentence (or its article's title) must name it — the price of another product, or
    the day of another vote, is no answer."""
    match = PRICED.search(question) or RATED.search(question) or MEASURED.search(question) or WHEN_HELD.search(question)
    found = re.findall(r"[a-zA-Z][\w'-]*", match.group("subject")) if match else []
    if not found or PRONOUN_SUBJECT.match(found[0]) or found[0].lower() in ("that", "this", "these", "those"):
        return frozenset()  # "how much did it cost": what "it" is, the earlier question says
    named = frozenset(
        stem(word.lower())
        for word in found
        if word.lower() not in NOT_COUNTED
        and not word.lower().endswith("ing")  # "closing the plant": an action, said otherwise ("the closure")
        and zipf_frequency(word.lower(), "en") < SUBJECT_WORD
    )
    return named if len(named) <= SUBJECT_WORDS else frozenset()  # a whole clause names no one thing


QUALIFIED = r"(?:(?:more|fewer|less)\s+than\s+|about\s+|around\s+|nearly\s+|almost\s+|up\s+to\s+|some\s+|over\s+)?"
SCALE = r"(?:\s+(?:million|billion|trillion|thousand|hundred))?"
FIGURE = re.compile(rf"{QUALIFIED}(?:\d[\d,.]*|\b(?:{NUMBER_WORDS})\b){SCALE}", re.IGNORECASE)
DATE = re.compile(
    r"\b(?:\d{1,2}\s+(?:January|February|March|April|May|June|July|August|September|October|November|December)"
    r"(?:\s+\d{4})?|(?:January|February|March|April|May|June|July|August|September|October|November|December)"
    r"(?:\s+\d{1,2}(?:,\s*\d{4})?|\s+\d{4})?|(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
    r"(?:\s+(?:morning|afternoon|evening|night))?|(?:spring|summer|autumn|winter)|(?:19|20)\d\d)\b"
)
PROPER = re.compile(r"(?:[A-Z][\w'’.-]*(?:\s+(?:of|the|de|van|von|and|&)\s+|\s+))*[A-Z][\w'’-]*")
SHORT_WORDS = 10  # a short answer longer than this is no short answer


def short_answers(question: str, sentence: str) -> list[str]:
    """What `sentence` answers `question` with, verbatim and short, and not already in the question: the role for
    "who is X?", the figures counted for "how many", the money, the share, the date, the measure, the place, the
    person or the name asked for. Several when the sentence gives several (1,500 and 10,000); none when the
    question asks for none of these, or when the sentence holds nothing new of the kind."""
    who_is = WHO_IS.match(question)
    if who_is and _a_name(who_is.group("name")):
        role = role_of(sentence, who_is.group("name"))
        return [role] if role else []
    kind = next((kind for pattern, kind in KINDS if pattern.search(question)), None)
    if kind is None or SAID_WHAT.match(question):
        return []
    found = [text for text in _spans_of(kind, question, sentence) if text and not _in_question(text, question)]
    return [text for text in dict.fromkeys(found) if len(text.split()) <= SHORT_WORDS]


def _spans_of(kind: str, question: str, sentence: str) -> list[str]:
    if kind == "number":
        counted = _counted_nouns(question)
        figures = [m for m in FIGURE.finditer(sentence) if not YEAR.match(m.group().split()[-1].strip(",."))]
        near = [m.group() for m in figures if _counts(sentence, m, counted)]
        return near or [m.group() for m in figures if not _in_a_name(sentence, m)][:1]
    patterns = {
        "money": MONEY,
        "percent or number": PERCENT,
        "temperature": TEMPERATURE,
        "speed": SPEED,
        "measure": MEASURE,
        "duration or measure": MEASURE,
        "age": AGE,
        "score": SCORELINE,
    }
    if kind in patterns:
        found = [_widened(sentence, m) for m in patterns[kind].finditer(sentence)]
        if kind == "money" and found:  # "31 million crowns, of which 4.2 million was raised": the amounts in it
            found += [m.group() for m in FIGURE.finditer(sentence) if re.search(SCALE.strip("?") + "$", m.group())]
        return _nearest_the_asked(question, sentence, found)
    if kind == "time":
        return [m.group() for m in DATE.finditer(sentence)][:1]
    if kind == "title":
        return [(m.group("curly") or m.group("straight")).strip() for m in TITLE.finditer(sentence)][:1]
    if kind == "level":
        return [re.sub(r"^(?:to|at)\s+", "", m.group()) for m in LEVEL.finditer(sentence)][-1:]
    if kind == "person":
        with_role = PERSON_WITH_ROLE.search(sentence)
        named = re.search(NAME, with_role.group()) if with_role else None
        return [name for name in _subject_of(question, sentence) if _a_proper_name(name)] or (
            [named.group()] if named else []
        )
    if kind == "place":
        return [
            m.group("place") for m in re.finditer(rf"\b(?:at|in|near|from|on)\s+(?P<place>{PROPER.pattern})", sentence)
        ][:1]
    introduced = _introduced(sentence, _asked_noun(question)) if kind == "name" else None
    if introduced:
        return [introduced]
    names = [re.sub(r"^The\s+", "", m.group()) for m in PROPER.finditer(sentence) if (m.start() > 0 or kind == "name")]
    return [name for name in names if _a_proper_name(name)][:1]


def _a_proper_name(text: str) -> bool:
    """Not a capitalised function word ("In", "A"), a weekday or a month: a word English writes in lower case
    unless it starts a sentence is no name."""
    return any(
        word.lower() not in CALENDAR and zipf_frequency(word.lower(), "en") < COMMON_WORD for word in text.split()
    )


def _nearest_the_asked(question: str, sentence: str, found: list[str]) -> list[str]:
    """The figures, the one nearest a word the question asks with ("raise": "4.2 million was raised") first."""
    asked = {stem(word.lower()) for word in re.findall(r"[a-zA-Z]+", question)} - {stem(word) for word in STOPWORDS}
    places = [m.start() for m in re.finditer(r"[a-zA-Z]+", sentence) if stem(m.group().lower()) in asked]

    def distance(figure: str) -> int:
        at = sentence.find(figure)
        return min((abs(at - place) for place in places), default=0) if at >= 0 else len(sentence)

    return sorted(dict.fromkeys(found), key=distance) if places else list(dict.fromkeys(found))


def _widened(sentence: str, match: re.Match[str]) -> str:
    """A figure with what qualifies it: "about 140 pounds", "64 million crowns", "1.75 percent"."""
    digits = re.search(r"[\d,.]*$", sentence[: match.start()])  # "1.75 percent": the match starts at the 5
    start = match.start() - (len(digits.group()) if digits else 0)
    before = re.search(rf"{QUALIFIED}[$€£¥]?\s?$", sentence[:start])
    figure = FIGURE.match(sentence, before.start() if before and before.group() else start)
    end = max(match.end(), figure.end() if figure else match.end())
    unit = re.match(r"\s*(?:million|billion)?\s*(?:dollars?|euros?|pounds?|crowns?|percent|per\s+cent)", sentence[end:])
    return sentence[
        before.start() if before and before.group().strip() else start : end + (unit.end() if unit else 0)
    ].strip()


def _subject_of(question: str, sentence: str) -> list[str]:
    """For "who <verb>ed ...?": the names before the verb in the sentence ("both North Korea and Russia have
    denied" -> "North Korea and Russia")."""
    verb = re.match(r"^\W*who\s+(?:has\s+|have\s+|had\s+)?(\w+)", question, re.IGNORECASE)
    if not verb or verb.group(1).lower() in ("is", "was", "are", "were", "will", "would", "did", "does"):
        return []
    name = r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*"
    found = re.search(
        rf"(?P<who>{name}(?:(?:,\s+|\s+and\s+){name})*)\s+(?:(?:have|has|had|also|both|jointly|\w+ly)\s+)*"
        rf"{re.escape(stem(verb.group(1).lower()))}\w*",
        sentence,
    )
    if not found:
        return []
    who = found.group("who").split()
    while who and (who[0].lower() in STOPWORDS or zipf_frequency(who[0].lower(), "en") >= LEADING_WORD):
        who = who[1:]  # "Both North Korea and Russia": the names
    return [" ".join(who)] if who else []


def _in_question(text: str, question: str) -> bool:
    asked = {word.lower() for word in re.findall(r"\w+", question)}
    return all(word.lower() in asked for word in re.findall(r"\w+", text))


CLAUSES = re.compile(r",\s+(?:while|whereas|but)\s+|;\s+")
SOURCE_VERBS = (
    r"said|says|confirmed|confirms|claimed|claims|put|puts|estimated|estimates|counted|counts|reported|reports|told|"
    r"tells|announced|announces|argued|wrote|found|showed"
)


def source_of(sentence: str, figure: str) -> str | None:
    """Who gives `figure` in `sentence`: "according to X", or the one who says, claims or puts it ("Interior
    Minister Halvard Rusk put the figure far higher"); None when the sentence names no one."""
    clause = next((part for part in CLAUSES.split(sentence) if figure in part), sentence)
    according = re.search(r"according\s+to\s+(?P<who>[^,.;]+)", clause)
    if according:
        return according.group("who").strip()
    after = re.search(rf",\s+(?P<who>[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)\s+(?:{SOURCE_VERBS})\b", clause)
    if after:
        return after.group("who")
    before = re.search(rf"^(?P<who>.*?)\s+(?:(?:had|has|have|recently|also|then)\s+)*(?:{SOURCE_VERBS})\b", clause)
    if before:
        who = [word for word in before.group("who").split() if not word.endswith("ly")][-6:]
        if who and (who[0][0].isupper() or (who[0].lower() == "the" and len(who) > 1 and who[1][0].isupper())):
            return " ".join(who).strip(" ,")
    return None


def counts_one_thing(question: str) -> bool:
    """Whether the question says what its figure is of (what is counted, what is priced): then two sources'
    different figures disagree; otherwise they may be figures of different things."""
    return bool(_counted_nouns(question) or subject(question))


PERSON_PRONOUN = re.compile(  # "he" or "she" as the one who did something: "what did he claim", "and she said"
    r"\b(?:did|does|has|had|was|will|would|can|could)\s+(?:he|she)\b|^\W*(?:and\s+)?(?:he|she)\b", re.IGNORECASE
)


def person_asked_about(question: str) -> str | None:
    """The person a question names: X of "who is X?" or "what did X say?" (a name, not a role)."""
    who_is = WHO_IS.match(question)
    if who_is and _a_name(who_is.group("name")):
        return who_is.group("name").strip()
    said = SAID_WHAT.match(question)
    if said and _a_name(said.group("who")):
        return said.group("who").strip()
    return None


def named_person(question: str, earlier: list[str]) -> str:
    """The question with its "he" or "she" (who did something) replaced by the person the conversation was last
    asked about (`earlier`: its questions, oldest first; "who is X?", "what did X say?"); else as it is."""
    found = PERSON_PRONOUN.search(question)
    if not found:
        return question
    for asked in reversed(earlier):
        name = person_asked_about(asked)
        if name:
            return (
                question[: found.start()]
                + re.sub(r"(?i)\b(?:he|she)\b", name, found.group(), count=1)
                + question[found.end() :]
            )
    return question
