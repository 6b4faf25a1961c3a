"""Every example issue 20 quotes, as a test: the questions a news reader asks (general news, who said what, who is,
the short answer first, facts that are not there, follow-ups, conversation lines), sentences free of page
furniture, and articles stored as users store them (front matter, other JSON field names, datelines), on the
sample article and on the reading set's files (evaluation/data/reading/files)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from answers.core import ABSTAIN_TEXT
from answers.types import Turn
from evaluation.reading import FILES, INDEXED_AT
from index.passages import sentence_units
from index.readers import read_path
from tests import helpers
from tests.helpers import index_items, wire

ON_THE_SAMPLES_WEEK = datetime(2024, 10, 24, 23, 59, tzinfo=UTC)  # `ask --now 2024-10-24`: the sample is 2 days old
AFTER_THE_STORM = INDEXED_AT  # Monday 7 December 2026, the newest file is from Sunday


@pytest.fixture(scope="module")
def sample(sample_index):
    return wire(sample_index, ON_THE_SAMPLES_WEEK).answers


@pytest.fixture(scope="module")
def files_index(tmp_path_factory, embedder):
    """The reading set's files, indexed as `newsbot index add` reads them, on Monday 7 December 2026."""
    settings = helpers.test_settings(tmp_path_factory.mktemp("files"))
    index_items(settings, [FILES], now=INDEXED_AT)
    return settings


@pytest.fixture(scope="module")
def files(files_index):
    def asked(now: datetime = AFTER_THE_STORM):
        return wire(files_index, now).answers

    return asked


def said(answer) -> str:
    return answer.text.split("\n\nNote:")[0]


def cited_titles(answer) -> set[str]:
    return {citation.title for citation in answer.citations}


# -- 1. general news questions: a cited digest of the matching stories ------------------------------------


def test_what_happened_this_week_on_the_sample_article(cli, sample_index):
    code, out, _ = cli(sample_index, "ask", "--now", "2024-10-24", "what happened this week?")
    assert code == 0 and "don't say" not in out and "South Korea" in out and "[1]" in out


@pytest.mark.parametrize(
    ("question", "now", "stories"),
    [
        ("what's new?", AFTER_THE_STORM, ["Brannagh", "1.75"]),
        ("what happened this week?", datetime(2026, 12, 6, 20, 0, tzinfo=UTC), ["Korvo", "Brannagh", "fares"]),
        ("what happened in June?", AFTER_THE_STORM, ["sea wall", "ECB"]),
        ("tell me about the storm", AFTER_THE_STORM, ["Brannagh"]),
        ("summarize the ECB news", AFTER_THE_STORM, ["1.75"]),
        ("any news since Monday?", datetime(2026, 12, 4, 20, 0, tzinfo=UTC), ["fares", "Korvo", "1.75"]),
    ],
)
def test_general_news_questions_get_a_cited_digest(files, question, now, stories):
    answer = files(now).answer(question)
    assert not answer.abstained and ABSTAIN_TEXT not in answer.text and answer.citations
    assert all(story in said(answer) for story in stories), answer.text


def test_a_period_with_no_story_says_so_naming_the_newest_date(files):
    answer = files(datetime(2026, 12, 16, 10, 0, tzinfo=UTC)).answer("anything new this week?")
    assert "6 Dec 2026" in answer.text and "Skerrylink" not in answer.text


def test_one_fact_with_a_time_word_is_answered_as_a_fact(files):
    answer = files(datetime(2026, 12, 5, 12, 0, tzinfo=UTC)).answer("Which company launched a folding phone this week?")
    assert said(answer).startswith("Korvo") and len(answer.citations) == 1


# -- 2. who said what, who is -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [("What did Zelenskyy say?", "10,000"), ("What did Rutte announce?", "Brussels")],
)
def test_what_did_x_say_quotes_x(sample, question, expected):
    answer = sample.answer(question)
    assert not answer.abstained and expected in answer.text


@pytest.mark.parametrize(
    ("question", "role"),
    [
        ("who is Mark Rutte?", "NATO Secretary-General"),
        ("who is Volodymyr Zelenskyy?", "Ukrainian President"),
    ],
)
def test_who_is_x_gives_the_role_the_article_names(sample, question, role):
    answer = sample.answer(question)
    assert not answer.abstained and role in answer.text


# -- 3. the answer first; sources that disagree --------------------------------------------------------------


def test_the_short_answer_comes_first(sample):
    assert said(sample.answer("who denied the deployment?")).startswith("North Korea and Russia")


