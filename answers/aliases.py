"""Other names for a country: its capital standing for its government ("Seoul said"), its demonym ("the
Russians", "Polish factories") and its other names ("the U.S.", "America"). The names come from the countryinfo
gazetteer, plus the few spellings common in news that it lacks. For matching words only: every mention of a
country becomes one token, so "Pyongyang and Moscow" matches "North Korea and Russia"; what is quoted is never
changed."""

from __future__ import annotations

import re
from functools import cache, lru_cache

from countryinfo import all_countries

from index.terms import STOPWORDS

# Spellings in everyday news use that the gazetteer does not list (by the gazetteer's country name).
SUPPLEMENT = {
    "United States": ("U.S.", "U.S.A.", "America", "the States"),
    "United Kingdom": ("Britain", "U.K.", "Brits"),
    "Poland": ("Poles",),
    "Ukraine": ("Kiev",),
    "Russia": ("Kremlin",),
    "Netherlands": ("Dutchman",),
}
TOKEN = re.compile(r"(?:[A-Z]\.){2,}|[^\W\d_][\w'’]*")
NO_PLURAL = ("sh", "ch", "ese", "ss", "s")
CODE_LENGTH = 3  # codes such as US or UK match only in capitals: "us" is a pronoun
Table = dict[str, list[tuple[tuple[str, ...], str, bool]]]  # first word -> (the form's words, token, is a code)


def _forms(name: str, capitals: str | list[str], demonym: str, others: list[str]) -> set[str]:
    capitals = [capitals] if isinstance(capitals, str) else capitals
    forms = {name, demonym, *others, *SUPPLEMENT.get(name, ())}
    forms.update(capital.removesuffix(" D.C.") for capital in capitals)
    if demonym and not demonym.endswith(NO_PLURAL):
        forms.add(demonym + "s")
    return {form for form in forms if form and form.isascii() and (len(form) > 2 or form.isupper())}


@cache
def _table() -> Table:
    """First word (lower case) -> [(every word of the form, the country's token, whether it is a code)],
    longest forms first. A form several countries share ("American") is the most populous one's."""
    owners: dict[str, str] = {}
    for country in sorted(all_countries(), key=lambda c: c.population() or 0):
        code, name = (country.iso() or {}).get("alpha2"), country.name()
        if name and code:
            for form in _forms(name, country.capital() or "", country.demonym() or "", country.alt_spellings() or []):
                owners[form] = f"country{code.lower()}"
    table: Table = {}
    for form, token in owners.items():
        words = tuple(_key(word) for word in TOKEN.findall(form))
        is_code = form.isupper() and len(form) <= CODE_LENGTH
        if words and (len(words) > 1 or words[0] not in STOPWORDS or is_code):
            table.setdefault(words[0], []).append((words, token, is_code))
    for forms in table.values():
        forms.sort(key=lambda entry: len(entry[0]), reverse=True)
    return table


def _key(word: str) -> str:
    """The word in lower case without a possessive ending ("Korea's" -> "korea")."""
    word = word.lower()
    if word.endswith(("'s", "’s")):
        return word[:-2]
    return word.rstrip("'’")


def is_alias(word: str) -> bool:
    """Whether `word` starts a name the gazetteer knows (so it is no typo)."""
    return _key(word) in _table()


@lru_cache(maxsize=65536)  # the sentences of passages asked about again and again
def canonical(text: str, typed: bool = False) -> str:
    """`text` with each mention of a country replaced by that country's token. `typed`: a reader's question, in
    which names may be in lower case; in article text only capitalised mentions count ("Polish", not "polish")."""
    tokens = list(TOKEN.finditer(text))
    keys = [_key(token.group()) for token in tokens]
    table = _table()
    pieces, last, i = [], 0, 0
    while i < len(tokens):
        match = _match(tokens, keys, i, table, typed) if keys[i] in table else None
        if match is None:
            i += 1
            continue
        length, token = match
        pieces += [text[last : tokens[i].start()], token]
        last = tokens[i + length - 1].end()
        i += length
    pieces.append(text[last:])
    return "".join(pieces)


def _match(tokens: list[re.Match[str]], keys: list[str], i: int, table: Table, typed: bool) -> tuple[int, str] | None:
    for words, token, is_code in table[keys[i]]:
        if tuple(keys[i : i + len(words)]) != words:
            continue
        found = tokens[i : i + len(words)]
        if not _adjacent(found):
            continue
        if is_code and not found[0].group().isupper():
            continue
        if not typed and not all(t.group()[0].isupper() or t.group() in STOPWORDS for t in found):
            continue
        return len(words), token
    return None


def _adjacent(found: list[re.Match[str]]) -> bool:
    """The words of a several-word name follow one another with nothing but a space or hyphen between them."""
    return all(b.start() - a.end() <= 1 for a, b in zip(found, found[1:], strict=False))


def countries(text: str, typed: bool = False) -> list[str]:
    """The names of the countries `text` mentions under another name (a capital, a demonym, an abbreviation),
    e.g. "Pyongyang and Moscow" -> ["North Korea", "Russia"]: words a keyword search can add to the question."""
    names = _names()
    found = []
    for token in re.findall(r"\bcountry[a-z]{2}\b", canonical(text, typed)):
        name = names.get(token)
        if name and not re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE) and name not in found:
            found.append(name)
    return found


@cache
def _names() -> dict[str, str]:
    """Token -> the country's name (the most populous country with that code: "United Kingdom", not "Wales")."""
    return {
        f"country{country.iso()['alpha2'].lower()}": country.name()
        for country in sorted(all_countries(), key=lambda c: c.population() or 0)
        if country.name() and (country.iso() or {}).get("alpha2")
    }
