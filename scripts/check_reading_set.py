#!/usr/bin/env python3
"""Validate the issue-20 additions to the reading set (evaluation/data/reading): articles stored as files (files/),
their manifest (manifest.jsonl) and their questions (questions.jsonl). Standard library only; reads, never writes.

    python3 scripts/check_reading_set.py [--existing DIR] [--sample FILE]

--existing: the existing reading set (its articles.jsonl and questions.jsonl); found by walking up from this
file and from the working directory to evaluation/data/reading (or newsbot/data/reading) when not given.
--sample: the bundled articles/sample-article.json; found the same way. Exit status 0 when every check passes,
1 otherwise.

Checks:
- every article file parses; each manifest entry names its file (and line), its title, outlet and URL appear in
  the file, its date as written appears in the file and means the manifest's `published`; 250-450 words;
- ids unique (with the existing questions); known categories; every category >= 12 questions, >= 6 held_out;
  `split` alternates in file order within each category (1st, 3rd, ... tune);
- `now` on every question, well formed ("YYYY-MM-DD" or "YYYY-MM-DDTHH:MM"), and present whenever the
  question has a time word; `after` points to an earlier id with the same `now`;
- `cite` is an exact substring of its article's body text (front matter, HTML tags and JSON fields other than
  the body excluded) and the paragraph holding it contains one of `expect`; every `cite_all` string is in some
  article's body; `cite_articles` keys exist and were published by `now`;
- answerable questions: the article was published by `now`; a question with a time word is about an article
  published in that period (the period rules below); the short answer is not already in the question;
- digests (`expect_all`): every element occurs in the bodies of `cite_articles`, and every cited article lies
  in the question's period; `none_in_period`: no article lies in the period and `expect` names the newest
  article's date (ISO form among the alternatives);
- `reject` never overlaps `expect` / `expect_all`; conversation lines have `expect_kind` and nothing to cite.

Periods (as this set reads them; questions avoid the boundaries where readings differ): "yesterday" is the day
before `now`; "this week" the seven days ending on `now`'s day; "last week" must hold in both readings (the
previous Monday-Sunday week, and 7-13 days before `now`); "since <weekday>" from the latest such day before
`now`'s day; "on <weekday>" that day; "in <month>" that month of the latest year not after `now`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "evaluation" / "data" / "reading"
NEW_CATEGORIES = (
    "general_news",
    "who_said_what",
    "who_is",
    "short_answer",
    "unanswerable_distractor",
    "follow_up_reference",
    "conversation",
    "file_dates",
)
OLD_CATEGORIES = (
    "exact",
    "paraphrase",
    "alias",
    "typo",
    "antecedent",
    "two_part",
    "wh",
    "follow_up",
    "unanswerable_on_topic",
    "unanswerable_off_topic",
    "new_topic_after",
)
KINDS = {"greeting", "usage", "language", "none_in_period"}
NOW = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
TIME_WORDS = re.compile(
    r"\b(today|tonight|yesterday|tomorrow|this (week|month|year|morning|afternoon|evening)|last (week|month|year|night)"
    r"|past \d+ days|since|ago|latest|recent(ly)?|new|newest|weekend|"
    + "|".join(WEEKDAYS)
    + "|"
    + "|".join(MONTHS)
    + r"|diese woche|heute|gestern)\b",
    re.IGNORECASE,
)
PUNCTUATION = re.compile(r"[^\w\s]")
THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
DATE_FORMATS = ("%Y-%m-%d", "%B %d, %Y", "%d %B %Y", "%a, %d %b %Y %H:%M:%S GMT", "%Y-%m-%dT%H:%M:%SZ")
BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "li", "figcaption", "time", "span", "small", "em", "title"}
SKIP = {"script", "style", "head"}

problems: list[str] = []


def problem(where: str, message: str) -> None:
    problems.append(f"{where}: {message}")


def comparable(text: str) -> str:
    """As the reading set's scorer compares: lower case, punctuation as spaces, thousands separators dropped."""
    return " ".join(PUNCTUATION.sub(" ", THOUSANDS.sub("", text).lower()).split())


def contains(haystack: str, needle: str) -> bool:
    return f" {comparable(needle)} " in f" {comparable(haystack)} "