def test_disagreeing_figures_each_with_who_gave_it(sample):
    answer = sample.answer("how many north korean soldiers has pyongyang sent to russia")
    text = said(answer)
    assert text.startswith("1,500") and all(part in text for part in ("10,000", "spy agency", "Zelenskyy")), text


# -- 4. no fact, no answer ------------------------------------------------------------------------------------


def test_a_sentence_sharing_the_words_but_not_the_fact_is_no_answer(sample):
    answer = sample.answer("how much humanitarian aid did South Korea give Kyiv?")
    assert answer.abstained and "1,500" not in answer.text


@pytest.mark.parametrize("asked_alone", [True, False])
def test_how_many_died_is_not_answered_with_the_injured(files, asked_alone):
    storm = files().answer("tell me about the storm")
    answer = (
        files().answer("how many people died in storm brannagh")
        if asked_alone
        else files().answer("how many people died?", [Turn(storm.question, storm.text)])
    )
    assert answer.abstained and "Four" not in answer.text and "2,300" not in answer.text


def test_a_product_the_article_does_not_name_gets_no_price(files):
    answer = files().answer("how much is the korvo tablet")
    assert answer.abstained and "1,299" not in answer.text.split(" I searched")[0]


# -- 5. follow-ups by reference --------------------------------------------------------------------------------


def test_follow_ups_after_who_denied_the_deployment(sample):
    first = sample.answer("who denied the deployment?")
    second = sample.answer("what did Zelenskyy say?", [Turn(first.question, first.text)])
    third = sample.answer(
        "how many did he claim?", [Turn(first.question, first.text), Turn(second.question, second.text)]
    )
    assert "10,000" in second.text and "10,000" in third.text


# -- 6. conversation, not search -------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["hi", "thanks!"])
def test_greetings_and_thanks_get_a_friendly_line_with_example_questions(sample, line):
    answer = sample.answer(line)
    assert not answer.citations and "don't say" not in answer.text and answer.text.count("?") >= 2


def test_an_empty_question_gets_a_usage_line(sample, cli, sample_index):
    assert "ask" in sample.answer("").text.lower()
    code, out, _ = cli(sample_index, "ask", "")
    assert code == 0 and "ask" in out.lower()


def test_a_question_in_german_is_told_the_articles_are_english(sample):
    answer = sample.answer("Was hat Südkorea über die nordkoreanischen Truppen gesagt?")
    assert "English" in answer.text


# -- 7. clean sentences -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("furniture", "sentence"),
    [
        ("Jan. 6, 2026 Updated Jan. 7, 2026, 4:31 p.m. ET", "Flu activity is exploding across the country."),
        ("Feb. 21: 'Security issue' causes emergency landing", "A United Airlines flight landed in Denver."),
    ],
)
def test_a_line_without_end_punctuation_is_its_own_unit(furniture, sentence):
    text = f"{furniture}\n{sentence} It was the second time this week."
    units = {text[unit.start : unit.end].strip(): unit.furniture for unit in sentence_units(text)}
    assert units[furniture] is True and units[sentence] is False


@pytest.mark.parametrize(
    ("question", "expected", "furniture"),
    [
        ("how strong were the gusts during storm brannagh", "148", ["Updated Dec", "Ewan Tait", "Morag Lindsay"]),
        pytest.param("what did mayor varga say during the storm", "underwater", ["6:10"]),
        ("until when are rail fares frozen", "March 2028", ["Tom Ridley", "18:05", "## "]),
    ],
)
def test_headings_bylines_and_timestamps_are_never_quoted_with_a_sentence(files, question, expected, furniture):
    answer = files().answer(question)
    assert expected in answer.text and not any(line in answer.text for line in furniture), answer.text


# -- 8. articles as users write them ------------------------------------------------------------------------------


def read(name: str) -> list:
    return list(read_path(FILES / name, 10**6))


def test_markdown_front_matter_is_read_not_quoted():
    (article,) = read("rail-fares.md")
    assert (article.title, article.published, article.source, article.url) == (
        "Rail fares frozen until 2028, but flexible season tickets delayed again",
        "2026-12-01",
        "The Daily Junction",
        "https://dailyjunction.example/transport/2026/12/01/rail-fares-frozen-until-2028",
    )
    assert "dailyjunction.example" not in article.text and "Date:" not in article.text


def test_json_field_aliases_are_read_and_ignored_fields_are_named(cli, tmp_path):
    records = read("wire.jsonl")
    assert [(r.published[:10], r.source, r.url is not None) for r in records] == [
        ("2026-11-25", "Baltic Harbour News", True),
        ("2026-12-02", "Valemont Evening Post", True),
        ("2026-06-17", "Westmark Today", True),
    ]
    assert "14:00 update" not in records[0].text
    code, out, err = cli(helpers.test_settings(tmp_path), "index", "add", str(FILES / "wire.jsonl"))
    assert code == 0 and "desk_note" in out + err