# ------------------------------------------------------------------------------------------------ bodies
class _Text(HTMLParser):
    """The visible text of a page's <article>, one block element a line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skipping = 0
        self.inside = 0

    def handle_starttag(self, tag, attrs):
        if tag == "article":
            self.inside += 1
        if tag in SKIP:
            self.skipping += 1
        elif tag in BLOCKS - {"span", "small", "em", "time"}:
            self._flush()

    def handle_endtag(self, tag):
        if tag == "article":
            self.inside -= 1
            self._flush()
        if tag in SKIP:
            self.skipping -= 1
        elif tag in BLOCKS - {"span", "small", "em", "time"}:
            self._flush()

    def handle_data(self, data):
        if self.inside and not self.skipping:
            self.current.append(data)

    def _flush(self):
        line = " ".join("".join(self.current).split())
        if line:
            self.lines.append(line)
        self.current = []


def html_body(text: str) -> str:
    parser = _Text()
    parser.feed(text)
    parser.close()
    parser._flush()
    return "\n".join(parser.lines)


def html_meta(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r'<meta (?:property|name)="([^"]+)" content="([^"]*)"', text)}


def markdown_body(text: str) -> str:
    match = re.match(r"\A---\n.*?\n---\n", text, re.DOTALL)
    return text[match.end() :] if match else text


def record_body(record: dict) -> str:
    for field in ("text", "body", "content"):
        if isinstance(record.get(field), str):
            return record[field]
    return ""


def load_new_articles(base: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """Manifest entries by key, and each key's body text."""
    manifest = {}
    bodies = {}
    for number, line in enumerate((base / "manifest.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        entry = json.loads(line)
        where = f"manifest.jsonl:{number} ({entry.get('key')})"
        if entry["key"] in manifest:
            problem(where, "key twice")
        manifest[entry["key"]] = entry
        path = base / entry["file"]
        if not path.exists():
            problem(where, f"no file {entry['file']}")
            continue
        raw = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            lines = raw.splitlines()
            record = json.loads(lines[entry["line"] - 1])
            body = record_body(record)
            raw = lines[entry["line"] - 1]
            if entry["key"] != f"{path.stem}:{entry['line']}":
                problem(where, f"a JSON Lines record's key is <stem>:<line>, expected {path.stem}:{entry['line']}")
        elif path.suffix == ".md":
            body = markdown_body(raw)
            if entry["key"] != path.stem:
                problem(where, "a file's key is its stem")
        elif path.suffix == ".html":
            body = html_body(raw)
            meta = html_meta(raw)
            for tag in ("og:title", "og:site_name", "article:published_time"):
                if tag not in meta:
                    problem(where, f"no <meta> {tag}")
            if meta.get("og:site_name") != entry["outlet"]:
                problem(where, "og:site_name is not the manifest's outlet")
        else:
            body = raw
        bodies[entry["key"]] = body
        for field in ("title", "outlet", "url", "as_written"):
            if entry.get(field) and entry[field] not in raw:
                problem(where, f"{field} {entry[field]!r} is not in the file")
        if parse_date(entry["as_written"]) != entry["published"]:
            problem(where, f"{entry['as_written']!r} does not mean {entry['published']}")
        words = len(body.split())
        if not 250 <= words <= 450:
            problem(where, f"{words} words in the body, not 250-450")
        entry["words"] = words
    return manifest, bodies


def parse_date(value: str) -> str | None:
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern).date().isoformat()
        except ValueError:
            continue
    return None


# ------------------------------------------------------------------------------------------------ periods
def asked_at(now: str) -> date:
    return date.fromisoformat(now[:10])


def period(question: str, now: str) -> tuple[date, date] | None:
    """(first, last) day of the period a question's time words name, or None (no period, or not one of ours)."""
    text = question.lower()
    today = asked_at(now)
    if "yesterday" in text:
        return today - timedelta(days=1), today - timedelta(days=1)
    if "this week" in text:
        return today - timedelta(days=6), today
    if "last week" in text:  # both readings must agree: the intersection
        monday = today - timedelta(days=today.weekday())
        calendar = (monday - timedelta(days=7), monday - timedelta(days=1))
        rolling = (today - timedelta(days=13), today - timedelta(days=7))
        return max(calendar[0], rolling[0]), min(calendar[1], rolling[1])
    for index, name in enumerate(WEEKDAYS):
        back = (today.weekday() - index) % 7 or 7
        if f"since {name}" in text:
            return today - timedelta(days=back), today
        if f"on {name}" in text:
            return today - timedelta(days=back), today - timedelta(days=back)
    for index, name in enumerate(MONTHS, 1):
        if re.search(rf"\bin {name}\b", text):
            year = today.year if index <= today.month else today.year - 1
            first = date(year, index, 1)
            last = (date(year + index // 12, index % 12 + 1, 1)) - timedelta(days=1)
            return first, last
    return None


# ------------------------------------------------------------------------------------------------ main
def find(*relatives: str) -> Path | None:
    for start in (HERE, Path.cwd()):
        for folder in (start, *start.parents):
            for relative in relatives:
                if (folder / relative / "questions.jsonl").exists() or (
                    relative.endswith(".json") and (folder / relative).exists()
                ):
                    return folder / relative
    return None


def alternatives(element) -> list[str]:
    return [element] if isinstance(element, str) else list(element)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--existing", type=Path, default=find("evaluation/data/reading", "newsbot/data/reading"))
    parser.add_argument("--sample", type=Path, default=find("articles/sample-article.json"))
    args = parser.parse_args()
    if not args.existing or not args.sample:
        print("error: cannot find the existing reading set or the sample article; pass --existing and --sample")
        return 1

    manifest, bodies = load_new_articles(HERE)
    published = {key: entry["published"] for key, entry in manifest.items()}
    outlets = {key: entry["outlet"] for key, entry in manifest.items()}
    for line in (args.existing / "articles.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            bodies[record["key"]] = record["text"]
            published[record["key"]] = record["published"]
            outlets[record["key"]] = record["source"]
    sample = json.loads(args.sample.read_text(encoding="utf-8"))
    bodies["sample"] = sample["text"]
    published["sample"] = sample["published"]
    outlets["sample"] = sample["source"]
    existing_ids = set()
    if (args.existing / "questions.jsonl").resolve() != (HERE / "questions.jsonl").resolve():
        existing_ids = {
            json.loads(line)["id"]
            for line in (args.existing / "questions.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        }

    cases = []
    for number, line in enumerate((HERE / "questions.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                cases.append(json.loads(line))
            except json.JSONDecodeError as error:
                problem(f"questions.jsonl:{number}", f"not JSON: {error}")

    seen: dict[str, dict] = {}
    per_category: dict[str, list[dict]] = {}
    for case in cases:
        where = case.get("id", "?")
        if where in seen or where in existing_ids:
            problem(where, "id is not unique")
        category = case.get("category")
        if category in OLD_CATEGORIES:  # questions.jsonl may be the whole set: the existing questions are not ours
            seen[where] = case
            continue
        for field in ("id", "article", "category", "question", "expect", "cite", "after", "split", "now"):
            if field not in case:
                problem(where, f"no '{field}' field")
        if category not in NEW_CATEGORIES:
            problem(where, f"unknown category {category!r}")
        per_category.setdefault(category, []).append(case)
        check_case(case, seen, bodies, published, outlets, where)
        seen[where] = case

    for category in NEW_CATEGORIES:
        rows = per_category.get(category, [])
        held = sum(row.get("split") == "held_out" for row in rows)
        if len(rows) < 12 or held < 6:
            problem(category, f"{len(rows)} questions, {held} held_out (need >= 12 and >= 6)")
        for index, row in enumerate(rows):
            expected = "tune" if index % 2 == 0 else "held_out"
            if row.get("split") != expected:
                problem(row["id"], f"split {row.get('split')!r}, the alternation says {expected!r}")

    report(per_category, manifest)
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for line in problems:
            print(f"  {line}")
        return 1
    print("\nall checks passed")
    return 0


def check_case(case: dict, seen: dict, bodies: dict, published: dict, outlets: dict, where: str) -> None:
    question, now = case.get("question", ""), case.get("now")
    kind = case.get("expect_kind")
    expect, cite = case.get("expect"), case.get("cite")
    expect_all = case.get("expect_all") or []
    reject = case.get("reject") or []
    article = case.get("article")

    if not isinstance(now, str) or not NOW.match(now):
        problem(where, f"'now' missing or malformed: {now!r}")
        return
    if TIME_WORDS.search(question) and not now:
        problem(where, "time word without 'now'")
    after = case.get("after")
    if after is not None:
        if after not in seen:
            problem(where, f"'after' {after!r} is not an earlier question")
        elif seen[after].get("now", now) != now:
            problem(where, f"'now' differs from the turn it follows ({after})")
    if article is not None and article not in bodies:
        problem(where, f"unknown article {article!r}")
        return
    if kind is not None and kind not in KINDS:
        problem(where, f"unknown expect_kind {kind!r}")
    if case.get("category") == "conversation":
        if kind not in {"greeting", "usage", "language"} or expect or cite or expect_all or article:
            problem(where, "a conversation line has expect_kind greeting/usage/language and nothing to expect or cite")
        return
    if case.get("category") == "general_news" and not expect_all and kind != "none_in_period":
        problem(where, "a general news question needs expect_all (or expect_kind none_in_period)")

    span = period(question, now)

    def exists(key: str) -> bool:
        return key in published and published[key][:10] <= now[:10]

    def in_period(key: str) -> bool:
        return span is None or span[0].isoformat() <= published[key][:10] <= span[1].isoformat()

    # expected strings and rejected strings must not overlap
    wanted = list(expect or []) + [text for element in expect_all for text in alternatives(element)]
    for text in reject:
        for good in wanted:
            if contains(good, text) or contains(text, good):
                problem(where, f"reject {text!r} overlaps expected {good!r}")

    if kind == "none_in_period":
        if span is None:
            problem(where, "none_in_period without a period")
            return
        inside = [key for key in published if exists(key) and in_period(key)]
        if inside:
            problem(where, f"articles in the period: {inside}")
        newest = max(published[key][:10] for key in published if exists(key))
        if newest not in (expect or []):
            problem(where, f"expect must name the newest article's date {newest}")
        return

    if expect is None and not expect_all:  # unanswerable
        if cite is not None or case.get("cite_all") or case.get("cite_articles"):
            problem(where, "unanswerable but something to cite")
        if article and not exists(article):
            problem(where, f"article {article} not yet published at {now}")
        return

    if cite is not None:
        body = bodies.get(article, "")
        if cite not in body:
            problem(where, f"cite {cite!r} is not in the body of {article}")
        else:
            paragraph = next(line for line in body.splitlines() if cite in line)
            if expect and not any(contains(paragraph, text) for text in expect):
                problem(where, f"no expected answer in the paragraph of the cite: {paragraph[:80]!r}…")
        if not exists(article):
            problem(where, f"{article} not yet published at {now}")
        elif span and not in_period(article):
            problem(where, f"{article} ({published[article]}) is outside the question's period {span}")
    elif expect is not None and not expect_all:
        problem(where, "answerable without cite")
    if case.get("category") in {"short_answer", "who_is"} and expect:
        for text in expect:
            if contains(question, text):
                problem(where, f"expected answer {text!r} is already in the question")

    for text in case.get("cite_all") or []:
        if not any(text in body for body in bodies.values()):
            problem(where, f"cite_all {text!r} is in no article")
    keys = []
    for element in case.get("cite_articles") or []:
        options = alternatives(element)
        keys += options
        for key in options:
            if key not in bodies:
                problem(where, f"cite_articles: unknown key {key!r}")
            elif not exists(key):
                problem(where, f"cite_articles: {key} not yet published at {now}")
            elif span and not in_period(key):
                problem(where, f"cite_articles: {key} ({published[key]}) outside the period {span}")
    if expect_all:
        sources = set(keys) | ({article} if article else set())
        sources |= {key for key, body in bodies.items() for text in case.get("cite_all") or [] if text in body}
        pool = "\n".join(f"{outlets.get(key) or ''}\n{bodies[key]}" for key in sources if key in bodies)
        for element in expect_all:
            if not any(contains(pool, text) for text in alternatives(element)):
                problem(where, f"expect_all {element!r} is in none of the cited articles")
    # a right answer quotes sentences of the articles it must cite: a rejected string must not be in one of
    # them (lines without end punctuation -- headings, bylines, timestamps, credits -- are not sentences)
    quoted = [key for key in keys if key in bodies] or ([article] if article else [])
    for text in reject:
        for key in quoted:
            for line in sentence_lines(bodies[key]):
                if (expect_all or (cite and cite in line)) and contains(line, text):
                    problem(where, f"reject {text!r} is in a sentence a right answer quotes ({key}): {line[:60]!r}…")


def sentence_lines(body: str) -> list[str]:
    return [line for line in body.splitlines() if line.rstrip().endswith((".", "?", "!", '"', "'", ":"))]


def report(per_category: dict[str, list[dict]], manifest: dict[str, dict]) -> None:
    print("articles:")
    for key, entry in manifest.items():
        outlet = entry["outlet"] or "-"
        print(f"  {key:<14} {entry['file']:<28} {entry['published']}  {entry['words']:>3} words  {outlet}")
    print("\nquestions:")
    total = [0, 0]
    for category in NEW_CATEGORIES:
        rows = per_category.get(category, [])
        tune = sum(row.get("split") == "tune" for row in rows)
        total[0] += tune
        total[1] += len(rows) - tune
        print(f"  {category:<24} {len(rows):>3}  tune {tune:>2}  held_out {len(rows) - tune:>2}")
    print(f"  {'total':<24} {sum(total):>3}  tune {total[0]:>2}  held_out {total[1]:>2}")


if __name__ == "__main__":
    sys.exit(main())