@pytest.mark.parametrize(
    ("text", "published", "source"),
    [
        (
            "Rates cut\n\nFrankfurt, 3 December 2026 — The bank cut its rate to 1.75 percent on Thursday.",
            "2026-12-03",
            "",
        ),
        (
            "Storm moves away\n\nPublished 6 December 2026, Kyodo\n\nThe storm moved away on Sunday.",
            "2026-12-06",
            "Kyodo",
        ),
    ],
)
def test_a_dateline_or_published_line_in_plain_text_is_read(tmp_path, text, published, source):
    (tmp_path / "story.txt").write_text(text)
    (article,) = read_path(tmp_path / "story.txt", 10**6)
    assert article.published == published and article.source == source


def test_an_undated_article_counts_as_published_when_added(tmp_path, cli):
    settings = helpers.test_settings(tmp_path)
    (tmp_path / "note.txt").write_text(
        "Harbour ferry fares cut\n\nThe harbour ferry company cut its fares by a third for the winter, its manager said."
    )
    index_items(settings, [tmp_path / "note.txt"], now=datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    answer = wire(settings, datetime(2026, 12, 4, 12, 0, tzinfo=UTC)).answers.answer(
        "what happened to ferry fares this week?"
    )
    assert "a third" in answer.text and "Note: no article" not in answer.text
    code, out, _ = cli(settings, "brief", "--now", "2026-12-04", "--since", "monday")
    assert code == 0 and "ferry" in out


def test_index_add_help_documents_the_formats(capsys):
    from newsbot.cli import main

    with pytest.raises(SystemExit):
        main(["index", "add", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert all(word in help_text for word in ("front matter", "published_at", "publisher", "dateline")), help_text


# -- 9. what was cited ---------------------------------------------------------------------------------------------


def test_ask_json_gives_the_cited_sentence_and_the_note_as_fields(cli, sample_index):
    code, out, _ = cli(sample_index, "ask", "--json", "--now", "2026-12-07", "who denied the deployment?")
    answer = json.loads(out)
    (citation,) = answer["citations"]
    assert citation["sentences"] == [
        "Despite South Korea's claims, both North Korea and Russia have denied the troop deployment and alleged "
        "weapons transfer."
    ]
    assert answer["note"].startswith("Note: the newest matching article is from 22 Oct 2024")
    assert "Note:" not in answer["answer"]


def test_an_abstention_on_the_articles_subject_names_the_article_searched(files):
    answer = files().answer("how many people died in storm brannagh")
    assert answer.abstained and "I searched “" in answer.text and "Storm Brannagh" in answer.text
    off_topic = files().answer("What is the capital of Australia?")
    assert off_topic.abstained and off_topic.text == ABSTAIN_TEXT


def test_he_or_she_is_the_person_the_conversation_was_about(files):
    who = files().answer("who is halvard rusk?")
    claim = files().answer("what did he claim", [Turn(who.question, who.text)])
    went = files().answer(
        "and where did he go on sunday", [Turn(who.question, who.text), Turn(claim.question, claim.text)]
    )
    assert "9,000" in claim.text and "Kilnsey Bay" in went.text


@pytest.mark.parametrize(
    ("question", "short"),
    [
        ("how many homes does the sea wall protect", "About 3,800."),
        ("how many economists expected a cut", "23."),  # not the 41 polled
        ("how many countries will sell the fold 2", "14."),  # not the 1,299 euros before them
        ("who is the harbour master of port calder", "Aileen Brody."),  # not the mayor
        (
            "how much did the port calder sea wall cost",
            "64 million crowns, according to Westmark Today, and 58 million",
        ),
    ],
)
def test_questions_of_our_own_about_the_files_get_the_short_answer_first(files, question, short):
    assert files().answer(question).text.startswith(short)


def test_a_count_of_something_else_in_the_passages_is_no_answer(files):
    answer = files().answer("how many schools closed in kilnsey bay")  # "twenty minutes", "24 beds, a small school"
    assert answer.abstained


def test_the_amount_nearest_what_was_asked_and_no_disagreement_across_days(files):
    assert files().answer("how much money did little lights raise").text.startswith("4.2 million.")
    still = files().answer("how many households were still without power on sunday")
    assert still.text.startswith("6,500.")  # Saturday's 41,000 is an earlier figure, not another source's


def test_when_something_goes_on_sale_is_its_date_not_another_products(files):
    assert files().answer("when will the smartwatch go on sale").text.startswith("Spring.")
